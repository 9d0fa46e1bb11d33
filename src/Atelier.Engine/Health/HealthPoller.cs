using System.Globalization;

namespace Atelier.Health;

/// <summary>
/// Tries a probe until it is healthy, a try is <see cref="ServiceHealth.Conclusive"/>, or the deadline passes, waiting
/// <see cref="PollSchedule"/>'s growing intervals in between (100 ms, then ×1.5, at most 2 s). A conclusive try (a unit
/// that crashed) ends the poll at once, however much time is left. No try starts after the deadline, and a try's own
/// timeout is cut to what is left (but never below a second), so a check ends at most a second after it (plus a
/// systemd settle window). A deadline of zero means exactly one try, with the full request timeout. Cancellation
/// (Ctrl+C) ends the wait and the try in progress at once. When the deadline ends a poll of several tries, the last
/// result's <see cref="ServiceHealth.Detail"/> also says for how long, and over how many tries, that same answer came
/// back: <c>500 Internal Server Error, expected 2xx, for 6.0 s (14 tries)</c>.
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
    /// Polls until healthy, conclusive or the deadline; returns the last try's result with <see cref="ServiceHealth.Tries"/>
    /// set. <paramref name="onTry"/> sees each try's result; <paramref name="onWait"/> each wait before the next try.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ServiceHealth> PollAsync(IHealthProbe probe, Action<ServiceHealth>? onTry = null, Action<TimeSpan>? onWait = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var started = _time.GetTimestamp();
        var wait = _options.Schedule.Take(1).First();
        ServiceHealth? previous = null;
        var sameSince = started;
        var same = 0;
        for (var tries = 1; ; tries++)
        {
            var remaining = _options.Timeout - _time.GetElapsedTime(started);
            var tryTime = _options.Timeout <= TimeSpan.Zero || remaining >= _options.RequestTimeout ? _options.RequestTimeout
                : remaining > MinimumTryTime ? remaining
                : _options.RequestTimeout < MinimumTryTime ? _options.RequestTimeout : MinimumTryTime;
            var tryStarted = _time.GetTimestamp();
            var result = await probe.ProbeAsync(tryTime, cancellationToken).ConfigureAwait(false);
            result.Tries = tries;
            if (previous is not null && SameAnswer(previous, result))
            {
                same++;
            }
            else
            {
                same = 1;
                sameSince = tryStarted;
            }

            previous = result;
            onTry?.Invoke(result);
            remaining = _options.Timeout - _time.GetElapsedTime(started);
            if (result.Healthy || result.Conclusive)
            {
                return result;
            }

            if (remaining <= TimeSpan.Zero)
            {
                if (tries > 1)
                {
                    result.Detail += For(_time.GetElapsedTime(sameSince), same, tries, result.Detail.Length > 0 ? ", " : string.Empty);
                }

                return result;
            }

            var pause = wait < remaining ? wait : remaining;
            onWait?.Invoke(pause);
            await Task.Delay(pause, _time, cancellationToken).ConfigureAwait(false);
            wait = _options.Schedule.Next(wait);
        }
    }

    /// <summary>Two tries gave the same answer: the same class, HTTP status and unit state.</summary>
    private static bool SameAnswer(ServiceHealth a, ServiceHealth b) =>
        a.Status == b.Status && a.Healthy == b.Healthy && a.StatusCode == b.StatusCode && a.ActiveState == b.ActiveState && a.SubState == b.SubState;

    /// <summary><c>for 6.0 s (14 tries)</c>, or <c>for 2.1 s (the last 3 of 14 tries)</c> when earlier tries answered otherwise.</summary>
    private static string For(TimeSpan span, int same, int tries, string separator)
    {
        var count = same == tries ? string.Create(CultureInfo.InvariantCulture, $"{tries} tries")
            : same == 1 ? string.Create(CultureInfo.InvariantCulture, $"the last of {tries} tries")
            : string.Create(CultureInfo.InvariantCulture, $"the last {same} of {tries} tries");
        return string.Create(CultureInfo.InvariantCulture, $"{separator}for {span.TotalSeconds:0.0} s ({count})");
    }
}
