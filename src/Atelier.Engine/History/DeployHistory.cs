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
    /// What a default <c>Restore-ServiceDeploy</c> undoes: the newest record (by start time) of a
    /// <see cref="DeployOperation.Deploy"/> that <see cref="DeployStatus.Succeeded"/> and names a
    /// <see cref="DeployRecord.PreviousCommit"/>. The restore goes to that record's <c>PreviousCommit</c> with its
    /// <c>SnapshotPath</c> (none when the deploy took no snapshot). Failed, rolled-back and unchanged deploys are
    /// skipped (the code they found is still or again live), and so are restores. Null when no record qualifies.
    /// Pass the records of one service on one host.
    /// </summary>
    public static DeployRecord? LastRestorable(IEnumerable<DeployRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var restorable = Filter(records.Where(r =>
            string.Equals(r.Operation, DeployOperation.Deploy, StringComparison.OrdinalIgnoreCase)
            && string.Equals(r.Status, DeployStatus.Succeeded, StringComparison.OrdinalIgnoreCase)
            && !string.IsNullOrWhiteSpace(r.PreviousCommit)), last: 1);
        return restorable.Count > 0 ? restorable[0] : null;
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
