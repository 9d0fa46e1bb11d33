using System.Diagnostics;
using System.Runtime.Versioning;
using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary>Programs run on this machine (git, nix): argument lists, outputs, time limits, the PATH search.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class LocalProgramTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Arguments_reach_the_program_verbatim_and_both_outputs_and_the_exit_code_come_back()
    {
        var result = await LocalProgram.RunAsync("/bin/sh", ["-c", "printf '%s|' \"$@\"; echo oops >&2; exit 3", "sh", "a b", "$(x)", "'q'"], _folder.Path, TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.False(result.TimedOut);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("a b|$(x)|'q'|", result.Output);
        Assert.Equal("oops\n", result.Error);
    }

    [Fact]
    public async Task The_environment_given_is_added_and_the_working_folder_used()
    {
        var result = await LocalProgram.RunAsync("/bin/sh", ["-c", "echo \"$GREETING\"; pwd"], _folder.Path, TimeSpan.FromSeconds(10), CancellationToken.None,
            new Dictionary<string, string> { ["GREETING"] = "hello" });

        Assert.Equal($"hello\n{_folder.Path}\n", result.Output);
    }

    [Fact]
    public async Task At_the_time_limit_the_whole_process_tree_is_killed()
    {
        var marker = _folder.Combine("child.pid");
        var watch = Stopwatch.StartNew();

        var result = await LocalProgram.RunAsync("/bin/sh", ["-c", $"sleep 30 & echo $! > {marker}; wait"], _folder.Path, TimeSpan.FromMilliseconds(500), CancellationToken.None);

        Assert.True(result.TimedOut);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
        var child = int.Parse(File.ReadAllText(marker).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await WaitGoneAsync(child);
    }

    [Fact]
    public async Task Cancellation_kills_the_program_and_throws()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            LocalProgram.RunAsync("/bin/sleep", ["30"], _folder.Path, TimeSpan.FromMinutes(1), cancel.Token));
    }

    [Fact]
    public void FindOnPath_takes_the_first_executable_file_of_that_name()
    {
        var plain = _folder.Write("one/tool", "not executable");
        var runnable = _folder.Write("two/tool", "#!/bin/sh\n");
        File.SetUnixFileMode(runnable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = string.Join(Path.PathSeparator, Path.GetDirectoryName(plain), Path.GetDirectoryName(runnable));

        Assert.Equal(runnable, LocalProgram.FindOnPath("tool", path));
        Assert.Null(LocalProgram.FindOnPath("nothing-by-this-name", path));
        Assert.Null(LocalProgram.FindOnPath("tool", string.Empty));
    }

    private static async Task WaitGoneAsync(int pid)
    {
        for (var i = 0; i < 100; i++)
        {
            if (!Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z")
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"process {pid} still runs after the time limit");
    }
}
