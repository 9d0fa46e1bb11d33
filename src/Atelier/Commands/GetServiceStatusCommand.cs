using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Health;
using Atelier.Manifest;
using Atelier.Status;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Get-ServiceStatus: one view of the fleet. For every service of the manifest (or of -Machine), or those named or
/// piped, reads at once what runs and what is about to: the deployed commit and how far origin's branch is ahead (fetched
/// first unless -NoFetch), the unit's state, its start time and restarts, health as Test-ServiceHealth reports it, the
/// host history's last deploy, the deploy lock and its guard, and the newest snapshot. One command per service over
/// the pooled connection of its host and account, every host at once; a host that cannot be reached is an error record
/// for each of its services, and the others are read all the same. Its objects pipe into the deploy cmdlets.
/// </summary>
[Cmdlet(VerbsCommon.Get, "ServiceStatus")]
[OutputType(typeof(ServiceStatus))]
public sealed class GetServiceStatusCommand : DeployedServiceCmdlet
{
    /// <summary>The most services read at once.</summary>
    public const int DefaultThrottleLimit = 16;

    private readonly List<PendingStatus> _pending = [];
    private bool _manifestQueued;

    /// <summary>
    /// The services (each one's system user and unit). Default: every service of the services manifest (of -Machine when
    /// given). With a manifest configured, a name alone is enough: its host, health URL, database and branch come from it.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[]? Service { get; set; }

    /// <summary>The branch of origin the deployed commit is compared with. Default: the settings file's, else the manifest's, else main.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateBranch]
    [PSDefaultValue(Value = "main")]
    public string? Branch { get; set; }

    /// <summary>The database whose newest snapshot is shown. Default: the manifest's; without one, the newest snapshot of any database.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("db_path", "Sqlite")]
    [ValidateRemotePath]
    public string? DbPath { get; set; }

    /// <summary>
    /// Does not fetch origin's branch on the host: Behind is as the last fetch (a deploy's, or an earlier status's)
    /// left it. Without it the branch is fetched first, except while a deploy holds the lock.
    /// </summary>
    [Parameter]
    public SwitchParameter NoFetch { get; set; }

    /// <summary>Seconds the host's fetch of origin may take; then the status goes on with origin as it was (and says so in Problems).</summary>
    [Parameter]
    [ValidateRange(1, 600)]
    public int FetchTimeout { get; set; } = (int)StatusRequest.DefaultFetchTimeout.TotalSeconds;

    /// <summary>Seconds the HTTP health request may take (one try).</summary>
    [Parameter]
    [ValidateRange(0.05, 3600.0)]
    public double RequestTimeout { get; set; } = HealthOptions.DefaultRequestTimeout.TotalSeconds;

    /// <summary>How many services are read at once (the services of different hosts first).</summary>
    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = DefaultThrottleLimit;

    protected override void ProcessRecord()
    {
        if (Service is { Length: > 0 } names)
        {
            foreach (var name in names)
            {
                try
                {
                    Queue(name, ManifestEntry(name, required: NeedsHost));
                }
                catch (Exception ex) when (ex is not PipelineStoppedException)
                {
                    WriteError(ErrorFor(ex, name));
                }
            }

            return;
        }

        if (_manifestQueued)
        {
            return;
        }

        _manifestQueued = true;
        IReadOnlyList<AtelierService>? services;
        try
        {
            services = ManifestServices()
                ?? throw new AtelierException("ServiceNameRequired", FailureKind.InvalidArgument,
                    "Without a services manifest Get-ServiceStatus needs the services: give -Service (and -ComputerName), or set manifest: in the settings file (or -Manifest).");
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, Machine));
            return;
        }

        foreach (var entry in services)
        {
            try
            {
                Queue(entry.Name, entry);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex, entry.Name));
            }
        }
    }

    /// <summary>What to read of <paramref name="service"/> and how to reach it: each value from its parameter, else the settings file's entry, else the manifest's.</summary>
    private void Queue(string service, AtelierService? entry)
    {
        var defaults = SettingsFor(service);
        var computer = HostFor(service, entry);
        var connection = ConnectionFor(computer, service);
        var request = new StatusRequest
        {
            Service = service,
            ComputerName = Local ? "localhost" : computer!,
            Machine = entry?.Machine ?? (string.IsNullOrEmpty(Machine) ? null : Machine),
            Branch = BranchFor(Branch, defaults, entry),
            DbPath = Pick(nameof(DbPath), DbPath, null, entry?.DbPath),
            HealthUrl = HealthUrlFor(entry),
            Fetch = !NoFetch,
            FetchTimeout = TimeSpan.FromSeconds(FetchTimeout),
        }.Validate();
        _pending.Add(new PendingStatus(request, connection));
    }

    protected override void EndProcessing()
    {
        var hosts = Hosts;
        var commandOptions = new CommandOptions { Timeout = TimeSpan.FromSeconds(CommandTimeout) };
        var health = new HealthOptions { RequestTimeout = TimeSpan.FromSeconds(RequestTimeout) };
        var throttle = ThrottleLimit;
        var text = Text;
        try
        {
            if (_pending.Count > 0)
            {
                Run(async (channel, cancellation) =>
                {
                    var reader = new ServiceStatusReader(health, channel.Reporter, text);
                    await ServiceStatusReader.ReadAllAsync(
                        _pending,
                        throttle,
                        item => item.Request.ComputerName,
                        async (item, token) =>
                        {
                            var stopwatch = Stopwatch.StartNew();
                            var status = await reader.ReadAsync(item.Request, t => hosts.GetAsync(item.Connection, t), commandOptions, token).ConfigureAwait(false);
                            channel.Verbose(string.Create(CultureInfo.InvariantCulture, $"[{item.Request.Service}@{item.Request.ComputerName}] read in {stopwatch.Elapsed.TotalMilliseconds:0} ms (origin: {status.Origin ?? "not read"})"));
                            return status;
                        },
                        (_, status) => channel.Output(Errors.WithHints(status)),
                        (item, ex) => channel.Error(ErrorOf(ex, item.Request)),
                        cancellation).ConfigureAwait(false);
                });
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

    /// <summary>A service that could not be read: the failure's own id (HostConnectionFailed, HostKeyRejected, ...), its message naming the service.</summary>
    private ErrorRecord ErrorOf(Exception exception, StatusRequest request)
    {
        var record = ErrorFor(exception, request.Service);
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        record.ErrorDetails = new ErrorDetails($"{request.Service} on {request.ComputerName}: {record.ErrorDetails?.Message ?? inner.Message}");
        return record;
    }

    /// <summary>One service to read, with the connection to its host captured from its own pipeline object.</summary>
    private sealed record PendingStatus(StatusRequest Request, HostConnectionRequest Connection);
}
