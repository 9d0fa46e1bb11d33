using System.Globalization;
using System.Text.RegularExpressions;
using Atelier.Output;

namespace Atelier.Deploy;

/// <summary>
/// The service deploys' part of the GitHub Actions renderer (<see cref="GitHubActionsRenderer"/>, which reads the
/// environment, writes the files and gives every piece its shape): what a deploy shows when it runs in GitHub Actions.
/// A log group per step (one per service in a run of many) with its output fenced, an <c>::error::</c> annotation
/// when it did not succeed, a Markdown summary appended to <c>$GITHUB_STEP_SUMMARY</c> (one table for a run of many),
/// and its status and commits written to <c>$GITHUB_OUTPUT</c>.
/// </summary>
public sealed partial class GitHubActions
{
    private readonly GitHubActionsRenderer _actions;

    private GitHubActions(GitHubActionsRenderer actions) => _actions = actions;

    /// <summary>
    /// The Actions context from the environment, or null outside GitHub Actions. <paramref name="text"/> cleans the host
    /// text it writes (default: the built-in redaction only).
    /// </summary>
    public static GitHubActions? FromEnvironment(Func<string, string?>? environment = null, HostText? text = null) =>
        GitHubActionsRenderer.FromEnvironment(environment, text) is { } actions ? new GitHubActions(actions) : null;

    /// <summary>
    /// The workflow log lines for a finished deploy: one group per step holding its output tail, fenced (see
    /// <see cref="WorkflowCommands.Fenced"/>: no line of it can act as a workflow command), and an error annotation on
    /// failure. Every piece of host text is cleaned with <paramref name="text"/> (default: the built-in redaction).
    /// </summary>
    public static IEnumerable<string> LogLines(ServiceDeployResult result, HostText? text = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        text ??= HostText.Default;
        foreach (var step in result.Steps)
        {
            foreach (var line in GitHubActionsRenderer.Group($"{result.Service}: {StepTitle(step)}", step.OutputTail.Split('\n', StringSplitOptions.RemoveEmptyEntries), text))
            {
                yield return line;
            }
        }

        if (!result.Succeeded)
        {
            yield return GitHubActionsRenderer.Annotation($"Deploy of {result.Service} {result.Status}", $"{result.FailedStep} step failed: {result.Error}", text);
        }
    }

    /// <summary>
    /// The workflow log lines of one finished service in a run of many: one group for the whole service (its steps
    /// follow one another inside it, each headed by its name, duration and exit code, with its output tail; all of it
    /// fenced, see <see cref="WorkflowCommands.Fenced"/>), then an error annotation when it did not succeed. Written when
    /// the service is done, so two services' groups never interleave.
    /// </summary>
    public static IEnumerable<string> ServiceLogLines(ServiceDeployResult result, HostText? text = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        text ??= HostText.Default;
        var body = new List<string>();
        foreach (var step in result.Steps)
        {
            body.Add("--- " + StepTitle(step));
            body.AddRange(step.OutputTail.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        if (result.Steps.Count == 0 && result.Error is not null)
        {
            body.Add(result.Error);
        }

        var title = string.Create(CultureInfo.InvariantCulture, $"{result.Service} on {result.ComputerName}: {result.Status} ({result.Duration.TotalSeconds:0.0} s)");
        foreach (var line in GitHubActionsRenderer.Group(title, body, text))
        {
            yield return line;
        }

        if (!result.Succeeded)
        {
            yield return GitHubActionsRenderer.Annotation($"{result.Operation} of {result.Service} on {result.ComputerName} {result.Status}", result.FailedStep is null ? result.Error ?? result.Status : $"{result.FailedStep} step failed: {result.Error}", text);
        }
    }

    /// <summary>
    /// The Markdown summary of a run of many services: one table, a row per service in the order given (status, host,
    /// commits, health, duration, the failed step), then why each one that did not succeed failed. Host text is cleaned
    /// and shown as code, whose delimiters nothing inside can close.
    /// </summary>
    public string Summary(IReadOnlyList<ServiceDeployResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        string Cell(string? value) => value is null ? string.Empty : _actions.CodeCell(value);
        var operation = results.Count > 0 && results.All(r => r.Operation == DeployOperation.Restore) ? "Restores" : "Deploys";
        var text = GitHubActionsRenderer.RunTable(operation, "service", results, r => r.Status, r => r.Succeeded, [
            new("Service", r => Markdown.Code(r.Service, inTable: true)),
            new("Host", r => Cell(r.ComputerName)),
            new("Status", r => $"{GitHubActionsRenderer.StatusIcon(r.Status)} {Markdown.Text(r.Status)}"),
            new("Previous", r => Cell(ShortOrNull(r.PreviousCommit))),
            new("New", r => Cell(ShortOrNull(r.NewCommit))),
            new("Health", r => r.Health is null ? string.Empty : Markdown.Text(r.Health.Status.ToString())),
            new("Duration", r => string.Create(CultureInfo.InvariantCulture, $"{r.Duration.TotalSeconds:0.0} s")),
            new("Failed step", r => r.FailedStep is null ? string.Empty : Markdown.Text(_actions.Text.Clean(r.FailedStep))),
        ]);
        var onMany = OnManyHosts(results);
        foreach (var r in results.Where(r => r.Error is not null && !r.Succeeded))
        {
            var who = onMany.Contains(r.Service) ? $"{r.Service} on {r.ComputerName}" : r.Service;
            _actions.AppendDetails(text, $"Why {Markdown.Text(who)} ended {Markdown.Text(r.Status)}", r.Error!);
        }

        return text.AppendLine().ToString();
    }

    /// <summary>
    /// Appends a run of many services to the files Actions gave: the one table (<see cref="Summary(IReadOnlyList{ServiceDeployResult})"/>),
    /// and as outputs <c>status</c> (Succeeded when every service did, else Failed) and each service's
    /// <c>&lt;service&gt;_status</c>, <c>_previous_commit</c> and <c>_new_commit</c>. A service the run deploys to more
    /// than one host has its outputs per host, <c>&lt;service&gt;_&lt;host&gt;_status</c> and so on (each character of the
    /// host that is not a letter, digit, '-' or '_' as '_'), so that none overwrites another.
    /// </summary>
    public void WriteFiles(IReadOnlyList<ServiceDeployResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        _actions.AppendSummary(Summary(results));
        var onMany = OnManyHosts(results);
        _actions.AppendOutputs([
            new("status", results.All(r => r.Succeeded) ? DeployStatus.Succeeded : DeployStatus.Failed),
            .. results.SelectMany(r =>
            {
                var name = onMany.Contains(r.Service) ? $"{r.Service}_{OutputWord().Replace(r.ComputerName, "_")}" : r.Service;
                return new GitHubActionsOutput[]
                {
                    new($"{name}_status", r.Status),
                    new($"{name}_previous_commit", r.PreviousCommit),
                    new($"{name}_new_commit", r.NewCommit),
                };
            }),
        ]);
    }

    /// <summary>The services that <paramref name="results"/> has on more than one host.</summary>
    private static HashSet<string> OnManyHosts(IReadOnlyList<ServiceDeployResult> results) =>
        results.GroupBy(r => r.Service, StringComparer.Ordinal)
            .Where(g => g.Select(r => r.ComputerName).Distinct(StringComparer.OrdinalIgnoreCase).Skip(1).Any())
            .Select(g => g.Key)
            .ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex("[^A-Za-z0-9_-]")]
    private static partial Regex OutputWord();

    /// <summary>
    /// The Markdown summary: status, duration, host, commits (with the compare link), health, and why it failed. Host
    /// text is cleaned (<see cref="HostText.Clean"/>) and shown as code, whose delimiters nothing inside can close.
    /// </summary>
    public string Summary(ServiceDeployResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var repository = _actions.RepositoryUrl;
        var text = new System.Text.StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"### {GitHubActionsRenderer.StatusIcon(result.Status)} Deploy of {Markdown.Code(result.Service)}: {Markdown.Text(result.Status)}")
            .AppendLine()
            .Append(GitHubActionsRenderer.FieldTable([
                ("Host", _actions.CodeCell(result.ComputerName)),
                ("Duration", string.Create(CultureInfo.InvariantCulture, $"{result.Duration.TotalSeconds:0.0} s")),
                ("Previous commit", _actions.CodeCell(result.PreviousCommit)),
                ("New commit", _actions.CodeCell(result.NewCommit)),
                .. repository is not null && IsCommitId(result.PreviousCommit) && IsCommitId(result.NewCommit) && result.PreviousCommit != result.NewCommit
                    ? [("Changes", $"[{Short(result.PreviousCommit!)}...{Short(result.NewCommit!)}]({repository}/compare/{result.PreviousCommit}...{result.NewCommit})")]
                    : Array.Empty<(string, string)>(),
                ("Health", result.Health is null ? "not checked" : $"{Markdown.Text(result.Health.Status.ToString())} {_actions.CodeCell(result.Health.Detail)}"),
                .. result.FailedStep is null ? [] : new[] { ("Failed step", Markdown.Text(_actions.Text.Clean(result.FailedStep))) },
            ]));
        if (result.Commits.Length > 0)
        {
            text.AppendLine().AppendLine("Commits:").AppendLine();
            foreach (var commit in result.Commits)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- {Markdown.Code(_actions.Text.Clean(commit))}");
            }
        }

        if (result.Error is not null)
        {
            _actions.AppendDetails(text, "Why it failed", result.Error);
        }

        return text.AppendLine().ToString();
    }

    /// <summary>Appends the summary and the step outputs (<c>status</c>, <c>previous_commit</c>, <c>new_commit</c> and the list <c>commits</c>) to the files Actions gave.</summary>
    public void WriteFiles(ServiceDeployResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        _actions.AppendSummary(Summary(result));
        _actions.AppendOutputs([
            new("status", result.Status),
            new("previous_commit", result.PreviousCommit),
            new("new_commit", result.NewCommit),
            new("commits", null, result.Commits),
        ]);
    }

    /// <summary>A step's name, duration and exit code, as its group (or its heading in a service's group) shows them.</summary>
    private static string StepTitle(DeployStep step) =>
        string.Create(CultureInfo.InvariantCulture, $"{step.Name} ({step.Duration.TotalMilliseconds:0} ms{(step.ExitCode is { } code ? $", exit {code}" : string.Empty)})");

    private static string Short(string commit) => commit.Length > 8 ? commit[..8] : commit;

    private static string? ShortOrNull(string? commit) => commit is null ? null : Short(commit);

    /// <summary>A full commit id (hex), as a compare link takes it.</summary>
    private static bool IsCommitId(string? commit) => commit is { Length: >= 7 and <= 64 } && commit.All(char.IsAsciiHexDigit);
}
