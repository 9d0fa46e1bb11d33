using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Infra;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Invoke-InfraDeploy: pushes NixOS configurations with deploy-rs, one deploy-rs process per node, all at once. Records
/// each node's system generation over SSH first; when a node fails (and -RollbackOnFailure is on, the default), switches
/// every node of the run that changed back to its recorded generation and checks the link. A run that did not fully
/// succeed writes an error record as well as its results, so a CI step fails.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "InfraDeploy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(InfraDeployResult))]
public sealed class InvokeInfraDeployCommand : InfraCmdlet
{
    private readonly List<(string Node, string? ComputerName, string? User)> _nodes = [];

    /// <summary>The nodes to deploy: names under the flake's deploy.nodes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateNodeName]
    public string[] Node { get; set; } = [];

    /// <summary>The flake holding deploy.nodes: a folder or a flake reference.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Flake { get; set; } = ".";

    /// <summary>deploy-rs's --profile-user: deploy-rs puts it in a command on the node (sudo -u).</summary>
    [Parameter]
    [ValidateUserName]
    public string? ProfileUser { get; set; }

    /// <summary>deploy-rs's --ssh-opts, after the ones Atelier derives from the connection parameters.</summary>
    [Parameter]
    [Alias("SshOptions")]
    [ValidateNotNullOrEmpty]
    public string? SshOpts { get; set; }

    /// <summary>deploy-rs's --fast-connection true (or false with -FastConnection:$false).</summary>
    [Parameter]
    public SwitchParameter FastConnection { get; set; }

    /// <summary>deploy-rs's --skip-checks.</summary>
    [Parameter]
    public SwitchParameter SkipChecks { get; set; }

    /// <summary>deploy-rs's --remote-build.</summary>
    [Parameter]
    public SwitchParameter RemoteBuild { get; set; }

    /// <summary>deploy-rs's --auto-rollback true/false.</summary>
    [Parameter]
    public SwitchParameter AutoRollback { get; set; }

    /// <summary>deploy-rs's --magic-rollback true/false.</summary>
    [Parameter]
    public SwitchParameter MagicRollback { get; set; }

    /// <summary>deploy-rs's --confirm-timeout, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int ConfirmTimeout { get; set; }

    /// <summary>deploy-rs's --activation-timeout, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int ActivationTimeout { get; set; }

    /// <summary>deploy-rs's --temp-path: a folder on the node, which deploy-rs puts in a command there.</summary>
    [Parameter]
    [ValidateRemotePath]
    public string? TempPath { get; set; }

    /// <summary>deploy-rs's --boot.</summary>
    [Parameter]
    public SwitchParameter Boot { get; set; }

    /// <summary>deploy-rs's --dry-activate.</summary>
    [Parameter]
    public SwitchParameter DryActivate { get; set; }

    /// <summary>deploy-rs's --rollback-succeeded true/false.</summary>
    [Parameter]
    public SwitchParameter RollbackSucceeded { get; set; }

    /// <summary>deploy-rs's --interactive-sudo true/false.</summary>
    [Parameter]
    public SwitchParameter InteractiveSudo { get; set; }

    /// <summary>deploy-rs's --sudo.</summary>
    [Parameter]
    [Alias("Sudo")]
    [ValidateNotNullOrEmpty]
    public string? SudoCommand { get; set; }

    /// <summary>deploy-rs's --checksigs.</summary>
    [Parameter]
    public SwitchParameter CheckSigs { get; set; }

    /// <summary>deploy-rs's --keep-result.</summary>
    [Parameter]
    public SwitchParameter KeepResult { get; set; }

    /// <summary>deploy-rs's --result-path.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ResultPath { get; set; }

    /// <summary>deploy-rs's --debug-logs.</summary>
    [Parameter]
    public SwitchParameter DebugLogs { get; set; }

    /// <summary>deploy-rs's --log-dir: a folder on the node, which deploy-rs puts in a command there.</summary>
    [Parameter]
    [ValidateRemotePath]
    public string? LogDir { get; set; }

    /// <summary>Arguments for nix build, after deploy-rs's --.</summary>
    [Parameter]
    [Alias("NixArgs")]
    public string[] ExtraBuildArgs { get; set; } = [];

    /// <summary>The deploy-rs command. Default: the settings' deployCommand, else deploy on PATH, else nix run github:serokell/deploy-rs --.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DeployCommand { get; set; }

    /// <summary>How many deploy-rs processes run at once.</summary>
    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = InfraDeployRequest.DefaultThrottleLimit;

    /// <summary>When a node fails, switch every changed node back to its recorded generation.</summary>
    [Parameter]
    public bool RollbackOnFailure { get; set; } = true;

    protected override void ProcessRecord()
    {
        // ComputerName and User may come from each piped object, so they are taken per record.
        foreach (var node in Node)
        {
            _nodes.Add((node, ComputerName, User));
        }
    }

    protected override void EndProcessing()
    {
        try
        {
            Deploy();
        }
        finally
        {
            base.EndProcessing();
        }
    }

    private void Deploy()
    {
        if (_nodes.Count == 0)
        {
            return;
        }

        InfraDeployRequest request;
        var connections = new Dictionary<string, HostConnectionRequest>(StringComparer.Ordinal);
        try
        {
            var here = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
            var command = DeployRsLocator.FromEnvironment(here).Locate(DeployCommand, Settings.DeployCommand);
            var nodes = new List<InfraNode>();
            foreach (var (node, computerName, user) in _nodes)
            {
                var connection = NodeConnection(node, computerName, user);
                connections[node] = connection;
                nodes.Add(new InfraNode(node, Local ? "localhost" : connection.ComputerName, OptionsFor(computerName, user ?? Settings.User, connection)));
            }

            request = new InfraDeployRequest
            {
                Nodes = nodes,
                Flake = Flake,
                Command = command.Words,
                ThrottleLimit = ThrottleLimit,
                RollbackOnFailure = RollbackOnFailure,
                WorkingDirectory = here,
            }.Validate();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, string.Join(", ", _nodes.Select(n => n.Node))));
            return;
        }

        var approved = request.Nodes.Where(n =>
        {
            var line = CommandWords.Join(request.CommandFor(n));
            return ShouldChange($"Deploy {n.Name} to {n.ComputerName}: {line}", $"Deploy {n.Name} ({n.ComputerName}) with: {line}?", "Invoke-InfraDeploy");
        }).ToList();
        if (approved.Count == 0 && DryActivate && MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf) && whatIf is SwitchParameter { IsPresent: true })
        {
            // -WhatIf with -DryActivate: deploy-rs's own dry activation, which changes nothing on the nodes either.
            WriteVerbose("-WhatIf with -DryActivate: running deploy-rs's dry activation, which changes nothing.");
            approved = [.. request.Nodes];
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
                var deployer = new InfraDeployer(
                    new DeployRsRunner(channel.Reporter, Text),
                    (node, token) => Hosts.GetAsync(connections[node.Name], token),
                    channel.Reporter,
                    CommandOptionsFor(channel, "[generation]"),
                    Text);
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

    /// <summary>
    /// deploy-rs's flags for one node: its own parameters, plus the connection parameters given explicitly, so deploy-rs
    /// reaches the host (and as the account) Atelier reads the generations on.
    /// </summary>
    private DeployRsOptions OptionsFor(string? computerName, string? user, HostConnectionRequest connection)
    {
        return new DeployRsOptions
        {
            SshUser = user,
            ProfileUser = ProfileUser,
            SshOpts = DeployRsOptions.SshOptionsFor(IsBound(nameof(Port)) ? Port : null, connection.IdentityFile, connection.KnownHostsFile, AcceptNewHostKey, SshOpts),
            Hostname = Local ? null : computerName,
            FastConnection = Tri(nameof(FastConnection), FastConnection),
            SkipChecks = SkipChecks,
            RemoteBuild = RemoteBuild,
            AutoRollback = Tri(nameof(AutoRollback), AutoRollback),
            MagicRollback = Tri(nameof(MagicRollback), MagicRollback),
            ConfirmTimeout = IsBound(nameof(ConfirmTimeout)) ? ConfirmTimeout : null,
            ActivationTimeout = IsBound(nameof(ActivationTimeout)) ? ActivationTimeout : null,
            TempPath = TempPath,
            Boot = Boot,
            DryActivate = DryActivate,
            RollbackSucceeded = Tri(nameof(RollbackSucceeded), RollbackSucceeded),
            InteractiveSudo = Tri(nameof(InteractiveSudo), InteractiveSudo),
            SudoCommand = SudoCommand,
            CheckSigs = CheckSigs,
            KeepResult = KeepResult,
            ResultPath = ResultPath,
            DebugLogs = DebugLogs,
            LogDir = LogDir,
            ExtraBuildArgs = ExtraBuildArgs,
        };
    }

    private bool? Tri(string parameter, SwitchParameter value) => IsBound(parameter) ? value.IsPresent : null;
}
