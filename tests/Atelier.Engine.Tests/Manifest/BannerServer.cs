using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Atelier.Tests.Manifest;

/// <summary>
/// A real TCP server on 127.0.0.1 and a free port that, to every connection, sends the given text after a delay and
/// then keeps the connection open (or closes it) without reading anything, like an SSH server waiting for the client.
/// Null text sends nothing at all.
/// </summary>
internal sealed class BannerServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly string? _text;
    private readonly TimeSpan _delay;
    private readonly bool _close;
    private readonly Task _accepting;
    private int _connections;

    public BannerServer(string? text, TimeSpan delay = default, bool close = false)
    {
        _text = text;
        _delay = delay;
        _close = close;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public int Connections => Volatile.Read(ref _connections);

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

            Interlocked.Increment(ref _connections);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            if (_delay > TimeSpan.Zero)
            {
                await Task.Delay(_delay, _stop.Token);
            }

            if (_text is not null)
            {
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(_text), _stop.Token);
            }

            if (!_close)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The client went away or the server is stopping.
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
