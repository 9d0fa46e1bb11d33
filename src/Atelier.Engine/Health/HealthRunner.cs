namespace Atelier.Health;

/// <summary>Runs many checks at once, at most a throttle limit at a time (<see cref="Throttled"/>), reporting each result as soon as it is ready.</summary>
public static class HealthRunner
{
    public const int DefaultThrottleLimit = 8;

    /// <summary>
    /// Runs <paramref name="check"/> for every item, <paramref name="throttleLimit"/> at a time. Each result goes to
    /// <paramref name="onResult"/> the moment it is ready (from a pool thread, never two at once); an item whose check
    /// throws goes to <paramref name="onError"/> and the others go on.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task RunAsync<T>(
        IEnumerable<T> items,
        int throttleLimit,
        Func<T, CancellationToken, Task<ServiceHealth>> check,
        Action<T, ServiceHealth> onResult,
        Action<T, Exception> onError,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        return Throttled.ForEachAsync(items as IReadOnlyList<T> ?? [.. items], throttleLimit, check, onResult, onError, Delivery.AsReady, cancellationToken);
    }
}
