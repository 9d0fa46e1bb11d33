using System.Diagnostics;
using System.Runtime.Versioning;
using Atelier.Deploy;
using Atelier.Shell;

namespace Atelier.Tests;

/// <summary>Steps run through a deploy lock as a dead client leaves them, and waits on what the guard does next.</summary>
[UnsupportedOSPlatform("windows")]
internal static class OrphanStep
{
    /// <summary>
    /// Starts <paramref name="command"/> as the step <paramref name="step"/> of <paramref name="lease"/> in a session of
    /// its own (as sshd runs each command), with HOME at <paramref name="home"/>, and lets it run on as if its client had died.
    /// </summary>
    public static Process Start(string home, DeployLock lease, string step, string command, params string[] notes)
    {
        var start = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var word in new[] { "env", $"HOME={home}", "/bin/sh", "-c", DeployLock.StepCommand(lease.Service, lease.Holder.Token!, step, notes, ShellCommand.Format($"/bin/sh -c {command}")).Text })
        {
            start.ArgumentList.Add(word);
        }

        return Process.Start(start)!;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, failing the test after <paramref name="seconds"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, int seconds = 30)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(seconds), "timed out waiting");
            await Task.Delay(50);
        }
    }
}
