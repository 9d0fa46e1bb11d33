using Atelier.Health;
using Atelier.Shell;

namespace Atelier.Tests.Health;

/// <summary>Reading systemctl's own output: unit state, the detail of an unhealthy unit, journal lines.</summary>
public sealed class SystemdProbeTests
{
    [Fact]
    public void Show_output_is_read_whatever_the_order_of_its_lines()
    {
        var state = SystemdProbe.ParseShow("NRestarts=5\nActiveState=activating\nMainPID=0\nSubState=auto-restart\nResult=exit-code\nExecMainStatus=1\nLoadState=loaded\n");
        Assert.Equal(new UnitState("loaded", "activating", "auto-restart", 5, "exit-code", "1", 0), state);
        Assert.False(state.IsRunning);
        Assert.True(SystemdProbe.ParseShow("ActiveState=active\nSubState=running\nNRestarts=0").IsRunning);
        Assert.Null(SystemdProbe.ParseShow("ActiveState=active\nNRestarts=\n").NRestarts);
        Assert.Equal(1234, SystemdProbe.ParseShow("MainPID=1234\r\nActiveState=active\r\n").MainPid);
        Assert.Null(SystemdProbe.ParseShow("ActiveState=active\nSubState=running\n").MainPid);
        Assert.Null(SystemdProbe.ParseShow("MainPID=\n").MainPid);
        Assert.Null(SystemdProbe.ParseShow("MainPID=-1\n").MainPid);
    }

    [Fact]
    public void The_detail_shows_the_states_and_how_NRestarts_grew()
    {
        var state = new UnitState("loaded", "activating", "auto-restart", 5, "exit-code", "1", 0);
        Assert.Equal("ActiveState=activating SubState=auto-restart NRestarts 3→5 Result=exit-code ExecMainStatus=1", SystemdProbe.Describe("flaky.service", state, 3));
        Assert.Equal("ActiveState=active SubState=running NRestarts=0", SystemdProbe.Describe("demo.service", new UnitState("loaded", "active", "running", 0, "success", "0", 1234), 0));
        Assert.Equal("unit nope.service not found (LoadState=not-found)", SystemdProbe.Describe("nope.service", new UnitState("not-found", "inactive", "dead", 0, "success", "0", 0), 0));
    }

    [Fact]
    public void The_commands_name_only_the_validated_unit()
    {
        Assert.Equal("systemctl show demo.service --property=LoadState,ActiveState,SubState,NRestarts,Result,ExecMainStatus,MainPID", SystemdProbe.ShowCommand("demo.service").Text);
        var journal = JournalReader.Commands("demo", 20).Select(c => c.Text).ToArray();
        Assert.Equal(
            ["journalctl -u demo.service -n 20 --no-pager -q", "sudo -n /run/current-system/sw/bin/systemctl status demo.service", "systemctl status demo.service -n 20 --no-pager"],
            journal);
        Assert.Throws<RemoteValueException>(() => SystemdProbe.UnitName("demo; reboot"));
        Assert.Throws<RemoteValueException>(() => JournalReader.Commands("$(id)", 20));
    }

    [Fact]
    public void The_journal_is_what_follows_the_first_blank_line_of_systemctl_status()
    {
        const string status = """
            × flaky.service - Crash-looping test service
                 Loaded: loaded (/etc/systemd/system/flaky.service; disabled; preset: enabled)
                 Active: activating (auto-restart) (Result: exit-code) since Wed 2025-11-26 20:00:00 UTC; 300ms ago
                Process: 123 ExecStart=/bin/sh -c 'echo flaky crashing; exit 1' (code=exited, status=1/FAILURE)

            Nov 26 20:00:00 atelier-test sh[123]: flaky crashing
            Nov 26 20:00:00 atelier-test systemd[1]: flaky.service: Main process exited, code=exited, status=1/FAILURE

            Hint: Some lines were ellipsized, use -l to show in full.
            """;
        Assert.Equal(
            ["Nov 26 20:00:00 atelier-test sh[123]: flaky crashing", "Nov 26 20:00:00 atelier-test systemd[1]: flaky.service: Main process exited, code=exited, status=1/FAILURE"],
            JournalReader.AfterFirstBlankLine(status));
        Assert.Empty(JournalReader.AfterFirstBlankLine("● demo.service\n   Active: active (running)\n"));
    }
}
