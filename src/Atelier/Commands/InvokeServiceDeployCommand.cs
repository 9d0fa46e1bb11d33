using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Invoke-ServiceDeploy: deploys a service's origin branch to its host over one SSH connection (lock, fetch, snapshot,
/// checkout, install, build, restart, health) and rolls back code and database when a step fails. A deploy that did
/// not succeed writes an error as well as its result, so a CI step fails; a rolled-back deploy never looks like success.
/// Many services (piped or as an array) deploy at once, up to -ThrottleLimit; each result is written when it finishes.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ServiceDeploy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ServiceDeployResult))]
public sealed class InvokeServiceDeployCommand : DeployCmdlet
{
    /// <summary>
    /// The services: each one's system user (the SSH user unless -User says otherwise) and its unit. With a services
    /// manifest configured, a name alone is enough: the host, health URL, database and runtime come from it.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>The branch of origin to deploy (default main).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateBranch]
    [PSDefaultValue(Value = "main")]
    public string? Branch { get; set; }

    /// <summary>The SQLite database to snapshot before the deploy and restore on rollback.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("db_path", "Sqlite")]
    [ValidateRemotePath]
    public string? DbPath { get; set; }

    /// <summary>An exact commit id or tag to deploy (it must exist on origin, and be on -Branch unless -Force).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Sha", "Tag")]
    [ValidateRevision]
    public string? Commit { get; set; }

    /// <summary>
    /// A hook run as the service's user in the work folder after the build and before the restart, with the snapshot
    /// already taken (a migration, say): its failure rolls back code and database. ATELIER_SERVICE,
    /// ATELIER_PREVIOUS_COMMIT and ATELIER_NEW_COMMIT are exported to it.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("pre_restart_command")]
    [ValidateCommandLine("pre-restart command")]
    public string? PreRestartCommand { get; set; }

    /// <summary>A hook run the same way after a healthy deploy (a cache warm-up, a notice): its failure is a warning, never a rollback.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("post_deploy_command")]
    [ValidateCommandLine("post-deploy command")]
    public string? PostDeployCommand { get; set; }

    private protected override bool Hooks => true;

    private protected override string? PreRestartHook => PreRestartCommand;

    private protected override string? PostDeployHook => PostDeployCommand;

    /// <summary>Deploys even when the commit is already deployed and healthy, and a -Commit that is not on -Branch.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    private protected override string Operation => DeployOperation.Deploy;

    /// <summary>
    /// Resolves, checks and asks about each service as it comes (-WhatIf prints each plan, in pipeline order); the
    /// deploys run once every service is in, up to -ThrottleLimit at once (see <see cref="DeployCmdlet"/>).
    /// </summary>
    protected override void ProcessRecord()
    {
        foreach (var service in Service)
        {
            Deploy(service);
        }
    }

    private void Deploy(string service)
    {
        DeployRequest request;
        HostConnectionRequest connection;
        string where;
        try
        {
            (request, connection, where) = Resolve(service, Branch, DbPath);
            request = (request with { Force = Force, Commit = Commit }).Validate();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, service));
            return;
        }

        var plan = string.Join('\n', ServiceDeployer.Plan(request).Select(step => $"  {step.Step}: {step.Command}"));
        var what = request.Commit is null ? $"origin/{request.Branch}" : $"{request.Commit} from origin";
        if (!ShouldChange($"Deploy {service} ({what}) to {where}:\n{plan}", $"Deploy {service} to {where}?", "Invoke-ServiceDeploy"))
        {
            return;
        }

        Enqueue(request, connection, where, (deployer, cancellation) => deployer.DeployAsync(request, cancellation));
    }
}
