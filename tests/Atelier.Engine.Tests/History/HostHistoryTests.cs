using System.Runtime.Versioning;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;
using Atelier.Transport;

namespace Atelier.Tests.History;

/// <summary>
/// The host's deploy history, <c>~/.atelier/deploys.jsonl</c>, written and read by the real append script and
/// <c>cat</c> under <c>/bin/sh</c>, with HOME pointed at a temp service home.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class HostHistoryTests : IDisposable
{
    private static readonly CommandOptions Options = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly TempFolder _folder = new();
    private readonly RecordingReporter _reporter = new();

    public HostHistoryTests() => Directory.CreateDirectory(Home);

    private string Home => _folder.Combine("home");

    private string FilePath => Path.Combine(Home, ".atelier", "deploys.jsonl");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void The_append_command_is_sh_c_with_the_script_and_the_line_as_one_quoted_argument()
    {
        var record = Records.HostileRecord(0);

        var text = HostHistory.AppendCommand(record).Text;

        Assert.StartsWith("sh -c '# Appends one deploy record", text, StringComparison.Ordinal);
        Assert.EndsWith("' atelier '" + DeployHistory.ToJsonLine(record) + "'", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', DeployHistory.ToJsonLine(record));
    }

    [Fact]
    public async Task Hostile_strings_in_every_field_come_back_verbatim_one_line_per_record()
    {
        using var host = new HomeHost(Home);
        var history = new HostHistory(host, _reporter, Options);
        var written = Enumerable.Range(0, Records.Hostile.Length).Select(Records.HostileRecord).ToList();

        foreach (var record in written)
        {
            await history.AppendAsync(record);
        }

        var read = await history.ReadAsync();

        Assert.Equal(written.Count, File.ReadAllLines(FilePath).Length);
        Assert.EndsWith("\n", File.ReadAllText(FilePath), StringComparison.Ordinal);
        Assert.Equal(written.Count, read.Count);
        foreach (var (expected, actual) in written.AsEnumerable().Reverse().Zip(read))
        {
            Records.AssertSame(expected, actual);
        }

        Assert.Contains("abc1234 subject with a\nnewline", read[0].Commits);
        Assert.Empty(_reporter.Warnings);
    }

    [Fact]
    public async Task The_folder_is_0700_and_the_file_0600_even_when_the_folder_was_open()
    {
        Directory.CreateDirectory(Path.Combine(Home, ".atelier"));
        File.SetUnixFileMode(Path.Combine(Home, ".atelier"), (UnixFileMode)Convert.ToInt32("755", 8));
        using var host = new HomeHost(Home);

        await new HostHistory(host, _reporter, Options).AppendAsync(Records.Deploy());

        Assert.Equal((UnixFileMode)Convert.ToInt32("700", 8), File.GetUnixFileMode(Path.Combine(Home, ".atelier")));
        Assert.Equal((UnixFileMode)Convert.ToInt32("600", 8), File.GetUnixFileMode(FilePath));
    }

    [Fact]
    public async Task Reading_a_host_with_no_history_gives_nothing()
    {
        using var host = new HomeHost(Home);

        var read = await new HostHistory(host, _reporter, Options).ReadAsync();

        Assert.Empty(read);
        Assert.Empty(_reporter.Warnings);
        Assert.False(Directory.Exists(Path.Combine(Home, ".atelier")));
    }

    [Fact]
    public async Task Filters_keep_the_service_the_status_and_the_last_newest_first()
    {
        using var host = new HomeHost(Home);
        var history = new HostHistory(host, _reporter, Options);
        // Written out of time order: the order read back is by start time, not by line.
        var a = Records.Deploy("web", DeployStatus.Succeeded, minutes: 10);
        var b = Records.Deploy("web", DeployStatus.RolledBack, minutes: 30);
        var c = Records.Deploy("api", DeployStatus.Succeeded, minutes: 20);
        var d = Records.Deploy("web", DeployStatus.Succeeded, minutes: 40);
        var e = Records.Deploy("web", DeployStatus.Failed, minutes: 5);
        foreach (var record in new[] { a, b, c, d, e })
        {
            await history.AppendAsync(record);
        }

        Assert.Equal([d.Id, b.Id, c.Id, a.Id, e.Id], (await history.ReadAsync()).Select(r => r.Id));
        Assert.Equal([d.Id, b.Id, a.Id, e.Id], (await history.ReadAsync(service: "web")).Select(r => r.Id));
        Assert.Equal([d.Id, a.Id], (await history.ReadAsync(service: "web", status: "succeeded")).Select(r => r.Id));
        Assert.Equal([d.Id, b.Id], (await history.ReadAsync(service: "web", last: 2)).Select(r => r.Id));
        Assert.Equal([c.Id], (await history.ReadAsync(status: DeployStatus.Succeeded, service: "api", last: 5)).Select(r => r.Id));
        Assert.Empty(await history.ReadAsync(service: "WEB"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => history.ReadAsync(last: 0));
    }

    [Fact]
    public async Task A_line_written_with_the_former_status_NoChange_reads_back_Unchanged_and_either_name_finds_it()
    {
        using var host = new HomeHost(Home);
        var history = new HostHistory(host, _reporter, Options);
        var succeeded = Records.Deploy("web", DeployStatus.Succeeded, minutes: 10);
        var unchanged = Records.Deploy("web", DeployStatus.Unchanged, minutes: 20);
        await history.AppendAsync(succeeded);
        File.AppendAllText(FilePath, Records.OldNoChangeLine + "\n");
        await history.AppendAsync(unchanged);

        var read = await history.ReadAsync();

        Assert.Equal([Records.OldNoChangeId, unchanged.Id, succeeded.Id], read.Select(r => r.Id));
        Assert.Equal(DeployStatus.Unchanged, read[0].Status);
        Assert.True(DeployHistory.TryParseLine(Records.OldNoChangeLine, out var parsed, out _));
        Assert.Equal(DeployStatus.Unchanged, parsed!.Status);
        Assert.Equal([Records.OldNoChangeId, unchanged.Id], (await history.ReadAsync(status: DeployStatus.Unchanged)).Select(r => r.Id));
        Assert.Equal([Records.OldNoChangeId, unchanged.Id], (await history.ReadAsync(status: DeployStatus.NoChange)).Select(r => r.Id));
        Assert.Equal([Records.OldNoChangeId, unchanged.Id], (await history.ReadAsync(status: "nochange")).Select(r => r.Id));
        Assert.Equal([succeeded.Id], (await history.ReadAsync(status: DeployStatus.Succeeded)).Select(r => r.Id));
        Assert.Empty(_reporter.Warnings);
        Assert.Contains("\"status\":\"NoChange\"", File.ReadAllText(FilePath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Records_started_at_the_same_time_read_back_latest_written_first()
    {
        using var host = new HomeHost(Home);
        var history = new HostHistory(host, _reporter, Options);
        var first = Records.Deploy(minutes: 1);
        var second = Records.Deploy(minutes: 1);

        await history.AppendAsync(first);
        await history.AppendAsync(second);

        Assert.Equal([second.Id, first.Id], (await history.ReadAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task A_corrupt_line_is_skipped_with_a_warning_and_the_rest_is_read()
    {
        using var host = new HomeHost(Home);
        var history = new HostHistory(host, _reporter, Options);
        var before = Records.Deploy(minutes: 1);
        var after = Records.Deploy(minutes: 2);
        var valid = Records.Deploy(minutes: 3);
        await history.AppendAsync(before);
        File.AppendAllText(FilePath, "{\"hello\":\"not a record\"}\n");
        // A writer killed mid-line: no newline at the end. The next append must not be glued to it.
        File.AppendAllText(FilePath, DeployHistory.ToJsonLine(valid)[..40]);

        await history.AppendAsync(after);
        var read = await history.ReadAsync();

        Assert.Equal(4, File.ReadAllLines(FilePath).Length);
        Assert.Equal([after.Id, before.Id], read.Select(r => r.Id));
        Assert.Equal(2, _reporter.Warnings.Count);
        Assert.Contains("skipped line 2 of ~/.atelier/deploys.jsonl", _reporter.Warnings[0], StringComparison.Ordinal);
        Assert.Contains("skipped line 3 of ~/.atelier/deploys.jsonl", _reporter.Warnings[1], StringComparison.Ordinal);
        Assert.StartsWith("localhost: ", _reporter.Warnings[0], StringComparison.Ordinal);
    }

    [Fact]
    public Task Twenty_concurrent_appends_leave_twenty_whole_lines_with_flock() => Concurrent_appends(path: null);

    [Fact]
    public Task Twenty_concurrent_appends_leave_twenty_whole_lines_with_the_mkdir_lock() => Concurrent_appends(PathWithoutFlock());

    [Fact]
    public async Task A_record_too_long_for_one_argument_keeps_its_first_commits_and_says_how_many_more()
    {
        using var host = new HomeHost(Home);
        var history = new HostHistory(host, _reporter, Options);
        var big = Records.Deploy();
        var record = new DeployRecord
        {
            Id = big.Id,
            Service = big.Service,
            ComputerName = big.ComputerName,
            Operation = big.Operation,
            Status = big.Status,
            StartedAt = big.StartedAt,
            Commits = [.. Enumerable.Range(0, 5000).Select(i => $"{i:x7} A commit subject of some length, number {i}")],
            Error = new string('e', 100_000) + "the end",
        };

        await history.AppendAsync(record);
        var read = Assert.Single(await history.ReadAsync());

        Assert.True(File.ReadAllText(FilePath).Length <= HostHistory.MaxLineLength + 1);
        Assert.Equal(record.Commits[0], read.Commits[0]);
        Assert.Matches("^\\.\\.\\. [0-9]+ more commits$", read.Commits[^1]);
        Assert.EndsWith("the end", read.Error, StringComparison.Ordinal);
    }

    private async Task Concurrent_appends(string? path)
    {
        // Records over 4 KiB: a single append(2) of them is no longer guaranteed whole without the lock.
        var records = Enumerable.Range(0, 20).Select(i => Records.Deploy(minutes: i, error: new string((char)('a' + i), 8000))).ToList();

        await Task.WhenAll(records.Select(async record =>
        {
            using var host = new HomeHost(Home, path);
            await new HostHistory(host, _reporter, Options).AppendAsync(record);
        }));

        var lines = File.ReadAllLines(FilePath);
        Assert.Equal(20, lines.Length);
        Assert.All(lines, line => Assert.True(DeployHistory.TryParseLine(line, out _, out var problem), problem));
        using var reader = new HomeHost(Home, path);
        var read = await new HostHistory(reader, _reporter, Options).ReadAsync();
        Assert.Equal(records.Select(r => r.Id).Reverse(), read.Select(r => r.Id));
        Assert.All(read, r => Assert.Equal(8000, r.Error!.Length));
        Assert.Empty(_reporter.Warnings);
        Assert.False(Directory.Exists(FilePath + ".lock"));
    }

    /// <summary>A PATH with the tools the script uses but no flock, so it takes the mkdir lock.</summary>
    private string PathWithoutFlock()
    {
        var bin = _folder.Combine("bin");
        Directory.CreateDirectory(bin);
        foreach (var tool in new[] { "sh", "env", "mkdir", "rmdir", "chmod", "tail", "sleep", "cat" })
        {
            File.CreateSymbolicLink(Path.Combine(bin, tool), Sh.Run($"command -v {tool}").Output.Trim());
        }

        Assert.NotEqual(0, Sh.Run("command -v flock", environment: new Dictionary<string, string> { ["PATH"] = bin }).ExitCode);
        return bin;
    }
}
