using Atelier.Exec;
using Atelier.Shell;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Exec;

/// <summary>
/// The remote command of <see cref="ServiceCommandRequest"/>, run by a real <c>/bin/sh</c> in a stand-in home with an
/// <c>app</c> folder: it runs in the work folder, and each word of an argument list arrives as it was given.
/// </summary>
public sealed class ServiceCommandRequestTests : IDisposable
{
    private const string Canary = "/tmp/atelier-exec-canary";
    private readonly TempFolder _home = new();

    public ServiceCommandRequestTests()
    {
        Directory.CreateDirectory(_home.Combine("app", "web"));
        File.Delete(Canary);
    }

    public void Dispose()
    {
        _home.Dispose();
        File.Delete(Canary);
    }

    public static TheoryData<string> HostileStrings => QuotingTests.HostileStrings;

    private ProcessOutput Run(ShellCommand command) =>
        Sh.Run(command.Text, environment: new Dictionary<string, string> { ["HOME"] = _home.Path });

    [Fact]
    public void A_command_line_runs_with_sh_c_in_the_work_folder()
    {
        var command = new ServiceCommandRequest { Service = "demo", Command = "pwd; echo \"$0\" | wc -c >/dev/null && echo ok", WorkDir = "web" }.Build();

        var result = Run(command);

        Assert.Equal($"cd \"$HOME\"/app/web && sh -c 'pwd; echo \"$0\" | wc -c >/dev/null && echo ok'", command.Text);
        Assert.Equal($"{_home.Combine("app", "web")}\nok\n", result.Output);
    }

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void Each_argument_arrives_as_given_and_runs_nothing(string hostile)
    {
        if (RemoteValue.IndexOfControl(hostile) >= 0)
        {
            Assert.Throws<RemoteValueException>(() => new ServiceCommandRequest { Service = "demo", ArgumentList = ["printf", "[%s]", hostile] }.Build());
            return;
        }

        var command = new ServiceCommandRequest { Service = "demo", ArgumentList = ["printf", "[%s]", hostile, $"x; touch {Canary}", $"$(touch {Canary})"] }.Build();

        var result = Run(command);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"[{hostile}][x; touch {Canary}][$(touch {Canary})]", result.Output);
        Assert.False(File.Exists(Canary));
    }

    [Fact]
    public void The_exit_code_is_the_commands()
    {
        Assert.Equal(7, Run(new ServiceCommandRequest { Service = "demo", Command = "exit 7" }.Build()).ExitCode);
        Assert.Equal(3, Run(new ServiceCommandRequest { Service = "demo", ArgumentList = ["sh", "-c", "exit 3"] }.Build()).ExitCode);
    }

    [Fact]
    public void The_program_is_quoted_too_so_a_hostile_one_is_just_a_missing_program()
    {
        var result = Run(new ServiceCommandRequest { Service = "demo", ArgumentList = [$"true; touch {Canary}"] }.Build());

        Assert.Equal(127, result.ExitCode);
        Assert.False(File.Exists(Canary));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("echo", new[] { "echo" })]
    public void Exactly_one_of_command_and_argument_list(string? command, string[]? arguments)
    {
        Assert.Throws<ArgumentException>(() => new ServiceCommandRequest { Service = "demo", Command = command, ArgumentList = arguments }.Validate());
    }

    [Fact]
    public void Bad_values_are_refused_before_any_command_is_built()
    {
        Assert.Throws<RemoteValueException>(() => new ServiceCommandRequest { Service = "demo", Command = "echo a\necho b" }.Build());
        Assert.Throws<RemoteValueException>(() => new ServiceCommandRequest { Service = "demo", Command = new string('x', ServiceCommandRequest.MaxCommandLength + 1) }.Build());
        Assert.Throws<RemoteValueException>(() => new ServiceCommandRequest { Service = "demo", Command = "true", WorkDir = "../other" }.Build());
        Assert.Throws<RemoteValueException>(() => new ServiceCommandRequest { Service = "demo", ArgumentList = [] }.Build());
        Assert.Throws<RemoteValueException>(() => new ServiceCommandRequest { Service = "demo", ArgumentList = [""] }.Build());
        Assert.Throws<RemoteValueException>(() => new ServiceCommandRequest { Service = "demo", ArgumentList = ["echo", new string('a', RemoteValue.MaxArgumentLength + 1)] }.Build());
        Assert.Throws<RemoteValueException>(() => new ServiceCommandRequest { Service = "Demo", Command = "true" }.Build());
    }

    [Fact]
    public void An_empty_argument_stays_an_argument()
    {
        var result = Run(new ServiceCommandRequest { Service = "demo", ArgumentList = ["printf", "[%s]", "", "b"] }.Build());

        Assert.Equal("[][b]", result.Output);
    }
}
