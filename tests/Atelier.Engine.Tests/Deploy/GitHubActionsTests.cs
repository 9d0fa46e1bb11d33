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

    [Fact]
    public void The_deploy_hooks_are_groups_of_their_own_with_their_output_fenced()
    {
        var result = RolledBack();
        result.FailedStep = DeployCommands.PreRestartStep;
        result.Steps.Insert(1, new DeployStep(DeployCommands.PreRestartStep, TimeSpan.FromMilliseconds(700), 3, "migrating\n::error::not from the host"));
        result.Steps.Add(new DeployStep(DeployCommands.PostDeployStep, TimeSpan.FromMilliseconds(20), 4, "warm-up refused"));

        var lines = GitHubActions.LogLines(result).ToList();

        var pre = lines.IndexOf("::group::web: pre-restart (700 ms, exit 3)");
        Assert.True(pre > 0);
        Assert.StartsWith("::stop-commands::atelier-", lines[pre + 1], StringComparison.Ordinal);
        Assert.Equal(["migrating", @"\::error::not from the host"], lines[(pre + 2)..(pre + 4)]);
        Assert.Contains("::group::web: post-deploy (20 ms, exit 4)", lines);
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

    private static ServiceDeployResult Succeeded(string service, string host)
    {
        var result = new ServiceDeployResult
        {
            Service = service,
            ComputerName = host,
            Status = DeployStatus.Succeeded,
            PreviousCommit = "5555555555555555555555555555555555555555",
            NewCommit = "6666666666666666666666666666666666666666",
            Duration = TimeSpan.FromSeconds(2),
        };
        result.Steps.Add(new DeployStep("fetch", TimeSpan.FromMilliseconds(40), 0, "fetched"));
        result.Steps.Add(new DeployStep("build", TimeSpan.FromMilliseconds(900), 0, "built"));
        return result;
    }

    [Fact]
    public void In_a_run_of_many_each_service_is_one_group_holding_every_step_fenced_then_its_annotation()
    {
        var lines = GitHubActions.ServiceLogLines(RolledBack()).ToList();

        Assert.Equal("::group::web on terebithia: RolledBack (8.5 s)", lines[0]);
        Assert.StartsWith("::stop-commands::atelier-", lines[1], StringComparison.Ordinal);
        var token = lines[1]["::stop-commands::".Length..];
        Assert.Equal(["--- fetch (30 ms, exit 0)", "aaa", "bbb", "--- health (8000 ms)", $"::{token}::", "::endgroup::"], lines[2..8]);
        Assert.Single(lines, l => l.StartsWith("::group::", StringComparison.Ordinal));
        Assert.Equal("::error title=Deploy of web on terebithia RolledBack::health step failed: The health step failed: 500%0AThe app's last journal lines:%0Aboom", lines[^1]);
        Assert.DoesNotContain(GitHubActions.ServiceLogLines(Succeeded("api", "prattle")), l => l.StartsWith("::error", StringComparison.Ordinal));
    }

    [Fact]
    public void In_a_run_of_many_no_line_of_a_service_s_group_acts_as_a_command_or_holds_a_secret()
    {
        var lines = GitHubActions.ServiceLogLines(Noisy(), new HostText(Redaction.Parse(["site-value-42"]))).ToList();

        Assert.Empty(Atelier.Tests.Output.RunnerLog.Obeyed(lines, "group", "endgroup", "error"));
        Assert.DoesNotContain(lines, l => l.Contains("hunter2secret", StringComparison.Ordinal) || l.Contains("site-value-42", StringComparison.Ordinal));
        Assert.Contains("API_TOKEN=***", lines);
    }

    [Fact]
    public void A_run_of_many_gets_one_summary_table_with_a_row_per_service_and_why_each_failure_failed()
    {
        var actions = GitHubActions.FromEnvironment(Environment())!;
        var skipped = new ServiceDeployResult { Service = "late", ComputerName = "prattle", Status = DeployStatus.Skipped, Error = "Not started: web did not succeed." };

        actions.WriteFiles([Succeeded("api", "prattle"), RolledBack(), skipped]);

        var summary = File.ReadAllText(Path.Combine(_folder, "summary.md"));
        Assert.Single(summary.Split('\n'), l => l.StartsWith("| Service |", StringComparison.Ordinal));
        Assert.Contains("### ↩️ Deploys: 1 of 3 service(s) succeeded", summary, StringComparison.Ordinal);
        Assert.Contains("| `api` | `prattle` | ✅ Succeeded | `55555555` | `66666666` |  | 2.0 s |  |", summary, StringComparison.Ordinal);
        Assert.Contains("| `web` | `terebithia` | ↩️ RolledBack | `11111111` | `22222222` |  | 8.5 s | health |", summary, StringComparison.Ordinal);
        Assert.Contains("| `late` | `prattle` | ⏭️ Skipped |  |  |  | 0.0 s |  |", summary, StringComparison.Ordinal);
        Assert.Contains("<details><summary>Why web ended RolledBack</summary>", summary, StringComparison.Ordinal);
        Assert.Contains("<details><summary>Why late ended Skipped</summary>", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Why api", summary, StringComparison.Ordinal);

        var output = File.ReadAllLines(Path.Combine(_folder, "output.txt"));
        Assert.Equal(["status=Failed", "api_status=Succeeded", "api_previous_commit=5555555555555555555555555555555555555555", "api_new_commit=6666666666666666666666666666666666666666",
            "web_status=RolledBack", "web_previous_commit=1111111111111111111111111111111111111111", "web_new_commit=2222222222222222222222222222222222222222",
            "late_status=Skipped", "late_previous_commit=", "late_new_commit="], output);
    }

    [Fact]
    public void A_service_deployed_to_two_hosts_in_one_run_has_outputs_and_a_why_per_host()
    {
        var actions = GitHubActions.FromEnvironment(Environment())!;
        var failed = new ServiceDeployResult { Service = "web", ComputerName = "10.0.0.7", Status = DeployStatus.Failed, Error = "The fetch step failed." };

        actions.WriteFiles([Succeeded("api", "prattle"), RolledBack(), failed]);

        var summary = File.ReadAllText(Path.Combine(_folder, "summary.md"));
        Assert.Contains("<details><summary>Why web on terebithia ended RolledBack</summary>", summary, StringComparison.Ordinal);
        Assert.Contains("<details><summary>Why web on 10\\.0\\.0\\.7 ended Failed</summary>", summary, StringComparison.Ordinal);
        var output = File.ReadAllLines(Path.Combine(_folder, "output.txt"));
        Assert.Equal(["status=Failed", "api_status=Succeeded", "api_previous_commit=5555555555555555555555555555555555555555", "api_new_commit=6666666666666666666666666666666666666666",
            "web_terebithia_status=RolledBack", "web_terebithia_previous_commit=1111111111111111111111111111111111111111", "web_terebithia_new_commit=2222222222222222222222222222222222222222",
            "web_10_0_0_7_status=Failed", "web_10_0_0_7_previous_commit=", "web_10_0_0_7_new_commit="], output);
    }

    [Fact]
    public void The_summary_of_many_shows_host_text_as_code_that_nothing_breaks_out_of()
    {
        var actions = GitHubActions.FromEnvironment(Environment(), new HostText(Redaction.Parse(["site-value-42"])))!;
        var result = Noisy();
        result.Error += "\nsite-value-42";

        var summary = actions.Summary([result, Succeeded("api", "prattle")]);

        Assert.DoesNotContain("hunter2secret", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("site-value-42", summary, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', summary);
        Assert.Equal(["details", "summary", "/summary", "/details"], HtmlOutsideCode(summary));
    }
}
