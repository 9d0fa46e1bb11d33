using System.Globalization;
using System.Text;
using System.Text.Json;
using Atelier.Output;

namespace Atelier.Logs;

/// <summary>
/// Reads <c>journalctl -o json</c>: one JSON object per line, every field a string, except that journalctl writes a
/// value that is not printable UTF-8 (terminal escapes, other control characters, invalid UTF-8) as an array of its
/// bytes, a value too long to show as null (without <c>--all</c>), and a field the entry has more than once as an
/// array of such values.
/// </summary>
public static class JournalJson
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>
    /// The entry one line of <c>journalctl -o json</c> holds, its text cleaned by <paramref name="text"/>; null for a
    /// line that is not a JSON object (journalctl's own notices, a line cut short).
    /// </summary>
    public static ServiceLogEntry? Parse(string line, string service, string computerName, HostText text)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(text);
        if (!line.TrimStart().StartsWith('{'))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var message = Field(root, "MESSAGE");
            var invocation = Field(root, "INVOCATION_ID") ?? Field(root, "_SYSTEMD_INVOCATION_ID");
            return new ServiceLogEntry
            {
                Service = service,
                ComputerName = computerName,
                Time = Microseconds(Field(root, "__REALTIME_TIMESTAMP")) is { } us ? DateTimeOffset.UnixEpoch.AddTicks(us * 10) : null,
                Priority = int.TryParse(Field(root, "PRIORITY"), NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is >= 0 and <= 7 ? (JournalPriority)p : null,
                Identifier = text.CleanOrNull(Field(root, "SYSLOG_IDENTIFIER") ?? Field(root, "_COMM")),
                ProcessId = int.TryParse(Field(root, "_PID") ?? Field(root, "SYSLOG_PID"), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null,
                Message = message is null ? (HasField(root, "MESSAGE") ? "(message too long to show)" : string.Empty) : text.Clean(message.TrimEnd('\n')),
                InvocationId = invocation is not null && IsHex(invocation) ? invocation : null,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// A field's value as text: a string as it is, an array of bytes decoded as UTF-8 (an invalid byte becomes U+FFFD),
    /// the first of several values; null when the entry lacks it or journalctl left it out (null).
    /// </summary>
    public static string? Field(JsonElement entry, string name)
    {
        if (!entry.TryGetProperty(name, out var value))
        {
            return null;
        }

        return Value(value, nested: false);
    }

    private static bool HasField(JsonElement entry, string name) => entry.TryGetProperty(name, out _);

    private static string? Value(JsonElement value, bool nested)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString();
            case JsonValueKind.Number:
                return value.GetRawText();
            case JsonValueKind.Array:
                var length = value.GetArrayLength();
                if (length == 0)
                {
                    return string.Empty;
                }

                if (value[0].ValueKind == JsonValueKind.Number)
                {
                    var bytes = new byte[length];
                    var i = 0;
                    foreach (var b in value.EnumerateArray())
                    {
                        if (b.ValueKind != JsonValueKind.Number || !b.TryGetByte(out bytes[i++]))
                        {
                            return null;
                        }
                    }

                    return Utf8.GetString(bytes);
                }

                // A field repeated in one entry: its first value.
                return nested ? null : Value(value[0], nested: true);
            default:
                return null;
        }
    }

    private static long? Microseconds(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var us) && us is > 0 and < 253402300799999999 ? us : null;

    private static bool IsHex(string value) => value.Length is > 0 and <= 64 && value.All(char.IsAsciiHexDigit);
}
