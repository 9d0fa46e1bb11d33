namespace Atelier.Infra;

/// <summary>
/// A node that a change of the infrastructure repository touches, and why. <c>Node</c> binds by property name into
/// Invoke-InfraDeploy's <c>-Node</c>.
/// </summary>
public sealed class DeployTarget
{
    public DeployTarget(string node, string reason, IReadOnlyList<string> paths)
    {
        Node = node;
        Reason = reason;
        Paths = paths;
    }

    /// <summary>The deploy-rs node (a name in the flake's <c>deploy.nodes</c>).</summary>
    public string Node { get; }

    /// <summary>Why it is deployed, e.g. <c>flake.lock changed</c> or <c>machines/terebithia/ changed</c>; several reasons are joined with "; ".</summary>
    public string Reason { get; }

    /// <summary>The changed paths (relative to the repository, '/'-separated) that selected it; empty for a new branch.</summary>
    public IReadOnlyList<string> Paths { get; }

    public override string ToString() => Node;
}
