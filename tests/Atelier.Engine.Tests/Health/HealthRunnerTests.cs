using System.Collections.Concurrent;
using System.Diagnostics;
using Atelier.Health;
using Atelier.Transport;

namespace Atelier.Tests.Health;

/// <summary>Many checks at once against real local servers: throttling, results as they come, errors per item.</summary>
public sealed class HealthRunnerTests
{
    private static readonly HealthOptions Options = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Checks_run_concurrently_up_to_the_throttle_limit()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok() with { Delay = TimeSpan.FromMilliseconds(400) });
        var checks = Enumerable.Range(1, 6).Select(i => new HealthCheck { Service = $"svc{i}", HealthUrl = server.Url($"/slow?n={i}") }).ToList();
        var results = new ConcurrentQueue<ServiceHealth>();
        var checker = new HealthChecker(Options);
        var watch = Stopwatch.StartNew();

        await HealthRunner.RunAsync(checks, 3, (c, t) => checker.CheckAsync(c, null, null, t), (_, r) => results.Enqueue(r), (_, ex) => throw ex, CancellationToken.None);

        Assert.Equal(6, results.Count);
        Assert.All(results, r => Assert.True(r.Healthy));
        Assert.Equal(3, server.MaxInFlight);
        // Two rounds of 400 ms, not six: generous bounds for a loaded machine.
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(750), TimeSpan.FromSeconds(2.3));
    }

    [Fact]
    public async Task Each_result_is_reported_as_soon_as_it_is_ready()
    {
        await using var server = new TestHttpServer((path, _) => TestResponse.Ok() with { Delay = path == "/slow" ? TimeSpan.FromMilliseconds(1200) : TimeSpan.Zero });
        var checks = new[]
        {
            new HealthCheck { Service = "slow", HealthUrl = server.Url("/slow") },
            new HealthCheck { Service = "fast", HealthUrl = server.Url("/fast") },
        };
        var order = new ConcurrentQueue<(string Service, TimeSpan At)>();
        var checker = new HealthChecker(Options);
        var watch = Stopwatch.StartNew();

        await HealthRunner.RunAsync(checks, 8, (c, t) => checker.CheckAsync(c, null, null, t), (_, r) => order.Enqueue((r.Service, watch.Elapsed)), (_, ex) => throw ex, CancellationToken.None);

        var seen = order.ToArray();
        Assert.Equal(["fast", "slow"], seen.Select(s => s.Service));
        Assert.True(seen[0].At < TimeSpan.FromMilliseconds(1000), $"the fast result came at {seen[0].At}");
    }

    [Fact]
    public async Task A_failing_item_is_reported_as_an_error_and_the_others_go_on()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok());
        var checks = new[]
        {
            new HealthCheck { Service = "web", HealthUrl = server.Url("/health") },
            new HealthCheck { Service = "unit" },
            new HealthCheck { Service = "web2", HealthUrl = server.Url("/health") },
        };
        var results = new ConcurrentQueue<ServiceHealth>();
        var errors = new ConcurrentQueue<(HealthCheck Check, Exception Error)>();
        var checker = new HealthChecker(Options);

        await HealthRunner.RunAsync(checks, 2, (c, t) => checker.CheckAsync(c, null, null, t), (_, r) => results.Enqueue(r), (c, ex) => errors.Enqueue((c, ex)), CancellationToken.None);

        Assert.Equal(["web", "web2"], results.Select(r => r.Service).Order());
        var (check, error) = Assert.Single(errors);
        Assert.Equal("unit", check.Service);
        var atelier = Assert.IsType<AtelierException>(error);
        Assert.Equal("SystemdCheckNeedsHost", atelier.ErrorId);
        Assert.Equal(FailureKind.InvalidArgument, atelier.Kind);
        Assert.Equal([Hint.HealthHost], atelier.Hints);
        EngineWords.AssertNoCmdletWords(atelier.Message);
    }

    [Fact]
    public async Task Cancellation_stops_every_check()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(503));
        var checks = Enumerable.Range(1, 4).Select(i => new HealthCheck { Service = $"s{i}", HealthUrl = server.Url("/health") }).ToList();
        var checker = new HealthChecker(new HealthOptions { Timeout = TimeSpan.FromSeconds(60) });
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        var errors = 0;
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            HealthRunner.RunAsync(checks, 4, (c, t) => checker.CheckAsync(c, null, null, t), (_, _) => { }, (_, _) => Interlocked.Increment(ref errors), cancel.Token));

        Assert.Equal(0, errors);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.6), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_unit_on_a_machine_without_it_is_down_and_never_healthy()
    {
        // The real local shell: either systemctl is missing (exit 127) or the unit is not found. Both are down.
        using var local = new LocalHost();
        var checker = new HealthChecker(new HealthOptions { Timeout = TimeSpan.Zero, Settle = TimeSpan.Zero });
        var result = await checker.CheckAsync(new HealthCheck { Service = "atelier-no-such-unit" }, _ => Task.FromResult<IRemoteHost>(local), null, CancellationToken.None);
        Assert.Equal("systemd", result.Method);
        Assert.False(result.Healthy);
        Assert.Equal(HealthStatus.Down, result.Status);
        Assert.Equal(1, result.Tries);
        Assert.Equal("localhost", result.ComputerName);
        Assert.Matches("systemctl show atelier-no-such-unit.service failed|unit atelier-no-such-unit.service not found", result.Detail);
    }

    [Fact]
    public async Task The_journal_reader_never_throws_for_a_host_that_refuses_every_form()
    {
        using var local = new LocalHost();
        var lines = await JournalReader.ReadAsync(local, "atelier-no-such-unit", 20, new CommandOptions { Timeout = TimeSpan.FromSeconds(10) }, CancellationToken.None);
        Assert.NotNull(lines);
        Assert.True(lines.Length <= 20);
    }
}
