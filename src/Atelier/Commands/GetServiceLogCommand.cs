using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Logs;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Get-ServiceLog: a service's journal lines (its unit, <c>&lt;name&gt;.service</c>) as objects, read on its host as the
/// service's user with <c>journalctl -o json</c>: by time window, count, pattern and priority, or followed as they come
/// (<c>-Follow</c>, until Ctrl+C or <c>-Timeout</c>, leaving no journalctl behind). A deploy result or history record
/// piped in gives its time window. Every message is host text, cleaned and redacted.
/// </summary>
[Cmdlet(VerbsCommon.Get, "ServiceLog")]
[OutputType(typeof(ServiceLogEntry))]
public sealed class GetServiceLogCommand : ServiceCmdlet
{
    private readonly List<(ServiceLogQuery Query, HostConnectionRequest Connection)> _follows = [];

    /// <summary>The services (each one's system user and unit); with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>Lines from this time on: a DateTime, a date and time, or a relative time (-1h, 10 min ago, today).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("StartedAt")]
    [JournalTimeTransformation]
    [ValidateJournalTime]
    [AllowNull]
    [AllowEmptyString]
    public string? Since { get; set; }

    /// <summary>Lines up to this time: as -Since.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("FinishedAt")]
    [JournalTimeTransformation]
    [ValidateJournalTime]
    [AllowNull]
    [AllowEmptyString]
    public string? Until { get; set; }

    /// <summary>At most this many lines, the newest. Default: 100 without a time window (10 with -Follow), else all of it.</summary>
    [Parameter]
    [ValidateRange(1, ServiceLogQuery.MaxLast)]
    public int Last { get; set; }

    /// <summary>Only lines whose message matches this regular expression (journalctl --grep: case-insensitive unless it holds a capital).</summary>
    [Parameter]
    [ValidateArgumentText("-Grep pattern", ServiceLogQuery.MaxGrepLength)]
    public string? Grep { get; set; }

    /// <summary>Only lines of this priority or more severe.</summary>
    [Parameter]
    [ValidateSet("Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Info", "Debug", IgnoreCase = true)]
    public string? Priority { get; set; }

    /// <summary>Keeps writing new lines as the service writes them, until Ctrl+C or -Timeout.</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    /// <summary>With -Follow: seconds to follow before stopping. Default: until Ctrl+C.</summary>
    [Parameter]
    [ValidateRange(0.1, 86400.0)]
    public double Timeout { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var service in Service)
        {
            try
            {
                var query = new ServiceLogQuery
                {
                    Service = service,
                    Since = string.IsNullOrEmpty(Since) ? null : Since,
                    Until = string.IsNullOrEmpty(Until) ? null : Until,
                    Last = IsBound(nameof(Last)) ? Last : null,
                    Grep = string.IsNullOrEmpty(Grep) ? null : Grep,
                    Priority = Priority is null ? null : Enum.Parse<JournalPriority>(Priority, ignoreCase: true),
                    Follow = Follow,
                }.Validate();
                var connection = ConnectionFor(HostFor(service, ManifestEntry(service, required: NeedsHost)), service);
                if (Follow)
                {
                    _follows.Add((query, connection)); // followed together, in EndProcessing
                    continue;
                }

                var options = new CommandOptions { Timeout = TimeSpan.FromSeconds(CommandTimeout) };
                Read([(query, connection)], options);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex is ArgumentException and not RemoteValueException and not PSArgumentException ? new PSArgumentException(ex.Message, ex) : ex, service));
            }
        }
    }

    protected override void EndProcessing()
    {
        try
        {
            if (_follows.Count > 0)
            {
                var timeout = IsBound(nameof(Timeout)) ? TimeSpan.FromSeconds(Timeout) : System.Threading.Timeout.InfiniteTimeSpan;
                Read(_follows, new CommandOptions { Timeout = timeout });
            }
        }
        finally
        {
            base.EndProcessing();
        }
    }

    /// <summary>Reads each query on its host, all at once; writes each line as it comes, and each failure as an error.</summary>
    private void Read(IReadOnlyList<(ServiceLogQuery Query, HostConnectionRequest Connection)> reads, CommandOptions options)
    {
        var hosts = Hosts;
        var text = Text;
        try
        {
            Run((channel, cancellation) => Task.WhenAll(reads.Select(async read =>
            {
                try
                {
                    var host = await hosts.GetAsync(read.Connection, cancellation).ConfigureAwait(false);
                    await new ServiceLogReader(host, text, channel.Reporter).ReadAsync(read.Query, options, channel.Output, cancellation).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellation.IsCancellationRequested)
                {
                    channel.Error(ErrorFor(ex, read.Query.Service));
                }
            })));
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }
}
