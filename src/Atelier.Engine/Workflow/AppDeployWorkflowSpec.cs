namespace Atelier.Workflow;

/// <summary>
/// What an app's <c>.github/workflows/deploy.yaml</c> says: when to deploy, which reusable workflow does it, with which
/// inputs and secrets. The input names are the anchor's (<c>service</c>, <c>host</c>, <c>health_url</c>, ...), so the
/// file works with the anchor's <c>deploy-service.yml</c> and with Atelier's (<see cref="ReusableDeployWorkflow"/>).
/// </summary>
public sealed record AppDeployWorkflowSpec
{
    /// <summary>The service (input <c>service</c>): its SSH user and systemd unit.</summary>
    public required string Service { get; init; }

    /// <summary>The host to deploy to (input <c>host</c>).</summary>
    public string Host { get; init; } = ReusableDeployWorkflow.DefaultHost;

    /// <summary>Input <c>health_url</c>, left out when null.</summary>
    public string? HealthUrl { get; init; }

    /// <summary>Input <c>db_path</c>, left out when null.</summary>
    public string? DbPath { get; init; }

    /// <summary>The branch whose pushes deploy (the push trigger and input <c>branch</c>).</summary>
    public string Branch { get; init; } = "main";

    /// <summary>Input <c>work_dir</c>, left out when null.</summary>
    public string? WorkDir { get; init; }

    /// <summary>Input <c>build_command</c>, left out when null.</summary>
    public string? BuildCommand { get; init; }

    /// <summary>Input <c>runtime</c> (bun, node or custom), left out when null. Atelier's reusable workflow only.</summary>
    public string? Runtime { get; init; }

    /// <summary>Input <c>install_command</c>, left out when null. Atelier's reusable workflow only.</summary>
    public string? InstallCommand { get; init; }

    /// <summary>Input <c>lock_wait</c> in seconds, left out when null. Atelier's reusable workflow only.</summary>
    public int? LockWait { get; init; }

    /// <summary>
    /// Passes input <c>commit</c> as <c>${{ github.sha }}</c>, so the deploy is of exactly the commit the push was for,
    /// not the branch's head when the job runs. Atelier's reusable workflow only (the anchor's refuses the input).
    /// </summary>
    public bool PassCommit { get; init; }

    /// <summary>The reusable workflow: <c>owner/repo/.github/workflows/deploy-service.yml@ref</c> or <c>./.github/workflows/….yml</c>.</summary>
    public required string WorkflowReference { get; init; }

    /// <summary>The secrets passed on, each as <c>${{ secrets.NAME }}</c>. Default: the anchor's (<see cref="ReusableDeployWorkflow.AnchorSecrets"/>).</summary>
    public IReadOnlyList<string> Secrets { get; init; } = ReusableDeployWorkflow.AnchorSecrets;

    /// <summary>Passes every secret of the app repository (<c>secrets: inherit</c>) instead of <see cref="Secrets"/>.</summary>
    public bool InheritSecrets { get; init; }

    /// <summary>The workflow's name in the Actions tab.</summary>
    public string Name { get; init; } = "Deploy";
}
