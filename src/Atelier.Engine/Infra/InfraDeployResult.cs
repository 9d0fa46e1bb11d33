using Atelier.Deploy;

namespace Atelier.Infra;

/// <summary>What became of one node in an infrastructure deploy (or a restore). Binds by name into Restore-InfraDeploy.</summary>
public sealed class InfraDeployResult
{
    /// <summary>The node (deploy-rs's name for the machine).</summary>
    public required string Node { get; init; }

    /// <summary>The host its generations were read on.</summary>
    public required string ComputerName { get; init; }

    /// <summary><see cref="DeployOperation.Deploy"/> or <see cref="DeployOperation.Restore"/>.</summary>
    public string Operation { get; init; } = DeployOperation.Deploy;

    /// <summary>
    /// One of <see cref="DeployStatus"/>'s: <see cref="DeployStatus.Succeeded"/>, <see cref="DeployStatus.Unchanged"/>,
    /// <see cref="DeployStatus.DryRun"/>, <see cref="DeployStatus.Failed"/>, <see cref="DeployStatus.RolledBack"/> or
    /// <see cref="DeployStatus.RollbackFailed"/>.
    /// </summary>
    public string Status { get; set; } = DeployStatus.Failed;

    /// <summary>The system generation recorded before the deploy (what a rollback goes back to).</summary>
    public int? PreviousGeneration { get; set; }

    /// <summary>The generation the profile pointed at after deploy-rs ran (before any rollback).</summary>
    public int? NewGeneration { get; set; }

    /// <summary>The generation the profile points at now, read after the deploy and after any rollback.</summary>
    public int? CurrentGeneration { get; set; }

    /// <summary>The exact command line deploy-rs ran with.</summary>
    public string? CommandLine { get; set; }

    /// <summary>deploy-rs's exit code, or null when it did not run.</summary>
    public int? ExitCode { get; set; }

    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>From the first SSH read to the last check, rollback included.</summary>
    public TimeSpan Duration { get; set; }

    /// <summary>The last lines deploy-rs wrote (see <see cref="DeployRsRunner.TailLines"/>).</summary>
    public string LogTail { get; set; } = string.Empty;

    /// <summary>Why it did not succeed, or null.</summary>
    public string? Error { get; set; }

    /// <summary>True when the node ended where the run meant it to: deployed, unchanged, or dry-activated.</summary>
    public bool Succeeded => Status is DeployStatus.Succeeded or DeployStatus.Unchanged or DeployStatus.DryRun;
}
