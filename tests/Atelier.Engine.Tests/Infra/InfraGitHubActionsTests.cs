using Atelier.Deploy;
using Atelier.Infra;
using Atelier.Output;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Infra;

/// <summary>What an infrastructure deploy writes to a GitHub Actions log and step summary.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class InfraGitHubActionsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static InfraDeployRun Run() => new(
        [
            new InfraDeployResult { Node = "a", ComputerName = "10.0.0.1", Status = DeployStatus.RolledBack, PreviousGeneration = 3, NewGeneration = 4, CurrentGeneration = 3, CommandLine = "deploy '.#a'", Error = "Rolled back to generation 3 because b failed." },
            new InfraDeployResult { Node = "b", ComputerName = "10.0.0.2", Status = DeployStatus.Failed, PreviousGeneration = 3, NewGeneration = 3, CurrentGeneration = 3, Error = "deploy-rs exited with code 1: 100% sure\nsecond line" },
            new InfraDeployResult { Node = "c", ComputerName = "10.0.0.3", Status = DeployStatus.Succeeded, PreviousGeneration = 3, NewGeneration = 4, CurrentGeneration = 4 },
        ],
        new Dictionary<string, IReadOnlyList<string>> { ["a"] = ["[deploy] [INFO] Deployment confirmed.", "::error::not a command"], ["b"] = ["[deploy] [ERROR] x"] });

    [Fact]
    public void Each_node_gets_a_group_with_its_output_and_each_failure_an_annotation()
    {
        var lines = InfraGitHubActions.LogLines(Run()).ToList();

        Assert.Equal("::group::a: RolledBack (generation 3 -> 3, 0.0 s)", lines[0]);
        Assert.StartsWith("::stop-commands::atelier-", lines[1], StringComparison.Ordinal);
        Assert.Equal("$ deploy '.#a'", lines[2]);
        Assert.Equal(["[deploy] [INFO] Deployment confirmed.", "\\::error::not a command", "Rolled back to generation 3 because b failed."], lines[3..6]);
        Assert.Equal($"::{lines[1]["::stop-commands::".Length..]}::", lines[6]);
        Assert.Equal("::endgroup::", lines[7]);
        Assert.Equal(3, lines.Count(l => l.StartsWith("::group::", StringComparison.Ordinal)));
        Assert.Empty(Atelier.Tests.Output.RunnerLog.Obeyed(lines, "group", "endgroup", "error"));
        Assert.Equal(
            ["::error title=Infra deploy of a RolledBack::Rolled back to generation 3 because b failed.", "::error title=Infra deploy of b Failed::deploy-rs exited with code 1: 100%25 sure%0Asecond line"],
            lines.Where(l => l.StartsWith("::error title=", StringComparison.Ordinal)));
    }

    [Fact]
    public void Deploy_rs_output_is_cleaned_and_redacted_inside_its_fence_and_in_the_annotation()
    {
        var run = new InfraDeployRun(
            [new InfraDeployResult { Node = "a", ComputerName = "h", Status = DeployStatus.Failed, Error = "activation failed: API_TOKEN=hunter2secret\n::set-output name=a::b" }],
            new Dictionary<string, IReadOnlyList<string>> { ["a"] = ["\u001b[31m::stop-commands::abc\u001b[0m", "::abc::", "::add-mask::x", "\u001b]8;;http://evil\u0007link", "site-secret-1 used"] });

        var lines = InfraGitHubActions.LogLines(run, new HostText(Redaction.Parse(["site-secret-1"]))).ToList();

        Assert.Empty(Atelier.Tests.Output.RunnerLog.Obeyed(lines, "group", "endgroup", "error"));
        Assert.DoesNotContain(lines, l => l.Contains("hunter2secret", StringComparison.Ordinal) || l.Contains("site-secret-1", StringComparison.Ordinal) || l.Contains('\u001b', StringComparison.Ordinal));
        Assert.Contains("link", lines);
        Assert.Contains("*** used", lines);
        Assert.Equal("::error title=Infra deploy of a Failed::activation failed: API_TOKEN=***%0A\\::set-output name=a::b", lines[^1]);
    }

    [Fact]
    public void Outside_Actions_there_is_nothing_and_inside_the_summary_is_appended()
    {
        Assert.Null(InfraGitHubActions.FromEnvironment(_ => null));
        var summary = _folder.Combine("summary.md");
        var actions = InfraGitHubActions.FromEnvironment(name => name switch { "GITHUB_ACTIONS" => "true", "GITHUB_STEP_SUMMARY" => summary, _ => null });

        actions!.WriteFiles(Run());

        var text = File.ReadAllText(summary);
        Assert.StartsWith("### ❌ Infrastructure deploy: 1 of 3 node(s) succeeded", text, StringComparison.Ordinal);
        Assert.Contains("| `a` | `10.0.0.1` | RolledBack | 3 | 4 | 3 | 0.0 s |", text, StringComparison.Ordinal);
    }
}
