using System.Diagnostics;
using Atelier.Shell;
using Atelier.Tests.Health;
using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary>
/// Many commands at once over one real SSH connection (SSH.NET opens a channel per command on the one session), as the
/// services that share a connection and each deploy's heartbeat use it. Against the running test host.
/// </summary>
public sealed class SharedConnectionTestHostTests
{
    private static readonly CommandOptions Options = new() { Timeout = TimeSpan.FromSeconds(30) };

    [TestHostFact]
    public async Task Eight_commands_at_once_over_one_pooled_connection_each_get_their_own_output_and_exit_code()
    {
        var testHost = TestHostState.Load();
        var connects = 0;
        using var pool = new HostPool((request, token) =>
        {
            Interlocked.Increment(ref connects);
            return HostPool.ConnectAsync(request, token);
        });
        var request = testHost.DeployConnection();
        var stopwatch = Stopwatch.StartNew();

        var runs = Enumerable.Range(0, 8).Select(async i =>
        {
            var host = await pool.GetAsync(request, CancellationToken.None);
            return await host.RunAsync(ShellCommand.Format($"sleep 1; cd /tmp && echo run={i} dir=$(pwd); exit {i % 3}"), Options, CancellationToken.None);
        }).ToList();
        var results = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, connects);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"eight 1 s commands took {stopwatch.Elapsed.TotalSeconds:0.0} s: they did not run at once");
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal($"run={i} dir=/tmp", results[i].Output.Trim());
            Assert.Equal(i % 3, results[i].ExitCode);
        }

        // Each command has its own shell: a cd in one of them moved none of the others, nor the next one.
        var after = await (await pool.GetAsync(request, CancellationToken.None)).RunAsync(ShellCommand.Format($"pwd"), Options, CancellationToken.None);
        Assert.NotEqual("/tmp", after.Output.Trim());
    }
}
