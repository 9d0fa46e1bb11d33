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
/// installed and built, the lock, and the local history — the same parameters for both.
/// </summary>
public abstract class DeployCmdlet : ServiceCmdlet
{
    /// <summary>The HTTP health URL; without one the systemd unit is checked.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("health_url")]
    [ValidateHealthUrl]
    public string? HealthUrl { get; set; }

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
    /// The engine's request for <paramref name="service"/>: each value from its parameter when given, else from the
    /// settings file's <c>services:</c> entry (<paramref name="defaults"/>), else from the manifest's entry
    /// (<paramref name="entry"/>), else the parameter's default.
    /// </summary>
    private protected DeployRequest RequestFor(string service, string branch, string? dbPath, AtelierService? entry, ServiceSettings? defaults)
    {
        var healthUrl = Pick(nameof(HealthUrl), HealthUrl, null, entry?.HealthUrl);
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
            HealthUrl = string.IsNullOrEmpty(healthUrl) ? null : new Uri(healthUrl, UriKind.Absolute),
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
        var request = RequestFor(service, Pick("Branch", branch, defaults?.Branch, entry?.Branch, "main")!, dbPath ?? entry?.DbPath, entry, defaults);
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
