using System.Runtime.Versioning;
using Atelier.Deploy;
using Atelier.Health;
using Atelier.History;
using Atelier.Shell;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;
using Atelier.Transport;

namespace Atelier.Tests.Deploy;

/// <summary>
/// <see cref="ServiceDeployer.RestoreAsync"/> checks that the snapshot fits before it stops the service. Everything runs
/// for real in a temp service home (the lock and its guard, git in ~/app, the space check, the restore, the history) except
/// systemd: stand-ins for sudo and systemctl first on PATH log what they are asked and say the unit runs.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class RestoreSpaceStepTests : IDisposable
{
    private const int MiB = 1024 * 1024;
    private readonly TempFolder _temp = new();
    private readonly string _home;
    private readonly string _commit;
    private Tmpfs? _tmpfs;

    public RestoreSpaceStepTests()
    {
        _home = Directory.CreateDirectory(_temp.Combine("home")).FullName;
        Directory.CreateDirectory(Path.Combine(_home, "data"));
        var git = Sh.Run("cd \"$HOME\" && git init -q app && git -C app -c user.name=t -c user.email=t@example.org commit -q --allow-empty -m first && git -C app rev-parse HEAD", environment: new Dictionary<string, string> { ["HOME"] = _home });
        Assert.True(git.ExitCode == 0, git.Error);
        _commit = git.Output.Trim();
    }

    public void Dispose()
    {
        _tmpfs?.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task The_space_step_runs_before_the_stop_and_the_database_is_restored_after_it()
    {
        var snapshot = Tmpfs.RandomFile(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), 4096);
        Tmpfs.RandomFile(Path.Combine(_home, "data", "app.db"), 8192);
        using var host = StubbedSystemdHost();

        var result = await RestoreAsync(host, snapshot);

        Assert.True(result.Status == DeployStatus.Succeeded, result.Error);
        Assert.Equal(["lock", "current", "space", "stop", "database", "checkout", "start", "health"], result.Steps.Select(s => s.Name));
        Assert.Equal(["-n systemctl stop svc.service", "-n systemctl start svc.service"], SudoLog());
        Assert.Equal(File.ReadAllBytes(snapshot), File.ReadAllBytes(Path.Combine(_home, "data", "app.db")));
    }

    [Fact]
    public async Task The_restore_says_what_a_stop_must_let_it_finish_and_nothing_once_it_is_done()
    {
        var snapshot = Tmpfs.RandomFile(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), 4096);
        Tmpfs.RandomFile(Path.Combine(_home, "data", "app.db"), 8192);
        using var host = StubbedSystemdHost();
        var reporter = new RecordingReporter();

        var result = await RestoreAsync(host, snapshot, reporter);

        Assert.True(result.Status == DeployStatus.Succeeded, result.Error);
        Assert.Equal(
            [
                $"releasing the deploy lock of svc on {host.ComputerName}",
                $"restoring svc on {host.ComputerName} to {_commit} with its snapshot and releasing its deploy lock",
                null,
            ],
            reporter.Finishings);
    }

    [TmpfsFact]
    public async Task A_snapshot_that_cannot_fit_fails_the_space_step_and_nothing_is_stopped()
    {
        _tmpfs = new Tmpfs(2 * MiB, Path.Combine(_home, "data"));
        var live = Tmpfs.RandomFile(Path.Combine(_home, "data", "app.db"), MiB);
        var before = File.ReadAllBytes(live);
        var snapshot = Tmpfs.RandomFile(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), 3 * MiB);
        using var host = StubbedSystemdHost();

        var result = await RestoreAsync(host, snapshot);

        Assert.Equal(DeployStatus.Failed, result.Status);
        Assert.Equal("space", result.FailedStep);
        Assert.Equal(["lock", "current", "space"], result.Steps.Select(s => s.Name));
        Assert.Equal($"The restore of data/app.db needs 3.0 MiB more free space on {_tmpfs.Path} (needs 4.0 MiB, 1.0 MiB free); nothing was stopped.", result.Error);
        Assert.Empty(SudoLog());
        Assert.Equal(before, File.ReadAllBytes(live));
    }

    private async Task<ServiceDeployResult> RestoreAsync(IRemoteHost host, string snapshot, RecordingReporter? reporter = null)
    {
        var request = new DeployRequest
        {
            Service = "svc",
            DbPath = "data/app.db",
            Runtime = AppRuntime.Custom,
            Holder = "tests",
            Health = new HealthOptions { Timeout = TimeSpan.Zero, Settle = TimeSpan.Zero },
        };
        return await new ServiceDeployer(host, reporter ?? new RecordingReporter(), new CommandOptions { Timeout = TimeSpan.FromSeconds(30) }, localHistory: null)
            .RestoreAsync(request, _commit, snapshot, skipDatabase: false, CancellationToken.None);
    }

    /// <summary>This machine as the service's account, with stand-ins for sudo and systemctl first on PATH.</summary>
    private HomeHost StubbedSystemdHost()
    {
        var bin = Directory.CreateDirectory(_temp.Combine("bin")).FullName;
        _temp.Write("bin/sudo", $"#!/bin/sh\necho \"$*\" >> {_temp.Combine("sudo.log")}\n");
        _temp.Write("bin/systemctl", "#!/bin/sh\nprintf 'LoadState=loaded\\nActiveState=active\\nSubState=running\\nNRestarts=0\\nResult=success\\nExecMainStatus=0\\nMainPID=42\\n'\n");
        Sh.Run($"chmod 755 {bin}/sudo {bin}/systemctl");
        return new HomeHost(_home, $"{bin}:{Environment.GetEnvironmentVariable("PATH")}");
    }

    private string[] SudoLog() => File.Exists(_temp.Combine("sudo.log")) ? File.ReadAllLines(_temp.Combine("sudo.log")) : [];
}
