using Atelier.Deploy;
using Atelier.Nix;
using Atelier.Scaffold;
using Atelier.Tests.Nix;
using Atelier.Transport;

namespace Atelier.Tests;

/// <summary>
/// The engine's failures name what went wrong, never a cmdlet's parameter or command; what helps is a <see cref="Hint"/>,
/// which travels with the failure (through a step's failure, an aggregate) for the cmdlets to put into words.
/// </summary>
public sealed class HintTests
{
    public static TheoryData<bool?, bool, TimeSpan, Hint[]> LockHolders => new()
    {
        { true, false, TimeSpan.Zero, [Hint.WaitForLock] },
        { true, false, TimeSpan.FromSeconds(30), [] },
        { true, true, TimeSpan.Zero, [Hint.BreakOnlyDead, Hint.WaitForLock] },
        { true, true, TimeSpan.FromSeconds(30), [Hint.BreakOnlyDead] },
        { false, false, TimeSpan.Zero, [Hint.BreakDead] },
        { null, false, TimeSpan.Zero, [Hint.WaitForLock, Hint.BreakIfDead] },
        { null, false, TimeSpan.FromSeconds(30), [Hint.BreakIfDead] },
    };

    [Theory]
    [MemberData(nameof(LockHolders))]
    public void A_held_lock_says_who_holds_it_and_hints_at_waiting_or_breaking(bool? alive, bool refusedBreak, TimeSpan waited, Hint[] hints)
    {
        var holder = new LockHolder { Service = "web", By = "alice@laptop", Alive = alive, Why = "its client's last heartbeat was 2 s ago" };

        var held = new DeployLockHeldException("terebithia", holder, waited, refusedBreak);

        Assert.StartsWith("The deploy lock of web on terebithia (~/.atelier/deploy-web.lock) is held by ", held.Message, StringComparison.Ordinal);
        Assert.Equal(waited > TimeSpan.Zero && alive != false, held.Message.Contains("Waited 30 s for it.", StringComparison.Ordinal));
        Assert.Equal(hints, held.Hints);
        EngineWords.AssertNoCmdletWords(held.Message);
    }

    [Fact]
    public void A_lost_host_points_at_its_own_history_and_a_step_keeps_the_hints_of_its_failure()
    {
        var lost = new HostUnreachableException("terebithia", "build", TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(30));
        var step = new DeployStepException("lock", new DeployLockHeldException("terebithia", new LockHolder { Service = "web", Alive = false }, TimeSpan.Zero).Message,
            new DeployLockHeldException("terebithia", new LockHolder { Service = "web", Alive = false }, TimeSpan.Zero));

        Assert.Equal([Hint.HostHistoryLater], lost.Hints);
        EngineWords.AssertNoCmdletWords(lost.Message);
        Assert.Equal([Hint.BreakDead], step.Hints);
        Assert.Equal([Hint.BreakDead], FailureHints.Of(new AggregateException(step)));
        Assert.Equal([Hint.Passphrase], FailureHints.Of(new HostConnectionException("The identity file is encrypted, and no passphrase was given.") { Hints = [Hint.Passphrase] }));
        Assert.Empty(FailureHints.Of(new InvalidOperationException("x")));
        Assert.Empty(FailureHints.Of(null));
    }

    [Fact]
    public void A_taken_port_and_a_module_that_exists_hint_at_the_port_and_at_forcing()
    {
        var (folder, root) = InfraFixture.Copy();
        using var copy = folder;
        NewServiceRequest Request(string name, int port) => new()
        {
            Module = new ServiceModuleSpec { Name = name, Description = "A new service", DefaultPort = port },
            Block = new MachineServiceSpec { Name = name, Domain = $"{name}.example.com" },
            Machine = "terebithia",
            InfraRoot = root,
        };

        var taken = Assert.Throws<AtelierException>(() => ServiceScaffold.Plan(Request("newsvc", 3000)));
        var exists = Assert.Throws<AtelierException>(() => ServiceScaffold.Plan(Request("cachet", 3000)));

        Assert.Equal("PortTaken", taken.ErrorId);
        Assert.Contains("the lowest free port is", taken.Message, StringComparison.Ordinal);
        Assert.Equal([Hint.PortTaken], taken.Hints);
        EngineWords.AssertNoCmdletWords(taken.Message);
        Assert.Equal("ServiceModuleExists", exists.ErrorId);
        Assert.Contains("The change would be:", exists.Message, StringComparison.Ordinal);
        Assert.Equal([Hint.FileReplaced], exists.Hints);
        EngineWords.AssertNoCmdletWords(exists.Message.Split('\n')[0]);
        Assert.NotEmpty(ServiceScaffold.Plan(Request("cachet", 3000) with { Force = true }));
    }
}
