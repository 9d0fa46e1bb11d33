namespace Atelier.Workflow;

/// <summary>The choices behind Atelier's reusable <c>deploy-service.yml</c>; the defaults match the anchor's.</summary>
public sealed record ReusableDeployWorkflowOptions
{
    /// <summary>The workflow's name in the Actions tab.</summary>
    public string Name { get; init; } = "Deploy Service (reusable)";

    /// <summary>The default of input <c>host</c>.</summary>
    public string DefaultHost { get; init; } = ReusableDeployWorkflow.DefaultHost;

    /// <summary>The default of input <c>atelier_version</c>: the version of Atelier the workflow installs (the one that wrote it).</summary>
    public string AtelierVersion { get; init; } = AtelierProject.Version;

    /// <summary>The default of input <c>atelier_repository</c>: the PSResourceGet repository Atelier is installed from.</summary>
    public string AtelierRepository { get; init; } = ReusableDeployWorkflow.Gallery;

    /// <summary>The default of input <c>lock_wait</c>: seconds a deploy waits for another one's lock on the host.</summary>
    public int LockWait { get; init; } = 300;

    /// <summary>The Tailscale tags the runner joins the tailnet with.</summary>
    public string TailscaleTags { get; init; } = "tag:ci";
}
