using System.Globalization;

namespace Atelier.Manifest;

/// <summary>
/// Whether a machine's SSH server answered: TCP connected to its host and port and sent its identification line
/// (<c>SSH-2.0-...</c>) in time. <c>Machine</c> and <c>Host</c> bind by property name into the next cmdlet.
/// </summary>
public sealed class MachineStatus
{
    /// <summary>The machine (the manifest's name, or the host when it was given alone).</summary>
    public required string Machine { get; init; }

    /// <summary>The host name or address that was connected to.</summary>
    public required string Host { get; init; }

    /// <summary>The SSH port that was connected to.</summary>
    public int Port { get; init; }

    /// <summary>An SSH server answered with its identification line.</summary>
    public bool Online { get; init; }

    /// <summary>The SSH identification line (e.g. <c>SSH-2.0-OpenSSH_9.2p1 Debian-2</c>), when one came.</summary>
    public string? Banner { get; init; }

    /// <summary>Milliseconds from the start of the connect to the identification line; null when none came.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>Why the machine is not online, in words; null when it is.</summary>
    public string? Error { get; init; }

    /// <summary>When the probe finished.</summary>
    public DateTimeOffset CheckedAt { get; init; }

    public override string ToString() => Online
        ? string.Create(CultureInfo.InvariantCulture, $"{Machine} ({Host}:{Port}): online, {Banner}, {LatencyMs:0} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{Machine} ({Host}:{Port}): offline, {Error}");
}
