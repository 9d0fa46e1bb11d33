namespace Atelier;

/// <summary>
/// Runs work for many items at once, at most a given number at a time: the one throttle behind the infrastructure
/// deploy's nodes and the service deploys (<see cref="Deploy.ParallelDeploys"/>). Items start in their order.
/// </summary>
internal static class Throttled
{
    /// <summary>The results in the items' order; the first failure is rethrown once every started item has ended.</summary>
    /// <remarks>
    /// An item still waiting for its turn when <paramref name="cancellationToken"/> is cancelled never starts (it ends
    /// with <see cref="OperationCanceledException"/>); the items already running get the token and end as they see fit.
    /// </remarks>
    public static async Task<TResult[]> ForEachAsync<T, TResult>(IReadOnlyList<T> items, int limit, Func<T, CancellationToken, Task<TResult>> body, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        using var gate = new SemaphoreSlim(limit);
        var tasks = items.Select(async item =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await body(item, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
