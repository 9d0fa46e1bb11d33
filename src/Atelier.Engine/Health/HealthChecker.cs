using System.Globalization;
using Atelier.Output;
using Atelier.Transport;

namespace Atelier.Health;

/// <summary>
/// Checks one service: HTTP when it has a URL, else its systemd unit over the host's connection; polls with
/// <see cref="HealthPoller"/>; and, when the service ends unhealthy and its host can be reached, adds the unit's last
/// journal lines, so the result shows why. A check with a <see cref="HealthCheck.Baseline"/> also watches the unit
/// while it polls (<see cref="UnitWatch"/>), and ends at once when it crashed. What the host said (the detail, the
/// journal) is cleaned and redacted (<see cref="HostText"/>).
/// </summary>
public sealed class HealthChecker
{
    private readonly HealthOptions _options;
    private readonly IReporter _reporter;
    private readonly TimeProvider _time;
    private readonly HostText _text;

    /// <param name="text">What cleans and redacts the host's words (default: the built-in redaction only).</param>
    public HealthChecker(HealthOptions options, IReporter? reporter = null, TimeProvider? time = null, HostText? text = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _reporter = reporter ?? NullReporter.Instance;
        _time = time ?? TimeProvider.System;
        _text = text ?? HostText.Default;
    }

    /// <summary>
    /// Checks <paramref name="check"/>. <paramref name="host"/> opens the service's host: required for a systemd
    /// check, and used for the journal of an unhealthy HTTP check when given (a failure to open it then only costs the
    /// journal). <paramref name="commandOptions"/> apply to the commands on the host.
    /// <para>
    /// With a <see cref="HealthCheck.Baseline"/> and a host, every try also reads the unit's state once over that host
    /// (an HTTP try alongside its request, a systemd try from its own reads) and the check ends at once, unhealthy, with
    /// <see cref="ServiceHealth.UnitCrashed"/> and the journal, when the unit exited, failed, is restarting or changed its
    /// main process since the baseline. A read that fails or times out concludes nothing; a host that cannot be opened
    /// for an HTTP check only costs the watch. Without a baseline, no command runs on the host during an HTTP check.
    /// </para>
    /// </summary>
    /// <exception cref="AtelierException">A systemd check without a host (<c>SystemdCheckNeedsHost</c>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ServiceHealth> CheckAsync(HealthCheck check, Func<CancellationToken, Task<IRemoteHost>>? host, CommandOptions? commandOptions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(check);
        commandOptions ??= new CommandOptions();
        IHealthProbe probe;
        IRemoteHost? opened = null;
        var prefix = $"[{check.Service}{(check.ComputerName is null ? string.Empty : "@" + check.ComputerName)}]";
        var watching = string.Empty;
        if (check.HealthUrl is not null)
        {
            probe = new HttpProbe(check, _options, _time);
            if (check.Baseline is not null && host is not null)
            {
                try
                {
                    opened = await host(cancellationToken).ConfigureAwait(false);
                    probe = new WatchedProbe(probe, new UnitWatch(opened, check, commandOptions, _time, m => _reporter.Verbose($"{prefix} {m}")));
                    watching = $", watching {SystemdProbe.UnitName(check.Service)}";
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _reporter.Verbose($"{prefix} could not reach the host to watch the unit: {ex.Message}");
                }
            }
        }
        else
        {
            if (host is null)
            {
                throw NeedsHost(check.Service);
            }

            opened = await host(cancellationToken).ConfigureAwait(false);
            probe = new SystemdProbe(opened, check, _options, commandOptions, _time);
        }

        _reporter.Verbose($"{prefix} checking {(check.HealthUrl is null ? SystemdProbe.UnitName(check.Service) + " with systemctl" : "GET " + check.HealthUrl)}{watching}");
        var result = await new HealthPoller(_options, _time).PollAsync(
            probe,
            r => _reporter.Verbose(string.Create(CultureInfo.InvariantCulture, $"{prefix} try {r.Tries}: {r.Status}{(r.LatencyMs is { } ms ? $" in {ms:0} ms" : string.Empty)}: {_text.Clean(r.Detail)}")),
            cancellationToken: cancellationToken).ConfigureAwait(false);

        if (!result.Healthy && host is not null)
        {
            try
            {
                opened ??= await host(cancellationToken).ConfigureAwait(false);
                var journalOptions = commandOptions with { OnLine = null, Timeout = commandOptions.Timeout < _options.RequestTimeout ? commandOptions.Timeout : _options.RequestTimeout };
                result.Journal = await JournalReader.ReadAsync(opened, check.Service, _options.JournalLines, journalOptions, cancellationToken).ConfigureAwait(false);
                _reporter.Verbose($"{prefix} {result.Journal.Length} journal lines");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _reporter.Verbose($"{prefix} could not read the journal: {ex.Message}");
            }
        }

        result.Clean(_text);
        return result;
    }

    /// <summary>
    /// Makes every check of <paramref name="checks"/>, up to <paramref name="throttleLimit"/> at once
    /// (<see cref="HealthRunner"/>), each over its <see cref="HealthCheck.Connection"/> opened through
    /// <paramref name="hosts"/> when it has one (see <see cref="CheckAsync"/>). Each result goes to
    /// <paramref name="onResult"/> as soon as it is ready, a check that cannot be made to <paramref name="onError"/>
    /// (both from pool threads), and the others go on.
    /// </summary>
    /// <returns>How many checks ended unhealthy or could not be made.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<int> CheckAllAsync(
        IReadOnlyList<HealthCheck> checks,
        IHostPool hosts,
        int throttleLimit,
        CommandOptions commandOptions,
        Action<ServiceHealth> onResult,
        Action<HealthCheck, Exception> onError,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        var failures = 0;
        await HealthRunner.RunAsync(
            checks,
            throttleLimit,
            (check, token) => CheckAsync(check, check.Connection is { } connection ? t => hosts.GetAsync(connection, t) : null, commandOptions, token),
            (_, result) =>
            {
                if (!result.Healthy)
                {
                    Interlocked.Increment(ref failures);
                }

                onResult(result);
            },
            (check, ex) =>
            {
                Interlocked.Increment(ref failures);
                onError(check, ex);
            },
            cancellationToken).ConfigureAwait(false);
        return Volatile.Read(ref failures);
    }

    /// <summary>The error for a systemd check that has no host to run on.</summary>
    public static AtelierException NeedsHost(string service) =>
        new("SystemdCheckNeedsHost", FailureKind.InvalidArgument, $"{service}: a check without a health URL reads the systemd unit on its host, and no host was given.")
        {
            Hints = [Hint.HealthHost],
        };
}
