using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Atelier.Health;

namespace Atelier.Tests.Health;

/// <summary>Polling a real local server: tries, intervals, the deadline, and Ctrl+C.</summary>
public sealed class HealthPollerTests
{
    private static readonly HealthCheck Demo = new() { Service = "demo" };

    [Fact]
    public void The_schedule_starts_at_100_ms_and_grows_by_half_to_at_most_2_s()
    {
        var waits = PollSchedule.Default.Take(10).Select(w => Math.Floor(w.TotalMilliseconds)).ToArray();
        Assert.Equal([100, 150, 225, 337, 506, 759, 1139, 1708, 2000, 2000], waits);
    }

    [Fact]
    public async Task Polling_becomes_healthy_after_a_few_tries_and_counts_them()
    {
        await using var server = new TestHttpServer((_, n) => n <= 4 ? new TestResponse(503, "starting") : TestResponse.Ok());
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(20) };
        var tries = new List<ServiceHealth>();
        var waits = new List<TimeSpan>();
        var probe = new HttpProbe(Demo with { HealthUrl = server.Url("/health") }, options);

        var result = await new HealthPoller(options).PollAsync(probe, tries.Add, waits.Add);

        Assert.True(result.Healthy);
        Assert.Equal(HealthStatus.Up, result.Status);
        Assert.Equal(5, result.Tries);
        Assert.Equal([1, 2, 3, 4, 5], tries.Select(t => t.Tries));
        Assert.All(tries.Take(4), t => Assert.Equal(HealthStatus.Degraded, t.Status));
        Assert.Equal(4, waits.Count);
        Assert.True(waits[0] <= TimeSpan.FromMilliseconds(250), $"first wait {waits[0]}");
        Assert.All(waits, w => Assert.True(w <= TimeSpan.FromSeconds(2), $"wait {w}"));
        Assert.All(waits.Zip(waits.Skip(1)), p => Assert.True(p.Second >= p.First));

        // What the server saw: the first retry came quickly, and no gap was anywhere near the anchor's 5 s.
        var gaps = server.Gaps();
        Assert.Equal(4, gaps.Count);
        Assert.True(gaps[0] < TimeSpan.FromSeconds(1.5), $"first gap {gaps[0]}");
        Assert.All(gaps, g => Assert.True(g < TimeSpan.FromSeconds(3.5), $"gap {g}"));
    }

    [Fact]
    public async Task An_unhealthy_service_is_polled_until_the_deadline_and_the_last_try_is_returned()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(503, "down"));
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(1.5) };
        var probe = new HttpProbe(Demo with { HealthUrl = server.Url("/health") }, options);
        var watch = Stopwatch.StartNew();

        var result = await new HealthPoller(options).PollAsync(probe);

        Assert.False(result.Healthy);
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal(503, result.StatusCode);
        Assert.InRange(result.Tries, 3, 20);
        Assert.Equal(result.Tries, server.Requests.Count);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(6));

        // The detail says what came back, for how long and over how many tries: all of them, from the first to the last.
        var match = Regex.Match(result.Detail, @"^503 Service Unavailable, expected 2xx, for (\d+\.\d) s \((\d+) tries\)$");
        Assert.True(match.Success, result.Detail);
        Assert.Equal(result.Tries, int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.InRange(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), 1.3, watch.Elapsed.TotalSeconds + 0.1);
    }

    [Fact]
    public async Task The_detail_counts_only_the_last_tries_that_gave_the_same_answer()
    {
        // A 503 three times, then a 500 until the deadline.
        await using var server = new TestHttpServer((_, n) => new TestResponse(n <= 3 ? 503 : 500, "down"));
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(2.5) };
        var details = new List<string>();

        var result = await new HealthPoller(options).PollAsync(new HttpProbe(Demo with { HealthUrl = server.Url("/health") }, options), t => details.Add(t.Detail));

        Assert.Equal(500, result.StatusCode);
        var match = Regex.Match(result.Detail, @"^500 Internal Server Error, expected 2xx, for (\d+\.\d) s \(the last (\d+) of (\d+) tries\)$");
        Assert.True(match.Success, result.Detail);
        Assert.Equal(result.Tries - 3, int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.Equal(result.Tries, int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture));
        Assert.True(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) < 2.5, result.Detail);

        // Each try's own detail, as the verbose stream shows it, is only what that try saw.
        Assert.Equal(result.Tries, details.Count);
        Assert.All(details, d => Assert.Matches(@"^50[03] [A-Za-z ]+, expected 2xx$", d));
    }

    [Fact]
    public async Task A_conclusive_try_ends_the_poll_at_once_however_much_time_is_left()
    {
        var probe = new ScriptedProbe(
            new ServiceHealth { Service = "demo", Method = "http", Status = HealthStatus.Down, Detail = "connection refused" },
            new ServiceHealth { Service = "demo", Method = "http", Status = HealthStatus.Down, Detail = "the unit crashed", Conclusive = true },
            new ServiceHealth { Service = "demo", Method = "http", Status = HealthStatus.Up, Healthy = true });
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(30) };
        var watch = Stopwatch.StartNew();

        var result = await new HealthPoller(options).PollAsync(probe);

        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.Equal(2, probe.Calls);
        Assert.Equal(2, result.Tries);
        Assert.False(result.Healthy);
        Assert.Equal("the unit crashed", result.Detail);
    }

    [Fact]
    public async Task One_try_that_runs_out_of_time_keeps_its_own_detail()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(503));
        var options = new HealthOptions { Timeout = TimeSpan.Zero };
        var result = await new HealthPoller(options).PollAsync(new HttpProbe(Demo with { HealthUrl = server.Url("/health") }, options));
        Assert.Equal(1, result.Tries);
        Assert.Equal("503 Service Unavailable, expected 2xx", result.Detail);
    }

    [Fact]
    public async Task A_zero_deadline_makes_exactly_one_try_with_the_full_request_timeout()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok() with { Delay = TimeSpan.FromMilliseconds(1500) });
        var options = new HealthOptions { Timeout = TimeSpan.Zero, RequestTimeout = TimeSpan.FromSeconds(10) };
        var result = await new HealthPoller(options).PollAsync(new HttpProbe(Demo with { HealthUrl = server.Url("/slow") }, options));
        Assert.True(result.Healthy);
        Assert.Equal(1, result.Tries);
    }

    [Fact]
    public async Task A_try_is_cut_to_the_time_left_before_the_deadline()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(200, Hang: true));
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(1.5), RequestTimeout = TimeSpan.FromSeconds(30) };
        var watch = Stopwatch.StartNew();
        var result = await new HealthPoller(options).PollAsync(new HttpProbe(Demo with { HealthUrl = server.Url("/hang") }, options));
        Assert.Equal(HealthStatus.Timeout, result.Status);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task Cancellation_ends_the_wait_between_tries_promptly()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(503));
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(60) };
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500));
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new HealthPoller(options).PollAsync(new HttpProbe(Demo with { HealthUrl = server.Url("/health") }, options), cancellationToken: cancel.Token));
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Cancellation_ends_a_hanging_request_promptly_and_is_not_a_timeout_result()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(200, Hang: true));
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(60), RequestTimeout = TimeSpan.FromSeconds(30) };
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new HealthPoller(options).PollAsync(new HttpProbe(Demo with { HealthUrl = server.Url("/hang") }, options), cancellationToken: cancel.Token));
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.4), TimeSpan.FromSeconds(5));
    }
}

/// <summary>A probe that gives the results it was handed, one a try (the last one again once they run out).</summary>
internal sealed class ScriptedProbe(params ServiceHealth[] results) : IHealthProbe
{
    public int Calls { get; private set; }

    public Task<ServiceHealth> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = results[Math.Min(Calls, results.Length - 1)];
        Calls++;
        return Task.FromResult(result);
    }
}
