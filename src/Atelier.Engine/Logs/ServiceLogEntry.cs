namespace Atelier.Logs;

/// <summary>A journal entry's priority, as syslog numbers them (0 is the most severe).</summary>
public enum JournalPriority
{
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// <summary>
/// One line of a service's journal. Every text field is host text, cleaned and redacted (<see cref="Output.HostText"/>)
/// before it reaches this object. <c>Service</c> and <c>ComputerName</c> bind by property name into the next cmdlet.
/// </summary>
public sealed class ServiceLogEntry
{
    /// <summary>Where the line came from when it is from the journal itself.</summary>
    public const string FromJournal = "journal";

    /// <summary>Where the line came from when only <c>systemctl status</c> could be read.</summary>
    public const string FromStatus = "systemctl status";

    public required string Service { get; init; }

    public required string ComputerName { get; init; }

    /// <summary>When journald received it (UTC); null for a line of <c>systemctl status</c>, whose text holds its time.</summary>
    public DateTimeOffset? Time { get; init; }

    /// <summary>Its priority; null when the journal has none (or for a line of <c>systemctl status</c>).</summary>
    public JournalPriority? Priority { get; init; }

    /// <summary>Who wrote it: the syslog identifier (<c>bun</c>, <c>systemd</c>), else the process's command name.</summary>
    public string? Identifier { get; init; }

    /// <summary>The process that wrote it.</summary>
    public int? ProcessId { get; init; }

    /// <summary>The message (cleaned: terminal control removed, secrets as ***, no workflow command). May span lines.</summary>
    public required string Message { get; init; }

    /// <summary>The unit's invocation the line belongs to (one per start of the unit), where the journal has it.</summary>
    public string? InvocationId { get; init; }

    /// <summary><see cref="FromJournal"/>, or <see cref="FromStatus"/> when the journal was refused.</summary>
    public string Source { get; init; } = FromJournal;

    public override string ToString() => Time is { } time ? $"{time.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} {Identifier}[{ProcessId}]: {Message}" : Message;
}
