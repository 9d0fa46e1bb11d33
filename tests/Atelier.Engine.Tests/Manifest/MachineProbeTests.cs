using System.Collections.Concurrent;
using System.Diagnostics;
using Atelier.Manifest;
using Atelier.Tests.Health;

namespace Atelier.Tests.Manifest;

/// <summary>Probing SSH servers: real sockets on 127.0.0.1 that send an identification line, nothing, or something else.</summary>
public sealed class MachineProbeTests
{
    private const string OpenSsh = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3";

    private static Task<MachineStatus> ProbeAsync(int port, double timeoutSeconds = 5) =>
        new MachineProbe(TimeSpan.FromSeconds(timeoutSeconds)).ProbeAsync(new MachineTarget("terebithia", "127.0.0.1", port), CancellationToken.None);

    [Fact]
    public async Task A_server_that_sends_an_ssh_identification_line_is_online()
    {
        await using var server = new BannerServer(OpenSsh + "\r\n");
        var status = await ProbeAsync(server.Port);

        Assert.True(status.Online);
        Assert.Equal(OpenSsh, status.Banner);
        Assert.Equal("terebithia", status.Machine);
        Assert.Equal("127.0.0.1", status.Host);
        Assert.Equal(server.Port, status.Port);
        Assert.Null(status.Error);
        Assert.NotNull(status.LatencyMs);
        Assert.InRange(status.LatencyMs!.Value, 0, 5000);
    }

    [Fact]
    public async Task Lines_before_the_identification_line_are_skipped()
    {
        await using var server = new BannerServer("Welcome to terebithia\r\nAuthorized use only\n" + OpenSsh + "\r\n");
        var status = await ProbeAsync(server.Port);
        Assert.True(status.Online);
        Assert.Equal(OpenSsh, status.Banner);
    }

    [Fact]
    public async Task The_latency_includes_a_slow_identification_line()
    {
        await using var server = new BannerServer(OpenSsh + "\r\n", TimeSpan.FromMilliseconds(300));
        var status = await ProbeAsync(server.Port);
        Assert.True(status.Online);
        Assert.InRange(status.LatencyMs!.Value, 280, 5000);
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_offline()
    {
        await using var server = new BannerServer(null);
        var sw = Stopwatch.StartNew();
        var status = await ProbeAsync(server.Port, 0.5);

        Assert.InRange(sw.Elapsed.TotalSeconds, 0.45, 4);
        Assert.False(status.Online);
        Assert.Null(status.Banner);
        Assert.Null(status.LatencyMs);
        Assert.Equal($"127.0.0.1:{server.Port} accepted the connection but sent no SSH identification line within 500 ms", status.Error);
    }

    [Fact]
    public async Task A_closed_port_is_offline_and_says_refused()
    {
        var port = TestHttpServer.ClosedPort();
        var sw = Stopwatch.StartNew();
        var status = await ProbeAsync(port);

        Assert.InRange(sw.Elapsed.TotalSeconds, 0, 2);
        Assert.False(status.Online);
        Assert.Equal($"connection refused by 127.0.0.1:{port}", status.Error);
    }

    [Fact]
    public async Task A_server_that_is_not_ssh_is_offline_and_shows_what_it_sent()
    {
        await using var server = new BannerServer("220 mail.example.org ESMTP\r\n", close: true);
        var status = await ProbeAsync(server.Port);
        Assert.False(status.Online);
        Assert.Equal($"127.0.0.1:{server.Port} is not an SSH server: it sent '220 mail.example.org ESMTP'", status.Error);
    }

    [Fact]
    public async Task A_server_that_closes_at_once_is_offline()
    {
        await using var server = new BannerServer(string.Empty, close: true);
        var status = await ProbeAsync(server.Port);
        Assert.False(status.Online);
        Assert.Equal($"127.0.0.1:{server.Port} closed the connection without an SSH identification line", status.Error);
    }

    [Fact]
    public async Task An_unknown_host_name_is_offline_and_says_not_found()
    {
        var status = await new MachineProbe(TimeSpan.FromSeconds(10))
            .ProbeAsync(new MachineTarget("ghost", "ghost.invalid", 22), CancellationToken.None);
        Assert.False(status.Online);
        Assert.Equal("the host name 'ghost.invalid' was not found", status.Error);
    }

    [Fact]
    public async Task Machines_are_probed_at_the_same_time()
    {
        var delay = TimeSpan.FromMilliseconds(800);
        await using var first = new BannerServer(OpenSsh + "\r\n", delay);
        await using var second = new BannerServer("SSH-2.0-dropbear_2022.83\r\n", delay);
        var results = new ConcurrentBag<MachineStatus>();

        var sw = Stopwatch.StartNew();
        await new MachineProbe(TimeSpan.FromSeconds(5)).RunAsync(
            [new MachineTarget("one", "127.0.0.1", first.Port), new MachineTarget("two", "127.0.0.1", second.Port)],
            MachineProbe.DefaultThrottleLimit,
            results.Add,
            CancellationToken.None);
        var elapsed = sw.Elapsed;

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.True(r.Online));
        Assert.All(results, r => Assert.InRange(r.LatencyMs!.Value, 750, 5000));
        Assert.Equal("SSH-2.0-dropbear_2022.83", results.Single(r => r.Machine == "two").Banner);
        Assert.InRange(elapsed.TotalMilliseconds, 750, 1400);
    }

    [Fact]
    public async Task A_throttle_of_one_probes_one_machine_at_a_time()
    {
        var delay = TimeSpan.FromMilliseconds(400);
        await using var first = new BannerServer(OpenSsh + "\r\n", delay);
        await using var second = new BannerServer(OpenSsh + "\r\n", delay);
        var sw = Stopwatch.StartNew();
        var count = 0;
        await new MachineProbe(TimeSpan.FromSeconds(5)).RunAsync(
            [new MachineTarget("one", "127.0.0.1", first.Port), new MachineTarget("two", "127.0.0.1", second.Port)],
            1,
            _ => Interlocked.Increment(ref count),
            CancellationToken.None);

        Assert.Equal(2, count);
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 780, 5000);
    }
}
