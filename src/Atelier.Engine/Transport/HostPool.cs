using System.Collections.Concurrent;

namespace Atelier.Transport;

/// <summary>
/// Where the engine gets the connection for a <see cref="HostConnectionRequest"/>: the caller's pool, so a host is
/// reached once for the whole invocation however many nodes, services or steps need it.
/// </summary>
public interface IHostPool
{
    /// <summary>The connection for <paramref name="request"/>, opened on first use and owned by the pool (never disposed by the caller).</summary>
    Task<IRemoteHost> GetAsync(HostConnectionRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// One connection per host and account for the life of a cmdlet: every step (and every service on that host)
/// reuses it. Safe to use from concurrent tasks.
/// </summary>
public sealed class HostPool : IHostPool, IDisposable
{
    private readonly Func<HostConnectionRequest, CancellationToken, Task<IRemoteHost>> _connect;
    private readonly ConcurrentDictionary<HostConnectionRequest, Lazy<Task<IRemoteHost>>> _hosts = new();

    public HostPool()
        : this(ConnectAsync)
    {
    }

    public HostPool(Func<HostConnectionRequest, CancellationToken, Task<IRemoteHost>> connect) => _connect = connect;

    /// <summary>The connection for a request, opened on first use. A failed connection is not cached.</summary>
    public async Task<IRemoteHost> GetAsync(HostConnectionRequest request, CancellationToken cancellationToken)
    {
        var lazy = _hosts.GetOrAdd(request, r => new Lazy<Task<IRemoteHost>>(() => _connect(r, cancellationToken)));
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            _hosts.TryRemove(new KeyValuePair<HostConnectionRequest, Lazy<Task<IRemoteHost>>>(request, lazy));
            throw;
        }
    }

    /// <summary>Opens the right kind of host for a request.</summary>
    public static async Task<IRemoteHost> ConnectAsync(HostConnectionRequest request, CancellationToken cancellationToken) =>
        request.Local ? new LocalHost() : await SshRemoteHost.ConnectAsync(request, cancellationToken).ConfigureAwait(false);

    public void Dispose()
    {
        foreach (var lazy in _hosts.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                lazy.Value.Result.Dispose();
            }
        }

        _hosts.Clear();
    }
}
