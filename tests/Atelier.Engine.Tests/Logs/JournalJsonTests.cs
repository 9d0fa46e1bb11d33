using Atelier.Logs;
using Atelier.Output;

namespace Atelier.Tests.Logs;

/// <summary><see cref="JournalJson"/> on lines as journalctl 252 writes them with <c>-o json</c> (copied from a real host).</summary>
public sealed class JournalJsonTests
{
    private const string AppLine =
        """{"_STREAM_ID":"2b9a9c5f87ce4ef4b504e2b063d24d9a","SYSLOG_FACILITY":"3","MESSAGE":"sample-app listening on http://127.0.0.1:21922","_EXE":"/usr/local/bin/bun","SYSLOG_IDENTIFIER":"bun","_UID":"999","_SYSTEMD_UNIT":"demo.service","__REALTIME_TIMESTAMP":"1796124341977720","_SYSTEMD_INVOCATION_ID":"cc6572575cae44168b329fa2b509b0ef","_PID":"30","_TRANSPORT":"stdout","_COMM":"bun","PRIORITY":"6"}""";

    private const string SystemdLine =
        """{"_SYSTEMD_UNIT":"init.scope","INVOCATION_ID":"cc6572575cae44168b329fa2b509b0ef","_COMM":"systemd","PRIORITY":"6","SYSLOG_IDENTIFIER":"systemd","_PID":"1","__REALTIME_TIMESTAMP":"1796124341926526","MESSAGE":"Started demo.service - demo service (Atelier test host).","UNIT":"demo.service"}""";

    private static ServiceLogEntry? Parse(string line, HostText? text = null) => JournalJson.Parse(line, "demo", "host", text ?? HostText.Default);

    [Fact]
    public void An_apps_line_gives_time_priority_identifier_pid_message_and_invocation()
    {
        var entry = Parse(AppLine)!;

        Assert.Equal("demo", entry.Service);
        Assert.Equal("host", entry.ComputerName);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1796124341977).AddTicks(7200), entry.Time);
        Assert.Equal(TimeSpan.Zero, entry.Time!.Value.Offset);
        Assert.Equal(JournalPriority.Info, entry.Priority);
        Assert.Equal("bun", entry.Identifier);
        Assert.Equal(30, entry.ProcessId);
        Assert.Equal("sample-app listening on http://127.0.0.1:21922", entry.Message);
        Assert.Equal("cc6572575cae44168b329fa2b509b0ef", entry.InvocationId);
        Assert.Equal(ServiceLogEntry.FromJournal, entry.Source);
    }

    [Fact]
    public void Systemds_line_about_the_unit_carries_the_units_invocation_in_INVOCATION_ID()
    {
        var entry = Parse(SystemdLine)!;

        Assert.Equal("systemd", entry.Identifier);
        Assert.Equal(1, entry.ProcessId);
        Assert.Equal("cc6572575cae44168b329fa2b509b0ef", entry.InvocationId);
    }

    [Fact]
    public void A_message_written_as_bytes_is_decoded_and_cleaned_of_escapes_and_workflow_commands()
    {
        // "\e[31m::error::pwned\e[0m\n" as journalctl writes an unprintable value: an array of its bytes.
        var bytes = "\u001b[31m::error::pwned\u001b[0m"u8.ToArray();
        var line = $$"""{"MESSAGE":[{{string.Join(',', bytes)}}],"PRIORITY":"3","__REALTIME_TIMESTAMP":"1796124341977720"}""";

        var entry = Parse(line)!;

        Assert.Equal("\\::error::pwned", entry.Message);
        Assert.Equal(JournalPriority.Error, entry.Priority);
    }

    [Fact]
    public void Invalid_UTF8_bytes_become_replacement_characters()
    {
        var line = """{"MESSAGE":[104,105,255,254,33],"__REALTIME_TIMESTAMP":"1"}""";

        Assert.Equal("hi\ufffd\ufffd!", Parse(line)!.Message);
    }

    [Fact]
    public void A_field_repeated_in_one_entry_gives_its_first_value_string_or_bytes()
    {
        Assert.Equal("first", Parse("""{"MESSAGE":["first","second"]}""")!.Message);
        Assert.Equal("ab", Parse("""{"MESSAGE":[[97,98],"second"]}""")!.Message);
    }

    [Fact]
    public void A_message_too_long_to_show_is_said_so_and_a_missing_one_is_empty()
    {
        Assert.Equal("(message too long to show)", Parse("""{"MESSAGE":null,"PRIORITY":"6"}""")!.Message);
        Assert.Equal(string.Empty, Parse("""{"PRIORITY":"6"}""")!.Message);
    }

    [Fact]
    public void Missing_or_malformed_fields_are_null_not_failures()
    {
        var entry = Parse("""{"MESSAGE":"x","PRIORITY":"9","_PID":"-4","__REALTIME_TIMESTAMP":"soon","INVOCATION_ID":"not hex; rm -rf /"}""")!;

        Assert.Null(entry.Priority);
        Assert.Null(entry.ProcessId);
        Assert.Null(entry.Time);
        Assert.Null(entry.InvocationId);
        Assert.Null(entry.Identifier);
    }

    [Fact]
    public void The_command_name_stands_in_for_a_missing_identifier_and_SYSLOG_PID_for_PID()
    {
        var entry = Parse("""{"MESSAGE":"x","_COMM":"node","SYSLOG_PID":"77"}""")!;

        Assert.Equal("node", entry.Identifier);
        Assert.Equal(77, entry.ProcessId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-- No entries --")]
    [InlineData("Hint: You are currently not seeing messages from other users and the system.")]
    [InlineData("{\"MESSAGE\":\"cut sh")]
    [InlineData("[1,2,3]")]
    [InlineData("{ not json }")]
    public void A_line_that_is_not_a_JSON_entry_is_skipped(string line)
    {
        Assert.Null(Parse(line));
    }

    [Fact]
    public void Messages_are_redacted_and_a_trailing_newline_dropped_but_inner_lines_kept()
    {
        var text = new HostText(Redaction.BuiltIn.With(Redaction.Parse(["hunter2"])));

        var entry = Parse("""{"MESSAGE":"API_TOKEN=abc123 and hunter2\n::warning::x\n"}""", text)!;

        Assert.DoesNotContain("abc123", entry.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", entry.Message, StringComparison.Ordinal);
        Assert.Equal(2, entry.Message.Split('\n').Length);
        Assert.StartsWith("\\::warning::", entry.Message.Split('\n')[1], StringComparison.Ordinal);
    }
}
