using System.Collections.Concurrent;

namespace Atelier.Tests;

/// <summary>
/// <see cref="Throttled"/>, the one throttle: start order, the limit (counted by the items themselves), delivery in order
/// or as ready, failures per item and cancellation. Each item waits for a gate the test opens, so the order is the test's.
/// </summary>
public sealed class ThrottledTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Items_start_in_the_order_given_and_the_next_only_when_one_of_the_limit_ends()
    {
        var items = Gates(6);
        var started = new ConcurrentQueue<int>();
        int[] order = [5, 3, 1, 0, 2, 4];

        var run = Throttled.ForEachAsync(
            items,
            2,
            async (item, token) =>
            {
                started.Enqueue(item.Index);
                return await item.Gate.Task;
            },
            (_, _) => { },
            (_, _) => { },
            Delivery.AsReady,
            CancellationToken.None,
            order);

        await Eventually(() => started.Count == 2);
        Assert.Equal([3, 5], started.Order());
        await Task.Delay(100);
        Assert.Equal(2, started.Count); // the limit: nothing else starts while both run

        foreach (var (ending, next) in new[] { (3, 1), (5, 0), (1, 2), (0, 4) })
        {
            items[ending].Gate.SetResult(ending);
            await Eventually(() => started.Count == order.ToList().IndexOf(next) + 1);
            Assert.Equal(next, started.Last());
        }

        items[2].Gate.SetResult(2);
        items[4].Gate.SetResult(4);
        await run.WaitAsync(Generous);
        Assert.Equal(order, started);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public async Task The_limit_is_never_exceeded_and_is_used_to_the_full(int limit)
    {
        var running = 0;
        var most = 0;
        var ran = 0;

        var results = await Throttled.ForEachAsync(Enumerable.Range(0, 40).ToList(), limit, async (i, token) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            await Task.Delay(10 + (i * 7 % 13), token);
            Interlocked.Decrement(ref running);
            Interlocked.Increment(ref ran);
            return i * 2;
        }, CancellationToken.None);

        Assert.Equal(40, ran);
        Assert.Equal(limit, most);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i * 2), results);
    }

    [Fact]
    public async Task In_order_delivery_holds_a_finished_item_until_every_earlier_one_is_handed_over()
    {
        var items = Gates(4);
        var handed = new ConcurrentQueue<string>();

        var run = Throttled.ForEachAsync(
            items,
            4,
            async (item, token) => await item.Gate.Task == -1 ? throw new InvalidOperationException($"item {item.Index} failed") : item.Index,
            (item, result) => handed.Enqueue($"{item.Index}={result}"),
            (item, error) => handed.Enqueue($"{item.Index}: {error.Message}"),
            Delivery.InOrder,
            CancellationToken.None);

        items[3].Gate.SetResult(3);
        items[2].Gate.SetResult(-1);
        await Task.Delay(150);
        Assert.Empty(handed); // 3 and 2 are done, but 0 is not

        items[0].Gate.SetResult(0);
        await Eventually(() => !handed.IsEmpty);
        await Task.Delay(50);
        Assert.Equal(["0=0"], handed);

        items[1].Gate.SetResult(1);
        await run.WaitAsync(Generous);
        Assert.Equal(["0=0", "1=1", "2: item 2 failed", "3=3"], handed);
    }

    [Fact]
    public async Task As_ready_delivery_hands_each_outcome_over_the_moment_its_item_ends()
    {
        var items = Gates(4);
        var handed = new ConcurrentQueue<int>();

        var run = Throttled.ForEachAsync(items, 4, async (item, token) => await item.Gate.Task, (_, result) => handed.Enqueue(result), (_, _) => { }, Delivery.AsReady, CancellationToken.None);

        foreach (var i in new[] { 3, 1, 0, 2 })
        {
            items[i].Gate.SetResult(i);
            await Eventually(() => handed.Contains(i));
        }

        await run.WaitAsync(Generous);
        Assert.Equal([3, 1, 0, 2], handed);
    }

    [Fact]
    public async Task Cancelling_starts_no_waiting_item_and_throws_once_the_running_ones_have_ended()
    {
        var started = new ConcurrentQueue<int>();
        var handed = new ConcurrentQueue<int>();
        var errors = 0;
        var stubborn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = new CancellationTokenSource();

        var run = Throttled.ForEachAsync(
            Enumerable.Range(0, 5).ToList(),
            2,
            async (i, token) =>
            {
                started.Enqueue(i);
                if (i == 0)
                {
                    await stubborn.Task; // ends in its own time, whatever the token says
                    return i;
                }

                await Task.Delay(Timeout.Infinite, token);
                return i;
            },
            (_, result) => handed.Enqueue(result),
            (_, _) => Interlocked.Increment(ref errors),
            Delivery.AsReady,
            cancel.Token);

        await Eventually(() => started.Count == 2);
        await cancel.CancelAsync();
        await Task.Delay(150);
        Assert.False(run.IsCompleted); // item 0 still runs

        stubborn.SetResult();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Generous));
        Assert.Equal([0, 1], started.Order());
        Assert.Equal([0], handed); // it ended with a result; item 1's cancellation is no outcome
        Assert.Equal(0, errors);
    }

    [Fact]
    public async Task The_results_form_rethrows_the_first_failure_once_every_item_ended_and_cancels_waiting_items()
    {
        var ran = new ConcurrentQueue<int>();
        var failing = Throttled.ForEachAsync(Enumerable.Range(0, 4).ToList(), 2, async (i, token) =>
        {
            await Task.Delay(i == 3 ? 200 : 20, token);
            ran.Enqueue(i);
            return i == 1 || i == 2 ? throw new InvalidOperationException($"item {i}") : i;
        }, CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        Assert.Equal("item 1", error.Message);
        Assert.Equal([0, 1, 2, 3], ran.Order()); // the failures stopped no other item

        using var cancel = new CancellationTokenSource();
        var started = new ConcurrentQueue<int>();
        var cancelled = Throttled.ForEachAsync(Enumerable.Range(0, 4).ToList(), 1, async (i, token) =>
        {
            started.Enqueue(i);
            await cancel.CancelAsync();
            return i; // the running item ends well; the others never start
        }, cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal([0], started);
    }

    [Fact]
    public async Task A_callback_that_throws_ends_the_run_and_its_exception_comes_out()
    {
        var started = new ConcurrentQueue<int>();

        var run = Throttled.ForEachAsync(
            Enumerable.Range(0, 3).ToList(),
            1,
            (i, token) =>
            {
                started.Enqueue(i);
                return Task.FromResult(i);
            },
            (_, _) => throw new InvalidOperationException("the writer broke"),
            (_, _) => { },
            Delivery.InOrder,
            CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => run.WaitAsync(Generous));
        Assert.Equal("the writer broke", error.Message);
        Assert.Equal([0], started);
    }

    [Fact]
    public void Interleaved_takes_every_key_s_first_item_then_every_second()
    {
        string[] hosts = ["h1", "h1", "h1", "H2", "h2", "h3"];

        Assert.Equal([0, 3, 5, 1, 4, 2], Throttled.Interleaved(hosts, h => h, StringComparer.OrdinalIgnoreCase));
        Assert.Equal([0, 3, 4, 5, 1, 2], Throttled.Interleaved(hosts, h => h));
    }

    [Fact]
    public async Task A_start_order_that_does_not_name_every_item_once_is_refused()
    {
        int[] items = [1, 2, 3];
        int[] twice = [0, 0, 2];

        await Assert.ThrowsAsync<ArgumentException>(() =>
            Throttled.ForEachAsync(items, 2, (i, _) => Task.FromResult(i), (_, _) => { }, (_, _) => { }, Delivery.AsReady, CancellationToken.None, twice));
    }

    private static List<(int Index, TaskCompletionSource<int> Gate)> Gates(int count) =>
        [.. Enumerable.Range(0, count).Select(i => (i, new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)))];

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for a condition.");
            await Task.Delay(10);
        }
    }
}
