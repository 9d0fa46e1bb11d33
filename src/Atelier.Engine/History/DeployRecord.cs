using Atelier.Deploy;

namespace Atelier.History;

/// <summary>
/// One deploy or restore of a service, as the deploy history keeps it: one line of camelCase JSON in the host's
/// <c>~/.atelier/deploys.jsonl</c> and one row of the local SQLite history. <c>Service</c>, <c>ComputerName</c>,
/// <c>PreviousCommit</c> and <c>SnapshotPath</c> bind by property name into <c>Restore-ServiceDeploy</c>.
/// </summary>
public sealed record DeployRecord
{
    private readonly DateTimeOffset _startedAt;
    private readonly DateTimeOffset _finishedAt;

    /// <summary>A GUID string (<see cref="NewId"/>): the record's identity in both stores.</summary>
    public required string Id { get; init; }

    public required string Service { get; init; }

    /// <summary>The host as the user named it.</summary>
    public required string ComputerName { get; init; }

    /// <summary><see cref="DeployOperation.Deploy"/> or <see cref="DeployOperation.Restore"/>.</summary>
    public required string Operation { get; init; }

    /// <summary>One of <see cref="DeployStatus"/>'s values.</summary>
    public required string Status { get; init; }

    public string? Branch { get; init; }

    /// <summary>The commit running before: where a default restore goes back to.</summary>
    public string? PreviousCommit { get; init; }

    /// <summary>The commit the operation moved to (for a restore, the commit restored).</summary>
    public string? NewCommit { get; init; }

    /// <summary>The commit or tag the deploy was asked for, when it was given one (the one deployed is <see cref="NewCommit"/>).</summary>
    public string? RequestedCommit { get; init; }

    /// <summary>One-line log entries between the previous and the new commit, newest first.</summary>
    public string[] Commits { get; init; } = [];

    /// <summary>The database snapshot taken before the change, on the host; null when there was no database.</summary>
    public string? SnapshotPath { get; init; }

    /// <summary>The database the snapshot is of (where a restore puts it back).</summary>
    public string? DbPath { get; init; }

    /// <summary>When the operation started (kept in UTC).</summary>
    public required DateTimeOffset StartedAt
    {
        get => _startedAt;
        init => _startedAt = value.ToUniversalTime();
    }

    /// <summary>When the operation ended (kept in UTC).</summary>
    public DateTimeOffset FinishedAt
    {
        get => _finishedAt;
        init => _finishedAt = value.ToUniversalTime();
    }

    public long DurationMs { get; init; }

    /// <summary>Who ran it (user@machine, or the CI actor).</summary>
    public string By { get; init; } = string.Empty;

    /// <summary>The step that failed, when one did.</summary>
    public string? FailedStep { get; init; }

    /// <summary>Why it failed (the step's output tail), when it did.</summary>
    public string? Error { get; init; }

    /// <summary>The health check's verdict after the operation; null when none ran.</summary>
    public bool? Healthy { get; init; }

    /// <summary>The step reached, while the record is <see cref="DeployStatus.Started"/> (null once it is closed).</summary>
    public string? Step { get; init; }

    /// <summary>The private token of the deploy lock the operation held (names the lock and its guard on the host).</summary>
    public string? LockToken { get; init; }

    /// <summary>
    /// The steps it ran, in order, once it is closed (null in a <see cref="DeployStatus.Started"/> record, and in records
    /// written before steps were kept): each one's name, exit code, duration and a short, redacted output tail
    /// (<see cref="DeployHistory.Kept"/>).
    /// </summary>
    public DeployRecordStep[]? Steps { get; init; }

    /// <summary>True while the record is <see cref="DeployStatus.Started"/>: the operation has not been closed with an outcome.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsUnfinished => string.Equals(Status, DeployStatus.Started, StringComparison.OrdinalIgnoreCase);

    /// <summary>A new record id.</summary>
    public static string NewId() => Guid.NewGuid().ToString("D");

    public override string ToString() => $"{Operation} {Service}@{ComputerName} {StartedAt:u} {Status}";
}

/// <summary>One step of a recorded deploy or restore, as the histories keep it.</summary>
public sealed record DeployRecordStep
{
    public required string Name { get; init; }

    /// <summary>The command's exit code; null for a step that ran no command of its own (the lock, health) or was cut short.</summary>
    public int? ExitCode { get; init; }

    public long DurationMs { get; init; }

    /// <summary>The last lines of its output, redacted and short (at most <see cref="DeployHistory.TailLines"/> lines and <see cref="DeployHistory.TailChars"/> characters); null when it wrote nothing.</summary>
    public string? OutputTail { get; init; }
}
