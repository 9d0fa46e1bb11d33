using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary>What a finished command reports: success, its tail, and the failure it raises.</summary>
public sealed class CommandResultTests
{
    [Fact]
    public void Tail_gives_the_last_non_empty_lines_of_output_then_error()
    {
        var result = new CommandResult("cmd", 1, "a\n\nb\nc\n", "  e1  \ne2\n", TimeSpan.Zero);

        Assert.Equal("b\nc\ne1\ne2", result.Tail(4));
        Assert.Equal("a\nb\nc\ne1\ne2", result.Tail());
    }

    [Fact]
    public void EnsureSuccess_returns_a_successful_result()
    {
        var result = new CommandResult("true", 0, string.Empty, string.Empty, TimeSpan.Zero);

        Assert.Same(result, result.EnsureSuccess("Doing it"));
    }

    [Fact]
    public void EnsureSuccess_throws_with_the_exit_code_and_the_tail()
    {
        var result = new CommandResult("false", 3, "step one\n", "it broke\n", TimeSpan.Zero);

        var ex = Assert.Throws<RemoteCommandException>(() => result.EnsureSuccess("Deploying web"));

        Assert.Same(result, ex.Result);
        Assert.Equal("Deploying web failed with exit code 3. Output:\nstep one\nit broke", ex.Message);
    }

    [Fact]
    public void EnsureSuccess_without_output_says_only_the_exit_code()
    {
        var ex = Assert.Throws<RemoteCommandException>(() => new CommandResult("false", 1, string.Empty, "\n", TimeSpan.Zero).EnsureSuccess("Stopping"));

        Assert.Equal("Stopping failed with exit code 1.", ex.Message);
    }
}
