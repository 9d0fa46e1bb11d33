using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Invoke-ServiceDeploy: deploys a service's origin branch to its host over one SSH connection (lock, fetch, snapshot,
/// checkout, install, build, restart, health) and rolls back code and database when a step fails. A deploy that did
/// not succeed writes an error as well as its result, so a CI step fails; a rolled-back deploy never looks like success.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ServiceDeploy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ServiceDeployResult))]
public sealed class InvokeServiceDeployCommand : DeployCmdlet
{
    /// <summary>The service: its system user (the SSH user unless -User says otherwise) and its unit.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string Service { get; set; } = string.Empty;

    /// <summary>The branch of origin to deploy.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateBranch]
    public string Branch { get; set; } = "main";

    /// <summary>The SQLite database to snapshot before the deploy and restore on rollback.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("db_path", "Sqlite")]
    [ValidateRemotePath]
    public string? DbPath { get; set; }

    /// <summary>Deploys even when origin's branch is already deployed and healthy.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var where = Where;
        DeployRequest request;
        HostConnectionRequest connection;
        try
        {
            request = RequestFor(Service, Branch, DbPath) with { Force = Force };
            request.Validate();
            connection = ConnectionFor(ComputerName, Service); // before the plan: -WhatIf fails as a real run would
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, Service));
            return;
        }

        var plan = string.Join('\n', ServiceDeployer.Plan(request).Select(step => $"  {step.Step}: {step.Command}"));
        if (!ShouldChange($"Deploy {Service} (origin/{Branch}) to {where}:\n{plan}", $"Deploy {Service} to {where}?", "Invoke-ServiceDeploy"))
        {
            return;
        }

        var historyPath = ResolvedHistoryPath();
        ServiceDeployResult result;
        try
        {
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

        WriteResult(result, where);
    }
}
