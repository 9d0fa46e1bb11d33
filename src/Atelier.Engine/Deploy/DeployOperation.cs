namespace Atelier.Deploy;

/// <summary>
/// What an operation of either deploy family does, one word each: a service's deploy or restore
/// (<see cref="ServiceDeployResult.Operation"/>, <see cref="History.DeployRecord.Operation"/>) and one node's
/// infrastructure deploy or restore (<see cref="Infra.InfraDeployResult.Operation"/>).
/// </summary>
public static class DeployOperation
{
    /// <summary>A deploy: a service to origin's branch (or a given commit), a node to the flake's new generation.</summary>
    public const string Deploy = nameof(Deploy);

    /// <summary>A restore: a service back to an earlier commit (and its snapshot), a node back to an earlier generation.</summary>
    public const string Restore = nameof(Restore);
}
