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

/// <summary>
/// Every command a deploy runs on the host, built in one place from validated values (and printed by -WhatIf).
/// Commands run as the service's user, in its home.
/// </summary>
public static class DeployCommands
{
    /// <summary>The systemctl the anchor's sudo rule names (a link to the real one on a NixOS host).</summary>
    public const string NixSystemctl = "/run/current-system/sw/bin/systemctl";

    /// <summary><c>~/app</c>, or <c>~/app/&lt;workDir&gt;</c> for a relative folder inside it.</summary>
    public static RemotePath WorkFolder(string workDir)
    {
        var dir = RemoteValue.Path(workDir, "work folder").TrimEnd('/');
        if (dir.StartsWith('/') || dir.StartsWith('~') || dir.Split('/').Contains(".."))
        {
            throw new RemoteValueException("work folder", workDir, "it must be a folder inside ~/app, like 'web' or '.'");
        }

        // Checked once more inside ~/app: the folder as the host sees it must keep to a path's limits too.
        return new RemotePath(RemoteValue.Path(dir is "." or "" ? "~/app" : "~/app/" + dir, "work folder"));
    }

    /// <summary>Fetches the branch and prints the deployed commit, then origin's.</summary>
    public static ShellCommand Fetch(string branch) =>
        ShellCommand.Format($"cd {App} && git fetch --quiet origin {RemoteValue.Branch(branch)} && git rev-parse HEAD && git rev-parse {"origin/" + branch}");

    /// <summary>
    /// Fetches the branch and the tags (as origin has them now: a tag that moved moves), finds <paramref name="revision"/> on origin (a commit no branch or tag holds is
    /// fetched by its full id), and prints the deployed commit, then the revision's full id, then <c>reachable</c> or
    /// <c>unreachable</c> from origin's branch. Exits 66 when origin has no such commit or tag.
    /// </summary>
    public static ShellCommand FetchRevision(string branch, string revision) =>
        ShellCommand.Script(
            """
            set -eu
            branch=$1 revision=$2
            cd "$HOME/app"
            git fetch --quiet --force --tags origin "$branch"
            resolve() { git rev-parse --quiet --verify "$1^{commit}" 2>/dev/null; }
            on_origin() { [ -n "$(git branch -r --contains "$1" 2>/dev/null)$(git tag --contains "$1" 2>/dev/null)" ]; }
            if ! target=$(resolve "$revision") || ! on_origin "$target"; then
              if git fetch --quiet origin "$revision" 2>/dev/null; then
                target=$(resolve FETCH_HEAD)
              else
                echo "atelier: origin has no commit or tag $revision" >&2
                exit 66
              fi
            fi
            git rev-parse HEAD
            echo "$target"
            if git merge-base --is-ancestor "$target" "origin/$branch"; then echo reachable; else echo unreachable; fi
            """,
            RemoteValue.Branch(branch),
            RemoteValue.Revision(revision));

    /// <summary>The deployed commit.</summary>
    public static ShellCommand Current() => ShellCommand.Format($"cd {App} && git rev-parse HEAD");

    /// <summary>The commits between two, newest first, one line each.</summary>
    public static ShellCommand Log(string from, string to) =>
        ShellCommand.Format($"cd {App} && git log --oneline --no-decorate {RemoteValue.Commit(from) + ".." + RemoteValue.Commit(to)}");

    /// <summary>
    /// Moves the code to a commit. Under the deploy lock no other git runs in <c>~/app</c>, so an <c>index.lock</c> found
    /// there was left by a git that was killed (a dead client's checkout): it goes first.
    /// </summary>
    public static ShellCommand Checkout(string commit) =>
        ShellCommand.Format($"cd {App} && rm -f .git/index.lock && git reset --quiet --hard {RemoteValue.Commit(commit)} && git rev-parse HEAD");

    /// <summary>The install step, or null when there is none.</summary>
    public static ShellCommand? Install(DeployRequest request)
    {
        var folder = WorkFolder(request.WorkDir);
        if (request.InstallCommand is not null)
        {
            return ShellCommand.Format($"cd {folder} && sh -c {request.InstallCommand}");
        }

        return request.Runtime switch
        {
            AppRuntime.Bun => ShellCommand.Format($"cd {folder} && bun install --frozen-lockfile"),
            AppRuntime.Node => ShellCommand.Format($"cd {folder} && npm ci"),
            _ => null,
        };
    }

    /// <summary>The build step, or null when there is none.</summary>
    public static ShellCommand? Build(DeployRequest request) =>
        request.BuildCommand is null ? null : ShellCommand.Format($"cd {WorkFolder(request.WorkDir)} && sh -c {request.BuildCommand}");

    /// <summary>The step name of the hook run after the build, before the restart.</summary>
    public const string PreRestartStep = "pre-restart";

    /// <summary>The step name of the hook run after a healthy deploy.</summary>
    public const string PostDeployStep = "post-deploy";

    /// <summary>
    /// A deploy hook (<paramref name="command"/>, one of the request's): run with <c>sh -c</c> as the service's user in the
    /// work folder, with <c>ATELIER_SERVICE</c>, <c>ATELIER_PREVIOUS_COMMIT</c> and <c>ATELIER_NEW_COMMIT</c> exported.
    /// Null commits (a plan, before the fetch) show as <c>&lt;deployed&gt;</c> and <c>&lt;new&gt;</c>.
    /// </summary>
    public static ShellCommand Hook(DeployRequest request, string command, string? previous, string? next)
    {
        ArgumentNullException.ThrowIfNull(request);
        var folder = WorkFolder(request.WorkDir);
        var service = RemoteValue.ServiceName(request.Service);
        var text = RemoteValue.OneLineText(command, "hook command", DeployRequest.MaxCommandLength);
        var from = previous is null ? "<deployed>" : RemoteValue.Commit(previous);
        var to = next is null ? "<new>" : RemoteValue.Commit(next);
        return ShellCommand.Format($"cd {folder} && ATELIER_SERVICE={service} ATELIER_PREVIOUS_COMMIT={from} ATELIER_NEW_COMMIT={to} sh -c {text}");
    }

    /// <summary>
    /// <c>sudo systemctl &lt;verb&gt; &lt;service&gt;.service</c> through <paramref name="systemctlPath"/> (the one the sudo rule
    /// names; NixOS's by default) when the host has it, else the systemctl on PATH.
    /// </summary>
    public static ShellCommand Systemctl(string verb, string service, string systemctlPath = NixSystemctl)
    {
        var unit = RemoteValue.ServiceName(service) + ".service";
        var path = RemoteValue.Path(systemctlPath, "systemctl path");
        return ShellCommand.Format($"if [ -x {path} ]; then exec sudo -n {path} {verb} {unit}; else exec sudo -n systemctl {verb} {unit}; fi");
    }

    /// <summary>
    /// The put-back sequence, as the client's rollback, a restore and the host's guard all run it: check that the
    /// snapshot fits on the database's disk (before anything stops), stop the unit, put the snapshot back (when there is
    /// one and a database), move the code to <paramref name="commit"/>, install, build, start, and check health (the last
    /// item, without a command). Each step is named with <paramref name="prefix"/>
    /// (<c>rollback: </c> for a deploy's rollback). <paramref name="tag"/> names the operation's temporary files.
    /// </summary>
    public static IReadOnlyList<PutBackStep> PutBack(DeployRequest request, string commit, string? snapshotPath, string tag, string prefix)
    {
        ArgumentNullException.ThrowIfNull(request);
        var restore = snapshotPath is not null && request.DbPath is not null;
        var steps = new List<PutBackStep>();
        if (restore)
        {
            steps.Add(new(prefix + SpaceStep, DatabaseRestore.SpaceCheckCommand(snapshotPath!, request.DbPath!)));
        }

        steps.Add(new(prefix + "stop", Systemctl("stop", request.Service, request.SystemctlPath)));
        if (restore)
        {
            steps.Add(new(prefix + "database", DatabaseRestore.Command(snapshotPath!, request.DbPath!, tag)));
        }

        steps.Add(new(prefix + "checkout", Checkout(commit)));
        if (Install(request) is { } install)
        {
            steps.Add(new(prefix + "install", install));
        }

        if (Build(request) is { } build)
        {
            steps.Add(new(prefix + "build", build));
        }

        steps.Add(new(prefix + "start", Systemctl("start", request.Service, request.SystemctlPath)));
        steps.Add(new(prefix + "health", null));
        return steps;
    }

    /// <summary>The name of the put-back step that checks the snapshot fits (<see cref="DatabaseRestore.CheckSpace"/> reads it).</summary>
    public const string SpaceStep = "space";

    private static RemotePath App => new("~/app");
}
