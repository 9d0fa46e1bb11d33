using System.Globalization;

namespace Atelier.Deploy;

/// <summary>
/// Who holds a service's deploy lock, as recorded on the host, and whether that holder still lives. A lock folder
/// without its owner record (a deploy that died while taking it) reads as a holder with every field null.
/// </summary>
public sealed record LockHolder
{
    public required string Service { get; init; }

    /// <summary><c>deploy</c> or <c>restore</c>.</summary>
    public string? Operation { get; init; }

    /// <summary>Who took the lock (user@machine, or a GitHub actor and run URL).</summary>
    public string? By { get; init; }

    /// <summary>The commit being deployed or restored; null until the holder knew it.</summary>
    public string? Commit { get; init; }

    /// <summary>When the lock was taken, by the host's clock.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>The holder's private id: only the holder's own release removes the lock.</summary>
    public string? Token { get; init; }

    /// <summary>The step the holder (or its guard) is at, e.g. <c>install</c> or <c>guard: rollback: build</c>.</summary>
    public string? Step { get; init; }

    /// <summary>The id of the holder's history record, once it wrote its "started" record.</summary>
    public string? RecordId { get; init; }

    /// <summary>The commit that was running before the holder moved the code.</summary>
    public string? PreviousCommit { get; init; }

    /// <summary>The snapshot the holder took before it moved the code.</summary>
    public string? SnapshotPath { get; init; }

    /// <summary>True once the holder changed the host (moved the code, or stopped the unit for a restore).</summary>
    public bool Moved { get; init; }

    /// <summary>
    /// Whether the holder lives: true when its client's heartbeat is fresh, its guard is at work or its step is
    /// still running; false when none is; null for a lock from an Atelier without heartbeats (or without a record).
    /// </summary>
    public bool? Alive { get; init; }

    /// <summary>Why it counts as alive or dead, in words (e.g. <c>its client's last heartbeat was 2 s ago</c>).</summary>
    public string? Why { get; init; }

    /// <summary>Who ended it, when it is ending: <c>client</c> or <c>guard</c> (the guard took over); else null.</summary>
    public string? DecidedBy { get; init; }

    /// <summary>A maintenance lock's message (Lock-ServiceDeploy -Message); else null.</summary>
    public string? Message { get; init; }

    /// <summary>The host the lock is on, when a cmdlet read it there (Get-ServiceDeployLock); else null.</summary>
    public string? ComputerName { get; init; }

    /// <summary>True for a maintenance lock (Lock-ServiceDeploy): it lives until Unlock-ServiceDeploy.</summary>
    public bool IsMaintenance => Operation == "maintenance";

    /// <summary>False for a lock folder without an owner record.</summary>
    public bool IsKnown => Token is not null;

    /// <summary>One phrase for messages: <c>alice@laptop (deploy of commit abc123, at the install step, since 2025-01-02T03:04:05Z)</c>.</summary>
    public string Describe()
    {
        if (!IsKnown)
        {
            return "an unknown holder (the lock has no owner record: the deploy that took it may have died while taking it)";
        }

        var since = Since is { } at ? at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "an unknown time";
        if (IsMaintenance)
        {
            return $"{By ?? "someone"} (maintenance: '{Message}', since {since})";
        }

        var step = string.IsNullOrEmpty(Step) ? string.Empty : $", at the {Step} step";
        return $"{By ?? "someone"} ({Operation ?? "deploy"} of {(string.IsNullOrEmpty(Commit) ? "an unnamed commit" : "commit " + Commit)}{step}, since {since})";
    }

    public override string ToString() => Describe();

    /// <summary>Reads an owner record and its state: <c>key=value</c> fields, the value running to the end of the line.</summary>
    internal static LockHolder FromFields(string service, IReadOnlyList<string> fields)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            var equals = field.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[field[..equals]] = field[(equals + 1)..];
            }
        }

        string? Value(string key) => values.GetValueOrDefault(key) is { Length: > 0 } value ? value : null;
        return new LockHolder
        {
            Service = Value("service") ?? service,
            Operation = Value("operation"),
            By = Value("by"),
            Commit = Value("commit"),
            Since = DateTimeOffset.TryParse(Value("since"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since) ? since : null,
            Token = Value("token"),
            Step = Value("step"),
            RecordId = Value("record"),
            PreviousCommit = Value("previous"),
            SnapshotPath = Value("snapshot"),
            Moved = Value("moved") == "yes",
            Alive = Value("alive") switch { "yes" => true, "no" => false, _ => null },
            Why = Value("why"),
            DecidedBy = Value("decided"),
            Message = Value("message"),
        };
    }
}
