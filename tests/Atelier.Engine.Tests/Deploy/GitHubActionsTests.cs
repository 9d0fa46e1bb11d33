using Atelier.Deploy;
using Atelier.History;
using Atelier.Output;

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
    public void Each_step_is_a_group_with_its_output_fenced_and_a_failure_is_one_escaped_error_annotation()
    {
        var lines = GitHubActions.LogLines(RolledBack()).ToList();

        Assert.Equal("::group::web: fetch (30 ms, exit 0)", lines[0]);
        Assert.StartsWith("::stop-commands::atelier-", lines[1], StringComparison.Ordinal);
        Assert.Equal(["aaa", "bbb", $"::{lines[1]["::stop-commands::".Length..]}::", "::endgroup::", "::group::web: health (8000 ms)", "::endgroup::"], lines[2..8]);
        var error = Assert.Single(lines, l => l.StartsWith("::error", StringComparison.Ordinal));
        Assert.Equal("::error title=Deploy of web RolledBack::health step failed: The health step failed: 500%0AThe app's last journal lines:%0Aboom", error);
    }

    /// <summary>A build that prints workflow commands, terminal escapes and a secret, and a commit subject that tries to break out.</summary>
    private static ServiceDeployResult Noisy()
    {
        var result = RolledBack();
        result.Commits = ["4444444 Subject with `backticks` <b>bold</b> [x](http://evil) | pipe \u001b]8;;http://evil\u0007link\u001b]8;;\u0007 \u001b[31mred"];
        result.FailedStep = "build";
        result.Error = "The build step failed: exit code 1:\n::error::x\n::set-output name=a::b\n::add-mask::x\n::stop-commands::abc\n\u001b[31mred\u001b[0m\nAPI_TOKEN=hunter2secret\n```\n</details><img src=x onerror=alert(1)>";
        result.Steps.Insert(1, new DeployStep("build", TimeSpan.FromSeconds(1), 1, "::error::x\n::set-output name=a::b\n::add-mask::x\n::stop-commands::abc\n::abc::\n##[error]v1\n\u001b[31mred\u001b[0m \u001b]8;;http://evil\u0007link\nAPI_TOKEN=hunter2secret\nsite-value-42"));
        return result;
    }

    [Fact]
    public void No_line_of_the_log_acts_as_a_command_but_Atelier_s_own_and_none_holds_a_secret_or_an_escape()
    {
        var text = new HostText(Redaction.Parse(["site-value-42"]));

        var lines = GitHubActions.LogLines(Noisy(), text).ToList();

        Assert.Empty(Atelier.Tests.Output.RunnerLog.Obeyed(lines, "group", "endgroup", "error"));
        Assert.DoesNotContain(lines, l => l.Contains("hunter2secret", StringComparison.Ordinal) || l.Contains("site-value-42", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Any(c => c < ' ' && c != '\t'));
        Assert.Contains("API_TOKEN=***", lines);
        Assert.Contains("red link", lines);
        Assert.Single(lines, l => l.StartsWith("::error", StringComparison.Ordinal));
    }

    [Fact]
    public void The_summary_shows_host_text_as_code_that_nothing_breaks_out_of()
    {
        var actions = GitHubActions.FromEnvironment(Environment(), new HostText(Redaction.Parse(["site-value-42"])))!;
        var result = Noisy();
        result.Error += "\nsite-value-42";

        var summary = actions.Summary(result);

        Assert.Contains("- ``4444444 Subject with `backticks` <b>bold</b> [x](http://evil) | pipe link red``", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2secret", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("site-value-42", summary, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', summary);
        Assert.Contains("````\nThe build step failed", summary, StringComparison.Ordinal);
        Assert.Equal(["details", "summary", "/summary", "/details"], HtmlOutsideCode(summary));
    }

    [Fact]
    public void The_outputs_hold_each_commit_cleaned_on_one_line()
    {
        var actions = GitHubActions.FromEnvironment(Environment())!;
        var result = Noisy();
        result.Commits = ["5555555 a\u001b[31m red\rsubject API_TOKEN=hunter2secret"];

        actions.WriteFiles(result);

        var output = File.ReadAllLines(Path.Combine(_folder, "output.txt"));
        var start = Array.FindIndex(output, l => l.StartsWith("commits<<", StringComparison.Ordinal));
        Assert.Equal(["5555555 a redsubject API_TOKEN=***", output[start]["commits<<".Length..]], output[(start + 1)..]);
    }

    /// <summary>The HTML tags a Markdown renderer would see: those outside code spans and fenced blocks.</summary>
    private static List<string> HtmlOutsideCode(string markdown)
    {
        var outside = System.Text.RegularExpressions.Regex.Replace(markdown, @"^(`{3,})\n[\s\S]*?\n\1$", string.Empty, System.Text.RegularExpressions.RegexOptions.Multiline);
        outside = System.Text.RegularExpressions.Regex.Replace(outside, @"(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)", string.Empty);
        return [.. System.Text.RegularExpressions.Regex.Matches(outside, @"<(/?[a-zA-Z]+)").Select(m => m.Groups[1].Value)];
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
