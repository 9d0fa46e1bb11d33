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

    [Fact]
    public async Task Checking_all_opens_each_checks_connection_through_the_pool_and_counts_what_was_not_healthy()
    {
        await using var server = new TestHttpServer((path, _) => path == "/down" ? new TestResponse(503) : TestResponse.Ok());
        var unreachable = new HostConnectionRequest { ComputerName = "unreachable.invalid", User = "unit" };
        var local = new HostConnectionRequest { ComputerName = "localhost", User = "down", Local = true };
        var checks = new[]
        {
            new HealthCheck { Service = "web", HealthUrl = server.Url("/health") },
            new HealthCheck { Service = "down", ComputerName = "localhost", HealthUrl = server.Url("/down"), Connection = local },
            new HealthCheck { Service = "unit", ComputerName = "unreachable.invalid", Connection = unreachable },
        };
        var asked = new ConcurrentQueue<HostConnectionRequest>();
        using var hosts = new HostPool((request, _) =>
        {
            asked.Enqueue(request);
            return request.Local
                ? Task.FromResult<IRemoteHost>(new LocalHost())
                : Task.FromException<IRemoteHost>(new HostConnectionException($"{request.ComputerName}: no such host"));
        });
        var results = new ConcurrentQueue<ServiceHealth>();
        var errors = new ConcurrentQueue<(HealthCheck Check, Exception Error)>();
        var checker = new HealthChecker(new HealthOptions { Timeout = TimeSpan.Zero });

        var failed = await checker.CheckAllAsync(checks, hosts, 3, new CommandOptions { Timeout = TimeSpan.FromSeconds(10) }, results.Enqueue, (c, ex) => errors.Enqueue((c, ex)), CancellationToken.None);

        Assert.Equal(2, failed);
        Assert.Equal(["down", "web"], results.Select(r => r.Service).Order());
        Assert.False(results.Single(r => r.Service == "down").Healthy);
        var (check, error) = Assert.Single(errors);
        Assert.Equal("unit", check.Service);
        Assert.IsType<HostConnectionException>(error);
        // The unhealthy HTTP check reached its host for the journal; the healthy one without a connection never asked.
        Assert.Equal([local, unreachable], asked.Distinct().OrderBy(r => r.ComputerName == "localhost" ? 0 : 1));
    }

    [Fact]
    public void A_check_is_by_http_with_a_url_named_after_its_host_without_a_service_and_else_of_the_unit_on_its_host()
    {
        var url = new Uri("https://cachet.example.org/health");

        Assert.Equal(("cachet.example.org", "http", null), Shape(HealthCheck.For(null, url, null)));
        Assert.Equal(("cachet", "http", "web1"), Shape(HealthCheck.For("cachet", url, "web1")));
        Assert.Equal(("cachet", "systemd", "web1"), Shape(HealthCheck.For("cachet", null, "web1")));
        Assert.Equal("SystemdCheckNeedsHost", Assert.Throws<AtelierException>(() => HealthCheck.For("cachet", null, null)).ErrorId);
        Assert.Throws<ArgumentException>(() => HealthCheck.For(null, null, "web1"));

        static (string, string, string?) Shape(HealthCheck check) => (check.Service, check.Method, check.ComputerName);
    }

    [Fact]
    public void Expected_content_is_matched_case_insensitively_with_a_match_timeout_and_a_broken_pattern_is_refused()
    {
        var pattern = HealthOptions.ContentPattern("status.*OK");

        Assert.Matches(pattern, "{\"Status\": \"ok\"}");
        Assert.Equal(TimeSpan.FromSeconds(2), pattern.MatchTimeout);
        Assert.Throws<System.Text.RegularExpressions.RegexParseException>(() => HealthOptions.ContentPattern("("));
    }
}
