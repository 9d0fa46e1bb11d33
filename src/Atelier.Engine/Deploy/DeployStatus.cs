namespace Atelier.Deploy;

/// <summary>
/// The statuses of both deploy families, one word for each outcome: a service's deploy or restore
/// (<see cref="ServiceDeployResult.Status"/>, <see cref="History.DeployRecord.Status"/>) and one node of an
/// infrastructure deploy or restore (<see cref="Infra.InfraDeployResult.Status"/>). Where a status belongs to one
/// family only, its summary says so. <see cref="Parse"/> is the one place a former name is read as today's.
/// </summary>
public static class DeployStatus
{
    /// <summary>
    /// The change is live. A service: the new commit is live and healthy (a restore: the commit restored is). A node:
    /// deploy-rs succeeded and it is on a new generation (or a restore switched it).
    /// </summary>
    public const string Succeeded = nameof(Succeeded);

    /// <summary>
    /// Nothing changed. A service: origin's branch was already deployed and healthy, and nothing was changed or
    /// restarted. A node: deploy-rs succeeded and it is on the generation it was on before.
    /// </summary>
    public const string Unchanged = nameof(Unchanged);

    /// <summary>
    /// A step failed and what it changed was put back. A service: code and database were put back and it is healthy
    /// again. A node: another node of the run failed and this one was switched back to its recorded generation (the
    /// link shows it).
    /// </summary>
    public const string RolledBack = nameof(RolledBack);

    /// <summary>
    /// The put-back did not work. A service: a step failed and the rollback did not bring it back healthy. A node: it had
    /// to be switched back and the switch failed, or the link does not show the recorded generation.
    /// </summary>
    public const string RollbackFailed = nameof(RollbackFailed);

    /// <summary>
    /// It failed where it stands. A service: the deploy stopped before it changed anything (lock held, fetch failed,
    /// ...), or a restore did not end healthy. A node: deploy-rs failed on it and it is not on a new generation (it
    /// failed before, or deploy-rs or the rollback put it back: see its error), or rollback was off.
    /// </summary>
    public const string Failed = nameof(Failed);

    /// <summary>
    /// Services only. Never started: another service of the same run did not succeed and the run stops at the first
    /// failure (<c>-StopOnFailure</c>). Nothing was done on its host and nothing is recorded there.
    /// </summary>
    public const string Skipped = nameof(Skipped);

    /// <summary>
    /// Services' histories only. Written before the code moves and replaced by the outcome when the operation ends. A
    /// record still Started when no one holds the lock is unfinished: its client (and guard) died, and a default restore
    /// goes back from it.
    /// </summary>
    public const string Started = nameof(Started);

    /// <summary>Nodes only. deploy-rs's dry activation succeeded; nothing changed.</summary>
    public const string DryRun = nameof(DryRun);

    /// <summary>
    /// <see cref="Unchanged"/>'s name for services before it was one word for both families: accepted for one more
    /// version where a status is read back (the histories' records) or asked for (<c>Get-ServiceDeployHistory
    /// -Status</c>), and read as <see cref="Unchanged"/> (<see cref="Parse"/>). Nothing writes it any more.
    /// </summary>
    public const string NoChange = nameof(NoChange);

    /// <summary>
    /// The status <paramref name="status"/> (as stored or as asked for) stands for today: <see cref="Unchanged"/> for
    /// its former name <see cref="NoChange"/> (in any case), any other as it is.
    /// </summary>
    public static string Parse(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return string.Equals(status, NoChange, StringComparison.OrdinalIgnoreCase) ? Unchanged : status;
    }

    /// <summary>
    /// The former name a record written before may hold for <paramref name="status"/> (<see cref="NoChange"/> for
    /// <see cref="Unchanged"/>), or null when it has none.
    /// </summary>
    public static string? FormerName(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return string.Equals(Parse(status), Unchanged, StringComparison.OrdinalIgnoreCase) ? NoChange : null;
    }

    /// <summary>Whether <paramref name="status"/> and <paramref name="other"/> are one status (in any case, a former name as today's).</summary>
    public static bool Same(string? status, string? other) =>
        status is null || other is null
            ? status is null && other is null
            : string.Equals(Parse(status), Parse(other), StringComparison.OrdinalIgnoreCase);
}
