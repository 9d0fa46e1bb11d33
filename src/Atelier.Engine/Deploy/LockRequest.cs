using Atelier.Shell;

namespace Atelier.Deploy;

/// <summary>What takes a service's deploy lock.</summary>
public enum LockOperation
{
    Deploy,
    Restore,

    /// <summary>Lock-ServiceDeploy's hold for maintenance: no heartbeat and no guard; it lives until Unlock-ServiceDeploy.</summary>
    Maintenance,
}

/// <summary>
/// A request for a service's deploy lock: who asks (<paramref name="Holder"/>, e.g. <c>alice@laptop</c> or a GitHub
/// actor and run URL) and for what.
/// </summary>
public sealed record LockRequest(string Service, LockOperation Operation, string Holder)
{
    /// <summary>Longest holder or commit text recorded in the lock.</summary>
    public const int MaxTextLength = 300;

    /// <summary>The commit being deployed or restored, as the caller names it (free text, may be unknown yet).</summary>
    public string? Commit { get; init; }

    /// <summary>A maintenance lock's message (what the holder is doing), shown to every deploy it stops; else null.</summary>
    public string? Message { get; init; }

    /// <summary>How long to wait for a held lock; zero fails at once with the holder's details.</summary>
    public TimeSpan Wait { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Breaks a held lock first when its holder is dead (no heartbeat, no guard, no step running; the broken holder is
    /// reported as a warning). A live holder is never broken: the acquire fails naming it.
    /// </summary>
    public bool Break { get; init; }

    /// <summary>
    /// How long the client may fall silent before the host's guard takes over: it then stops the step left running,
    /// puts the service back, records why and releases the lock.
    /// </summary>
    public TimeSpan GuardTimeout { get; init; } = DefaultGuardTimeout;

    /// <summary>
    /// The operation's history record as it starts (status <c>Started</c>): the guard closes it with the outcome when
    /// it takes over before the deploy has written a fuller one (<see cref="DeployLock.ArmAsync"/>). Null: the guard
    /// records nothing for a client lost that early.
    /// </summary>
    public Atelier.History.DeployRecord? Record { get; init; }

    /// <summary>The guard timeout when none is given.</summary>
    public static readonly TimeSpan DefaultGuardTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The shortest guard timeout: a client must be able to send a heartbeat in time over a slow link.</summary>
    public static readonly TimeSpan MinimumGuardTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Who is asking, for the lock's record: in GitHub Actions the actor and the run's URL, else <c>user@machine</c>.
    /// </summary>
    public static string CurrentHolder(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var actor = environment("GITHUB_ACTOR");
        if (environment("GITHUB_ACTIONS") == "true" && !string.IsNullOrEmpty(actor))
        {
            var server = environment("GITHUB_SERVER_URL");
            var repository = environment("GITHUB_REPOSITORY");
            var run = environment("GITHUB_RUN_ID");
            return string.IsNullOrEmpty(server) || string.IsNullOrEmpty(repository) || string.IsNullOrEmpty(run)
                ? $"{actor} (GitHub Actions)"
                : $"{actor} ({server}/{repository}/actions/runs/{run})";
        }

        return $"{Environment.UserName}@{Environment.MachineName}";
    }
}
