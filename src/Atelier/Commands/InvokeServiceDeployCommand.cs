using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;

namespace Atelier.Commands;

/// <summary>
/// Invoke-ServiceDeploy: deploys a service's origin branch to its host over one SSH connection (lock, fetch, snapshot,
/// checkout, install, build, restart, health) and rolls back code and database when a step fails. A deploy that did
/// not succeed writes an error as well as its result, so a CI step fails; a rolled-back deploy never looks like success.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ServiceDeploy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ServiceDeployResult))]
public sealed class InvokeServiceDeployCommand : RemoteCmdlet
{
    /// <summary>The service: its system user (the SSH user unless -User says otherwise) and its unit.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    public string Service { get; set; } = string.Empty;

    /// <summary>The HTTP health URL; without one the systemd unit is checked.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("health_url")]
    [ValidateHealthUrl]
    public string? HealthUrl { get; set; }

    /// <summary>The branch of origin to deploy.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateBranch]
    public string Branch { get; set; } = "main";

    /// <summary>The SQLite database to snapshot before the deploy and restore on rollback.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("db_path", "Sqlite")]
    [ValidateRemotePath]
    public string? DbPath { get; set; }

    /// <summary>Where to install and build, relative to ~/app.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("work_dir")]
    [ValidateRemotePath]
    public string WorkDir { get; set; } = ".";

    /// <summary>The build command, run with sh in the work folder.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("build_command")]
    [ValidateNotNullOrEmpty]
    public string? BuildCommand { get; set; }

    /// <summary>bun (bun install --frozen-lockfile), node (npm ci) or custom (no install step).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("bun", "node", "custom", IgnoreCase = true)]
    public string Runtime { get; set; } = "bun";

    /// <summary>An install command that replaces the runtime's.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? InstallCommand { get; set; }

    /// <summary>Seconds to wait for another deploy's lock (0: fail at once, naming the holder).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int LockWait { get; set; }

    /// <summary>Breaks a lock left by a deploy that died.</summary>
    [Parameter]
    public SwitchParameter BreakLock { get; set; }

    /// <summary>Deploys even when origin's branch is already deployed and healthy.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Seconds the health check may take before the deploy counts as failed.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int HealthTimeout { get; set; } = (int)HealthOptions.DefaultTimeout.TotalSeconds;

    /// <summary>The local deploy history database. Default: $XDG_STATE_HOME/atelier/history.db.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HistoryPath { get; set; }

    protected override void ProcessRecord()
    {
        var where = Local ? "this machine" : ComputerName ?? "(no host)";
        DeployRequest request;
        try
        {
            request = new DeployRequest
            {
                Service = Service,
                Branch = Branch,
                DbPath = DbPath,
                WorkDir = WorkDir,
                BuildCommand = BuildCommand,
                Runtime = Enum.Parse<AppRuntime>(Runtime, ignoreCase: true),
                InstallCommand = InstallCommand,
                HealthUrl = string.IsNullOrEmpty(HealthUrl) ? null : new Uri(HealthUrl, UriKind.Absolute),
                Health = new HealthOptions { Timeout = TimeSpan.FromSeconds(HealthTimeout) },
                Force = Force,
                LockWait = TimeSpan.FromSeconds(LockWait),
                BreakLock = BreakLock,
            }.Validate();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, Service));
            return;
        }

        var plan = string.Join('\n', ServiceDeployer.Plan(request).Select(step => $"  {step.Step}: {step.Command}"));
        if (!ShouldProcess($"Deploy {Service} (origin/{Branch}) to {where}:\n{plan}", $"Deploy {Service} to {where}?", "Invoke-ServiceDeploy"))
        {
            return;
        }

        var historyPath = HistoryPath is null ? LocalHistory.DefaultPath() : SessionState.Path.GetUnresolvedProviderPathFromPSPath(HistoryPath);
        ServiceDeployResult result;
        try
        {
            var connection = ConnectionFor(ComputerName, User ?? Service);
            result = Run(async (channel, cancellation) =>
            {
                var host = await Hosts.GetAsync(connection, cancellation).ConfigureAwait(false);
                var deployer = new ServiceDeployer(host, channel.Reporter, CommandOptionsFor(channel, $"[{Service}@{where}]"), new LocalHistory(historyPath));
                var deployed = await deployer.DeployAsync(request, cancellation).ConfigureAwait(false);
                channel.Progress(1, $"Deploying {Service} to {where}", "Done", 100);
                return deployed;
            });
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, Service));
            return;
        }

        if (GitHubActions.FromEnvironment() is { } actions)
        {
            // Workflow commands must reach the runner's log, which is the process's standard output.
            foreach (var line in GitHubActions.LogLines(result))
            {
                Host.UI.WriteLine(line);
            }

            actions.WriteFiles(result);
        }

        WriteObject(result);
        if (!result.Succeeded)
        {
            var (id, category) = result.Status switch
            {
                DeployStatus.RolledBack => ("DeployRolledBack", ErrorCategory.InvalidResult),
                DeployStatus.RollbackFailed => ("DeployRollbackFailed", ErrorCategory.InvalidResult),
                _ => ("DeployFailed", ErrorCategory.InvalidOperation),
            };
            var message = $"The deploy of {Service} to {where} {(result.Status == DeployStatus.Failed ? "failed" : "failed and was " + (result.Status == DeployStatus.RolledBack ? "rolled back" : "NOT rolled back cleanly"))} at the {result.FailedStep} step: {result.Error}";
            WriteError(new ErrorRecord(new InvalidOperationException(message), id, category, result));
        }
    }
}
