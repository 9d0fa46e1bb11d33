using System.Management.Automation;
using Atelier.Infra;
using Atelier.Transport;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// The base of the infrastructure cmdlets (Invoke-InfraDeploy, Get-InfraGeneration, Restore-InfraDeploy), as
/// <see cref="DeployCmdlet"/> is for the service side: it owns the connection to a node's host and, for a deploy, the
/// nodes that come down the pipeline, the run, and the writing of its results and of an error for each that failed.
/// </summary>
public abstract class InfraCmdlet : RemoteCmdlet
{
    private readonly List<(string Node, string? ComputerName, string? User)> _queued = [];

    /// <summary>
    /// The connection to <paramref name="node"/>'s host: <paramref name="computerName"/> (-ComputerName, or the piped
    /// one), else the node's name; as <paramref name="user"/> (-User, or the piped one), else the settings' user, else
    /// ~/.ssh/config's User, else the local account, as for deploy-rs's own ssh.
    /// </summary>
    protected HostConnectionRequest NodeConnection(string node, string? computerName, string? user) =>
        ConnectionAs(computerName ?? node, user ?? Settings.User);

    /// <summary>Queues <paramref name="node"/> for <see cref="QueuedRequest"/>, with the -ComputerName and -User of the pipeline object it came with.</summary>
    private protected void Enqueue(string node) => _queued.Add((node, ComputerName, User));

    /// <summary>
    /// The deploy of every queued node: the deploy-rs command located (<paramref name="deployCommand"/>, else the
    /// settings' deployCommand, else deploy on PATH, else nix run), each node <see cref="InfraNode.Reached"/> over its own
    /// connection with <paramref name="flags"/>, the whole request validated. Null when no node is queued, or when the
    /// request cannot be made: then one error record names every node.
    /// </summary>
    private protected InfraDeployRequest? QueuedRequest(string flake, string? deployCommand, int throttleLimit, bool rollbackOnFailure, DeployRsOptions flags)
    {
        if (_queued.Count == 0)
        {
            return null;
        }

        try
        {
            var here = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
            var command = DeployRsLocator.FromEnvironment(here).Locate(deployCommand, Settings.DeployCommand);
            var nodes = _queued.Select(n => InfraNode.Reached(n.Node, NodeConnection(n.Node, n.ComputerName, n.User), hostGiven: n.ComputerName is not null, flags)).ToList();
            return new InfraDeployRequest
            {
                Nodes = nodes,
                Flake = flake,
                Command = command.Words,
                ThrottleLimit = throttleLimit,
                RollbackOnFailure = rollbackOnFailure,
                WorkingDirectory = here,
            }.Validate();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, string.Join(", ", _queued.Select(n => n.Node))));
            return null;
        }
    }

    /// <summary>
    /// Deploys the <paramref name="approved"/> nodes of <paramref name="request"/> in one <see cref="InfraDeployer"/> run
    /// over this invocation's connections, and writes what came of it: in GitHub Actions the log lines and files, then
    /// each node's result, then an error record for each node that did not succeed, so a CI step fails. With -WhatIf
    /// (nothing approved) and every node dry-activating, all of them run: deploy-rs's dry activation changes nothing.
    /// </summary>
    private protected void Deploy(InfraDeployRequest request, IReadOnlyList<InfraNode> approved)
    {
        if (approved.Count == 0 && IsWhatIf && request.Nodes.All(n => n.Options.DryActivate))
        {
            WriteVerbose("-WhatIf with -DryActivate: running deploy-rs's dry activation, which changes nothing.");
            approved = request.Nodes;
        }

        if (approved.Count == 0)
        {
            return;
        }

        InfraDeployRun run;
        try
        {
            run = Run(async (channel, cancellation) =>
            {
                var deployer = new InfraDeployer(new DeployRsRunner(channel.Reporter, Text), Hosts, channel.Reporter, CommandOptionsFor(channel, "[generation]"), Text);
                return await deployer.DeployAsync(request with { Nodes = approved }, cancellation).ConfigureAwait(false);
            });
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, string.Join(", ", approved.Select(n => n.Name))));
            return;
        }

        if (InfraGitHubActions.FromEnvironment() is { } actions)
        {
            // Workflow commands must reach the runner's log, which is the process's standard output; deploy-rs's output
            // in it is fenced, so no line of it acts as one.
            foreach (var line in InfraGitHubActions.LogLines(run, Text))
            {
                Host.UI.WriteLine(line);
            }

            actions.WriteFiles(run);
        }

        foreach (var result in run.Results)
        {
            WriteObject(result);
        }

        foreach (var result in run.Results.Where(r => !r.Succeeded))
        {
            WriteError(Errors.ForResult(result));
        }
    }

    /// <summary>A tri-state deploy-rs flag: the switch's value when given, else null (deploy-rs and the flake decide).</summary>
    private protected bool? Given(string parameter, SwitchParameter value) => IsBound(parameter) ? value.IsPresent : null;

    /// <summary>A number given, else null.</summary>
    private protected int? Given(string parameter, int value) => IsBound(parameter) ? value : null;
}
