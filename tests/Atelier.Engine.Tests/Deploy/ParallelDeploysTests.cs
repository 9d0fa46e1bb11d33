using System.Collections.Concurrent;
using Atelier.Deploy;
using Atelier.History;

namespace Atelier.Tests.Deploy;

/// <summary>
/// Many services at once: the throttle, the order, results as each ends, failures that stop nothing (or, with
/// stop-on-failure, skip what has not started), a stop that waits for every deploy in flight, and progress per service.
/// Each deploy here is a deterministic task the test releases when it wants.
/// </summary>
public sealed class ParallelDeploysTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>A deploy the test controls: it says when it started, and ends when released (with a result or a failure).</summary>
    private sealed class Gate(string service)
    {
        private readonly TaskCompletionSource<Func<ServiceDeployResult>> _end = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Service => service;

        public bool Ran => Started.Task.IsCompleted;

        public void Succeed(string status = DeployStatus.Succeeded) => _end.TrySetResult(() => Result(service, status));

        public void Throw(Exception ex) => _end.TrySetResult(() => throw ex);

        public async Task<ServiceDeployResult> RunAsync(IReporter reporter, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            reporter.Progress(1, $"Deploy of {service}", "fetch", -1);
            using (cancellationToken.Register(() => _end.TrySetCanceled(cancellationToken)))
            {
                var end = await _end.Task.ConfigureAwait(false);
                return end();
            }
        }
    }

    private static ServiceDeployResult Result(string service, string status) =>
        new() { Service = service, ComputerName = "web", Status = status };

    private static ParallelDeploy Deploy(Gate gate, Func<IReporter, CancellationToken, Task<ServiceDeployResult>>? run = null) =>
        new(new DeployRequest { Service = gate.Service, Branch = "main" }, "web", DeployOperation.Deploy, run ?? gate.RunAsync);

    private static Gate[] Gates(int count) => [.. Enumerable.Range(0, count).Select(i => new Gate($"svc{i}"))];

    [Fact]
    public async Task Runs_at_most_the_throttle_limit_at_once_in_the_order_given_and_returns_outcomes_in_that_order()
    {
        var gates = Gates(5);
        var finished = new ConcurrentQueue<string>();
        var run = ParallelDeploys.RunAsync([.. gates.Select(g => Deploy(g))], 2, false, NullReporter.Instance, o => finished.Enqueue(o.Deploy.Request.Service), CancellationToken.None);

        await Task.WhenAll(gates[0].Started.Task, gates[1].Started.Task).WaitAsync(Limit);
        await Task.Delay(100);
        Assert.False(gates[2].Ran, "a third deploy must wait for a free slot");

        gates[1].Succeed();
        await gates[2].Started.Task.WaitAsync(Limit);
        await Task.Delay(100);
        Assert.False(gates[3].Ran);
        Assert.Equal(["svc1"], finished);

        gates[0].Succeed();
        await gates[3].Started.Task.WaitAsync(Limit);
        gates[3].Succeed();
        await gates[4].Started.Task.WaitAsync(Limit);
        gates[4].Succeed();
        gates[2].Succeed();
        var outcomes = await run.WaitAsync(Limit);

        Assert.Equal(["svc0", "svc1", "svc2", "svc3", "svc4"], outcomes.Select(o => o.Deploy.Request.Service));
        Assert.Equal("svc1", finished.First());
        Assert.Equal("svc0", finished.ElementAt(1));
        Assert.All(outcomes, o => Assert.True(o.Succeeded));
    }

    [Fact]
    public async Task A_failed_or_rolled_back_service_stops_nothing_else()
    {
        var gates = Gates(4);
        var run = ParallelDeploys.RunAsync([.. gates.Select(g => Deploy(g))], 4, false, NullReporter.Instance, _ => { }, CancellationToken.None);
        await Task.WhenAll(gates.Select(g => g.Started.Task)).WaitAsync(Limit);

        gates[0].Succeed(DeployStatus.RolledBack);
        gates[1].Throw(new AtelierException("HostConnectionFailed", FailureKind.Connection, "no route to web"));
        await Task.Delay(100);
        gates[2].Succeed();
        gates[3].Succeed(DeployStatus.Unchanged);
        var outcomes = await run.WaitAsync(Limit);

        Assert.Equal([false, false, true, true], outcomes.Select(o => o.Succeeded));
        Assert.Equal(DeployStatus.RolledBack, outcomes[0].Result!.Status);
        Assert.Equal("no route to web", outcomes[1].Error!.Message);
        Assert.Null(outcomes[1].Result);
    }

    [Fact]
    public async Task With_stop_on_failure_the_deploys_not_yet_started_are_skipped_and_the_running_ones_finish()
    {
        var gates = Gates(4);
        var finished = new List<ParallelOutcome>();
        var run = ParallelDeploys.RunAsync([.. gates.Select(g => Deploy(g))], 2, true, NullReporter.Instance, finished.Add, CancellationToken.None);
        await Task.WhenAll(gates[0].Started.Task, gates[1].Started.Task).WaitAsync(Limit);

        gates[0].Succeed(DeployStatus.RolledBack);
        await Task.Delay(200);
        Assert.False(gates[2].Ran, "a deploy not started when one failed never starts");
        gates[1].Succeed();
        var outcomes = await run.WaitAsync(Limit);

        Assert.False(gates[2].Ran);
        Assert.False(gates[3].Ran);
        Assert.Equal([DeployStatus.RolledBack, DeployStatus.Succeeded, DeployStatus.Skipped, DeployStatus.Skipped], outcomes.Select(o => o.Result!.Status));
        Assert.Equal("Not started: svc0 on web did not succeed, and the run stops at the first failure.", outcomes[2].Result!.Error);
        Assert.Equal([Hint.StoppedOnFailure], outcomes[2].Result!.Hints);
        Assert.Equal("svc2", outcomes[2].Result!.Service);
        Assert.False(outcomes[2].Succeeded);
        Assert.Equal(4, finished.Count);
    }

    [Fact]
    public async Task A_stop_waits_for_every_deploy_in_flight_to_put_its_service_back_and_starts_no_other()
    {
        var putBack = new ConcurrentBag<string>();
        var started = new ConcurrentBag<string>();
        var inFlight = new CountdownEvent(2);
        ParallelDeploy Slow(string service) => new(new DeployRequest { Service = service, Branch = "main" }, "web", DeployOperation.Deploy, async (_, token) =>
        {
            started.Add(service);
            inFlight.Signal();
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                // What a deploy stopped after its checkout does: puts the service back, whatever the token says, then lets go.
                await Task.Delay(300, CancellationToken.None);
                putBack.Add(service);
                throw;
            }

            return Result(service, DeployStatus.Succeeded);
        });

        using var stop = new CancellationTokenSource();
        var run = ParallelDeploys.RunAsync([Slow("a"), Slow("b"), Slow("c")], 2, false, NullReporter.Instance, _ => { }, stop.Token);
        Assert.True(inFlight.Wait(Limit));
        stop.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Limit));
        Assert.Equal(["a", "b"], putBack.Order());
        Assert.DoesNotContain("c", started);
    }

    private sealed class ProgressReporter : IReporter
    {
        public ConcurrentQueue<(int Id, int Parent, string Activity, string Status, int Percent)> Records { get; } = new();

        public ConcurrentQueue<string?> Finishings { get; } = new();

        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }

        public void Progress(int activityId, string activity, string status, int percent) => Records.Enqueue((activityId, -1, activity, status, percent));

        public void Progress(int activityId, int parentActivityId, string activity, string status, int percent) => Records.Enqueue((activityId, parentActivityId, activity, status, percent));

        public void Finishing(string? what) => Finishings.Enqueue(what);
    }

    [Fact]
    public async Task Each_service_reports_its_steps_as_its_own_record_under_the_run_and_what_each_finishes_is_joined()
    {
        var reporter = new ProgressReporter();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var both = new CountdownEvent(2);
        ParallelDeploy Reporting(string service) => new(new DeployRequest { Service = service, Branch = "main" }, "web", DeployOperation.Deploy, async (own, _) =>
        {
            own.Progress(1, $"Deploy of {service} on web", "build", -1);
            own.Finishing($"putting {service} back");
            both.Signal();
            await release.Task;
            own.Finishing(null);
            return Result(service, DeployStatus.Succeeded);
        });

        var run = ParallelDeploys.RunAsync([Reporting("a"), Reporting("b")], 4, false, reporter, _ => { }, CancellationToken.None);
        Assert.True(both.Wait(Limit));
        Assert.Equal("putting a back; putting b back", reporter.Finishings.Last());
        release.SetResult();
        await run.WaitAsync(Limit);

        var records = reporter.Records.ToList();
        Assert.Equal((1, -1, "Deploy of 2 services", 0), (records[0].Id, records[0].Parent, records[0].Activity, records[0].Percent));
        Assert.Contains((2, 1, "Deploy of a on web", "build", -1), records);
        Assert.Contains((3, 1, "Deploy of b on web", "build", -1), records);
        Assert.Contains((2, 1, "Deploy of a on web", "Succeeded", 100), records);
        Assert.Contains((3, 1, "Deploy of b on web", "Succeeded", 100), records);
        Assert.Equal((1, -1, "Done", 100), (records[^1].Id, records[^1].Parent, records[^1].Status, records[^1].Percent));
        Assert.Null(reporter.Finishings.Last());
    }

    [Fact]
    public async Task A_single_service_reports_as_a_single_deploy_always_did()
    {
        var reporter = new ProgressReporter();
        var gate = new Gate("solo");
        var run = ParallelDeploys.RunAsync([Deploy(gate)], 4, false, reporter, _ => { }, CancellationToken.None);
        await gate.Started.Task.WaitAsync(Limit);
        gate.Succeed();
        var outcome = Assert.Single(await run.WaitAsync(Limit));

        Assert.True(outcome.Succeeded);
        Assert.All(reporter.Records, r => Assert.Equal((1, -1), (r.Id, r.Parent)));
        Assert.Equal(["fetch", DeployStatus.Succeeded], reporter.Records.Select(r => r.Status));
    }

    [Fact]
    public async Task Services_that_share_a_work_tree_deploy_one_after_another_in_order_while_others_run_beside_them()
    {
        var gates = Gates(3);
        var tree = new object();
        ParallelDeploy[] deploys = [Deploy(gates[0]) with { WorkTree = tree }, Deploy(gates[1]) with { WorkTree = tree }, Deploy(gates[2]) with { WorkTree = new object() }];
        var run = ParallelDeploys.RunAsync(deploys, 4, false, NullReporter.Instance, _ => { }, CancellationToken.None);

        await Task.WhenAll(gates[0].Started.Task, gates[2].Started.Task).WaitAsync(Limit);
        await Task.Delay(200);
        Assert.False(gates[1].Ran, "the second service of the same ~/app waits for the first");
        gates[0].Succeed();
        await gates[1].Started.Task.WaitAsync(Limit);
        gates[1].Succeed();
        gates[2].Succeed();

        Assert.All(await run.WaitAsync(Limit), o => Assert.True(o.Succeeded));
    }

    [Fact]
    public async Task With_stop_on_failure_a_service_waiting_for_its_work_tree_is_skipped_when_the_one_before_fails()
    {
        var gates = Gates(2);
        var tree = new object();
        var run = ParallelDeploys.RunAsync([Deploy(gates[0]) with { WorkTree = tree }, Deploy(gates[1]) with { WorkTree = tree }], 4, true, NullReporter.Instance, _ => { }, CancellationToken.None);
        await gates[0].Started.Task.WaitAsync(Limit);
        gates[0].Succeed(DeployStatus.Failed);

        var outcomes = await run.WaitAsync(Limit);
        Assert.False(gates[1].Ran);
        Assert.Equal([DeployStatus.Failed, DeployStatus.Skipped], outcomes.Select(o => o.Result!.Status));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public async Task A_throttle_limit_outside_1_to_64_is_refused(int limit) =>
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ParallelDeploys.RunAsync([], limit, false, NullReporter.Instance, _ => { }, CancellationToken.None));
}
