using System.Globalization;
using System.Text;
using Atelier.Deploy;
using Atelier.Output;

namespace Atelier.Infra;

/// <summary>
/// What an infrastructure deploy shows in GitHub Actions (<c>GITHUB_ACTIONS=true</c>, see <see cref="GitHubActions"/>):
/// each node's deploy-rs output in its own log group, fenced by the same <see cref="WorkflowCommands"/> (written when the
/// node is done, so concurrent nodes never interleave), an <c>::error::</c> annotation for each node that did not
/// succeed, and a table in the step summary.
/// </summary>
public sealed class InfraGitHubActions
{
    private readonly string? _summaryFile;

    private InfraGitHubActions(string? summaryFile) => _summaryFile = summaryFile;

    /// <summary>The Actions context from the environment, or null outside GitHub Actions.</summary>
    public static InfraGitHubActions? FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (GitHubActions.FromEnvironment(environment) is null)
        {
            return null;
        }

        var summary = environment("GITHUB_STEP_SUMMARY");
        return new InfraGitHubActions(string.IsNullOrEmpty(summary) ? null : summary);
    }

    /// <summary>
    /// The workflow log lines of a finished run: a group per node holding its command line and its whole deploy-rs
    /// output, fenced (<see cref="WorkflowCommands.Fenced"/>: no line of it can act as a workflow command), then an error
    /// annotation per node that failed. Host text is cleaned with <paramref name="text"/> (default: the built-in redaction).
    /// </summary>
    public static IEnumerable<string> LogLines(InfraDeployRun run, HostText? text = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        text ??= HostText.Default;
        foreach (var result in run.Results)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"::group::{WorkflowCommands.EscapeData($"{result.Node}: {result.Status} (generation {Generation(result.PreviousGeneration)} -> {Generation(result.CurrentGeneration)}, {result.Duration.TotalSeconds:0.0} s)")}");
            IEnumerable<string> output = [
                .. result.CommandLine is null ? [] : new[] { "$ " + result.CommandLine },
                .. run.Logs.GetValueOrDefault(result.Node) ?? [],
                .. result.Error is null ? [] : new[] { result.Error },
            ];
            foreach (var line in WorkflowCommands.Fenced(output, text))
            {
                yield return line;
            }

            yield return "::endgroup::";
        }

        foreach (var result in run.Results.Where(r => !r.Succeeded))
        {
            yield return WorkflowCommands.Error($"Infra deploy of {result.Node} {result.Status}", text.Clean(result.Error ?? result.Status));
        }
    }

    /// <summary>The Markdown summary: one row per node (names and hosts as code).</summary>
    public static string Summary(InfraDeployRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var icon = run.Succeeded ? "✅" : run.Results.Any(r => r.Status is DeployStatus.RollbackFailed or DeployStatus.Failed) ? "❌" : "↩️";
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"### {icon} Infrastructure deploy: {run.Results.Count(r => r.Succeeded)} of {run.Results.Count} node(s) succeeded")
            .AppendLine()
            .AppendLine("| Node | Host | Status | Previous | New | Now | Duration |")
            .AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in run.Results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {Markdown.Code(r.Node, inTable: true)} | {Markdown.Code(r.ComputerName, inTable: true)} | {Markdown.Text(r.Status)} | {Generation(r.PreviousGeneration)} | {Generation(r.NewGeneration)} | {Generation(r.CurrentGeneration)} | {r.Duration.TotalSeconds:0.0} s |");
        }

        return text.AppendLine().ToString();
    }

    /// <summary>Appends the summary to the file Actions gave.</summary>
    public void WriteFiles(InfraDeployRun run)
    {
        if (_summaryFile is not null)
        {
            File.AppendAllText(_summaryFile, Summary(run));
        }
    }

    private static string Generation(int? number) => number?.ToString(CultureInfo.InvariantCulture) ?? "?";
}
