using System.Diagnostics;
using System.Globalization;
using Atelier.History;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Deploy;

/// <summary>
/// A service's deploy lock on its host, and the guard that comes with it: the folder
/// <c>~/.atelier/deploy-&lt;service&gt;.lock</c>, taken under a mutex so that of two deploys (or two breakers) exactly one
/// wins. It records who holds it, for which commit, the step reached and a private token. While the holder lives it
/// sends heartbeats (<see cref="StartHeartbeat"/>); a guard started with the lock, detached from the SSH session, takes
/// over when they stop for <see cref="LockRequest.GuardTimeout"/>: it stops the step left running, runs the put-back
/// plan written by <see cref="ArmAsync"/>, records why and releases the lock. Every step of the deploy runs through
/// <see cref="RunStepAsync"/>, which records the step and its process group first and refuses to start once the guard
/// has taken over. Every remote call is one run of <c>lock.sh</c> with quoted positional arguments.
/// </summary>
public sealed class DeployLock : IAsyncDisposable
{
    /// <summary>The script's exit code for "held by someone else".</summary>
    public const int HeldExitCode = 75;

    /// <summary>The script's exit code for "the guard has taken over this deploy".</summary>
    public const int TakenOverExitCode = 76;

    /// <summary>The script's exit code for "the lock is no longer this deploy's".</summary>
    public const int LostExitCode = 77;

    private const string Prefix = "atelier-lock ";
    private static readonly CommandOptions Options = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromSeconds(2);
    private static readonly Lazy<string> Script = new(() => EmbeddedScript.Read("Atelier.Deploy.lock.sh"));
    private static readonly Lazy<string> GuardScript = new(() => EmbeddedScript.Read("Atelier.Deploy.guard.sh"));
    private static readonly Lazy<string> AppendScript = new(() => EmbeddedScript.Read("Atelier.History.append.sh"));
    private readonly IRemoteHost _host;
    private readonly IReporter _reporter;
    private readonly CancellationTokenSource _takenOver = new();
    private CancellationTokenSource? _beating;
    private Task? _heartbeat;
    private int _released;

    private DeployLock(IRemoteHost host, IReporter reporter, LockHolder holder, LockHolder? broken, string? notice, TimeSpan guardTimeout)
    {
        _host = host;
        _reporter = reporter;
        Holder = holder;
        BrokenHolder = broken;
        Notice = notice;
        GuardTimeout = guardTimeout;
    }

    /// <summary>This lock's own record on the host.</summary>
    public LockHolder Holder { get; }

    /// <summary>The dead holder whose lock was broken to take this one (with <see cref="LockRequest.Break"/>), else null.</summary>
    public LockHolder? BrokenHolder { get; }

    /// <summary>What the guard of an earlier deploy did, when one took over since the last lock (else null).</summary>
    public string? Notice { get; }

    /// <summary>How long this holder may fall silent before its guard takes over.</summary>
    public TimeSpan GuardTimeout { get; }

    public string Service => Holder.Service;

    /// <summary>Cancelled when a heartbeat finds that the guard has taken over (the client was taken for dead).</summary>
    public CancellationToken TakenOver => _takenOver.Token;

    /// <summary>True once the lock was finished or released (or found no longer ours).</summary>
    public bool IsReleased => Volatile.Read(ref _released) == 1;

    /// <summary>Where a service's lock lives on its host.</summary>
    public static string LockPath(string service) => $"~/.atelier/deploy-{RemoteValue.ServiceName(service)}.lock";

    /// <summary>The interval between heartbeats for a guard timeout: a fifth of it, between 0.5 s and 5 s.</summary>
    public static TimeSpan HeartbeatInterval(TimeSpan guardTimeout) =>
        TimeSpan.FromTicks(Math.Clamp(guardTimeout.Ticks / 5, TimeSpan.FromMilliseconds(500).Ticks, TimeSpan.FromSeconds(5).Ticks));

    /// <summary>The command that takes the lock once and starts its guard (what runs on the host; for plans).</summary>
    public static ShellCommand AcquireCommand(LockRequest request, string token, bool breakHeld)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ShellCommand.Script(
            Script.Value,
            "acquire",
            RemoteValue.ServiceName(request.Service),
            Token(token),
            request.Operation.ToString().ToLowerInvariant(),
            RemoteValue.OneLineText(request.Holder, "lock holder", LockRequest.MaxTextLength),
            RemoteValue.OneLineText(request.Commit, "lock commit", LockRequest.MaxTextLength, allowEmpty: true),
            breakHeld ? "break" : "wait",
            Seconds(request.GuardTimeout),
            GuardScript.Value,
            AppendScript.Value,
            Script.Value,
            request.Record is null ? string.Empty : HostHistory.Line(request.Record),
            request.Operation == LockOperation.Maintenance ? RemoteValue.OneLineText(request.Message, "lock message", LockRequest.MaxTextLength) : string.Empty);
    }

    /// <summary>
    /// The command that removes a service's lock for Unlock-ServiceDeploy: when its holder is dead, or it is a
    /// maintenance lock of <paramref name="by"/>; a live holder's (its guard stopped first), or a dead deploy's that had
    /// moved the code, only with <paramref name="force"/>.
    /// </summary>
    public static ShellCommand UnlockCommand(string service, string token, string by, bool force) =>
        ShellCommand.Script(Script.Value, "unlock", RemoteValue.ServiceName(service), Token(token),
            RemoteValue.OneLineText(by, "lock holder", LockRequest.MaxTextLength), force ? "force" : string.Empty);

    /// <summary>
    /// Holds a service's lock for maintenance (Lock-ServiceDeploy): taken once, with no heartbeat and no guard, it stays
    /// until <see cref="UnlockAsync"/>; every deploy and restore meanwhile fails naming its holder and message, or waits
    /// (-LockWait). Held by anyone else, it fails with <see cref="DeployLockHeldException"/>.
    /// </summary>
    public static async Task<LockHolder> HoldAsync(IRemoteHost host, LockRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Operation != LockOperation.Maintenance)
        {
            throw new ArgumentException("Only a maintenance lock is held this way; a deploy's lock is taken with AcquireAsync.", nameof(request));
        }

        var token = Guid.NewGuid().ToString("N");
        var result = await host.RunAsync(AcquireCommand(request, token, breakHeld: false), Options, cancellationToken).ConfigureAwait(false);
        var output = Parse(result.Output);
        if (result.ExitCode == 0 && output.TryGetValue("acquired", out var ours))
        {
            return LockHolder.FromFields(request.Service, ours) with { ComputerName = host.ComputerName };
        }

        if (result.ExitCode == HeldExitCode && output.TryGetValue("held", out var held))
        {
            throw new DeployLockHeldException(host.ComputerName, LockHolder.FromFields(request.Service, held), TimeSpan.Zero);
        }

        throw Failure(result, $"Taking the deploy lock of {request.Service} on {host.ComputerName}");
    }

    /// <summary>
    /// Removes a service's lock (Unlock-ServiceDeploy, see <see cref="UnlockCommand"/>). Returns the holder it removed, or
    /// null when the lock was free.
    /// </summary>
    /// <exception cref="AtelierException"><c>DeployLockLive</c> (a live holder, without <paramref name="force"/>) or
    /// <c>DeployLockMoved</c> (a dead deploy that had moved the code: Restore-ServiceDeploy -BreakLock puts it back).</exception>
    public static async Task<LockHolder?> UnlockAsync(IRemoteHost host, string service, string by, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var result = await host.RunAsync(UnlockCommand(service, Guid.NewGuid().ToString("N"), by, force), Options, cancellationToken).ConfigureAwait(false);
        var output = Parse(result.Output);
        if (result.ExitCode == 0 && output.TryGetValue("unlocked", out var removed))
        {
            return LockHolder.FromFields(service, removed) with { ComputerName = host.ComputerName };
        }

        if (result.ExitCode == 0 && output.ContainsKey("free"))
        {
            return null;
        }

        if (result.ExitCode == HeldExitCode && output.TryGetValue("held", out var held))
        {
            var holder = LockHolder.FromFields(service, held);
            var head = $"The deploy lock of {service} on {host.ComputerName} ({LockPath(service)}) is held by {holder.Describe()}";
            throw output.ContainsKey("moved")
                ? new AtelierException("DeployLockMoved", FailureKind.ResourceBusy, $"{head}, which is dead ({holder.Why}) but had moved the code.")
                {
                    Hints = [Hint.UnlockPutsNothingBack],
                }
                : new AtelierException("DeployLockLive", FailureKind.ResourceBusy, $"{head}, which is alive: {holder.Why}.")
                {
                    Hints = [holder.IsMaintenance ? Hint.UnlockLiveMaintenance : Hint.UnlockLiveDeploy],
                };
        }

        throw Failure(result, $"Unlocking the deploy lock of {service} on {host.ComputerName}");
    }

    /// <summary>The command that ends the lock for its holder: refused once the guard has taken over.</summary>
    public static ShellCommand FinishCommand(string service, string token, DeployRecord? record = null) =>
        record is null
            ? ShellCommand.Script(Script.Value, "finish", RemoteValue.ServiceName(service), Token(token))
            : ShellCommand.Script(Script.Value, "finish", RemoteValue.ServiceName(service), Token(token), HostHistory.Line(record));

    /// <summary>The command that prints the lock's holder and its state.</summary>
    public static ShellCommand ReadCommand(string service) =>
        ShellCommand.Script(Script.Value, "read", RemoteValue.ServiceName(service));

    /// <summary>A heartbeat: tells the guard the client lives, and answers whether the guard has taken over.</summary>
    public static ShellCommand BeatCommand(string service, string token) =>
        ShellCommand.Script(Script.Value, "beat", RemoteValue.ServiceName(service), Token(token));

    /// <summary>Stops what is left of the step the lock records (after a lost connection).</summary>
    public static ShellCommand StopStepCommand(string service, string token) =>
        ShellCommand.Script(Script.Value, "stop-step", RemoteValue.ServiceName(service), Token(token));

    /// <summary>
    /// Runs <paramref name="command"/> as the step <paramref name="step"/>: the lock records the step, the
    /// <paramref name="notes"/> (<c>key=value</c>) and the step's process group first, then refuses if the guard has
    /// taken over, then runs the command.
    /// </summary>
    public static ShellCommand StepCommand(string service, string token, string step, IEnumerable<string> notes, ShellCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return ShellCommand.Script(
            Script.Value,
            [
                "step", RemoteValue.ServiceName(service), Token(token), StepName(step),
                .. notes.Select(Note), "--", command.Text,
            ]);
    }

    /// <summary>
    /// Arms the guard before the code moves: the <paramref name="notes"/>, the deploy's "started" history record (appended
    /// to the host's history too), and the put-back plan, each item a step name and its command (a null command is the
    /// health check).
    /// </summary>
    public static ShellCommand ArmCommand(string service, string token, IEnumerable<string> notes, DeployRecord started, IEnumerable<PutBackStep> plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return ShellCommand.Script(
            Script.Value,
            [
                "arm", RemoteValue.ServiceName(service), Token(token),
                .. notes.Select(Note), "--", HostHistory.Line(started),
                .. plan.SelectMany(s => new[] { StepName(s.Name), s.Command?.Text ?? string.Empty }),
            ]);
    }

    /// <summary>
    /// Takes the service's lock and starts its guard. When it is held: waits up to <see cref="LockRequest.Wait"/>
    /// (polling every 100 ms, growing to 2 s), then fails with <see cref="DeployLockHeldException"/> naming the holder
    /// and whether it lives; with <see cref="LockRequest.Break"/>, a dead holder's lock is broken first (with a warning),
    /// a live holder's never.
    /// </summary>
    /// <exception cref="RemoteValueException">A value is refused (before anything runs on the host).</exception>
    /// <exception cref="DeployLockHeldException">The lock stayed held (<c>DeployLockHeld</c>, ResourceBusy).</exception>
    /// <exception cref="AtelierException">The lock could not be taken (<c>DeployLockFailed</c>).</exception>
    public static async Task<DeployLock> AcquireAsync(IRemoteHost host, LockRequest request, IReporter reporter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(reporter);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Wait, TimeSpan.Zero, nameof(request));
        ArgumentOutOfRangeException.ThrowIfLessThan(request.GuardTimeout, LockRequest.MinimumGuardTimeout, nameof(request));
        var token = Guid.NewGuid().ToString("N");
        var command = AcquireCommand(request, token, request.Break);
        var stopwatch = Stopwatch.StartNew();
        var poll = FirstPoll;
        for (var attempt = 1; ; attempt++)
        {
            var result = await host.RunAsync(command, Options, cancellationToken).ConfigureAwait(false);
            var output = Parse(result.Output);
            LockHolder? broken = null;
            if (output.TryGetValue("broken", out var brokenFields))
            {
                broken = LockHolder.FromFields(request.Service, brokenFields);
                reporter.Warning($"Broke the deploy lock of {request.Service} on {host.ComputerName} held by {broken.Describe()}, which was dead ({broken.Why ?? "no owner record"}).");
            }

            if (result.ExitCode == 0 && output.TryGetValue("acquired", out var ours))
            {
                var notice = output.TryGetValue("notice", out var notices) ? string.Join(' ', notices) : null;
                return Taken(host, reporter, request, token, ours, broken, notice);
            }

            if (result.ExitCode != HeldExitCode || !output.TryGetValue("held", out var heldFields))
            {
                throw Failure(result, $"Taking the deploy lock of {request.Service} on {host.ComputerName}");
            }

            var holder = LockHolder.FromFields(request.Service, heldFields);
            var left = request.Wait - stopwatch.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new DeployLockHeldException(host.ComputerName, holder, request.Wait, refusedBreak: output.ContainsKey("live"));
            }

            if (attempt == 1)
            {
                reporter.Verbose($"Waiting up to {Seconds(request.Wait)} s for the deploy lock of {request.Service} on {host.ComputerName}, held by {holder.Describe()}.");
            }

            await Task.Delay(poll < left ? poll : left, cancellationToken).ConfigureAwait(false);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, LongestPoll.Ticks));
        }
    }

    /// <summary>The current holder of a service's lock (with whether it lives), or null when it is free.</summary>
    public static async Task<LockHolder?> ReadAsync(IRemoteHost host, string service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var result = await host.RunAsync(ReadCommand(service), Options, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw Failure(result, $"Reading the deploy lock of {service} on {host.ComputerName}");
        }

        return ParseRead(service, result.Output);
    }

    /// <summary>
    /// The holder that the output of <see cref="ReadCommand"/> names (its <c>atelier-lock held</c> lines; other lines are
    /// ignored), or null when it says the lock is free.
    /// </summary>
    public static LockHolder? ParseRead(string service, string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return Parse(output).TryGetValue("held", out var fields) ? LockHolder.FromFields(service, fields) : null;
    }

    /// <summary>
    /// Runs one step of the deploy on the host through the lock (see <see cref="StepCommand"/>). A non-zero exit of the
    /// command is returned, like <see cref="IRemoteHost.RunAsync"/> does.
    /// </summary>
    /// <exception cref="GuardTookOverException">The guard has taken over: the step did not start.</exception>
    /// <exception cref="DeployLockLostException">The lock is no longer this deploy's: the step did not start.</exception>
    public async Task<CommandResult> RunStepAsync(string step, ShellCommand command, CommandOptions options, IEnumerable<string> notes, CancellationToken cancellationToken)
    {
        var result = await _host.RunAsync(StepCommand(Service, Holder.Token!, step, notes, command), options, cancellationToken).ConfigureAwait(false);
        ThrowIfRefused(result, step);
        return result;
    }

    /// <summary>Arms the guard (see <see cref="ArmCommand"/>) and appends the "started" record to the host's history.</summary>
    public async Task ArmAsync(IEnumerable<string> notes, DeployRecord started, IReadOnlyList<PutBackStep> plan, CancellationToken cancellationToken)
    {
        var result = await _host.RunAsync(ArmCommand(Service, Holder.Token!, notes, started, plan), Options, cancellationToken).ConfigureAwait(false);
        ThrowIfRefused(result, "arm");
        if (!result.Succeeded || !result.Output.Contains("atelier-lock armed", StringComparison.Ordinal))
        {
            throw Failure(result, $"Arming the guard of {Service} on {_host.ComputerName}");
        }
    }

    /// <summary>
    /// Sends a heartbeat every <see cref="HeartbeatInterval"/> until the lock is finished, from a background task over
    /// the same connection. A heartbeat that fails (a connection lost for a moment) is retried at the next interval;
    /// one that finds the guard has taken over cancels <see cref="TakenOver"/>.
    /// </summary>
    public void StartHeartbeat()
    {
        if (_beating is not null)
        {
            return;
        }

        _beating = new CancellationTokenSource();
        var stop = _beating.Token;
        var interval = HeartbeatInterval(GuardTimeout);
        var options = new CommandOptions { Timeout = GuardTimeout };
        _heartbeat = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(interval, stop).ConfigureAwait(false);
                    var result = await _host.RunAsync(BeatCommand(Service, Holder.Token!), options, stop).ConfigureAwait(false);
                    if (result.ExitCode is TakenOverExitCode or LostExitCode)
                    {
                        _reporter.Verbose($"[{Service}] heartbeat: {(result.ExitCode == TakenOverExitCode ? "the guard has taken over" : "the lock is no longer ours")}");
                        await _takenOver.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    _reporter.Verbose($"[{Service}] heartbeat failed ({ex.Message}); trying again in {Seconds(interval)} s");
                }
            }
        }, CancellationToken.None);
    }

    /// <summary>Stops sending heartbeats (before the lock is finished), and waits for the one under way.</summary>
    public async Task StopHeartbeatAsync()
    {
        if (_beating is null)
        {
            return;
        }

        await _beating.CancelAsync().ConfigureAwait(false);
        try
        {
            await _heartbeat!.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops what is left on the host of the step the lock records: for a step whose connection was lost.</summary>
    public async Task StopStepAsync(CancellationToken cancellationToken)
    {
        var result = await _host.RunAsync(StopStepCommand(Service, Holder.Token!), Options, cancellationToken).ConfigureAwait(false);
        ThrowIfRefused(result, "stop-step");
        if (result.Output.Contains("atelier-lock stopped-step", StringComparison.Ordinal))
        {
            _reporter.Verbose($"[{Service}] stopped the processes the lost step left on {_host.ComputerName}");
        }
    }

    /// <summary>
    /// Ends the lock for its holder: appends <paramref name="record"/> (when given) to the host's history, stops the guard
    /// and removes the lock, in one step. Returns <see cref="LockEnd.Finished"/>; <see cref="LockEnd.TakenOver"/> when the
    /// guard took over first (it records the outcome and releases the lock itself); <see cref="LockEnd.Lost"/> when the
    /// lock was no longer this deploy's.
    /// </summary>
    public async Task<LockEnd> FinishAsync(DeployRecord? record, CancellationToken cancellationToken)
    {
        await StopHeartbeatAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _released, 1) == 1)
        {
            return LockEnd.Lost;
        }

        try
        {
            var result = await _host.RunAsync(FinishCommand(Service, Holder.Token!, record), Options, cancellationToken).ConfigureAwait(false);
            switch (result.ExitCode)
            {
                case 0 when result.Output.Contains("atelier-lock finished", StringComparison.Ordinal):
                    foreach (var line in result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        _reporter.Warning($"{_host.ComputerName}: {line.Replace("atelier: ", string.Empty, StringComparison.Ordinal)}");
                    }

                    return LockEnd.Finished;
                case TakenOverExitCode:
                    return LockEnd.TakenOver;
                case LostExitCode:
                    return LockEnd.Lost;
                default:
                    throw Failure(result, $"Releasing the deploy lock of {Service} on {_host.ComputerName}");
            }
        }
        catch
        {
            Volatile.Write(ref _released, 0);
            throw;
        }
    }

    /// <summary>
    /// Removes the lock if it is still this one's, recording nothing (a lock broken and taken by someone else, or taken
    /// over by its guard, is left alone, with a warning). Returns true when this call removed it.
    /// </summary>
    public async Task<bool> ReleaseAsync(CancellationToken cancellationToken)
    {
        if (IsReleased)
        {
            return false;
        }

        switch (await FinishAsync(null, cancellationToken).ConfigureAwait(false))
        {
            case LockEnd.Finished:
                return true;
            case LockEnd.TakenOver:
                _reporter.Warning($"The guard of this {Holder.Operation} of {Service} on {_host.ComputerName} has taken over; it releases the lock when it is done.");
                return false;
            default:
                var now = await ReadAsync(_host, Service, cancellationToken).ConfigureAwait(false);
                _reporter.Warning(now is not null
                    ? $"The deploy lock of {Service} on {_host.ComputerName} was broken while this {Holder.Operation} held it; it is now held by {now.Describe()} and was left to them."
                    : $"The deploy lock of {Service} on {_host.ComputerName} was broken while this {Holder.Operation} held it.");
                return false;
        }
    }

    /// <summary>Releases the lock if nothing ended it; a failure is reported as a warning, never thrown over the caller's own error.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!IsReleased)
            {
                await ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await StopHeartbeatAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _reporter.Warning($"Could not release the deploy lock of {Service} on {_host.ComputerName} ({ex.Message}); its guard releases it after {Seconds(GuardTimeout)} s without a heartbeat.");
        }
        finally
        {
            _beating?.Dispose();
            _takenOver.Dispose();
        }
    }

    private static DeployLock Taken(IRemoteHost host, IReporter reporter, LockRequest request, string token, List<string> fields, LockHolder? broken, string? notice)
    {
        var holder = LockHolder.FromFields(request.Service, fields);
        if (holder.Token != token)
        {
            throw new AtelierException("DeployLockFailed", FailureKind.OperationFailed, $"The deploy lock of {request.Service} on {host.ComputerName} was taken, but its record does not carry this deploy's token.");
        }

        reporter.Verbose($"Took the deploy lock of {request.Service} on {host.ComputerName} ({LockPath(request.Service)}); its guard takes over after {Seconds(request.GuardTimeout)} s without a heartbeat.");
        if (notice is not null)
        {
            reporter.Warning($"{request.Service} on {host.ComputerName}: the guard of an earlier deploy took over: {notice}");
        }

        return new DeployLock(host, reporter, holder, broken, notice, request.GuardTimeout);
    }

    private void ThrowIfRefused(CommandResult result, string step)
    {
        if (result.ExitCode == TakenOverExitCode && (result.Error.Contains("the guard has taken over", StringComparison.Ordinal) || result.Output.Contains("atelier-lock taken-over", StringComparison.Ordinal)))
        {
            _takenOver.Cancel();
            throw new GuardTookOverException(Service, _host.ComputerName, step);
        }

        if (result.ExitCode == LostExitCode && (result.Error.Contains("is no longer this deploy's", StringComparison.Ordinal) || result.Output.Contains("atelier-lock lost", StringComparison.Ordinal)))
        {
            throw new DeployLockLostException(Service, _host.ComputerName, step);
        }
    }

    /// <summary>Groups the script's <c>atelier-lock &lt;tag&gt; [key=value]</c> lines by tag.</summary>
    private static Dictionary<string, List<string>> Parse(string output)
    {
        var tags = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = line[Prefix.Length..];
            var space = rest.IndexOf(' ', StringComparison.Ordinal);
            var tag = space < 0 ? rest : rest[..space];
            if (!tags.TryGetValue(tag, out var fields))
            {
                tags[tag] = fields = [];
            }

            if (space >= 0)
            {
                fields.Add(rest[(space + 1)..]);
            }
        }

        return tags;
    }

    /// <summary>Longest value of a lock note: the longest value a note carries is a path (the database's).</summary>
    public const int MaxNoteLength = RemoteValue.MaxPathBytes;

    private static AtelierException Failure(CommandResult result, string what) => result.ExitCode == 65
        ? new AtelierException("DeployLockFailed", FailureKind.InvalidArgument, $"{what} failed: {result.Error.Trim().Replace("atelier: ", string.Empty, StringComparison.Ordinal)}")
        : new AtelierException("DeployLockFailed", FailureKind.OperationFailed, $"{what} failed (exit code {result.ExitCode}):\n{result.Tail(10)}");

    private static string Token(string token) =>
        token.Length is > 0 and <= 64 && token.All(char.IsAsciiHexDigitLower) ? token : throw new ArgumentException("A lock token is 1 to 64 lowercase hexadecimal digits.", nameof(token));

    /// <summary>
    /// A step name as the lock records it: lowercase letters, spaces, colons and (not first) hyphens (e.g.
    /// <c>rollback: build</c>, <c>pre-restart</c>).
    /// </summary>
    private static string StepName(string step) =>
        step.Length is > 0 and <= 64 && step[0] != '-' && step.All(c => c is (>= 'a' and <= 'z') or ' ' or ':' or '-')
            ? step
            : throw new ArgumentException($"A step name is 1 to 64 lowercase letters, spaces, colons and hyphens (not first): '{step}'.", nameof(step));

    /// <summary>A <c>key=value</c> note: a lowercase key, and one line of value.</summary>
    private static string Note(string note)
    {
        var equals = note.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0 || !note[..equals].All(char.IsAsciiLetterLower))
        {
            throw new ArgumentException($"A lock note is key=value with a lowercase key: '{note}'.", nameof(note));
        }

        RemoteValue.OneLineText(note[(equals + 1)..], "lock note", MaxNoteLength, allowEmpty: true);
        return note;
    }

    internal static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>How <see cref="DeployLock.FinishAsync"/> ended.</summary>
public enum LockEnd
{
    /// <summary>The holder ended it: recorded, guard stopped, lock removed.</summary>
    Finished,

    /// <summary>The guard took over first: it records the outcome and releases the lock itself.</summary>
    TakenOver,

    /// <summary>The lock was no longer this holder's (broken by someone else, or removed by hand).</summary>
    Lost,
}

/// <summary>One item of a put-back plan: a step name and its command; a null command is the health check.</summary>
public sealed record PutBackStep(string Name, ShellCommand? Command);

/// <summary>A service's deploy lock stayed held by another deploy or restore, or its live holder was not broken (<c>DeployLockHeld</c>).</summary>
public sealed class DeployLockHeldException : AtelierException
{
    public DeployLockHeldException(string computerName, LockHolder holder, TimeSpan waited, bool refusedBreak = false)
        : base("DeployLockHeld", FailureKind.ResourceBusy, Describe(computerName, holder, waited))
    {
        ArgumentNullException.ThrowIfNull(holder);
        var wait = waited > TimeSpan.Zero ? [] : new[] { Hint.WaitForLock };
        Hints = holder.Alive switch
        {
            true when refusedBreak => [Hint.BreakOnlyDead, .. wait],
            true => wait,
            false => [Hint.BreakDead],
            _ => [.. wait, Hint.BreakIfDead],
        };
        ComputerName = computerName;
        Holder = holder;
        Waited = waited;
        RefusedBreak = refusedBreak;
    }

    public string ComputerName { get; }

    public LockHolder Holder { get; }

    public TimeSpan Waited { get; }

    /// <summary>True when -BreakLock was asked for and refused because the holder lives.</summary>
    public bool RefusedBreak { get; }

    /// <summary>What holds the lock; what the user can do about it is in <see cref="AtelierException.Hints"/>.</summary>
    private static string Describe(string computerName, LockHolder holder, TimeSpan waited)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var wait = waited > TimeSpan.Zero ? $" Waited {DeployLock.Seconds(waited)} s for it." : string.Empty;
        var head = $"The deploy lock of {holder.Service} on {computerName} ({DeployLock.LockPath(holder.Service)}) is held by {holder.Describe()}";
        return holder.Alive switch
        {
            true => $"{head}, which is alive: {holder.Why}.{wait}",
            false => $"{head}, which is dead ({holder.Why}).",
            _ => $"{head}.{wait}",
        };
    }
}

/// <summary>The deploy's guard took over (the client was silent longer than the guard timeout): the step did not run.</summary>
public sealed class GuardTookOverException(string service, string computerName, string step)
    : AtelierException("GuardTookOver", FailureKind.OperationFailed, $"The guard of the deploy of {service} on {computerName} has taken over (this client was silent longer than the guard timeout); the {step} step did not run.")
{
    public string Step { get; } = step;
}

/// <summary>The lock is no longer this deploy's (broken by someone else): the step did not run.</summary>
public sealed class DeployLockLostException(string service, string computerName, string step)
    : AtelierException("DeployLockLost", FailureKind.OperationFailed, $"The deploy lock of {service} on {computerName} is no longer this deploy's (it was broken); the {step} step did not run.")
{
    public string Step { get; } = step;
}
