using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Atelier.Output;

namespace Atelier.Manifest;

/// <summary>One machine to probe: its name, and the host and port of its SSH server.</summary>
public sealed record MachineTarget(string Machine, string Host, int Port);

/// <summary>
/// Tells whether machines are online: connects over TCP to each one's SSH port and reads the server's identification
/// line (RFC 4253 §4.2: <c>SSH-</c>..., possibly after other lines), within a timeout that covers the connect and the
/// line together. Many machines are probed at once, up to a throttle limit. Nothing is sent and no login is tried.
/// </summary>
public sealed class MachineProbe
{
    public const int DefaultPort = 22;
    public const int DefaultThrottleLimit = 32;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The most a server may send before its identification line before it counts as not SSH.</summary>
    public const int MaxPreambleBytes = 8192;

    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    public MachineProbe(TimeSpan timeout, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _timeout = timeout;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Probes every target, <paramref name="throttleLimit"/> at a time; each status goes to <paramref name="onResult"/> as soon as it is known (from a pool thread).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task RunAsync(IEnumerable<MachineTarget> targets, int throttleLimit, Action<MachineStatus> onResult, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(onResult);
        ArgumentOutOfRangeException.ThrowIfLessThan(throttleLimit, 1);
        var options = new ParallelOptions { MaxDegreeOfParallelism = throttleLimit, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(targets, options, async (target, token) => onResult(await ProbeAsync(target, token).ConfigureAwait(false))).ConfigureAwait(false);
    }

    /// <summary>Probes one machine. A machine that cannot be reached is a status with <c>Online</c> false, not an exception.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<MachineStatus> ProbeAsync(MachineTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        var started = _time.GetTimestamp();
        var connected = false;
        var endpoint = $"{target.Host}:{target.Port.ToString(CultureInfo.InvariantCulture)}";
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(target.Host, target.Port, deadline.Token).ConfigureAwait(false);
            connected = true;
            var (banner, other) = await ReadIdentificationAsync(client.GetStream(), deadline.Token).ConfigureAwait(false);
            if (banner is null)
            {
                return Status(target, null, null, other is null
                    ? $"{endpoint} closed the connection without an SSH identification line"
                    : $"{endpoint} is not an SSH server: it sent '{other}'");
            }

            return Status(target, banner, _time.GetElapsedTime(started).TotalMilliseconds, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Status(target, null, null, connected
                ? $"{endpoint} accepted the connection but sent no SSH identification line within {ManifestSource.Seconds(_timeout)}"
                : $"no answer from {endpoint} within {ManifestSource.Seconds(_timeout)}");
        }
        catch (SocketException ex)
        {
            return Status(target, null, null, Describe(ex, target, endpoint));
        }
        catch (IOException ex)
        {
            return Status(target, null, null, $"the connection to {endpoint} broke before the SSH identification line ({ex.InnerException?.Message ?? ex.Message})");
        }
    }

    /// <summary>Reads lines until one starts with <c>SSH-</c>; returns it, or null and the first other line seen.</summary>
    private static async Task<(string? Banner, string? Other)> ReadIdentificationAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxPreambleBytes];
        var length = 0;
        var lineStart = 0;
        string? other = null;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                var rest = Line(buffer, lineStart, length);
                return rest.StartsWith("SSH-", StringComparison.Ordinal) ? (rest, other) : (null, other ?? NullIfEmpty(rest));
            }

            length += read;
            int newline;
            while ((newline = Array.IndexOf(buffer, (byte)'\n', lineStart, length - lineStart)) >= 0)
            {
                var line = Line(buffer, lineStart, newline);
                lineStart = newline + 1;
                if (line.StartsWith("SSH-", StringComparison.Ordinal))
                {
                    return (line, other);
                }

                other ??= NullIfEmpty(line);
            }
        }

        return (null, other ?? Line(buffer, lineStart, Math.Min(length, lineStart + 80)));
    }

    private static string Line(byte[] buffer, int start, int end) => Encoding.ASCII.GetString(buffer, start, end - start).TrimEnd('\r', '\n');

    private static string? NullIfEmpty(string line) => line.Length == 0 ? null : line;

    private static string Describe(SocketException ex, MachineTarget target, string endpoint) => ex.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => $"connection refused by {endpoint}",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"the host name '{target.Host}' was not found",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown => $"{target.Host} is unreachable ({ex.Message})",
        SocketError.TimedOut => $"no answer from {endpoint}",
        SocketError.ConnectionReset => $"{endpoint} reset the connection",
        _ => $"could not connect to {endpoint}: {ex.Message}",
    };

    private MachineStatus Status(MachineTarget target, string? banner, double? latencyMs, string? error) => new()
    {
        Machine = target.Machine,
        Host = target.Host,
        Port = target.Port,
        Online = banner is not null,
        Banner = HostText.Default.CleanOrNull(banner), // whatever the host sent: shown without its terminal control
        LatencyMs = latencyMs,
        Error = HostText.Default.CleanOrNull(error),
        CheckedAt = _time.GetUtcNow(),
    };
}
