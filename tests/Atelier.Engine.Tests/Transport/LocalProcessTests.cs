using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary>
/// <see cref="LocalProcess"/>, the one local-process runner, with real processes: streaming, outputs kept whole or as
/// lines, exit codes, standard input, the time limit and cancellation (the whole tree, and a session's group), a missing
/// program.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class LocalProcessTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Lines_of_both_outputs_are_streamed_in_the_order_they_come_while_it_still_runs()
    {
        var gate = _folder.Combine("gate");
        var lines = new ConcurrentQueue<OutputLine>();
        var run = Sh($"echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; while [ ! -e {gate} ]; do sleep 0.02; done; echo four >&2", start => start with { OnLine = lines.Enqueue });

        await Eventually(() => lines.Count == 3);
        Assert.False(run.IsCompleted);
        await File.WriteAllTextAsync(gate, string.Empty);
        var result = await run.WaitAsync(Generous);

        Assert.Equal([new("one", false), new("two", true), new("three", false), new("four", true)], lines);
        Assert.Equal("one\nthree\n", result.Output);
        Assert.Equal("two\nfour\n", result.Error);
    }

    [Fact]
    public async Task Kept_output_is_exact_unless_read_line_by_line()
    {
        const string Script = "printf 'a\\r\\nb\\0c'; printf 'e' >&2";

        var whole = await Sh(Script);
        var lines = await Sh(Script, start => start with { LineByLine = true });
        var streamed = await Sh(Script, start => start with { OnLine = _ => { }, KeepOutput = false });

        Assert.Equal("a\r\nb\0c", whole.Output);
        Assert.Equal("e", whole.Error);
        Assert.Equal("a\nb\0c\n", lines.Output);
        Assert.Equal("e\n", lines.Error);
        Assert.Equal(string.Empty, streamed.Output);
        Assert.Equal("e\n", streamed.Error);
    }

    [Theory]
    [InlineData("exit 0", 0)]
    [InlineData("exit 3", 3)]
    [InlineData("exit 255", 255)]
    [InlineData("kill -KILL $$", 137)]
    public async Task The_exit_code_is_returned_not_thrown(string script, int code)
    {
        var result = await Sh(script);

        Assert.False(result.TimedOut);
        Assert.Equal(code, result.ExitCode);
    }

    [Fact]
    public async Task Arguments_working_folder_and_environment_reach_the_program_as_given()
    {
        Environment.SetEnvironmentVariable("ATELIER_TEST_REMOVED", "still here");
        using var restore = new Restore(() => Environment.SetEnvironmentVariable("ATELIER_TEST_REMOVED", null));
        var result = await LocalProcess.RunAsync(
            new LocalProcessStart
            {
                Program = "/bin/sh",
                Arguments = ["-c", "printf '%s|' \"$@\"; echo \"$PWD ${ATELIER_TEST_ADDED} ${ATELIER_TEST_REMOVED:-gone}\"", "sh", "a b", "$(x)", "'q'"],
                WorkingDirectory = _folder.Path,
                Environment = new Dictionary<string, string?> { ["ATELIER_TEST_ADDED"] = "x y", ["ATELIER_TEST_REMOVED"] = null },
            },
            CancellationToken.None);

        Assert.Equal($"a b|$(x)|'q'|{_folder.Path} x y gone\n", result.Output);
    }

    [Fact]
    public async Task Standard_input_is_given_whole_or_closed_at_once()
    {
        var text = "héllo\n" + new string('x', 1 << 20) + "\nend";

        var echoed = await Sh("cat", start => start with { StandardInput = text });
        var counted = await Sh("wc -c", start => start with { StandardInput = text });
        var ignored = await Sh("exit 0", start => start with { StandardInput = text });
        var closed = await Sh("cat; echo done").WaitAsync(Generous);

        Assert.Equal(text, echoed.Output);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), int.Parse(counted.Output.Trim(), CultureInfo.InvariantCulture));
        Assert.Equal(0, ignored.ExitCode);
        Assert.Equal("done\n", closed.Output);
    }

    [Fact]
    public async Task At_the_time_limit_a_child_and_the_grandchild_it_started_are_killed()
    {
        var child = _folder.Combine("child.pid");
        var grandchild = _folder.Combine("grandchild.pid");
        var script = $"echo before; sh -c 'sleep 300 & echo $! > {grandchild}; wait' & echo $! > {child}; wait; echo after";
        var watch = Stopwatch.StartNew();

        var result = await Sh(script, start => start with { Timeout = TimeSpan.FromMilliseconds(700) });

        Assert.True(result.TimedOut);
        Assert.Equal(-1, result.ExitCode);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(600), Generous);
        Assert.Equal("before\n", result.Output);
        await GoneAsync(Pid(child));
        await GoneAsync(Pid(grandchild));
    }

    [Atelier.Tests.Snapshot.RequiresToolFact("setsid")]
    public async Task In_a_session_of_its_own_an_orphan_holding_the_output_is_killed_with_the_group()
    {
        var orphan = _folder.Combine("orphan.pid");
        // The subshell ends at once: its sleep belongs to no one's tree, yet holds standard output open.
        var script = $"(sleep 300 & echo $! > {orphan}); echo started";

        var result = await Sh(script, start => start with { NewSession = true, Timeout = TimeSpan.FromMilliseconds(700) }).WaitAsync(Generous);

        Assert.True(result.TimedOut);
        Assert.Equal("started\n", result.Output);
        await GoneAsync(Pid(orphan));
    }

    [Fact]
    public async Task Cancelling_kills_the_tree_and_throws()
    {
        var grandchild = _folder.Combine("grandchild.pid");
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = new CancellationTokenSource();
        var run = LocalProcess.RunAsync(
            new LocalProcessStart { Program = "/bin/sh", Arguments = ["-c", $"sh -c 'sleep 300 & echo $! > {grandchild}; echo started; wait' & wait"], OnLine = _ => started.TrySetResult() },
            cancel.Token);

        await started.Task.WaitAsync(Generous);
        var pid = Pid(grandchild);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Generous));
        await GoneAsync(pid);
    }

    [Fact]
    public async Task An_already_cancelled_token_starts_nothing()
    {
        var marker = _folder.Combine("ran");
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            LocalProcess.RunAsync(new LocalProcessStart { Program = "/bin/sh", Arguments = ["-c", $"touch {marker}"] }, cancel.Token));
        await Task.Delay(200);
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_missing_program_is_a_clear_error(bool newSession)
    {
        var byName = await Assert.ThrowsAsync<ProgramStartException>(() =>
            LocalProcess.RunAsync(new LocalProcessStart { Program = "atelier-no-such-program", NewSession = newSession }, CancellationToken.None));
        var byPath = await Assert.ThrowsAsync<ProgramStartException>(() =>
            LocalProcess.RunAsync(new LocalProcessStart { Program = _folder.Combine("missing"), NewSession = newSession }, CancellationToken.None));

        Assert.Equal("ProgramNotFound", byName.ErrorId);
        Assert.Equal(FailureKind.NotInstalled, byName.Kind);
        Assert.Equal("Could not start atelier-no-such-program: there is no such program on PATH.", byName.Message);
        Assert.Equal("ProgramNotFound", byPath.ErrorId);
        Assert.Equal($"Could not start {_folder.Combine("missing")}: there is no such program.", byPath.Message);
    }

    [Fact]
    public async Task A_missing_working_folder_or_a_file_that_cannot_run_is_said_as_such()
    {
        var plain = _folder.Write("plain", "not a program");

        var folder = await Assert.ThrowsAsync<ProgramStartException>(() =>
            LocalProcess.RunAsync(new LocalProcessStart { Program = "/bin/sh", WorkingDirectory = _folder.Combine("nowhere") }, CancellationToken.None));
        var refused = await Assert.ThrowsAsync<ProgramStartException>(() =>
            LocalProcess.RunAsync(new LocalProcessStart { Program = plain }, CancellationToken.None));

        Assert.Equal("ProgramNotStarted", folder.ErrorId);
        Assert.Equal($"Could not start /bin/sh: its working folder {_folder.Combine("nowhere")} does not exist.", folder.Message);
        Assert.Equal("ProgramNotStarted", refused.ErrorId);
        Assert.StartsWith($"Could not start {plain}: ", refused.Message, StringComparison.Ordinal);
    }

    private static Task<LocalProcessResult> Sh(string script, Func<LocalProcessStart, LocalProcessStart>? with = null)
    {
        var start = new LocalProcessStart { Program = "/bin/sh", Arguments = ["-c", script], Timeout = TimeSpan.FromSeconds(30) };
        return LocalProcess.RunAsync(with is null ? start : with(start), CancellationToken.None);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    private static int Pid(string file) => int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);

    private static async Task GoneAsync(int pid)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (Directory.Exists($"/proc/{pid}") && !IsZombie(pid))
        {
            Assert.True(DateTime.UtcNow < deadline, $"process {pid} still runs");
            await Task.Delay(25);
        }
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for a condition.");
            await Task.Delay(10);
        }
    }
}
