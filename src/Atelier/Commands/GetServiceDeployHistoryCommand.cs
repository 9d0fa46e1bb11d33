using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;
using Atelier.History;

namespace Atelier.Commands;

/// <summary>
/// Get-ServiceDeployHistory: the deploys and restores recorded on this machine (a SQLite database) or, with -FromHost,
/// on the service's host (~/.atelier/deploys.jsonl, which every admin machine sees), newest first.
/// </summary>
[Cmdlet(VerbsCommon.Get, "ServiceDeployHistory")]
[OutputType(typeof(DeployRecord))]
public sealed class GetServiceDeployHistoryCommand : ServiceCmdlet
{
    /// <summary>Only these services' records (required with -FromHost: each one's home holds them; with a services manifest, a name alone is enough).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[]? Service { get; set; }

    /// <summary>At most this many records, the newest.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Last { get; set; }

    /// <summary>Only records with this status. NoChange, Unchanged's former name, is accepted for one more version.</summary>
    [Parameter]
    [ValidateSet(DeployStatus.Succeeded, DeployStatus.Unchanged, DeployStatus.RolledBack, DeployStatus.RollbackFailed, DeployStatus.Failed, DeployStatus.NoChange, IgnoreCase = true)]
    public string? Status { get; set; }

    /// <summary>Reads the history kept on the service's host instead of this machine's.</summary>
    [Parameter]
    public SwitchParameter FromHost { get; set; }

    /// <summary>
    /// This machine's deploy history database. Default: the settings file's historyPath, else $XDG_STATE_HOME/atelier/history.db.
    /// Reading never creates it: a -HistoryPath that does not exist is a <c>HistoryNotFound</c> error.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HistoryPath { get; set; }

    protected override void ProcessRecord()
    {
        int? last = MyInvocation.BoundParameters.ContainsKey(nameof(Last)) ? Last : null;
        if (FromHost && Service is not { Length: > 0 })
        {
            WriteError(ErrorFor(new PSArgumentException("-FromHost reads the history in the service's home on its host: give -Service (and -ComputerName, or a services manifest)."), null));
            return;
        }

        foreach (var service in Service is { Length: > 0 } names ? names.Select(n => (string?)n) : [null])
        {
            try
            {
                foreach (var record in Read(service, last))
                {
                    // A host's file, or an older history, may hold anything: shown cleaned and redacted.
                    WriteObject(DeployHistory.Cleaned(record, Text));
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex, service));
            }
        }
    }

    private IReadOnlyList<DeployRecord> Read(string? service, int? last)
    {
        if (!FromHost)
        {
            // A read creates nothing: a missing -HistoryPath is an error, a missing default (no deploy yet) is no history.
            var path = HistoryPath is null ? Settings.HistoryPath : LocalPath(HistoryPath);
            return LocalHistory.OpenExisting(path, required: HistoryPath is not null)?.Query(service, ComputerName, Status, last) ?? [];
        }

        var computer = HostFor(service!, ManifestEntry(service!, required: NeedsHost));
        var connection = ConnectionFor(computer, service!);
        return Run(async (channel, cancellation) =>
        {
            var host = await Hosts.GetAsync(connection, cancellation).ConfigureAwait(false);
            return await new HostHistory(host, channel.Reporter, CommandOptionsFor(channel, $"[{service}@{computer}]"))
                .ReadAsync(service, last, Status, cancellation).ConfigureAwait(false);
        });
    }
}
