using System.Diagnostics;
using System.Text.RegularExpressions;
using Atelier.Health;

namespace Atelier.Tests.Health;

/// <summary>One-try classification of real HTTP answers from a server on 127.0.0.1, as the status page classes them.</summary>
public sealed class HttpProbeTests
{
    private static readonly HealthOptions Once = new() { Timeout = TimeSpan.Zero, RequestTimeout = TimeSpan.FromSeconds(5) };

    private static Task<ServiceHealth> CheckAsync(Uri url, HealthOptions? options = null) =>
        new HealthChecker(options ?? Once).CheckAsync(new HealthCheck { Service = "demo", HealthUrl = url }, null, null, CancellationToken.None);

    [Fact]
    public async Task A_2xx_answer_is_up_and_healthy()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok());
        var result = await CheckAsync(server.Url("/health"));
        Assert.Equal(HealthStatus.Up, result.Status);
        Assert.True(result.Healthy);
        Assert.Equal(200, result.StatusCode);
        Assert.Equal(1, result.Tries);
        Assert.NotNull(result.LatencyMs);
        Assert.InRange(result.LatencyMs!.Value, 0, 5000);
        Assert.Equal("http", result.Method);
        Assert.Equal(server.Url("/health").OriginalString, result.HealthUrl);
        Assert.Equal("200 OK", result.Detail);
        Assert.Empty(result.Journal);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(418)]
    public async Task A_4xx_answer_is_misconfigured(int status)
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(status, "no"));
        var result = await CheckAsync(server.Url("/health"));
        Assert.Equal(HealthStatus.Misconfigured, result.Status);
        Assert.False(result.Healthy);
        Assert.Equal(status, result.StatusCode);
        Assert.Contains("expected 2xx", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    public async Task A_5xx_answer_is_degraded_and_unhealthy(int status)
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(status, "broken"));
        var result = await CheckAsync(server.Url("/health"));
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.False(result.Healthy);
        Assert.Equal(status, result.StatusCode);
    }

    [Fact]
    public async Task A_slow_but_correct_answer_is_degraded_yet_healthy()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok() with { Delay = TimeSpan.FromMilliseconds(300) });
        var result = await CheckAsync(server.Url("/slow"), Once with { DegradedThreshold = TimeSpan.FromMilliseconds(100) });
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.True(result.Healthy);
        Assert.InRange(result.LatencyMs!.Value, 290, 10_000);
        Assert.Contains("slower than 100 ms", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hanging_endpoint_times_out_after_the_request_timeout()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(200, Hang: true));
        var watch = Stopwatch.StartNew();
        var result = await CheckAsync(server.Url("/hang"), Once with { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        Assert.Equal(HealthStatus.Timeout, result.Status);
        Assert.False(result.Healthy);
        Assert.Null(result.StatusCode);
        Assert.Null(result.LatencyMs);
        Assert.Equal("no answer within 300 ms", result.Detail);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_closed_port_is_down_with_connection_refused()
    {
        var port = TestHttpServer.ClosedPort();
        var result = await CheckAsync(new Uri($"http://127.0.0.1:{port}/health"));
        Assert.Equal(HealthStatus.Down, result.Status);
        Assert.False(result.Healthy);
        Assert.Null(result.StatusCode);
        Assert.Equal($"connection refused by 127.0.0.1:{port}", result.Detail);
    }

    [Fact]
    public async Task Https_to_a_plain_http_port_is_down_with_a_tls_failure()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok());
        var result = await CheckAsync(new Uri($"https://127.0.0.1:{server.Port}/health"));
        Assert.Equal(HealthStatus.Down, result.Status);
        Assert.StartsWith($"TLS failed with 127.0.0.1:{server.Port}", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expected_content_that_matches_is_up()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok("{\"status\":\"ok\",\"commit\":\"abc\"}"));
        var result = await CheckAsync(server.Url("/health"), Once with { ExpectContent = new Regex("\"STATUS\":\"ok\"", RegexOptions.IgnoreCase) });
        Assert.Equal(HealthStatus.Up, result.Status);
        Assert.True(result.Healthy);
    }

    [Fact]
    public async Task Expected_content_that_does_not_match_is_unhealthy_and_says_so()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok("{\"status\":\"starting\"}"));
        var result = await CheckAsync(server.Url("/health"), Once with { ExpectContent = new Regex("\"status\":\"ok\"") });
        Assert.False(result.Healthy);
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal(200, result.StatusCode);
        Assert.Equal("200 OK, but the content did not match '\"status\":\"ok\"'", result.Detail);
    }

    [Fact]
    public async Task Expected_status_overrides_the_default_2xx()
    {
        await using var server = new TestHttpServer((path, _) => path == "/gone" ? new TestResponse(404, "gone") : TestResponse.Ok());
        var expect404 = Once with { ExpectedStatus = [404, 410] };
        var gone = await CheckAsync(server.Url("/gone"), expect404);
        Assert.Equal(HealthStatus.Up, gone.Status);
        Assert.True(gone.Healthy);
        Assert.Equal(404, gone.StatusCode);

        var ok = await CheckAsync(server.Url("/health"), Once with { ExpectedStatus = [204] });
        Assert.False(ok.Healthy);
        Assert.Equal(HealthStatus.Misconfigured, ok.Status);
        Assert.Equal("200 OK, expected 204", ok.Detail);
    }

    [Fact]
    public async Task Redirects_are_followed_to_the_final_answer()
    {
        await using var server = new TestHttpServer((path, _) => path == "/old" ? new TestResponse(302, Location: "/health") : TestResponse.Ok());
        var result = await CheckAsync(server.Url("/old"));
        Assert.Equal(HealthStatus.Up, result.Status);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task Each_try_opens_a_fresh_connection()
    {
        await using var server = new TestHttpServer((_, n) => n < 3 ? new TestResponse(503) : TestResponse.Ok());
        var result = await CheckAsync(server.Url("/health"), Once with { Timeout = TimeSpan.FromSeconds(10) });
        Assert.True(result.Healthy);
        Assert.Equal(3, result.Tries);
        Assert.Equal(1, server.MaxInFlight);
    }

    [Theory]
    [InlineData(200, true, null, 10, HealthStatus.Up, true)]
    [InlineData(200, true, null, 5000, HealthStatus.Degraded, true)]
    [InlineData(200, true, false, 10, HealthStatus.Degraded, false)]
    [InlineData(301, false, null, 10, HealthStatus.Misconfigured, false)]
    [InlineData(401, false, null, 10, HealthStatus.Misconfigured, false)]
    [InlineData(502, false, null, 10, HealthStatus.Degraded, false)]
    [InlineData(404, true, false, 10, HealthStatus.Misconfigured, false)]
    public void Classify_follows_the_status_page(int code, bool statusMatched, bool? contentMatched, int latencyMs, HealthStatus status, bool healthy)
    {
        var (actual, isHealthy, _) = HttpProbe.Classify(code, null, statusMatched, contentMatched, TimeSpan.FromMilliseconds(latencyMs), new HealthOptions());
        Assert.Equal(status, actual);
        Assert.Equal(healthy, isHealthy);
    }

    [Fact]
    public void A_relative_or_non_http_url_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new HttpProbe(new HealthCheck { Service = "x", HealthUrl = new Uri("ftp://host/health") }, Once));
        Assert.Throws<ArgumentException>(() => new HttpProbe(new HealthCheck { Service = "x", HealthUrl = new Uri("/health", UriKind.Relative) }, Once));
    }
}
