using System.Management.Automation;
using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Base of the cmdlets that put code on a host (Invoke-ServiceDeploy, Restore-ServiceDeploy): how the app is checked,
/// installed and built, the lock, and the local history — the same parameters for both.
/// </summary>
public abstract class DeployCmdlet : RemoteCmdlet
{
    /// <summary>The HTTP health URL; without one the systemd unit is checked.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("health_url")]
    [ValidateHealthUrl]
    public string? HealthUrl { get; set; }

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

    /// <summary>Seconds the health check may take before the service counts as unhealthy.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int HealthTimeout { get; set; } = (int)HealthOptions.DefaultTimeout.TotalSeconds;

    /// <summary>The local deploy history database. Default: $XDG_STATE_HOME/atelier/history.db.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HistoryPath { get; set; }

    /// <summary>The engine's request from these parameters.</summary>
    protected DeployRequest RequestFor(string service, string branch, string? dbPath) => new()
    {
        Service = service,
        Branch = branch,
        DbPath = dbPath,
        WorkDir = WorkDir,
        BuildCommand = BuildCommand,
        Runtime = Enum.Parse<AppRuntime>(Runtime, ignoreCase: true),
        InstallCommand = InstallCommand,
        HealthUrl = string.IsNullOrEmpty(HealthUrl) ? null : new Uri(HealthUrl, UriKind.Absolute),
        Health = new HealthOptions { Timeout = TimeSpan.FromSeconds(HealthTimeout) },
        LockWait = TimeSpan.FromSeconds(LockWait),
        BreakLock = BreakLock,
        GuardTimeout = TimeSpan.FromSeconds(GuardTimeout),
        KeepSnapshots = Settings.Keep,
        SystemctlPath = Settings.SystemctlPath,
    };

    /// <summary>The local history database's path.</summary>
    protected string ResolvedHistoryPath() =>
        HistoryPath is null ? Settings.HistoryPath : SessionState.Path.GetUnresolvedProviderPathFromPSPath(HistoryPath);

    /// <summary>Writes the result, and an error record when it did not succeed, so a CI step fails.</summary>
    protected void WriteResult(ServiceDeployResult result, string where)
    {
        WriteObject(result);
        if (result.Succeeded)
        {
            return;
        }

        var restore = result.Operation == DeployOperation.Restore;
        var (id, category) = result.Status switch
        {
            DeployStatus.RolledBack => ("DeployRolledBack", ErrorCategory.InvalidResult),
            DeployStatus.RollbackFailed => ("DeployRollbackFailed", ErrorCategory.InvalidResult),
            _ => (restore ? "RestoreFailed" : "DeployFailed", ErrorCategory.InvalidOperation),
        };
        var what = restore ? "restore" : "deploy";
        var outcome = result.Status switch
        {
            DeployStatus.RolledBack => "failed and was rolled back",
            DeployStatus.RollbackFailed => "failed and was NOT rolled back cleanly",
            _ => "failed",
        };
        WriteError(new ErrorRecord(new InvalidOperationException($"The {what} of {result.Service} to {where} {outcome} at the {result.FailedStep} step: {result.Error}"), id, category, result));
    }
}
