using System.Diagnostics;
using Atelier.Health;
using Atelier.History;
using Atelier.Output;
using Atelier.Shell;
using Atelier.Snapshot;
using Atelier.Transport;

namespace Atelier.Deploy;

/// <summary>
/// Deploys one service over one connection: lock (which starts the host's guard), fetch, snapshot the database, arm
/// the guard and record the start, move the code, install, build, restart, check health; and when anything after the
/// code moved fails, roll back (stop, database, code, install, build, start) and check health again. A rollback, once it
/// has begun, runs to its end whatever the caller does; if this client dies, the guard on the host finishes it. Every
/// operation is recorded on the host (a "started" record before the code moves, closed with the outcome) and here.
/// What came from the host (output tails, commit subjects, journal lines, errors) is cleaned and redacted
/// (<see cref="HostText"/>) in the result, and every record is kept as <see cref="DeployHistory.Kept"/> says.
/// </summary>
public sealed class ServiceDeployer
{
    private readonly IRemoteHost _host;
    private readonly IReporter _reporter;
    private readonly CommandOptions _options;
    private readonly LocalHistory? _localHistory;
    private readonly HostText _text;

    /// <param name="text">What cleans and redacts host text (default: the built-in redaction only).</param>
    public ServiceDeployer(IRemoteHost host, IReporter reporter, CommandOptions options, LocalHistory? localHistory, HostText? text = null)
    {
        _host = host;
        _reporter = reporter;
        _options = options;
        _localHistory = localHistory;
        _text = text ?? HostText.Default;
    }

    /// <summary>The steps a deploy would run, each with its command, for -WhatIf.</summary>
    public static IEnumerable<(string Step, string Command)> Plan(DeployRequest request)
    {
        request.Validate();
        yield return ("lock", DeployLock.LockPath(request.Service) + (request.BreakLock ? " (breaking the lock of a dead holder)" : string.Empty)
            + $", with a guard that puts the service back after {DeployLock.Seconds(request.GuardTimeout)} s without a heartbeat");
        yield return ("fetch", request.Commit is null
            ? DeployCommands.Fetch(request.Branch).Text
            : $"cd ~/app && git fetch --quiet --tags origin {request.Branch}, then find {request.Commit} on origin (on origin/{request.Branch}{(request.Force ? " or not" : string.Empty)})");
        if (request.DbPath is not null)
        {
            // The snapshot script is long: show how it is called, not its text (Backup-ServiceDb's help describes it).
            var snapshot = RemoteSnapshotter.Command(new SnapshotRequest(request.Service, request.DbPath, request.KeepSnapshots)).Text;
            yield return ("snapshot", "sh -c '<Backup-ServiceDb snapshot script>'" + snapshot[snapshot.LastIndexOf("' atelier ", StringComparison.Ordinal)..][1..]);
        }

        yield return ("arm", "write the put-back plan for the guard and a \"Started\" record to ~/.atelier/deploys.jsonl");
        yield return ("checkout", $"cd ~/app && git reset --quiet --hard <{request.Commit ?? "origin/" + request.Branch}>");
        if (DeployCommands.Install(request) is { } install)
        {
            yield return ("install", install.Text);
        }

        if (DeployCommands.Build(request) is { } build)
        {
            yield return ("build", build.Text);
        }

        if (request.PreRestartCommand is { } preRestart)
        {
            yield return (DeployCommands.PreRestartStep, DeployCommands.Hook(request, preRestart, null, null).Text + " (its failure rolls back code and database)");
        }

        yield return ("restart", DeployCommands.Systemctl("restart", request.Service, request.SystemctlPath).Text);
        yield return ("health", (request.HealthUrl is null ? $"systemctl show {request.Service}.service (active, running, not restarting)" : $"GET {request.HealthUrl}")
            + ", watching the unit: a crash after the restart fails the step at once");
        if (request.PostDeployCommand is { } postDeploy)
        {
            yield return (DeployCommands.PostDeployStep, DeployCommands.Hook(request, postDeploy, null, null).Text + " (after a healthy deploy; its failure is a warning)");
        }
    }

    public async Task<ServiceDeployResult> DeployAsync(DeployRequest request, CancellationToken cancellationToken)
    {
        request.Validate();
        var result = new ServiceDeployResult { Service = request.Service, ComputerName = _host.ComputerName, Branch = request.Branch, DbPath = request.DbPath, RequestedCommit = request.Commit, HealthUrl = request.HealthUrl?.AbsoluteUri };
        await GuardedAsync(request, result, LockOperation.Deploy, session => DeployStepsAsync(request, session, cancellationToken), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Restores a service on demand: by default to the commit before its newest unfinished deploy (one whose client and
    /// guard died), else before its last successful one (from the host's history), with the snapshot that deploy took;
    /// or to <paramref name="commit"/> with <paramref name="snapshotPath"/>. The database is left alone when
    /// <paramref name="skipDatabase"/> is set. Takes the lock (and its guard) like a deploy; once the unit is stopped,
    /// the restore runs to its end.
    /// </summary>
    public async Task<ServiceDeployResult> RestoreAsync(DeployRequest request, string? commit, string? snapshotPath, bool skipDatabase, CancellationToken cancellationToken)
    {
        request.Validate();
        var result = new ServiceDeployResult { Service = request.Service, ComputerName = _host.ComputerName, Branch = request.Branch, Operation = DeployOperation.Restore, HealthUrl = request.HealthUrl?.AbsoluteUri };
        await GuardedAsync(request, result, LockOperation.Restore, session => RestoreStepsAsync(request, session, commit, snapshotPath, skipDatabase, cancellationToken), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Runs <paramref name="body"/> holding the service's lock, with its guard and heartbeat. A failure that escapes it
    /// (the lock, a step before anything changed) makes the result Failed. The lock always ends with the outcome record
    /// (or, when the guard took over, with the guard's), and the outcome is recorded here too.
    /// </summary>
    private async Task GuardedAsync(DeployRequest request, ServiceDeployResult result, LockOperation operation, Func<DeploySession, Task> body, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var recordId = DeployRecord.NewId();
        DeploySession? session = null;
        try
        {
            var lease = await TimedAsync(result, "lock", () => DeployLock.AcquireAsync(
                _host,
                new LockRequest(request.Service, operation, request.Holder)
                {
                    Wait = request.LockWait,
                    Break = request.BreakLock,
                    GuardTimeout = request.GuardTimeout,
                    Record = Record(request, result, null) with { Id = recordId, Status = DeployStatus.Started, Step = "lock" },
                },
                _reporter,
                cancellationToken)).ConfigureAwait(false);
            FinishingLock(request);
            session = new DeploySession(_host, _reporter, _options, lease, result, recordId, _text);
            result.Notice = lease.Notice;
            lease.StartHeartbeat();
            await body(session).ConfigureAwait(false);
        }
        catch (GuardTookOverException)
        {
            // The guard decides the outcome; FinishAsync below waits for it and reads it.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result.Status = DeployStatus.Failed;
            result.FailedStep ??= ex is DeployStepException step ? step.Step : result.Steps.LastOrDefault()?.Name ?? "connect";
            if (result.Error is null)
            {
                result.Error = ex.Message;
                result.Hints = FailureHints.Of(ex);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Recorded as what it was; a deploy stopped after the code moved was rolled back first (its status says how).
            result.FailedStep ??= result.Steps.LastOrDefault()?.Name ?? "lock";
            result.Error ??= $"Stopped during the {result.FailedStep} step.";
            throw;
        }
        finally
        {
            result.Duration = stopwatch.Elapsed;
            Clean(result);
            var outcome = Record(request, result, session);
            if (session is not null)
            {
                try
                {
                    await session.FinishAsync(outcome).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    _reporter.Warning($"{result.Service}: the outcome could not be recorded on {result.ComputerName}, nor the lock released ({ex.Message}); its guard releases it after {DeployLock.Seconds(request.GuardTimeout)} s without a heartbeat.");
                }

                await session.Lease.DisposeAsync().ConfigureAwait(false);
                Clean(result); // the guard's outcome may have come in
                outcome = Record(request, result, session);
            }
            else
            {
                await RecordOnHostAsync(outcome).ConfigureAwait(false);
            }

            RecordHere(outcome);
            _reporter.Finishing(null);
        }
    }

    /// <summary>What a stop lets finish while the lock is held and nothing has moved: releasing the lock.</summary>
    private void FinishingLock(DeployRequest request) =>
        _reporter.Finishing($"releasing the deploy lock of {request.Service} on {_host.ComputerName}");

    /// <summary>What a stop lets finish once the code may have moved: putting the service back, then the lock.</summary>
    private void FinishingPutBack(DeployRequest request, string commit, string? snapshot) =>
        _reporter.Finishing($"putting {request.Service} on {_host.ComputerName} back to {commit}{(snapshot is null ? " (code)" : " (code and database)")} and releasing its deploy lock");

    private async Task DeployStepsAsync(DeployRequest request, DeploySession session, CancellationToken cancellationToken)
    {
        var result = session.Result;
        if (request.Commit is null)
        {
            var fetched = await session.StepAsync("fetch", DeployCommands.Fetch(request.Branch), cancellationToken).ConfigureAwait(false);
            var commits = fetched.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            result.PreviousCommit = commits[^2];
            result.NewCommit = commits[^1];
        }
        else
        {
            // An exact commit or tag: it must be on origin, and on the branch unless forced.
            var fetched = await session.StepAsync("fetch", DeployCommands.FetchRevision(request.Branch, request.Commit), cancellationToken).ConfigureAwait(false);
            var lines = fetched.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            result.PreviousCommit = lines[^3];
            result.NewCommit = lines[^2];
            if (lines[^1] != "reachable" && !request.Force)
            {
                throw new AtelierException("CommitNotOnBranch", FailureKind.InvalidArgument, $"{request.Service}: {request.Commit} ({result.NewCommit}) is not on origin/{request.Branch}.")
                {
                    Hints = [Hint.CommitOffBranch],
                };
            }
        }

        session.Note("commit=" + result.NewCommit);

        // What the history says matters when the lock was taken from a dead holder, and before calling anything unchanged.
        IReadOnlyList<DeployRecord> history = [];
        if (session.Lease.BrokenHolder is not null || (result.PreviousCommit == result.NewCommit && !request.Force))
        {
            history = await new HostHistory(_host, _reporter, _options with { OnLine = null }).ReadAsync(request.Service, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (DeployHistory.Unfinished(history) is { } unfinished && unfinished.Id != session.RecordId)
            {
                var closed = await PutBackUnfinishedAsync(request, session, unfinished, result.PreviousCommit).ConfigureAwait(false);
                result.PreviousCommit = (await session.StepAsync("current", DeployCommands.Current(), cancellationToken).ConfigureAwait(false)).Output.Trim();
                history = DeployHistory.Merge([.. history, closed]);
            }
        }

        if (result.PreviousCommit == result.NewCommit && !request.Force)
        {
            var last = DeployHistory.LastFinishedOf(history, result.NewCommit);
            if (last is null || last.Status is DeployStatus.Succeeded or DeployStatus.Unchanged)
            {
                result.Health = await CheckHealthAsync(request, null, cancellationToken).ConfigureAwait(false);
                if (result.Health.Healthy)
                {
                    result.Status = DeployStatus.Unchanged;
                    return;
                }

                _reporter.Warning($"{result.Service} on {result.ComputerName}: origin/{request.Branch} is already deployed but unhealthy ({result.Health.Detail}): deploying it again.");
            }
            else
            {
                _reporter.Warning($"{result.Service} on {result.ComputerName}: origin/{request.Branch} ({result.NewCommit}) is checked out, but its last deploy ended {last.Status}: deploying it again.");
            }
        }

        await DeployChangesAsync(request, session, cancellationToken).ConfigureAwait(false);
    }

    private async Task DeployChangesAsync(DeployRequest request, DeploySession session, CancellationToken cancellationToken)
    {
        var result = session.Result;
        var codeMoved = false;
        try
        {
            if (result.PreviousCommit != result.NewCommit)
            {
                var log = await session.StepAsync("commits", DeployCommands.Log(result.PreviousCommit!, result.NewCommit!), cancellationToken).ConfigureAwait(false);
                result.Commits = _text.Lines(log.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }

            // The host's history learns that a deploy started, and the guard how to put it back, before anything moves;
            // once the snapshot is taken, both learn of it too.
            NoteGuard(request, session, session.RecordId, result.PreviousCommit!, null, request.DbPath);
            await session.ArmAsync(Started(request, result, session, request.DbPath is null ? "checkout" : "snapshot"), DeployCommands.PutBack(request, result.PreviousCommit!, null, session.Token, "rollback: ")).ConfigureAwait(false);
            if (request.DbPath is not null)
            {
                var snapshotRequest = new SnapshotRequest(request.Service, request.DbPath, request.KeepSnapshots);
                var taken = await session.StepAsync("snapshot", RemoteSnapshotter.Command(snapshotRequest), cancellationToken).ConfigureAwait(false);
                result.SnapshotPath = RemoteSnapshotter.Read(taken, snapshotRequest, _host.ComputerName).Path;
                session.Note("snapshot=" + result.SnapshotPath);
                await session.ArmAsync(Started(request, result, session, "checkout"), DeployCommands.PutBack(request, result.PreviousCommit!, result.SnapshotPath, session.Token, "rollback: ")).ConfigureAwait(false);
            }

            codeMoved = true;
            FinishingPutBack(request, result.PreviousCommit!, result.SnapshotPath);
            await session.StepAsync("checkout", DeployCommands.Checkout(result.NewCommit!), cancellationToken, notes: "moved=yes").ConfigureAwait(false);
            await InstallAndBuildAsync(request, session, string.Empty, cancellationToken).ConfigureAwait(false);
            if (request.PreRestartCommand is { } preRestart)
            {
                await session.StepAsync(DeployCommands.PreRestartStep, DeployCommands.Hook(request, preRestart, result.PreviousCommit, result.NewCommit), cancellationToken).ConfigureAwait(false);
            }

            await session.StepAsync("restart", DeployCommands.Systemctl("restart", request.Service, request.SystemctlPath), cancellationToken).ConfigureAwait(false);
            var baseline = await ReadUnitAsync(request, session, "health", cancellationToken).ConfigureAwait(false);
            result.Health = await TimedAsync(result, "health", () => CheckHealthAsync(request, baseline, cancellationToken)).ConfigureAwait(false);
            if (!result.Health.Healthy)
            {
                throw new DeployStepException("health", Describe(result.Health));
            }

            result.Status = DeployStatus.Succeeded;
            FinishingLock(request);
            if (request.PostDeployCommand is { } postDeploy)
            {
                await PostDeployAsync(request, session, postDeploy, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not GuardTookOverException)
        {
            result.FailedStep = ex is DeployStepException step ? step.Step : result.Steps.LastOrDefault()?.Name;
            result.Error = ex.Message;
            result.Hints = FailureHints.Of(ex);
            if (!codeMoved || session.Unreachable)
            {
                // Nothing changed on the host (a failed snapshot, fetch...), or it cannot be reached: its guard acts.
                result.Status = codeMoved ? DeployStatus.RollbackFailed : DeployStatus.Failed;
                return;
            }

            _reporter.Warning($"{result.Service} on {result.ComputerName}: the {result.FailedStep} step failed; rolling back to {result.PreviousCommit}.");
            await RollBackAsync(request, session).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (codeMoved && cancellationToken.IsCancellationRequested)
        {
            // Stopped (Ctrl+C) after the code moved: put the service back before letting go.
            result.FailedStep = result.Steps.LastOrDefault()?.Name;
            result.Error = $"Stopped during the {result.FailedStep} step.";
            _reporter.Warning($"{result.Service} on {result.ComputerName}: stopped during the {result.FailedStep} step; rolling back to {result.PreviousCommit} first.");
            await RollBackAsync(request, session).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The post-deploy hook, once the deploy is healthy: whatever becomes of it (a non-zero exit, a lost connection, a
    /// stop), the deploy stands; its failure is a warning with its output's tail. Should the client die during it, the
    /// guard puts nothing back either (it records the deploy as it was: succeeded).
    /// </summary>
    private async Task PostDeployAsync(DeployRequest request, DeploySession session, string command, CancellationToken cancellationToken)
    {
        var result = session.Result;
        try
        {
            var run = await session.RunAsync(DeployCommands.PostDeployStep, DeployCommands.Hook(request, command, result.PreviousCommit, result.NewCommit), cancellationToken).ConfigureAwait(false);
            if (!run.Succeeded)
            {
                var tail = _text.Tail(run, 10);
                _reporter.Warning($"{result.Service} on {result.ComputerName}: the post-deploy hook failed (exit code {run.ExitCode}); the deploy stands{(tail.Length > 0 ? ":\n" + tail : ".")}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _reporter.Warning($"{result.Service} on {result.ComputerName}: stopped during the post-deploy hook; the deploy stands.");
        }
        catch (Exception ex) when (ex is not GuardTookOverException and not OperationCanceledException)
        {
            _reporter.Warning($"{result.Service} on {result.ComputerName}: the post-deploy hook failed ({ex.Message}); the deploy stands.");
        }
    }

    /// <summary>The client's own rollback: the put-back plan the guard holds, run to its end (no caller can cancel it).</summary>
    private async Task RollBackAsync(DeployRequest request, DeploySession session)
    {
        var result = session.Result;
        try
        {
            var plan = DeployCommands.PutBack(request, result.PreviousCommit!, result.SnapshotPath, session.Token, "rollback: ");
            var healthy = await PutBackAsync(request, session, plan, CancellationToken.None).ConfigureAwait(false);
            result.Status = healthy ? DeployStatus.RolledBack : DeployStatus.RollbackFailed;
            if (!healthy)
            {
                result.Error += $"\nAfter the rollback the service is still unhealthy: {Describe(result.Health!)}";
            }
        }
        catch (GuardTookOverException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result.Status = DeployStatus.RollbackFailed;
            result.Error += $"\nThe rollback failed too: {ex.Message}";
            result.Hints = [.. result.Hints, .. FailureHints.Of(ex)];
        }
    }

    /// <summary>
    /// Runs a put-back plan (<see cref="DeployCommands.PutBack"/>) and returns whether the service is healthy after it.
    /// <paramref name="cancellationToken"/> counts only until the unit is stopped: from then on nothing cancels it before
    /// the unit runs a known commit again. When a step after the stop fails, the unit is started all the same.
    /// </summary>
    private async Task<bool> PutBackAsync(DeployRequest request, DeploySession session, IReadOnlyList<PutBackStep> plan, CancellationToken cancellationToken)
    {
        var stopped = false;
        try
        {
            foreach (var step in plan)
            {
                // The stop itself is not cancelled either: systemd stops the unit whether or not the command waits for it.
                var isStop = step.Name.EndsWith("stop", StringComparison.Ordinal);
                var token = stopped || isStop ? CancellationToken.None : cancellationToken;
                if (step.Command is null)
                {
                    var baseline = await ReadUnitAsync(request, session, step.Name, token).ConfigureAwait(false);
                    session.Result.Health = await TimedAsync(session.Result, step.Name, () => CheckHealthAsync(request, baseline, token)).ConfigureAwait(false);
                    return session.Result.Health.Healthy;
                }

                if (step.Name.EndsWith(DeployCommands.SpaceStep, StringComparison.Ordinal))
                {
                    // Before anything stops: a snapshot that cannot fit on the database's disk fails here, the service still running.
                    DatabaseRestore.CheckSpace(await session.RunAsync(step.Name, step.Command, token, again: true).ConfigureAwait(false), request.DbPath!);
                    continue;
                }

                string[] notes = isStop ? ["moved=yes"] : [];
                await session.StepAsync(step.Name, step.Command, token, again: true, notes).ConfigureAwait(false);
                stopped |= isStop;
            }

            return false;
        }
        catch (Exception ex) when (stopped && ex is not GuardTookOverException && !session.Unreachable)
        {
            // A down service helps nobody: start whatever is there, and let the failure speak.
            if (plan.FirstOrDefault(s => s.Name.EndsWith("start", StringComparison.Ordinal)) is { Command: { } start } startStep)
            {
                try
                {
                    await session.StepAsync(startStep.Name, start, CancellationToken.None, again: true).ConfigureAwait(false);
                }
                catch (Exception startFailed) when (startFailed is not GuardTookOverException)
                {
                    _reporter.Verbose($"[{request.Service}] starting the unit after the failure failed too: {startFailed.Message}");
                }
            }

            throw;
        }
    }

    private async Task RestoreStepsAsync(DeployRequest request, DeploySession session, string? commit, string? snapshotPath, bool skipDatabase, CancellationToken cancellationToken)
    {
        var result = session.Result;
        result.PreviousCommit = (await session.StepAsync("current", DeployCommands.Current(), cancellationToken).ConfigureAwait(false)).Output.Trim();
        var history = await new HostHistory(_host, _reporter, _options with { OnLine = null }).ReadAsync(request.Service, cancellationToken: cancellationToken).ConfigureAwait(false);
        var unfinished = DeployHistory.Unfinished(history);
        var dbPath = request.DbPath;
        if (commit is null)
        {
            var last = DeployHistory.LastRestorable(history)
                ?? throw new AtelierException("NothingToRestore", FailureKind.NotFound, $"{request.Service} on {_host.ComputerName} has no successful or unfinished deploy in its history to restore from.") { Hints = [Hint.RestoreCommit] };
            commit = last.PreviousCommit!;
            snapshotPath ??= last.SnapshotPath;
            dbPath ??= last.DbPath;
            _reporter.Verbose(last.IsUnfinished
                ? $"[{request.Service}] restoring to {commit}, from the unfinished deploy of {last.NewCommit} at {last.StartedAt:u} (lost at its {last.Step} step)"
                : $"[{request.Service}] restoring to {commit}, from the deploy of {last.NewCommit} at {last.StartedAt:u}");
        }

        result.NewCommit = RemoteValue.Commit(commit, "commit to restore");
        result.SnapshotPath = skipDatabase ? null : snapshotPath;
        result.DbPath = skipDatabase ? null : dbPath;
        if (result.SnapshotPath is not null && result.DbPath is null)
        {
            throw new AtelierException("RestoreNeedsDbPath", FailureKind.InvalidArgument, $"{request.Service}: the database the snapshot {result.SnapshotPath} goes back to is not known.")
            {
                Hints = [Hint.RestoreDatabase],
            };
        }

        var restore = request with { DbPath = result.DbPath };
        session.Note("commit=" + result.NewCommit);
        NoteGuard(restore, session, session.RecordId, result.PreviousCommit, result.SnapshotPath, result.DbPath);
        var plan = DeployCommands.PutBack(restore, result.NewCommit, result.SnapshotPath, session.Token, string.Empty);
        await session.ArmAsync(Started(restore, result, session, plan[0].Name), plan).ConfigureAwait(false);
        _reporter.Finishing($"restoring {request.Service} on {_host.ComputerName} to {result.NewCommit}{(result.SnapshotPath is null ? string.Empty : " with its snapshot")} and releasing its deploy lock");
        var healthy = await PutBackAsync(restore, session, plan, cancellationToken).ConfigureAwait(false);
        result.Status = healthy ? DeployStatus.Succeeded : DeployStatus.Failed;
        if (!healthy)
        {
            result.FailedStep = "health";
            result.Error = Describe(result.Health!);
        }

        if (unfinished is not null)
        {
            await RecordOnHostAsync(Closed(unfinished, result)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A deploy that finds an unfinished one (its client and its guard died) puts it back first: to its previous commit,
    /// with its snapshot, the guard's own sequence; then closes its record.
    /// </summary>
    private async Task<DeployRecord> PutBackUnfinishedAsync(DeployRequest request, DeploySession session, DeployRecord unfinished, string? head)
    {
        if (head == unfinished.PreviousCommit || unfinished.PreviousCommit is null)
        {
            _reporter.Warning($"{unfinished.Service} on {unfinished.ComputerName}: the {unfinished.Operation.ToLowerInvariant()} of {unfinished.NewCommit} by {unfinished.By} at {unfinished.StartedAt:u} never finished (lost at its {unfinished.Step} step), but its code had not moved: closing its record.");
            var untouched = Closed(unfinished, null) with { Status = DeployStatus.Failed };
            await RecordOnHostAsync(untouched).ConfigureAwait(false);
            return untouched;
        }

        _reporter.Warning($"{unfinished.Service} on {unfinished.ComputerName}: the {unfinished.Operation.ToLowerInvariant()} of {unfinished.NewCommit} by {unfinished.By} at {unfinished.StartedAt:u} never finished (its client and guard were lost at its {unfinished.Step} step): putting back {unfinished.PreviousCommit} first, with its snapshot.");
        var putBack = request with { DbPath = unfinished.SnapshotPath is null ? null : unfinished.DbPath ?? request.DbPath };
        var plan = DeployCommands.PutBack(putBack, unfinished.PreviousCommit, unfinished.SnapshotPath, session.Token, "recover: ");
        NoteGuard(putBack, session, unfinished.Id, unfinished.PreviousCommit, unfinished.SnapshotPath, putBack.DbPath);
        await session.ArmAsync(unfinished, plan).ConfigureAwait(false);
        FinishingPutBack(request, unfinished.PreviousCommit, unfinished.SnapshotPath);
        var healthy = await PutBackAsync(putBack, session, plan, CancellationToken.None).ConfigureAwait(false);
        FinishingLock(request);
        var closed = Closed(unfinished, null) with { Status = healthy ? DeployStatus.RolledBack : DeployStatus.RollbackFailed, Healthy = healthy };
        await RecordOnHostAsync(closed).ConfigureAwait(false);
        session.Note("moved=no");
        if (!healthy)
        {
            throw new DeployStepException("recover: health", $"the unfinished deploy was put back to {unfinished.PreviousCommit}, but the service is not healthy: {Describe(session.Result.Health!)}");
        }

        return closed;
    }

    private static void NoteGuard(DeployRequest request, DeploySession session, string recordId, string previous, string? snapshot, string? dbPath) =>
        session.Note(
            "record=" + recordId,
            "previous=" + previous,
            "snapshot=" + (snapshot ?? string.Empty),
            "db=" + (dbPath ?? string.Empty),
            "url=" + (request.HealthUrl?.AbsoluteUri ?? string.Empty),
            "healthtimeout=" + DeployLock.Seconds(request.Health.Timeout));

    private static async Task InstallAndBuildAsync(DeployRequest request, DeploySession session, string prefix, CancellationToken cancellationToken)
    {
        if (DeployCommands.Install(request) is { } install)
        {
            await session.StepAsync(prefix + "install", install, cancellationToken).ConfigureAwait(false);
        }

        if (DeployCommands.Build(request) is { } build)
        {
            await session.StepAsync(prefix + "build", build, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The unit's state right after the restart or start, through the lock as the step <paramref name="step"/>: the baseline the health check watches.</summary>
    private static async Task<UnitState?> ReadUnitAsync(DeployRequest request, DeploySession session, string step, CancellationToken cancellationToken)
    {
        var shown = await session.ReadAsync(step, SystemdProbe.ShowCommand(SystemdProbe.UnitName(request.Service)), cancellationToken).ConfigureAwait(false);
        return shown.Succeeded && SystemdProbe.ParseShow(shown.Output) is { ActiveState: not null } state ? state : null;
    }

    private Task<ServiceHealth> CheckHealthAsync(DeployRequest request, UnitState? baseline, CancellationToken cancellationToken) =>
        new HealthChecker(request.Health, _reporter, text: _text).CheckAsync(
            new HealthCheck { Service = request.Service, ComputerName = _host.ComputerName, HealthUrl = request.HealthUrl, Baseline = baseline },
            _ => Task.FromResult(_host),
            _options with { OnLine = null },
            cancellationToken);

    private async Task<T> TimedAsync<T>(ServiceDeployResult result, string name, Func<Task<T>> step)
    {
        _reporter.Progress(1, $"{result.Operation} of {result.Service} on {result.ComputerName}", name, -1);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var value = await step().ConfigureAwait(false);
            result.Steps.Add(new DeployStep(name, stopwatch.Elapsed, null, string.Empty));
            return value;
        }
        catch (OperationCanceledException)
        {
            result.Steps.Add(new DeployStep(name, stopwatch.Elapsed, null, "stopped"));
            throw;
        }
        catch (Exception ex)
        {
            result.Steps.Add(new DeployStep(name, stopwatch.Elapsed, null, ex.Message));
            throw new DeployStepException(name, ex.Message, ex);
        }
    }

    private static string Describe(ServiceHealth health) =>
        $"{health.Status}: {health.Detail}" + (health.Journal.Length > 0 ? "\nThe app's last journal lines:\n" + string.Join('\n', health.Journal) : string.Empty);

    /// <summary>The "started" record written before anything moves: its outcome replaces it under the same id.</summary>
    private DeployRecord Started(DeployRequest request, ServiceDeployResult result, DeploySession session, string step) =>
        Record(request, result, session) with { Status = DeployStatus.Started, Step = step, FailedStep = null, Error = null, Healthy = null, FinishedAt = default, DurationMs = 0, Steps = null };

    /// <summary>
    /// The result's host text cleaned and redacted, wherever it came from (a step's output, an exception's message, the
    /// guard's record); cleaning twice changes nothing.
    /// </summary>
    private void Clean(ServiceDeployResult result)
    {
        result.Error = _text.CleanOrNull(result.Error);
        result.Notice = _text.CleanOrNull(result.Notice);
        result.Commits = [.. result.Commits.Select(c => _text.Clean(c).Replace('\n', ' '))];
        for (var i = 0; i < result.Steps.Count; i++)
        {
            result.Steps[i] = result.Steps[i] with { OutputTail = _text.Clean(result.Steps[i].OutputTail) };
        }

        result.Health?.Clean(_text);
    }

    /// <summary>
    /// Every record this deployer writes, to the host's history (through the lock, the guard's plan, or an append) and
    /// to this machine's, is made here, so it is always kept as <see cref="DeployHistory.Kept"/> says: cleaned, redacted, short.
    /// </summary>
    private DeployRecord Record(DeployRequest request, ServiceDeployResult result, DeploySession? session) => DeployHistory.Kept(new DeployRecord
    {
        Id = session?.RecordId ?? DeployRecord.NewId(),
        Service = result.Service,
        ComputerName = result.ComputerName,
        Operation = result.Operation,
        Status = result.Status,
        Branch = result.Branch,
        PreviousCommit = result.PreviousCommit,
        NewCommit = result.NewCommit,
        RequestedCommit = result.RequestedCommit,
        Commits = result.Commits,
        SnapshotPath = result.SnapshotPath,
        DbPath = result.DbPath,
        StartedAt = result.StartedAt,
        FinishedAt = result.StartedAt + result.Duration,
        DurationMs = (long)result.Duration.TotalMilliseconds,
        By = request.Holder,
        FailedStep = result.FailedStep,
        Error = result.Error,
        Healthy = result.Health?.Healthy,
        LockToken = session?.Token,
        Steps = [.. result.Steps.Select(s => new DeployRecordStep { Name = s.Name, ExitCode = s.ExitCode, DurationMs = (long)s.Duration.TotalMilliseconds, OutputTail = s.OutputTail.Length == 0 ? null : s.OutputTail })],
    }, _text);

    /// <summary>An unfinished record, closed by a later operation (<paramref name="by"/>; null for the one at hand).</summary>
    private DeployRecord Closed(DeployRecord unfinished, ServiceDeployResult? by) => DeployHistory.Kept(unfinished with
    {
        Status = by is null || by.Status == DeployStatus.Succeeded && by.NewCommit == unfinished.PreviousCommit ? DeployStatus.RolledBack : DeployStatus.Failed,
        Step = null,
        FinishedAt = DateTimeOffset.UtcNow,
        FailedStep = unfinished.Step,
        Error = $"Never finished: its client and its guard were lost at the {unfinished.Step} step."
            + (by is null ? $" Put back to {unfinished.PreviousCommit} by the next deploy." : $" The service was then restored to {by.NewCommit} ({by.Status}).")
            + (unfinished.Error is null ? string.Empty : "\n" + unfinished.Error),
    }, _text);

    private async Task RecordOnHostAsync(DeployRecord record)
    {
        try
        {
            await new HostHistory(_host, _reporter, _options with { OnLine = null }).AppendAsync(record, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _reporter.Warning($"{record.Service}: the {record.Operation.ToLowerInvariant()} could not be recorded on {record.ComputerName}: {ex.Message}");
        }
    }

    private void RecordHere(DeployRecord record)
    {
        try
        {
            _localHistory?.Add(record);
        }
        catch (Exception ex)
        {
            _reporter.Warning($"{record.Service} on {record.ComputerName}: the {record.Operation.ToLowerInvariant()} could not be recorded in {_localHistory?.Path}: {ex.Message}");
        }
    }
}

/// <summary>A deploy step failed; <see cref="Step"/> names it.</summary>
public sealed class DeployStepException : AtelierException
{
    public DeployStepException(string step, string detail, Exception? inner = null)
        : base("DeployStepFailed", FailureKind.OperationFailed, $"The {step} step failed: {detail}", inner)
    {
        Step = step;
        Hints = FailureHints.Of(inner);
    }

    public string Step { get; }
}
