namespace Atelier.Deploy;

/// <summary>The values of <see cref="History.DeployRecord.Status"/> (and of a deploy's result).</summary>
public static class DeployStatus
{
    /// <summary>The new commit is live and healthy.</summary>
    public const string Succeeded = nameof(Succeeded);

    /// <summary>Origin's branch was already deployed and healthy: nothing was changed or restarted.</summary>
    public const string NoChange = nameof(NoChange);

    /// <summary>A step failed; code and database were put back and the service is healthy again.</summary>
    public const string RolledBack = nameof(RolledBack);

    /// <summary>A step failed and the rollback did not bring the service back healthy.</summary>
    public const string RollbackFailed = nameof(RollbackFailed);

    /// <summary>The deploy stopped before it changed anything (lock held, fetch failed, ...).</summary>
    public const string Failed = nameof(Failed);

    /// <summary>
    /// Never started: another service of the same run did not succeed and the run stops at the first failure
    /// (<c>-StopOnFailure</c>). Nothing was done on its host and nothing is recorded there.
    /// </summary>
    public const string Skipped = nameof(Skipped);

    /// <summary>
    /// Written before the code moves and replaced by the outcome when the operation ends. A record still Started
    /// when no one holds the lock is unfinished: its client (and guard) died, and a default restore goes back from it.
    /// </summary>
    public const string Started = nameof(Started);
}
