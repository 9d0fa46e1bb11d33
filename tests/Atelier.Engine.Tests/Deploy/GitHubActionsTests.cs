using Atelier.Deploy;
using Atelier.History;

namespace Atelier.Tests.Deploy;

public sealed class GitHubActionsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("atelier-actions-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static ServiceDeployResult RolledBack()
    {
        var result = new ServiceDeployResult
        {
            Service = "web",
            ComputerName = "terebithia",
            Status = DeployStatus.RolledBack,
            PreviousCommit = "1111111111111111111111111111111111111111",
            NewCommit = "2222222222222222222222222222222222222222",
            Commits = ["2222222 Break the health check", "3333333 100% more"],
            FailedStep = "health",
            Error = "The health step failed: 500\nThe app's last journal lines:\nboom",
            Duration = TimeSpan.FromSeconds(8.5),
        };
        result.Steps.Add(new DeployStep("fetch", TimeSpan.FromMilliseconds(30), 0, "aaa\nbbb"));
        result.Steps.Add(new DeployStep("health", TimeSpan.FromSeconds(8), null, string.Empty));
        return result;
    }

    private Func<string, string?> Environment(bool actions = true) => name => name switch
    {
        "GITHUB_ACTIONS" => actions ? "true" : null,
        "GITHUB_STEP_SUMMARY" => Path.Combine(_folder, "summary.md"),
        "GITHUB_OUTPUT" => Path.Combine(_folder, "output.txt"),
        "GITHUB_SERVER_URL" => "https://github.com",
        "GITHUB_REPOSITORY" => "owner/web",
        _ => null,
    };

    [Fact]
    public void Outside_GitHub_Actions_there_is_nothing_to_write() => Assert.Null(GitHubActions.FromEnvironment(Environment(actions: false)));

    [Fact]
    public void Each_step_is_a_group_and_a_failure_is_one_escaped_error_annotation()
    {
        var lines = GitHubActions.LogLines(RolledBack()).ToList();

        Assert.Equal(["::group::web: fetch (30 ms, exit 0)", "aaa", "bbb", "::endgroup::", "::group::web: health (8000 ms)", "::endgroup::"], lines.Take(6));
        var error = Assert.Single(lines, l => l.StartsWith("::error", StringComparison.Ordinal));
        Assert.Equal("::error title=Deploy of web RolledBack::health step failed: The health step failed: 500%0AThe app's last journal lines:%0Aboom", error);
    }

    [Fact]
    public void A_successful_deploy_has_no_annotation()
    {
        var result = RolledBack();
        result.Status = DeployStatus.Succeeded;

        Assert.DoesNotContain(GitHubActions.LogLines(result), l => l.StartsWith("::error", StringComparison.Ordinal));
    }

    [Fact]
    public void The_summary_and_the_outputs_are_appended_to_the_files_Actions_gives()
    {
        var actions = GitHubActions.FromEnvironment(Environment())!;
        File.WriteAllText(Path.Combine(_folder, "summary.md"), "earlier step\n");

        actions.WriteFiles(RolledBack());

        var summary = File.ReadAllText(Path.Combine(_folder, "summary.md"));
        Assert.StartsWith("earlier step\n", summary, StringComparison.Ordinal);
        Assert.Contains("Deploy of `web`: RolledBack", summary, StringComparison.Ordinal);
        Assert.Contains("(https://github.com/owner/web/compare/1111111111111111111111111111111111111111...2222222222222222222222222222222222222222)", summary, StringComparison.Ordinal);
        Assert.Contains("- `3333333 100% more`", summary, StringComparison.Ordinal);
        Assert.Contains("| Failed step | health |", summary, StringComparison.Ordinal);

        var output = File.ReadAllLines(Path.Combine(_folder, "output.txt"));
        Assert.Contains("status=RolledBack", output);
        Assert.Contains("previous_commit=1111111111111111111111111111111111111111", output);
        var start = Array.FindIndex(output, l => l.StartsWith("commits<<", StringComparison.Ordinal));
        var delimiter = output[start]["commits<<".Length..];
        Assert.Equal(["2222222 Break the health check", "3333333 100% more", delimiter], output[(start + 1)..]);
    }
}
