using Atelier.Logs;
using Atelier.Shell;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Logs;

/// <summary>
/// The journalctl command lines <see cref="JournalCommands"/> builds, run by a real <c>/bin/sh</c> against a stand-in
/// journalctl that prints each argument it receives: what reaches journalctl is exactly one argument per option.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class JournalCommandsTests : IDisposable
{
    private readonly TempFolder _bin = new();

    public JournalCommandsTests()
    {
        Infra.DeployRsRunnerTests.Script(_bin, "journalctl", "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n");
    }

    public void Dispose() => _bin.Dispose();

    private string[] Arguments(ShellCommand command)
    {
        var result = Sh.Run(command.Text, environment: new Dictionary<string, string> { ["PATH"] = _bin.Path + ":/usr/bin:/bin" });
        Assert.Equal(0, result.ExitCode);
        return result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void By_default_the_last_100_lines_of_the_unit_as_JSON()
    {
        var arguments = Arguments(JournalCommands.Read(new ServiceLogQuery { Service = "demo" }));

        Assert.Equal(["[-u]", "[demo.service]", "[-o]", "[json]", "[--all]", "[--no-pager]", "[--lines=100]"], arguments);
    }

    [Theory]
    [InlineData("x; touch /tmp/atelier-grep-canary")]
    [InlineData("$(touch /tmp/atelier-grep-canary)")]
    [InlineData("`touch /tmp/atelier-grep-canary`")]
    [InlineData("it's \"quoted\" | and > redirected")]
    [InlineData("-oProxyCommand=x")]
    [InlineData("^a.*[b]{2,}\\d$")]
    [InlineData("${IFS}*?")]
    public void A_hostile_pattern_reaches_journalctl_as_one_argument_and_runs_nothing(string grep)
    {
        var arguments = Arguments(JournalCommands.Read(new ServiceLogQuery { Service = "demo", Grep = grep, Priority = JournalPriority.Warning, Last = 5 }));

        Assert.Contains($"[--grep={grep}]", arguments);
        Assert.Contains("[--priority=4]", arguments);
        Assert.DoesNotContain(arguments, a => a.StartsWith("[--lines", StringComparison.Ordinal)); // journalctl 252 reverses them
        Assert.False(File.Exists("/tmp/atelier-grep-canary"));
    }

    [Fact]
    public void A_window_goes_as_canonical_times_and_its_last_lines_are_kept_here_not_by_journalctl()
    {
        var query = new ServiceLogQuery { Service = "demo", Since = "10 min ago", Until = "2026-12-01T11:00:00Z", Last = 3 };

        var arguments = Arguments(JournalCommands.Read(query));

        Assert.Contains("[--since=-10min]", arguments);
        Assert.Contains("[--until=2026-12-01 11:00:00.000000 UTC]", arguments);
        Assert.DoesNotContain(arguments, a => a.StartsWith("[--lines", StringComparison.Ordinal));
        Assert.False(JournalCommands.PassesLines(query, withGrep: true));
    }

    [Fact]
    public void Without_PCRE2_the_pattern_is_left_out_and_so_is_the_count()
    {
        var query = new ServiceLogQuery { Service = "demo", Grep = "boom", Last = 3 };

        var arguments = Arguments(JournalCommands.Read(query, withGrep: false));

        Assert.DoesNotContain(arguments, a => a.StartsWith("[--grep", StringComparison.Ordinal) || a.StartsWith("[--lines", StringComparison.Ordinal));
        Assert.False(JournalCommands.PassesLines(query, withGrep: false));
    }

    [Fact]
    public void Follow_starts_with_journalctls_ten_lines_then_follows()
    {
        var arguments = Arguments(JournalCommands.Read(new ServiceLogQuery { Service = "demo", Follow = true }));

        Assert.Contains("[--lines=10]", arguments);
        Assert.Equal("[--follow]", arguments[^1]);
    }

    [Fact]
    public void Follow_takes_no_until_and_a_bad_value_is_refused_before_any_command()
    {
        Assert.Throws<ArgumentException>(() => new ServiceLogQuery { Service = "demo", Follow = true, Until = "now" }.Validate());
        Assert.Throws<RemoteValueException>(() => JournalCommands.Read(new ServiceLogQuery { Service = "demo; id" }));
        Assert.Throws<RemoteValueException>(() => JournalCommands.Read(new ServiceLogQuery { Service = "demo", Grep = "a\nb" }));
        Assert.Throws<RemoteValueException>(() => JournalCommands.Read(new ServiceLogQuery { Service = "demo", Since = "-1h; id" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceLogQuery { Service = "demo", Last = 0 }.Validate());
    }

    [Theory]
    [InlineData("No journal files were opened due to insufficient permissions.", true)]
    [InlineData("Hint: You are currently not seeing messages from other users and the system.\nUsers in groups 'adm', 'systemd-journal' can see all messages.", true)]
    [InlineData("Bad pattern \"(\": missing closing parenthesis", false)]
    [InlineData("", false)]
    public void A_refused_journal_is_told_from_other_failures(string error, bool refused)
    {
        Assert.Equal(refused, JournalCommands.IsRefusal(error));
    }

    [Fact]
    public void The_fallback_is_the_status_the_sudo_rule_allows()
    {
        Assert.Equal("sudo -n /run/current-system/sw/bin/systemctl status demo.service", JournalCommands.Status(new ServiceLogQuery { Service = "demo" }).Text);
    }
}
