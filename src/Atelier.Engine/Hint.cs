using Atelier.Transport;

namespace Atelier;

/// <summary>
/// What the user can do about a failure or a warning when the remedy is one of the cmdlets' parameters or commands. The
/// engine names what went wrong and knows no parameter: it gives the kind (<see cref="AtelierException.Hints"/>,
/// <see cref="HostConnectionException.Hints"/>, a result's <c>Hints</c>, <see cref="IReporter.Warning(string, IReadOnlyList{Hint})"/>),
/// and the PowerShell layer puts it into words after the message.
/// </summary>
public enum Hint
{
    /// <summary>deploy-rs was not found: its command can be given.</summary>
    DeployCommand,

    /// <summary>The infrastructure repository's folder does not exist: its work tree can be given.</summary>
    RepositoryPath,

    /// <summary>The node names could not be read without nix: nix can be installed, or the names given.</summary>
    NodesWithoutNix,

    /// <summary>The node names could not be read from the flake: it can be fixed, or the names given.</summary>
    NodesWithoutFlake,

    /// <summary>The deploy history's path is wrong.</summary>
    HistoryPath,

    /// <summary>A snapshot's destination exists and is no database: forcing does not replace it either.</summary>
    DestinationNeverReplaced,

    /// <summary>A snapshot's destination is a database: forcing replaces it, or another destination can be given.</summary>
    DestinationReplaced,

    /// <summary>A new service's port is taken: another port can be given, or the lowest free one chosen.</summary>
    PortTaken,

    /// <summary>The machine already enables the service otherwise: forcing replaces that block.</summary>
    MachineBlockReplaced,

    /// <summary>A file to write exists with other contents: forcing replaces it.</summary>
    FileReplaced,

    /// <summary>The commit is not on the branch: forcing deploys it anyway, or the branch it is on can be given.</summary>
    CommitOffBranch,

    /// <summary>No deploy to restore from is known: the commit can be given.</summary>
    RestoreCommit,

    /// <summary>The database a snapshot goes back to is not known: it can be given, or the database skipped.</summary>
    RestoreDatabase,

    /// <summary>The run stopped at the first failure because it was asked to.</summary>
    StoppedOnFailure,

    /// <summary>The host's own history says what became of an operation, once the host answers again.</summary>
    HostHistoryLater,

    /// <summary>The host's own history holds what the local one does not.</summary>
    HostHistory,

    /// <summary>A dead holder had moved the code: a restore breaking the lock puts it back; forcing only removes the lock.</summary>
    UnlockPutsNothingBack,

    /// <summary>A live deploy holds the lock: only forcing removes it, and that deploy then fails.</summary>
    UnlockLiveDeploy,

    /// <summary>A live maintenance lock: only forcing removes it.</summary>
    UnlockLiveMaintenance,

    /// <summary>Breaking the lock was asked for, but only a dead holder's lock is broken.</summary>
    BreakOnlyDead,

    /// <summary>The lock was not waited for: waiting can be asked for.</summary>
    WaitForLock,

    /// <summary>The holder is dead: running again breaking the lock breaks it.</summary>
    BreakDead,

    /// <summary>The holder may be dead: if it is, running again breaking the lock breaks it.</summary>
    BreakIfDead,

    /// <summary>A dead holder's lock: a deploy or restore breaking it puts back what it had moved.</summary>
    BreakPutsBack,

    /// <summary>An operation never finished: a restore puts it back.</summary>
    RestoreUnfinished,

    /// <summary>The lines of <c>systemctl status</c> take no time window and no priority.</summary>
    StatusLinesUnfiltered,

    /// <summary>The host is not known: its key can be accepted once, after checking the fingerprint.</summary>
    AcceptNewHostKey,

    /// <summary>The identity file is encrypted: its passphrase can be given.</summary>
    Passphrase,

    /// <summary>A check of the systemd unit needs a host: one can be given.</summary>
    HealthHost,

    /// <summary>The service runs on several machines: the machine can be given.</summary>
    Machine,

    /// <summary>A new service has no repository to clone its code from: one can be given, or the app's checkout.</summary>
    ServiceRepository,
}

/// <summary>The hints of a failure.</summary>
public static class FailureHints
{
    /// <summary>The hints <paramref name="exception"/> carries (an <see cref="AggregateException"/> of one: its inner one's); none for any other.</summary>
    public static IReadOnlyList<Hint> Of(Exception? exception) => exception switch
    {
        AggregateException { InnerExceptions.Count: 1 } aggregate => Of(aggregate.InnerExceptions[0]),
        AtelierException atelier => atelier.Hints,
        HostConnectionException connection => connection.Hints,
        _ => [],
    };
}
