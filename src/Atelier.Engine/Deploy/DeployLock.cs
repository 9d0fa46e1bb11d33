using System.Diagnostics;
using System.Globalization;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Deploy;

/// <summary>
/// A service's deploy lock on its host, held from the first step of a deploy or restore to its end: the folder
/// <c>~/.atelier/deploy-&lt;service&gt;.lock</c>, created with an atomic <c>mkdir</c> and holding who took it, when,
/// for which commit, and a private token. Only the holder's own release removes it, so a deploy whose lock was broken
/// never deletes its successor's. Every remote step is one run of <c>lock.sh</c> with quoted positional arguments.
/// </summary>
public sealed class DeployLock : IAsyncDisposable
{
    /// <summary>The script's exit code for "held by someone else".</summary>
    public const int HeldExitCode = 75;

    private const string Prefix = "atelier-lock ";
    private static readonly CommandOptions Options = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromSeconds(2);
    private static readonly Lazy<string> Script = new(() => EmbeddedScript.Read("Atelier.Deploy.lock.sh"));
    private readonly IRemoteHost _host;
    private readonly IReporter _reporter;
    private int _released;

    private DeployLock(IRemoteHost host, IReporter reporter, LockHolder holder, LockHolder? broken)
    {
        _host = host;
        _reporter = reporter;
        Holder = holder;
        BrokenHolder = broken;
    }

    /// <summary>This lock's own record on the host.</summary>
    public LockHolder Holder { get; }

    /// <summary>The holder whose lock was broken to take this one (with <see cref="LockRequest.Break"/>), else null.</summary>
    public LockHolder? BrokenHolder { get; }

    public string Service => Holder.Service;

    /// <summary>True once <see cref="ReleaseAsync"/> has run to its end.</summary>
    public bool IsReleased => Volatile.Read(ref _released) == 1;

    /// <summary>Where a service's lock lives on its host.</summary>
    public static string LockPath(string service) => $"~/.atelier/deploy-{RemoteValue.ServiceName(service)}.lock";

    /// <summary>The command that takes the lock once (what runs on the host; for plans).</summary>
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
            breakHeld ? "break" : "wait");
    }

    /// <summary>The command that removes the lock if its owner still has <paramref name="token"/>.</summary>
    public static ShellCommand ReleaseCommand(string service, string token) =>
        ShellCommand.Script(Script.Value, "release", RemoteValue.ServiceName(service), Token(token));

    /// <summary>The command that prints the lock's holder.</summary>
    public static ShellCommand ReadCommand(string service) =>
        ShellCommand.Script(Script.Value, "read", RemoteValue.ServiceName(service));

    /// <summary>
    /// Takes the service's lock. When it is held: waits up to <see cref="LockRequest.Wait"/> (polling every 100 ms,
    /// growing to 2 s), then fails with <see cref="DeployLockHeldException"/> naming the holder; with
    /// <see cref="LockRequest.Break"/>, breaks it first and warns with the broken holder's details.
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
        var token = Guid.NewGuid().ToString("N");
        var command = AcquireCommand(request, token, request.Break);
        var stopwatch = Stopwatch.StartNew();
        var poll = FirstPoll;
        LockHolder? broken = null;
        for (var attempt = 1; ; attempt++)
        {
            var result = await host.RunAsync(command, Options, cancellationToken).ConfigureAwait(false);
            var output = Parse(result.Output);
            if (output.TryGetValue("broken", out var brokenFields))
            {
                broken = LockHolder.FromFields(request.Service, brokenFields);
                reporter.Warning($"Broke the deploy lock of {request.Service} on {host.ComputerName} held by {broken.Describe()}.");
            }

            if (result.ExitCode == 0 && output.TryGetValue("acquired", out var ours))
            {
                return Taken(host, reporter, request, token, ours, broken);
            }

            if (result.ExitCode != HeldExitCode || !output.TryGetValue("held", out var heldFields))
            {
                throw Failure(result, $"Taking the deploy lock of {request.Service} on {host.ComputerName}");
            }

            var holder = LockHolder.FromFields(request.Service, heldFields);
            var left = request.Wait - stopwatch.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new DeployLockHeldException(host.ComputerName, holder, request.Wait);
            }

            if (attempt == 1)
            {
                reporter.Verbose($"Waiting up to {Seconds(request.Wait)} for the deploy lock of {request.Service} on {host.ComputerName}, held by {holder.Describe()}.");
                // A held lock is never broken again on a retry: it was taken by someone after the break.
                command = AcquireCommand(request, token, breakHeld: false);
            }

            await Task.Delay(poll < left ? poll : left, cancellationToken).ConfigureAwait(false);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, LongestPoll.Ticks));
        }
    }

    /// <summary>The current holder of a service's lock, or null when it is free.</summary>
    public static async Task<LockHolder?> ReadAsync(IRemoteHost host, string service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var result = await host.RunAsync(ReadCommand(service), Options, cancellationToken).ConfigureAwait(false);
        var output = Parse(result.Output);
        if (result.ExitCode != 0)
        {
            throw Failure(result, $"Reading the deploy lock of {service} on {host.ComputerName}");
        }

        return output.TryGetValue("held", out var fields) ? LockHolder.FromFields(service, fields) : null;
    }

    /// <summary>
    /// Removes the lock if it is still this one's (a lock broken and taken by someone else is left alone, with a
    /// warning). Returns true when this call removed it; false when it was released before or is no longer ours.
    /// </summary>
    public async Task<bool> ReleaseAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _released, 1) == 1)
        {
            return false;
        }

        try
        {
            var result = await _host.RunAsync(ReleaseCommand(Service, Holder.Token!), Options, cancellationToken).ConfigureAwait(false);
            var output = Parse(result.Output);
            if (result.ExitCode != 0)
            {
                throw Failure(result, $"Releasing the deploy lock of {Service} on {_host.ComputerName}");
            }

            if (output.ContainsKey("released"))
            {
                return true;
            }

            _reporter.Warning(output.TryGetValue("other", out var fields)
                ? $"The deploy lock of {Service} on {_host.ComputerName} was broken while this {Holder.Operation} held it; it is now held by {LockHolder.FromFields(Service, fields).Describe()} and was left to them."
                : $"The deploy lock of {Service} on {_host.ComputerName} was broken while this {Holder.Operation} held it.");
            return false;
        }
        catch
        {
            Volatile.Write(ref _released, 0);
            throw;
        }
    }

    /// <summary>Releases the lock; a failure is reported as a warning, never thrown over the caller's own error.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _reporter.Warning($"Could not release the deploy lock of {Service} on {_host.ComputerName} ({ex.Message}); the next deploy will need -BreakLock.");
        }
    }

    private static DeployLock Taken(IRemoteHost host, IReporter reporter, LockRequest request, string token, List<string> fields, LockHolder? broken)
    {
        var holder = LockHolder.FromFields(request.Service, fields);
        if (holder.Token != token)
        {
            throw new AtelierException("DeployLockFailed", FailureKind.OperationFailed, $"The deploy lock of {request.Service} on {host.ComputerName} was taken, but its record does not carry this deploy's token.");
        }

        reporter.Verbose($"Took the deploy lock of {request.Service} on {host.ComputerName} ({LockPath(request.Service)}).");
        return new DeployLock(host, reporter, holder, broken);
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

    private static AtelierException Failure(CommandResult result, string what) => result.ExitCode == 65
        ? new AtelierException("DeployLockFailed", FailureKind.InvalidArgument, $"{what} failed: {result.Error.Trim().Replace("atelier: ", string.Empty, StringComparison.Ordinal)}")
        : new AtelierException("DeployLockFailed", FailureKind.OperationFailed, $"{what} failed (exit code {result.ExitCode}):\n{result.Tail(10)}");

    private static string Token(string token) =>
        token.Length is > 0 and <= 64 && token.All(char.IsAsciiHexDigitLower) ? token : throw new ArgumentException("A lock token is 1 to 64 lowercase hexadecimal digits.", nameof(token));

    internal static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}

/// <summary>A service's deploy lock stayed held by another deploy or restore (<c>DeployLockHeld</c>).</summary>
public sealed class DeployLockHeldException : AtelierException
{
    public DeployLockHeldException(string computerName, LockHolder holder, TimeSpan waited)
        : base("DeployLockHeld", FailureKind.ResourceBusy, Describe(computerName, holder, waited))
    {
        ComputerName = computerName;
        Holder = holder;
        Waited = waited;
    }

    public string ComputerName { get; }

    public LockHolder Holder { get; }

    public TimeSpan Waited { get; }

    private static string Describe(string computerName, LockHolder holder, TimeSpan waited)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var wait = waited > TimeSpan.Zero
            ? $" Waited {DeployLock.Seconds(waited)} for it."
            : " Use -LockWait to wait for it.";
        return $"The deploy lock of {holder.Service} on {computerName} ({DeployLock.LockPath(holder.Service)}) is held by {holder.Describe()}.{wait} If that deploy is dead, run again with -BreakLock.";
    }
}
