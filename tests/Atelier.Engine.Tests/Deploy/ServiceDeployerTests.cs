using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;
using Atelier.Tests.Transport;
using Atelier.Transport;

namespace Atelier.Tests.Deploy;

/// <summary>
/// <see cref="ServiceDeployer"/> against <see cref="DeployHost"/>, a model of the host's scripts: the order of a deploy's
/// steps, the rollback after each step that can fail, a rollback that fails, and Ctrl+C. The expected sequences are
/// written out here, step by step, as the lock on the host sees them.
/// </summary>
public sealed class ServiceDeployerTests
{
    private static readonly string Old = DeployHost.Sha(1);
    private static readonly string New = DeployHost.Sha(2);
    private static readonly string OldSchema = "schema of " + Old;

    /// <summary>Every step of a deploy with a database and both hooks, up to the health check, as the lock records them.</summary>
    private static readonly string[] FullDeploy =
        ["lock", "fetch", "commits", "arm", "snapshot", "arm", "checkout", "install", "build", DeployCommands.PreRestartStep, "restart", "health"];

    /// <summary>The rollback of a deploy that took a snapshot: space check, stop, database, code, install, build, start, health.</summary>
    private static readonly string[] RollbackWithDatabase =
        ["rollback: space", "rollback: stop", "rollback: database", "rollback: checkout", "rollback: install", "rollback: build", "rollback: start", "rollback: health"];

    private readonly RecordingReporter _reporter = new();

    [Fact]
    public async Task A_good_deploy_with_a_database_and_hooks_runs_every_step_in_order_and_leaves_the_new_code_live()
    {
        var host = Host();

        var result = await Deployer(host).DeployAsync(Request(), CancellationToken.None);

        Assert.Equal(DeployStatus.Succeeded, result.Status);
        Assert.Equal([.. FullDeploy, DeployCommands.PostDeployStep, "finish"], host.Sequence);
        Assert.Equal(["lock", "fetch", "commits", "snapshot", "checkout", "install", "build", DeployCommands.PreRestartStep, "restart", "health", DeployCommands.PostDeployStep], result.Steps.Select(s => s.Name));
        Assert.Equal((Old, New), (result.PreviousCommit, result.NewCommit));
        Assert.Equal((New, New, New, New), (host.Head, host.Installed, host.Built, host.RunningCommit));
        Assert.Equal("schema of " + New, host.Database);

        // The snapshot was of the database before the migration, and the guard held a plan that restores it.
        Assert.Equal(OldSchema, host.Snapshots[result.SnapshotPath!]);
        Assert.Equal(RollbackWithDatabase, host.ArmedPlan);
        Assert.Equal(Old, host.Owner["previous"]);
        Assert.Equal(result.SnapshotPath, host.Owner["snapshot"]);
        Assert.Equal("yes", host.Owner["moved"]);

        // The pre-restart hook ran with the snapshot taken and before the restart, and was told both commits.
        var hooks = host.CallsOf(HostOp.Hook);
        Assert.Equal([DeployCommands.PreRestartStep, DeployCommands.PostDeployStep], hooks.Select(h => h.Step));
        Assert.All(hooks, h => Assert.Contains($"ATELIER_PREVIOUS_COMMIT={Old} ATELIER_NEW_COMMIT={New}", h.Text, StringComparison.Ordinal));
        Assert.Empty(host.CallsOf(HostOp.Stop));
        Assert.Empty(host.CallsOf(HostOp.RestoreDb));
        AssertRecorded(host, DeployStatus.Succeeded, failedStep: null);
        Assert.True(result.Health!.Healthy);
        Assert.Empty(_reporter.Warnings);
    }

    [Fact]
    public async Task A_good_deploy_without_a_database_or_hooks_has_no_snapshot_no_hook_steps_and_one_arm()
    {
        var host = Host(database: null);

        var result = await Deployer(host).DeployAsync(Request(database: false, hooks: false), CancellationToken.None);

        Assert.Equal(DeployStatus.Succeeded, result.Status);
        Assert.Equal(["lock", "fetch", "commits", "arm", "checkout", "install", "build", "restart", "health", "finish"], host.Sequence);
        Assert.Equal(["rollback: stop", "rollback: checkout", "rollback: install", "rollback: build", "rollback: start", "rollback: health"], host.ArmedPlan);
        Assert.Empty(host.CallsOf(HostOp.Hook));
        Assert.Empty(host.CallsOf(HostOp.Snapshot));
        Assert.Null(result.SnapshotPath);
        Assert.Equal((New, New), (host.Head, host.RunningCommit));
        AssertRecorded(host, DeployStatus.Succeeded, failedStep: null);
    }

    [Fact]
    public async Task A_deploy_of_an_exact_commit_behind_origin_runs_the_same_steps_and_leaves_that_commit_live()
    {
        var middle = DeployHost.Sha(3);
        var host = new DeployHost(Old, middle, New) { Database = OldSchema };

        var result = await Deployer(host).DeployAsync(Request() with { Commit = middle[..10] }, CancellationToken.None);

        Assert.Equal(DeployStatus.Succeeded, result.Status);
        Assert.Equal([.. FullDeploy, DeployCommands.PostDeployStep, "finish"], host.Sequence);
        Assert.Equal((Old, middle, middle[..10]), (result.PreviousCommit, result.NewCommit, result.RequestedCommit));
        Assert.Equal([$"{middle[..7]} change {middle[..7]}"], result.Commits);
        Assert.Equal((middle, middle, "schema of " + middle), (host.Head, host.RunningCommit, host.Database));
        AssertRecorded(host, DeployStatus.Succeeded, failedStep: null);
    }

    [Fact]
    public async Task Origin_already_deployed_and_healthy_is_unchanged_and_nothing_is_moved_or_restarted()
    {
        var host = new DeployHost(Old) { Database = OldSchema };
        var pid = host.MainPid;

        var result = await Deployer(host).DeployAsync(Request(), CancellationToken.None);

        Assert.Equal(DeployStatus.Unchanged, result.Status);
        Assert.True(result.Succeeded);
        Assert.Equal(["lock", "fetch", "finish"], host.Sequence);
        Assert.Single(host.CallsOf(HostOp.ReadHistory));
        Assert.NotEmpty(host.CallsOf(HostOp.Show));
        foreach (var op in new[] { HostOp.Arm, HostOp.Snapshot, HostOp.Checkout, HostOp.Install, HostOp.Build, HostOp.Hook, HostOp.Stop, HostOp.Start, HostOp.Restart })
        {
            Assert.Empty(host.CallsOf(op));
        }

        Assert.Equal((Old, pid, OldSchema), (host.RunningCommit, host.MainPid, host.Database));

        // No "started" record: only the outcome.
        Assert.Equal([DeployStatus.Unchanged], host.History.Select(r => r.Status));
        Assert.False(host.LockHeld);
        Assert.Empty(host.Violations);
    }

    [Fact]
    public async Task Origin_already_deployed_but_crashing_is_deployed_again()
    {
        var host = new DeployHost(Old) { Database = OldSchema };
        host.Crashing.Add(Old);

        var result = await Deployer(host).DeployAsync(Request() with { Health = new HealthOptions { Timeout = TimeSpan.FromMilliseconds(300), Settle = TimeSpan.Zero } }, CancellationToken.None);

        Assert.Contains(_reporter.Warnings, w => w.Contains("already deployed but unhealthy", StringComparison.Ordinal));

        // No commits between the two; the same commit crashes again after its restart, and after the rollback to it.
        Assert.Equal([.. FullDeploy.Where(s => s != "commits"), .. RollbackWithDatabase, "finish"], host.Sequence);
        Assert.Equal(DeployStatus.RollbackFailed, result.Status);
        AssertRecorded(host, DeployStatus.RollbackFailed, "health");
    }

    /// <summary>
    /// A failure of each step. <see cref="HostOp.Show"/> stands for the health check failing as it does on a real host:
    /// the new code crashes after its restart.
    /// </summary>
    [Theory]
    [InlineData(HostOp.Fetch, "fetch", DeployStatus.Failed)]
    [InlineData(HostOp.Log, "commits", DeployStatus.Failed)]
    [InlineData(HostOp.Snapshot, "snapshot", DeployStatus.Failed)]
    [InlineData(HostOp.Checkout, "checkout", DeployStatus.RolledBack)]
    [InlineData(HostOp.Install, "install", DeployStatus.RolledBack)]
    [InlineData(HostOp.Build, "build", DeployStatus.RolledBack)]
    [InlineData(HostOp.Hook, DeployCommands.PreRestartStep, DeployStatus.RolledBack)]
    [InlineData(HostOp.Restart, "restart", DeployStatus.RolledBack)]
    [InlineData(HostOp.Show, "health", DeployStatus.RolledBack)]
    public async Task A_failing_step_stops_the_deploy_there_and_rolls_back_code_and_database_once_the_code_moved(HostOp failing, string step, string status)
    {
        var host = Host();
        var pid = host.MainPid;
        if (failing == HostOp.Show)
        {
            host.Crashing.Add(New);
        }
        else
        {
            host.Fail(failing);
        }

        var result = await Deployer(host).DeployAsync(Request(), CancellationToken.None);

        Assert.Equal(status, result.Status);
        Assert.Equal(step, result.FailedStep);
        Assert.Contains($"The {step} step failed", result.Error, StringComparison.Ordinal);
        var reached = FullDeploy[..(Array.IndexOf(FullDeploy, step) + 1)];
        var rolledBack = status == DeployStatus.RolledBack;
        Assert.Equal([.. reached, .. rolledBack ? RollbackWithDatabase : [], "finish"], host.Sequence);

        // Whatever happened, the old code runs again on the old database, installed and built for it, and healthy.
        Assert.Equal((Old, Old, Old, Old, OldSchema), (host.Head, host.Installed, host.Built, host.RunningCommit, host.Database));
        Assert.DoesNotContain(host.CallsOf(HostOp.Hook), h => h.Step == DeployCommands.PostDeployStep);
        if (rolledBack)
        {
            // Named with its host: the same service may be deployed to two hosts in one run.
            Assert.Contains(_reporter.Warnings, w => w.StartsWith($"demo on {host.ComputerName}: the {step} step failed; rolling back to {Old}", StringComparison.Ordinal));
            var restore = Assert.Single(host.CallsOf(HostOp.RestoreDb));
            Assert.Contains(result.SnapshotPath!, restore.Text, StringComparison.Ordinal);
            Assert.True(result.Health!.Healthy);
            Assert.NotEqual(pid, host.MainPid);
        }
        else
        {
            // Nothing moved: the unit was never touched.
            Assert.Equal(pid, host.MainPid);
            foreach (var op in new[] { HostOp.Checkout, HostOp.Stop, HostOp.Start, HostOp.Restart, HostOp.RestoreDb })
            {
                Assert.Empty(host.CallsOf(op));
            }
        }

        AssertRecorded(host, status, step);
    }

    [Fact]
    public async Task A_failing_step_without_a_database_rolls_back_the_code_only()
    {
        var host = Host(database: null).Fail(HostOp.Build);

        var result = await Deployer(host).DeployAsync(Request(database: false, hooks: false), CancellationToken.None);

        Assert.Equal(DeployStatus.RolledBack, result.Status);
        Assert.Equal(
            ["lock", "fetch", "commits", "arm", "checkout", "install", "build", "rollback: stop", "rollback: checkout", "rollback: install", "rollback: build", "rollback: start", "rollback: health", "finish"],
            host.Sequence);
        Assert.Empty(host.CallsOf(HostOp.SpaceCheck));
        Assert.Empty(host.CallsOf(HostOp.RestoreDb));
        Assert.Equal((Old, Old), (host.Head, host.RunningCommit));
        AssertRecorded(host, DeployStatus.RolledBack, "build");
    }

    [Fact]
    public async Task A_failing_post_deploy_hook_is_a_warning_and_the_deploy_stands()
    {
        var host = Host().Fail(HostOp.Hook, occurrence: 2);

        var result = await Deployer(host).DeployAsync(Request(), CancellationToken.None);

        Assert.Equal(DeployStatus.Succeeded, result.Status);
        Assert.Equal([.. FullDeploy, DeployCommands.PostDeployStep, "finish"], host.Sequence);
        Assert.Contains(_reporter.Warnings, w => w.Contains("the post-deploy hook failed (exit code 1); the deploy stands", StringComparison.Ordinal));
        Assert.Empty(host.CallsOf(HostOp.Stop));
        Assert.Equal((New, "schema of " + New), (host.RunningCommit, host.Database));
        AssertRecorded(host, DeployStatus.Succeeded, failedStep: null);
    }

    [Fact]
    public async Task A_rollback_that_leaves_the_service_unhealthy_is_RollbackFailed()
    {
        // The new code crashes, and so does the old one (a dependency it needs went away).
        var host = Host();
        host.Crashing.Add(New);
        host.Crashing.Add(Old);

        var result = await Deployer(host).DeployAsync(Request(), CancellationToken.None);

        Assert.Equal(DeployStatus.RollbackFailed, result.Status);
        Assert.Equal("health", result.FailedStep);
        Assert.Equal([.. FullDeploy, .. RollbackWithDatabase, "finish"], host.Sequence);
        Assert.Contains("After the rollback the service is still unhealthy", result.Error, StringComparison.Ordinal);
        Assert.False(result.Health!.Healthy);
        Assert.Equal((Old, OldSchema), (host.Head, host.Database));
        AssertRecorded(host, DeployStatus.RollbackFailed, "health");
    }

    [Fact]
    public async Task A_rollback_step_that_fails_still_starts_the_unit_and_runs_nothing_else_of_the_plan()
    {
        // The build fails, then the rollback cannot move the code back.
        var host = Host().Fail(HostOp.Build).Fail(HostOp.Checkout, occurrence: 2);

        var result = await Deployer(host).DeployAsync(Request(), CancellationToken.None);

        Assert.Equal(DeployStatus.RollbackFailed, result.Status);
        Assert.Equal("build", result.FailedStep);
        Assert.Contains("The rollback failed too: The rollback: checkout step failed", result.Error, StringComparison.Ordinal);
        Assert.Equal(
            [.. FullDeploy[..9], "rollback: space", "rollback: stop", "rollback: database", "rollback: checkout", "rollback: start", "finish"],
            host.Sequence);

        // A down service helps nobody: the unit runs again (whatever code is there), on the restored database.
        Assert.Equal((New, New, OldSchema), (host.Head, host.RunningCommit, host.Database));
        Assert.Single(host.CallsOf(HostOp.Start));
        AssertRecorded(host, DeployStatus.RollbackFailed, "build");
    }

    /// <summary>
    /// Ctrl+C while a step runs. Once the code moved, the service is put back (code and database) before the stop is
    /// let through, and the put-back is never given the cancelled token; before that, nothing is put back.
    /// </summary>
    [Theory]
    [InlineData(HostOp.Fetch, 1, "fetch", false)]
    [InlineData(HostOp.Snapshot, 1, "snapshot", false)]
    [InlineData(HostOp.Checkout, 1, "checkout", true)]
    [InlineData(HostOp.Install, 1, "install", true)]
    [InlineData(HostOp.Build, 1, "build", true)]
    [InlineData(HostOp.Hook, 1, DeployCommands.PreRestartStep, true)]
    [InlineData(HostOp.Restart, 1, "restart", true)]
    [InlineData(HostOp.Show, 1, "health", true)] // the unit's state read right after the restart
    [InlineData(HostOp.Show, 2, "health", true)] // the health check's first try
    public async Task Ctrl_C_during_a_step_puts_the_service_back_once_the_code_moved_and_the_record_says_so(HostOp during, int occurrence, string step, bool putBack)
    {
        using var folder = new TempFolder();
        var local = new LocalHistory(folder.Combine("history.db"));
        using var stop = new CancellationTokenSource();
        var host = Host().CancelDuring(during, stop, occurrence);
        var pid = host.MainPid;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ServiceDeployer(host, _reporter, new CommandOptions(), local).DeployAsync(Request(), stop.Token));

        // The step was given the caller's token, and stopped with it.
        var calls = host.Calls;
        var stopped = calls.Select((c, i) => (Call: c, Index: i)).Where(c => c.Call.Op == during).ElementAt(occurrence - 1);
        Assert.True(stopped.Call.Cancellable);
        var reached = FullDeploy[..(Array.IndexOf(FullDeploy, step) + 1)];
        Assert.Equal([.. reached, .. putBack ? RollbackWithDatabase : [], "finish"], host.Sequence);

        // Nothing after it was cut short: no command came with a cancelled token.
        Assert.All(calls.Skip(stopped.Index + 1), c => Assert.False(c.ArrivedCancelled, $"{c.Op} ({c.Step}) came with a cancelled token"));
        Assert.Equal((Old, Old, Old, OldSchema), (host.Head, host.Built, host.RunningCommit, host.Database));
        if (putBack)
        {
            Assert.Contains(_reporter.Warnings, w => w.Contains($"stopped during the {step} step; rolling back to {Old} first", StringComparison.Ordinal));
            Assert.Contains(_reporter.Finishings, f => f is not null && f.StartsWith($"putting demo on web1 back to {Old} (code and database)", StringComparison.Ordinal));
            Assert.NotEqual(pid, host.MainPid);
        }
        else
        {
            Assert.Equal(pid, host.MainPid);
            Assert.Empty(host.CallsOf(HostOp.Stop));
        }

        var outcome = AssertRecorded(host, putBack ? DeployStatus.RolledBack : DeployStatus.Failed, step);
        Assert.Equal($"Stopped during the {step} step.", outcome.Error);
        var here = Assert.Single(local.Query(service: "demo"));
        Assert.Equal((outcome.Id, outcome.Status, outcome.Error), (here.Id, here.Status, here.Error));
    }

    [Fact]
    public async Task Ctrl_C_during_the_post_deploy_hook_leaves_the_deploy_standing()
    {
        using var stop = new CancellationTokenSource();
        var host = Host().CancelDuring(HostOp.Hook, stop, occurrence: 2);

        var result = await Deployer(host).DeployAsync(Request(), stop.Token);

        Assert.Equal(DeployStatus.Succeeded, result.Status);
        Assert.Equal([.. FullDeploy, DeployCommands.PostDeployStep, "finish"], host.Sequence);
        Assert.Contains(_reporter.Warnings, w => w.Contains("stopped during the post-deploy hook; the deploy stands", StringComparison.Ordinal));
        Assert.Empty(host.CallsOf(HostOp.Stop));
        Assert.Equal(New, host.RunningCommit);
        AssertRecorded(host, DeployStatus.Succeeded, failedStep: null);
    }

    /// <summary>Origin one commit ahead of the deployed, running one; the database at the deployed commit's schema.</summary>
    private static DeployHost Host(string? database = "default") =>
        new(Old, New) { Database = database is null ? null : OldSchema };

    private static DeployRequest Request(bool database = true, bool hooks = true) => new()
    {
        Service = "demo",
        BuildCommand = "bun run build",
        DbPath = database ? "~/data/app.db" : null,
        PreRestartCommand = hooks ? "bun run migrate" : null,
        PostDeployCommand = hooks ? "bun run warm-cache" : null,
        Holder = "tester on ci",

        // A crash after the restart ends the check at once; a running unit is healthy at its first read.
        Health = new HealthOptions { Timeout = TimeSpan.FromSeconds(5), Settle = TimeSpan.Zero },
    };

    private ServiceDeployer Deployer(DeployHost host) => new(host, _reporter, new CommandOptions(), localHistory: null);

    /// <summary>
    /// The lock is released with the outcome as the host's last record (under the "started" record's id when there was
    /// one), and the deploy broke none of the host's rules.
    /// </summary>
    private static DeployRecord AssertRecorded(DeployHost host, string status, string? failedStep)
    {
        Assert.False(host.LockHeld);
        Assert.Empty(host.Violations);
        var history = host.History;
        var outcome = history[^1];
        Assert.Equal((status, failedStep), (outcome.Status, outcome.FailedStep));
        Assert.All(history.Take(history.Count - 1), r => Assert.Equal((DeployStatus.Started, outcome.Id), (r.Status, r.Id)));
        return outcome;
    }
}
