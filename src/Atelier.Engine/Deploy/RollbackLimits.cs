namespace Atelier.Deploy;

/// <summary>
/// How long either deploy family lets putting back run once an operation was stopped (Ctrl+C, a Stop preference, a
/// failed write) or its client went silent, in one place. Putting back is never cut short by the stop itself: the
/// stop's token is already cancelled, and only these bounds (and each command's own timeout) end it.
/// </summary>
/// <remarks>
/// A service has no overall bound on its own rollback after a stop, on purpose: with its host's guard behind it
/// (<c>guard.sh</c>), the client runs the put-back plan to its end with no token (each step within the command
/// timeout, the health check within the health timeout, the unit started again whatever failed after it was stopped),
/// and should the client die, the guard runs the same plan. The only bound on that side is the wait for a guard that
/// took over (<see cref="GuardWaitLimit"/>). A node has no guard: its switch-back after a stop is bounded by
/// <see cref="StopRollbackLimit"/>, after which what is left is in its result.
/// </remarks>
public static class RollbackLimits
{
    /// <summary>
    /// How long switching every node that moved back to its recorded generation may take after an infrastructure
    /// deploy is stopped (<see cref="Infra.InfraDeployer.DeployAsync"/>); a node not back by then keeps its error.
    /// </summary>
    public static readonly TimeSpan StopRollbackLimit = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The longest a service's client waits for its host's guard, once the guard took over, to finish the put-back and
    /// record its outcome; past it the result says RollbackFailed (or Failed, for a restore) and names the guard's log.
    /// </summary>
    public static readonly TimeSpan GuardWaitLimit = TimeSpan.FromMinutes(30);
}
