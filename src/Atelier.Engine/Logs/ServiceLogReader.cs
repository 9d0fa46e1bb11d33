using System.Text.RegularExpressions;
using Atelier.Health;
using Atelier.Output;
using Atelier.Transport;

namespace Atelier.Logs;

/// <summary>
/// Reads a service's journal on its host as the connection's user (the service's own, normally), and hands each line
/// over as it arrives:
/// <list type="number">
/// <item><c>journalctl -u &lt;unit&gt; -o json</c> (<see cref="JournalCommands.Read"/>), which needs a user allowed to
/// read the system journal (group <c>systemd-journal</c>, as mkService should give each service user). A journalctl
/// built without PCRE2 is asked again without <c>--grep</c>, and the pattern is matched here;</item>
/// <item>when the journal is refused, the unit's <c>systemctl status</c> through the service's sudo rule: its last lines
/// only (the current run's), said in a warning, with <c>-Grep</c> and <c>-Last</c> applied here;</item>
/// <item>when that is refused too, <c>JournalAccessDenied</c>, naming what to grant.</item>
/// </list>
/// <c>Follow</c> runs until the token is cancelled or <see cref="CommandOptions.Timeout"/> passes (its normal end):
/// either way journalctl is stopped with its whole process group on the host (<see cref="IRemoteHost.RunAsync"/>).
/// </summary>
public sealed class ServiceLogReader(IRemoteHost host, HostText text, IReporter reporter)
{
    /// <summary>
    /// Reads the lines <paramref name="query"/> asks for, calling <paramref name="onEntry"/> for each (from a background
    /// thread, in order); returns how many there were.
    /// </summary>
    /// <exception cref="AtelierException"><c>JournalAccessDenied</c>, <c>JournalReadFailed</c>.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (for <c>Follow</c>, after the lines so far).</exception>
    public async Task<int> ReadAsync(ServiceLogQuery query, CommandOptions options, Action<ServiceLogEntry> onEntry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(onEntry);
        query.Validate();
        var read = await RunJournalAsync(query, withGrep: true, options, onEntry, cancellationToken).ConfigureAwait(false);
        if (read.Result is { } done && JournalCommands.LacksPatterns(done.Error) && read.Count == 0 && query.Grep is not null)
        {
            reporter.Verbose($"journalctl on {host.ComputerName} has no pattern matching (no PCRE2): matching the pattern here.");
            read = await RunJournalAsync(query, withGrep: false, options, onEntry, cancellationToken).ConfigureAwait(false);
        }

        if (read.Result is not { } result)
        {
            return read.Count; // -Follow's time was up
        }

        // journalctl exits 1 when --grep matched nothing, saying nothing: no lines, not a failure.
        if (read.Count > 0 || (result.ExitCode == 0 && !JournalCommands.IsRefusal(result.Error)) || (result.ExitCode == 1 && result.Error.Trim().Length == 0))
        {
            return read.Count;
        }

        if (!JournalCommands.IsRefusal(result.Error))
        {
            throw new AtelierException("JournalReadFailed", FailureKind.OperationFailed,
                $"journalctl on {host.ComputerName} failed (exit code {result.ExitCode}): {text.Clean(result.Tail(5))}");
        }

        return await ReadStatusAsync(query, options, onEntry, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(CommandResult? Result, int Count)> RunJournalAsync(
        ServiceLogQuery query, bool withGrep, CommandOptions options, Action<ServiceLogEntry> onEntry, CancellationToken cancellationToken)
    {
        var command = JournalCommands.Read(query, withGrep);
        reporter.Verbose($"[{query.Service}@{host.ComputerName}]$ {command.Text}");
        var match = withGrep || query.Grep is null ? null : Pattern(query.Grep);
        var count = 0;
        var kept = !query.Follow && query.Lines is not null && !JournalCommands.PassesLines(query, withGrep) ? new Queue<ServiceLogEntry>() : null;
        var runOptions = options with
        {
            KeepOutput = false, // every line is handed over as it comes: nothing to keep for hours of -Follow
            OnLine = line =>
            {
                if (line.IsError || JournalJson.Parse(line.Text, query.Service, host.ComputerName, text) is not { } entry)
                {
                    return;
                }

                if (match is not null && !match.IsMatch(entry.Message))
                {
                    return;
                }

                if (kept is not null)
                {
                    kept.Enqueue(entry); // the last N matching lines, handed over at the end
                    if (kept.Count > query.Lines!.Value)
                    {
                        kept.Dequeue();
                    }

                    return;
                }

                count++;
                onEntry(entry);
            },
        };

        try
        {
            var result = await host.RunAsync(command, runOptions, cancellationToken).ConfigureAwait(false);
            foreach (var entry in kept ?? [])
            {
                count++;
                onEntry(entry);
            }

            return (result, count);
        }
        catch (RemoteCommandTimeoutException) when (query.Follow)
        {
            return (null, count);
        }
    }

    private async Task<int> ReadStatusAsync(ServiceLogQuery query, CommandOptions options, Action<ServiceLogEntry> onEntry, CancellationToken cancellationToken)
    {
        var who = $"{host.User} on {host.ComputerName}";
        if (query.Follow)
        {
            throw AccessDenied(query, $"{who} may not read the system journal, so {query.Unit} cannot be followed");
        }

        var command = JournalCommands.Status(query);
        reporter.Verbose($"[{query.Service}@{host.ComputerName}]$ {command.Text}");
        CommandResult status;
        try
        {
            status = await host.RunAsync(command, options with { OnLine = null }, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteCommandTimeoutException)
        {
            throw AccessDenied(query, $"{who} may not read the system journal, and `{command.Text}` did not answer");
        }

        // systemctl status exits 3 for a unit that is not running: its output is still the status and the journal.
        if (status.ExitCode is not (0 or 3))
        {
            throw AccessDenied(query, $"{who} may read neither the system journal nor the status of {query.Unit}");
        }

        reporter.Warning(
            $"{who} may not read the system journal: showing the last lines of `systemctl status {query.Unit}` (its sudo rule) instead, " +
            $"the current run's only, whatever their time or priority. {Grant(host.User)} for the whole journal.",
            [Hint.StatusLinesUnfiltered]);
        var match = query.Grep is null ? null : Pattern(query.Grep);
        var lines = text.Lines(JournalReader.AfterFirstBlankLine(status.Output)).Where(l => match is null || match.IsMatch(l));
        var count = 0;
        foreach (var line in query.Last is { } last ? lines.TakeLast(last) : lines)
        {
            count++;
            onEntry(new ServiceLogEntry { Service = query.Service, ComputerName = host.ComputerName, Message = line, Source = ServiceLogEntry.FromStatus });
        }

        return count;
    }

    private AtelierException AccessDenied(ServiceLogQuery query, string what) =>
        new("JournalAccessDenied", FailureKind.PermissionDenied,
            $"{what}. {Grant(host.User)}, or allow it `sudo -n {JournalReader.NixSystemctl} status {query.Unit}` (the sudo rule mkService writes).");

    private static string Grant(string user) =>
        $"Add {user} to the group systemd-journal (NixOS: users.users.{user}.extraGroups = [ \"systemd-journal\" ])";

    /// <summary>A pattern matched here, as journalctl would: case-insensitive unless it holds a capital.</summary>
    private static Regex Pattern(string grep)
    {
        try
        {
            var options = RegexOptions.CultureInvariant | (JournalCommands.CaseSensitive(grep) ? RegexOptions.None : RegexOptions.IgnoreCase);
            return new Regex(grep, options, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw new AtelierException("InvalidGrepPattern", FailureKind.InvalidArgument, $"The pattern '{grep}' is not a valid regular expression: {ex.Message}", ex);
        }
    }
}
