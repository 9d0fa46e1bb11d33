using System.Globalization;

namespace Atelier.Health;

/// <summary>
/// How a service answered, in the classes the anchor's status page uses: 2xx is up (degraded when slower than a
/// threshold), 4xx misconfigured, 5xx degraded, no answer in time is a timeout, anything else (refused, DNS, TLS,
/// a unit that is not running) is down.
/// </summary>
public enum HealthStatus
{
    /// <summary>Answered as expected and in time (or, for systemd, active, running and not restarting).</summary>
    Up,

    /// <summary>Answered with a 5xx, or with the expected answer but slower than the threshold.</summary>
    Degraded,

    /// <summary>Answered with a 4xx, or with another status or content than expected.</summary>
    Misconfigured,

    /// <summary>No answer within the per-request timeout.</summary>
    Timeout,

    /// <summary>No answer at all: connection refused, name not resolved, TLS failure, unit not running.</summary>
    Down,
}

/// <summary>
/// The outcome of one service's health check: the last try's classification, how many tries it took, and, for an
/// unhealthy unit, its last journal lines. <c>Service</c>, <c>ComputerName</c> and <c>HealthUrl</c> bind by
/// property name into the next cmdlet.
/// </summary>
public sealed class ServiceHealth
{
    /// <summary>The service (its unit is <c>&lt;Service&gt;.service</c>).</summary>
    public required string Service { get; init; }

    /// <summary>The host the check was about, when one was given (or reached over SSH).</summary>
    public string? ComputerName { get; init; }

    /// <summary><c>http</c> or <c>systemd</c>.</summary>
    public required string Method { get; init; }

    /// <summary>The URL that was polled (HTTP checks).</summary>
    public string? HealthUrl { get; init; }

    public HealthStatus Status { get; init; }

    /// <summary>
    /// The expected status (and content) came back: true also for a slow but correct answer, whose
    /// <see cref="Status"/> is <see cref="HealthStatus.Degraded"/>.
    /// </summary>
    public bool Healthy { get; init; }

    /// <summary>The HTTP status code of the last try, or null when there was no answer.</summary>
    public int? StatusCode { get; init; }

    /// <summary>How long the last try took to answer, in milliseconds; null when it did not answer.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>How many tries the check took.</summary>
    public int Tries { get; internal set; }

    /// <summary>
    /// What the last try saw, in words. When the check ran out of time after several tries, it ends with how long the
    /// last answer had been given, e.g. <c>, for 6.0 s (14 tries)</c> (see <see cref="HealthPoller"/>).
    /// </summary>
    public string Detail { get; internal set; } = string.Empty;

    /// <summary>
    /// The try settled the check, whatever time is left: <see cref="HealthPoller"/> returns it at once instead of
    /// trying again (a unit that crashed cannot become healthy by waiting). A healthy result ends the check anyway.
    /// </summary>
    public bool Conclusive { get; init; }

    /// <summary>
    /// The check ended early, unhealthy, because systemd saw the unit exit, fail, restart or change its main process
    /// after the deploy's own restart (only checks given a <see cref="HealthCheck.Baseline"/> watch for this).
    /// <see cref="Detail"/> says what it saw; such a result is <see cref="HealthStatus.Down"/> and <see cref="Conclusive"/>.
    /// </summary>
    public bool UnitCrashed { get; init; }

    /// <summary>The unit's last journal lines when the check failed and the host could be reached; else empty.</summary>
#pragma warning disable CA1819 // An array binds and formats naturally in PowerShell; the result is a plain record.
    public string[] Journal { get; internal set; } = [];
#pragma warning restore CA1819

    /// <summary>When the last try finished.</summary>
    public DateTimeOffset CheckedAt { get; init; }

    /// <summary>systemd's <c>ActiveState</c> of the unit (systemd checks).</summary>
    public string? ActiveState { get; init; }

    /// <summary>systemd's <c>SubState</c> of the unit (systemd checks).</summary>
    public string? SubState { get; init; }

    /// <summary>How many times systemd restarted the unit by itself (<c>Restart=</c>), at the last try.</summary>
    public int? NRestarts { get; init; }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Service}: {Status}{(Healthy ? string.Empty : " (unhealthy)")} {Detail}").TrimEnd();

    /// <summary>Cleans and redacts what came from the host: the detail (an HTTP reason, systemctl's words) and the journal lines.</summary>
    internal void Clean(Output.HostText text)
    {
        Detail = text.Clean(Detail);
        Journal = text.Lines(Journal);
    }
}
