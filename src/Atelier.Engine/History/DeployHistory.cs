using System.Text.Json;

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

    /// <summary>Reads one line of JSON; false (with the reason) when it is not a whole, valid record.</summary>
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

            record = parsed;
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
    /// <paramref name="records"/> first), keeping at most <paramref name="last"/>.
    /// </summary>
    public static IReadOnlyList<DeployRecord> Filter(IEnumerable<DeployRecord> records, string? service = null, string? computerName = null, string? status = null, int? last = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        CheckLast(last);
        var newestFirst = records
            .Select((record, index) => (record, index))
            .Where(r => service is null || string.Equals(r.record.Service, service, StringComparison.Ordinal))
            .Where(r => computerName is null || string.Equals(r.record.ComputerName, computerName, StringComparison.OrdinalIgnoreCase))
            .Where(r => status is null || string.Equals(r.record.Status, status, StringComparison.OrdinalIgnoreCase))
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
