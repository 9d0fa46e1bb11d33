namespace Atelier.Health;

/// <summary>
/// Tries a probe until it is healthy or the deadline passes, waiting <see cref="PollSchedule"/>'s growing intervals
/// in between (100 ms, then ×1.5, at most 2 s). No try starts after the deadline, and a try's own timeout is cut to
/// what is left (but never below a second), so a check ends at most a second after it (plus a systemd settle window). A deadline of zero means exactly one try, with the full request timeout. Cancellation (Ctrl+C) ends the wait and the try in progress at once.
/// </summary>
public sealed class HealthPoller
{
    /// <summary>The least time a last try gets, even when the deadline is closer.</summary>
    public static readonly TimeSpan MinimumTryTime = TimeSpan.FromSeconds(1);

    private readonly HealthOptions _options;
    private readonly TimeProvider _time;

    public HealthPoller(HealthOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Polls until healthy or the deadline; returns the last try's result with <see cref="ServiceHealth.Tries"/> set.
    /// <paramref name="onTry"/> sees each try's result; <paramref name="onWait"/> each wait before the next try.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ServiceHealth> PollAsync(IHealthProbe probe, Action<ServiceHealth>? onTry = null, Action<TimeSpan>? onWait = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var started = _time.GetTimestamp();
        var wait = _options.Schedule.Take(1).First();
        for (var tries = 1; ; tries++)
        {
            var remaining = _options.Timeout - _time.GetElapsedTime(started);
            var tryTime = _options.Timeout <= TimeSpan.Zero || remaining >= _options.RequestTimeout ? _options.RequestTimeout
                : remaining > MinimumTryTime ? remaining
                : _options.RequestTimeout < MinimumTryTime ? _options.RequestTimeout : MinimumTryTime;
            var result = await probe.ProbeAsync(tryTime, cancellationToken).ConfigureAwait(false);
            result.Tries = tries;
            onTry?.Invoke(result);
            remaining = _options.Timeout - _time.GetElapsedTime(started);
            if (result.Healthy || remaining <= TimeSpan.Zero)
            {
                return result;
            }

            var pause = wait < remaining ? wait : remaining;
            onWait?.Invoke(pause);
            await Task.Delay(pause, _time, cancellationToken).ConfigureAwait(false);
            wait = _options.Schedule.Next(wait);
        }
    }
}
