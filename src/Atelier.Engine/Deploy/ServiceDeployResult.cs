using Atelier.Health;
using Atelier.History;

namespace Atelier.Deploy;

/// <summary>One step of a deploy, as it ran.</summary>
public sealed record DeployStep(string Name, TimeSpan Duration, int? ExitCode, string OutputTail)
{
    public bool Succeeded => ExitCode is null or 0;
}

/// <summary>The result of one service's deploy. Its properties bind by name into Restore-ServiceDeploy.</summary>
public sealed class ServiceDeployResult
{
    private string _status = DeployStatus.Failed;

    public required string Service { get; init; }

    public required string ComputerName { get; init; }

    /// <summary>
    /// One of <see cref="DeployStatus"/>'s. A former name given to it (a runbook test's fake result with
    /// <see cref="DeployStatus.NoChange"/>) is kept as today's (<see cref="DeployStatus.Parse"/>).
    /// </summary>
    public string Status
    {
        get => _status;
        set => _status = DeployStatus.Parse(value);
    }

    public string Branch { get; init; } = "main";

    public string? PreviousCommit { get; set; }

    public string? NewCommit { get; set; }

    /// <summary>The commit or tag the deploy was asked for (<c>-Commit</c>); null when it deployed the branch's head.</summary>
    public string? RequestedCommit { get; init; }

    /// <summary>The health URL the deploy checked: it binds into Test-ServiceHealth, which then checks the same URL.</summary>
    public string? HealthUrl { get; init; }

    /// <summary>The commits between the previous and the new one, newest first, one line each.</summary>
    public string[] Commits { get; set; } = [];

    /// <summary>The database snapshot taken before the code moved (and restored on rollback).</summary>
    public string? SnapshotPath { get; set; }

    /// <summary>The database the snapshot is of.</summary>
    public string? DbPath { get; set; }

    /// <summary><see cref="DeployOperation.Deploy"/> or <see cref="DeployOperation.Restore"/>.</summary>
    public string Operation { get; init; } = DeployOperation.Deploy;

    /// <summary>The last health check (after the rollback, when there was one).</summary>
    public ServiceHealth? Health { get; set; }

    public List<DeployStep> Steps { get; } = [];

    /// <summary>The step that failed, or null.</summary>
    public string? FailedStep { get; set; }

    /// <summary>Why it failed: the step's output tail and, for the app, its last journal lines.</summary>
    public string? Error { get; set; }

    /// <summary>
    /// What the user can do about the failure, when that is a parameter or a command: the cmdlets put it into words after
    /// <see cref="Error"/> (the histories keep the engine's words only).
    /// </summary>
    public IReadOnlyList<Hint> Hints { get; set; } = [];

    /// <summary>What the guard of an earlier deploy did, when one took over since the last deploy (else null).</summary>
    public string? Notice { get; set; }

    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    public TimeSpan Duration { get; set; }

    /// <summary>When it ended (<see cref="StartedAt"/> plus <see cref="Duration"/>), as the history records it: binds to Get-ServiceLog's -Until.</summary>
    public DateTimeOffset FinishedAt => StartedAt + Duration;

    /// <summary>True when the deploy left the new commit live and healthy, or changed nothing.</summary>
    public bool Succeeded => Status is DeployStatus.Succeeded or DeployStatus.Unchanged;
}
