using System.Text.RegularExpressions;
using Atelier.Transport;

namespace Atelier.Health;

/// <summary>How to check and how long to wait: the same for every service of one invocation.</summary>
public sealed record HealthOptions
{
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan DefaultDegradedThreshold = TimeSpan.FromMilliseconds(3000);
    public static readonly TimeSpan DefaultSettle = TimeSpan.FromSeconds(2);

    /// <summary>The HTTP status codes that count as healthy; null or empty means any 2xx.</summary>
    public IReadOnlyList<int>? ExpectedStatus { get; init; }

    /// <summary>A pattern the response body must match (the body is read only when this is set).</summary>
    public Regex? ExpectContent { get; init; }

    /// <summary>Longest one try may take: an HTTP request, or one <c>systemctl</c> command.</summary>
    public TimeSpan RequestTimeout { get; init; } = DefaultRequestTimeout;

    /// <summary>Keep trying until healthy or this much time has passed; zero means exactly one try.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>An expected answer slower than this is healthy but <see cref="HealthStatus.Degraded"/>.</summary>
    public TimeSpan DegradedThreshold { get; init; } = DefaultDegradedThreshold;

    /// <summary>systemd: how long <c>NRestarts</c> must stay unchanged while the unit is active and running.</summary>
    public TimeSpan Settle { get; init; } = DefaultSettle;

    /// <summary>The waits between tries.</summary>
    public PollSchedule Schedule { get; init; } = PollSchedule.Default;

    /// <summary>How many journal lines an unhealthy result carries at most.</summary>
    public int JournalLines { get; init; } = 20;

    /// <summary>True when <paramref name="statusCode"/> is one of the expected codes (any 2xx by default).</summary>
    public bool IsExpectedStatus(int statusCode) =>
        ExpectedStatus is { Count: > 0 } expected ? expected.Contains(statusCode) : statusCode is >= 200 and <= 299;

    /// <summary>The expected codes in words, for details.</summary>
    public string ExpectedStatusText => ExpectedStatus is { Count: > 0 } expected ? string.Join(" or ", expected) : "2xx";

    /// <summary>
    /// <see cref="ExpectContent"/> for <paramref name="pattern"/>: a regular expression matched case-insensitively and
    /// culture-invariantly, each match given at most 2 seconds (a pathological pattern cannot hang a check).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="pattern"/> is not a valid regular expression.</exception>
    public static Regex ContentPattern(string pattern) =>
        new(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
}

/// <summary>One service to check: by HTTP when it has a URL, else its systemd unit on its host.</summary>
public sealed record HealthCheck
{
    public required string Service { get; init; }

    /// <summary>The host (for results; and for systemd checks and journals, where the connection goes).</summary>
    public string? ComputerName { get; init; }

    /// <summary>An absolute http or https URL, or null for a systemd check.</summary>
    public Uri? HealthUrl { get; init; }

    /// <summary>
    /// The unit's state read right after the deploy's own restart or start (<see cref="SystemdProbe.ShowCommand"/> read
    /// by <see cref="SystemdProbe.ParseShow"/>), or null. When set and the check has a host, the check watches the unit
    /// while it polls (<see cref="UnitWatch"/>) and ends at once, with <see cref="ServiceHealth.UnitCrashed"/>, when the
    /// unit exits, fails, is restarting or changes its main process after it; when null, no watch runs at all.
    /// </summary>
    public UnitState? Baseline { get; init; }

    /// <summary>
    /// The connection to the host, for <see cref="HealthChecker.CheckAllAsync"/> (which opens it through the caller's
    /// pool): needed by a systemd check, and used for the journal of an unhealthy HTTP check. Null: no host to reach, or
    /// the caller hands <see cref="HealthChecker.CheckAsync"/> its host itself.
    /// </summary>
    public HostConnectionRequest? Connection { get; init; }

    public string Method => HealthUrl is null ? SystemdProbe.MethodName : HttpProbe.MethodName;

    /// <summary>
    /// The check of <paramref name="service"/>: by HTTP at <paramref name="healthUrl"/> when there is one (without a
    /// service, the check is named after the URL's host), else of its systemd unit on <paramref name="computerName"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Neither a service nor a URL: there is nothing to check.</exception>
    /// <exception cref="AtelierException"><c>SystemdCheckNeedsHost</c>: a systemd check without a host.</exception>
    public static HealthCheck For(string? service, Uri? healthUrl, string? computerName)
    {
        var name = !string.IsNullOrEmpty(service) ? service : healthUrl?.Host
            ?? throw new ArgumentException("A check needs a service or a health URL.", nameof(service));
        if (healthUrl is null && string.IsNullOrEmpty(computerName))
        {
            throw HealthChecker.NeedsHost(name);
        }

        return new HealthCheck { Service = name, ComputerName = computerName, HealthUrl = healthUrl };
    }
}

/// <summary>
/// The waits between tries: <see cref="First"/>, then each one <see cref="Growth"/> times the last, never more than
/// <see cref="Max"/>. The default starts at 100 ms and reaches 2 s after eight tries, so a service that comes up is
/// noticed within a tenth of a second early on and within two seconds at worst.
/// </summary>
public sealed record PollSchedule(TimeSpan First, double Growth, TimeSpan Max)
{
    public static readonly PollSchedule Default = new(TimeSpan.FromMilliseconds(100), 1.5, TimeSpan.FromSeconds(2));

    /// <summary>The wait after <paramref name="current"/>.</summary>
    public TimeSpan Next(TimeSpan current)
    {
        var next = TimeSpan.FromTicks((long)(current.Ticks * Growth));
        return next > Max ? Max : next;
    }

    /// <summary>The first <paramref name="count"/> waits.</summary>
    public IEnumerable<TimeSpan> Take(int count)
    {
        var wait = First > Max ? Max : First;
        for (var i = 0; i < count; i++)
        {
            yield return wait;
            wait = Next(wait);
        }
    }
}
