using System.Diagnostics;
using Atelier.Health;
using Atelier.Transport;

namespace Atelier.Tests.Health;

/// <summary>
/// A check given the unit's state right after the deploy's restart watches the unit while it polls: a crash, a failed
/// unit, a restart or a new main process ends it at once; a running unit waits for its HTTP answer as before.
/// </summary>
public sealed class UnitWatchTests
{
    private static readonly UnitState Baseline = new("loaded", "active", "running", 0, "success", "0", 1234);
    private static readonly UnitState Running = Baseline;
    private static readonly UnitState AutoRestart = new("loaded", "activating", "auto-restart", 1, "exit-code", "1", 0);
    private static readonly UnitState Failed = new("loaded", "failed", "failed", 0, "exit-code", "1", 0);
    private static readonly string[] Journal = ["Nov 26 20:00:00 web1 demo[1234]: listening on :3000", "Nov 26 20:00:01 web1 demo[1234]: Error: no such table: notes"];

    /// <summary>A deadline the check must never get near: a crash has to end it long before.</summary>
    private static readonly HealthOptions Long = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static Task<ServiceHealth> CheckAsync(ScriptedHost host, Uri? url, HealthOptions options, UnitState? baseline = null, RecordingReporter? reporter = null, CommandOptions? commandOptions = null, CancellationToken cancellationToken = default) =>
        new HealthChecker(options, reporter).CheckAsync(
            new HealthCheck { Service = "demo", ComputerName = "web1", HealthUrl = url, Baseline = baseline },
            _ => Task.FromResult<IRemoteHost>(host),
            commandOptions,
            cancellationToken);

    private static void AssertCrashed(ServiceHealth result, string detail)
    {
        Assert.False(result.Healthy);
        Assert.Equal(HealthStatus.Down, result.Status);
        Assert.True(result.UnitCrashed);
        Assert.True(result.Conclusive);
        Assert.Equal(detail, result.Detail);
        Assert.Equal(Journal, result.Journal);
        Assert.Equal("web1", result.ComputerName);
    }

    [Fact]
    public async Task A_unit_that_crashed_and_waits_to_be_restarted_ends_an_http_check_at_once()
    {
        // The app is gone: its port refuses, and systemd has it in auto-restart.
        var host = new ScriptedHost([Running, AutoRestart], Journal);
        var url = new Uri($"http://127.0.0.1:{TestHttpServer.ClosedPort()}/health");
        var watch = Stopwatch.StartNew();

        var result = await CheckAsync(host, url, Long, Baseline);

        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        AssertCrashed(result, "the unit crashed after the restart: ActiveState=activating SubState=auto-restart NRestarts 0→1 Result=exit-code ExecMainStatus=1 (MainPID 1234 → 0)");
        Assert.Equal(2, result.Tries);
        Assert.Equal("http", result.Method);
        Assert.Equal(url.OriginalString, result.HealthUrl);
        Assert.Equal("activating", result.ActiveState);
        Assert.Equal("auto-restart", result.SubState);
        Assert.Equal(1, result.NRestarts);
        Assert.Equal(2, host.Shows);
        Assert.Contains(host.Commands, c => c.StartsWith("journalctl -u demo.service", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_journal_lines_come_cleaned_and_redacted()
    {
        var host = new ScriptedHost([Failed], "demo[1]: \u001b[31mError\u001b[0m: bad API_TOKEN=hunter2secret", "demo[1]: ::error::from the app", "demo[1]: \u001b]8;;http://evil\u0007site-value-42\u001b]8;;\u0007");

        var result = await new HealthChecker(Long, text: new Atelier.Output.HostText(Atelier.Output.Redaction.Parse(["site-value-42"]))).CheckAsync(
            new HealthCheck { Service = "demo", ComputerName = "web1", HealthUrl = null, Baseline = Baseline },
            _ => Task.FromResult<IRemoteHost>(host),
            null,
            CancellationToken.None);

        Assert.Equal(["demo[1]: Error: bad API_TOKEN=***", "demo[1]: ::error::from the app", "demo[1]: ***"], result.Journal);
    }

    [Fact]
    public async Task A_failed_unit_ends_the_check_without_waiting_for_an_http_answer()
    {
        // The request hangs (a 10 s request timeout): the watch's answer alone ends the try.
        await using var server = new TestHttpServer((_, _) => new TestResponse(200, Hang: true));
        var host = new ScriptedHost([Failed], Journal);
        var watch = Stopwatch.StartNew();

        var result = await CheckAsync(host, server.Url("/health"), Long, Baseline);

        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        AssertCrashed(result, "the unit failed after the restart: ActiveState=failed SubState=failed NRestarts=0 Result=exit-code ExecMainStatus=1 (MainPID 1234 → 0)");
        Assert.Equal(1, result.Tries);
        Assert.Null(result.StatusCode);
    }

    [Fact]
    public async Task A_unit_that_restarted_is_not_healthy_even_when_its_new_run_answers()
    {
        // Between two crashes the new run answers 200: NRestarts says it already crashed once since the restart. The
        // watch answers after the request, so the crash replaces an answer that came first.
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok());
        var host = new ScriptedHost([new ShowAnswer(Running with { NRestarts = 1, MainPid = 5678 }, Delay: TimeSpan.FromMilliseconds(200))], Journal);
        var watch = Stopwatch.StartNew();

        var result = await CheckAsync(host, server.Url("/health"), Long, Baseline);

        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        AssertCrashed(result, "the unit crashed after the restart: ActiveState=active SubState=running NRestarts 0→1 (MainPID 1234 → 5678)");
        Assert.Equal(200, result.StatusCode);
        Assert.NotNull(result.LatencyMs);
        Assert.Equal(1, result.Tries);
    }

    [Fact]
    public async Task A_new_main_process_ends_the_check_at_once()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(503, "starting"));
        var host = new ScriptedHost([Running, Running, new ShowAnswer(Running with { MainPid = 999 }, Delay: TimeSpan.FromMilliseconds(200))], Journal);
        var watch = Stopwatch.StartNew();

        var result = await CheckAsync(host, server.Url("/health"), Long, Baseline);

        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        AssertCrashed(result, "the unit's main process changed after the restart: ActiveState=active SubState=running NRestarts=0 (MainPID 1234 → 999)");
        Assert.Equal(3, result.Tries);
        Assert.Equal(503, result.StatusCode);
    }

    [Fact]
    public async Task A_running_unit_with_a_healthy_answer_is_up_after_one_watch_and_no_journal()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok());
        var host = new ScriptedHost([Running], Journal);
        var reporter = new RecordingReporter();

        var result = await CheckAsync(host, server.Url("/health"), Long, Baseline, reporter);

        Assert.True(result.Healthy);
        Assert.Equal(HealthStatus.Up, result.Status);
        Assert.False(result.UnitCrashed);
        Assert.False(result.Conclusive);
        Assert.Equal("200 OK", result.Detail);
        Assert.Equal(1, result.Tries);
        Assert.Empty(result.Journal);
        Assert.Equal(["systemctl show demo.service --property=LoadState,ActiveState,SubState,NRestarts,Result,ExecMainStatus,MainPID"], host.Commands);
        Assert.Contains(reporter.Verboses, v => v.EndsWith(", watching demo.service", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_running_unit_that_answers_500_waits_for_the_deadline_and_says_for_how_long()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(500, "broken"));
        var host = new ScriptedHost([Running, Running with { ActiveState = "reloading", SubState = "reload" }, Running], Journal);
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(2) };
        var watch = Stopwatch.StartNew();

        var result = await CheckAsync(host, server.Url("/health"), options, Baseline);

        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(8));
        Assert.False(result.Healthy);
        Assert.False(result.UnitCrashed);
        Assert.False(result.Conclusive);
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal(500, result.StatusCode);
        Assert.InRange(result.Tries, 3, 30);
        Assert.Matches($@"^500 Internal Server Error, expected 2xx, for [12]\.\d s \({result.Tries} tries\)$", result.Detail);
        Assert.Equal(result.Tries, host.Shows);
        Assert.Equal(Journal, result.Journal);
    }

    [Fact]
    public async Task A_watch_command_that_fails_or_times_out_is_not_a_crash()
    {
        await using var server = new TestHttpServer((_, n) => n <= 3 ? new TestResponse(503, "starting") : TestResponse.Ok());
        var host = new ScriptedHost([ShowAnswer.Failing("Failed to connect to bus: No such file or directory"), ShowAnswer.Hanging(), new ShowAnswer(null), Running], Journal);
        var reporter = new RecordingReporter();

        var result = await CheckAsync(host, server.Url("/health"), Long, Baseline, reporter, new CommandOptions { Timeout = TimeSpan.FromMilliseconds(300) });

        Assert.True(result.Healthy);
        Assert.False(result.UnitCrashed);
        Assert.Equal(4, result.Tries);
        Assert.Equal(4, host.Shows);
        Assert.Contains(reporter.Verboses, v => v.Contains("watching demo.service: systemctl show demo.service failed with exit code 1: Failed to connect to bus", StringComparison.Ordinal));
        Assert.Contains(reporter.Verboses, v => v.Contains("watching demo.service: systemctl show did not answer within 0.3 s", StringComparison.Ordinal));
        Assert.Contains(reporter.Verboses, v => v.Contains("watching demo.service: systemctl show demo.service gave no ActiveState", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_watch_that_never_answers_leaves_the_check_to_its_deadline()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(503));
        var host = new ScriptedHost([ShowAnswer.Hanging()], Journal);
        var options = new HealthOptions { Timeout = TimeSpan.FromSeconds(1.5) };

        var result = await CheckAsync(host, server.Url("/health"), options, Baseline, commandOptions: new CommandOptions { Timeout = TimeSpan.FromMilliseconds(200) });

        Assert.False(result.Healthy);
        Assert.False(result.UnitCrashed);
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Matches(@"^503 Service Unavailable, expected 2xx, for \d\.\d s \(\d+ tries\)$", result.Detail);
    }

    [Fact]
    public async Task Without_a_baseline_an_http_check_runs_no_systemctl_command()
    {
        await using var server = new TestHttpServer((path, _) => path == "/ok" ? TestResponse.Ok() : new TestResponse(503));
        var host = new ScriptedHost([AutoRestart], Journal);

        var up = await CheckAsync(host, server.Url("/ok"), Long);
        Assert.True(up.Healthy);
        Assert.Empty(host.Commands);

        var down = await CheckAsync(host, server.Url("/down"), new HealthOptions { Timeout = TimeSpan.FromSeconds(1) });
        Assert.False(down.Healthy);
        Assert.False(down.UnitCrashed);
        Assert.True(down.Tries > 1);
        Assert.Equal(0, host.Shows);
        Assert.Equal(Journal, down.Journal);
        Assert.All(host.Commands, c => Assert.DoesNotContain("systemctl show", c, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_baseline_without_a_host_is_an_http_check_as_before()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok());
        var result = await new HealthChecker(Long).CheckAsync(new HealthCheck { Service = "demo", HealthUrl = server.Url("/health"), Baseline = Baseline }, null, null, CancellationToken.None);
        Assert.True(result.Healthy);
        Assert.False(result.UnitCrashed);
    }

    [Fact]
    public async Task A_host_that_cannot_be_reached_only_costs_the_watch()
    {
        await using var server = new TestHttpServer((_, _) => TestResponse.Ok());
        var reporter = new RecordingReporter();
        var result = await new HealthChecker(Long, reporter).CheckAsync(
            new HealthCheck { Service = "demo", HealthUrl = server.Url("/health"), Baseline = Baseline },
            _ => Task.FromException<IRemoteHost>(new HostConnectionException("connection refused")),
            null,
            CancellationToken.None);
        Assert.True(result.Healthy);
        Assert.Contains(reporter.Verboses, v => v.Contains("could not reach the host to watch the unit: connection refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_systemd_check_with_a_baseline_ends_at_once_when_the_unit_crashes()
    {
        var host = new ScriptedHost([AutoRestart], Journal);
        var watch = Stopwatch.StartNew();

        var result = await CheckAsync(host, null, Long, Baseline);

        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        AssertCrashed(result, "the unit crashed after the restart: ActiveState=activating SubState=auto-restart NRestarts 0→1 Result=exit-code ExecMainStatus=1 (MainPID 1234 → 0)");
        Assert.Equal("systemd", result.Method);
        Assert.Null(result.HealthUrl);
        Assert.Equal(1, result.Tries);
        Assert.Equal(1, host.Shows);
    }

    [Fact]
    public async Task A_systemd_check_with_a_baseline_sees_a_crash_in_its_settle_window()
    {
        var host = new ScriptedHost([Running, Failed], Journal);
        var watch = Stopwatch.StartNew();

        var result = await CheckAsync(host, null, Long with { Settle = TimeSpan.FromMilliseconds(300) }, Baseline);

        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1.5));
        AssertCrashed(result, "the unit failed after the restart: ActiveState=failed SubState=failed NRestarts=0 Result=exit-code ExecMainStatus=1 (MainPID 1234 → 0)");
        Assert.Equal(1, result.Tries);
        Assert.Equal(2, host.Shows);
    }

    [Fact]
    public async Task A_systemd_check_with_a_baseline_is_up_for_a_steady_unit()
    {
        var host = new ScriptedHost([Running], Journal);
        var result = await CheckAsync(host, null, Long with { Settle = TimeSpan.FromMilliseconds(100) }, Baseline);
        Assert.True(result.Healthy);
        Assert.False(result.UnitCrashed);
        Assert.Equal("ActiveState=active SubState=running NRestarts=0 (steady for 0.1 s)", result.Detail);
    }

    [Fact]
    public async Task A_systemd_check_whose_systemctl_fails_is_not_a_crash()
    {
        var host = new ScriptedHost([ShowAnswer.Failing("Failed to connect to bus"), Running], Journal);
        var result = await CheckAsync(host, null, Long with { Settle = TimeSpan.Zero }, Baseline);
        Assert.True(result.Healthy);
        Assert.False(result.UnitCrashed);
        Assert.Equal(2, result.Tries);
    }

    [Fact]
    public async Task Without_a_baseline_a_crash_looping_unit_is_polled_until_the_deadline()
    {
        var host = new ScriptedHost([AutoRestart], Journal);
        var watch = Stopwatch.StartNew();

        var result = await CheckAsync(host, null, new HealthOptions { Timeout = TimeSpan.FromSeconds(1.5), Settle = TimeSpan.Zero });

        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(6));
        Assert.False(result.Healthy);
        Assert.False(result.UnitCrashed);
        Assert.False(result.Conclusive);
        Assert.True(result.Tries > 1);
        Assert.StartsWith("ActiveState=activating SubState=auto-restart NRestarts=1 Result=exit-code ExecMainStatus=1, for ", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_ends_a_watched_try_at_once()
    {
        await using var server = new TestHttpServer((_, _) => new TestResponse(200, Hang: true));
        var host = new ScriptedHost([ShowAnswer.Hanging()], Journal);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CheckAsync(host, server.Url("/hang"), Long, Baseline, cancellationToken: cancel.Token));

        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(3));
    }

    [Theory]
    [InlineData("active", "running", 0, 1234, null)]
    [InlineData("activating", "start", 0, 1234, null)]
    [InlineData("reloading", "reload", 0, 1234, null)]
    [InlineData("active", "running", null, null, null)]
    [InlineData("activating", "auto-restart", 1, 0, "the unit crashed after the restart: ActiveState=activating SubState=auto-restart NRestarts 0→1 (MainPID 1234 → 0)")]
    [InlineData("activating", "auto-restart", 0, null, "the unit crashed after the restart: ActiveState=activating SubState=auto-restart NRestarts=0")]
    [InlineData("active", "running", 2, 1234, "the unit crashed after the restart: ActiveState=active SubState=running NRestarts 0→2")]
    [InlineData("failed", "failed", 0, 0, "the unit failed after the restart: ActiveState=failed SubState=failed NRestarts=0 (MainPID 1234 → 0)")]
    [InlineData("inactive", "dead", 0, 0, "the unit exited after the restart: ActiveState=inactive SubState=dead NRestarts=0 (MainPID 1234 → 0)")]
    [InlineData("active", "exited", 0, 0, "the unit exited after the restart: ActiveState=active SubState=exited NRestarts=0 (MainPID 1234 → 0)")]
    [InlineData("deactivating", "stop-sigterm", 0, 1234, "the unit is stopping after the restart: ActiveState=deactivating SubState=stop-sigterm NRestarts=0")]
    [InlineData("active", "running", 0, 4321, "the unit's main process changed after the restart: ActiveState=active SubState=running NRestarts=0 (MainPID 1234 → 4321)")]
    [InlineData("active", "running", 0, 0, "the unit's main process changed after the restart: ActiveState=active SubState=running NRestarts=0 (MainPID 1234 → 0)")]
    public void A_crash_is_read_from_the_state_against_the_baseline(string active, string sub, int? restarts, int? pid, string? crash)
    {
        var now = new UnitState("loaded", active, sub, restarts, "success", "0", pid);
        Assert.Equal(crash, UnitWatch.DescribeCrash("demo.service", Baseline, now));
    }

    [Fact]
    public void What_the_baseline_does_not_know_concludes_nothing()
    {
        var unknown = new UnitState("loaded", "active", "running", null, "success", "0", null);
        Assert.Null(UnitWatch.DescribeCrash("demo.service", unknown, Running with { NRestarts = 5, MainPid = 42 }));
        var noProcess = Baseline with { MainPid = 0 };
        Assert.Null(UnitWatch.DescribeCrash("demo.service", noProcess, Running with { MainPid = 42 }));
    }

    [Fact]
    public void A_watch_needs_a_baseline()
    {
        using var host = new ScriptedHost([Running]);
        Assert.Throws<ArgumentException>(() => new UnitWatch(host, new HealthCheck { Service = "demo" }));
    }
}
