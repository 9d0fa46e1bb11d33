using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Atelier.Tests.Health;

/// <summary>What the test server answers to one request.</summary>
public sealed record TestResponse(int Status, string Body = "", TimeSpan Delay = default, bool Hang = false, string? Location = null)
{
    public static TestResponse Ok(string body = "{\"status\":\"ok\"}") => new(200, body);
}

/// <summary>
/// A real HTTP/1.1 server on 127.0.0.1 and a free port, answering raw HTTP over a <see cref="TcpListener"/>:
/// the handler decides each answer (status, body, delay, or never answering). It records when each request arrived
/// and how many were in flight at once.
/// </summary>
public sealed class TestHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<string, int, TestResponse> _handler;
    private readonly ConcurrentQueue<(string Path, long Timestamp)> _requests = new();
    private readonly Task _accepting;
    private int _count;
    private int _inFlight;
    private int _maxInFlight;

    public TestHttpServer(Func<string, int, TestResponse> handler)
    {
        _handler = handler;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public IReadOnlyList<(string Path, long Timestamp)> Requests => _requests.ToArray();

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    /// <summary>The gaps between the arrivals of consecutive requests.</summary>
    public IReadOnlyList<TimeSpan> Gaps()
    {
        var stamps = Requests.Select(r => r.Timestamp).ToArray();
        return stamps.Zip(stamps.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b)).ToArray();
    }

    /// <summary>A port on 127.0.0.1 that nothing listens on (bound, then released).</summary>
    public static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var inFlight = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref _maxInFlight, inFlight);
        try
        {
            var stream = client.GetStream();
            var requestLine = await ReadHeadAsync(stream);
            if (requestLine is null)
            {
                // Not HTTP (e.g. a TLS ClientHello): answer in plain text, which no TLS client accepts.
                await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
                return;
            }

            var path = requestLine.Split(' ')[1];
            _requests.Enqueue((path, Stopwatch.GetTimestamp()));
            var response = _handler(path, Interlocked.Increment(ref _count));
            if (response.Hang)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }

            if (response.Delay > TimeSpan.Zero)
            {
                await Task.Delay(response.Delay, _stop.Token);
            }

            var body = Encoding.UTF8.GetBytes(response.Body);
            var head = new StringBuilder()
                .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {Reason(response.Status)}\r\n")
                .Append("Content-Type: application/json; charset=utf-8\r\n")
                .Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n")
                .Append(response.Location is null ? string.Empty : $"Location: {response.Location}\r\n")
                .Append("Connection: close\r\n\r\n")
                .ToString();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
            await stream.WriteAsync(body, _stop.Token);
            await stream.FlushAsync(_stop.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The client went away or the server is stopping.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Reads the request head up to its blank line; returns the request line, or null when it is not HTTP.</summary>
    private async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (await stream.ReadAsync(one, _stop.Token) == 1)
        {
            if (head.Count == 0 && one[0] == 0x16)
            {
                return null;
            }

            head.Add(one[0]);
            if (head.Count >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
            {
                var text = Encoding.ASCII.GetString(head.ToArray());
                return text[..text.IndexOf('\r', StringComparison.Ordinal)];
            }
        }

        return null;
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        404 => "Not Found",
        418 => "I'm a teapot",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
