using Atelier.Infra;
using Atelier.Tests.Shell;
using Atelier.Tests.Snapshot;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Infra;

/// <summary>
/// The anchor's node rule over a real git history (<see cref="DeployTargetHistory"/>): each commit compared with its
/// parent, ranges, a rename, a new branch, bad revisions, and the node list from the real <c>nix eval</c>.
/// </summary>
public sealed class DeployTargetTests : IClassFixture<DeployTargetTests.History>
{
    private static readonly string[] Every = DeployTargetHistory.Nodes;
    private readonly DeployTargetHistory _repo;

    public DeployTargetTests(History history)
    {
        _repo = history.Repository;
    }

    /// <summary>One repository for the whole class: building the history takes a few dozen git runs.</summary>
    public sealed class History : IDisposable
    {
        internal DeployTargetHistory Repository { get; } = new();

        public void Dispose() => Repository.Dispose();
    }

    [Theory]
    [InlineData("flake.nix", "flake.nix changed", "flake.nix")]
    [InlineData("flake.lock", "flake.lock changed", "flake.lock")]
    [InlineData("modules", "modules/ changed", "modules/caddy.nix")]
    [InlineData("lib", "lib/ changed", "lib/default.nix")]
    [InlineData("secrets", "secrets/ changed", "secrets/wifi.age")]
    [InlineData("packages", "packages/ changed", "packages/tool/patch.diff")]
    [InlineData("deploy workflow", ".github/workflows/deploy.yaml changed", ".github/workflows/deploy.yaml")]
    public async Task A_change_to_shared_configuration_means_every_node(string commit, string reason, string path)
    {
        var targets = await FindAsync(commit);

        Assert.Equal(Every, targets.Select(t => t.Node));
        Assert.All(targets, t => Assert.Equal(reason, t.Reason));
        Assert.All(targets, t => Assert.Equal([path], t.Paths));
    }

    [Fact]
    public async Task A_custom_list_of_shared_paths_replaces_the_default()
    {
        var custom = new DeployTargets(_repo.Path, NullReporter.Instance) { SharedPaths = ["overlays/", "hosts.nix", "flake.nix"] };

        Assert.Empty(await FindAsync("overlays")); // the default list does not hold them
        var targets = await custom.FindAsync(_repo.Before("overlays"), _repo.Commits["overlays"], Every, null, CancellationToken.None);
        Assert.Equal(Every, targets.Select(t => t.Node));
        Assert.All(targets, t => Assert.Equal("hosts.nix changed; overlays/ changed", t.Reason));
        Assert.All(targets, t => Assert.Equal(["hosts.nix", "overlays/default.nix"], t.Paths));

        // The list replaces the default: the workflow no longer means every node, flake.nix still does.
        Assert.Empty(await custom.FindAsync(_repo.Before("deploy workflow"), _repo.Commits["deploy workflow"], Every, null, CancellationToken.None));
        Assert.Equal(Every, (await custom.FindAsync(_repo.Before("flake.nix"), _repo.Commits["flake.nix"], Every, null, CancellationToken.None)).Select(t => t.Node));

        // An empty list leaves only the machine folders.
        var none = new DeployTargets(_repo.Path, NullReporter.Instance) { SharedPaths = [] };
        Assert.Empty(await none.FindAsync(_repo.Before("modules"), _repo.Commits["modules"], Every, null, CancellationToken.None));
        Assert.Equal(["terebithia"], (await none.FindAsync(_repo.Before("one machine"), _repo.Commits["one machine"], Every, null, CancellationToken.None)).Select(t => t.Node));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("/etc/nixos/", "is absolute")]
    [InlineData("modules/../secrets/", "has an empty, '.' or '..' part")]
    [InlineData("modules//x", "has an empty, '.' or '..' part")]
    [InlineData("./flake.nix", "has an empty, '.' or '..' part")]
    [InlineData("mod\\ules/", "holds a control character or a backslash")]
    [InlineData("a\nb", "holds a control character or a backslash")]
    public void A_shared_path_that_is_not_a_path_in_the_repository_is_refused(string path, string problem)
    {
        Assert.StartsWith(problem, DeployTargets.SharedPathProblem(path), StringComparison.Ordinal);
        var error = Assert.Throws<AtelierException>(() => new DeployTargets(_repo.Path, NullReporter.Instance) { SharedPaths = ["flake.nix", path] });
        Assert.Equal("InvalidSharedPath", error.ErrorId);
        Assert.Null(DeployTargets.SharedPathProblem(".github/workflows/deploy.yaml"));
    }

    [Fact]
    public async Task A_repository_folder_that_does_not_exist_is_named_before_git_runs()
    {
        var missing = System.IO.Path.Combine(_repo.Path, "no-such-folder", "$(touch x)");

        var error = await Assert.ThrowsAsync<AtelierException>(() =>
            new DeployTargets(missing, NullReporter.Instance).FindAsync("HEAD~1", "HEAD", null, null, CancellationToken.None));

        Assert.Equal("RepositoryNotFound", error.ErrorId);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Equal([Hint.RepositoryPath], error.Hints);
        EngineWords.AssertNoCmdletWords(error.Message.Replace(missing, "<folder>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_change_in_one_machine_folder_means_that_node()
    {
        var target = Assert.Single(await FindAsync("one machine"));

        Assert.Equal("terebithia", target.Node);
        Assert.Equal("machines/terebithia/ changed", target.Reason);
        Assert.Equal(["machines/terebithia/configuration.nix"], target.Paths);
    }

    [Fact]
    public async Task Changes_in_two_machine_folders_mean_those_two_nodes_each_with_its_own_paths()
    {
        var targets = await FindAsync("two machines");

        Assert.Equal(["moonlark", "terebithia"], targets.Select(t => t.Node));
        Assert.Equal(["machines/moonlark/configuration.nix"], targets[0].Paths);
        Assert.Equal(["machines/terebithia/caddy.nix"], targets[1].Paths);
        Assert.Equal("machines/terebithia/ changed", targets[1].Reason);
    }

    [Fact]
    public async Task A_rename_from_one_machine_to_another_counts_for_both()
    {
        var log = _repo.Git("show", "--name-status", "--format=", _repo.Commits["rename"]);
        Assert.StartsWith("R100", log, StringComparison.Ordinal); // git itself sees one rename, not a delete and an add

        var targets = await FindAsync("rename");

        Assert.Equal(["ember", "moonlark"], targets.Select(t => t.Node));
        Assert.Equal(["machines/ember/hardware.nix"], targets[0].Paths);
        Assert.Equal("machines/ember/ changed", targets[0].Reason);
        Assert.Equal(["machines/moonlark/hardware.nix"], targets[1].Paths);
    }

    [Fact]
    public async Task Other_paths_mean_nothing_even_when_their_names_start_like_a_rule()
    {
        // README.md, machines/README.md (a file, not a machine folder), modules-old/, flake.nix.orig.
        Assert.Empty(await FindAsync("readme"));
    }

    [Fact]
    public async Task A_machine_folder_without_a_node_is_a_warning_not_a_silent_drop()
    {
        var reporter = new RecordingReporter();
        var targets = await new DeployTargets(_repo.Path, reporter).FindAsync(_repo.Before("no such node"), _repo.Commits["no such node"], Every, null, CancellationToken.None);

        Assert.Empty(targets);
        var warning = Assert.Single(reporter.Warnings);
        Assert.Contains("machines/oldbox/ changed", warning, StringComparison.Ordinal);
        Assert.Contains("no deploy node 'oldbox'", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shared_change_and_a_machine_change_give_that_node_both_reasons()
    {
        var targets = await FindAsync("module and machine");

        Assert.Equal(Every, targets.Select(t => t.Node));
        var ember = targets[0];
        Assert.Equal("machines/ember/ changed; modules/ changed", ember.Reason); // in the order of the paths
        Assert.Equal(["machines/ember/configuration.nix", "modules/base.nix"], ember.Paths);
        Assert.Equal("modules/ changed", targets[1].Reason);
        Assert.Equal(["modules/base.nix"], targets[1].Paths);
    }

    [Fact]
    public async Task A_range_of_commits_gives_the_union_of_their_nodes()
    {
        var targets = await new DeployTargets(_repo.Path, NullReporter.Instance)
            .FindAsync(_repo.Before("one machine"), _repo.Commits["rename"], Every, null, CancellationToken.None);

        Assert.Equal(Every, targets.Select(t => t.Node));
        Assert.Equal(["machines/terebithia/caddy.nix", "machines/terebithia/configuration.nix"], targets[2].Paths);
    }

    [Fact]
    public async Task Revisions_may_be_branches_and_expressions()
    {
        var targets = await new DeployTargets(_repo.Path, NullReporter.Instance)
            .FindAsync("main~1", "main", Every, null, CancellationToken.None);

        Assert.Equal(Every, targets.Select(t => t.Node)); // the last commit changed modules/ and machines/ember/
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    public async Task The_all_zero_commit_of_a_new_branch_means_every_node(string before)
    {
        var targets = await new DeployTargets(_repo.Path, NullReporter.Instance)
            .FindAsync(before, _repo.Commits["readme"], Every, null, CancellationToken.None);

        Assert.Equal(Every, targets.Select(t => t.Node));
        Assert.All(targets, t => Assert.Equal(DeployTargets.NewBranchReason, t.Reason));
        Assert.All(targets, t => Assert.Empty(t.Paths));
    }

    [Fact]
    public async Task A_given_node_list_keeps_its_order_and_limits_the_result()
    {
        var targets = await new DeployTargets(_repo.Path, NullReporter.Instance)
            .FindAsync(_repo.Before("flake.lock"), _repo.Commits["flake.lock"], ["terebithia", "ember", "terebithia"], null, CancellationToken.None);

        Assert.Equal(["terebithia", "ember"], targets.Select(t => t.Node));
    }

    [Theory]
    [InlineData("does-not-exist", "RevisionNotFound")]
    [InlineData("1234567890123456789012345678901234567890", "RevisionNotFound")]
    [InlineData("--output=/tmp/x", "InvalidRevision")]
    [InlineData(" ", "InvalidRevision")]
    public async Task A_bad_revision_fails_with_a_clear_error(string revision, string errorId)
    {
        var ex = await Assert.ThrowsAsync<AtelierException>(() =>
            new DeployTargets(_repo.Path, NullReporter.Instance).FindAsync(revision, "HEAD", Every, null, CancellationToken.None));

        Assert.Equal(errorId, ex.ErrorId);
        Assert.Contains(revision.Trim(), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_outside_git_is_refused()
    {
        using var folder = new TempFolder();
        var ex = await Assert.ThrowsAsync<AtelierException>(() =>
            new DeployTargets(folder.Path, NullReporter.Instance).FindAsync("HEAD~1", "HEAD", Every, null, CancellationToken.None));

        Assert.Equal("NotAGitRepository", ex.ErrorId);
    }

    [Fact]
    public async Task Without_nix_and_without_a_node_list_it_says_to_pass_the_nodes()
    {
        // A PATH with git only.
        using var bin = new TempFolder();
        File.CreateSymbolicLink(bin.Combine("git"), Sh.Run("command -v git").Output.Trim());
        var targets = new DeployTargets(_repo.Path, NullReporter.Instance) { SearchPath = bin.Path };

        var ex = await Assert.ThrowsAsync<AtelierException>(() =>
            targets.FindAsync(_repo.Before("flake.lock"), _repo.Commits["flake.lock"], null, null, CancellationToken.None));

        Assert.Equal("NixNotInstalled", ex.ErrorId);
        Assert.Equal(FailureKind.NotInstalled, ex.Kind);
        Assert.Equal([Hint.NodesWithoutNix], ex.Hints);
        EngineWords.AssertNoCmdletWords(ex.Message);

        // Nothing the rule cares about changed: no node, and no need for nix.
        Assert.Empty(await targets.FindAsync(_repo.Before("readme"), _repo.Commits["readme"], null, null, CancellationToken.None));
    }

    [RequiresToolFact("nix")]
    public async Task Without_a_node_list_the_nodes_come_from_the_flakes_deploy_nodes()
    {
        var reporter = new RecordingReporter();
        var finder = new DeployTargets(_repo.Path, reporter);

        Assert.Equal(Every, await finder.NodeNamesAsync(null, CancellationToken.None));
        var targets = await finder.FindAsync(_repo.Before("lib"), _repo.Commits["lib"], null, null, CancellationToken.None);
        Assert.Equal(Every, targets.Select(t => t.Node));
        Assert.Contains(reporter.Verboses, v => v.StartsWith("nix eval --json .#deploy.nodes --apply builtins.attrNames", StringComparison.Ordinal));
        Assert.Empty(_repo.Git("status", "--porcelain")); // nix wrote no lock file or anything else
    }

    [RequiresToolFact("nix")]
    public async Task Another_flake_folder_can_list_the_nodes_and_a_broken_one_fails_clearly()
    {
        using var other = new TempFolder();
        other.Write("flake.nix", "{ outputs = { self }: { deploy.nodes = { beta = { }; alpha = { }; }; }; }\n");
        var finder = new DeployTargets(_repo.Path, NullReporter.Instance);

        var targets = await finder.FindAsync(_repo.Before("flake.nix"), _repo.Commits["flake.nix"], null, other.Path, CancellationToken.None);
        Assert.Equal(["alpha", "beta"], targets.Select(t => t.Node));

        other.Write("flake.nix", "{ outputs = { self }: { }; }\n");
        var ex = await Assert.ThrowsAsync<AtelierException>(() => finder.NodeNamesAsync(other.Path, CancellationToken.None));
        Assert.Equal("NodeListFailed", ex.ErrorId);
        Assert.Contains("deploy", ex.Message, StringComparison.Ordinal);
        Assert.Equal([Hint.NodesWithoutFlake], ex.Hints);
        EngineWords.AssertNoCmdletWords(ex.Message.Split('\n')[0]);
    }

    [Theory]
    [InlineData("flake.nix", "flake.nix")]
    [InlineData("flake.nix/x", null)]
    [InlineData("modules/a/b.nix", "modules/")]
    [InlineData("modules", null)]
    [InlineData("packages/x", "packages/")]
    [InlineData("Modules/a.nix", null)]
    [InlineData(".github/workflows/deploy.yaml", ".github/workflows/deploy.yaml")]
    [InlineData(".github/workflows/ci.yaml", null)]
    public void The_shared_rule_matches_whole_names_and_folders(string path, string? rule)
    {
        Assert.Equal(rule, DeployTargets.EveryNodeRule(path, DeployTargets.DefaultSharedPaths));
    }

    [Theory]
    [InlineData("machines/terebithia/configuration.nix", "terebithia")]
    [InlineData("machines/a/b/c.nix", "a")]
    [InlineData("machines/README.md", null)]
    [InlineData("machines//x", null)]
    [InlineData("machinesx/a/b", null)]
    public void A_machine_is_the_first_folder_under_machines(string path, string? machine)
    {
        Assert.Equal(machine, DeployTargets.MachineOf(path));
    }

    private Task<IReadOnlyList<DeployTarget>> FindAsync(string commit) =>
        new DeployTargets(_repo.Path, NullReporter.Instance).FindAsync(_repo.Before(commit), _repo.Commits[commit], Every, null, CancellationToken.None);
}
