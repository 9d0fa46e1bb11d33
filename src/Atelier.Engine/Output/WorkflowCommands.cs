namespace Atelier.Output;

/// <summary>
/// GitHub Actions workflow commands as Atelier writes them to the runner's log: its own commands with their data and
/// properties escaped as the runner unescapes them, and every stretch of host output fenced between
/// <c>::stop-commands::&lt;token&gt;</c> and <c>::&lt;token&gt;::</c> (a fresh random token each time), inside which the
/// runner obeys no command, so no line of it can set an output, add a mask, end the fence, or annotate the run.
/// Both deploy families write through this class, by way of their one renderer (<see cref="GitHubActionsRenderer"/>).
/// </summary>
public static class WorkflowCommands
{
    /// <summary>
    /// <paramref name="lines"/> between a stop and a resume with a fresh token: nothing at all when there are none.
    /// Each line is cleaned (<see cref="HostText.Clean"/>) with <paramref name="text"/>, so it is one line, free of
    /// terminal control and secrets, even before the fence.
    /// </summary>
    public static IEnumerable<string> Fenced(IEnumerable<string> lines, HostText text)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(text);
        string? token = null;
        var cleaner = text.LineByLine();
        foreach (var line in lines)
        {
            foreach (var part in line.Split('\n'))
            {
                if (token is null)
                {
                    token = NewToken();
                    yield return $"::stop-commands::{token}";
                }

                yield return cleaner.Next(part);
            }
        }

        if (token is not null)
        {
            yield return $"::{token}::";
        }
    }

    /// <summary>A token no host output can know or guess in advance.</summary>
    public static string NewToken() => "atelier-" + Guid.NewGuid().ToString("N");

    /// <summary>A command with data: <c>::name::data</c>.</summary>
    public static string Command(string name, string data) => $"::{name}::{EscapeData(data)}";

    /// <summary>A command with properties and data: <c>::name key=value,key=value::data</c>; null properties are left out.</summary>
    public static string Command(string name, IEnumerable<(string Key, string? Value)> properties, string data)
    {
        var given = string.Join(',', properties.Where(p => p.Value is not null).Select(p => $"{p.Key}={EscapeProperty(p.Value!)}"));
        return given.Length == 0 ? Command(name, data) : $"::{name} {given}::{EscapeData(data)}";
    }

    /// <summary>An <c>::error::</c> annotation with a title.</summary>
    public static string Error(string title, string message) => Command("error", [("title", title)], message);

    /// <summary>
    /// The <c>::add-mask::</c> lines that make the runner mask each of <paramref name="values"/> (and each line of a
    /// value of several lines, as GitHub advises) in every later line of the job's log.
    /// </summary>
    public static IEnumerable<string> Masks(IEnumerable<string> values) =>
        values.SelectMany(v => new[] { v }.Concat(v.Contains('\n', StringComparison.Ordinal) ? v.Split('\n') : []))
            .Select(v => v.TrimEnd('\r'))
            .Where(v => v.Trim().Length > 0)
            .Distinct(StringComparer.Ordinal)
            .Select(v => Command("add-mask", v));

    /// <summary>A command's data as the runner unescapes it: <c>%</c>, CR and LF.</summary>
    public static string EscapeData(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace("%", "%25", StringComparison.Ordinal).Replace("\r", "%0D", StringComparison.Ordinal).Replace("\n", "%0A", StringComparison.Ordinal);
    }

    /// <summary>A command's property value as the runner unescapes it: as data, and <c>:</c> and <c>,</c> too.</summary>
    public static string EscapeProperty(string text) =>
        EscapeData(text).Replace(":", "%3A", StringComparison.Ordinal).Replace(",", "%2C", StringComparison.Ordinal);
}
