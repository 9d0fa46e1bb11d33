using Atelier.Health;
using Atelier.Shell;
using Atelier.Snapshot;

namespace Atelier.Deploy;

/// <summary>How the app is installed before it is built.</summary>
public enum AppRuntime
{
    /// <summary><c>bun install --frozen-lockfile</c>.</summary>
    Bun,

    /// <summary><c>npm ci</c>.</summary>
    Node,

    /// <summary>No install step unless an install command is given.</summary>
    Custom,
}

/// <summary>What to deploy and how: the anchor workflow's inputs plus Atelier's own.</summary>
public sealed record DeployRequest
{
    /// <summary>Longest install or build command.</summary>
    public const int MaxCommandLength = 1000;

    public required string Service { get; init; }

    public string Branch { get; init; } = "main";

    /// <summary>The SQLite database to snapshot first and restore on rollback, or null.</summary>
    public string? DbPath { get; init; }

    /// <summary>Where to install and build, relative to <c>~/app</c>.</summary>
    public string WorkDir { get; init; } = ".";

    public AppRuntime Runtime { get; init; } = AppRuntime.Bun;

    /// <summary>Replaces the runtime's install command.</summary>
    public string? InstallCommand { get; init; }

    public string? BuildCommand { get; init; }

    /// <summary>
    /// A hook run after the build and before the restart (a migration, say), with the snapshot already taken: its failure
    /// rolls back code and database.
    /// </summary>
    public string? PreRestartCommand { get; init; }

    /// <summary>A hook run after a healthy deploy (a cache warm-up, a notice): its failure is a warning and never rolls back.</summary>
    public string? PostDeployCommand { get; init; }

    /// <summary>An HTTP health URL; without one the systemd unit is checked.</summary>
    public Uri? HealthUrl { get; init; }

    public HealthOptions Health { get; init; } = new();

    /// <summary>
    /// An exact commit (or tag) to deploy instead of the branch's head; it must exist on origin, and be reachable from
    /// the branch unless <see cref="Force"/>.
    /// </summary>
    public string? Commit { get; init; }

    /// <summary>Deploy even when the commit is already deployed and healthy (and a commit off the branch).</summary>
    public bool Force { get; init; }

    /// <summary>Who deploys, for the lock and the history.</summary>
    public string Holder { get; init; } = LockRequest.CurrentHolder();

    public TimeSpan LockWait { get; init; } = TimeSpan.Zero;

    public bool BreakLock { get; init; }

    /// <summary>How long this client may fall silent before the host's guard takes over and puts the service back.</summary>
    public TimeSpan GuardTimeout { get; init; } = LockRequest.DefaultGuardTimeout;

    /// <summary>Snapshots of the database to keep.</summary>
    public int KeepSnapshots { get; init; } = SnapshotRequest.DefaultKeep;

    /// <summary>The systemctl run through sudo to stop, start and restart the unit.</summary>
    public string SystemctlPath { get; init; } = DeployCommands.NixSystemctl;

    /// <summary>
    /// Checks every value that reaches the host, wherever it came from (a parameter, the settings file, the services
    /// manifest, the environment), before anything connects; throws <see cref="RemoteValueException"/>.
    /// </summary>
    public DeployRequest Validate()
    {
        RemoteValue.ServiceName(Service);
        RemoteValue.Branch(Branch);
        if (Commit is not null)
        {
            RemoteValue.Revision(Commit);
        }

        if (DbPath is not null)
        {
            RemoteValue.Path(DbPath, "database path");
        }

        DeployCommands.WorkFolder(WorkDir);
        if (!RemoteValue.Path(SystemctlPath, "systemctl path").StartsWith('/'))
        {
            throw new RemoteValueException("systemctl path", SystemctlPath, "it must be an absolute path");
        }

        if (InstallCommand is not null)
        {
            RemoteValue.OneLineText(InstallCommand, "install command", MaxCommandLength);
        }

        if (BuildCommand is not null)
        {
            RemoteValue.OneLineText(BuildCommand, "build command", MaxCommandLength);
        }

        if (PreRestartCommand is not null)
        {
            RemoteValue.OneLineText(PreRestartCommand, "pre-restart command", MaxCommandLength);
        }

        if (PostDeployCommand is not null)
        {
            RemoteValue.OneLineText(PostDeployCommand, "post-deploy command", MaxCommandLength);
        }

        if (HealthUrl is not null)
        {
            RemoteValue.HealthUrl(HealthUrl.OriginalString);
        }

        RemoteValue.OneLineText(Holder, "lock holder", LockRequest.MaxTextLength);

        if (GuardTimeout < LockRequest.MinimumGuardTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(GuardTimeout), GuardTimeout, $"The guard timeout must be at least {LockRequest.MinimumGuardTimeout.TotalSeconds} s.");
        }

        return this;
    }
}
