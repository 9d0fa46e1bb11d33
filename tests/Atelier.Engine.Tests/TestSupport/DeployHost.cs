using System.Globalization;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Infra;
using Atelier.Shell;
using Atelier.Snapshot;
using Atelier.Transport;

namespace Atelier.Tests;

/// <summary>What a command given to <see cref="DeployHost"/> does, as the host's scripts and programs would see it.</summary>
public enum HostOp
{
    /// <summary>lock.sh acquire.</summary>
    Acquire,

    /// <summary>lock.sh beat (the heartbeat).</summary>
    Beat,

    /// <summary>lock.sh arm: the guard's put-back plan and the "started" record.</summary>
    Arm,

    /// <summary>lock.sh finish: the outcome record, the lock removed.</summary>
    Finish,

    /// <summary>lock.sh release, read or stop-step.</summary>
    OtherLock,

    /// <summary>append.sh: one record appended to the host's history.</summary>
    Append,

    /// <summary>The history file read.</summary>
    ReadHistory,

    /// <summary><c>git fetch</c>, then the deployed commit and origin's.</summary>
    Fetch,

    /// <summary><c>git log</c> between two commits.</summary>
    Log,

    /// <summary><c>git rev-parse HEAD</c> alone.</summary>
    Current,

    /// <summary><c>git reset --hard</c>: the code moves.</summary>
    Checkout,

    /// <summary><c>bun install</c>.</summary>
    Install,

    /// <summary>The build command (<c>sh -c</c> in the work folder).</summary>
    Build,

    /// <summary>A deploy hook (<c>ATELIER_SERVICE=... sh -c</c>).</summary>
    Hook,

    /// <summary><c>sudo systemctl stop</c>.</summary>
    Stop,

    /// <summary><c>sudo systemctl start</c>.</summary>
    Start,

    /// <summary><c>sudo systemctl restart</c>.</summary>
    Restart,

    /// <summary><c>systemctl show</c>.</summary>
    Show,

    /// <summary><c>journalctl</c> or <c>systemctl status</c>.</summary>
    Journal,

    /// <summary>snapshot.sh.</summary>
    Snapshot,

    /// <summary>restore-db.sh check.</summary>
    SpaceCheck,

    /// <summary>restore-db.sh restore.</summary>
    RestoreDb,
}

/// <summary>
/// One command <see cref="DeployHost"/> was given: what it does, the lock step it ran as (null when it ran outside the
/// lock), and whether the caller's token could still cut it short (<paramref name="Cancellable"/>) or had already been
/// cancelled when it arrived (<paramref name="ArrivedCancelled"/>).
/// </summary>
internal sealed record HostCall(HostOp Op, string? Step, bool Cancellable, bool ArrivedCancelled, string Text);

/// <summary>
/// A fake service host for <see cref="ServiceDeployer"/>: a model, in memory, of what the real host's scripts and programs
/// do with each command a deploy sends. It reads every command back into its words (<see cref="ShellWords"/>) and
/// answers as they would:
/// <list type="bullet">
/// <item>lock.sh (acquire, step, arm, beat, finish, release, read, stop-step) keeps one lock with its token, notes and the
/// guard's put-back plan; a step runs its command only while the token is the lock's; finish and arm append to the
/// history;</item>
/// <item>git in <c>~/app</c>: a linear origin branch (<see cref="Origin"/>) whose commits are found by id or prefix,
/// <see cref="Head"/> moved by <c>git reset</c>;</item>
/// <item>install and build mark the code installed and built at <see cref="Head"/>; a hook with
/// <see cref="MigrationCommand"/> migrates the database to the new commit's schema;</item>
/// <item>systemd: stop, start and restart run the code at <see cref="Head"/>; <c>systemctl show</c> says active and running
/// unless that code crashes (a commit in <see cref="Crashing"/>, or code not installed and built for it): its first show
/// after the start still finds it running, the later ones restarting;</item>
/// <item>snapshot.sh copies <see cref="Database"/> to a named snapshot; restore-db.sh checks the space and puts a snapshot back.</item>
/// </list>
/// A failure is injected by what a command does (<see cref="Fail"/>), never by the step name the deployer gives it, and
/// a Ctrl+C (<see cref="CancelDuring"/>) cancels the caller's token while a command runs: the command is then stopped
/// as the real transport stops it, unless the token it was given cannot be cancelled. Whatever breaks the host's rules
/// (a database restored under a running unit, a command after the lock is gone) is kept in <see cref="Violations"/>.
/// </summary>
internal sealed class DeployHost : IRemoteHost
{
    /// <summary>The home folder the scripts see.</summary>
    public const string Home = "/home/demo";

    private static readonly string LockScript = ScriptOf(DeployLock.ReadCommand("demo"));
    private static readonly string AppendScript = EmbeddedScript.Read("Atelier.History.append.sh");
    private static readonly string SnapshotScript = ScriptOf(RemoteSnapshotter.Command(new SnapshotRequest("demo", "~/data/app.db", 1)));
    private static readonly string FetchRevisionScript = ScriptOf(DeployCommands.FetchRevision("main", "v1"));
    private static readonly string RestoreScript = ScriptOf(DatabaseRestore.SpaceCheckCommand("~/s.db", "~/data/app.db"));
    private readonly object _gate = new();
    private readonly List<HostCall> _calls = [];
    private readonly List<string> _sequence = [];
    private readonly List<string> _history = [];
    private readonly List<string> _violations = [];
    private readonly Dictionary<HostOp, int> _seen = [];
    private readonly Dictionary<(HostOp Op, int Occurrence), int> _failures = [];
    private readonly Dictionary<string, string> _snapshots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _owner = new(StringComparer.Ordinal);
    private (HostOp Op, int Occurrence, CancellationTokenSource Source)? _cancel;
    private string? _lockToken;
    private int _pid = 4000;
    private int _showsSinceStart;

    /// <param name="commits">Origin's branch, oldest first: the first is deployed and running, the last is origin's head.</param>
    public DeployHost(params string[] commits)
    {
        Origin = commits;
        Head = Installed = Built = RunningCommit = commits[0];
        MainPid = ++_pid;

        // Started long ago: code that crashes is seen crashing at once.
        _showsSinceStart = 1;
    }

    public string ComputerName => "web1";

    public string User => "demo";

    /// <summary>Origin's branch, oldest first.</summary>
    public IReadOnlyList<string> Origin { get; }

    /// <summary>The commit checked out in <c>~/app</c>.</summary>
    public string Head { get; private set; }

    /// <summary>The commit the dependencies were last installed for, and the one last built.</summary>
    public string Installed { get; private set; }

    public string Built { get; private set; }

    /// <summary>The code the unit runs (null while stopped), its main process and its restart count.</summary>
    public string? RunningCommit { get; private set; }

    public int MainPid { get; private set; }

    public int NRestarts { get; private set; }

    /// <summary>Commits whose app crashes as soon as it starts.</summary>
    public HashSet<string> Crashing { get; } = new(StringComparer.Ordinal);

    /// <summary>The database's content (its schema, say), or null when the service has none.</summary>
    public string? Database { get; set; }

    /// <summary>The hook command that migrates the database to the new commit.</summary>
    public string MigrationCommand { get; set; } = "bun run migrate";

    /// <summary>True while a deploy holds the service's lock.</summary>
    public bool LockHeld
    {
        get
        {
            lock (_gate)
            {
                return _lockToken is not null;
            }
        }
    }

    /// <summary>The step names of the put-back plan the guard was last armed with.</summary>
    public IReadOnlyList<string> ArmedPlan { get; private set; } = [];

    /// <summary>The notes the lock's owner record holds (<c>previous</c>, <c>snapshot</c>, <c>moved</c>...).</summary>
    public IReadOnlyDictionary<string, string> Owner
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, string>(_owner, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Every command, in the order it came.</summary>
    public IReadOnlyList<HostCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>
    /// What the lock saw, in order: <c>lock</c> (acquire), each step's name, <c>arm</c>, <c>finish</c>, <c>release</c>;
    /// heartbeats, history reads and health reads outside the lock are left out.
    /// </summary>
    public IReadOnlyList<string> Sequence
    {
        get
        {
            lock (_gate)
            {
                return [.. _sequence];
            }
        }
    }

    /// <summary>The host's history file, one JSON record a line, as appended.</summary>
    public IReadOnlyList<DeployRecord> History
    {
        get
        {
            lock (_gate)
            {
                return [.. _history.Select(l => DeployHistory.TryParseLine(l, out var r, out var problem) ? r! : throw new InvalidOperationException(problem))];
            }
        }
    }

    /// <summary>What the deploy did that the real host would not allow or a service would suffer from.</summary>
    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_gate)
            {
                return [.. _violations];
            }
        }
    }

    /// <summary>The snapshots on the host: path and the database content each holds.</summary>
    public IReadOnlyDictionary<string, string> Snapshots
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, string>(_snapshots, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The <paramref name="occurrence"/>th command that does <paramref name="op"/> exits with <paramref name="exitCode"/>, doing nothing.</summary>
    public DeployHost Fail(HostOp op, int occurrence = 1, int exitCode = 1)
    {
        _failures[(op, occurrence)] = exitCode;
        return this;
    }

    /// <summary>While the <paramref name="occurrence"/>th command that does <paramref name="op"/> runs, <paramref name="source"/> is cancelled (Ctrl+C).</summary>
    public DeployHost CancelDuring(HostOp op, CancellationTokenSource source, int occurrence = 1)
    {
        _cancel = (op, occurrence, source);
        return this;
    }

    /// <summary>The commands that did <paramref name="op"/>, in order.</summary>
    public IReadOnlyList<HostCall> CallsOf(HostOp op) => [.. Calls.Where(c => c.Op == op)];

    public async Task<CommandResult> RunAsync(ShellCommand command, CommandOptions options, CancellationToken cancellationToken)
    {
        var words = CommandWords.Split(command.Text);
        string? step = null;
        string[] inner = [.. words];
        HostOp op;
        CommandResult? refused = null;
        lock (_gate)
        {
            if (IsScript(words, LockScript))
            {
                var args = words.Skip(4).ToArray();
                op = args[0] switch
                {
                    "acquire" => HostOp.Acquire,
                    "beat" => HostOp.Beat,
                    "arm" => HostOp.Arm,
                    "finish" => HostOp.Finish,
                    "step" => Classify(inner = [.. CommandWords.Split(args[^1])]),
                    _ => HostOp.OtherLock,
                };
                if (args[0] == "step")
                {
                    step = args[3];
                    refused = StepThroughLock(args);
                }
            }
            else
            {
                op = Classify(words);
            }

            _seen[op] = _seen.GetValueOrDefault(op) + 1;
            _calls.Add(new HostCall(op, step, cancellationToken.CanBeCanceled, cancellationToken.IsCancellationRequested, command.Text));
        }

        // The real transport refuses to start a command for a cancelled token, and stops one whose token is cancelled.
        cancellationToken.ThrowIfCancellationRequested();
        if (refused is not null)
        {
            return refused;
        }

        if (_cancel is { } cancel && cancel.Op == op && cancel.Occurrence == _seen[op])
        {
            await cancel.Source.CancelAsync();

            // A command whose token cannot be cancelled runs on, and ends by itself.
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        lock (_gate)
        {
            if (_failures.TryGetValue((op, _seen[op]), out var exitCode))
            {
                return Result(command, exitCode, string.Empty, $"{op} failed on purpose");
            }

            return step is null ? Run(op, words, command) : Run(op, inner, command);
        }
    }

    public Task DownloadAsync(string remotePath, string localPath, CancellationToken cancellationToken) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    /// <summary>A commit id for tests: <paramref name="n"/> (below 256) as two hexadecimal digits, 20 times.</summary>
    public static string Sha(int n) => string.Concat(Enumerable.Repeat(n.ToString("x2", CultureInfo.InvariantCulture), 20));

    private static string ScriptOf(ShellCommand command) => CommandWords.Split(command.Text)[2];

    private static bool IsScript(IReadOnlyList<string> words, string script) =>
        words.Count >= 4 && words[0] == "sh" && words[1] == "-c" && words[2] == script && words[3] == "atelier";

    private static HostOp Classify(IReadOnlyList<string> words)
    {
        if (IsScript(words, AppendScript))
        {
            return HostOp.Append;
        }

        if (IsScript(words, FetchRevisionScript))
        {
            return HostOp.Fetch;
        }

        if (IsScript(words, SnapshotScript))
        {
            return HostOp.Snapshot;
        }

        if (IsScript(words, RestoreScript))
        {
            return words[4] == "check" ? HostOp.SpaceCheck : HostOp.RestoreDb;
        }

        if (words.Contains("sudo"))
        {
            return Verb(words) switch
            {
                "stop" => HostOp.Stop,
                "start" => HostOp.Start,
                "restart" => HostOp.Restart,
                "status" => HostOp.Journal,
                var verb => throw new InvalidOperationException($"An unexpected systemctl verb {verb}: {string.Join(' ', words)}"),
            };
        }

        return words switch
        {
            ["systemctl", "show", ..] => HostOp.Show,
            ["journalctl", ..] or ["systemctl", "status", ..] => HostOp.Journal,
            [.., "cat", "$f;", "fi"] => HostOp.ReadHistory,
            _ when words.Contains("fetch") => HostOp.Fetch,
            _ when words.Contains("log") => HostOp.Log,
            _ when words.Contains("reset") => HostOp.Checkout,
            ["cd", "$HOME/app", "&&", "git", "rev-parse", "HEAD"] => HostOp.Current,
            _ when words.Any(w => w.StartsWith("ATELIER_SERVICE=", StringComparison.Ordinal)) => HostOp.Hook,
            _ when words.Contains("bun") && words.Contains("install") => HostOp.Install,
            ["cd", _, "&&", "sh", "-c", _] => HostOp.Build,
            _ => throw new InvalidOperationException($"DeployHost does not know this command: {string.Join(' ', words)}"),
        };
    }

    /// <summary>The systemctl verb before the unit (the word ending in <c>.service</c>) of a sudo command.</summary>
    private static string Verb(IReadOnlyList<string> words)
    {
        var unit = words.ToList().FindLastIndex(w => w.TrimEnd(';').EndsWith(".service", StringComparison.Ordinal));
        return words[unit - 1];
    }

    private static CommandResult Result(ShellCommand command, int exitCode, string output, string error = "") =>
        new(command.Text, exitCode, output, error, TimeSpan.FromMilliseconds(3));

    /// <summary>lock.sh step: the token must be the lock's; the step and its notes are recorded, then the command runs. Null when it may run.</summary>
    private CommandResult? StepThroughLock(string[] args)
    {
        if (args[2] != _lockToken)
        {
            _violations.Add($"the step {args[3]} ran without the lock");
            return new CommandResult(args[^1], DeployLock.LostExitCode, string.Empty, "atelier: the deploy lock of demo is no longer this deploy's", TimeSpan.Zero);
        }

        _sequence.Add(args[3]);
        _owner["step"] = args[3];
        Note(args.Skip(4).TakeWhile(a => a != "--"));
        return null;
    }

    private void Note(IEnumerable<string> notes)
    {
        foreach (var note in notes)
        {
            var equals = note.IndexOf('=', StringComparison.Ordinal);
            _owner[note[..equals]] = note[(equals + 1)..];
        }
    }

    private CommandResult Run(HostOp op, IReadOnlyList<string> words, ShellCommand command)
    {
        switch (op)
        {
            case HostOp.Acquire:
                if (_lockToken is not null)
                {
                    return Result(command, DeployLock.HeldExitCode, $"atelier-lock held service=demo\natelier-lock held token={_lockToken}\n");
                }

                _lockToken = words[6];
                _owner.Clear();
                _owner["service"] = words[5];
                _owner["operation"] = words[7];
                _owner["by"] = words[8];
                _owner["token"] = _lockToken;
                _owner["step"] = "lock";
                _sequence.Add("lock");
                return Result(command, 0, string.Concat(_owner.Select(kv => $"atelier-lock acquired {kv.Key}={kv.Value}\n")) + "atelier-lock acquired alive=yes\n");
            case HostOp.Beat:
                return words[6] == _lockToken ? Result(command, 0, "atelier-lock alive\n") : Result(command, DeployLock.LostExitCode, "atelier-lock lost\n");
            case HostOp.Arm:
                {
                    if (words[6] != _lockToken)
                    {
                        _violations.Add("armed without the lock");
                        return Result(command, DeployLock.LostExitCode, "atelier-lock lost\n");
                    }

                    var args = words.Skip(7).ToList();
                    var dashes = args.IndexOf("--");
                    Note(args.Take(dashes));
                    _history.Add(args[dashes + 1]);
                    ArmedPlan = [.. args.Skip(dashes + 2).Where((_, i) => i % 2 == 0)];
                    _sequence.Add("arm");
                    return Result(command, 0, "atelier-lock armed\n");
                }

            case HostOp.Finish:
                if (words[6] != _lockToken)
                {
                    _violations.Add("finished without the lock");
                    return Result(command, DeployLock.LostExitCode, "atelier-lock lost\n");
                }

                if (words.Count > 7 && words[7].Length > 0)
                {
                    _history.Add(words[7]);
                }

                _lockToken = null;
                _sequence.Add("finish");
                return Result(command, 0, "atelier-lock finished\n");
            case HostOp.OtherLock:
                if (words[4] == "release" && words[6] == _lockToken)
                {
                    _lockToken = null;
                    _sequence.Add("release");
                    return Result(command, 0, "atelier-lock released\n");
                }

                return Result(command, 0, _lockToken is null ? "atelier-lock free\n" : string.Empty);
            case HostOp.Append:
                _history.Add(words[4]);
                return Result(command, 0, string.Empty);
            case HostOp.ReadHistory:
                return Result(command, 0, string.Concat(_history.Select(l => l + "\n")));
            case HostOp.Fetch when IsScript(words, FetchRevisionScript):
                {
                    // A commit of origin's branch, named by its id or a prefix of it: reachable from the branch's head.
                    var revision = words[5];
                    return Origin.FirstOrDefault(c => c.StartsWith(revision, StringComparison.Ordinal)) is { } target
                        ? Result(command, 0, $"{Head}\n{target}\nreachable\n")
                        : Result(command, 66, string.Empty, $"atelier: origin has no commit or tag {revision}");
                }

            case HostOp.Fetch:
                return Result(command, 0, $"{Head}\n{Origin[^1]}\n");
            case HostOp.Log:
                {
                    var range = words.Single(w => w.Contains("..", StringComparison.Ordinal)).Split("..");
                    var from = Origin.ToList().IndexOf(range[0]);
                    var to = Origin.ToList().IndexOf(range[1]);
                    return Result(command, 0, string.Concat(Origin.Skip(from + 1).Take(to - from).Reverse().Select(c => $"{c[..7]} change {c[..7]}\n")));
                }

            case HostOp.Current:
                return Result(command, 0, Head + "\n");
            case HostOp.Checkout:
                {
                    var commit = words[words.ToList().IndexOf("--hard") + 1];
                    if (!Origin.Contains(commit))
                    {
                        return Result(command, 128, string.Empty, $"fatal: ambiguous argument '{commit}'");
                    }

                    Head = commit;
                    return Result(command, 0, commit + "\n");
                }

            case HostOp.Install:
                Installed = Head;
                return Result(command, 0, "installed\n");
            case HostOp.Build:
                Built = Head;
                return Result(command, 0, "built\n");
            case HostOp.Hook:
                if (words[^1] == MigrationCommand && Database is not null)
                {
                    var next = words.Single(w => w.StartsWith("ATELIER_NEW_COMMIT=", StringComparison.Ordinal))["ATELIER_NEW_COMMIT=".Length..];
                    Database = "schema of " + next;
                }

                return Result(command, 0, "hook ran\n");
            case HostOp.Stop:
                RunningCommit = null;
                MainPid = 0;
                return Result(command, 0, string.Empty);
            case HostOp.Start or HostOp.Restart:
                RunningCommit = Head;
                MainPid = ++_pid;
                _showsSinceStart = 0;
                return Result(command, 0, string.Empty);
            case HostOp.Show:
                return Result(command, 0, Show());
            case HostOp.Journal:
                return Result(command, 0, RunningCommit is null ? string.Empty : $"app[{MainPid}]: running {RunningCommit[..7]}\napp[{MainPid}]: {(Crashes(RunningCommit) ? "crashed" : "listening")}\n");
            case HostOp.Snapshot:
                {
                    if (Database is null)
                    {
                        return Result(command, 66, string.Empty, "atelier: no database file");
                    }

                    var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture);
                    var path = $"{Home}/.atelier/snapshots/app.{stamp}.{Head[..12]}.db";
                    _snapshots[path] = Database;
                    return Result(command, 0, $"atelier-snapshot {path} 4096 sqlite3 {Head[..12]} {stamp}\n");
                }

            case HostOp.SpaceCheck:
                return _snapshots.ContainsKey(words[5])
                    ? Result(command, 0, $"atelier-space needed={DatabaseRestore.NeededBytes(4096)} available=1000000000 snapshot=4096 mount=/\n")
                    : Result(command, DatabaseRestore.SnapshotMissingExitCode, string.Empty, $"atelier: the snapshot {words[5]} is gone");
            case HostOp.RestoreDb:
                if (!_snapshots.TryGetValue(words[5], out var saved))
                {
                    return Result(command, DatabaseRestore.SnapshotMissingExitCode, string.Empty, $"atelier: the snapshot {words[5]} is gone");
                }

                if (RunningCommit is not null)
                {
                    _violations.Add("the database was restored under a running unit");
                }

                Database = saved;
                return Result(command, 0, $"restored {words[6]} from {words[5]}\n");
            default:
                throw new InvalidOperationException($"Unhandled {op}");
        }
    }

    /// <summary>A commit's app crashes when it is marked so, or when its dependencies or build are another commit's.</summary>
    private bool Crashes(string commit) => Crashing.Contains(commit) || Installed != commit || Built != commit;

    private string Show()
    {
        if (RunningCommit is null)
        {
            return "LoadState=loaded\nActiveState=inactive\nSubState=dead\nNRestarts=0\nResult=success\nExecMainStatus=0\nMainPID=0\n";
        }

        if (Crashes(RunningCommit) && _showsSinceStart++ > 0)
        {
            NRestarts++;
            return $"LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nNRestarts={NRestarts}\nResult=exit-code\nExecMainStatus=1\nMainPID=0\n";
        }

        return $"LoadState=loaded\nActiveState=active\nSubState=running\nNRestarts={NRestarts}\nResult=success\nExecMainStatus=0\nMainPID={MainPid}\n";
    }
}
