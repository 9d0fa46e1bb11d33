using System.Globalization;
using Atelier.Output;

namespace Atelier.Infra;

/// <summary>
/// The infrastructure deploys' part of the GitHub Actions renderer (<see cref="GitHubActionsRenderer"/>, which reads the
/// environment, writes the files and gives every piece its shape, as for services): each node's deploy-rs output in its
/// own log group, fenced (written when the node is done, so concurrent nodes never interleave), an <c>::error::</c>
/// annotation for each node that did not succeed, and a table in the step summary.
/// </summary>
public sealed class InfraGitHubActions
{
    private readonly GitHubActionsRenderer _actions;

    private InfraGitHubActions(GitHubActionsRenderer actions) => _actions = actions;

    /// <summary>The Actions context from the environment, or null outside GitHub Actions.</summary>
    public static InfraGitHubActions? FromEnvironment(Func<string, string?>? environment = null) =>
        GitHubActionsRenderer.FromEnvironment(environment) is { } actions ? new InfraGitHubActions(actions) : null;

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
            var title = string.Create(CultureInfo.InvariantCulture, $"{result.Node}: {result.Status} (generation {Generation(result.PreviousGeneration)} -> {Generation(result.CurrentGeneration)}, {result.Duration.TotalSeconds:0.0} s)");
            IEnumerable<string> output = [
                .. result.CommandLine is null ? [] : new[] { "$ " + result.CommandLine },
                .. run.Logs.GetValueOrDefault(result.Node) ?? [],
                .. result.Error is null ? [] : new[] { result.Error },
            ];
            foreach (var line in GitHubActionsRenderer.Group(title, output, text))
            {
                yield return line;
            }
        }

        foreach (var result in run.Results.Where(r => !r.Succeeded))
        {
            yield return GitHubActionsRenderer.Annotation($"Infra deploy of {result.Node} {result.Status}", result.Error ?? result.Status, text);
        }
    }

    /// <summary>The Markdown summary: one row per node (names and hosts as code).</summary>
    public static string Summary(InfraDeployRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return GitHubActionsRenderer.RunTable("Infrastructure deploy", "node", run.Results, r => r.Status, r => r.Succeeded, [
            new("Node", r => Markdown.Code(r.Node, inTable: true)),
            new("Host", r => Markdown.Code(r.ComputerName, inTable: true)),
            new("Status", r => Markdown.Text(r.Status)),
            new("Previous", r => Generation(r.PreviousGeneration)),
            new("New", r => Generation(r.NewGeneration)),
            new("Now", r => Generation(r.CurrentGeneration)),
            new("Duration", r => string.Create(CultureInfo.InvariantCulture, $"{r.Duration.TotalSeconds:0.0} s")),
        ]).AppendLine().ToString();
    }

    /// <summary>Appends the summary to the file Actions gave.</summary>
    public void WriteFiles(InfraDeployRun run) => _actions.AppendSummary(Summary(run));

    private static string Generation(int? number) => number?.ToString(CultureInfo.InvariantCulture) ?? "?";
}
