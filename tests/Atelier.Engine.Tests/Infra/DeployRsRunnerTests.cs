using System.Diagnostics;
using System.Globalization;
using Atelier.Infra;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Infra;

/// <summary>The runner with real short-lived processes: bash scripts standing in for deploy-rs.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DeployRsRunnerTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Writes an executable bash script and returns its path.</summary>
    internal static string Script(TempFolder folder, string name, string body)
    {
        var path = folder.Write(name, "#!/usr/bin/env bash\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task Each_line_reaches_the_reporter_as_it_comes_prefixed_with_the_node()
    {
        var marker = _folder.Combine("go");
        var script = Script(_folder, "deploy", $"""
            echo "🚀 ℹ️ [deploy] [INFO] Evaluating flake in ."
            while [ ! -e {marker} ]; do sleep 0.05; done
            echo "[deploy] [INFO] Deployment confirmed." >&2
            """);
        var reporter = new RecordingReporter();
        var run = new DeployRsRunner(reporter).RunAsync(new DeployRsInvocation("terebithia", [script, "--skip-checks", ".#terebithia"]), CancellationToken.None);

        // The first line arrives while the process still runs (it waits for the marker).
        await WaitForAsync(() => reporter.Verboses.Contains("[terebithia] 🚀 ℹ️ [deploy] [INFO] Evaluating flake in ."));
        Assert.False(run.IsCompleted);
        await File.WriteAllTextAsync(marker, string.Empty);
        var outcome = await run;

        Assert.True(outcome.Succeeded);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal(["🚀 ℹ️ [deploy] [INFO] Evaluating flake in .", "[deploy] [INFO] Deployment confirmed."], outcome.Log);
        Assert.Equal($"[terebithia] running: {script} --skip-checks '.#terebithia'", reporter.Verboses[0]);
        Assert.Contains("[terebithia] [deploy] [INFO] Deployment confirmed.", reporter.Verboses);
    }

    [Fact]
    public async Task Each_line_is_cleaned_and_redacted_before_it_is_shown_or_kept()
    {
        var script = Script(_folder, "deploy", """
            printf '\033[32m[activate] [INFO]\033[0m key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n'
            printf '::set-output name=a::b\nAPI_TOKEN=hunter2secret site-value-42\n' >&2
            """);
        var reporter = new RecordingReporter();

        var outcome = await new DeployRsRunner(reporter, new Atelier.Output.HostText(Atelier.Output.Redaction.Parse(["site-value-42"])))
            .RunAsync(new DeployRsInvocation("a", [script]), CancellationToken.None);

        // Standard output and error come through two readers: only each one's own order is fixed.
        var key = outcome.Log.Where(l => !l.Contains("::", StringComparison.Ordinal) && !l.StartsWith("API_", StringComparison.Ordinal));
        Assert.Equal(["[activate] [INFO] key: -----BEGIN OPENSSH PRIVATE KEY-----", "***", "-----END OPENSSH PRIVATE KEY-----"], key);
        Assert.Contains("\\::set-output name=a::b", outcome.Log);
        Assert.Contains("API_TOKEN=*** ***", outcome.Log);
        Assert.DoesNotContain(reporter.Verboses, v => v.Contains("hunter2secret", StringComparison.Ordinal) || v.Contains("b3BlbnNz", StringComparison.Ordinal) || v.Contains('\u001b', StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_outcome_comes_from_the_exit_code_and_the_error_lines()
    {
        var failing = Script(_folder, "fail", "echo '[deploy] [INFO] Building'\necho '🚀 ❌ [deploy] [ERROR] Failed to push profile' >&2\nexit 1\n");
        var lying = Script(_folder, "lie", "echo '🚀 ❌ [deploy] [ERROR] Deployment to node a failed, rolled back to previous generation' >&2\nexit 0\n");
        var runner = new DeployRsRunner(NullReporter.Instance);

        var failed = await runner.RunAsync(new DeployRsInvocation("a", [failing]), CancellationToken.None);
        var lied = await runner.RunAsync(new DeployRsInvocation("a", [lying]), CancellationToken.None);

        Assert.False(failed.Succeeded);
        Assert.Equal(1, failed.ExitCode);
        Assert.Equal("deploy-rs exited with code 1: [deploy] Failed to push profile", failed.Error);
        Assert.False(lied.Succeeded);
        Assert.True(lied.RolledBackByDeployRs);
        Assert.Equal(0, lied.ExitCode);
    }

    [Fact]
    public async Task The_tail_keeps_the_last_40_lines_and_the_log_keeps_all()
    {
        var script = Script(_folder, "chatty", "for i in $(seq 1 100); do echo \"line $i\"; done\n");

        var outcome = await new DeployRsRunner(NullReporter.Instance).RunAsync(new DeployRsInvocation("a", [script]), CancellationToken.None);

        Assert.Equal(100, outcome.Log.Count);
        var tail = outcome.Tail().Split('\n');
        Assert.Equal(DeployRsRunner.TailLines, tail.Length);
        Assert.Equal("line 61", tail[0]);
        Assert.Equal("line 100", tail[^1]);
    }

    [Fact]
    public async Task Working_directory_and_environment_reach_the_process()
    {
        var work = Directory.CreateDirectory(_folder.Combine("infra")).FullName;
        var script = Script(_folder, "env", "echo \"$PWD $ATELIER_X ${HOME:-no-home}\"\n");

        var outcome = await new DeployRsRunner(NullReporter.Instance).RunAsync(
            new DeployRsInvocation("a", [script]) { WorkingDirectory = work, Environment = new Dictionary<string, string?> { ["ATELIER_X"] = "x y", ["HOME"] = null } },
            CancellationToken.None);

        Assert.Equal([$"{work} x y no-home"], outcome.Log);
    }

    [Fact]
    public async Task A_program_that_cannot_start_is_a_failed_outcome()
    {
        var outcome = await new DeployRsRunner(NullReporter.Instance).RunAsync(new DeployRsInvocation("a", [_folder.Combine("missing")]), CancellationToken.None);

        Assert.False(outcome.Succeeded);
        Assert.Equal(-1, outcome.ExitCode);
        Assert.StartsWith($"Could not start {_folder.Combine("missing")}", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_run_at_the_same_time_up_to_the_throttle_limit()
    {
        var script = Script(_folder, "slow", """
            start=$(date +%s%3N); sleep 0.6; end=$(date +%s%3N)
            echo "$start $end"
            """);
        var runner = new DeployRsRunner(NullReporter.Instance);
        DeployRsInvocation[] three = [new("a", [script]), new("b", [script]), new("c", [script])];

        // As InfraDeployer runs its nodes: the one throttle, around the runner.
        var together = await Throttled.ForEachAsync(three, 3, runner.RunAsync, CancellationToken.None);
        var oneByOne = await Throttled.ForEachAsync(three, 1, runner.RunAsync, CancellationToken.None);

        Assert.Equal(["a", "b", "c"], together.Select(o => o.Node));
        var spans = together.Select(Span).ToList();
        Assert.True(spans.Max(s => s.Start) < spans.Min(s => s.End), $"The runs did not overlap: {string.Join(", ", spans)}");
        var sequential = oneByOne.Select(Span).OrderBy(s => s.Start).ToList();
        Assert.True(sequential[0].End <= sequential[1].Start && sequential[1].End <= sequential[2].Start, $"Throttle 1 overlapped: {string.Join(", ", sequential)}");
    }

    [Fact]
    public async Task Cancelling_kills_deploy_rs_and_its_children()
    {
        var pidFile = _folder.Combine("child.pid");
        var script = Script(_folder, "hang", $"""
            sleep 300 &
            echo $! > {pidFile}
            echo started
            wait
            """);
        var reporter = new RecordingReporter();
        using var cancel = new CancellationTokenSource();
        var run = new DeployRsRunner(reporter).RunAsync(new DeployRsInvocation("a", [script]), cancel.Token);
        await WaitForAsync(() => reporter.Verboses.Contains("[a] started"));
        var child = int.Parse(await File.ReadAllTextAsync(pidFile), CultureInfo.InvariantCulture);
        Assert.True(IsAlive(child));

        var stopwatch = Stopwatch.StartNew();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10));
        await WaitForAsync(() => !IsAlive(child));
        Assert.Contains("[a] stopped: deploy-rs was killed.", reporter.Verboses);
    }

    private static (long Start, long End) Span(DeployRsOutcome outcome)
    {
        var parts = outcome.Log.Single().Split(' ');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static bool IsAlive(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    internal static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for a condition.");
            await Task.Delay(20);
        }
    }
}
