using Atelier.Shell;

namespace Atelier.Deploy;

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
