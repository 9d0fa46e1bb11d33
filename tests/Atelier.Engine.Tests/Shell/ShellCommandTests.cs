using Atelier.Shell;

namespace Atelier.Tests.Shell;

/// <summary>Commands built by <see cref="ShellCommand"/>, run through a real <c>/bin/sh</c>.</summary>
public sealed class ShellCommandTests
{
    public static TheoryData<string> HostileStrings => QuotingTests.HostileStrings;

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void Format_quotes_each_string_hole(string hostile)
    {
        var command = ShellCommand.Format($"printf '[%s]' {hostile} {hostile}");

        var result = Sh.Run(command.Text);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"[{hostile}][{hostile}]", result.Output);
    }

    [Theory]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("`id`")]
    [InlineData("it's \"quoted\"")]
    [InlineData("a\nb")]
    [InlineData("*")]
    [InlineData("é日本🙂")]
    public void Format_echo_prints_the_hostile_string_and_runs_nothing_else(string hostile)
    {
        var command = ShellCommand.Format($"echo {hostile}");

        var result = Sh.Run(command.Text);

        Assert.Equal(hostile + "\n", result.Output);
    }

    [Fact]
    public void Format_writes_numbers_invariantly()
    {
        var command = ShellCommand.Format($"printf '%s %s' {-42} {long.MaxValue}");

        Assert.Equal("-42 9223372036854775807", Sh.Run(command.Text).Output);
    }

    [Fact]
    public void Format_keeps_a_RemotePath_hole_meaning_home()
    {
        using var home = new Transport.TempFolder();
        var command = ShellCommand.Format($"printf '%s|' {new RemotePath("~/data/x.db")} {new RemotePath("/srv/x.db")}");

        var result = Sh.Run(command.Text, environment: new Dictionary<string, string> { ["HOME"] = home.Path });

        Assert.Equal($"{home.Path}/data/x.db|/srv/x.db|", result.Output);
    }

    [Fact]
    public void A_RemotePath_refuses_a_hostile_path()
    {
        Assert.Throws<RemoteValueException>(() => new RemotePath("$(id)"));
    }

    [Fact]
    public void Format_inserts_a_nested_command_as_it_was_built()
    {
        var inner = ShellCommand.Format($"printf %s {"a b"}");
        var outer = ShellCommand.Format($"{inner} && printf %s {"$(id)"}");

        Assert.Equal("printf %s 'a b' && printf %s '$(id)'", outer.Text);
        Assert.Equal("a b$(id)", Sh.Run(outer.Text).Output);
    }

    [Fact]
    public void All_joins_with_and_so_it_stops_at_the_first_failure()
    {
        var command = ShellCommand.All([ShellCommand.Format($"printf a"), ShellCommand.Format($"false"), ShellCommand.Format($"printf b")]);

        var result = Sh.Run(command.Text);

        Assert.Equal("printf a && false && printf b", command.Text);
        Assert.Equal("a", result.Output);
        Assert.Equal(1, result.ExitCode);
    }

    [Fact]
    public void ToString_is_the_command_text()
    {
        var command = ShellCommand.Format($"echo {"x y"}");

        Assert.Equal(command.Text, command.ToString());
    }

    [Fact]
    public void Script_passes_each_argument_as_an_exact_positional_parameter()
    {
        string[] arguments = ["a'b \"c\" $(id) `id`", "line1\nline2\n", "*; rm -rf ~ \\ é日本"];
        const string script = "printf '<%s>' \"$0\" \"$1\" \"$2\" \"$3\"; printf '#%s' \"$#\"";

        var result = Sh.Run(ShellCommand.Script(script, arguments).Text);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"<atelier><{arguments[0]}><{arguments[1]}><{arguments[2]}>#3", result.Output);
    }

    [Fact]
    public void Script_keeps_empty_arguments()
    {
        var result = Sh.Run(ShellCommand.Script("printf '<%s>' \"$@\"; printf '#%s' \"$#\"", string.Empty, "x", string.Empty).Text);

        Assert.Equal("<><x><>#3", result.Output);
    }

    [Fact]
    public void Script_runs_a_script_holding_quotes_and_newlines_unchanged()
    {
        const string script = "set -eu\n# it's a comment with 'quotes'\nx='single'\ny=\"double $x\"\nprintf '%s\\n' \"$y\" \"$1\"\n";

        var result = Sh.Run(ShellCommand.Script(script, "it's").Text);

        Assert.Equal("double single\nit's\n", result.Output);
    }
}
