using System.Runtime.Versioning;
using Atelier.Deploy;
using Atelier.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Deploy;

/// <summary>
/// The maintenance lock (Lock-/Unlock-ServiceDeploy) on the deploys' own lock: <c>lock.sh</c> run for real in a local
/// <c>/bin/sh</c> with HOME pointed at a temp service home, as <see cref="DeployLockTests"/> does.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class MaintenanceLockTests : IDisposable
{
    private const string Service = "web";
    private readonly TempFolder _temp = new();
    private readonly HomeHost _host;
    private readonly RecordingReporter _reporter = new();

    public MaintenanceLockTests()
    {
        Home = Directory.CreateDirectory(_temp.Combine("home")).FullName;
        _host = new HomeHost(Home);
    }

    private string Home { get; }

    private string LockFolder => Path.Combine(Home, ".atelier", "deploy-web.lock");

    public void Dispose()
    {
        _host.Dispose();
        _temp.Dispose();
    }

    private Task<LockHolder> HoldAsync(string by, string message) =>
        DeployLock.HoldAsync(_host, new LockRequest(Service, LockOperation.Maintenance, by) { Message = message }, CancellationToken.None);

    [Fact]
    public async Task A_maintenance_lock_has_no_guard_or_heartbeat_and_reads_as_alive_with_its_message()
    {
        var held = await HoldAsync("alice@laptop", "db maintenance; $(id)");

        Assert.True(held.IsMaintenance);
        Assert.Equal("db maintenance; $(id)", held.Message);
        Assert.False(File.Exists(Path.Combine(LockFolder, "guard.pid")));
        Assert.False(File.Exists(Path.Combine(LockFolder, "heartbeat")));
        var read = await DeployLock.ReadAsync(_host, Service, CancellationToken.None);
        Assert.NotNull(read);
        Assert.True(read.Alive);
        Assert.Equal("a maintenance lock, held until Unlock-ServiceDeploy: db maintenance; $(id)", read.Why);
        Assert.StartsWith("alice@laptop (maintenance: 'db maintenance; $(id)', since ", read.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deploy_meets_it_as_a_live_holder_named_with_its_message_and_cannot_break_it()
    {
        await HoldAsync("alice@laptop", "db maintenance");

        var held = await Assert.ThrowsAsync<DeployLockHeldException>(() =>
            DeployLock.AcquireAsync(_host, new LockRequest(Service, LockOperation.Deploy, "bob@ci") { Break = true }, _reporter, CancellationToken.None));

        Assert.True(held.RefusedBreak);
        Assert.Contains("alice@laptop (maintenance: 'db maintenance'", held.Message, StringComparison.Ordinal);
        Assert.Equal([Hint.BreakOnlyDead, Hint.WaitForLock], held.Hints);
        Assert.True(Directory.Exists(LockFolder));
    }

    [Fact]
    public async Task A_second_hold_fails_naming_the_first()
    {
        await HoldAsync("alice@laptop", "first");

        var held = await Assert.ThrowsAsync<DeployLockHeldException>(() => HoldAsync("bob@ci", "second"));

        Assert.Equal("first", held.Holder.Message);
    }

    [Fact]
    public async Task Its_holder_unlocks_it_without_force_and_anyone_else_only_with_force()
    {
        await HoldAsync("alice@laptop", "db maintenance");

        var refused = await Assert.ThrowsAsync<AtelierException>(() => DeployLock.UnlockAsync(_host, Service, "bob@ci", force: false, CancellationToken.None));
        Assert.Equal("DeployLockLive", refused.ErrorId);
        Assert.True(Directory.Exists(LockFolder));

        var removed = await DeployLock.UnlockAsync(_host, Service, "alice@laptop", force: false, CancellationToken.None);
        Assert.Equal("db maintenance", removed!.Message);
        Assert.False(Directory.Exists(LockFolder));
        Assert.Null(await DeployLock.UnlockAsync(_host, Service, "alice@laptop", force: false, CancellationToken.None));

        await HoldAsync("alice@laptop", "again");
        Assert.NotNull(await DeployLock.UnlockAsync(_host, Service, "bob@ci", force: true, CancellationToken.None));
        Assert.False(Directory.Exists(LockFolder));
    }

    [Fact]
    public async Task A_live_deploys_lock_needs_force_and_force_stops_its_guard()
    {
        await using var deploy = await DeployLock.AcquireAsync(_host, new LockRequest(Service, LockOperation.Deploy, "bob@ci"), _reporter, CancellationToken.None);
        var guardPid = int.Parse(File.ReadAllText(Path.Combine(LockFolder, "guard.pid")).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

        var refused = await Assert.ThrowsAsync<AtelierException>(() => DeployLock.UnlockAsync(_host, Service, "bob@ci", force: false, CancellationToken.None));
        Assert.Equal("DeployLockLive", refused.ErrorId);
        Assert.Equal([Hint.UnlockLiveDeploy], refused.Hints);
        EngineWords.AssertNoCmdletWords(refused.Message);

        var removed = await DeployLock.UnlockAsync(_host, Service, "alice@laptop", force: true, CancellationToken.None);
        Assert.Equal("bob@ci", removed!.By);
        Assert.False(Directory.Exists(LockFolder));
        Assert.False(Directory.Exists($"/proc/{guardPid}") && File.ReadAllText($"/proc/{guardPid}/cmdline").Contains("guard.sh", StringComparison.Ordinal));
    }

    [Fact]
    public void The_message_is_one_quoted_line_within_the_limit()
    {
        var text = DeployLock.AcquireCommand(new LockRequest(Service, LockOperation.Maintenance, "a@b") { Message = "it's $(id)" }, "0123abcd", breakHeld: false).Text;

        Assert.EndsWith(@" 'it'\''s $(id)'", text, StringComparison.Ordinal);
        Assert.Throws<RemoteValueException>(() => DeployLock.AcquireCommand(new LockRequest(Service, LockOperation.Maintenance, "a@b") { Message = "a\nb" }, "0123abcd", false));
        Assert.Throws<RemoteValueException>(() => DeployLock.AcquireCommand(new LockRequest(Service, LockOperation.Maintenance, "a@b") { Message = new string('m', LockRequest.MaxTextLength + 1) }, "0123abcd", false));
        Assert.Throws<RemoteValueException>(() => DeployLock.AcquireCommand(new LockRequest(Service, LockOperation.Maintenance, "a@b"), "0123abcd", false));
    }
}
