using System.Text.Json;
using Atelier.Deploy;
using Atelier.Output;

namespace Atelier.History;

/// <summary>
/// What both history stores share: the JSON form of a record (camelCase, one object per line), the filters
/// <c>Get-ServiceDeployHistory</c> offers, and the choice of what a default restore goes back to.
/// </summary>
public static class DeployHistory
{
    /// <summary>
    /// camelCase names, no indentation, nulls left out. The default encoder writes everything outside printable ASCII
    /// (and quotes, <c>&lt;</c>, <c>&amp;</c>...) as <c>\uXXXX</c>, so a line is plain ASCII whatever the host's locale.
    /// </summary>
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The record as one line of JSON (no newline at the end; a newline in a value is escaped as <c>\n</c>).</summary>
    public static string ToJsonLine(DeployRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Validate(record);
        return JsonSerializer.Serialize(record, Json);
    }

    /// <summary>
    /// Reads one line of JSON; false (with the reason) when it is not a whole, valid record. A former status name is read
    /// as today's (<see cref="DeployStatus.Parse"/>: a <see cref="DeployStatus.NoChange"/> record is <see cref="DeployStatus.Unchanged"/>).
    /// </summary>
    public static bool TryParseLine(string line, out DeployRecord? record, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(line);
        record = null;
        try
        {
            var parsed = JsonSerializer.Deserialize<DeployRecord>(line, Json);
            if (parsed is null)
            {
                problem = "it is null";
                return false;
            }

            problem = Problem(parsed);
            if (problem is not null)
            {
                return false;
            }

            // A record written before Unchanged was the one name for it says NoChange: read as today's.
            record = parsed with { Status = DeployStatus.Parse(parsed.Status) };
            return true;
        }
        catch (JsonException ex)
        {
            problem = ex.Message;
            return false;
        }
    }

    /// <summary>
    /// Filters records and orders them newest first (by start time; among equal times, the later in
    /// <paramref name="records"/> first), keeping at most <paramref name="last"/>. <paramref name="status"/> matches in
    /// any case, a former name as today's (<see cref="DeployStatus.Same"/>).
    /// </summary>
    public static IReadOnlyList<DeployRecord> Filter(IEnumerable<DeployRecord> records, string? service = null, string? computerName = null, string? status = null, int? last = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        CheckLast(last);
        var newestFirst = records
            .Select((record, index) => (record, index))
            .Where(r => service is null || string.Equals(r.record.Service, service, StringComparison.Ordinal))
            .Where(r => computerName is null || string.Equals(r.record.ComputerName, computerName, StringComparison.OrdinalIgnoreCase))
            .Where(r => status is null || DeployStatus.Same(r.record.Status, status))
            .OrderByDescending(r => r.record.StartedAt)
            .ThenByDescending(r => r.index)
            .Select(r => r.record);
        return (last is { } n ? newestFirst.Take(n) : newestFirst).ToList();
    }

    /// <summary>
    /// The records as they stand: a record is written when its operation starts (<see cref="DeployStatus.Started"/>)
    /// and again, under the same id, when it ends; the last line of an id is the record, in the place of its first.
    /// </summary>
    public static IReadOnlyList<DeployRecord> Merge(IEnumerable<DeployRecord> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var order = new List<string>();
        var latest = new Dictionary<string, DeployRecord>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (!latest.ContainsKey(line.Id))
            {
                order.Add(line.Id);
            }

            latest[line.Id] = line;
        }

        return order.Select(id => latest[id]).ToList();
    }

    /// <summary>
    /// What a default <c>Restore-ServiceDeploy</c> undoes: the deploy that is still <see cref="DeployStatus.Started"/>
    /// (<see cref="Unfinished"/>: it never finished, its client died and nothing put it back), else the newest
    /// <see cref="DeployOperation.Deploy"/> that <see cref="DeployStatus.Succeeded"/>; either must name a
    /// <see cref="DeployRecord.PreviousCommit"/>. The restore goes to that record's <c>PreviousCommit</c> with its
    /// <c>SnapshotPath</c> (none when the deploy took no snapshot). Failed, rolled-back and unchanged deploys are
    /// skipped (the code they found is still or again live), and so are restores. Null when no record qualifies.
    /// Pass the merged records (<see cref="Merge"/>) of one service on one host.
    /// </summary>
    public static DeployRecord? LastRestorable(IEnumerable<DeployRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var all = records.ToList();
        var unfinished = Unfinished(all);
        return unfinished is not null && string.Equals(unfinished.Operation, DeployOperation.Deploy, StringComparison.OrdinalIgnoreCase) && !string.IsNullOrWhiteSpace(unfinished.PreviousCommit)
            ? unfinished
            : Newest(all.Where(r =>
                string.Equals(r.Operation, DeployOperation.Deploy, StringComparison.OrdinalIgnoreCase)
                && string.Equals(r.Status, DeployStatus.Succeeded, StringComparison.OrdinalIgnoreCase)
                && !string.IsNullOrWhiteSpace(r.PreviousCommit)));
    }

    /// <summary>
    /// The newest unfinished record (<see cref="DeployStatus.Started"/>) of the merged records, or null; one that a later
    /// operation holding the lock (a record with a <see cref="DeployRecord.LockToken"/>) has since superseded does not
    /// count. Operations that never got the lock are no later state of the host.
    /// </summary>
    public static DeployRecord? Unfinished(IEnumerable<DeployRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var all = records.ToList();
        var unfinished = Newest(all.Where(r => r.IsUnfinished));
        return unfinished is null || all.Any(r => !r.IsUnfinished && r.LockToken is not null && r.StartedAt > unfinished.StartedAt) ? null : unfinished;
    }

    /// <summary>
    /// The newest finished deploy or restore (of the merged records) that left <paramref name="commit"/> running: the
    /// one that says whether that commit is known good. Null when none did.
    /// </summary>
    public static DeployRecord? LastFinishedOf(IEnumerable<DeployRecord> records, string commit)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentException.ThrowIfNullOrEmpty(commit);
        return Newest(records.Where(r => !r.IsUnfinished && string.Equals(r.NewCommit, commit, StringComparison.OrdinalIgnoreCase)));
    }

    private static DeployRecord? Newest(IEnumerable<DeployRecord> records)
    {
        var newest = Filter(records, last: 1);
        return newest.Count > 0 ? newest[0] : null;
    }

    /// <summary>How many lines of a step's output, and of an error's output, a history keeps.</summary>
    public const int TailLines = 5;

    /// <summary>How many characters of those lines a history keeps (and of an error's first line).</summary>
    public const int TailChars = 500;

    /// <summary>How many characters of one commit's line a history keeps.</summary>
    public const int CommitChars = 200;

    /// <summary>
    /// A record as the histories keep it, whatever the operation saw: every text that came from the host cleaned and
    /// redacted with <paramref name="text"/> (<see cref="HostText.Clean"/>); of the error, its first line (what failed)
    /// and its last <see cref="TailLines"/> lines (at most <see cref="TailChars"/> characters, "…" where lines were
    /// left out); each commit as one line of at most <see cref="CommitChars"/>; each step's name, exit code and duration
    /// with the last <see cref="TailLines"/> lines of its output (at most <see cref="TailChars"/>). Keeping a kept record
    /// changes nothing.
    /// </summary>
    public static DeployRecord Kept(DeployRecord record, HostText text)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(text);
        var cleaned = Cleaned(record, text);
        return cleaned with
        {
            Error = cleaned.Error is null ? null : Short(cleaned.Error, keepFirstLine: true),
            Commits = [.. cleaned.Commits.Select(c => Cut(c.Replace('\n', ' '), CommitChars))],
            Steps = cleaned.Steps?.Select(s => s with { OutputTail = s.OutputTail is null ? null : Short(s.OutputTail, keepFirstLine: false) }).ToArray(),
        };
    }

    /// <summary>
    /// A record read from a history, as it may be shown: its error, commits, step tails and who ran it cleaned and
    /// redacted with <paramref name="text"/> (a host's file may hold anything), nothing shortened.
    /// </summary>
    public static DeployRecord Cleaned(DeployRecord record, HostText text)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(text);
        return record with
        {
            Error = text.CleanOrNull(record.Error),
            Commits = [.. (record.Commits ?? []).Select(text.Clean)],
            Steps = record.Steps?.Select(s => s with { Name = text.Clean(s.Name), OutputTail = string.IsNullOrEmpty(s.OutputTail) ? null : text.Clean(s.OutputTail) }).ToArray(),
            By = text.Clean(record.By),
            FailedStep = text.CleanOrNull(record.FailedStep),
            Step = text.CleanOrNull(record.Step),
        };
    }

    /// <summary>
    /// At most <see cref="TailLines"/> last lines of <paramref name="output"/> and <see cref="TailChars"/> characters of
    /// them (the first one kept cut from its start), behind a "…" line when any were left out; with
    /// <paramref name="keepFirstLine"/>, its first line (at most <see cref="TailChars"/>) before them. A text it gave comes back as it is.
    /// </summary>
    internal static string Short(string output, bool keepFirstLine)
    {
        var lines = output.Split('\n');
        var head = keepFirstLine ? Cut(lines[0], TailChars) : null;
        var rest = keepFirstLine ? lines[1..] : lines;
        var dropped = rest.Length > 0 && rest[0] == Ellipsis;
        if (dropped)
        {
            rest = rest[1..];
        }

        var kept = new List<string>();
        var chars = 0;
        for (var i = rest.Length - 1; i >= 0; i--)
        {
            if (kept.Count == TailLines)
            {
                dropped = true;
                break;
            }

            var line = rest[i];
            if (chars + line.Length > TailChars)
            {
                var room = TailChars - chars;
                if (room > 1)
                {
                    kept.Insert(0, Ellipsis + line[^(room - 1)..]);
                }

                dropped = true;
                break;
            }

            kept.Insert(0, line);
            chars += line.Length;
        }

        IEnumerable<string> all = [.. head is null ? [] : new[] { head }, .. dropped ? new[] { Ellipsis } : [], .. kept];
        return string.Join('\n', all);
    }

    private const string Ellipsis = "…";

    private static string Cut(string line, int max) => line.Length <= max ? line : line[..(max - 1)] + Ellipsis;

    internal static void CheckLast(int? last)
    {
        if (last is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(last), last, "Last must be 1 or more.");
        }
    }

    internal static void Validate(DeployRecord record)
    {
        var problem = Problem(record);
        if (problem is not null)
        {
            throw new ArgumentException($"The deploy record is incomplete: {problem}.", nameof(record));
        }
    }

    private static string? Problem(DeployRecord record)
    {
        if (string.IsNullOrWhiteSpace(record.Id))
        {
            return "it has no id";
        }

        if (string.IsNullOrWhiteSpace(record.Service))
        {
            return "it has no service";
        }

        if (string.IsNullOrWhiteSpace(record.ComputerName))
        {
            return "it has no computer name";
        }

        if (string.IsNullOrWhiteSpace(record.Operation))
        {
            return "it has no operation";
        }

        if (string.IsNullOrWhiteSpace(record.Status))
        {
            return "it has no status";
        }

        if (record.By is null)
        {
            return "its by is null";
        }

        // JSON null in an array of strings, or "commits": null.
        if (record.Commits is null || record.Commits.Any(c => c is null))
        {
            return "its commits are not a list of strings";
        }

        return null;
    }
}
