using System.Globalization;
using Atelier.History;

namespace Atelier.Deploy;

/// <summary>
/// One service's deploy (or restore) in a run of many: its request, the host it goes to, and the work itself, which
/// reports through the reporter it is given (that service's own progress record) and returns the service's result.
/// </summary>
/// <param name="Request">The service's request (its name and branch name the result of a deploy that never started).</param>
/// <param name="ComputerName">Its host, as the results name it.</param>
/// <param name="Operation"><see cref="DeployOperation.Deploy"/> or <see cref="DeployOperation.Restore"/>.</param>
/// <param name="RunAsync">The deploy: a <see cref="ServiceDeployer"/> call over the host's pooled connection.</param>
/// <param name="WorkTree">
/// What names the work tree the deploy moves (<c>~/app</c> of one account on one host: its connection request), or null
/// when it shares none. Deploys with equal work trees run one after another, never at once.
/// </param>
public sealed record ParallelDeploy(
    DeployRequest Request,
    string ComputerName,
    string Operation,
    Func<IReporter, CancellationToken, Task<ServiceDeployResult>> RunAsync,
    object? WorkTree = null);

/// <summary>How one service of a run ended: its result, or the failure that kept it from having one (a connection).</summary>
public sealed record ParallelOutcome(ParallelDeploy Deploy, ServiceDeployResult? Result, Exception? Error)
{
    /// <summary>True when the service's deploy succeeded or changed nothing.</summary>
    public bool Succeeded => Error is null && Result is { Succeeded: true };
}

/// <summary>
/// Runs many services' deploys at once, at most a throttle limit at a time, in the order given (<see cref="Throttled"/>).
/// Each deploy is a whole <see cref="ServiceDeployer"/> run of its own: its own lock, guard, snapshot and records; a
/// failure of one never stops or rolls back another, unless the run stops at the first failure, when the deploys not
/// yet started end <see cref="DeployStatus.Skipped"/>. Services reached as the same account on the same host share its
/// <c>~/app</c> (<see cref="ParallelDeploy.WorkTree"/>): they deploy one after another, in the order given. A stop (the token) stops every deploy in flight, each putting its
/// service back as a single deploy does, and starts no other.
/// </summary>
/// <remarks>
/// <para>
/// Progress: with more than one service, one record for the run (<see cref="RunActivityId"/>) and, under it, one per
/// service (<see cref="ServiceActivityId"/>) that shows the step it is at; a single service reports as it always did.
/// </para>
/// <para>
/// What each deploy is finishing on its host (<see cref="IReporter.Finishing"/>) is joined into one phrase for the
/// caller, so a stop names every rollback it waits for.
/// </para>
/// </remarks>
public static class ParallelDeploys
{
    /// <summary>How many services are deployed at once unless told otherwise.</summary>
    public const int DefaultThrottleLimit = 4;

    /// <summary>The highest throttle limit: beyond it one client's connections and rollbacks are more than it can watch.</summary>
    public const int MaxThrottleLimit = 64;

    /// <summary>The progress record of the whole run (with more than one service).</summary>
    public const int RunActivityId = 1;

    /// <summary>The progress record of the service at <paramref name="index"/> of the run (with more than one service).</summary>
    public static int ServiceActivityId(int index) => RunActivityId + 1 + index;

    /// <summary>
    /// Runs every deploy of <paramref name="deploys"/>, <paramref name="throttleLimit"/> at a time, and returns their
    /// outcomes in the order given. <paramref name="onFinished"/> gets each outcome the moment its deploy ends (never two
    /// at once, in the order they end).
    /// </summary>
    /// <exception cref="OperationCanceledException">
    /// Stopped: every deploy in flight was stopped (and, past its checkout, put back) before this returns; no other started.
    /// </exception>
    public static async Task<IReadOnlyList<ParallelOutcome>> RunAsync(
        IReadOnlyList<ParallelDeploy> deploys,
        int throttleLimit,
        bool stopOnFailure,
        IReporter reporter,
        Action<ParallelOutcome> onFinished,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deploys);
        ArgumentNullException.ThrowIfNull(reporter);
        ArgumentNullException.ThrowIfNull(onFinished);
        ArgumentOutOfRangeException.ThrowIfLessThan(throttleLimit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(throttleLimit, MaxThrottleLimit);
        var many = deploys.Count > 1;
        var finishing = new FinishingBoard(reporter);
        var gate = new object();
        var finished = 0;
        var failed = new List<string>();
        var operation = deploys.Count > 0 ? deploys[0].Operation : DeployOperation.Deploy;
        var what = $"{operation} of {deploys.Count} services";
        if (many)
        {
            reporter.Progress(RunActivityId, what, $"0 of {deploys.Count} finished, {Math.Min(throttleLimit, deploys.Count)} at a time", 0);
        }

        var indexed = deploys.Select((deploy, index) => (Deploy: deploy, Index: index)).ToList();
        var trees = deploys.Where(d => d.WorkTree is not null).Select(d => d.WorkTree!).Distinct().ToDictionary(t => t, _ => new SemaphoreSlim(1, 1));
        try
        {
            var outcomes = await Throttled.ForEachAsync(indexed, throttleLimit, (item, token) =>
                RunOneAsync(item.Deploy, many ? new ServiceReporter(reporter, ServiceActivityId(item.Index), finishing) : reporter, token), cancellationToken).ConfigureAwait(false);
            if (many)
            {
                reporter.Progress(RunActivityId, what, "Done", 100);
            }

            return outcomes;
        }
        finally
        {
            foreach (var tree in trees.Values)
            {
                tree.Dispose();
            }
        }

        async Task<ParallelOutcome> RunOneAsync(ParallelDeploy deploy, IReporter own, CancellationToken token)
        {
            var activity = $"{deploy.Operation} of {deploy.Request.Service} on {deploy.ComputerName}";
            var tree = deploy.WorkTree is null ? null : trees[deploy.WorkTree];
            if (tree is not null && !await tree.WaitAsync(0, token).ConfigureAwait(false))
            {
                own.Progress(1, activity, "waiting: another service of the same account on this host shares its ~/app", -1);
                await tree.WaitAsync(token).ConfigureAwait(false);
            }

            ParallelOutcome outcome;
            string status;
            try
            {
                outcome = await StartedOrSkippedAsync(deploy, own, token).ConfigureAwait(false);
                status = outcome.Result?.Status ?? DeployStatus.Failed;
                if (!outcome.Succeeded && status != DeployStatus.Skipped)
                {
                    // Known before the next deploy of the same work tree may start (and so be skipped).
                    lock (gate)
                    {
                        failed.Add($"{deploy.Request.Service} on {deploy.ComputerName}");
                    }
                }
            }
            finally
            {
                tree?.Release();
            }

            own.Progress(1, activity, status, 100);
            lock (gate)
            {
                finished++;

                if (many)
                {
                    reporter.Progress(RunActivityId, what, string.Create(CultureInfo.InvariantCulture, $"{finished} of {deploys.Count} finished; {deploy.Request.Service}: {status}"), finished * 100 / deploys.Count >= 100 ? 99 : finished * 100 / deploys.Count);
                }

                onFinished(outcome);
            }

            return outcome;
        }

        async Task<ParallelOutcome> StartedOrSkippedAsync(ParallelDeploy deploy, IReporter own, CancellationToken token)
        {
            string[] stoppedBy;
            lock (gate)
            {
                stoppedBy = stopOnFailure ? [.. failed] : [];
            }

            if (stoppedBy.Length > 0)
            {
                return new ParallelOutcome(deploy, Skipped(deploy, stoppedBy), null);
            }

            try
            {
                return new ParallelOutcome(deploy, await deploy.RunAsync(own, token).ConfigureAwait(false), null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
            {
                return new ParallelOutcome(deploy, null, ex);
            }
            finally
            {
                own.Finishing(null);
            }
        }
    }

    /// <summary>The result of a deploy that never started because <paramref name="stoppedBy"/> did not succeed.</summary>
    private static ServiceDeployResult Skipped(ParallelDeploy deploy, IReadOnlyList<string> stoppedBy) => new()
    {
        Service = deploy.Request.Service,
        ComputerName = deploy.ComputerName,
        Operation = deploy.Operation,
        Branch = deploy.Request.Branch,
        RequestedCommit = deploy.Request.Commit,
        HealthUrl = deploy.Request.HealthUrl?.AbsoluteUri,
        DbPath = deploy.Request.DbPath,
        Status = DeployStatus.Skipped,
        Error = $"Not started: {string.Join(", ", stoppedBy)} did not succeed, and the run stops at the first failure.",
        Hints = [Hint.StoppedOnFailure],
    };

    /// <summary>One service's reports: its progress under the run's record, as its own activity; its finishing on the board.</summary>
    private sealed class ServiceReporter(IReporter parent, int serviceActivityId, FinishingBoard board) : IReporter
    {
        public void Verbose(string message) => parent.Verbose(message);

        public void Warning(string message) => parent.Warning(message);

        /// <summary>Whatever id the deployer uses, its progress is this service's record under the run's.</summary>
        public void Progress(int activityId, string activity, string status, int percent) =>
            parent.Progress(serviceActivityId, RunActivityId, activity, status, percent);

        public void Progress(int activityId, int parentActivityId, string activity, string status, int percent) =>
            parent.Progress(serviceActivityId, RunActivityId, activity, status, percent);

        public void Finishing(string? what) => board.Set(serviceActivityId, what);
    }

    /// <summary>What every deploy of the run is finishing, joined into one phrase for the caller's reporter.</summary>
    private sealed class FinishingBoard(IReporter parent)
    {
        private readonly SortedDictionary<int, string> _what = [];

        public void Set(int id, string? what)
        {
            lock (_what)
            {
                if (what is null)
                {
                    _what.Remove(id);
                }
                else
                {
                    _what[id] = what;
                }

                parent.Finishing(_what.Count == 0 ? null : string.Join("; ", _what.Values));
            }
        }
    }
}
