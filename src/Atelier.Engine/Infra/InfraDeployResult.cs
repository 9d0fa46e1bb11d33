namespace Atelier.Infra;

/// <summary>What became of one node in an infrastructure deploy (or a restore). Binds by name into Restore-InfraDeploy.</summary>
public sealed class InfraDeployResult
{
    /// <summary>The node (deploy-rs's name for the machine).</summary>
    public required string Node { get; init; }

    /// <summary>The host its generations were read on.</summary>
    public required string ComputerName { get; init; }

    /// <summary><c>Deploy</c> or <c>Restore</c>.</summary>
    public string Operation { get; init; } = InfraOperation.Deploy;

    /// <summary>One of <see cref="InfraDeployStatus"/>.</summary>
    public string Status { get; set; } = InfraDeployStatus.Failed;

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
    public bool Succeeded => Status is InfraDeployStatus.Succeeded or InfraDeployStatus.Unchanged or InfraDeployStatus.DryRun;
}

/// <summary>The statuses of an <see cref="InfraDeployResult"/>.</summary>
public static class InfraDeployStatus
{
    /// <summary>deploy-rs succeeded and the node is on a new generation (or a restore switched it).</summary>
    public const string Succeeded = nameof(Succeeded);

    /// <summary>deploy-rs succeeded and the node is on the generation it was on before.</summary>
    public const string Unchanged = nameof(Unchanged);

    /// <summary>deploy-rs failed on this node, and it is not on a new generation (it failed before, or deploy-rs or rollback put it back — see Error), or rollback was off.</summary>
    public const string Failed = nameof(Failed);

    /// <summary>A node of the run failed and this node was switched back to its recorded generation; the link shows it.</summary>
    public const string RolledBack = nameof(RolledBack);

    /// <summary>This node had to be switched back and the switch failed, or the link does not show the recorded generation.</summary>
    public const string RollbackFailed = nameof(RollbackFailed);

    /// <summary>deploy-rs's dry activation succeeded; nothing changed.</summary>
    public const string DryRun = nameof(DryRun);
}

/// <summary>What an <see cref="InfraDeployResult"/> records.</summary>
public static class InfraOperation
{
    public const string Deploy = nameof(Deploy);

    public const string Restore = nameof(Restore);
}
