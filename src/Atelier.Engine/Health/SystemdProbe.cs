using System.Globalization;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Health;

/// <summary>
/// A unit's state over <see cref="IRemoteHost"/>: <c>systemctl show</c> as the service's own user (no privilege
/// needed). Healthy when <c>ActiveState=active</c>, <c>SubState=running</c> and <c>NRestarts</c> stays the same over
/// the settle window, so a crash-looping unit caught between two crashes is not taken for a running one. When the
/// check has a <see cref="HealthCheck.Baseline"/>, every state read is also held against it (<see cref="UnitWatch"/>):
/// a unit that exited, failed, is restarting or changed its main process since then ends the check at once, with a
/// <see cref="ServiceHealth.Conclusive"/> result.
/// </summary>
public sealed class SystemdProbe : IHealthProbe
{
    public const string MethodName = "systemd";

    private readonly IRemoteHost _host;
    private readonly HealthCheck _check;
    private readonly HealthOptions _options;
    private readonly CommandOptions _commandOptions;
    private readonly TimeProvider _time;
    private readonly string _unit;
    private readonly UnitWatch? _watch;
    private int? _firstRestarts;

    public SystemdProbe(IRemoteHost host, HealthCheck check, HealthOptions options, CommandOptions? commandOptions = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(check);
        _host = host;
        _check = check;
        _options = options;
        _commandOptions = commandOptions ?? new CommandOptions();
        _time = time ?? TimeProvider.System;
        _unit = UnitName(check.Service);
        _watch = check.Baseline is null ? null : new UnitWatch(host, check, _commandOptions, _time);
        _firstRestarts = check.Baseline?.NRestarts;
    }

    /// <summary>The unit of a service: <c>&lt;name&gt;.service</c>, the name checked by <see cref="RemoteValue.ServiceName"/>.</summary>
    public static string UnitName(string service) => RemoteValue.ServiceName(service) + ".service";

    /// <summary>The command that reads a unit's state.</summary>
    public static ShellCommand ShowCommand(string unit) =>
        ShellCommand.Format($"systemctl show {unit} --property=LoadState,ActiveState,SubState,NRestarts,Result,ExecMainStatus,MainPID");

    public async Task<ServiceHealth> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var options = _commandOptions with { Timeout = timeout < _commandOptions.Timeout ? timeout : _commandOptions.Timeout };
        try
        {
            var first = await ShowAsync(_host, _unit, options, cancellationToken).ConfigureAwait(false);
            _firstRestarts ??= first.NRestarts;
            if (_watch?.CrashOf(first) is { } crashed)
            {
                return crashed;
            }

            if (!first.IsRunning || _options.Settle <= TimeSpan.Zero)
            {
                return Result(first, first.IsRunning, first.IsRunning ? string.Empty : null);
            }

            await Task.Delay(_options.Settle, _time, cancellationToken).ConfigureAwait(false);
            var second = await ShowAsync(_host, _unit, options, cancellationToken).ConfigureAwait(false);
            if (_watch?.CrashOf(second) is { } crashedSettling)
            {
                return crashedSettling;
            }

            var steady = second.IsRunning && second.NRestarts == first.NRestarts;
            var note = steady
                ? string.Create(CultureInfo.InvariantCulture, $"steady for {_options.Settle.TotalSeconds:0.###} s")
                : second.IsRunning ? string.Create(CultureInfo.InvariantCulture, $"restarted during the {_options.Settle.TotalSeconds:0.###} s settle window") : null;
            return Result(second, steady, note);
        }
        catch (RemoteCommandTimeoutException ex)
        {
            return Failed(HealthStatus.Timeout, string.Create(CultureInfo.InvariantCulture, $"systemctl show did not answer within {ex.Timeout.TotalSeconds:0.###} s"));
        }
        catch (SystemctlException ex)
        {
            return Failed(HealthStatus.Down, ex.Message);
        }
    }

    /// <summary>
    /// Reads <c>systemctl show</c>'s <c>key=value</c> lines, in any order; a property that is missing, empty or (for the
    /// numbers) not a number is null.
    /// </summary>
    public static UnitState ParseShow(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[line[..eq]] = line[(eq + 1)..];
            }
        }

        return new UnitState(
            values.GetValueOrDefault("LoadState"),
            values.GetValueOrDefault("ActiveState"),
            values.GetValueOrDefault("SubState"),
            Number(values.GetValueOrDefault("NRestarts")),
            values.GetValueOrDefault("Result"),
            values.GetValueOrDefault("ExecMainStatus"),
            Number(values.GetValueOrDefault("MainPID")));

        static int? Number(string? text) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    /// <summary>
    /// The unit's state in words, e.g. <c>ActiveState=activating SubState=auto-restart NRestarts 3→5 Result=exit-code ExecMainStatus=1</c>.
    /// </summary>
    public static string Describe(string unit, UnitState state, int? firstRestarts)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.LoadState is "not-found")
        {
            return $"unit {unit} not found (LoadState=not-found)";
        }

        var restarts = state.NRestarts is not { } now ? "NRestarts=?"
            : firstRestarts is { } before && before != now ? string.Create(CultureInfo.InvariantCulture, $"NRestarts {before}→{now}")
            : string.Create(CultureInfo.InvariantCulture, $"NRestarts={now}");
        var text = $"ActiveState={state.ActiveState} SubState={state.SubState} {restarts}";
        if (state.Result is { Length: > 0 } result && result != "success")
        {
            text += $" Result={result}";
        }

        if (state.ExecMainStatus is { Length: > 0 } status && status != "0")
        {
            text += $" ExecMainStatus={status}";
        }

        return text;
    }

    /// <summary>Reads <paramref name="unit"/>'s state once with <see cref="ShowCommand"/>.</summary>
    /// <exception cref="RemoteCommandTimeoutException">systemctl did not answer within the options' timeout.</exception>
    /// <exception cref="SystemctlException">systemctl failed, or gave no <c>ActiveState</c>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    internal static async Task<UnitState> ShowAsync(IRemoteHost host, string unit, CommandOptions options, CancellationToken cancellationToken)
    {
        var result = await host.RunAsync(ShowCommand(unit), options, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new SystemctlException(string.Create(CultureInfo.InvariantCulture, $"systemctl show {unit} failed with exit code {result.ExitCode}: {result.Tail(3).Replace('\n', ' ')}"));
        }

        var state = ParseShow(result.Output);
        if (state.ActiveState is null)
        {
            throw new SystemctlException($"systemctl show {unit} gave no ActiveState: {result.Tail(3).Replace('\n', ' ')}");
        }

        return state;
    }

    private ServiceHealth Result(UnitState state, bool healthy, string? note) =>
        Result(_check.Service, _check.ComputerName ?? _host.ComputerName, state, healthy, note, _firstRestarts, _time.GetUtcNow());

    /// <summary>
    /// The health of one state read with no settle window (<see cref="HealthOptions.Settle"/> zero, one try): what
    /// <c>Test-ServiceHealth -SettleSeconds 0 -Timeout 0</c> reports for that state. Up when the unit is active and
    /// running, else Down.
    /// </summary>
    public static ServiceHealth OneRead(string service, string computerName, UnitState state, DateTimeOffset checkedAt)
    {
        ArgumentNullException.ThrowIfNull(state);
        var health = Result(service, computerName, state, state.IsRunning, null, null, checkedAt);
        health.Tries = 1;
        return health;
    }

    private static ServiceHealth Result(string service, string computerName, UnitState state, bool healthy, string? note, int? firstRestarts, DateTimeOffset checkedAt)
    {
        var detail = Describe(UnitName(service), state, firstRestarts);
        return new ServiceHealth
        {
            Service = service,
            ComputerName = computerName,
            Method = MethodName,
            Status = healthy ? HealthStatus.Up : HealthStatus.Down,
            Healthy = healthy,
            Detail = string.IsNullOrEmpty(note) ? detail : $"{detail} ({note})",
            CheckedAt = checkedAt,
            ActiveState = state.ActiveState,
            SubState = state.SubState,
            NRestarts = state.NRestarts,
        };
    }

    private ServiceHealth Failed(HealthStatus status, string detail) => new()
    {
        Service = _check.Service,
        ComputerName = _check.ComputerName ?? _host.ComputerName,
        Method = MethodName,
        Status = status,
        Healthy = false,
        Detail = detail,
        CheckedAt = _time.GetUtcNow(),
    };

    /// <summary>systemctl itself failed (no bus, no systemctl): the try is down, with systemctl's words.</summary>
    internal sealed class SystemctlException(string message) : Exception(message);
}

/// <summary>
/// What <c>systemctl show</c> says about a unit (<see cref="SystemdProbe.ShowCommand"/>, read by
/// <see cref="SystemdProbe.ParseShow"/>); each property is null when systemctl did not give it.
/// <paramref name="MainPid"/> is <c>MainPID</c>: the unit's main process, 0 when it has none (stopped, failed, or
/// waiting to be restarted).
/// </summary>
public sealed record UnitState(string? LoadState, string? ActiveState, string? SubState, int? NRestarts, string? Result, string? ExecMainStatus, int? MainPid)
{
    /// <summary><c>ActiveState=active</c> and <c>SubState=running</c>.</summary>
    public bool IsRunning => ActiveState == "active" && SubState == "running";
}
