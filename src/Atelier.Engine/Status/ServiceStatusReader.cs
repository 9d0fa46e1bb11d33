using System.Globalization;
using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;
using Atelier.Output;
using Atelier.Shell;
using Atelier.Snapshot;
using Atelier.Transport;

namespace Atelier.Status;

/// <summary>What to read of one service, and how its health is checked.</summary>
public sealed record StatusRequest
{
    /// <summary>How long the host's <c>git fetch</c> of the branch may take before it is given up (the status goes on).</summary>
    public static readonly TimeSpan DefaultFetchTimeout = TimeSpan.FromSeconds(10);

    public required string Service { get; init; }

    /// <summary>The host as the user named it (for the result and the health check).</summary>
    public required string ComputerName { get; init; }

    /// <summary>The manifest's machine, when the service came from one.</summary>
    public string? Machine { get; init; }

    public string Branch { get; init; } = "main";

    /// <summary>The database whose newest snapshot is shown (null: the newest of any).</summary>
    public string? DbPath { get; init; }

    /// <summary>An HTTP health URL, checked from this machine; without one the unit's state is the check.</summary>
    public Uri? HealthUrl { get; init; }

    /// <summary>Fetches origin's branch on the host first (never while a deploy holds the service's lock).</summary>
    public bool Fetch { get; init; } = true;

    public TimeSpan FetchTimeout { get; init; } = DefaultFetchTimeout;

    /// <summary>Checks every value that reaches the host (throws <see cref="RemoteValueException"/>).</summary>
    public StatusRequest Validate()
    {
        RemoteValue.ServiceName(Service);
        RemoteValue.Branch(Branch);
        if (DbPath is not null)
        {
            RemoteValue.Path(DbPath, "database path");
        }

        if (HealthUrl is not null)
        {
            RemoteValue.HealthUrl(HealthUrl.OriginalString);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(FetchTimeout, TimeSpan.FromSeconds(1));
        return this;
    }
}

/// <summary>
/// Reads a service's status (<see cref="ServiceStatus"/>) with one command on its host, as the service's account:
/// <c>status.sh</c> (the deployed commit and subject, origin's branch fetched unless told not to, the unit's state, the
/// host history's newest records of the service), the lock's own read (<see cref="DeployLock.ReadCommand"/>) and the
/// snapshot listing (<see cref="RemoteSnapshotter.ListCommand"/>), joined into one round trip. The HTTP health check
/// runs from here meanwhile. Everything the host said is cleaned and redacted (<see cref="HostText"/>).
/// </summary>
public sealed class ServiceStatusReader
{
    /// <summary>The line between the lock's output and the snapshot listing (which comes last: a file name may hold a line break).</summary>
    internal const string SnapshotsMarker = "atelier-status snapshots";

    private const string Prefix = "atelier-status ";
    private static readonly Lazy<string> Script = new(() => EmbeddedScript.Read("Atelier.Status.status.sh"));
    private readonly HealthChecker _checker;
    private readonly IReporter _reporter;
    private readonly HostText _text;
    private readonly TimeProvider _time;

    /// <param name="health">The HTTP check's options (one try: its timeout is ignored).</param>
    public ServiceStatusReader(HealthOptions health, IReporter? reporter = null, HostText? text = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(health);
        _reporter = reporter ?? NullReporter.Instance;
        _text = text ?? HostText.Default;
        _time = time ?? TimeProvider.System;
        _checker = new HealthChecker(health with { Timeout = TimeSpan.Zero }, reporter, _time, _text);
    }

    /// <summary>The one command that reads everything of <paramref name="request"/>'s service on its host.</summary>
    public static ShellCommand Command(StatusRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var status = ShellCommand.Script(
            Script.Value,
            RemoteValue.ServiceName(request.Service),
            RemoteValue.Branch(request.Branch),
            request.Fetch ? "fetch" : "nofetch",
            ((int)Math.Ceiling(request.FetchTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
        return ShellCommand.Format($"{status}; {DeployLock.ReadCommand(request.Service)}; echo \"atelier-status lock-exit $?\"; echo {SnapshotsMarker}; {RemoteSnapshotter.ListCommand()}");
    }

    /// <summary>
    /// Reads the service's status over the host <paramref name="host"/> opens (the pooled connection), checking HTTP
    /// health from here at the same time.
    /// </summary>
    /// <exception cref="AtelierException"><c>ServiceStatusFailed</c>: the host ran the command but it did not report.</exception>
    /// <exception cref="HostConnectionException">The host could not be reached (and the others of its kind).</exception>
    public async Task<ServiceStatus> ReadAsync(StatusRequest request, Func<CancellationToken, Task<IRemoteHost>> host, CommandOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(host);
        var http = request.HealthUrl is null
            ? null
            : _checker.CheckAsync(new HealthCheck { Service = request.Service, ComputerName = request.ComputerName, HealthUrl = request.HealthUrl }, null, options, cancellationToken);
        IRemoteHost opened;
        CommandResult result;
        try
        {
            opened = await host(cancellationToken).ConfigureAwait(false);
            result = await opened.RunAsync(Command(request), options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (http is not null)
            {
                _ = http.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }

            throw;
        }

        if (!result.Output.Contains(Prefix + "now ", StringComparison.Ordinal))
        {
            throw new AtelierException("ServiceStatusFailed", FailureKind.OperationFailed, $"Reading the status of {request.Service} on {request.ComputerName} failed (exit code {result.ExitCode}):\n{result.Tail(10)}");
        }

        _reporter.Verbose(string.Create(CultureInfo.InvariantCulture, $"[{request.Service}@{request.ComputerName}] the status command ran {result.Duration.TotalMilliseconds:0} ms"));
        var health = http is null ? null : await http.ConfigureAwait(false);
        return Parse(request, opened.User, result.Output, health, _text, _time.GetUtcNow());
    }

    /// <summary>
    /// Reads every item's status, at most <paramref name="throttleLimit"/> at a time, the items of different hosts
    /// (<paramref name="hostOf"/>) interleaved so that every host is read from the start. Each outcome goes to
    /// <paramref name="onResult"/> or <paramref name="onError"/> in the order of <paramref name="items"/>, as soon as it
    /// and every one before it are done; one item's failure never stops the others.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task ReadAllAsync<T>(
        IReadOnlyList<T> items,
        int throttleLimit,
        Func<T, string> hostOf,
        Func<T, CancellationToken, Task<ServiceStatus>> read,
        Action<T, ServiceStatus> onResult,
        Action<T, Exception> onError,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(hostOf);
        return Throttled.ForEachAsync(items, throttleLimit, read, onResult, onError, Delivery.InOrder, cancellationToken, Throttled.Interleaved(items, hostOf, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The status that the output of <see cref="Command"/> describes. <paramref name="httpHealth"/> is the HTTP check's
    /// result (null: health is the unit's state as read); <paramref name="localNow"/> stands in for the host's clock when
    /// it did not say.
    /// </summary>
    public static ServiceStatus Parse(StatusRequest request, string user, string output, ServiceHealth? httpHealth, HostText text, DateTimeOffset localNow)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(text);
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var lockLines = new List<string>();
        var snapshotLines = new List<string>();
        var inSnapshots = false;
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (inSnapshots)
            {
                snapshotLines.Add(line);
            }
            else if (line == SnapshotsMarker)
            {
                inSnapshots = true;
            }
            else if (line.StartsWith("atelier-lock ", StringComparison.Ordinal))
            {
                lockLines.Add(line);
            }
            else if (line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                var rest = line[Prefix.Length..];
                var space = rest.IndexOf(' ', StringComparison.Ordinal);
                var key = space < 0 ? rest : rest[..space];
                var value = space < 0 ? string.Empty : rest[(space + 1)..];
                if (!values.TryGetValue(key, out var list))
                {
                    values[key] = list = [];
                }

                list.Add(value);
            }
        }

        string? One(string key) => values.TryGetValue(key, out var list) && list.Count > 0 ? list[0] : null;
        IReadOnlyList<string> All(string key) => values.TryGetValue(key, out var list) ? list : [];

        var problems = new List<string>();
        var hints = new Dictionary<int, Hint>();
        void Problem(string problem, Hint hint)
        {
            hints[problems.Count] = hint;
            problems.Add(problem);
        }

        var now = long.TryParse(One("now"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : localNow;

        // The code: the deployed commit, origin's and the counts between them.
        if (All("git-error") is { Count: > 0 } gitErrors)
        {
            problems.Add("~/app: " + string.Join(" ", gitErrors));
        }

        var head = Commit(One("head"));
        var origin = Commit(One("origin"));
        int? ahead = null, behind = null;
        if (One("counts") is { } counts)
        {
            var parts = counts.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var a)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var b))
            {
                (ahead, behind) = (a, b);
            }
        }

        var originRead = One("fetch") switch
        {
            "ok" => OriginRead.Fetched,
            "off" => OriginRead.NotFetched,
            "locked" => OriginRead.Locked,
            "failed" => OriginRead.FetchFailed,
            _ => null,
        };
        if (originRead == OriginRead.FetchFailed)
        {
            var why = string.Join(" ", All("fetch-error"));
            problems.Add($"fetching origin/{request.Branch} failed{(why.Length > 0 ? ": " + why : string.Empty)}; Behind is as the last fetch left it");
        }

        // The unit.
        var unitLines = All("unit");
        var unit = unitLines.Count > 0 ? SystemdProbe.ParseShow(string.Join('\n', unitLines)) : null;
        var unitValues = KeyValues(unitLines);
        var unitName = SystemdProbe.UnitName(request.Service);
        if (All("unit-error") is { Count: > 0 } unitErrors)
        {
            problems.Add($"systemctl show {unitName} failed: {string.Join(" ", unitErrors)}");
        }
        else if (unit is { LoadState: "not-found" })
        {
            problems.Add($"the host has no unit {unitName}");
        }

        var health = httpHealth ?? (unit?.ActiveState is not null
            ? SystemdProbe.OneRead(request.Service, request.ComputerName, unit, now)
            : new ServiceHealth
            {
                Service = request.Service,
                ComputerName = request.ComputerName,
                Method = SystemdProbe.MethodName,
                Status = HealthStatus.Down,
                Healthy = false,
                Tries = 1,
                Detail = $"systemctl show {unitName} gave no ActiveState",
                CheckedAt = now,
            });
        health.Clean(text);

        // The last deploy: the newest record of the service, as it stands.
        var records = new List<DeployRecord>();
        var skipped = 0;
        foreach (var line in All("history"))
        {
            if (DeployHistory.TryParseLine(line, out var record, out _) && record!.Service == request.Service)
            {
                records.Add(record);
            }
            else
            {
                skipped++;
            }
        }

        if (skipped > 0)
        {
            Problem($"{skipped} of the newest lines of {HostHistory.FilePath} are not deploy records", Hint.HostHistory);
        }

        var merged = DeployHistory.Merge(records);
        var last = DeployHistory.Filter(merged, last: 1) is [var newest] ? DeployHistory.Cleaned(newest, text) : null;

        // The lock.
        LockHolder? holder = null;
        if (One("lock-exit") is "0")
        {
            holder = DeployLock.ParseRead(request.Service, string.Join('\n', lockLines));
        }
        else
        {
            problems.Add($"the deploy lock of {request.Service} could not be read (exit code {One("lock-exit") ?? "?"})");
        }

        if (holder is not null)
        {
            holder = holder with
            {
                By = text.CleanOrNull(holder.By),
                Commit = text.CleanOrNull(holder.Commit),
                Step = text.CleanOrNull(holder.Step),
                Why = text.CleanOrNull(holder.Why),
                PreviousCommit = text.CleanOrNull(holder.PreviousCommit),
                SnapshotPath = text.CleanOrNull(holder.SnapshotPath),
            };
            if (holder.Alive == false)
            {
                Problem($"the deploy lock is held by {holder.Describe()}, which is dead ({holder.Why})", Hint.BreakPutsBack);
            }
        }
        else if (last is { IsUnfinished: true } && DeployHistory.Unfinished(merged) is not null)
        {
            Problem($"the {last.Operation.ToLowerInvariant()} started {Stamp(last.StartedAt)} by {last.By} never finished and no one holds the lock", Hint.RestoreUnfinished);
        }

        // The newest snapshot.
        var database = request.DbPath is null ? null : ServiceDbSnapshot.DatabaseName(request.DbPath);
        var snapshots = RemoteSnapshotter.ParseList(string.Join('\n', snapshotLines), request.Service, request.ComputerName, database);
        var latest = snapshots.Count > 0 ? snapshots[0] : null;

        return new ServiceStatus
        {
            Service = request.Service,
            Machine = request.Machine,
            ComputerName = request.ComputerName,
            User = user,
            Branch = request.Branch,
            HealthUrl = request.HealthUrl?.OriginalString,
            DbPath = request.DbPath,
            DeployedCommit = head,
            Subject = head is null ? null : text.CleanOrNull(One("subject")),
            OriginCommit = origin,
            Behind = behind,
            Ahead = ahead,
            Origin = head is null ? null : originRead,
            LoadState = unit?.LoadState,
            ActiveState = unit?.ActiveState,
            SubState = unit?.SubState,
            StartedAt = Timestamp(unitValues.GetValueOrDefault("ActiveEnterTimestamp")),
            NRestarts = unit?.NRestarts,
            MainPid = unit?.MainPid,
            InvocationId = unitValues.GetValueOrDefault("InvocationID") is { Length: > 0 } id ? text.Clean(id) : null,
            Health = health,
            LastDeploy = last,
            Lock = holder,
            LatestSnapshot = latest,
            SnapshotAge = latest is null ? null : now - latest.CreatedAt,
            CheckedAt = now,
            Problems = [.. problems.Select(text.Clean)],
            ProblemHints = [.. problems.Select((_, i) => hints.TryGetValue(i, out var hint) ? hint : (Hint?)null)],
        };
    }

    /// <summary>A full commit id as git prints it (40 or 64 hexadecimal digits), else null.</summary>
    private static string? Commit(string? value) =>
        value is { Length: 40 or 64 } && value.All(char.IsAsciiHexDigitLower) ? value : null;

    private static Dictionary<string, string> KeyValues(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
        }

        return values;
    }

    /// <summary>systemd's timestamp as <c>TZ=UTC LC_ALL=C systemctl show</c> prints it (<c>Tue 2026-12-01 11:09:12 UTC</c>); null when empty or other.</summary>
    internal static DateTimeOffset? Timestamp(string? value) =>
        DateTime.TryParseExact(value, "ddd yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? new DateTimeOffset(at, TimeSpan.Zero)
            : null;

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
