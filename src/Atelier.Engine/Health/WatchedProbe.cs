namespace Atelier.Health;

/// <summary>
/// Another probe's tries, each with one <see cref="UnitWatch"/> read of the unit run at the same time (so the watch
/// adds no time of its own: both get the try's timeout). A read that shows a crash wins: when it comes before the
/// other probe's answer, that try is stopped and the crash is the result at once; when after, the crash replaces the
/// answer. A read that shows nothing, or could not be made, leaves the other probe's result as it is. Cancellation
/// stops both.
/// </summary>
public sealed class WatchedProbe : IHealthProbe
{
    private readonly IHealthProbe _probe;
    private readonly UnitWatch _watch;

    public WatchedProbe(IHealthProbe probe, UnitWatch watch)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(watch);
        _probe = probe;
        _watch = watch;
    }

    public async Task<ServiceHealth> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tried = _probe.ProbeAsync(timeout, stop.Token);
        var read = _watch.ReadAsync(timeout, stop.Token);
        try
        {
            if (await Task.WhenAny(tried, read).ConfigureAwait(false) == read && await read.ConfigureAwait(false) is { } early && _watch.CrashOf(early) is not null)
            {
                // The unit crashed while the try still waited for an answer: no answer can change that.
                await stop.CancelAsync().ConfigureAwait(false);
                await QuietlyAsync(tried).ConfigureAwait(false);
                return _watch.CrashOf(early, tried.IsCompletedSuccessfully ? tried.Result : null)!;
            }

            var result = await tried.ConfigureAwait(false);
            return await read.ConfigureAwait(false) is { } state && _watch.CrashOf(state, result) is { } crashed ? crashed : result;
        }
        finally
        {
            // Leaving early (cancelled, or the probe threw): nothing of this try goes on running behind the caller.
            if (!tried.IsCompleted || !read.IsCompleted)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await QuietlyAsync(tried).ConfigureAwait(false);
                await QuietlyAsync(read).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits for a task whose outcome is no longer wanted, only for it to end.</summary>
    private static async Task QuietlyAsync(Task task) => await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
}
