namespace Atelier.Workflow;

/// <summary>The choices behind Atelier's reusable <c>deploy-service.yml</c>; the defaults match the anchor's.</summary>
public sealed record ReusableDeployWorkflowOptions
{
    /// <summary>The workflow's name in the Actions tab.</summary>
    public string Name { get; init; } = "Deploy Service (reusable)";

    /// <summary>The default of input <c>host</c>.</summary>
    public string DefaultHost { get; init; } = ReusableDeployWorkflow.DefaultHost;

    /// <summary>The default of input <c>atelier_repository</c>: the GitHub repository Atelier is built from (the project's own, <see cref="AtelierProject.GitHubRepository"/>).</summary>
    public string AtelierRepository { get; init; } = AtelierProject.GitHubRepository;

    /// <summary>The default of input <c>atelier_ref</c>: the branch, tag or commit of Atelier to build.</summary>
    public string AtelierRef { get; init; } = "main";

    /// <summary>The default of input <c>lock_wait</c>: seconds a deploy waits for another one's lock on the host.</summary>
    public int LockWait { get; init; } = 300;

    /// <summary>The Tailscale tags the runner joins the tailnet with.</summary>
    public string TailscaleTags { get; init; } = "tag:ci";
}
