using System.Collections.Concurrent;
using System.Diagnostics;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary><see cref="LocalHost"/> running real <c>/bin/sh</c> commands.</summary>
public sealed class LocalHostTests : IDisposable
{
    private static readonly CommandOptions Quick = new() { Timeout = TimeSpan.FromSeconds(20) };
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private readonly LocalHost _host = new();
    private readonly TempFolder _folder = new();

    public void Dispose()
    {
        _host.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public void It_names_this_machine_and_the_current_user()
    {
        Assert.Equal("localhost", _host.ComputerName);
        Assert.Equal(Environment.UserName, _host.User);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(255)]
    public async Task The_exit_code_is_returned_not_thrown(int code)
    {
        var result = await _host.RunAsync(ShellCommand.Format($"echo out; echo err >&2; exit {code}"), Quick, CancellationToken.None);

        Assert.Equal(code, result.ExitCode);
        Assert.Equal(code == 0, result.Succeeded);
        Assert.Equal("out\n", result.Output);
        Assert.Equal("err\n", result.Error);
        Assert.Equal("echo out; echo err >&2; exit " + code, result.CommandText);
    }

    [Fact]
    public async Task A_command_killed_by_a_signal_reports_a_failing_exit_code()
    {
        var result = await _host.RunAsync(ShellCommand.Format($"kill -KILL $$"), Quick, CancellationToken.None);

        Assert.False(result.Succeeded);
    }

    [Fact]
    public async Task Lines_reach_OnLine_in_order_with_IsError_set_for_standard_error()
    {
        var lines = new ConcurrentQueue<OutputLine>();
        var options = Quick with { OnLine = lines.Enqueue };

        var result = await _host.RunAsync(ShellCommand.Format($"for i in 1 2 3 4 5 6 7 8 9 10; do echo out$i; echo err$i >&2; done"), options, CancellationToken.None);

        var expectedOut = Enumerable.Range(1, 10).Select(i => $"out{i}").ToList();
        var expectedErr = Enumerable.Range(1, 10).Select(i => $"err{i}").ToList();
        Assert.Equal(expectedOut, lines.Where(l => !l.IsError).Select(l => l.Text));
        Assert.Equal(expectedErr, lines.Where(l => l.IsError).Select(l => l.Text));
        Assert.Equal(string.Concat(expectedOut.Select(l => l + "\n")), result.Output);
        Assert.Equal(string.Concat(expectedErr.Select(l => l + "\n")), result.Error);
    }

    [Fact]
    public async Task Lines_are_streamed_while_the_command_still_runs()
    {
        var gate = _folder.Combine("gate");
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new ConcurrentQueue<string>();
        var options = Quick with
        {
            OnLine = l =>
            {
                lines.Enqueue(l.Text);
                if (l.Text == "first")
                {
                    first.TrySetResult();
                }
            },
        };

        var run = _host.RunAsync(ShellCommand.Format($"echo first; while [ ! -e {gate} ]; do sleep 0.02; done; echo second"), options, CancellationToken.None);
        await first.Task.WaitAsync(Generous);

        Assert.False(run.IsCompleted);
        await File.WriteAllTextAsync(gate, string.Empty);
        var result = await run.WaitAsync(Generous);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["first", "second"], lines);
    }

    [Fact]
    public async Task Standard_input_is_closed_so_a_reader_does_not_wait()
    {
        var result = await _host.RunAsync(ShellCommand.Format($"cat; echo done"), Quick, CancellationToken.None).WaitAsync(Generous);

        Assert.Equal("done\n", result.Output);
    }

    [Fact]
    public async Task Commands_run_in_the_home_folder()
    {
        var result = await _host.RunAsync(ShellCommand.Format($"pwd"), Quick, CancellationToken.None);

        Assert.Equal(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + "\n", result.Output);
    }

    [Fact]
    public async Task Duration_is_measured()
    {
        var result = await _host.RunAsync(ShellCommand.Format($"sleep 0.2"), Quick, CancellationToken.None);

        Assert.InRange(result.Duration, TimeSpan.FromMilliseconds(150), Generous);
    }

    [Fact]
    public async Task A_command_past_its_timeout_throws_and_leaves_no_process_behind()
    {
        var sleep = ProcessTable.UniqueSleep();
        var command = ShellCommand.Format($"echo before; {sleep}; echo after");
        var options = Quick with { Timeout = TimeSpan.FromMilliseconds(700) };
        var seen = ProcessTable.EventuallyAsync(() => ProcessTable.Find(sleep.Text).Count > 0, Generous);
        var watch = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<RemoteCommandTimeoutException>(() => _host.RunAsync(command, options, CancellationToken.None));

        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(500), Generous);
        Assert.Equal(options.Timeout, ex.Timeout);
        Assert.Equal(command.Text, ex.CommandText);
        Assert.Contains("before", ex.PartialOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("after", ex.PartialOutput, StringComparison.Ordinal);
        Assert.True(await seen, "the sleep never started");
        Assert.True(await ProcessTable.EventuallyAsync(() => ProcessTable.Find(sleep.Text).Count == 0, Generous), $"'{sleep.Text}' is still running");
    }

    [Fact]
    public async Task A_timeout_stops_the_whole_process_tree()
    {
        var first = ProcessTable.UniqueSleep();
        var second = ProcessTable.UniqueSleep();
        var command = ShellCommand.Format($"{first} & (echo nested; {second}) & wait");
        var options = Quick with { Timeout = TimeSpan.FromMilliseconds(700) };
        var seen = ProcessTable.EventuallyAsync(() => ProcessTable.Find(first.Text).Count > 0 && ProcessTable.Find(second.Text).Count > 0, Generous);

        await Assert.ThrowsAsync<RemoteCommandTimeoutException>(() => _host.RunAsync(command, options, CancellationToken.None));

        Assert.True(await seen, "the sleeps never started");

        Assert.True(await ProcessTable.EventuallyAsync(() => ProcessTable.Find(first.Text).Count + ProcessTable.Find(second.Text).Count == 0, Generous), "a child is still running");
    }

    [Fact]
    public async Task Cancelling_throws_OperationCanceledException_and_stops_the_process_tree()
    {
        var sleep = ProcessTable.UniqueSleep();
        using var cancel = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = Quick with { OnLine = l => started.TrySetResult() };
        var command = ShellCommand.Format($"echo started; ({sleep}); echo after");

        var run = _host.RunAsync(command, options, cancel.Token);
        await started.Task.WaitAsync(Generous);
        Assert.True(await ProcessTable.EventuallyAsync(() => ProcessTable.Find(sleep.Text).Count > 0, Generous), "the sleep never started");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Generous));
        Assert.True(await ProcessTable.EventuallyAsync(() => ProcessTable.Find(sleep.Text).Count == 0, Generous), $"'{sleep.Text}' is still running");
    }

    [Fact]
    public async Task An_already_cancelled_token_stops_the_command_at_once()
    {
        var sleep = ProcessTable.UniqueSleep();
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _host.RunAsync(sleep, Quick, cancel.Token).WaitAsync(Generous));
        Assert.True(await ProcessTable.EventuallyAsync(() => ProcessTable.Find(sleep.Text).Count == 0, Generous), $"'{sleep.Text}' is still running");
    }

    [Fact]
    public async Task DownloadAsync_copies_a_file_by_absolute_path()
    {
        var source = _folder.Write("remote/data.bin", "payload");
        var target = _folder.Combine("local.bin");

        await _host.DownloadAsync(source, target, CancellationToken.None);

        Assert.Equal("payload", await File.ReadAllTextAsync(target));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task DownloadAsync_creates_the_copy_0600_whatever_the_source_s_mode()
    {
        var source = _folder.Write("remote/data.bin", "payload");
        File.SetUnixFileMode(source, (UnixFileMode)Convert.ToInt32("644", 8));
        var target = _folder.Combine("local.bin");

        await _host.DownloadAsync(source, target, CancellationToken.None);

        Assert.Equal(PrivateFile.Mode, File.GetUnixFileMode(target));
    }

    [Fact]
    public async Task DownloadAsync_does_not_overwrite_an_existing_file()
    {
        var source = _folder.Write("remote/data.bin", "new");
        var target = _folder.Write("local.bin", "old");

        await Assert.ThrowsAsync<IOException>(() => _host.DownloadAsync(source, target, CancellationToken.None));
        Assert.Equal("old", await File.ReadAllTextAsync(target));
    }

    [Theory]
    [InlineData("$(id)")]
    [InlineData("~user/x")]
    [InlineData("-rf")]
    public async Task DownloadAsync_refuses_a_hostile_path(string path)
    {
        await Assert.ThrowsAsync<RemoteValueException>(() => _host.DownloadAsync(path, _folder.Combine("x"), CancellationToken.None));
    }
}
