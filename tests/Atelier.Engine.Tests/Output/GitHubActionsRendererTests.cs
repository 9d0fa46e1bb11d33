using Atelier.Deploy;
using Atelier.Infra;
using Atelier.Output;

namespace Atelier.Tests.Output;

/// <summary>The one GitHub Actions renderer both deploy families write through.</summary>
public sealed class GitHubActionsRendererTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("atelier-renderer-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private Func<string, string?> Environment(bool files = true) => name => name switch
    {
        "GITHUB_ACTIONS" => "true",
        "GITHUB_STEP_SUMMARY" => files ? Path.Combine(_folder, "summary.md") : null,
        "GITHUB_OUTPUT" => files ? Path.Combine(_folder, "output.txt") : string.Empty,
        _ => null,
    };

    [Fact]
    public void Outside_Actions_there_is_no_renderer_and_without_files_it_writes_nothing()
    {
        Assert.Null(GitHubActionsRenderer.FromEnvironment(_ => null));
        Assert.Null(GitHubActionsRenderer.FromEnvironment(name => name == "GITHUB_ACTIONS" ? "false" : null));
        var actions = GitHubActionsRenderer.FromEnvironment(Environment(files: false))!;

        actions.AppendSummary("### x\n");
        actions.AppendOutputs([new("status", DeployStatus.Succeeded)]);

        Assert.Empty(Directory.GetFiles(_folder));
        Assert.Null(actions.RepositoryUrl);
    }

    [Fact]
    public void Outputs_are_one_line_each_and_a_list_sits_between_a_fresh_delimiter_its_items_cleaned()
    {
        var actions = GitHubActionsRenderer.FromEnvironment(Environment(), new HostText(Redaction.Parse(["site-value-42"])))!;

        actions.AppendOutputs([new("status", "Failed"), new("list", null, ["a\u001b[31m red\nsecond", "site-value-42 API_TOKEN=hunter2secret"]), new("empty", null)]);
        actions.AppendOutputs([new("again", null, [])]);

        var lines = File.ReadAllLines(Path.Combine(_folder, "output.txt"));
        Assert.Equal("status=Failed", lines[0]);
        Assert.StartsWith("list<<ATELIER_", lines[1], StringComparison.Ordinal);
        var delimiter = lines[1]["list<<".Length..];
        Assert.Equal(["a red second", "*** API_TOKEN=***", delimiter, "empty="], lines[2..6]);
        var second = lines[6]["again<<".Length..];
        Assert.NotEqual(delimiter, second);
        Assert.Equal([$"again<<{second}", second], lines[6..]);
    }

    [Fact]
    public void Both_families_share_the_icons_and_the_heading_and_table_shape()
    {
        var infra = InfraGitHubActions.Summary(new InfraDeployRun(
            [new InfraDeployResult { Node = "a", ComputerName = "h", Status = DeployStatus.RolledBack }, new InfraDeployResult { Node = "b", ComputerName = "h", Status = DeployStatus.Unchanged }],
            new Dictionary<string, IReadOnlyList<string>>()));
        var services = GitHubActions.FromEnvironment(Environment())!.Summary(
            [new ServiceDeployResult { Service = "a", ComputerName = "h", Status = DeployStatus.RolledBack }, new ServiceDeployResult { Service = "b", ComputerName = "h", Status = DeployStatus.Unchanged }]);

        Assert.StartsWith("### ↩️ Infrastructure deploy: 1 of 2 node(s) succeeded\n\n| Node | Host | Status | Previous | New | Now | Duration |\n|---|---|---|---|---|---|---|\n", infra, StringComparison.Ordinal);
        Assert.StartsWith("### ↩️ Deploys: 1 of 2 service(s) succeeded\n\n| Service | Host | Status | Previous | New | Health | Duration | Failed step |\n|---|---|---|---|---|---|---|---|\n", services, StringComparison.Ordinal);
        Assert.Contains("| `b` | `h` | ➖ Unchanged |", services, StringComparison.Ordinal);
        Assert.Equal(["✅", "➖", "➖", "↩️", "⏭️", "❌", "❌"], new[] { DeployStatus.Succeeded, DeployStatus.Unchanged, DeployStatus.DryRun, DeployStatus.RolledBack, DeployStatus.Skipped, DeployStatus.Failed, DeployStatus.RollbackFailed }.Select(GitHubActionsRenderer.StatusIcon));
        Assert.Equal("❌", GitHubActionsRenderer.RunIcon([DeployStatus.RolledBack, DeployStatus.RollbackFailed], allSucceeded: false));
        Assert.Equal("✅", GitHubActionsRenderer.RunIcon([], allSucceeded: true));
    }

    [Fact]
    public void A_group_fences_its_host_lines_and_has_none_when_there_are_none()
    {
        var lines = GitHubActionsRenderer.Group("web: 100% done\nnext", ["::error::x"], HostText.Default).ToList();

        Assert.Equal("::group::web: 100%25 done%0Anext", lines[0]);
        Assert.StartsWith("::stop-commands::atelier-", lines[1], StringComparison.Ordinal);
        Assert.Equal(["\\::error::x", $"::{lines[1]["::stop-commands::".Length..]}::", "::endgroup::"], lines[2..]);
        Assert.Equal(["::group::empty", "::endgroup::"], GitHubActionsRenderer.Group("empty", [], HostText.Default));
    }
}
