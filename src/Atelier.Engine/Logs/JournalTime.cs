using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Atelier.Shell;

namespace Atelier.Logs;

/// <summary>
/// A bound of a journal query (<c>journalctl --since</c> / <c>--until</c>), validated strictly here and given to
/// journalctl in one canonical form, quoted like any value:
/// <list type="bullet">
/// <item>a point in time: <c>yyyy-MM-dd</c>, optionally with <c>HH:mm</c>, <c>:ss</c>, up to 7 fractional digits and a
/// zone (<c>Z</c>, <c>UTC</c>, <c>+02:00</c>); without a zone it is this machine's local time. It goes to journalctl
/// in UTC (<c>2026-12-01 11:25:33.123456 UTC</c>), so the host's time zone does not matter;</item>
/// <item>a word journalctl knows: <c>now</c>, <c>today</c>, <c>yesterday</c>, <c>tomorrow</c> (the host's day);</item>
/// <item>a relative time: a signed span (<c>-1h</c>, <c>-1h 30min</c>, <c>+5m</c>) or a span followed by <c>ago</c> or
/// <c>left</c> (<c>10 min ago</c>), with systemd's units (us, ms, s, sec, m, min, h, hr, d, w, M, y and their long
/// forms). It goes to journalctl as a signed span without blanks (<c>-10min</c>), relative to the host's clock.</item>
/// </list>
/// Anything else is refused, naming what is accepted.
/// </summary>
public static partial class JournalTime
{
    /// <summary>Longest text accepted.</summary>
    public const int MaxLength = 64;

    private static readonly string[] Words = ["now", "today", "yesterday", "tomorrow"];

    // The long forms first, so that "min" is not read as "m" followed by "in".
    private const string Units = "usec|us|msec|ms|seconds|second|secs|sec|s|minutes|minute|min|m|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y";

    [GeneratedRegex(@"^(?<sign>[+-])?[ ]*(?<span>(?:[0-9]{1,9}(?:\.[0-9]{1,6})?[ ]*(?:" + Units + @")(?![A-Za-z])[ ]*)+)[ ]*(?<suffix>ago|left)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex RelativePattern();

    [GeneratedRegex(@"(?<n>[0-9]{1,9}(?:\.[0-9]{1,6})?)[ ]*(?<unit>" + Units + @")(?![A-Za-z])", RegexOptions.CultureInvariant)]
    private static partial Regex SpanPart();

    [GeneratedRegex(@"^(?<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T](?<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,7})?)?))?[ ]*(?<zone>Z|UTC|[+-][0-9]{2}:?[0-9]{2})?\z", RegexOptions.CultureInvariant)]
    private static partial Regex AbsolutePattern();

    /// <summary>The text journalctl is given for <paramref name="value"/>; refuses anything but the forms above.</summary>
    /// <exception cref="RemoteValueException">The value is none of the accepted forms.</exception>
    public static string Parse(string? value, string what = "time")
    {
        var text = RemoteValue.OneLineText(value, what, MaxLength).Trim();
        if (Words.Contains(text, StringComparer.Ordinal))
        {
            return text;
        }

        if (AbsolutePattern().Match(text) is { Success: true } absolute)
        {
            return FromTime(ParseAbsolute(absolute, text, what));
        }

        if (RelativePattern().Match(text) is { Success: true } relative)
        {
            var hasSign = relative.Groups["sign"].Success;
            var hasSuffix = relative.Groups["suffix"].Success;
            if (hasSign == hasSuffix)
            {
                throw Refused(what, text);
            }

            var sign = hasSign ? relative.Groups["sign"].Value : relative.Groups["suffix"].Value == "ago" ? "-" : "+";
            var span = new StringBuilder(sign);
            foreach (Match part in SpanPart().Matches(relative.Groups["span"].Value))
            {
                span.Append(part.Groups["n"].Value).Append(part.Groups["unit"].Value);
            }

            return span.ToString();
        }

        throw Refused(what, text);
    }

    /// <summary>A point in time as journalctl is given it: UTC, to the microsecond (<c>2026-12-01 11:25:33.123456 UTC</c>).</summary>
    public static string FromTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + " UTC";

    private static DateTimeOffset ParseAbsolute(Match match, string text, string what)
    {
        var zone = match.Groups["zone"].Value;
        var time = match.Groups["time"].Success ? match.Groups["time"].Value : "00:00";
        if (time.Length == 5)
        {
            time += ":00";
        }

        var offset = zone switch
        {
            "" => null,
            "Z" or "UTC" => "+00:00",
            _ when zone.Length == 5 => zone[..3] + ":" + zone[3..],
            _ => zone,
        };
        var candidate = match.Groups["date"].Value + "T" + time + (offset ?? string.Empty);
        var styles = offset is null ? DateTimeStyles.AssumeLocal : DateTimeStyles.None;
        if (!DateTimeOffset.TryParse(candidate, CultureInfo.InvariantCulture, styles, out var parsed))
        {
            throw new RemoteValueException(what, text, "it is not a valid date and time");
        }

        return parsed;
    }

    private static RemoteValueException Refused(string what, string text) =>
        new(what, text, "give a date and time (2026-12-01 13:45, 2026-12-01T13:45:00Z), now, today, yesterday, or a relative time (-1h, -1h 30min, 10 min ago)");
}
