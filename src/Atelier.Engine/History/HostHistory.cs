using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.History;

/// <summary>
/// The deploy history kept on the host, in the service account's <c>~/.atelier/deploys.jsonl</c> (folder 0700,
/// file 0600): one JSON record a line, appended under a lock, so any admin machine sees every deploy.
/// </summary>
public sealed class HostHistory
{
    /// <summary>The history file on the host.</summary>
    public const string FilePath = "~/.atelier/deploys.jsonl";

    /// <summary>
    /// Longest line written. The line travels as one argument of <c>sh -c</c>, and Linux refuses a single
    /// argument over 128 KiB; longer records lose most of their error text, then commits (see <see cref="Fit"/>).
    /// </summary>
    public const int MaxLineLength = 64 * 1024;

    private static readonly Lazy<string> AppendScript = new(() => EmbeddedScript.Read("Atelier.History.append.sh"));
    private readonly IRemoteHost _host;
    private readonly IReporter _reporter;
    private readonly CommandOptions _options;

    public HostHistory(IRemoteHost host, IReporter reporter, CommandOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(reporter);
        _host = host;
        _reporter = reporter;
        _options = options ?? new CommandOptions { Timeout = TimeSpan.FromMinutes(1) };
    }

    /// <summary>The command that appends a record (what runs on the host): the script, and the JSON line as <c>$1</c>.</summary>
    public static ShellCommand AppendCommand(DeployRecord record) => ShellCommand.Script(AppendScript.Value, Line(record));

    /// <summary>
    /// The record as the history file holds it: one line of plain-ASCII JSON (every quote inside a value is written
    /// <c>\u0022</c>, so a host-side script can match a key's text safely), shortened to fit (see <see cref="Fit"/>).
    /// </summary>
    public static string Line(DeployRecord record)
    {
        var line = Fit(record);
        if (line.Contains('\n', StringComparison.Ordinal) || line.Contains('\r', StringComparison.Ordinal))
        {
            // Cannot happen with System.Text.Json, which escapes both; checked because the file's format depends on it.
            throw new InvalidOperationException("A deploy record's JSON holds a raw line break.");
        }

        return line;
    }

    /// <summary>The command that prints the history file (nothing when there is none yet).</summary>
    public static ShellCommand ReadCommand() =>
        ShellCommand.Format($"f={new RemotePath(FilePath)}; if [ -f \"$f\" ]; then cat \"$f\"; fi");

    /// <summary>Appends one record to the host's history.</summary>
    /// <exception cref="AtelierException"><c>HistoryWriteFailed</c> (or <c>HistoryLocked</c>) when the host refused it.</exception>
    public async Task AppendAsync(DeployRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var result = await _host.RunAsync(AppendCommand(record), _options, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw result.ExitCode == 75
                ? new AtelierException("HistoryLocked", FailureKind.ResourceBusy, $"{_host.ComputerName}: {result.Error.Trim().Replace("atelier: ", string.Empty, StringComparison.Ordinal)}")
                : new AtelierException("HistoryWriteFailed", FailureKind.OperationFailed, $"Could not append to {FilePath} on {_host.ComputerName} (exit code {result.ExitCode}):\n{result.Tail(10)}");
        }

        foreach (var line in result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            _reporter.Warning($"{_host.ComputerName}: {line.Replace("atelier: ", string.Empty, StringComparison.Ordinal)}");
        }
    }

    /// <summary>
    /// Reads the host's history (each record as it stands: see <see cref="DeployHistory.Merge"/>), newest first, keeping the records of <paramref name="service"/> (exact) with
    /// <paramref name="status"/> (any case), at most <paramref name="last"/>. A line that is not a whole record
    /// (cut short, edited by hand) is skipped with a warning naming its line number.
    /// </summary>
    /// <exception cref="AtelierException"><c>HistoryReadFailed</c> when the file could not be read.</exception>
    public async Task<IReadOnlyList<DeployRecord>> ReadAsync(string? service = null, int? last = null, string? status = null, CancellationToken cancellationToken = default)
    {
        DeployHistory.CheckLast(last);
        var result = await _host.RunAsync(ReadCommand(), _options, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new AtelierException("HistoryReadFailed", FailureKind.OperationFailed, $"Could not read {FilePath} on {_host.ComputerName} (exit code {result.ExitCode}):\n{result.Tail(10)}");
        }

        return DeployHistory.Filter(DeployHistory.Merge(Parse(result.Output)), service, computerName: null, status, last);
    }

    /// <summary>
    /// The record as a line of at most <see cref="MaxLineLength"/> characters: when it is longer, the error keeps only
    /// its last 4000 characters, then the commit list is halved until the line fits (ending with a
    /// "... N more commits" entry).
    /// </summary>
    internal static string Fit(DeployRecord record)
    {
        var line = DeployHistory.ToJsonLine(record);
        var error = record.Error;
        if (line.Length > MaxLineLength && error is { Length: > 4000 })
        {
            error = "..." + error[^4000..];
            line = DeployHistory.ToJsonLine(Shorten(record, record.Commits.Length, error));
        }

        var keep = record.Commits.Length;
        while (line.Length > MaxLineLength && keep > 0)
        {
            keep /= 2;
            line = DeployHistory.ToJsonLine(Shorten(record, keep, error));
        }

        if (line.Length > MaxLineLength)
        {
            throw new AtelierException("HistoryRecordTooLong", FailureKind.InvalidArgument, $"The deploy record {record.Id} is {line.Length} characters of JSON even shortened; at most {MaxLineLength} fit in the host's history.");
        }

        return line;
    }

    private List<DeployRecord> Parse(string text)
    {
        var records = new List<DeployRecord>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (DeployHistory.TryParseLine(line, out var record, out var problem))
            {
                records.Add(record!);
            }
            else
            {
                var start = line.Length > 60 ? line[..60] + "..." : line;
                _reporter.Warning($"{_host.ComputerName}: skipped line {i + 1} of {FilePath}, which is not a deploy record ({problem}): {start}");
            }
        }

        return records;
    }

    private static DeployRecord Shorten(DeployRecord r, int keepCommits, string? error) => r with
    {
        Commits = keepCommits < r.Commits.Length ? [.. r.Commits.Take(keepCommits), $"... {r.Commits.Length - keepCommits} more commits"] : r.Commits,
        Error = error,
    };
}
