using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;
using Atelier.Snapshot;

namespace Atelier.Status;

/// <summary>
/// One service as <c>Get-ServiceStatus</c> found it, read over one SSH command (<see cref="ServiceStatusReader"/>): the
/// deployed commit and how far origin's branch is ahead, the unit, health, the last deploy, the lock and the newest
/// snapshot. <c>Service</c>, <c>Machine</c>, <c>ComputerName</c>, <c>User</c>, <c>Branch</c>, <c>HealthUrl</c> and
/// <c>DbPath</c> bind by property name into <c>Invoke-ServiceDeploy</c>, <c>Restore-ServiceDeploy</c>,
/// <c>Test-ServiceHealth</c>, <c>Backup-ServiceDb</c> and <c>Get-ServiceDbSnapshot</c>. No property is named
/// <c>Commit</c>: piped into a deploy, the status must not pin it to the commit already running.
/// </summary>
public sealed class ServiceStatus
{
    public required string Service { get; init; }

    /// <summary>The manifest's machine, or null without a manifest.</summary>
    public string? Machine { get; init; }

    /// <summary>The host as the user (or the manifest) named it.</summary>
    public required string ComputerName { get; init; }

    /// <summary>The SSH account the status was read as.</summary>
    public required string User { get; init; }

    /// <summary>The branch of origin the deployed commit is compared with.</summary>
    public required string Branch { get; init; }

    /// <summary>The health URL checked (null: the unit's state was the check).</summary>
    public string? HealthUrl { get; init; }

    /// <summary>The service's database (the manifest's or the one given): the newest snapshot is one of it.</summary>
    public string? DbPath { get; init; }

    /// <summary>The commit checked out in <c>~/app</c> (full id); null when it could not be read (see <see cref="Problems"/>).</summary>
    public string? DeployedCommit { get; init; }

    /// <summary>The first 8 characters of <see cref="DeployedCommit"/>.</summary>
    public string? ShortCommit => DeployedCommit is null ? null : DeployedCommit[..Math.Min(8, DeployedCommit.Length)];

    /// <summary>The deployed commit's subject, cleaned and redacted.</summary>
    public string? Subject { get; init; }

    /// <summary><c>origin/&lt;Branch&gt;</c> on the host (after the fetch, when there was one).</summary>
    public string? OriginCommit { get; init; }

    /// <summary>Commits on <c>origin/&lt;Branch&gt;</c> that are not deployed: what a deploy would bring. Null when unknown.</summary>
    public int? Behind { get; init; }

    /// <summary>Deployed commits that <c>origin/&lt;Branch&gt;</c> does not have (a <c>-Commit</c> off the branch, or a branch that was rewound).</summary>
    public int? Ahead { get; init; }

    /// <summary>
    /// How origin was read: <c>Fetched</c> (just now), <c>NotFetched</c> (<c>-NoFetch</c>: as the last fetch left it),
    /// <c>Locked</c> (a deploy holds the lock and fetches itself: as the last fetch left it), <c>FetchFailed</c> (see
    /// <see cref="Problems"/>: as the last fetch left it), or null when <c>~/app</c> could not be read.
    /// </summary>
    public string? Origin { get; init; }

    /// <summary>systemd's <c>LoadState</c> (<c>not-found</c>: no such unit).</summary>
    public string? LoadState { get; init; }

    /// <summary>systemd's <c>ActiveState</c> (active, inactive, failed, activating, ...).</summary>
    public string? ActiveState { get; init; }

    /// <summary>systemd's <c>SubState</c> (running, dead, auto-restart, ...).</summary>
    public string? SubState { get; init; }

    /// <summary>When the unit last became active (<c>ActiveEnterTimestamp</c>); null when it never did.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>How many times systemd restarted the unit by itself (<c>Restart=</c>) since it was started.</summary>
    public int? NRestarts { get; init; }

    /// <summary>The unit's main process, 0 when it has none.</summary>
    public int? MainPid { get; init; }

    /// <summary>systemd's id of the unit's current run (changes on every start).</summary>
    public string? InvocationId { get; init; }

    /// <summary>
    /// The health, as <c>Test-ServiceHealth</c> reports it for one try: an HTTP check of <see cref="HealthUrl"/> from this
    /// machine, else the unit's state as read (no settle window), without the journal lines.
    /// </summary>
    public required ServiceHealth Health { get; init; }

    /// <summary>The newest record of the service in the host's history (cleaned and redacted), or null when there is none.</summary>
    public DeployRecord? LastDeploy { get; init; }

    /// <summary>Who holds the deploy lock, whether they live, and the step they are at; null when it is free.</summary>
    public LockHolder? Lock { get; init; }

    /// <summary>The lock's guard has taken over (its client fell silent) and, alive, is putting the service back.</summary>
    public bool GuardAtWork => Lock is { DecidedBy: "guard", Alive: true };

    /// <summary>The newest snapshot of the database (of any database without <see cref="DbPath"/>), or null.</summary>
    public ServiceDbSnapshot? LatestSnapshot { get; init; }

    /// <summary>How old <see cref="LatestSnapshot"/> is, by the host's clock.</summary>
    public TimeSpan? SnapshotAge { get; init; }

    /// <summary>When the status was read, by the host's clock.</summary>
    public DateTimeOffset CheckedAt { get; init; }

    /// <summary>What could not be read or looks wrong, in words (cleaned and redacted); empty when nothing.</summary>
#pragma warning disable CA1819 // An array binds and formats naturally in PowerShell; the status is a plain record.
    public string[] Problems { get; init; } = [];
#pragma warning restore CA1819

    /// <summary>
    /// For each of <see cref="Problems"/>, what the user can do about it when that is a parameter or a command (else
    /// null): the cmdlets put it into words after the problem.
    /// </summary>
    public IReadOnlyList<Hint?> ProblemHints { get; init; } = [];

    public override string ToString() => $"{Service}@{ComputerName} {ShortCommit ?? "?"} behind {Behind?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} {ActiveState ?? "?"} {Health.Status}";
}

/// <summary>The values of <see cref="ServiceStatus.Origin"/>.</summary>
public static class OriginRead
{
    public const string Fetched = nameof(Fetched);
    public const string NotFetched = nameof(NotFetched);
    public const string Locked = nameof(Locked);
    public const string FetchFailed = nameof(FetchFailed);
}
