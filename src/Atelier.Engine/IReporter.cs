namespace Atelier;

/// <summary>
/// Where engine operations report what they are doing. Implementations are thread-safe: concurrent work reports
/// from many threads, and a cmdlet replays the reports on its pipeline thread.
/// </summary>
public interface IReporter
{
    /// <summary>A detail for the verbose stream (e.g. one line of a remote command's output).</summary>
    void Verbose(string message);

    /// <summary>Something the user should notice that does not stop the operation.</summary>
    void Warning(string message);

    /// <summary>
    /// A warning with what the user can do about it, when that is a parameter or a command (<paramref name="hints"/>):
    /// a cmdlet's reporter puts the hints into words after the message; one that knows no hints gives the message alone.
    /// </summary>
    void Warning(string message, IReadOnlyList<Hint> hints) => Warning(message);

    /// <summary>Progress of one activity; <paramref name="percent"/> is -1 when unknown, 100 when complete.</summary>
    void Progress(int activityId, string activity, string status, int percent);

    /// <summary>
    /// Progress of one activity shown under another (<paramref name="parentActivityId"/>): one service's deploy under the
    /// record of the whole run. A reporter that knows nothing of parents shows it as its own activity.
    /// </summary>
    void Progress(int activityId, int parentActivityId, string activity, string status, int percent) =>
        Progress(activityId, activity, status, percent);

    /// <summary>
    /// What the operation is in the middle of on a host that a stop must not leave half done, and so finishes before it
    /// lets go (a rollback, the deploy lock), as a phrase: "putting demo on terebithia back to 3f2a9c1 (code and
    /// database) and releasing its deploy lock"; null once there is nothing. A cmdlet stopped while it is set says so;
    /// one stopped at any other time (a read, a check) lets go without a word.
    /// </summary>
    void Finishing(string? what)
    {
    }
}

/// <summary>A reporter that drops everything (tests, benchmarks).</summary>
public sealed class NullReporter : IReporter
{
    public static readonly NullReporter Instance = new();

    public void Verbose(string message)
    {
    }

    public void Warning(string message)
    {
    }

    public void Progress(int activityId, string activity, string status, int percent)
    {
    }
}
