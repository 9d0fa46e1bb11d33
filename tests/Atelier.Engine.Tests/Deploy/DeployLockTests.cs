using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Atelier.Deploy;
using Atelier.Shell;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Deploy;

/// <summary>
/// The deploy lock, taken and released for real by <c>lock.sh</c> in a local <c>/bin/sh</c> with HOME pointed at a
/// temp service home (one per test).
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class DeployLockTests : IDisposable
{
    private const string Service = "web";
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly TempFolder _temp = new();
    private readonly HomeHost _host;
    private readonly RecordingReporter _reporter = new();

    public DeployLockTests()
    {
        Home = Directory.CreateDirectory(_temp.Combine("home")).FullName;
        _host = new HomeHost(Home);
    }

    private string Home { get; }

    private string LockFolder => Path.Combine(Home, ".atelier", "deploy-web.lock");

    public void Dispose()
    {
        _host.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Every_value_reaches_the_host_as_a_quoted_argument_after_the_script()
    {
        var request = new LockRequest(Service, LockOperation.Restore, "it's $(id) `id`") { Commit = "abc123" };

        var text = DeployLock.AcquireCommand(request, "0123abcd", breakHeld: true).Text;

        Assert.StartsWith("sh -c '# ", text, StringComparison.Ordinal);
        Assert.Contains("\nset -eu\n", text, StringComparison.Ordinal);
        Assert.Contains(@"' atelier acquire web 0123abcd restore 'it'\''s $(id) `id`' abc123 break 30 '# The guard of one deploy", text, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(text, "$(id)"));
        Assert.EndsWith("' atelier finish web 0123abcd", DeployLock.FinishCommand(Service, "0123abcd").Text, StringComparison.Ordinal);
        Assert.EndsWith("' atelier read web", DeployLock.ReadCommand(Service).Text, StringComparison.Ordinal);
        Assert.Equal("~/.atelier/deploy-web.lock", DeployLock.LockPath(Service));
    }

    [Fact]
    public async Task Acquire_on_a_fresh_home_creates_a_private_atelier_folder_and_the_lock()
    {
        Assert.Null(await DeployLock.ReadAsync(_host, Service, CancellationToken.None));

        var taken = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop") { Commit = "abc123" });

        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(Path.Combine(Home, ".atelier")));
        Assert.True(Directory.Exists(LockFolder));
        var owner = File.ReadAllLines(Path.Combine(LockFolder, "owner"));
        Assert.Equal(["service=web", "operation=deploy", "by=alice@laptop", "commit=abc123"], owner[..4]);
        Assert.Matches("^since=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", owner[4]);
        Assert.Equal("token=" + taken.Holder.Token, owner[5]);
        Assert.Equal("timeout=30", owner[6]);
        Assert.Equal(7, owner.Length);
        Assert.Equal(Service, taken.Service);
        Assert.Equal("alice@laptop", taken.Holder.By);
        Assert.Equal("abc123", taken.Holder.Commit);
        Assert.Equal("deploy", taken.Holder.Operation);
        Assert.InRange(taken.Holder.Since!.Value, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Null(taken.BrokenHolder);
        Assert.Equal(taken.Holder.Token, (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.Token);
        Assert.True(taken.Holder.Alive);
        Assert.Equal("lock", taken.Holder.Step);
        Assert.Equal([".deploy-web.mutex"], Directory.GetFiles(Path.Combine(Home, ".atelier")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(_reporter.Warnings);
    }

    [Fact]
    public async Task A_second_acquire_without_wait_fails_at_once_naming_the_holder()
    {
        var first = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop") { Commit = "abc123" });
        var stopwatch = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<DeployLockHeldException>(() => AcquireAsync(new LockRequest(Service, LockOperation.Restore, "bob@ci")));

        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal("DeployLockHeld", ex.ErrorId);
        Assert.Equal(FailureKind.ResourceBusy, ex.Kind);
        Assert.Equal(first.Holder.Token, ex.Holder.Token);
        Assert.Equal("localhost", ex.ComputerName);
        var since = first.Holder.Since!.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        Assert.Matches(
            $@"^The deploy lock of web on localhost \(~/\.atelier/deploy-web\.lock\) is held by alice@laptop \(deploy of commit abc123, at the lock step, since {since}\), which is alive: its client's last heartbeat was [0-9]+ s ago\.$",
            ex.Message);
        Assert.Equal([Hint.WaitForLock], ex.Hints);
        Assert.Equal(first.Holder.Token, (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.Token);
    }

    [Fact]
    public async Task With_a_wait_the_lock_is_taken_when_its_holder_releases_it()
    {
        var first = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop"));
        var release = Task.Run(async () =>
        {
            await Task.Delay(500);
            return await first.ReleaseAsync(CancellationToken.None);
        });
        var stopwatch = Stopwatch.StartNew();

        var second = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "bob@ci") { Wait = TimeSpan.FromSeconds(2) });

        Assert.True(await release);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(5));
        Assert.Equal("bob@ci", (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.By);
        Assert.Equal(second.Holder.Token, (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.Token);
        Assert.Contains(_reporter.Verboses, v => v.StartsWith("Waiting up to 2 s for the deploy lock of web on localhost, held by alice@laptop", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_a_wait_a_lock_never_released_fails_after_the_wait()
    {
        await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop"));
        var stopwatch = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<DeployLockHeldException>(() => AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "bob@ci") { Wait = TimeSpan.FromSeconds(2) }));

        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(2), ex.Waited);
        Assert.Contains("is held by alice@laptop (deploy of an unnamed commit, at the lock step, since ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith(" s ago. Waited 2 s for it.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Waiting_stops_when_cancelled()
    {
        await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var stopwatch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            DeployLock.AcquireAsync(_host, new LockRequest(Service, LockOperation.Deploy, "bob@ci") { Wait = TimeSpan.FromSeconds(30) }, _reporter, cancel.Token));

        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Break_takes_a_dead_holders_lock_and_warns_with_the_broken_holder()
    {
        var first = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop") { Commit = "abc123" });
        KillHolder();

        var second = await AcquireAsync(new LockRequest(Service, LockOperation.Restore, "bob@ci") { Break = true });

        Assert.Equal(first.Holder.Token, second.BrokenHolder?.Token);
        Assert.False(second.BrokenHolder?.Alive);
        var warning = Assert.Single(_reporter.Warnings);
        Assert.StartsWith("Broke the deploy lock of web on localhost held by alice@laptop (deploy of commit abc123, at the lock step, since ", warning, StringComparison.Ordinal);
        Assert.EndsWith("which was dead (no heartbeat for 3600 s, no guard and no step running).", warning, StringComparison.Ordinal);
        var now = await DeployLock.ReadAsync(_host, Service, CancellationToken.None);
        Assert.Equal(second.Holder.Token, now?.Token);
        Assert.Equal("restore", now?.Operation);
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Path.Combine(Home, ".atelier")), e => Path.GetFileName(e).StartsWith(".lock-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Break_refuses_a_live_holder_and_says_why_it_lives()
    {
        var first = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop") { Commit = "abc123" });

        var ex = await Assert.ThrowsAsync<DeployLockHeldException>(() => AcquireAsync(new LockRequest(Service, LockOperation.Restore, "bob@ci") { Break = true }));

        Assert.True(ex.RefusedBreak);
        Assert.Matches(@"which is alive: its client's last heartbeat was [0-9]+ s ago\.$", ex.Message);
        Assert.Equal([Hint.BreakOnlyDead, Hint.WaitForLock], ex.Hints);
        EngineWords.AssertNoCmdletWords(ex.Message);
        Assert.Equal(first.Holder.Token, (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.Token);

        // Silent, no guard, but its step still runs (a build the dead client left behind): still alive.
        var step = OrphanStep.Start(Home, first, "build", "sleep 30");
        await OrphanStep.WaitUntilAsync(() => File.Exists(Path.Combine(LockFolder, "step.pgid")));
        KillHolder();
        ex = await Assert.ThrowsAsync<DeployLockHeldException>(() => AcquireAsync(new LockRequest(Service, LockOperation.Restore, "bob@ci") { Break = true }));
        Assert.Contains("which is alive: its build step is still running (process group ", ex.Message, StringComparison.Ordinal);
        step.Kill(entireProcessTree: true);
    }

    [Fact]
    public async Task Of_two_concurrent_breakers_only_one_wins()
    {
        for (var round = 0; round < 8; round++)
        {
            var dead = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop"));
            KillHolder();

            var breakers = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => Task.Run(async () =>
            {
                try
                {
                    return await AcquireAsync(new LockRequest(Service, LockOperation.Restore, $"breaker-{i}") { Break = true });
                }
                catch (DeployLockHeldException ex)
                {
                    Assert.True(ex.RefusedBreak, ex.Message);
                    return null;
                }
            })));

            var winner = Assert.Single(breakers, b => b is not null)!;
            Assert.Equal(winner.Holder.Token, (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.Token);
            Assert.True(await winner.ReleaseAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task Break_on_a_free_lock_just_takes_it()
    {
        var taken = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "bob@ci") { Break = true });

        Assert.Null(taken.BrokenHolder);
        Assert.Empty(_reporter.Warnings);
        Assert.Equal(taken.Holder.Token, (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.Token);
    }

    [Fact]
    public async Task A_release_after_the_lock_was_broken_leaves_the_new_holders_lock()
    {
        var first = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop"));
        KillHolder();
        var second = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "bob@ci") { Break = true });

        Assert.False(await first.ReleaseAsync(CancellationToken.None));

        Assert.Equal(second.Holder.Token, (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.Token);
        Assert.Contains(_reporter.Warnings, w => w.StartsWith("The deploy lock of web on localhost was broken while this deploy held it; it is now held by bob@ci (", StringComparison.Ordinal));
        Assert.True(await second.ReleaseAsync(CancellationToken.None));
        Assert.Null(await DeployLock.ReadAsync(_host, Service, CancellationToken.None));
    }

    [Fact]
    public async Task A_release_after_the_lock_was_removed_by_hand_warns_and_returns_false()
    {
        var taken = await AcquireAsync(new LockRequest(Service, LockOperation.Restore, "alice@laptop"));
        Directory.Delete(LockFolder, recursive: true);

        Assert.False(await taken.ReleaseAsync(CancellationToken.None));

        Assert.Equal("The deploy lock of web on localhost was broken while this restore held it.", Assert.Single(_reporter.Warnings));
        Assert.True(taken.IsReleased);
    }

    [Fact]
    public async Task Release_is_idempotent_and_dispose_releases()
    {
        var taken = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop"));

        Assert.True(await taken.ReleaseAsync(CancellationToken.None));
        Assert.False(await taken.ReleaseAsync(CancellationToken.None));
        await taken.DisposeAsync();

        Assert.True(taken.IsReleased);
        Assert.False(Directory.Exists(LockFolder));
        Assert.Empty(_reporter.Warnings);

        await using (await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop")))
        {
            Assert.True(Directory.Exists(LockFolder));
        }

        Assert.False(Directory.Exists(LockFolder));
        Assert.Empty(_reporter.Warnings);
    }

    [Fact]
    public async Task A_lock_without_an_owner_record_is_reported_as_unknown_and_can_be_broken()
    {
        Directory.CreateDirectory(LockFolder);

        var ex = await Assert.ThrowsAsync<DeployLockHeldException>(() => AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "bob@ci")));
        var taken = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "bob@ci") { Break = true });

        Assert.False(ex.Holder.IsKnown);
        Assert.Contains("is held by an unknown holder (the lock has no owner record", ex.Message, StringComparison.Ordinal);
        Assert.False(taken.BrokenHolder?.IsKnown);
        Assert.Contains("held by an unknown holder", Assert.Single(_reporter.Warnings), StringComparison.Ordinal);
        Assert.Equal("bob@ci", (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.By);
    }

    [Fact]
    public async Task Locks_of_two_services_are_independent()
    {
        await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "alice@laptop"));

        var other = await AcquireAsync(new LockRequest("api", LockOperation.Deploy, "alice@laptop"));

        Assert.Equal("api", other.Service);
        Assert.Equal("api", (await DeployLock.ReadAsync(_host, "api", CancellationToken.None))?.Service);
        Assert.Equal("web", (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.Service);
    }

    [Fact]
    public async Task Twenty_concurrent_deploys_never_overlap()
    {
        var journal = _temp.Combine("journal.txt");
        var gate = new object();
        var stopwatch = Stopwatch.StartNew();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            var request = new LockRequest(Service, LockOperation.Deploy, $"deployer-{i}") { Wait = TimeSpan.FromSeconds(60) };
            await using var taken = await DeployLock.AcquireAsync(_host, request, _reporter, CancellationToken.None);
            Append(journal, gate, $"start {i}");
            await Task.Delay(20);
            Append(journal, gate, $"end {i}");
        })));

        var lines = File.ReadAllLines(journal);
        Assert.Equal(40, lines.Length);
        for (var k = 0; k < lines.Length; k += 2)
        {
            var id = lines[k]["start ".Length..];
            Assert.Equal($"start {id}", lines[k]);
            Assert.Equal($"end {id}", lines[k + 1]);
        }

        Assert.Equal(20, lines.Where(l => l.StartsWith("start ", StringComparison.Ordinal)).Distinct().Count());
        Assert.False(Directory.Exists(LockFolder));
        Assert.Empty(_reporter.Warnings);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Hostile_holder_and_commit_text_is_stored_verbatim_and_never_run()
    {
        var canary = _temp.Combine("canary");
        var holder = $"o'brien \"x\" $(touch {canary}) `touch {canary}` ; touch {canary} \\ %s %n $HOME";
        var commit = $"$(touch {canary})'`touch {canary}`";

        var taken = await AcquireAsync(new LockRequest(Service, LockOperation.Deploy, holder) { Commit = commit });
        var ex = await Assert.ThrowsAsync<DeployLockHeldException>(() => AcquireAsync(new LockRequest(Service, LockOperation.Deploy, "bob@ci")));

        Assert.False(File.Exists(canary));
        Assert.Contains($"by={holder}", File.ReadAllLines(Path.Combine(LockFolder, "owner")));
        Assert.Contains($"commit={commit}", File.ReadAllLines(Path.Combine(LockFolder, "owner")));
        Assert.Equal(holder, taken.Holder.By);
        Assert.Equal(commit, taken.Holder.Commit);
        Assert.Equal(holder, (await DeployLock.ReadAsync(_host, Service, CancellationToken.None))?.By);
        Assert.Contains($"held by {holder} (deploy of commit {commit}, at the lock step, since ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alice\nrm -rf ~", null, "lock holder", "newline")]
    [InlineData("alice\r", null, "lock holder", "carriage return")]
    [InlineData("alice", "abc\ntoken=0000", "lock commit", "newline")]
    [InlineData("", null, "lock holder", "empty")]
    [InlineData("alice\u0007", null, "lock holder", "U+0007")]
    public async Task A_holder_or_commit_that_is_not_one_line_is_refused_before_anything_runs(string holder, string? commit, string what, string reason)
    {
        var ex = await Assert.ThrowsAsync<RemoteValueException>(() => AcquireAsync(new LockRequest(Service, LockOperation.Deploy, holder) { Commit = commit }));

        Assert.Equal(what, ex.What);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Home, ".atelier")));
    }

    [Theory]
    [InlineData("Web")]
    [InlineData("web;id")]
    [InlineData("../web")]
    [InlineData("-web")]
    public async Task A_bad_service_name_is_refused_before_anything_runs(string service)
    {
        var ex = await Assert.ThrowsAsync<RemoteValueException>(() => AcquireAsync(new LockRequest(service, LockOperation.Deploy, "alice")));

        Assert.Equal("service name", ex.What);
        Assert.False(Directory.Exists(Path.Combine(Home, ".atelier")));
    }

    [Fact]
    public void The_holder_is_the_github_actor_and_run_in_actions_else_user_at_machine()
    {
        var actions = new Dictionary<string, string>
        {
            ["GITHUB_ACTIONS"] = "true",
            ["GITHUB_ACTOR"] = "octocat",
            ["GITHUB_SERVER_URL"] = "https://github.com",
            ["GITHUB_REPOSITORY"] = "me/app",
            ["GITHUB_RUN_ID"] = "42",
        };

        Assert.Equal("octocat (https://github.com/me/app/actions/runs/42)", LockRequest.CurrentHolder(actions.GetValueOrDefault));
        Assert.Equal($"{Environment.UserName}@{Environment.MachineName}", LockRequest.CurrentHolder(_ => null));
    }

    /// <summary>Makes the lock's holder dead: its guard killed, its heartbeat an hour old.</summary>
    private void KillHolder()
    {
        var guard = File.ReadAllText(Path.Combine(LockFolder, "guard.pid")).Split(' ')[0];
        Sh.Run($"kill -9 {guard}; while kill -0 {guard} 2>/dev/null; do sleep 0.05; done");
        File.SetLastWriteTimeUtc(Path.Combine(LockFolder, "heartbeat"), DateTime.UtcNow.AddHours(-1));
    }

    private static void Append(string path, object gate, string line)
    {
        // The gate only keeps two appends from tearing each other's line; the lock is what keeps deploys apart.
        lock (gate)
        {
            File.AppendAllText(path, line + "\n");
        }
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private Task<DeployLock> AcquireAsync(LockRequest request) => DeployLock.AcquireAsync(_host, request, _reporter, CancellationToken.None);
}
