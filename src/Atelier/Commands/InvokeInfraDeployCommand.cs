using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Infra;

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
            Enqueue(node);
        }
    }

    /// <summary>Once every node is in: the request, a question for each node with its deploy-rs command, one run (see <see cref="InfraCmdlet"/>).</summary>
    protected override void EndProcessing()
    {
        try
        {
            if (QueuedRequest(Flake, DeployCommand, ThrottleLimit, RollbackOnFailure, Flags()) is { } request)
            {
                Deploy(request, [.. request.Nodes.Where(n =>
                {
                    var line = CommandWords.Join(request.CommandFor(n));
                    return ShouldChange($"Deploy {n.Name} to {n.ComputerName}: {line}", $"Deploy {n.Name} ({n.ComputerName}) with: {line}?", "Invoke-InfraDeploy");
                })]);
            }
        }
        finally
        {
            base.EndProcessing();
        }
    }

    /// <summary>
    /// deploy-rs's flags from this cmdlet's parameters; how to reach each node (--ssh-user, --hostname, the connection's
    /// part of --ssh-opts) is added per node from its connection (<see cref="InfraNode.Reached"/>).
    /// </summary>
    private DeployRsOptions Flags() => new()
    {
        ProfileUser = ProfileUser,
        SshOpts = SshOpts,
        FastConnection = Given(nameof(FastConnection), FastConnection),
        SkipChecks = SkipChecks,
        RemoteBuild = RemoteBuild,
        AutoRollback = Given(nameof(AutoRollback), AutoRollback),
        MagicRollback = Given(nameof(MagicRollback), MagicRollback),
        ConfirmTimeout = Given(nameof(ConfirmTimeout), ConfirmTimeout),
        ActivationTimeout = Given(nameof(ActivationTimeout), ActivationTimeout),
        TempPath = TempPath,
        Boot = Boot,
        DryActivate = DryActivate,
        RollbackSucceeded = Given(nameof(RollbackSucceeded), RollbackSucceeded),
        InteractiveSudo = Given(nameof(InteractiveSudo), InteractiveSudo),
        SudoCommand = SudoCommand,
        CheckSigs = CheckSigs,
        KeepResult = KeepResult,
        ResultPath = ResultPath,
        DebugLogs = DebugLogs,
        LogDir = LogDir,
        ExtraBuildArgs = ExtraBuildArgs,
    };
}
