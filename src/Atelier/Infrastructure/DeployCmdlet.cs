using System.Management.Automation;
using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;
using Atelier.Manifest;
using Atelier.Settings;
using Atelier.Transport;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Base of the cmdlets that put code on a host (Invoke-ServiceDeploy, Restore-ServiceDeploy): how the app is checked,
/// installed and built, the lock, and the local history — the same parameters for both (and, from
/// <see cref="DeployedServiceCmdlet"/>, the health URL and where a branch comes from).
/// </summary>
public abstract class DeployCmdlet : DeployedServiceCmdlet
{
    /// <summary>Where to install and build, relative to ~/app.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("work_dir")]
    [ValidateWorkFolder]
    [PSDefaultValue(Value = ".")]
    public string? WorkDir { get; set; }

    /// <summary>The build command, run with sh in the work folder.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("build_command")]
    [ValidateCommandLine("build command")]
    public string? BuildCommand { get; set; }

    /// <summary>bun (bun install --frozen-lockfile), node (npm ci) or custom (no install step).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("bun", "node", "custom", IgnoreCase = true)]
    public string Runtime { get; set; } = "bun";

    /// <summary>An install command that replaces the runtime's.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateCommandLine("install command")]
    public string? InstallCommand { get; set; }

    /// <summary>Seconds to wait for another deploy's lock (0: fail at once, naming the holder).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int LockWait { get; set; }

    /// <summary>Breaks a lock left by a deploy that died (a live holder's lock is never broken).</summary>
    [Parameter]
    public SwitchParameter BreakLock { get; set; }

    /// <summary>
    /// Seconds this client may fall silent (killed, cut off) before the host's guard takes over: it stops the step left
    /// running, puts the previous commit and the database back, records why and releases the lock.
    /// </summary>
    [Parameter]
    [ValidateRange(3, 3600)]
    public int GuardTimeout { get; set; } = (int)LockRequest.DefaultGuardTimeout.TotalSeconds;

    /// <summary>Seconds the health check may take before the service counts as unhealthy (default 60).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("health_timeout")]
    [ValidateRangeOrNull(1, 3600)]
    [PSDefaultValue(Value = 60)]
    public int? HealthTimeout { get; set; }

    /// <summary>The local deploy history database. Default: $XDG_STATE_HOME/atelier/history.db.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HistoryPath { get; set; }

    /// <summary>Whether this cmdlet runs the deploy hooks (a deploy does; a restore does not).</summary>
    private protected virtual bool Hooks => false;

    /// <summary>The -PreRestartCommand given, for a cmdlet that runs hooks.</summary>
    private protected virtual string? PreRestartHook => null;

    /// <summary>The -PostDeployCommand given, for a cmdlet that runs hooks.</summary>
    private protected virtual string? PostDeployHook => null;

    /// <summary>
    /// How many services are deployed (or restored) at once. Default: the settings file's <c>throttleLimit</c>, else 4.
    /// Services reached as the same SSH user on the same host share one connection and that user's <c>~/app</c>, so
    /// they go one after another.
    /// </summary>
    [Parameter]
    [ValidateRange(1, ParallelDeploys.MaxThrottleLimit)]
    public int ThrottleLimit { get; set; } = ParallelDeploys.DefaultThrottleLimit;

    /// <summary>
    /// Stops at the first service that does not succeed: the services not yet started are skipped (status Skipped); the
    /// ones already running finish. Without it one service's failure never stops or rolls back another.
    /// </summary>
    [Parameter]
    public SwitchParameter StopOnFailure { get; set; }

    /// <summary>One service's approved work, run in <see cref="EndProcessing"/> with the others.</summary>
    private sealed record PendingDeploy(DeployRequest Request, HostConnectionRequest Connection, string Where, Func<ServiceDeployer, CancellationToken, Task<ServiceDeployResult>> Work);

    private readonly List<PendingDeploy> _pending = [];

    /// <summary><see cref="DeployOperation.Deploy"/> or <see cref="DeployOperation.Restore"/>: what this cmdlet does to each service.</summary>
    private protected abstract string Operation { get; }

    /// <summary>
    /// The engine's request for <paramref name="service"/>: each value from its parameter when given, else from the
    /// settings file's <c>services:</c> entry (<paramref name="defaults"/>), else from the manifest's entry
    /// (<paramref name="entry"/>), else the parameter's default.
    /// </summary>
    private protected DeployRequest RequestFor(string service, string branch, string? dbPath, AtelierService? entry, ServiceSettings? defaults)
    {
        return new DeployRequest
        {
            Service = service,
            Branch = branch,
            DbPath = dbPath,
            WorkDir = Pick(nameof(WorkDir), WorkDir, defaults?.WorkDir, entry?.WorkDir, ".")!,
            BuildCommand = Pick(nameof(BuildCommand), BuildCommand, defaults?.BuildCommand, entry?.BuildCommand),
            Runtime = RuntimeOf(Pick(nameof(Runtime), Runtime, null, entry?.Runtime, Runtime)!),
            InstallCommand = Pick(nameof(InstallCommand), InstallCommand, defaults?.InstallCommand, entry?.InstallCommand),
            PreRestartCommand = Hooks ? Pick("PreRestartCommand", PreRestartHook, defaults?.PreRestartCommand, entry?.PreRestartCommand) : null,
            PostDeployCommand = Hooks ? Pick("PostDeployCommand", PostDeployHook, defaults?.PostDeployCommand, entry?.PostDeployCommand) : null,
            HealthUrl = HealthUrlFor(entry),
            Health = new HealthOptions { Timeout = TimeSpan.FromSeconds(Pick(nameof(HealthTimeout), HealthTimeout, defaults?.HealthTimeout, entry?.HealthTimeout, (int)HealthOptions.DefaultTimeout.TotalSeconds)) },
            LockWait = TimeSpan.FromSeconds(LockWait),
            BreakLock = BreakLock,
            GuardTimeout = TimeSpan.FromSeconds(GuardTimeout),
            KeepSnapshots = Settings.Keep,
            SystemctlPath = Settings.SystemctlPath,
        };
    }

    /// <summary>
    /// What one service's deploy or restore works with: its request (from the parameters, the settings file's entry and
    /// the manifest's, see <see cref="RequestFor"/>), the connection to its host, and that host for messages.
    /// </summary>
    private protected (DeployRequest Request, HostConnectionRequest Connection, string Where) Resolve(string service, string? branch, string? dbPath)
    {
        var entry = ManifestEntry(service, required: NeedsHost);
        var defaults = SettingsFor(service);
        var computer = HostFor(service, entry);
        var request = RequestFor(service, BranchFor(branch, defaults, entry), dbPath ?? entry?.DbPath, entry, defaults);
        return (request, ConnectionFor(computer, service), WhereFor(computer));
    }

    /// <summary>bun and node by name; any other runtime (custom, python...) installs nothing unless told how.</summary>
    private static AppRuntime RuntimeOf(string runtime) =>
        Enum.TryParse<AppRuntime>(runtime, ignoreCase: true, out var known) && Enum.IsDefined(known) ? known : AppRuntime.Custom;

    /// <summary>The local history database's path.</summary>
    protected string ResolvedHistoryPath() =>
        HistoryPath is null ? Settings.HistoryPath : LocalPath(HistoryPath);

    /// <summary>
    /// A history path that is not a deploy history database (<c>HistoryPathInvalid</c>) stops the cmdlet before anything
    /// runs, with <c>-WhatIf</c> too, as a run would be stopped: nothing is written to that file and no host is contacted.
    /// </summary>
    protected override void BeginProcessing()
    {
        base.BeginProcessing(); // the masks of the values to redact, before anything is written
        var path = HistoryPath;
        try
        {
            path = ResolvedHistoryPath();
            LocalHistory.Check(path);
        }
        catch (Exception ex) when (ex is AtelierException or PSArgumentException)
        {
            ThrowTerminatingError(ErrorFor(ex, path));
        }
    }

    /// <summary>
    /// Queues one service's deploy or restore, already resolved, validated and approved (<c>ShouldProcess</c> is asked in
    /// <c>ProcessRecord</c>, in pipeline order, before anything runs); <see cref="EndProcessing"/> runs them all.
    /// </summary>
    private protected void Enqueue(DeployRequest request, HostConnectionRequest connection, string where, Func<ServiceDeployer, CancellationToken, Task<ServiceDeployResult>> work) =>
        _pending.Add(new PendingDeploy(request, connection, where, work));

    protected override void EndProcessing()
    {
        try
        {
            RunPending();
        }
        finally
        {
            base.EndProcessing();
        }
    }

    /// <summary>
    /// Runs every queued service, up to the throttle limit at once (<see cref="ParallelDeploys"/>; services reached as the
    /// same account on the same host share one connection and one <c>~/app</c>, so they go one after another), through one
    /// <see cref="AtelierCmdlet.Run{T}"/> channel: each result is written the moment its service finishes (in GitHub
    /// Actions with its log lines: one group per step for a single service, one group per service for many). Then, in
    /// pipeline order, an error record for each service that did not succeed, so a CI step fails and names every one;
    /// written after all have finished, so that a Stop error preference ends the command without stopping a deploy.
    /// </summary>
    private void RunPending()
    {
        if (_pending.Count == 0)
        {
            return;
        }

        var pending = _pending.ToList();
        _pending.Clear();
        var historyPath = ResolvedHistoryPath();
        var throttle = IsBound(nameof(ThrottleLimit)) ? ThrottleLimit : Settings.ThrottleLimit;
        var stopOnFailure = StopOnFailure.IsPresent;
        var actions = GitHubActions.FromEnvironment(text: Text);
        var many = pending.Count > 1;
        var operation = Operation;
        IReadOnlyList<ParallelOutcome> outcomes;
        try
        {
            outcomes = Run((channel, cancellation) =>
            {
                var deploys = pending.Select(p => new ParallelDeploy(p.Request, p.Connection.ComputerName, operation, async (reporter, token) =>
                {
                    var host = await Hosts.GetAsync(p.Connection, token).ConfigureAwait(false);
                    var deployer = new ServiceDeployer(host, reporter, CommandOptionsFor(channel, $"[{p.Request.Service}@{p.Where}]"), new LocalHistory(historyPath), Text);
                    return await p.Work(deployer, token).ConfigureAwait(false);
                }, WorkTree: p.Connection)).ToList();
                return ParallelDeploys.RunAsync(deploys, throttle, stopOnFailure, channel.Reporter, outcome => channel.Post(_ => Finished(outcome, actions, many)), cancellation);
            });
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, string.Join(", ", pending.Select(p => p.Request.Service))));
            return;
        }

        if (many && actions is not null)
        {
            actions.WriteFiles([.. outcomes.Select(o => o.Result ?? Unreached(o))]);
        }

        foreach (var (outcome, where) in outcomes.Zip(pending.Select(p => p.Where)))
        {
            if (outcome.Error is not null)
            {
                WriteError(ErrorFor(outcome.Error, outcome.Deploy.Request.Service));
            }
            else if (outcome.Result is { Succeeded: false } result)
            {
                WriteError(Errors.ForResult(result, where));
            }
        }
    }

    /// <summary>A service just finished: its log lines in GitHub Actions, then its result.</summary>
    private void Finished(ParallelOutcome outcome, GitHubActions? actions, bool many)
    {
        var result = outcome.Result is null ? null : Errors.WithHints(outcome.Result);
        if (actions is not null)
        {
            // Workflow commands must reach the runner's log, which is the process's standard output; the host's output
            // in it is fenced, so no line of it acts as one.
            var lines = many ? GitHubActions.ServiceLogLines(result ?? Unreached(outcome), Text) : result is null ? [] : GitHubActions.LogLines(result, Text);
            foreach (var line in lines)
            {
                Host.UI.WriteLine(line);
            }

            if (!many && result is not null)
            {
                actions.WriteFiles(result);
            }
        }

        if (result is not null)
        {
            WriteObject(result);
        }
    }

    /// <summary>For the step summary and the log: a service whose deploy failed before it had a result (its host unreachable, say).</summary>
    private ServiceDeployResult Unreached(ParallelOutcome outcome) => new()
    {
        Service = outcome.Deploy.Request.Service,
        ComputerName = outcome.Deploy.ComputerName,
        Operation = outcome.Deploy.Operation,
        Branch = outcome.Deploy.Request.Branch,
        Status = DeployStatus.Failed,
        Error = Text.Clean(Errors.Hinted(outcome.Error?.Message ?? string.Empty, FailureHints.Of(outcome.Error))),
    };
}
