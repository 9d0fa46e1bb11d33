using Atelier.Logs;
using Atelier.Shell;

namespace Atelier.Tests.Logs;

/// <summary><see cref="JournalTime"/>: the forms journalctl takes for --since/--until, and nothing else.</summary>
public sealed class JournalTimeTests
{
    [Theory]
    [InlineData("now", "now")]
    [InlineData("today", "today")]
    [InlineData("yesterday", "yesterday")]
    [InlineData("-1h", "-1h")]
    [InlineData("-1h 30min", "-1h30min")]
    [InlineData("-1h30min", "-1h30min")]
    [InlineData("+5m", "+5m")]
    [InlineData("10 min ago", "-10min")]
    [InlineData("10min ago", "-10min")]
    [InlineData("2 days ago", "-2days")]
    [InlineData("1 month ago", "-1month")]
    [InlineData("3 weeks left", "+3weeks")]
    [InlineData("-1.5h", "-1.5h")]
    [InlineData("-250ms", "-250ms")]
    [InlineData("-2M", "-2M")]
    [InlineData("  -1h  ", "-1h")]
    [InlineData(" now ", "now")]
    public void Relative_times_and_words_go_to_journalctl_in_one_canonical_form(string given, string expected)
    {
        Assert.Equal(expected, JournalTime.Parse(given));
    }

    [Theory]
    [InlineData("2026-12-01T11:25:33Z", "2026-12-01 11:25:33.000000 UTC")]
    [InlineData("2026-12-01 11:25:33 UTC", "2026-12-01 11:25:33.000000 UTC")]
    [InlineData("2026-12-01T13:25:33+02:00", "2026-12-01 11:25:33.000000 UTC")]
    [InlineData("2026-12-01T13:25:33+0200", "2026-12-01 11:25:33.000000 UTC")]
    [InlineData("2026-12-01T11:25:33.1234567+00:00", "2026-12-01 11:25:33.123456 UTC")]
    [InlineData("2026-12-01 11:25Z", "2026-12-01 11:25:00.000000 UTC")]
    public void Points_in_time_go_to_journalctl_in_UTC_to_the_microsecond(string given, string expected)
    {
        Assert.Equal(expected, JournalTime.Parse(given));
    }

    [Fact]
    public void A_time_without_a_zone_is_this_machines_local_time()
    {
        var local = new DateTimeOffset(new DateTime(2026, 12, 1, 11, 25, 0, DateTimeKind.Local));

        Assert.Equal(JournalTime.FromTime(local), JournalTime.Parse("2026-12-01 11:25"));
        Assert.Equal(JournalTime.FromTime(new DateTimeOffset(new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Local))), JournalTime.Parse("2026-12-01"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("bogus")]
    [InlineData("1h")]                 // neither sign nor ago/left: journalctl refuses it too
    [InlineData("-1h ago")]            // both
    [InlineData("-5")]                 // no unit
    [InlineData("-1 fortnight")]
    [InlineData("-1h; touch /tmp/x")]
    [InlineData("$(touch /tmp/x)")]
    [InlineData("`id`")]
    [InlineData("-1h\n")]
    [InlineData("-1h\u0000")]
    [InlineData("2026-13-01")]
    [InlineData("2026-02-30 10:00")]
    [InlineData("2026-12-01 25:00")]
    [InlineData("12/01/2026")]
    [InlineData("--since=-1h")]
    [InlineData("-١h")]                // an Arabic-Indic digit is not a digit here
    public void Anything_else_is_refused_naming_the_accepted_forms(string given)
    {
        var refused = Assert.Throws<RemoteValueException>(() => JournalTime.Parse(given, "-Since time"));
        Assert.Contains("-Since time", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_longer_than_the_limit_is_refused_with_its_length()
    {
        var refused = Assert.Throws<RemoteValueException>(() => JournalTime.Parse("-" + string.Concat(Enumerable.Repeat("1h", 40))));

        Assert.Contains($"at most {JournalTime.MaxLength}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromTime_is_UTC_whatever_the_offset()
    {
        Assert.Equal("2026-12-01 09:00:00.000001 UTC", JournalTime.FromTime(new DateTimeOffset(2026, 12, 1, 11, 0, 0, TimeSpan.FromHours(2)).AddTicks(10)));
    }
}
