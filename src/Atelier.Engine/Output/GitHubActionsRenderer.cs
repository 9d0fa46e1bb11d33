using System.Globalization;
using System.Text;
using Atelier.Deploy;

namespace Atelier.Output;

/// <summary>
/// The one GitHub Actions renderer of both deploy families. It reads the environment (<c>GITHUB_ACTIONS=true</c>, the
/// step summary and output files, the repository's address), appends to those files, and gives each piece its one
/// shape: a log group whose host text is fenced (<see cref="WorkflowCommands.Fenced"/>: no line of it acts as a workflow
/// command), an <c>::error::</c> annotation, a run's heading and table in the step summary, a status's icon, a
/// "why" block, outputs of one line or of a list between delimiters. Host text is cleaned and redacted
/// (<see cref="HostText"/>) and escaped for where it goes (<see cref="WorkflowCommands"/>, <see cref="Markdown"/>).
/// Each family says only what its groups, rows, columns and outputs are: services in <c>Deploy/GitHubActions</c>,
/// infrastructure in <c>Infra/InfraGitHubActions</c>.
/// </summary>
public sealed class GitHubActionsRenderer
{
    private readonly string? _summaryFile;
    private readonly string? _outputFile;

    private GitHubActionsRenderer(string? summaryFile, string? outputFile, string? repositoryUrl, HostText text)
    {
        _summaryFile = summaryFile;
        _outputFile = outputFile;
        RepositoryUrl = repositoryUrl;
        Text = text;
    }

    /// <summary>The repository's web address (<c>https://github.com/owner/name</c>), for links; null when Actions did not name it.</summary>
    public string? RepositoryUrl { get; }

    /// <summary>What cleans the host text written to the files.</summary>
    public HostText Text { get; }

    /// <summary>
    /// The Actions context from the environment, or null outside GitHub Actions. <paramref name="text"/> cleans the host
    /// text it writes (default: the built-in redaction only).
    /// </summary>
    public static GitHubActionsRenderer? FromEnvironment(Func<string, string?>? environment = null, HostText? text = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (!string.Equals(environment("GITHUB_ACTIONS"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var server = environment("GITHUB_SERVER_URL") ?? "https://github.com";
        var repository = environment("GITHUB_REPOSITORY");
        return new GitHubActionsRenderer(
            NullIfEmpty(environment("GITHUB_STEP_SUMMARY")),
            NullIfEmpty(environment("GITHUB_OUTPUT")),
            string.IsNullOrEmpty(repository) ? null : $"{server.TrimEnd('/')}/{repository}",
            text ?? HostText.Default);
    }

    /// <summary>Appends Markdown to the step summary file, when Actions gave one.</summary>
    public void AppendSummary(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        if (_summaryFile is not null)
        {
            File.AppendAllText(_summaryFile, markdown);
        }
    }

    /// <summary>
    /// Appends outputs to the output file, when Actions gave one: <c>name=value</c> for a value, and for a list
    /// <c>name&lt;&lt;delimiter</c>, each item cleaned on one line, then the delimiter (a fresh one each time, which no
    /// item can know in advance).
    /// </summary>
    public void AppendOutputs(IEnumerable<GitHubActionsOutput> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (_outputFile is null)
        {
            return;
        }

        var text = new StringBuilder();
        foreach (var output in outputs)
        {
            if (output.Lines is null)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{output.Name}={output.Value}");
                continue;
            }

            var delimiter = "ATELIER_" + Guid.NewGuid().ToString("N");
            text.AppendLine(CultureInfo.InvariantCulture, $"{output.Name}<<{delimiter}");
            foreach (var line in output.Lines)
            {
                text.AppendLine(Text.Clean(line).Replace('\n', ' '));
            }

            text.AppendLine(delimiter);
        }

        File.AppendAllText(_outputFile, text.ToString());
    }

    /// <summary>
    /// One log group: <c>::group::</c> with its title escaped, the host's <paramref name="lines"/> fenced and cleaned with
    /// <paramref name="text"/> (no fence when there are none), <c>::endgroup::</c>.
    /// </summary>
    public static IEnumerable<string> Group(string title, IEnumerable<string> lines, HostText text)
    {
        ArgumentNullException.ThrowIfNull(title);
        yield return WorkflowCommands.Command("group", title);
        foreach (var line in WorkflowCommands.Fenced(lines, text))
        {
            yield return line;
        }

        yield return "::endgroup::";
    }

    /// <summary>An <c>::error::</c> annotation: <paramref name="title"/>, and the host's <paramref name="message"/> cleaned with <paramref name="text"/>.</summary>
    public static string Annotation(string title, string message, HostText text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return WorkflowCommands.Error(title, text.Clean(message));
    }

    /// <summary>
    /// A status's icon, the same in every summary: ✅ <see cref="DeployStatus.Succeeded"/>, ➖ nothing changed
    /// (<see cref="DeployStatus.Unchanged"/>, <see cref="DeployStatus.DryRun"/>), ↩️ <see cref="DeployStatus.RolledBack"/>,
    /// ⏭️ <see cref="DeployStatus.Skipped"/>, ❌ any other.
    /// </summary>
    public static string StatusIcon(string status) => status switch
    {
        DeployStatus.Succeeded => "✅",
        DeployStatus.Unchanged or DeployStatus.DryRun => "➖",
        DeployStatus.RolledBack => "↩️",
        DeployStatus.Skipped => "⏭️",
        _ => "❌",
    };

    /// <summary>
    /// A run's icon: ✅ when every one succeeded, ❌ when one <see cref="DeployStatus.Failed"/> or its rollback did
    /// (<see cref="DeployStatus.RollbackFailed"/>), else ↩️ (what did not succeed was put back, or skipped).
    /// </summary>
    public static string RunIcon(IEnumerable<string> statuses, bool allSucceeded) =>
        allSucceeded ? "✅" : statuses.Any(s => s is DeployStatus.RollbackFailed or DeployStatus.Failed) ? "❌" : "↩️";

    /// <summary>
    /// A run's summary, heading and table: <c>### icon title: n of m noun(s) succeeded</c> (<see cref="RunIcon"/>), a
    /// blank line, then a row per item in the order given with one cell per column. Cells are Markdown already (see
    /// <see cref="CodeCell"/>).
    /// </summary>
    public static StringBuilder RunTable<T>(string title, string noun, IReadOnlyList<T> items, Func<T, string> status, Func<T, bool> succeeded, IReadOnlyList<GitHubActionsColumn<T>> columns)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(columns);
        var count = items.Count(succeeded);
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"### {RunIcon(items.Select(status), count == items.Count)} {title}: {count} of {items.Count} {noun}(s) succeeded")
            .AppendLine()
            .AppendLine("| " + string.Join(" | ", columns.Select(c => c.Header)) + " |")
            .AppendLine("|" + string.Concat(columns.Select(_ => "---|")));
        foreach (var item in items)
        {
            text.AppendLine("| " + string.Join(" | ", columns.Select(c => c.Cell(item))) + " |");
        }

        return text;
    }

    /// <summary>A table of one item's fields, a row each: an empty header, then <c>| name | value |</c> (values are Markdown already).</summary>
    public static StringBuilder FieldTable(IEnumerable<(string Name, string Value)> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var text = new StringBuilder().AppendLine("| | |").AppendLine("|---|---|");
        foreach (var (name, value) in fields)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {value} |");
        }

        return text;
    }

    /// <summary>
    /// Appends a folded "why" block to a summary: a blank line, <c>&lt;details&gt;</c> with <paramref name="summary"/>
    /// (Markdown already), and the host's <paramref name="hostText"/> cleaned in a fenced block nothing inside can close.
    /// </summary>
    public StringBuilder AppendDetails(StringBuilder markdown, string summary, string hostText)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        return markdown.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"<details><summary>{summary}</summary>")
            .AppendLine()
            .Append(Markdown.CodeBlock(Text.Clean(hostText)))
            .AppendLine()
            .AppendLine("</details>");
    }

    /// <summary>Host text as a table cell: cleaned, as code (an empty one as <c>&amp;nbsp;</c>).</summary>
    public string CodeCell(string? hostText) => Markdown.Code(Text.Clean(hostText), inTable: true);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>One output of a step: a value (<see cref="Value"/>), or a list (<see cref="Lines"/>, written between delimiters).</summary>
public sealed record GitHubActionsOutput(string Name, string? Value, IEnumerable<string>? Lines = null);

/// <summary>One column of a run's table: its header, and how an item's cell reads (Markdown already).</summary>
public sealed record GitHubActionsColumn<T>(string Header, Func<T, string> Cell);
