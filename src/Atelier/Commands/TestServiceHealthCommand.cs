using System.Management.Automation;
using System.Text.RegularExpressions;
using Atelier.Commands.Infrastructure;
using Atelier.Health;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Test-ServiceHealth: polls services until they are healthy or a deadline passes, several at once. With a URL, GETs
/// it (per-request timeout, tries 100 ms apart growing to 2 s) and classifies the answer like the status page (up,
/// degraded, misconfigured, timeout, down); without one, reads the systemd unit over SSH (active, running, and not
/// restarting over a settle window). A failed check is a result with <c>Healthy</c> false, carrying the unit's last
/// journal lines when its host can be reached; only a check that cannot be made is an error.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "ServiceHealth")]
[OutputType(typeof(ServiceHealth))]
[OutputType(typeof(bool))]
public sealed class TestServiceHealthCommand : ServiceCmdlet
{
    private readonly List<PendingCheck> _checks = [];
    private HealthOptions? _options;
    private int _failures;

    /// <summary>
    /// The services: each one's systemd unit (&lt;name&gt;.service) and SSH user. Optional for an HTTP check. With a
    /// services manifest configured, a name alone is enough: its health URL and host come from it.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Service")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>An absolute http or https URL to GET; without one, the systemd unit is checked over SSH.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Url", "health_url")]
    [ValidateHealthUrl]
    public string? HealthUrl { get; set; }

    /// <summary>The HTTP status codes that count as healthy. Default: any 2xx.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateRange(100, 599)]
    public int[]? ExpectedStatus { get; set; }

    /// <summary>A regular expression (case-insensitive) that the response body must match.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ExpectContent { get; set; }

    /// <summary>Seconds one try may take (an HTTP request, or a systemctl command).</summary>
    [Parameter]
    [ValidateRange(0.05, 3600.0)]
    public double RequestTimeout { get; set; } = HealthOptions.DefaultRequestTimeout.TotalSeconds;

    /// <summary>Seconds to keep trying until healthy; 0 makes exactly one try.</summary>
    [Parameter]
    [ValidateRange(0.0, 86400.0)]
    public double Timeout { get; set; } = HealthOptions.DefaultTimeout.TotalSeconds;

    /// <summary>Milliseconds above which a correct answer is Degraded (still healthy).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int DegradedThreshold { get; set; } = (int)HealthOptions.DefaultDegradedThreshold.TotalMilliseconds;

    /// <summary>systemd: seconds NRestarts must stay unchanged while the unit is active and running.</summary>
    [Parameter]
    [ValidateRange(0.0, 600.0)]
    public double SettleSeconds { get; set; } = HealthOptions.DefaultSettle.TotalSeconds;

    /// <summary>How many services are checked at once.</summary>
    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = HealthRunner.DefaultThrottleLimit;

    /// <summary>Returns only $true when every service is healthy, else $false.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        Regex? pattern = null;
        if (ExpectContent is not null)
        {
            try
            {
                pattern = new Regex(ExpectContent, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
            }
            catch (ArgumentException ex)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException($"-ExpectContent '{ExpectContent}' is not a valid regular expression: {ex.Message}", ex),
                    "InvalidExpectContent",
                    ErrorCategory.InvalidArgument,
                    ExpectContent));
            }
        }

        _options = new HealthOptions
        {
            ExpectedStatus = ExpectedStatus,
            ExpectContent = pattern,
            RequestTimeout = TimeSpan.FromSeconds(RequestTimeout),
            Timeout = TimeSpan.FromSeconds(Timeout),
            DegradedThreshold = TimeSpan.FromMilliseconds(DegradedThreshold),
            Settle = TimeSpan.FromSeconds(SettleSeconds),
        };
    }

    protected override void ProcessRecord()
    {
        if (Name is not { Length: > 0 })
        {
            Queue(null, HealthUrl, ComputerName);
            return;
        }

        foreach (var name in Name)
        {
            try
            {
                // The manifest is needed when neither a URL nor a host says how to check the service.
                var entry = ManifestEntry(name, required: string.IsNullOrEmpty(HealthUrl) && NeedsHost);
                Queue(name, Pick(nameof(HealthUrl), HealthUrl, null, entry?.HealthUrl), HostFor(name, entry));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                Interlocked.Increment(ref _failures);
                WriteError(ErrorFor(ex, name));
            }
        }
    }

    private void Queue(string? name, string? healthUrl, string? computerName)
    {
        var url = string.IsNullOrEmpty(healthUrl) ? null : new Uri(healthUrl, UriKind.Absolute);
        if (string.IsNullOrEmpty(name) && url is null)
        {
            Fail(new PSArgumentException("Give -Name (a systemd check over SSH) or -HealthUrl (an HTTP check), or pipe objects with Name and HealthUrl properties."),
                "NameOrHealthUrlRequired", ErrorCategory.InvalidArgument, null);
            return;
        }

        var service = string.IsNullOrEmpty(name) ? url!.Host : name;
        var hasHost = Local || !string.IsNullOrEmpty(computerName);
        if (url is null && !hasHost)
        {
            Fail(HealthChecker.NeedsHost(service), "SystemdCheckNeedsHost", ErrorCategory.InvalidArgument, service);
            return;
        }

        try
        {
            // A systemd check runs on the host; an HTTP check with a host and a service name reads the unit's journal
            // there if it ends unhealthy.
            var connection = hasHost && !string.IsNullOrEmpty(name) ? ConnectionFor(computerName, name) : null;
            _checks.Add(new PendingCheck(
                new HealthCheck { Service = service, ComputerName = Local ? "localhost" : computerName, HealthUrl = url },
                connection));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            Interlocked.Increment(ref _failures);
            WriteError(ErrorFor(ex, service));
        }
    }

    protected override void EndProcessing()
    {
        var options = _options!;
        var hosts = Hosts;
        var commandOptions = new CommandOptions { Timeout = TimeSpan.FromSeconds(CommandTimeout) };
        var quiet = Quiet.IsPresent;
        var text = Text;
        try
        {
            if (_checks.Count > 0)
            {
                Run(async (channel, cancellation) =>
                {
                    var checker = new HealthChecker(options, channel.Reporter, text: text);
                    await HealthRunner.RunAsync(
                        _checks,
                        ThrottleLimit,
                        (item, token) => checker.CheckAsync(item.Check, item.Connection is null ? null : t => hosts.GetAsync(item.Connection, t), commandOptions, token),
                        (_, result) =>
                        {
                            if (!result.Healthy)
                            {
                                Interlocked.Increment(ref _failures);
                            }

                            if (!quiet)
                            {
                                channel.Output(result);
                            }
                        },
                        (item, ex) =>
                        {
                            Interlocked.Increment(ref _failures);
                            channel.Error(ErrorFor(ex, item.Check.Service));
                        },
                        cancellation).ConfigureAwait(false);
                });
            }

            if (quiet)
            {
                WriteObject(Volatile.Read(ref _failures) == 0);
            }
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            base.EndProcessing();
        }
    }

    private void Fail(Exception exception, string errorId, ErrorCategory category, object? target)
    {
        Interlocked.Increment(ref _failures);
        WriteError(Errors.Recommending(new ErrorRecord(exception, errorId, category, target), FailureHints.Of(exception)));
    }

    /// <summary>One service to check, with the connection to its host captured from its own pipeline object.</summary>
    private sealed record PendingCheck(HealthCheck Check, HostConnectionRequest? Connection);
}
