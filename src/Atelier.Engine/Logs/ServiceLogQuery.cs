using Atelier.Health;
using Atelier.Shell;

namespace Atelier.Logs;

/// <summary>
/// What to read of a service's journal. Every value is validated (<see cref="Validate"/>) before any connection is
/// made, and quoted in the commands <see cref="JournalCommands"/> builds.
/// </summary>
public sealed record ServiceLogQuery
{
    /// <summary>How many lines are read when neither a count nor a time window is given.</summary>
    public const int DefaultLast = 100;

    /// <summary>How many lines <c>-Follow</c> starts with when neither a count nor a start is given (journalctl's own).</summary>
    public const int DefaultFollowLast = 10;

    /// <summary>Most lines one read may ask for.</summary>
    public const int MaxLast = 1_000_000;

    /// <summary>Longest regular expression accepted.</summary>
    public const int MaxGrepLength = 1000;

    /// <summary>The service: its unit is <c>&lt;service&gt;.service</c>.</summary>
    public required string Service { get; init; }

    /// <summary>The start of the window as given (see <see cref="JournalTime"/>), or null.</summary>
    public string? Since { get; init; }

    /// <summary>The end of the window as given (see <see cref="JournalTime"/>), or null.</summary>
    public string? Until { get; init; }

    /// <summary>At most this many lines, the newest; null: <see cref="DefaultLast"/> without a window, else all of the window.</summary>
    public int? Last { get; init; }

    /// <summary>Only lines whose message matches this regular expression (journalctl's <c>--grep</c>: PCRE2, case-insensitive unless it holds a capital).</summary>
    public string? Grep { get; init; }

    /// <summary>Only lines of this priority or more severe.</summary>
    public JournalPriority? Priority { get; init; }

    /// <summary>Keeps reading new lines as they come.</summary>
    public bool Follow { get; init; }

    /// <summary>The unit read.</summary>
    public string Unit => SystemdProbe.UnitName(Service);

    /// <summary>How many lines are asked for: <see cref="Last"/>, else a default when nothing else bounds the read, else all.</summary>
    public int? Lines => Last ?? (Since is null && Until is null ? (Follow ? DefaultFollowLast : DefaultLast) : null);

    /// <summary>Checks every value; throws <see cref="RemoteValueException"/> or <see cref="ArgumentException"/> naming the one refused.</summary>
    public ServiceLogQuery Validate()
    {
        RemoteValue.ServiceName(Service);
        if (Since is not null)
        {
            JournalTime.Parse(Since, "start time");
        }

        if (Until is not null)
        {
            JournalTime.Parse(Until, "end time");
        }

        if (Follow && Until is not null)
        {
            throw new ArgumentException("A read that follows new lines goes on until it is stopped: it takes no end time.");
        }

        if (Last is { } last && last is < 1 or > MaxLast)
        {
            throw new ArgumentOutOfRangeException(nameof(Last), last, $"The number of lines is 1 to {MaxLast}.");
        }

        if (Grep is not null)
        {
            RemoteValue.OneLineText(Grep, "pattern", MaxGrepLength);
        }

        return this;
    }
}

/// <summary>The commands that read a service's journal, built in one place.</summary>
public static class JournalCommands
{
    /// <summary>
    /// <c>journalctl -u &lt;unit&gt; -o json --all --no-pager</c> with the query's window, count, priority and pattern
    /// (<paramref name="withGrep"/> false leaves the pattern out, for a journalctl built without PCRE2) and
    /// <c>--follow</c>. No <c>-q</c>: journalctl's notice that the user may not read the system journal is how a refusal
    /// is told from an empty journal.
    /// </summary>
    public static ShellCommand Read(ServiceLogQuery query, bool withGrep = true)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var parts = new List<ShellCommand> { ShellCommand.Format($"journalctl -u {query.Unit} -o json --all --no-pager") };
        if (query.Since is not null)
        {
            parts.Add(ShellCommand.Format($"--since={JournalTime.Parse(query.Since)}"));
        }

        if (query.Until is not null)
        {
            parts.Add(ShellCommand.Format($"--until={JournalTime.Parse(query.Until)}"));
        }

        if (PassesLines(query, withGrep) && query.Lines is { } lines)
        {
            parts.Add(ShellCommand.Format($"--lines={lines}"));
        }

        if (query.Priority is { } priority)
        {
            parts.Add(ShellCommand.Format($"--priority={(int)priority}"));
        }

        if (withGrep && query.Grep is not null)
        {
            parts.Add(ShellCommand.Format($"--grep={query.Grep}"));
        }

        if (query.Follow)
        {
            parts.Add(ShellCommand.Format($"--follow"));
        }

        return ShellCommand.Join(parts);
    }

    /// <summary>
    /// Whether journalctl is given the count (<c>--lines</c>), or the last lines are kept here: journalctl 252 counts
    /// from the start of a window (the first N after <c>--since</c>, and too few before <c>--until</c>), writes the lines
    /// of <c>--grep</c> with <c>--lines</c> newest first, and a pattern matched here needs every line. -Follow with a
    /// window or a pattern starts with journalctl's own 10 lines (of the window: all of it), then follows.
    /// </summary>
    public static bool PassesLines(ServiceLogQuery query, bool withGrep)
    {
        ArgumentNullException.ThrowIfNull(query);
        return query.Since is null && query.Until is null && query.Grep is null;
    }

    /// <summary>The unit's status through the service's sudo rule (the one form it allows), whose last journal lines follow its first blank line.</summary>
    public static ShellCommand Status(ServiceLogQuery query) => JournalReader.Commands(query.Service, 10)[1];

    /// <summary>What journalctl says when the user may not read the system journal.</summary>
    public static bool IsRefusal(string error) =>
        error.Contains("insufficient permissions", StringComparison.OrdinalIgnoreCase)
        || error.Contains("not seeing messages from other users and the system", StringComparison.OrdinalIgnoreCase);

    /// <summary>What a journalctl built without PCRE2 says to <c>--grep</c>.</summary>
    public static bool LacksPatterns(string error) =>
        error.Contains("without pattern matching support", StringComparison.OrdinalIgnoreCase);

    /// <summary>journalctl's own rule for a pattern's case: sensitive only when it holds an uppercase letter.</summary>
    public static bool CaseSensitive(string pattern) => pattern.Any(char.IsUpper);
}
