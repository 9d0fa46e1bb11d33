using System.Collections.Concurrent;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary><see cref="CommandOptions.KeepOutput"/> on a real local command: lines streamed, standard output not kept.</summary>
public sealed class KeepOutputTests
{
    [Fact]
    public async Task Without_KeepOutput_every_line_is_streamed_and_only_standard_error_is_kept()
    {
        using var host = new LocalHost();
        var lines = new ConcurrentQueue<OutputLine>();

        var result = await host.RunAsync(
            ShellCommand.Format($"echo one; echo two; echo oops >&2"),
            new CommandOptions { KeepOutput = false, OnLine = lines.Enqueue },
            CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Output);
        Assert.Equal("oops\n", result.Error);
        Assert.Equal(["one", "two"], lines.Where(l => !l.IsError).Select(l => l.Text));
        Assert.Contains(lines, l => l.IsError && l.Text == "oops");
    }

    [Fact]
    public async Task By_default_standard_output_is_kept_too()
    {
        using var host = new LocalHost();

        var result = await host.RunAsync(ShellCommand.Format($"echo one"), new CommandOptions(), CancellationToken.None);

        Assert.Equal("one\n", result.Output);
    }
}
