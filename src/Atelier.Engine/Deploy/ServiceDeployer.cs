using System.Diagnostics;
using Atelier.Health;
using Atelier.History;
using Atelier.Shell;
using Atelier.Snapshot;
using Atelier.Transport;

namespace Atelier.Deploy;

/// <summary>
/// Deploys one service over one connection: lock, fetch, snapshot the database, move the code, install, build,
/// restart, check health; and when anything after the fetch fails, roll back (space check, stop, database, code, install,
/// build, start) and check health again. Every deploy is recorded on the host and on this machine.
/// </summary>
public sealed class ServiceDeployer
{
    private readonly IRemoteHost _host;
    private readonly IReporter _reporter;
    private readonly CommandOptions _options;
    private readonly LocalHistory? _localHistory;

    public ServiceDeployer(IRemoteHost host, IReporter reporter, CommandOptions options, LocalHistory? localHistory)
    {
        _host = host;
        _reporter = reporter;
        _options = options;
        _localHistory = localHistory;
    }

    /// <summary>The steps a deploy would run, each with its command, for -WhatIf.</summary>
    public static IEnumerable<(string Step, string Command)> Plan(DeployRequest request)
    {
        request.Validate();
        yield return ("lock", DeployLock.LockPath(request.Service) + (request.BreakLock ? " (breaking a held lock)" : string.Empty));
        yield return ("fetch", DeployCommands.Fetch(request.Branch).Text);
        if (request.DbPath is not null)
        {
            // The snapshot script is long: show how it is called, not its text (Backup-ServiceDb's help describes it).
            var snapshot = RemoteSnapshotter.Command(new SnapshotRequest(request.Service, request.DbPath, request.KeepSnapshots)).Text;
            yield return ("snapshot", "sh -c '<Backup-ServiceDb snapshot script>'" + snapshot[snapshot.LastIndexOf("' atelier ", StringComparison.Ordinal)..][1..]);
        }

        yield return ("checkout", $"cd ~/app && git reset --quiet --hard <origin/{request.Branch}>");
        if (DeployCommands.Install(request) is { } install)
        {
            yield return ("install", install.Text);
        }

        if (DeployCommands.Build(request) is { } build)
        {
            yield return ("build", build.Text);
        }

        yield return ("restart", DeployCommands.Systemctl("restart", request.Service, request.SystemctlPath).Text);
        yield return ("health", request.HealthUrl is null ? $"systemctl show {request.Service}.service (active, running, not restarting)" : $"GET {request.HealthUrl}");
    }

    public async Task<ServiceDeployResult> DeployAsync(DeployRequest request, CancellationToken cancellationToken)
    {
        request.Validate();
        var result = new ServiceDeployResult { Service = request.Service, ComputerName = _host.ComputerName, Branch = request.Branch, DbPath = request.DbPath };
        await LockedAsync(request, result, LockOperation.Deploy, async () =>
        {
            var fetched = await RunStepAsync(result, "fetch", DeployCommands.Fetch(request.Branch), cancellationToken).ConfigureAwait(false);
            var commits = fetched.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            result.PreviousCommit = commits[^2];
            result.NewCommit = commits[^1];
            if (result.PreviousCommit == result.NewCommit && !request.Force)
            {
                result.Health = await CheckHealthAsync(request, cancellationToken).ConfigureAwait(false);
                if (result.Health.Healthy)
                {
                    result.Status = DeployStatus.NoChange;
                    return;
                }

                _reporter.Warning($"{request.Service}: origin/{request.Branch} is already deployed but unhealthy ({result.Health.Detail}): deploying it again.");
            }

            await DeployChangesAsync(request, result, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Runs <paramref name="body"/> holding the service's deploy lock. A failure that escapes it (the lock, the
    /// connection, a step before anything changed) makes the result Failed; the lock is always released and the
    /// result always recorded.
    /// </summary>
    private async Task LockedAsync(DeployRequest request, ServiceDeployResult result, LockOperation operation, Func<Task> body, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        DeployLock? deployLock = null;
        try
        {
            deployLock = await TimedAsync(result, "lock", () => DeployLock.AcquireAsync(
                _host,
                new LockRequest(request.Service, operation, request.Holder) { Wait = request.LockWait, Break = request.BreakLock },
                _reporter,
                cancellationToken)).ConfigureAwait(false);
            await body().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result.Status = DeployStatus.Failed;
            result.FailedStep ??= ex is DeployStepException step ? step.Step : result.Steps.LastOrDefault()?.Name ?? "connect";
            result.Error ??= ex.Message;
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
            if (deployLock is not null)
            {
                await deployLock.DisposeAsync().ConfigureAwait(false);
            }

            await RecordAsync(request, result).ConfigureAwait(false);
        }
    }

    private async Task DeployChangesAsync(DeployRequest request, ServiceDeployResult result, CancellationToken cancellationToken)
    {
        var codeMoved = false;
        try
        {
            if (request.DbPath is not null)
            {
                var snapshot = await TimedAsync(result, "snapshot", () => new RemoteSnapshotter(_host, _options)
                    .TakeAsync(new SnapshotRequest(request.Service, request.DbPath, request.KeepSnapshots), cancellationToken)).ConfigureAwait(false);
                result.SnapshotPath = snapshot.Path;
            }

            if (result.PreviousCommit != result.NewCommit)
            {
                var log = await RunStepAsync(result, "commits", DeployCommands.Log(result.PreviousCommit!, result.NewCommit!), cancellationToken).ConfigureAwait(false);
                result.Commits = log.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            }

            codeMoved = true; // from here on, a stop leaves the service half deployed unless it is rolled back
            await RunStepAsync(result, "checkout", DeployCommands.Checkout(result.NewCommit!), cancellationToken).ConfigureAwait(false);
            await InstallAndBuildAsync(request, result, string.Empty, cancellationToken).ConfigureAwait(false);
            await RunStepAsync(result, "restart", DeployCommands.Systemctl("restart", request.Service, request.SystemctlPath), cancellationToken).ConfigureAwait(false);
            result.Health = await TimedAsync(result, "health", () => CheckHealthAsync(request, cancellationToken)).ConfigureAwait(false);
            if (!result.Health.Healthy)
            {
                throw new DeployStepException("health", Describe(result.Health));
            }

            result.Status = DeployStatus.Succeeded;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result.FailedStep = ex is DeployStepException step ? step.Step : result.Steps.LastOrDefault()?.Name;
            result.Error = ex.Message;
            _reporter.Warning($"{request.Service}: the {result.FailedStep} step failed; rolling back to {result.PreviousCommit}.");
            await RollBackAsync(request, result, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (codeMoved && cancellationToken.IsCancellationRequested)
        {
            // Stopped (Ctrl+C) after the code moved: put the service back before letting go, within a limit of its own.
            result.FailedStep = result.Steps.LastOrDefault()?.Name;
            result.Error = $"Stopped during the {result.FailedStep} step.";
            _reporter.Warning($"{request.Service}: stopped during the {result.FailedStep} step; rolling back to {result.PreviousCommit} first.");
            using var limit = new CancellationTokenSource(StopRollbackLimit);
            try
            {
                await RollBackAsync(request, result, limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                result.Status = DeployStatus.RollbackFailed;
                result.Error += $"\nThe rollback did not finish within {StopRollbackLimit.TotalMinutes:0} minutes.";
            }

            throw;
        }
    }

    /// <summary>How long the rollback of a deploy stopped half way may take.</summary>
    public static readonly TimeSpan StopRollbackLimit = TimeSpan.FromMinutes(5);

    private async Task RollBackAsync(DeployRequest request, ServiceDeployResult result, CancellationToken cancellationToken)
    {
        try
        {
            var healthy = await PutBackAsync(request, result, result.PreviousCommit!, result.SnapshotPath, "rollback: ", cancellationToken).ConfigureAwait(false);
            result.Status = healthy ? DeployStatus.RolledBack : DeployStatus.RollbackFailed;
            if (!healthy)
            {
                result.Error += $"\nAfter the rollback the service is still unhealthy: {Describe(result.Health!)}";
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result.Status = DeployStatus.RollbackFailed;
            result.Error += $"\nThe rollback failed too: {ex.Message}";
        }
    }

    /// <summary>
    /// Stop, put the snapshot back (when there is one and a database, once it is known to fit), move the code to <paramref name="commit"/>,
    /// install, build, start, check health: the rollback of a deploy, and a restore on demand.
    /// </summary>
    private async Task<bool> PutBackAsync(DeployRequest request, ServiceDeployResult result, string commit, string? snapshotPath, string prefix, CancellationToken cancellationToken)
    {
        if (snapshotPath is not null && request.DbPath is not null)
        {
            // Before anything stops: a restore that cannot fit on the database's disk fails here, the service still running.
            await TimedAsync(result, prefix + "space", async () => DatabaseRestore.CheckSpace(
                await _host.RunAsync(DatabaseRestore.SpaceCheckCommand(snapshotPath, request.DbPath), _options, cancellationToken).ConfigureAwait(false),
                request.DbPath)).ConfigureAwait(false);
        }

        await RunStepAsync(result, prefix + "stop", DeployCommands.Systemctl("stop", request.Service, request.SystemctlPath), cancellationToken).ConfigureAwait(false);
        if (snapshotPath is not null && request.DbPath is not null)
        {
            // The restore's temporary file is named for this deploy, so no other restore can meet it.
            await RunStepAsync(result, prefix + "database", DatabaseRestore.Command(snapshotPath, request.DbPath, Guid.NewGuid().ToString("N")), cancellationToken).ConfigureAwait(false);
        }

        await RunStepAsync(result, prefix + "checkout", DeployCommands.Checkout(commit), cancellationToken).ConfigureAwait(false);
        await InstallAndBuildAsync(request, result, prefix, cancellationToken).ConfigureAwait(false);
        await RunStepAsync(result, prefix + "start", DeployCommands.Systemctl("start", request.Service, request.SystemctlPath), cancellationToken).ConfigureAwait(false);
        result.Health = await TimedAsync(result, prefix + "health", () => CheckHealthAsync(request, cancellationToken)).ConfigureAwait(false);
        return result.Health.Healthy;
    }

    /// <summary>
    /// Restores a service on demand: by default to the commit before its last successful deploy (from the host's
    /// history), with the snapshot that deploy took; or to <paramref name="commit"/> with <paramref name="snapshotPath"/>.
    /// The database is left alone when <paramref name="skipDatabase"/> is set. Takes the lock like a deploy.
    /// </summary>
    public async Task<ServiceDeployResult> RestoreAsync(DeployRequest request, string? commit, string? snapshotPath, bool skipDatabase, CancellationToken cancellationToken)
    {
        request.Validate();
        var result = new ServiceDeployResult { Service = request.Service, ComputerName = _host.ComputerName, Branch = request.Branch, Operation = DeployOperation.Restore };
        await LockedAsync(request, result, LockOperation.Restore, async () =>
        {
            result.PreviousCommit = (await RunStepAsync(result, "current", DeployCommands.Current(), cancellationToken).ConfigureAwait(false)).Output.Trim();
            var dbPath = request.DbPath;
            if (commit is null)
            {
                var records = await new HostHistory(_host, _reporter, _options with { OnLine = null }).ReadAsync(request.Service, cancellationToken: cancellationToken).ConfigureAwait(false);
                var last = DeployHistory.LastRestorable(records)
                    ?? throw new AtelierException("NothingToRestore", FailureKind.NotFound, $"{request.Service} on {_host.ComputerName} has no successful deploy in its history to restore from: give -Commit.");
                commit = last.PreviousCommit!;
                snapshotPath ??= last.SnapshotPath;
                dbPath ??= last.DbPath;
                _reporter.Verbose($"[{request.Service}] restoring to {commit}, from the deploy of {last.NewCommit} at {last.StartedAt:u}");
            }

            result.NewCommit = RemoteValue.Commit(commit, "commit to restore");
            result.SnapshotPath = skipDatabase ? null : snapshotPath;
            result.DbPath = skipDatabase ? null : dbPath;
            if (result.SnapshotPath is not null && result.DbPath is null)
            {
                throw new AtelierException("RestoreNeedsDbPath", FailureKind.InvalidArgument, $"{request.Service}: give -DbPath, the database the snapshot {result.SnapshotPath} goes back to (or -SkipDatabase).");
            }

            var healthy = await PutBackAsync(request with { DbPath = result.DbPath }, result, result.NewCommit, result.SnapshotPath, string.Empty, cancellationToken).ConfigureAwait(false);
            result.Status = healthy ? DeployStatus.Succeeded : DeployStatus.Failed;
            if (!healthy)
            {
                result.FailedStep = "health";
                result.Error = Describe(result.Health!);
            }
        }, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task InstallAndBuildAsync(DeployRequest request, ServiceDeployResult result, string prefix, CancellationToken cancellationToken)
    {
        if (DeployCommands.Install(request) is { } install)
        {
            await RunStepAsync(result, prefix + "install", install, cancellationToken).ConfigureAwait(false);
        }

        if (DeployCommands.Build(request) is { } build)
        {
            await RunStepAsync(result, prefix + "build", build, cancellationToken).ConfigureAwait(false);
        }
    }

    private Task<ServiceHealth> CheckHealthAsync(DeployRequest request, CancellationToken cancellationToken) =>
        new HealthChecker(request.Health, _reporter).CheckAsync(
            new HealthCheck { Service = request.Service, ComputerName = _host.ComputerName, HealthUrl = request.HealthUrl },
            _ => Task.FromResult(_host),
            _options with { OnLine = null },
            cancellationToken);

    private async Task<CommandResult> RunStepAsync(ServiceDeployResult result, string name, ShellCommand command, CancellationToken cancellationToken)
    {
        _reporter.Progress(1, $"Deploying {result.Service} to {result.ComputerName}", name, -1);
        _reporter.Verbose($"[{result.Service}] {name}: {command.Text}");
        CommandResult run;
        var stopwatch = Stopwatch.StartNew();
        try
        {
            run = await _host.RunAsync(command, _options, cancellationToken).ConfigureAwait(false);
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

        result.Steps.Add(new DeployStep(name, run.Duration, run.ExitCode, run.Tail(10)));
        if (!run.Succeeded)
        {
            throw new DeployStepException(name, $"exit code {run.ExitCode}" + (run.Tail(20) is { Length: > 0 } tail ? $":\n{tail}" : "."));
        }

        return run;
    }

    private async Task<T> TimedAsync<T>(ServiceDeployResult result, string name, Func<Task<T>> step)
    {
        _reporter.Progress(1, $"Deploying {result.Service} to {result.ComputerName}", name, -1);
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

    private async Task RecordAsync(DeployRequest request, ServiceDeployResult result)
    {
        var record = new DeployRecord
        {
            Id = DeployRecord.NewId(),
            Service = result.Service,
            ComputerName = result.ComputerName,
            Operation = result.Operation,
            Status = result.Status,
            Branch = result.Branch,
            PreviousCommit = result.PreviousCommit,
            NewCommit = result.NewCommit,
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
        };
        try
        {
            await new HostHistory(_host, _reporter, _options with { OnLine = null }).AppendAsync(record, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _reporter.Warning($"{result.Service}: the deploy could not be recorded on {result.ComputerName}: {ex.Message}");
        }

        try
        {
            _localHistory?.Add(record);
        }
        catch (Exception ex)
        {
            _reporter.Warning($"{result.Service}: the deploy could not be recorded in {_localHistory?.Path}: {ex.Message}");
        }
    }
}

/// <summary>A deploy step failed; <see cref="Step"/> names it.</summary>
public sealed class DeployStepException : AtelierException
{
    public DeployStepException(string step, string detail, Exception? inner = null)
        : base("DeployStepFailed", FailureKind.OperationFailed, $"The {step} step failed: {detail}", inner) => Step = step;

    public string Step { get; }
}
