using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary>One connection per host and account, opened once, not cached when it fails.</summary>
public sealed class HostPoolTests
{
    [Fact]
    public async Task Equal_requests_share_one_connection()
    {
        var connects = 0;
        using var pool = new HostPool((_, _) =>
        {
            Interlocked.Increment(ref connects);
            return Task.FromResult<IRemoteHost>(new LocalHost());
        });

        var first = await pool.GetAsync(new HostConnectionRequest { ComputerName = "web", User = "deploy", Port = 22 }, CancellationToken.None);
        var second = await pool.GetAsync(new HostConnectionRequest { ComputerName = "web", User = "deploy", Port = 22 }, CancellationToken.None);

        Assert.Same(first, second);
        Assert.Equal(1, connects);
    }

    [Fact]
    public async Task Different_requests_get_different_connections()
    {
        var connects = 0;
        using var pool = new HostPool((_, _) =>
        {
            Interlocked.Increment(ref connects);
            return Task.FromResult<IRemoteHost>(new LocalHost());
        });

        var web = await pool.GetAsync(new HostConnectionRequest { ComputerName = "web", User = "deploy" }, CancellationToken.None);
        var other = await pool.GetAsync(new HostConnectionRequest { ComputerName = "web", User = "admin" }, CancellationToken.None);

        Assert.NotSame(web, other);
        Assert.Equal(2, connects);
    }

    [Fact]
    public async Task Concurrent_callers_wait_for_the_same_single_connect()
    {
        var connects = 0;
        var gate = new TaskCompletionSource<IRemoteHost>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var pool = new HostPool((_, _) =>
        {
            Interlocked.Increment(ref connects);
            return gate.Task;
        });
        var request = new HostConnectionRequest { ComputerName = "web" };

        var waiting = Enumerable.Range(0, 8).Select(_ => Task.Run(() => pool.GetAsync(request, CancellationToken.None))).ToList();
        await Task.Delay(100);
        var host = new LocalHost();
        gate.SetResult(host);
        var hosts = await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.All(hosts, h => Assert.Same(host, h));
        Assert.Equal(1, connects);
    }

    [Fact]
    public async Task A_failed_connect_is_not_cached_and_is_retried()
    {
        var connects = 0;
        using var pool = new HostPool((_, _) =>
            Interlocked.Increment(ref connects) == 1
                ? Task.FromException<IRemoteHost>(new HostConnectionException("refused"))
                : Task.FromResult<IRemoteHost>(new LocalHost()));
        var request = new HostConnectionRequest { ComputerName = "web" };

        var ex = await Assert.ThrowsAsync<HostConnectionException>(() => pool.GetAsync(request, CancellationToken.None));
        var retried = await pool.GetAsync(request, CancellationToken.None);
        var again = await pool.GetAsync(request, CancellationToken.None);

        Assert.Equal("refused", ex.Message);
        Assert.Same(retried, again);
        Assert.Equal(2, connects);
    }

    [Fact]
    public async Task A_connect_that_throws_synchronously_is_retried_too()
    {
        var connects = 0;
        using var pool = new HostPool((_, _) =>
            Interlocked.Increment(ref connects) == 1 ? throw new HostConnectionException("boom") : Task.FromResult<IRemoteHost>(new LocalHost()));
        var request = new HostConnectionRequest { ComputerName = "web" };

        await Assert.ThrowsAsync<HostConnectionException>(() => pool.GetAsync(request, CancellationToken.None));

        Assert.IsType<LocalHost>(await pool.GetAsync(request, CancellationToken.None));
        Assert.Equal(2, connects);
    }

    [Fact]
    public async Task The_default_pool_runs_a_local_request_on_this_machine()
    {
        using var pool = new HostPool();

        var host = await pool.GetAsync(new HostConnectionRequest { ComputerName = "localhost", Local = true }, CancellationToken.None);

        Assert.IsType<LocalHost>(host);
        var result = await host.RunAsync(ShellCommand.Format($"echo {"hi there"}"), new CommandOptions(), CancellationToken.None);
        Assert.Equal("hi there\n", result.Output);
    }

    [Fact]
    public async Task The_default_pool_refuses_a_hostile_computer_name_before_connecting()
    {
        using var pool = new HostPool();

        await Assert.ThrowsAsync<RemoteValueException>(() => pool.GetAsync(new HostConnectionRequest { ComputerName = "$(id)" }, CancellationToken.None));
    }

    [Fact]
    public async Task Dispose_closes_each_open_connection_once()
    {
        var hosts = new List<CountingHost>();
        var pool = new HostPool((_, _) =>
        {
            var host = new CountingHost();
            hosts.Add(host);
            return Task.FromResult<IRemoteHost>(host);
        });
        await pool.GetAsync(new HostConnectionRequest { ComputerName = "a" }, CancellationToken.None);
        await pool.GetAsync(new HostConnectionRequest { ComputerName = "b" }, CancellationToken.None);

        pool.Dispose();

        Assert.Equal(2, hosts.Count);
        Assert.All(hosts, h => Assert.Equal(1, h.Disposed));
    }

    /// <summary>A local host that counts how often it was closed.</summary>
    private sealed class CountingHost : IRemoteHost
    {
        private readonly LocalHost _inner = new();

        public int Disposed { get; private set; }

        public string ComputerName => _inner.ComputerName;

        public string User => _inner.User;

        public Task<CommandResult> RunAsync(ShellCommand command, CommandOptions options, CancellationToken cancellationToken) =>
            _inner.RunAsync(command, options, cancellationToken);

        public Task DownloadAsync(string remotePath, string localPath, CancellationToken cancellationToken) =>
            _inner.DownloadAsync(remotePath, localPath, cancellationToken);

        public void Dispose() => Disposed++;
    }
}
