using System.Runtime.ExceptionServices;

namespace Atelier;

/// <summary>When <see cref="Throttled"/> hands over each item's outcome.</summary>
internal enum Delivery
{
    /// <summary>The moment the item ends.</summary>
    AsReady,

    /// <summary>In the items' order: as soon as the item and every one before it have ended.</summary>
    InOrder,
}

/// <summary>
/// Runs work for many items at once, at most a given number at a time: the one throttle behind the infrastructure
/// deploy's nodes, the service deploys (<see cref="Deploy.ParallelDeploys"/>), the health checks
/// (<see cref="Health.HealthRunner"/>) and the status reads (<see cref="Status.ServiceStatusReader.ReadAllAsync"/>).
/// </summary>
/// <remarks>
/// Items start in their order (or in the start order given): at any moment the items started are the first ones of
/// that order, and no more than the limit run at once. Each item's work runs on the thread pool. An item still waiting
/// for its turn when the token is cancelled never starts; the items already running get the token and end as they see
/// fit, and every form returns only once they have.
/// </remarks>
internal static class Throttled
{
    /// <summary>The results in the items' order; the first failure is rethrown once every started item has ended.</summary>
    /// <remarks>
    /// One item's failure never stops the others. A failure other than cancellation comes first, in the items' order;
    /// else, when an item was cancelled or never started because <paramref name="cancellationToken"/> was cancelled,
    /// this throws <see cref="OperationCanceledException"/>.
    /// </remarks>
    public static async Task<TResult[]> ForEachAsync<T, TResult>(IReadOnlyList<T> items, int limit, Func<T, CancellationToken, Task<TResult>> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var results = new TResult[items.Count];
        var failures = new Exception?[items.Count];
        var started = await RunAsync(items.Count, limit, null, async (index, token) =>
        {
            try
            {
                results[index] = await body(items[index], token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failures[index] = ex;
            }
        }, cancellationToken).ConfigureAwait(false);

        if (failures.FirstOrDefault(f => f is not null and not OperationCanceledException) is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        if (failures.FirstOrDefault(f => f is not null) is { } cancelled)
        {
            ExceptionDispatchInfo.Throw(cancelled);
        }

        return started.All(s => s) ? results : throw new OperationCanceledException(cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="body"/> for every item, <paramref name="limit"/> at a time, in <paramref name="startOrder"/>
    /// (indices into <paramref name="items"/>; null: the items' order). Each item's outcome goes to
    /// <paramref name="onResult"/>, or to <paramref name="onError"/> when its work threw: as <paramref name="delivery"/>
    /// says, never two at once. One item's failure never stops the others.
    /// </summary>
    /// <remarks>
    /// When <paramref name="cancellationToken"/> is cancelled, waiting items never start, and an item whose work then
    /// throws has no outcome (with <see cref="Delivery.InOrder"/>, nothing after it is handed over either); once the
    /// running ones have ended this throws <see cref="OperationCanceledException"/>. A callback that throws ends the run
    /// the same way (no other item starts, the running ones are cancelled, nothing more is handed over), and its
    /// exception is rethrown.
    /// </remarks>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task ForEachAsync<T, TResult>(
        IReadOnlyList<T> items,
        int limit,
        Func<T, CancellationToken, Task<TResult>> body,
        Action<T, TResult> onResult,
        Action<T, Exception> onError,
        Delivery delivery,
        CancellationToken cancellationToken,
        IReadOnlyList<int>? startOrder = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(onResult);
        ArgumentNullException.ThrowIfNull(onError);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (startOrder is not null && (startOrder.Count != items.Count || startOrder.Distinct().Count() != items.Count || startOrder.Any(i => i < 0 || i >= items.Count)))
        {
            throw new ArgumentException("The start order must name every item's index once.", nameof(startOrder));
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var gate = new object();
        var outcomes = new (bool Ended, TResult? Result, Exception? Error)[items.Count];
        var next = 0;
        ExceptionDispatchInfo? callbackFailure = null;

        await RunAsync(items.Count, limit, startOrder, async (index, token) =>
        {
            TResult? result = default;
            Exception? error = null;
            try
            {
                result = await body(items[index], token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (token.IsCancellationRequested)
                {
                    return; // stopped: no outcome
                }

                error = ex;
            }

            var failed = false;
            lock (gate)
            {
                if (callbackFailure is not null)
                {
                    return;
                }

                outcomes[index] = (true, result, error);
                try
                {
                    if (delivery == Delivery.AsReady)
                    {
                        Hand(index);
                    }
                    else
                    {
                        while (next < outcomes.Length && outcomes[next].Ended)
                        {
                            Hand(next++);
                        }
                    }
                }
                catch (Exception ex)
                {
                    callbackFailure = ExceptionDispatchInfo.Capture(ex);
                    failed = true;
                }
            }

            if (failed)
            {
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }, stop.Token).ConfigureAwait(false);

        callbackFailure?.Throw();
        cancellationToken.ThrowIfCancellationRequested();

        void Hand(int index)
        {
            var (_, result, error) = outcomes[index];
            if (error is null)
            {
                onResult(items[index], result!);
            }
            else
            {
                onError(items[index], error);
            }
        }
    }

    /// <summary>
    /// A start order that takes the items of each key (a host) in turn: every key's first item, then every key's second,
    /// and so on, each round in the items' order. Every key's work then begins from the start, however many items one has.
    /// </summary>
    public static int[] Interleaved<T, TKey>(IReadOnlyList<T> items, Func<T, TKey> keyOf, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(keyOf);
        return Enumerable.Range(0, items.Count)
            .GroupBy(i => keyOf(items[i]), comparer)
            .SelectMany(g => g.Select((index, rank) => (index, rank)))
            .OrderBy(x => x.rank)
            .ThenBy(x => x.index)
            .Select(x => x.index)
            .ToArray();
    }

    /// <summary>
    /// Runs <paramref name="run"/> for each index in <paramref name="order"/> (null: 0 to count - 1) on at most
    /// <paramref name="limit"/> workers, each taking the next index when it is free, until the order is done or the
    /// token is cancelled. <paramref name="run"/> must not throw. Returns which indices were started.
    /// </summary>
    private static async Task<bool[]> RunAsync(int count, int limit, IReadOnlyList<int>? order, Func<int, CancellationToken, Task> run, CancellationToken cancellationToken)
    {
        var started = new bool[count];
        var taken = -1;
        var workers = Enumerable.Range(0, Math.Min(limit, count)).Select(_ => Task.Run(WorkAsync, CancellationToken.None)).ToList();
        await Task.WhenAll(workers).ConfigureAwait(false);
        return started;

        async Task WorkAsync()
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var position = Interlocked.Increment(ref taken);
                if (position >= count)
                {
                    return;
                }

                var index = order?[position] ?? position;
                started[index] = true;
                await run(index, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
