using System.Text.RegularExpressions;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;
using Atelier.Health;
using Atelier.Status;

namespace Atelier.Tests.Cmdlets;

/// <summary>
/// The cmdlets' table of words for the engine's hints (<see cref="Errors.Text"/>): every hint has words that name a
/// parameter or a command, and they come after the engine's message, so the user reads the guidance the message once held.
/// </summary>
public sealed partial class HintWordsTests
{
    [Fact]
    public void Every_hint_has_one_sentence_naming_a_parameter_or_a_command()
    {
        foreach (var hint in Enum.GetValues<Hint>())
        {
            var words = Errors.Text(hint);
            Assert.Matches(ParameterOrCommand(), words);
            Assert.EndsWith(".", words, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("There is no folder /x.", "There is no folder /x. Give -Path the infrastructure repository's work tree.")]
    [InlineData("the deploy lock is held by alice, which is dead (no heartbeat)", "the deploy lock is held by alice, which is dead (no heartbeat). Give -Path the infrastructure repository's work tree.")]
    [InlineData("The change would be:\n- a\n+ b\n", "The change would be:\n- a\n+ b\nGive -Path the infrastructure repository's work tree.")]
    public void The_words_follow_the_message_as_sentences_or_on_their_own_line(string message, string expected)
    {
        Assert.Equal(expected, Errors.Hinted(message, [Hint.RepositoryPath]));
        Assert.Equal(message, Errors.Hinted(message, []));
    }

    [Fact]
    public void A_refused_lock_break_reads_as_it_did_when_the_engine_named_the_parameters()
    {
        var holder = new LockHolder { Service = "web", By = "alice@laptop", Alive = true, Why = "its client's last heartbeat was 2 s ago" };

        var refused = new DeployLockHeldException("terebithia", holder, TimeSpan.Zero, refusedBreak: true);

        EngineWords.AssertNoCmdletWords(refused.Message);
        Assert.EndsWith(
            "which is alive: its client's last heartbeat was 2 s ago. -BreakLock breaks only a dead holder's lock. Use -LockWait to wait for it.",
            Errors.Hinted(refused.Message, refused.Hints),
            StringComparison.Ordinal);
    }

    [Fact]
    public void A_results_error_and_a_statuss_problems_get_their_hints_words()
    {
        var result = new ServiceDeployResult { Service = "web", ComputerName = "terebithia", Error = "web: v2 (abc) is not on origin/main.", Hints = [Hint.CommitOffBranch] };
        var status = new ServiceStatus
        {
            Service = "web",
            ComputerName = "terebithia",
            User = "web",
            Branch = "main",
            Health = new ServiceHealth { Service = "web", Method = "systemd" },
            Problems = ["the host has no unit web.service", "the deploy started yesterday never finished and no one holds the lock"],
            ProblemHints = [null, Hint.RestoreUnfinished],
        };

        Assert.Same(result, Errors.WithHints(result));
        Assert.Same(status, Errors.WithHints(status));

        Assert.Equal("web: v2 (abc) is not on origin/main. Give -Force to deploy it anyway, or the -Branch it is on.", result.Error);
        Assert.Equal(["the host has no unit web.service", "the deploy started yesterday never finished and no one holds the lock. Restore-ServiceDeploy puts it back."], status.Problems);
    }

    [GeneratedRegex(@"(^|[\s(])-[A-Z][a-zA-Z]+|\b[A-Z][a-z]+-[A-Z][A-Za-z]+\b")]
    private static partial Regex ParameterOrCommand();
}
