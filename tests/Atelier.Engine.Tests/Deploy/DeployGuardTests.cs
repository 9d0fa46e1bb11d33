using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.Json;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Shell;
using Atelier.Tests.Health;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Deploy;

/// <summary>
/// The guard that comes with a deploy lock, run for real: <c>lock.sh</c> and <c>guard.sh</c> under <c>/bin/sh</c>,
/// with HOME pointed at a temp service home, a put-back plan whose steps write to a journal, and a real HTTP server
/// for its health check. A "dead client" is one that stops sending heartbeats.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class DeployGuardTests : IAsyncDisposable
{
    private const string Service = "web";
    private static readonly TimeSpan Timeout = LockRequest.MinimumGuardTimeout;
    private static readonly string[] PlanSteps = ["rollback: stop", "rollback: database", "rollback: checkout", "rollback: start"];
    private readonly TempFolder _temp = new();
    private readonly HomeHost _host;
    private readonly RecordingReporter _reporter = new();
    private readonly TestHttpServer _health = new((_, _) => TestResponse.Ok());
    private readonly List<Process> _orphans = [];

    public DeployGuardTests()
    {
        Home = Directory.CreateDirectory(_temp.Combine("home")).FullName;
        _host = new HomeHost(Home);
    }

    private string Home { get; }

    private string Atelier => Path.Combine(Home, ".atelier");

    private string LockFolder => Path.Combine(Atelier, "deploy-web.lock");

    private string Journal => _temp.Combine("journal.txt");

    public async ValueTask DisposeAsync()
    {
        foreach (var orphan in _orphans)
        {
            try
            {
                orphan.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            orphan.Dispose();
        }

        await _health.DisposeAsync();
        _host.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_silent_client_is_taken_over_its_step_stopped_the_service_put_back_recorded_and_the_lock_released()
    {
        var lease = await AcquireAsync();
        var record = await ArmAsync(lease);
        var step = StartOrphanStep(lease, "install", $"echo install started >> {Journal}; sleep 60; echo install finished >> {Journal}", "moved=yes");
        var stopwatch = Stopwatch.StartNew();

        await WaitUntilAsync(() => !Directory.Exists(LockFolder));

        Assert.InRange(stopwatch.Elapsed, Timeout, Timeout + TimeSpan.FromSeconds(12));
        Assert.True(step.WaitForExit(5000), "the step the dead client left running was stopped");
        Assert.Equal(["install started", "rollback: stop", "rollback: database", "rollback: checkout", "rollback: start"], File.ReadAllLines(Journal));
        var closed = LastHistoryRecord();
        Assert.Equal(record.Id, closed.Id);
        Assert.Equal(DeployStatus.RolledBack, closed.Status);
        Assert.Equal("install", closed.FailedStep);
        Assert.Equal("Client lost at the install step; the guard put back 1111111111111111111111111111111111111111 and it is healthy (HTTP 200).", closed.Error);
        Assert.True(closed.Healthy);
        Assert.Null(closed.Step);
        Assert.True(closed.FinishedAt > closed.StartedAt);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(Atelier, "deploys.jsonl")).Length);
        Assert.Empty(GuardProcesses());
        Assert.Contains("the client fell silent at the install step", File.ReadAllText(Path.Combine(Atelier, "guard-web.log")), StringComparison.Ordinal);

        // The next lock shows what the guard did, once.
        var next = await AcquireAsync();
        Assert.Contains("deploy of 2222222222222222222222222222222222222222 by alice@laptop: RolledBack. Client lost at the install step", next.Notice, StringComparison.Ordinal);
        Assert.Contains(_reporter.Warnings, w => w.StartsWith("web on localhost: the guard of an earlier deploy took over: ", StringComparison.Ordinal));
        Assert.True(await next.ReleaseAsync(CancellationToken.None));
        Assert.Null((await AcquireAsync()).Notice);
    }

    [Fact]
    public async Task A_client_lost_during_its_own_rollback_is_resumed_from_the_step_it_was_at()
    {
        var lease = await AcquireAsync();
        await ArmAsync(lease);
        StartOrphanStep(lease, "rollback: checkout", "true", "moved=yes");

        await WaitUntilAsync(() => !Directory.Exists(LockFolder));

        Assert.Equal(["rollback: checkout", "rollback: start"], File.ReadAllLines(Journal));
        Assert.Equal(DeployStatus.RolledBack, LastHistoryRecord().Status);
        Assert.Equal("rollback: checkout", LastHistoryRecord().FailedStep);
    }

    [Fact]
    public async Task A_client_lost_before_the_code_moved_only_has_its_step_stopped_and_the_lock_released()
    {
        var lease = await AcquireAsync();
        await ArmAsync(lease);
        var step = StartOrphanStep(lease, "snapshot", "sleep 60");

        await WaitUntilAsync(() => !Directory.Exists(LockFolder));

        Assert.True(step.WaitForExit(5000));
        Assert.False(File.Exists(Journal));
        var closed = LastHistoryRecord();
        Assert.Equal(DeployStatus.Failed, closed.Status);
        Assert.Equal("Client lost at the snapshot step; nothing had changed on the host. The guard stopped the step and released the lock.", closed.Error);
    }

    [Fact]
    public async Task A_client_lost_during_the_post_deploy_hook_of_a_healthy_deploy_has_the_hook_stopped_and_nothing_put_back()
    {
        var lease = await AcquireAsync();
        var record = await ArmAsync(lease);
        var step = StartOrphanStep(lease, DeployCommands.PostDeployStep, $"echo warm-up started >> {Journal}; sleep 60; echo warm-up finished >> {Journal}", "moved=yes");

        await WaitUntilAsync(() => !Directory.Exists(LockFolder));

        Assert.True(step.WaitForExit(5000), "the hook the dead client left running was stopped");
        Assert.Equal(["warm-up started"], File.ReadAllLines(Journal));
        var closed = LastHistoryRecord();
        Assert.Equal(record.Id, closed.Id);
        Assert.Equal(DeployStatus.Succeeded, closed.Status);
        Assert.Equal("post-deploy", closed.FailedStep);
        Assert.Equal("Client lost during the post-deploy hook of a healthy deploy; the guard stopped the hook and put nothing back.", closed.Error);
        Assert.True(closed.Healthy);
    }

    [Fact]
    public async Task A_failed_put_back_step_still_starts_the_unit_and_is_recorded_as_RollbackFailed()
    {
        var lease = await AcquireAsync();
        await ArmAsync(lease, failAt: "rollback: checkout");
        StartOrphanStep(lease, "build", "true", "moved=yes");

        await WaitUntilAsync(() => !Directory.Exists(LockFolder));

        Assert.Equal(["rollback: stop", "rollback: database", "rollback: checkout", "rollback: start"], File.ReadAllLines(Journal));
        var closed = LastHistoryRecord();
        Assert.Equal(DeployStatus.RollbackFailed, closed.Status);
        Assert.Equal("Client lost at the build step; the guard's put-back failed at its rollback: checkout step (see ~/.atelier/guard-web.log).", closed.Error);
        Assert.False(closed.Healthy);
    }

    [Fact]
    public async Task A_client_that_keeps_beating_is_never_taken_over_and_its_finish_leaves_no_guard_and_no_files()
    {
        var lease = await AcquireAsync();
        var record = await ArmAsync(lease);
        lease.StartHeartbeat();
        // A slow step, three guard timeouts long, while the client lives.
        await lease.RunStepAsync("build", ShellCommand.Format($"sleep {(int)(Timeout.TotalSeconds * 3)}"), new(), ["moved=yes"], CancellationToken.None);

        Assert.True(Directory.Exists(LockFolder));
        Assert.False(lease.TakenOver.IsCancellationRequested);
        Assert.Equal(LockEnd.Finished, await lease.FinishAsync(record with { Status = DeployStatus.Succeeded, Step = null }, CancellationToken.None));

        Assert.False(File.Exists(Journal));
        Assert.Empty(GuardProcesses());
        Assert.Equal([".deploy-web.mutex", "deploys.jsonl"], Directory.GetFileSystemEntries(Atelier).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(DeployStatus.Succeeded, LastHistoryRecord().Status);
        await Task.Delay(Timeout + TimeSpan.FromSeconds(1));
        Assert.Equal(DeployStatus.Succeeded, LastHistoryRecord().Status);
    }

    [Fact]
    public async Task Of_a_late_finish_and_the_guard_exactly_one_decides()
    {
        var outcomes = new List<LockEnd>();
        for (var round = 0; round < 12; round++)
        {
            File.Delete(Journal);
            var lease = await AcquireAsync();
            var record = await ArmAsync(lease);
            await lease.RunStepAsync("rollback: checkout", ShellCommand.Format($"true"), new(), ["moved=yes"], CancellationToken.None);
            // The guard sees a silent client within about a second from now; the client finishes at about that moment.
            File.SetLastWriteTimeUtc(Path.Combine(LockFolder, "heartbeat"), DateTime.UtcNow - Timeout - TimeSpan.FromSeconds(1));
            await Task.Delay(Random.Shared.Next(0, 1500));
            var end = await lease.FinishAsync(record with { Status = DeployStatus.Succeeded, Step = null }, CancellationToken.None);
            outcomes.Add(end);
            await WaitUntilAsync(() => !Directory.Exists(LockFolder));
            await WaitUntilAsync(() => GuardProcesses().Count == 0);

            var last = LastHistoryRecord();
            Assert.Equal(record.Id, last.Id);
            if (end == LockEnd.Finished)
            {
                Assert.Equal(DeployStatus.Succeeded, last.Status);
                Assert.False(File.Exists(Journal), $"round {round}: the guard put back a deploy its client had finished");
            }
            else
            {
                Assert.Equal(LockEnd.TakenOver, end);
                Assert.Equal(DeployStatus.RolledBack, last.Status);
                Assert.Equal(["rollback: checkout", "rollback: start"], File.ReadAllLines(Journal));
            }
        }

        Assert.Equal(12, outcomes.Count);
    }

    [Fact]
    public async Task Once_the_guard_has_taken_over_a_step_is_refused_and_the_heartbeat_says_so()
    {
        var lease = await AcquireAsync();
        await ArmAsync(lease, slowStop: true);
        await lease.RunStepAsync("restart", ShellCommand.Format($"true"), new(), ["moved=yes"], CancellationToken.None);
        File.SetLastWriteTimeUtc(Path.Combine(LockFolder, "heartbeat"), DateTime.UtcNow.AddMinutes(-1));
        await WaitUntilAsync(() => Directory.Exists(Path.Combine(LockFolder, "decided")));

        var ex = await Assert.ThrowsAsync<GuardTookOverException>(() => lease.RunStepAsync("health", ShellCommand.Format($"echo health ran >> {Journal}"), new(), [], CancellationToken.None));
        lease.StartHeartbeat();

        Assert.Equal("health", ex.Step);
        await WaitUntilAsync(() => lease.TakenOver.IsCancellationRequested, seconds: 5);
        var holder = await DeployLock.ReadAsync(_host, Service, CancellationToken.None);
        Assert.Equal("guard", holder?.DecidedBy);
        Assert.True(holder?.Alive);
        Assert.StartsWith("its guard (pid ", holder?.Why, StringComparison.Ordinal);
        Assert.Equal(LockEnd.TakenOver, await lease.FinishAsync(null, CancellationToken.None));
        await WaitUntilAsync(() => !Directory.Exists(LockFolder));
        Assert.DoesNotContain("health ran", File.ReadAllText(Journal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_lock_records_the_step_and_the_notes_each_step_brings()
    {
        var lease = await AcquireAsync();

        var run = await lease.RunStepAsync("snapshot", ShellCommand.Format($"echo it ran"), new(), ["commit=2222222222222222222222222222222222222222"], CancellationToken.None);
        var holder = await DeployLock.ReadAsync(_host, Service, CancellationToken.None);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("it ran", run.Output, StringComparison.Ordinal);
        Assert.Equal("snapshot", holder?.Step);
        Assert.Equal("2222222222222222222222222222222222222222", holder?.Commit);
        Assert.Contains("deploy of commit 2222222222222222222222222222222222222222, at the snapshot step", holder?.Describe(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DeployLock.StepCommand(Service, lease.Holder.Token!, "snap;shot", [], ShellCommand.Format($"true")));
        Assert.Throws<ArgumentException>(() => DeployLock.StepCommand(Service, lease.Holder.Token!, "snapshot", ["Commit=x"], ShellCommand.Format($"true")));
        Assert.Throws<RemoteValueException>(() => DeployLock.StepCommand(Service, lease.Holder.Token!, "snapshot", ["commit=x\ntoken=0"], ShellCommand.Format($"true")));
    }

    private Task<DeployLock> AcquireAsync() =>
        DeployLock.AcquireAsync(_host, new LockRequest(Service, LockOperation.Deploy, "alice@laptop") { GuardTimeout = Timeout }, _reporter, CancellationToken.None);

    /// <summary>Arms the guard with a plan whose every step appends its name to the journal (one may fail).</summary>
    private async Task<DeployRecord> ArmAsync(DeployLock lease, string? failAt = null, bool slowStop = false)
    {
        var started = new DeployRecord
        {
            Id = DeployRecord.NewId(),
            Service = Service,
            ComputerName = "localhost",
            Operation = DeployOperation.Deploy,
            Status = DeployStatus.Started,
            PreviousCommit = new string('1', 40),
            NewCommit = new string('2', 40),
            StartedAt = DateTimeOffset.UtcNow,
            By = "alice@laptop",
            Step = "checkout",
            LockToken = lease.Holder.Token,
        };
        ShellCommand Item(string name) => name == failAt
            ? ShellCommand.Format($"echo {name} >> {Journal}; exit 3")
            : slowStop && name.EndsWith("stop", StringComparison.Ordinal) ? ShellCommand.Format($"sleep 8; echo {name} >> {Journal}") : ShellCommand.Format($"echo {name} >> {Journal}");
        PutBackStep[] plan = [.. PlanSteps.Select(n => new PutBackStep(n, Item(n))), new("rollback: health", null)];
        await lease.ArmAsync(
            ["record=" + started.Id, "commit=" + started.NewCommit, "previous=" + started.PreviousCommit, "url=" + _health.Url("/health").AbsoluteUri, "healthtimeout=5"],
            started,
            plan,
            CancellationToken.None);
        return started;
    }

    private Process StartOrphanStep(DeployLock lease, string step, string command, params string[] notes)
    {
        var process = OrphanStep.Start(Home, lease, step, command, notes);
        _orphans.Add(process);
        return process;
    }

    private DeployRecord LastHistoryRecord()
    {
        var line = File.ReadAllLines(Path.Combine(Atelier, "deploys.jsonl"))[^1];
        Assert.True(DeployHistory.TryParseLine(line, out var record, out var problem), problem);
        return record!;
    }

    /// <summary>The guard processes of this test's home still alive.</summary>
    private List<string> GuardProcesses() =>
        Sh.Run($"ps -eo pid,args | grep -F {RemoteValue.Quote(Path.Combine(LockFolder, "guard.sh"))} | grep -v grep || true").Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    private static Task WaitUntilAsync(Func<bool> condition, int seconds = 30) => OrphanStep.WaitUntilAsync(condition, seconds);
}
