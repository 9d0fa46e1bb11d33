using System.Diagnostics;
using System.Globalization;
using Atelier.Deploy;
using Atelier.Output;
using Atelier.Transport;

namespace Atelier.Infra;

/// <summary>
/// An infrastructure push: records each node's system generation over SSH (all nodes at once), runs one deploy-rs
/// process per node concurrently, reads each node's generation again, and — when a node failed and rollback is on —
/// switches every node of the run whose generation changed back to its recorded one and checks the link. Each result's
/// error and log tail are cleaned and redacted (<see cref="HostText"/>).
/// </summary>
public sealed class InfraDeployer
{
    private readonly IDeployRsRunner _runner;
    private readonly IHostPool _hosts;
    private readonly IReporter _reporter;
    private readonly CommandOptions _options;
    private readonly HostText _text;

    /// <param name="runner">Runs deploy-rs for one node.</param>
    /// <param name="hosts">The caller's pool, which opens each node's <see cref="InfraNode.Connection"/> once.</param>
    /// <param name="reporter">Where progress and warnings go.</param>
    /// <param name="options">Timeout and output streaming of the generation commands.</param>
    /// <param name="text">What cleans and redacts the results' errors and log tails (default: the built-in redaction only).</param>
    public InfraDeployer(IDeployRsRunner runner, IHostPool hosts, IReporter reporter, CommandOptions options, HostText? text = null)
    {
        _text = text ?? HostText.Default;
        _runner = runner;
        _hosts = hosts;
        _reporter = reporter;
        _options = options;
    }

    /// <summary>
    /// Switches <paramref name="node"/> on <paramref name="remote"/> back to <paramref name="generation"/>, by default the
    /// newest one before the current (<c>nix-env --switch-generation</c>, then <c>switch-to-configuration switch</c>),
    /// and reads the profile link afterwards. A failed switch is in the result (<see cref="DeployStatus.Failed"/>,
    /// its <c>CurrentGeneration</c> read again), not thrown.
    /// </summary>
    /// <exception cref="AtelierException">
    /// <c>NoEarlierGeneration</c> when no generation is older than the current one; <c>GenerationNotFound</c> when the
    /// node has no <paramref name="generation"/>; the generations' own errors when they cannot be read.
    /// </exception>
    public static async Task<InfraDeployResult> RestoreAsync(IRemoteHost remote, string node, int? generation, CommandOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentException.ThrowIfNullOrEmpty(node);
        var generations = new SystemGenerations(remote, node, options);
        var started = DateTimeOffset.UtcNow;
        var list = await generations.ListAsync(cancellationToken).ConfigureAwait(false);
        var current = list.FirstOrDefault(x => x.Current)?.Number ?? await generations.CurrentAsync(cancellationToken).ConfigureAwait(false);
        var to = generation ?? list.Where(x => x.Number < current).Select(x => (int?)x.Number).LastOrDefault()
            ?? throw new AtelierException("NoEarlierGeneration", FailureKind.NotFound, $"{node} has no generation before {current.ToString(CultureInfo.InvariantCulture)} to go back to.");
        if (list.All(x => x.Number != to))
        {
            throw new AtelierException("GenerationNotFound", FailureKind.NotFound, $"{node} has no generation {to.ToString(CultureInfo.InvariantCulture)} (it has {string.Join(", ", list.Select(x => x.Number))}).");
        }

        var restored = new InfraDeployResult
        {
            Node = node,
            ComputerName = remote.ComputerName,
            Operation = DeployOperation.Restore,
            StartedAt = started,
            PreviousGeneration = current,
            NewGeneration = to,
            CommandLine = $"{SystemGenerations.SwitchCommand(generations.Profile, to)} && {SystemGenerations.ActivateCommand(generations.Profile)}",
        };
        try
        {
            restored.CurrentGeneration = await generations.SwitchAsync(to, cancellationToken).ConfigureAwait(false);
            restored.Status = DeployStatus.Succeeded;
        }
        catch (AtelierException ex)
        {
            restored.Status = DeployStatus.Failed;
            restored.Error = ex.Message;
            restored.CurrentGeneration = await generations.CurrentAsync(cancellationToken).ConfigureAwait(false);
        }

        restored.Duration = DateTimeOffset.UtcNow - started;
        return restored;
    }

    /// <summary>Deploys every node of <paramref name="request"/>; a node's failure is in its result, not thrown.</summary>
    /// <exception cref="OperationCanceledException">
    /// Cancelled: running deploy-rs processes were killed and, with rollback on, every node whose generation had changed
    /// was switched back first (within <see cref="RollbackLimits.StopRollbackLimit"/>).
    /// </exception>
    public async Task<InfraDeployRun> DeployAsync(InfraDeployRequest request, CancellationToken cancellationToken)
    {
        request.Validate();
        var nodes = request.Nodes;
        var stopwatch = Stopwatch.StartNew();
        var results = nodes.Select(n => new InfraDeployResult { Node = n.Name, ComputerName = n.ComputerName }).ToArray();
        var logs = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var all = Enumerable.Range(0, nodes.Count).ToList();

        // 1. Where each node is now: what a rollback goes back to.
        _reporter.Progress(1, "Infrastructure deploy", $"Recording the system generation of {nodes.Count} node(s)", 5);
        await ForEachAsync(all, request, async (i, token) =>
        {
            try
            {
                results[i].PreviousGeneration = await (await GenerationsAsync(request, nodes[i], token).ConfigureAwait(false)).CurrentAsync(token).ConfigureAwait(false);
                _reporter.Verbose($"[{nodes[i].Name}] on generation {results[i].PreviousGeneration} before the deploy");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                results[i].Error = $"Not deployed: its system generation could not be recorded: {ex.Message}";
            }
        }, stopwatch, results, cancellationToken).ConfigureAwait(false);

        var unrecorded = results.Where(r => r.PreviousGeneration is null).Select(r => r.Node).ToList();
        if (unrecorded.Count > 0 && request.RollbackOnFailure)
        {
            foreach (var result in results.Where(r => r.PreviousGeneration is not null))
            {
                result.Error = $"Not deployed: the generation of {string.Join(", ", unrecorded)} could not be recorded, so the run could not be rolled back.";
            }

            _reporter.Warning($"Nothing was deployed: the system generation of {string.Join(", ", unrecorded)} could not be recorded.");
            return Finished(results, logs);
        }

        // 2. One deploy-rs per node, all at once (up to the throttle limit).
        var deploying = all.Where(i => results[i].PreviousGeneration is not null).ToList();
        _reporter.Progress(1, "Infrastructure deploy", $"Running deploy-rs for {string.Join(", ", deploying.Select(i => nodes[i].Name))}", 20);
        if (request.RollbackOnFailure)
        {
            _reporter.Finishing($"switching every node that moved ({string.Join(", ", deploying.Select(i => nodes[i].Name))}) back to the generation recorded before the deploy");
        }

        try
        {
            await DeployEachAsync(request, deploying, results, logs, stopwatch, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && request.RollbackOnFailure)
        {
            await RollBackStoppedAsync(request, deploying, results, stopwatch).ConfigureAwait(false);
            _reporter.Finishing(null);
            throw;
        }

        // 4. A failed node: every node that changed goes back to its recorded generation.
        var failed = deploying.Where(i => results[i].Status == DeployStatus.Failed).Select(i => nodes[i].Name).ToList();
        var changed = deploying.Where(i => results[i].NewGeneration != results[i].PreviousGeneration).ToList();
        if (failed.Count > 0 && changed.Count > 0)
        {
            if (!request.RollbackOnFailure)
            {
                _reporter.Warning($"{string.Join(", ", failed)} failed; rollback is off, so {string.Join(", ", changed.Select(i => $"{nodes[i].Name} (generation {results[i].NewGeneration?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"})"))} stay where deploy-rs left them.");
            }
            else
            {
                _reporter.Progress(1, "Infrastructure deploy", $"{string.Join(", ", failed)} failed: rolling back {string.Join(", ", changed.Select(i => nodes[i].Name))}", 80);
                _reporter.Warning($"{string.Join(", ", failed)} failed: switching {string.Join(", ", changed.Select(i => nodes[i].Name))} back to the generation recorded before the deploy.");
                await ForEachAsync(changed, request, (i, token) => RollBackAsync(request, nodes[i], results[i], failed.Contains(nodes[i].Name) ? "it failed" : $"{string.Join(", ", failed)} failed", token), stopwatch, results, cancellationToken).ConfigureAwait(false);
            }
        }

        _reporter.Finishing(null);
        _reporter.Progress(1, "Infrastructure deploy", "Done", 100);
        return Finished(results, logs);
    }

    /// <summary>
    /// After a stop: reads where each deploying node is now and switches every one that moved back to its recorded
    /// generation, within <see cref="RollbackLimits.StopRollbackLimit"/> of its own (the run's token is already cancelled).
    /// </summary>
    private async Task RollBackStoppedAsync(InfraDeployRequest request, IReadOnlyList<int> deploying, InfraDeployResult[] results, Stopwatch stopwatch)
    {
        var nodes = request.Nodes;
        _reporter.Warning($"Stopped: switching every node that moved back to the generation recorded before the deploy first.");
        using var limit = new CancellationTokenSource(RollbackLimits.StopRollbackLimit);
        try
        {
            await ForEachAsync(deploying, request, async (i, token) =>
            {
                results[i].Status = DeployStatus.Failed;
                results[i].Error = Join(results[i].Error, "Stopped while deploy-rs ran.");
                results[i].CurrentGeneration = await (await GenerationsAsync(request, nodes[i], token).ConfigureAwait(false)).CurrentAsync(token).ConfigureAwait(false);
                if (results[i].CurrentGeneration != results[i].PreviousGeneration)
                {
                    results[i].NewGeneration = results[i].CurrentGeneration;
                    await RollBackAsync(request, nodes[i], results[i], "the run was stopped", token).ConfigureAwait(false);
                }
            }, stopwatch, results, limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _reporter.Warning($"Putting the nodes back after the stop did not finish: {ex.Message}");
        }
    }

    /// <summary>The run, its results' host text cleaned and redacted.</summary>
    private InfraDeployRun Finished(InfraDeployResult[] results, Dictionary<string, IReadOnlyList<string>> logs)
    {
        foreach (var result in results)
        {
            result.Error = _text.CleanOrNull(result.Error);
            result.LogTail = _text.Clean(result.LogTail);
        }

        return new InfraDeployRun(results, logs);
    }

    /// <summary>Steps 2 and 3: deploy-rs for each node (throttled), then the generation it left the node on.</summary>
    private async Task DeployEachAsync(
        InfraDeployRequest request,
        IReadOnlyList<int> deploying,
        InfraDeployResult[] results,
        Dictionary<string, IReadOnlyList<string>> logs,
        Stopwatch stopwatch,
        CancellationToken cancellationToken)
    {
        var nodes = request.Nodes;
        await ForEachAsync(deploying, request, async (i, token) =>
        {
            var command = request.CommandFor(nodes[i]);
            results[i].CommandLine = CommandWords.Join(command);
            var outcome = await _runner.RunAsync(
                new DeployRsInvocation(nodes[i].Name, command) { WorkingDirectory = request.WorkingDirectory, Environment = request.Environment },
                token).ConfigureAwait(false);
            results[i].ExitCode = outcome.ExitCode;
            results[i].LogTail = outcome.Tail();
            results[i].Error = outcome.Error;
            lock (logs)
            {
                logs[nodes[i].Name] = outcome.Log;
            }

            // 3. Where the node is now.
            try
            {
                results[i].NewGeneration = await (await GenerationsAsync(request, nodes[i], token).ConfigureAwait(false)).CurrentAsync(token).ConfigureAwait(false);
                results[i].CurrentGeneration = results[i].NewGeneration;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                results[i].Error = Join(results[i].Error, $"Its generation could not be read after deploy-rs: {ex.Message}");
            }

            var status = !outcome.Succeeded || results[i].NewGeneration is null
                ? DeployStatus.Failed
                : nodes[i].Options.DryActivate
                    ? DeployStatus.DryRun
                    : results[i].NewGeneration == results[i].PreviousGeneration ? DeployStatus.Unchanged : DeployStatus.Succeeded;
            if (status == DeployStatus.DryRun && results[i].NewGeneration != results[i].PreviousGeneration)
            {
                status = DeployStatus.Failed;
                results[i].Error = $"A dry activation moved the profile from generation {results[i].PreviousGeneration} to {results[i].NewGeneration}.";
            }

            results[i].Status = status;
            _reporter.Verbose($"[{nodes[i].Name}] {status}: generation {results[i].PreviousGeneration} -> {results[i].NewGeneration?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}");
        }, stopwatch, results, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Switches one node back to its recorded generation and checks the link.</summary>
    private async Task RollBackAsync(InfraDeployRequest request, InfraNode node, InfraDeployResult result, string why, CancellationToken cancellationToken)
    {
        var previous = result.PreviousGeneration!.Value;
        try
        {
            _reporter.Verbose($"[{node.Name}] rolling back to generation {previous} ({why})");
            var generations = await GenerationsAsync(request, node, cancellationToken).ConfigureAwait(false);
            result.CurrentGeneration = await generations.SwitchAsync(previous, cancellationToken).ConfigureAwait(false);
            result.Status = DeployStatus.RolledBack;
            result.Error = Join(result.Error, $"Rolled back to generation {previous} because {why}.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result.Status = DeployStatus.RollbackFailed;
            result.Error = Join(result.Error, $"The rollback to generation {previous} (because {why}) failed: {ex.Message}");
            try
            {
                result.CurrentGeneration = await (await GenerationsAsync(request, node, cancellationToken).ConfigureAwait(false)).CurrentAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception again) when (again is not OperationCanceledException)
            {
                result.CurrentGeneration = null;
            }
        }
    }

    private async Task<SystemGenerations> GenerationsAsync(InfraDeployRequest request, InfraNode node, CancellationToken cancellationToken) =>
        new(await _hosts.GetAsync(node.Connection, cancellationToken).ConfigureAwait(false), node.Name, _options, request.SystemProfile);

    /// <summary>Runs <paramref name="body"/> for each node index (throttled), then stamps each one's duration so far.</summary>
    private static async Task ForEachAsync(IReadOnlyList<int> indices, InfraDeployRequest request, Func<int, CancellationToken, Task> body, Stopwatch stopwatch, InfraDeployResult[] results, CancellationToken cancellationToken)
    {
        await Throttled.ForEachAsync(indices, request.ThrottleLimit, async (i, token) =>
        {
            await body(i, token).ConfigureAwait(false);
            results[i].Duration = stopwatch.Elapsed;
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static string Join(string? first, string second) => string.IsNullOrEmpty(first) ? second : $"{first}\n{second}";
}
