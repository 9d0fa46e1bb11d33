using System.Globalization;
using Atelier.Transport;

namespace Atelier.Health;

/// <summary>
/// Watches a unit after the deploy's own restart or start: reads its state with <c>systemctl show</c> and holds it
/// against <see cref="HealthCheck.Baseline"/>, the state read right after that restart. The unit crashed when, after the
/// baseline, it
/// <list type="bullet">
/// <item>exited or failed: <c>ActiveState</c> <c>failed</c>, <c>inactive</c> or <c>deactivating</c>, or <c>SubState</c>
/// <c>dead</c>, <c>failed</c> or <c>exited</c>;</item>
/// <item>is restarting: <c>SubState=auto-restart</c>, or <c>NRestarts</c> grew past the baseline's;</item>
/// <item>has another main process than the baseline's (non-zero) <c>MainPID</c>, or none.</item>
/// </list>
/// A read that fails or times out shows nothing either way: it is never taken for a crash.
/// </summary>
public sealed class UnitWatch
{
    private readonly IRemoteHost _host;
    private readonly HealthCheck _check;
    private readonly CommandOptions _commandOptions;
    private readonly TimeProvider _time;
    private readonly Action<string>? _onUnread;

    /// <summary>
    /// Watches <paramref name="check"/>'s unit on <paramref name="host"/>. <paramref name="onUnread"/> hears, in words,
    /// why a read showed nothing (for the verbose stream).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="check"/> has no <see cref="HealthCheck.Baseline"/>.</exception>
    public UnitWatch(IRemoteHost host, HealthCheck check, CommandOptions? commandOptions = null, TimeProvider? time = null, Action<string>? onUnread = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(check);
        _host = host;
        _check = check;
        Baseline = check.Baseline ?? throw new ArgumentException("A unit watch needs the unit's baseline state.", nameof(check));
        Unit = SystemdProbe.UnitName(check.Service);
        _commandOptions = (commandOptions ?? new CommandOptions()) with { OnLine = null };
        _time = time ?? TimeProvider.System;
        _onUnread = onUnread;
    }

    /// <summary>The unit watched, <c>&lt;service&gt;.service</c>.</summary>
    public string Unit { get; }

    /// <summary>The state the unit is held against.</summary>
    public UnitState Baseline { get; }

    /// <summary>
    /// Reads the unit's state once, giving <c>systemctl show</c> at most <paramref name="timeout"/> (and never more than
    /// the command options' own timeout). Null when it could not be read: the command failed, timed out or the
    /// connection broke.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<UnitState?> ReadAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var options = _commandOptions with { Timeout = timeout < _commandOptions.Timeout ? timeout : _commandOptions.Timeout };
        try
        {
            return await SystemdProbe.ShowAsync(_host, Unit, options, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteCommandTimeoutException ex)
        {
            _onUnread?.Invoke(string.Create(CultureInfo.InvariantCulture, $"watching {Unit}: systemctl show did not answer within {ex.Timeout.TotalSeconds:0.###} s"));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            _onUnread?.Invoke($"watching {Unit}: {ex.Message}");
        }

        return null;
    }

    /// <summary>
    /// The result that ends the check when <paramref name="now"/> shows a crash (<see cref="DescribeCrash"/>); else
    /// null. The result is <see cref="HealthStatus.Down"/>, <see cref="ServiceHealth.Conclusive"/> and
    /// <see cref="ServiceHealth.UnitCrashed"/>, carries the unit's states and, when given, the HTTP status and latency of
    /// <paramref name="tried"/>, the try that ran alongside.
    /// </summary>
    public ServiceHealth? CrashOf(UnitState now, ServiceHealth? tried = null)
    {
        ArgumentNullException.ThrowIfNull(now);
        if (DescribeCrash(Unit, Baseline, now) is not { } detail)
        {
            return null;
        }

        return new ServiceHealth
        {
            Service = _check.Service,
            ComputerName = _check.ComputerName ?? _host.ComputerName,
            Method = _check.Method,
            HealthUrl = _check.HealthUrl?.OriginalString,
            Status = HealthStatus.Down,
            Healthy = false,
            StatusCode = tried?.StatusCode,
            LatencyMs = tried?.LatencyMs,
            Detail = detail,
            CheckedAt = _time.GetUtcNow(),
            ActiveState = now.ActiveState,
            SubState = now.SubState,
            NRestarts = now.NRestarts,
            Conclusive = true,
            UnitCrashed = true,
        };
    }

    /// <summary>
    /// What <paramref name="now"/> shows happened to the unit since <paramref name="baseline"/>, in words, e.g.
    /// <c>the unit crashed after the restart: ActiveState=activating SubState=auto-restart NRestarts 0→1 Result=exit-code
    /// ExecMainStatus=1 (MainPID 1234 → 0)</c>; null when it shows no crash. Unknown values (null) show nothing.
    /// </summary>
    public static string? DescribeCrash(string unit, UnitState baseline, UnitState now)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(now);
        var restarting = now.SubState == "auto-restart" || now.NRestarts > baseline.NRestarts;
        var failed = now.ActiveState == "failed" || now.SubState == "failed";
        var stopping = now.ActiveState == "deactivating";
        var exited = now.ActiveState == "inactive" || now.SubState is "dead" or "exited";
        var pidChanged = baseline.MainPid is > 0 && now.MainPid is { } pid && pid != baseline.MainPid;
        var what = restarting ? "the unit crashed"
            : failed ? "the unit failed"
            : exited ? "the unit exited"
            : stopping ? "the unit is stopping"
            : pidChanged ? "the unit's main process changed"
            : null;
        if (what is null)
        {
            return null;
        }

        var text = $"{what} after the restart: {SystemdProbe.Describe(unit, now, baseline.NRestarts)}";
        return pidChanged ? string.Create(CultureInfo.InvariantCulture, $"{text} (MainPID {baseline.MainPid} → {now.MainPid})") : text;
    }
}
