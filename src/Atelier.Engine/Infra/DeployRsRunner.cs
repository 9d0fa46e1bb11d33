using System.Diagnostics;
using Atelier.Output;
using Atelier.Transport;

namespace Atelier.Infra;

/// <summary>One deploy-rs process for one node: its full command (program first) and where it runs.</summary>
public sealed record DeployRsInvocation(string Node, IReadOnlyList<string> Command)
{
    /// <summary>The folder deploy-rs runs in (a relative flake such as <c>.</c> is relative to it); null for this process's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables set (or, with a null value, removed) in deploy-rs's environment on top of this process's.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>How one deploy-rs run ended: the exit code, the verdict from its output, and its log.</summary>
public sealed record DeployRsOutcome
{
    public required string Node { get; init; }

    /// <summary>The process's exit code (-1 when it could not start).</summary>
    public int ExitCode { get; init; }

    /// <summary>Exit code 0, no <c>[ERROR]</c> line, no rollback by deploy-rs (see <see cref="DeployRsOutput.Judge"/>).</summary>
    public bool Succeeded { get; init; }

    /// <summary>deploy-rs said it rolled the node back itself (auto or magic rollback).</summary>
    public bool RolledBackByDeployRs { get; init; }

    /// <summary>Why it failed, or null.</summary>
    public string? Error { get; init; }

    /// <summary>Every line it wrote, standard output and error in the order they came, cleaned and redacted (the first <see cref="DeployRsRunner.MaxLogLines"/>, then the last ones).</summary>
    public IReadOnlyList<string> Log { get; init; } = [];

    public DateTimeOffset StartedAt { get; init; }

    public TimeSpan Duration { get; init; }

    /// <summary>The last <paramref name="lines"/> lines of the log, joined with newlines.</summary>
    public string Tail(int lines = DeployRsRunner.TailLines) => string.Join('\n', Log.TakeLast(lines));
}

/// <summary>Runs deploy-rs for one node. The real one starts a process (<see cref="DeployRsRunner"/>).</summary>
public interface IDeployRsRunner
{
    /// <summary>Runs to the end and returns the outcome; a failure of deploy-rs is an outcome, not an exception.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled; the process and its children were killed.</exception>
    Task<DeployRsOutcome> RunAsync(DeployRsInvocation invocation, CancellationToken cancellationToken);
}

/// <summary>
/// Starts deploy-rs processes: each line they write, cleaned and redacted (<see cref="HostText"/>: deploy-rs relays
/// the activation's output from the node), goes to the reporter's verbose stream as it comes, prefixed <c>[node]</c>;
/// the outcome is decided from the exit code and the output (<see cref="DeployRsOutput"/>).
/// Cancelling kills the whole process tree (deploy-rs, its nix and ssh children): the process is a <see cref="LocalProcess"/>.
/// </summary>
public sealed class DeployRsRunner : IDeployRsRunner
{
    /// <summary>How many lines a result keeps as its log tail.</summary>
    public const int TailLines = 40;

    /// <summary>How many lines of a run are kept in memory: the first half and the last half of this, when it writes more.</summary>
    public const int MaxLogLines = 10_000;

    private readonly IReporter _reporter;
    private readonly HostText _text;

    /// <param name="reporter">Where each line goes as it comes.</param>
    /// <param name="text">What cleans and redacts the lines (default: the built-in redaction only).</param>
    public DeployRsRunner(IReporter reporter, HostText? text = null)
    {
        _reporter = reporter;
        _text = text ?? HostText.Default;
    }

    public async Task<DeployRsOutcome> RunAsync(DeployRsInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        if (invocation.Command.Count == 0)
        {
            throw new ArgumentException("The deploy-rs command is empty.", nameof(invocation));
        }

        var started = DateTimeOffset.UtcNow;
        var stopwatch = Stopwatch.StartNew();
        _reporter.Verbose($"[{invocation.Node}] running: {CommandWords.Join(invocation.Command)}");
        var log = new RunLog();
        var (outCleaner, errCleaner) = (_text.LineByLine(), _text.LineByLine());
        LocalProcessResult result;
        try
        {
            result = await LocalProcess.RunAsync(
                new LocalProcessStart
                {
                    Program = invocation.Command[0],
                    Arguments = [.. invocation.Command.Skip(1)],
                    WorkingDirectory = invocation.WorkingDirectory,
                    Environment = invocation.Environment,
                    KeepOutput = false,
                    KeepError = false,
                    OnLine = line =>
                    {
                        var plain = (line.IsError ? errCleaner : outCleaner).Next(line.Text);
                        log.Add(plain);
                        _reporter.Verbose($"[{invocation.Node}] {plain}");
                    },
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (ProgramStartException ex)
        {
            return new DeployRsOutcome
            {
                Node = invocation.Node,
                ExitCode = -1,
                Error = ex.Message,
                StartedAt = started,
                Duration = stopwatch.Elapsed,
            };
        }
        catch (OperationCanceledException)
        {
            _reporter.Verbose($"[{invocation.Node}] stopped: deploy-rs was killed.");
            throw;
        }

        var lines = log.Lines();
        var (succeeded, rolledBack, error) = DeployRsOutput.Judge(result.ExitCode, lines);
        return new DeployRsOutcome
        {
            Node = invocation.Node,
            ExitCode = result.ExitCode,
            Succeeded = succeeded,
            RolledBackByDeployRs = rolledBack,
            Error = error,
            Log = lines,
            StartedAt = started,
            Duration = stopwatch.Elapsed,
        };
    }

    /// <summary>The lines of one run (both outputs, as they came): the first half of the limit, then a rolling last half.</summary>
    private sealed class RunLog
    {
        private readonly object _gate = new();
        private readonly List<string> _head = [];
        private readonly Queue<string> _tail = new();
        private int _dropped;

        public void Add(string line)
        {
            lock (_gate)
            {
                if (_head.Count < MaxLogLines / 2)
                {
                    _head.Add(line);
                    return;
                }

                _tail.Enqueue(line);
                if (_tail.Count > MaxLogLines / 2)
                {
                    _tail.Dequeue();
                    _dropped++;
                }
            }
        }

        public IReadOnlyList<string> Lines()
        {
            lock (_gate)
            {
                return _dropped == 0
                    ? [.. _head, .. _tail]
                    : [.. _head, $"... ({_dropped} lines left out) ...", .. _tail];
            }
        }
    }
}
