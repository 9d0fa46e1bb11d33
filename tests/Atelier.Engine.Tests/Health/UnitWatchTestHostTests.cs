using System.Diagnostics;
using System.Text.Json;
using Atelier.Health;
using Atelier.Shell;
using Atelier.Transport;
using Xunit.Abstractions;

namespace Atelier.Tests.Health;

/// <summary>
/// The watch against real systemd, over real SSH: <c>flaky.service</c> on the test host (tests/TestHost/testhost.sh)
/// runs for 2 s, exits 3 and is restarted a second later, forever. The test restarts it and reads its baseline the way a
/// deploy does, as the host's deploy user with sudo, then checks it with a 30 s deadline. These tests run only when
/// <c>ATELIER_TESTHOST</c> names a running test host's <c>testhost.json</c>; the unit tests need no host otherwise.
/// </summary>
public sealed class UnitWatchTestHostTests(ITestOutputHelper output)
{
    private const string Unit = "flaky.service";
    private static readonly CommandOptions Options = new() { Timeout = TimeSpan.FromSeconds(20) };

    [TestHostFact]
    public Task A_crash_looping_unit_ends_a_watched_http_check_at_its_first_crash() =>
        // The unit serves no HTTP: every request is refused, and only the watch can end the check before its deadline.
        CheckFlakyAsync(new Uri($"http://127.0.0.1:{TestHttpServer.ClosedPort()}/health"), "http");

    [TestHostFact]
    public Task A_crash_looping_unit_ends_a_watched_systemd_check_at_its_first_crash() =>
        CheckFlakyAsync(null, "systemd");

    private async Task CheckFlakyAsync(Uri? url, string method)
    {
        var testHost = TestHostState.Load();
        using var host = await SshRemoteHost.ConnectAsync(testHost.DeployConnection(), CancellationToken.None);
        try
        {
            (await host.RunAsync(ShellCommand.Format($"sudo -n systemctl restart {Unit}"), Options, CancellationToken.None)).EnsureSuccess("restart");
            var baseline = SystemdProbe.ParseShow((await host.RunAsync(SystemdProbe.ShowCommand(Unit), Options, CancellationToken.None)).EnsureSuccess("show").Output);
            Assert.Equal("running", baseline.SubState);
            Assert.True(baseline.MainPid > 0, $"MainPID {baseline.MainPid}");
            var watch = Stopwatch.StartNew();

            var result = await new HealthChecker(new HealthOptions { Timeout = TimeSpan.FromSeconds(30) }).CheckAsync(
                new HealthCheck { Service = "flaky", ComputerName = testHost.Host, HealthUrl = url, Baseline = baseline },
                _ => Task.FromResult<IRemoteHost>(host),
                Options,
                CancellationToken.None);

            output.WriteLine($"after {watch.Elapsed.TotalSeconds:0.0} s, {result.Tries} tries: {result}");
            output.WriteLine(string.Join('\n', result.Journal));

            // It ran for 2 s before it crashed, and the check ended soon after, long before the deadline.
            Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(8));
            Assert.True(result.UnitCrashed, result.Detail);
            Assert.True(result.Conclusive);
            Assert.Equal(HealthStatus.Down, result.Status);
            Assert.Equal(method, result.Method);
            Assert.Matches(@"^the unit crashed after the restart: ActiveState=\S+ SubState=\S+ NRestarts[ =]\S+", result.Detail);
            Assert.Matches(@"SubState=auto-restart|NRestarts \d+→\d+", result.Detail);
            Assert.Matches($@"\(MainPID {baseline.MainPid} → \d+\)$", result.Detail);
            Assert.NotEmpty(result.Journal);
            Assert.Contains(result.Journal, l => l.Contains("flaky", StringComparison.Ordinal));
        }
        finally
        {
            await host.RunAsync(ShellCommand.Format($"sudo -n systemctl stop {Unit}; sudo -n systemctl reset-failed {Unit}"), Options, CancellationToken.None);
        }
    }
}

/// <summary>A fact that needs the test host: skipped unless <c>ATELIER_TESTHOST</c> names its state file.</summary>
public sealed class TestHostFactAttribute : FactAttribute
{
    public TestHostFactAttribute()
    {
        if (TestHostState.File is null)
        {
            Skip = "No test host: set ATELIER_TESTHOST to a running host's testhost.json (bash tests/TestHost/testhost.sh start).";
        }
    }
}

/// <summary>What <c>testhost.sh start</c> wrote about the running test host (the parts these tests use).</summary>
internal sealed record TestHostState(string Host, int SshPort, string DeployUser, string IdentityFile, string KnownHosts)
{
    /// <summary>The state file <c>ATELIER_TESTHOST</c> names, when it exists.</summary>
    public static string? File => Environment.GetEnvironmentVariable("ATELIER_TESTHOST") is { Length: > 0 } file && System.IO.File.Exists(file) ? file : null;

    public static TestHostState Load()
    {
        using var json = JsonDocument.Parse(System.IO.File.ReadAllText(File ?? throw new InvalidOperationException("No test host.")));
        var root = json.RootElement;
        return new TestHostState(
            root.GetProperty("host").GetString()!,
            root.GetProperty("sshPort").GetInt32(),
            root.GetProperty("deployUser").GetString()!,
            root.GetProperty("identityFile").GetString()!,
            root.GetProperty("knownHosts").GetString()!);
    }

    /// <summary>The deploy user's connection: passwordless sudo, as a deploy restarts a unit.</summary>
    public HostConnectionRequest DeployConnection() => new()
    {
        ComputerName = Host,
        Port = SshPort,
        User = DeployUser,
        IdentityFile = IdentityFile,
        KnownHostsFile = KnownHosts,
    };
}
