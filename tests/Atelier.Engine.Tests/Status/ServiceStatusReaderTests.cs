using System.Runtime.Versioning;
using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;
using Atelier.Output;
using Atelier.Shell;
using Atelier.Snapshot;
using Atelier.Status;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;
using Atelier.Transport;

namespace Atelier.Tests.Status;

/// <summary>
/// A folder of this machine's programs without systemctl, so that the status script's unit read fails the same way
/// everywhere (this machine may or may not run systemd); made once for the class.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class ProgramsWithoutSystemctl : IDisposable
{
    private readonly TempFolder _temp = new();

    public ProgramsWithoutSystemctl()
    {
        Bin = Directory.CreateDirectory(_temp.Combine("bin")).FullName;
        foreach (var folder in new[] { "/usr/local/bin", "/usr/bin", "/bin" })
        {
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var program in Directory.EnumerateFiles(folder))
            {
                var link = Path.Combine(Bin, Path.GetFileName(program));
                if (Path.GetFileName(program) != "systemctl" && !File.Exists(link))
                {
                    File.CreateSymbolicLink(link, program);
                }
            }
        }
    }

    public string Bin { get; }

    public void Dispose() => _temp.Dispose();
}

/// <summary>
/// Get-ServiceStatus's one command, run for real (<c>status.sh</c>, git, <c>lock.sh</c> and the snapshot listing in a
/// local <c>/bin/sh</c> with HOME pointed at a temp service home whose <c>~/app</c> is a clone of a local bare origin),
/// and its output read back; the unit's part from <c>systemctl show</c> output as a real systemd 252 printed it.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class ServiceStatusReaderTests : IDisposable, IClassFixture<ProgramsWithoutSystemctl>
{
    private const string Service = "web";
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _temp = new();
    private readonly HomeHost _host;
    private readonly string _origin;

    public ServiceStatusReaderTests(ProgramsWithoutSystemctl programs)
    {
        Home = Directory.CreateDirectory(_temp.Combine("home")).FullName;
        _origin = _temp.Combine("origin.git");
        _host = new HomeHost(Home, programs.Bin);
        Git(_temp.Path, "init", "-q", "--bare", "-b", "main", _origin);
        Git(_temp.Path, "clone", "-q", _origin, _temp.Combine("work"));
        Commit("first version");
        Git(_temp.Combine("work"), "push", "-q", "origin", "HEAD:main");
        Git(Home, "clone", "-q", _origin, "app");
    }

    private string Home { get; }

    private string App => Path.Combine(Home, "app");

    public void Dispose()
    {
        _host.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void The_command_is_one_script_run_with_quoted_arguments_then_the_locks_read_then_the_snapshot_listing()
    {
        var text = ServiceStatusReader.Command(Request() with { Branch = "release/1.x", Fetch = false, FetchTimeout = TimeSpan.FromSeconds(7.2) }).Text;

        Assert.StartsWith("sh -c '# What Get-ServiceStatus reads", text, StringComparison.Ordinal);
        Assert.Contains("' atelier web release/1.x nofetch 8; " + DeployLock.ReadCommand(Service).Text, text, StringComparison.Ordinal);
        Assert.Contains(DeployLock.ReadCommand(Service).Text + "; echo \"atelier-status lock-exit $?\"; echo 'atelier-status snapshots'; " + RemoteSnapshotter.ListCommand().Text, text, StringComparison.Ordinal);
        Assert.EndsWith(RemoteSnapshotter.ListCommand().Text, text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_branch_with_shell_syntax_is_refused_by_Validate()
    {
        Assert.Throws<RemoteValueException>(() => (Request() with { Branch = "main; id" }).Validate());
        Assert.Throws<RemoteValueException>(() => (Request() with { Service = "Web App" }).Validate());
        Assert.Throws<RemoteValueException>(() => (Request() with { DbPath = "data/$(id).db" }).Validate());
    }

    [Fact]
    public async Task Right_after_the_clone_it_has_the_commit_no_history_no_snapshot_no_lock_and_origin_even()
    {
        var status = await ReadAsync(Request());

        Assert.Equal(Head(App), status.DeployedCommit);
        Assert.Equal(Head(App)[..8], status.ShortCommit);
        Assert.Equal("first version", status.Subject);
        Assert.Equal(Head(App), status.OriginCommit);
        Assert.Equal(0, status.Behind);
        Assert.Equal(0, status.Ahead);
        Assert.Equal(OriginRead.Fetched, status.Origin);
        Assert.Null(status.LastDeploy);
        Assert.Null(status.LatestSnapshot);
        Assert.Null(status.SnapshotAge);
        Assert.Null(status.Lock);
        Assert.False(status.GuardAtWork);
        Assert.Equal(Service, status.Service);
        Assert.Equal("localhost", status.ComputerName);
        Assert.Equal(_host.User, status.User);
        Assert.Equal("main", status.Branch);
        Assert.InRange(status.CheckedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task A_host_without_systemctl_gives_a_Down_health_and_says_why_and_the_rest_is_read()
    {
        var status = await ReadAsync(Request());

        Assert.Null(status.ActiveState);
        Assert.Null(status.StartedAt);
        Assert.Equal(HealthStatus.Down, status.Health.Status);
        Assert.False(status.Health.Healthy);
        Assert.Equal("systemd", status.Health.Method);
        Assert.Equal("systemctl show web.service gave no ActiveState", status.Health.Detail);
        var problem = Assert.Single(status.Problems);
        Assert.StartsWith("systemctl show web.service failed: ", problem, StringComparison.Ordinal);
        Assert.Contains("systemctl", problem[35..], StringComparison.Ordinal);
        Assert.NotNull(status.DeployedCommit);
    }

    [Fact]
    public async Task Origin_ahead_by_three_is_Behind_3_once_fetched_and_as_the_last_fetch_left_it_with_NoFetch()
    {
        var deployed = Head(App);
        Commit("second");
        Commit("third");
        Commit("fourth");
        Git(_temp.Combine("work"), "push", "-q", "origin", "HEAD:main");

        var stale = await ReadAsync(Request() with { Fetch = false });
        Assert.Equal(0, stale.Behind);
        Assert.Equal(OriginRead.NotFetched, stale.Origin);
        Assert.Equal(deployed, stale.OriginCommit);

        var fresh = await ReadAsync(Request());
        Assert.Equal(3, fresh.Behind);
        Assert.Equal(0, fresh.Ahead);
        Assert.Equal(OriginRead.Fetched, fresh.Origin);
        Assert.Equal(Head(_temp.Combine("work")), fresh.OriginCommit);
        Assert.Equal(deployed, fresh.DeployedCommit);
        Assert.False(File.Exists(Path.Combine(App, ".git", "FETCH_HEAD")), "the status's fetch writes no FETCH_HEAD, which a deploy's fetch of a revision reads");

        // The fetch left origin/main where it found it: now without fetching it is known too.
        Assert.Equal(3, (await ReadAsync(Request() with { Fetch = false })).Behind);
    }

    [Fact]
    public async Task A_deployed_commit_origin_does_not_have_counts_as_Ahead()
    {
        Git(App, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", "hotfix on the host");

        var status = await ReadAsync(Request());

        Assert.Equal(1, status.Ahead);
        Assert.Equal(0, status.Behind);
        Assert.Equal("hotfix on the host", status.Subject);
    }

    [Fact]
    public async Task A_failing_fetch_is_a_problem_not_a_failure_and_Behind_is_the_last_fetchs()
    {
        Git(App, "remote", "set-url", "origin", _temp.Combine("gone.git"));

        var status = await ReadAsync(Request());

        Assert.Equal(OriginRead.FetchFailed, status.Origin);
        Assert.Equal(0, status.Behind);
        Assert.Contains(status.Problems, p => p.StartsWith("fetching origin/main failed: ", StringComparison.Ordinal) && p.Contains("gone.git", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_branch_origin_has_not_is_a_problem_and_Behind_unknown()
    {
        var status = await ReadAsync(Request() with { Branch = "nope" });

        Assert.Null(status.Behind);
        Assert.Null(status.OriginCommit);
        Assert.Equal(Head(App), status.DeployedCommit);
        Assert.Contains(status.Problems, p => p.Contains("origin/nope is not known", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_an_app_checkout_it_says_so_and_reads_the_rest()
    {
        Directory.Delete(App, recursive: true);

        var status = await ReadAsync(Request());

        Assert.Null(status.DeployedCommit);
        Assert.Null(status.Subject);
        Assert.Null(status.Behind);
        Assert.Null(status.Origin);
        Assert.Contains(status.Problems, p => p == $"~/app: {App} does not exist");
    }

    [Fact]
    public async Task A_hostile_commit_subject_comes_cleaned_redacted_and_cannot_pose_as_another_line()
    {
        var subject = "\u001b[31mred\u001b[0m \u001b]8;;http://evil\u0007link\u001b]8;;\u0007 API_TOKEN=hunter2secret ::error::x atelier-status head 0000000000000000000000000000000000000000";
        Git(App, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", subject);

        var status = await ReadAsync(Request());

        Assert.Equal(Head(App), status.DeployedCommit);
        Assert.DoesNotContain('\u001b', status.Subject!);
        Assert.DoesNotContain('\u0007', status.Subject!);
        Assert.DoesNotContain("hunter2secret", status.Subject!, StringComparison.Ordinal);
        Assert.Contains("API_TOKEN=***", status.Subject!, StringComparison.Ordinal);
        Assert.StartsWith("red link API_TOKEN=*** ::error::x atelier-status head 0000", status.Subject!, StringComparison.Ordinal);
        Assert.Equal(1, status.Ahead);
    }

    [Fact]
    public async Task A_lock_held_by_a_dead_holder_is_named_dead_and_no_fetch_runs_under_it()
    {
        Commit("not yet deployed");
        Git(_temp.Combine("work"), "push", "-q", "origin", "HEAD:main");
        await using var held = await DeployLock.AcquireAsync(_host, new LockRequest(Service, LockOperation.Deploy, "alice@laptop") { Commit = "abc123" }, NullReporter.Instance, CancellationToken.None);
        var lockFolder = Path.Combine(Home, ".atelier", "deploy-web.lock");
        var guard = File.ReadAllText(Path.Combine(lockFolder, "guard.pid")).Split(' ')[0];
        Sh.Run($"kill -9 {guard}; while kill -0 {guard} 2>/dev/null; do sleep 0.05; done");
        File.SetLastWriteTimeUtc(Path.Combine(lockFolder, "heartbeat"), DateTime.UtcNow.AddHours(-1));

        var status = await ReadAsync(Request());

        Assert.NotNull(status.Lock);
        Assert.Equal("alice@laptop", status.Lock.By);
        Assert.Equal("abc123", status.Lock.Commit);
        Assert.Equal("deploy", status.Lock.Operation);
        Assert.Equal("lock", status.Lock.Step);
        Assert.False(status.Lock.Alive);
        Assert.StartsWith("no heartbeat for ", status.Lock.Why, StringComparison.Ordinal);
        Assert.False(status.GuardAtWork);
        Assert.Equal(OriginRead.Locked, status.Origin);
        Assert.Equal(0, status.Behind);
        var dead = Array.FindIndex(status.Problems, p => p.StartsWith("the deploy lock is held by alice@laptop (deploy of commit abc123, at the lock step, since ", StringComparison.Ordinal) && p.Contains("which is dead (no heartbeat for ", StringComparison.Ordinal));
        Assert.True(dead >= 0, string.Join("\n", status.Problems));
        Assert.Equal(Hint.BreakPutsBack, status.ProblemHints[dead]);
        EngineWords.AssertNoCmdletWords(status.Problems[dead]);
        Assert.True(Directory.Exists(lockFolder), "reading the lock leaves it as it was");
    }

    [Fact]
    public async Task The_fetch_holds_the_locks_mutex_and_a_mutex_held_by_a_deploy_taking_the_lock_means_no_fetch()
    {
        Commit("pushed meanwhile");
        Git(_temp.Combine("work"), "push", "-q", "origin", "HEAD:main");
        var atelier = Directory.CreateDirectory(Path.Combine(Home, ".atelier")).FullName;
        var mutex = Path.Combine(atelier, ".deploy-web.mutex");
        var ready = _temp.Combine("held");
        Sh.Run("setsid flock \"$1\" sh -c 'touch \"$1\"; sleep 4' sh \"$2\" >/dev/null 2>&1 &", [mutex, ready]);
        for (var i = 0; i < 100 && !File.Exists(ready); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(File.Exists(ready), "the mutex is held");

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var held = await ReadAsync(Request());
        stopwatch.Stop();

        Assert.Equal(OriginRead.Locked, held.Origin);
        Assert.Equal(0, held.Behind);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(4));
        await Task.Delay(TimeSpan.FromSeconds(4) - stopwatch.Elapsed);
        var free = await ReadAsync(Request());
        Assert.Equal(OriginRead.Fetched, free.Origin);
        Assert.Equal(1, free.Behind);

        // A mutex the status makes is private, as lock.sh makes it; without ~/.atelier (no deploy yet) it makes none.
        File.Delete(mutex);
        await ReadAsync(Request());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(mutex));
        Directory.Delete(atelier, recursive: true);
        Assert.Equal(OriginRead.Fetched, (await ReadAsync(Request())).Origin);
        Assert.False(Directory.Exists(atelier));
    }

    [Fact]
    public async Task A_live_holders_lock_is_named_alive_and_without_a_problem()
    {
        await using var held = await DeployLock.AcquireAsync(_host, new LockRequest(Service, LockOperation.Restore, "bob@ci"), NullReporter.Instance, CancellationToken.None);

        var status = await ReadAsync(Request());

        Assert.True(status.Lock?.Alive);
        Assert.Equal("restore", status.Lock!.Operation);
        Assert.Equal(held.Holder.Token, status.Lock.Token);
        Assert.DoesNotContain(status.Problems, p => p.Contains("lock", StringComparison.Ordinal));
        await held.ReleaseAsync(CancellationToken.None);
        Assert.Null((await ReadAsync(Request())).Lock);
    }

    [Fact]
    public async Task The_last_deploy_is_the_newest_record_of_the_service_as_it_stands()
    {
        var older = History.Records.Deploy(status: DeployStatus.Succeeded, minutes: 0);
        var started = History.Records.Deploy(status: DeployStatus.Started, minutes: 10) with { By = "carol@laptop \u001b[2J" };
        var outcome = started with { Status = DeployStatus.RolledBack, FailedStep = "health" };
        var otherService = History.Records.Deploy(service: "webby", minutes: 20);
        WriteHistory(HostHistory.Line(older), HostHistory.Line(started), HostHistory.Line(otherService), HostHistory.Line(outcome));

        var status = await ReadAsync(Request());

        Assert.NotNull(status.LastDeploy);
        Assert.Equal(started.Id, status.LastDeploy.Id);
        Assert.Equal(DeployStatus.RolledBack, status.LastDeploy.Status);
        Assert.Equal("health", status.LastDeploy.FailedStep);
        Assert.Equal(History.Records.Start.AddMinutes(10), status.LastDeploy.StartedAt);
        Assert.Equal("carol@laptop ", status.LastDeploy.By);
        Assert.DoesNotContain(status.Problems, p => p.Contains("deploys.jsonl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_deploy_that_never_finished_with_no_one_holding_the_lock_is_a_problem_and_a_broken_line_is_counted()
    {
        var started = History.Records.Deploy(status: DeployStatus.Started, minutes: 5);
        WriteHistory(HostHistory.Line(History.Records.Deploy(minutes: 0)), HostHistory.Line(started), "{\"service\":\"web\",\"id\":");

        var status = await ReadAsync(Request());

        Assert.Equal(DeployStatus.Started, status.LastDeploy?.Status);
        var unfinished = Array.IndexOf(status.Problems, "the deploy started 2025-03-01 12:05:00Z by kieran@laptop never finished and no one holds the lock");
        Assert.True(unfinished >= 0, string.Join("\n", status.Problems));
        Assert.Equal(Hint.RestoreUnfinished, status.ProblemHints[unfinished]);
        var broken = Array.FindIndex(status.Problems, p => p.StartsWith("1 of the newest lines of ~/.atelier/deploys.jsonl are not deploy records", StringComparison.Ordinal));
        Assert.True(broken >= 0, string.Join("\n", status.Problems));
        Assert.Equal(Hint.HostHistory, status.ProblemHints[broken]);
        Assert.Equal(status.Problems.Length, status.ProblemHints.Count);
        Assert.All(status.Problems, EngineWords.AssertNoCmdletWords);
    }

    [Fact]
    public async Task The_newest_snapshot_of_the_services_database_and_its_age_by_the_hosts_clock()
    {
        var folder = Directory.CreateDirectory(Path.Combine(Home, ".atelier", "snapshots")).FullName;
        var an_hour_ago = DateTimeOffset.UtcNow.AddHours(-1);
        File.WriteAllText(Path.Combine(folder, ServiceDbSnapshot.FileName("web", an_hour_ago.AddDays(-1), "1111111")), "x");
        File.WriteAllText(Path.Combine(folder, ServiceDbSnapshot.FileName("web", an_hour_ago, "2222222")), "xyz");
        File.WriteAllText(Path.Combine(folder, ServiceDbSnapshot.FileName("other", an_hour_ago.AddMinutes(30), "3333333")), "x");
        File.WriteAllText(Path.Combine(folder, "web.not-a-snapshot.db"), "x");

        var status = await ReadAsync(Request() with { DbPath = "data/web.db" });
        var any = await ReadAsync(Request());

        Assert.NotNull(status.LatestSnapshot);
        Assert.Equal("web", status.LatestSnapshot.Database);
        Assert.Equal("2222222", status.LatestSnapshot.Commit);
        Assert.Equal(3, status.LatestSnapshot.SizeBytes);
        Assert.Equal(Path.Combine(folder, ServiceDbSnapshot.FileName("web", an_hour_ago, "2222222")), status.LatestSnapshot.Path);
        Assert.InRange(status.SnapshotAge!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        Assert.Equal("other", any.LatestSnapshot?.Database);
    }

    [Fact]
    public void A_unit_that_never_started_has_no_start_time_no_invocation_and_is_Down()
    {
        var status = Parse(Unit("MainPID=0", "Result=success", "NRestarts=0", "ExecMainStatus=0", "LoadState=loaded", "ActiveState=inactive", "SubState=dead", "ActiveEnterTimestamp=", "InvocationID="));

        Assert.Equal("loaded", status.LoadState);
        Assert.Equal("inactive", status.ActiveState);
        Assert.Equal("dead", status.SubState);
        Assert.Null(status.StartedAt);
        Assert.Null(status.InvocationId);
        Assert.Equal(0, status.NRestarts);
        Assert.Equal(0, status.MainPid);
        Assert.Equal(HealthStatus.Down, status.Health.Status);
        Assert.Equal("ActiveState=inactive SubState=dead NRestarts=0", status.Health.Detail);
        Assert.Empty(status.Problems);
    }

    [Fact]
    public void A_running_unit_has_its_start_time_invocation_and_restarts_and_is_Up()
    {
        var status = Parse(Unit("MainPID=30", "Result=success", "NRestarts=2", "ExecMainStatus=0", "LoadState=loaded", "ActiveState=active", "SubState=running",
            "ActiveEnterTimestamp=Tue 2026-12-01 11:08:57 UTC", "InvocationID=853ebc08c1e0434f9344cca05a8f3aff"));

        Assert.Equal(new DateTimeOffset(2026, 12, 1, 11, 8, 57, TimeSpan.Zero), status.StartedAt);
        Assert.Equal("853ebc08c1e0434f9344cca05a8f3aff", status.InvocationId);
        Assert.Equal(2, status.NRestarts);
        Assert.Equal(30, status.MainPid);
        Assert.Equal(HealthStatus.Up, status.Health.Status);
        Assert.True(status.Health.Healthy);
        Assert.Equal(1, status.Health.Tries);
        Assert.Equal(Now, status.Health.CheckedAt);
    }

    [Fact]
    public void A_crash_looping_unit_and_a_unit_the_host_does_not_have()
    {
        var looping = Parse(Unit("MainPID=0", "Result=exit-code", "NRestarts=5", "ExecMainStatus=1", "LoadState=loaded", "ActiveState=activating", "SubState=auto-restart",
            "ActiveEnterTimestamp=Tue 2026-12-01 11:50:02 UTC", "InvocationID=0a1b"));
        var missing = Parse(Unit("MainPID=0", "Result=success", "NRestarts=0", "ExecMainStatus=0", "LoadState=not-found", "ActiveState=inactive", "SubState=dead", "ActiveEnterTimestamp=", "InvocationID="));

        Assert.Equal("ActiveState=activating SubState=auto-restart NRestarts=5 Result=exit-code ExecMainStatus=1", looping.Health.Detail);
        Assert.Equal(HealthStatus.Down, looping.Health.Status);
        Assert.Equal(["the host has no unit web.service"], missing.Problems);
        Assert.Equal("unit web.service not found (LoadState=not-found)", missing.Health.Detail);
    }

    [Fact]
    public void An_HTTP_check_is_the_health_and_the_hosts_clock_gives_the_ages()
    {
        var http = new ServiceHealth { Service = Service, Method = "http", Status = HealthStatus.Degraded, Healthy = false, Detail = "500 Internal Server Error" };
        var output = $"atelier-status now {Now.ToUnixTimeSeconds()}\natelier-status lock-exit 0\natelier-lock free\natelier-status snapshots\n"
            + $"5 {ServiceDbSnapshot.FileName("web", Now.AddMinutes(-90), "abc")}\natelier-dir /home/web/.atelier/snapshots\n";

        var status = ServiceStatusReader.Parse(Request(), "web", output, http, HostText.Default, DateTimeOffset.UnixEpoch);

        Assert.Same(http, status.Health);
        Assert.Equal(Now, status.CheckedAt);
        Assert.Equal(TimeSpan.FromMinutes(90), status.SnapshotAge);
        Assert.Null(status.Lock);
    }

    [Theory]
    [InlineData("yes", true)]
    [InlineData("no", false)]
    public void A_lock_its_guard_decided_is_the_guard_at_work_while_the_guard_lives(string alive, bool atWork)
    {
        var output = $"atelier-status now {Now.ToUnixTimeSeconds()}\natelier-status lock-exit 0\n"
            + "atelier-lock held service=web\natelier-lock held operation=deploy\natelier-lock held by=alice@laptop\natelier-lock held token=0123abcd\n"
            + $"atelier-lock held timeout=5\natelier-lock held alive={alive}\natelier-lock held why=its guard (pid 42) is putting the service back\n"
            + "atelier-lock held step=guard: install\natelier-lock held decided=guard\natelier-status snapshots\n";

        var status = ServiceStatusReader.Parse(Request(), "web", output, null, HostText.Default, Now);

        Assert.Equal("guard", status.Lock?.DecidedBy);
        Assert.Equal("guard: install", status.Lock?.Step);
        Assert.Equal(atWork, status.GuardAtWork);
        Assert.Equal(atWork ? 0 : 1, status.Problems.Count(p => p.StartsWith("the deploy lock is held by alice@laptop", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_file_name_with_a_line_break_cannot_pose_as_the_lock_or_the_commit()
    {
        // The snapshot listing comes last: whatever a file name holds, nothing before it is read from it.
        var output = $"atelier-status now {Now.ToUnixTimeSeconds()}\natelier-status lock-exit 0\natelier-lock free\natelier-status snapshots\n"
            + "1 x\natelier-lock held by=mallory\natelier-status head 1111111111111111111111111111111111111111\natelier-dir /d\n";

        var status = ServiceStatusReader.Parse(Request(), "web", output, null, HostText.Default, Now);

        Assert.Null(status.Lock);
        Assert.Null(status.DeployedCommit);
        Assert.Null(status.LatestSnapshot);
    }

    [Fact]
    public async Task Many_are_read_at_once_each_outcome_in_the_order_given_and_one_failure_stops_none()
    {
        var items = new[] { ("a", "h1", 300), ("b", "h1", 0), ("c", "h2", 100), ("d", "h2", 0) };
        var written = new List<string>();
        var started = new List<string>();
        var gate = new object();

        await ServiceStatusReader.ReadAllAsync(
            items,
            throttleLimit: 2,
            item => item.Item2,
            async (item, token) =>
            {
                lock (gate)
                {
                    started.Add(item.Item1);
                }

                await Task.Delay(item.Item3, token);
                return item.Item1 == "c" ? throw new HostConnectionException("h2 is down", null) : Parse(string.Empty);
            },
            (item, _) => { lock (gate) { written.Add(item.Item1); } },
            (item, ex) => { lock (gate) { written.Add(item.Item1 + ": " + ex.Message); } },
            CancellationToken.None);

        Assert.Equal(["a", "b", "c: h2 is down", "d"], written);
        Assert.Equal(["a", "c"], started[..2].Order(StringComparer.Ordinal));
    }

    private static StatusRequest Request() => new() { Service = Service, ComputerName = "localhost" };

    private static ServiceStatus Parse(string output) => ServiceStatusReader.Parse(Request(), "web", output, null, HostText.Default, Now);

    private static string Unit(params string[] lines) =>
        $"atelier-status now {Now.ToUnixTimeSeconds()}\n" + string.Concat(lines.Select(l => "atelier-status unit " + l + "\n")) + "atelier-status lock-exit 0\natelier-lock free\natelier-status snapshots\n";

    private Task<ServiceStatus> ReadAsync(StatusRequest request) =>
        new ServiceStatusReader(new HealthOptions()).ReadAsync(request.Validate(), _ => Task.FromResult<IRemoteHost>(_host), new CommandOptions { Timeout = TimeSpan.FromSeconds(30) }, CancellationToken.None);

    private void WriteHistory(params string[] lines)
    {
        Directory.CreateDirectory(Path.Combine(Home, ".atelier"));
        File.WriteAllText(Path.Combine(Home, ".atelier", "deploys.jsonl"), string.Join('\n', lines) + "\n");
    }

    private void Commit(string message) =>
        Git(_temp.Combine("work"), "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", message);

    private static string Head(string repository) => Git(repository, "rev-parse", "HEAD").Trim();

    private static string Git(string folder, params string[] arguments)
    {
        var result = Sh.Exec("git", ["-C", folder, "-c", "commit.gpgsign=false", .. arguments]);
        Assert.True(result.ExitCode == 0, $"git {string.Join(' ', arguments)}: {result.Error}");
        return result.Output;
    }
}
