using System.Globalization;
using System.Text;
using Atelier.History;
using Atelier.Output;

namespace Atelier.Deploy;

/// <summary>
/// What a deploy shows when it runs in GitHub Actions (<c>GITHUB_ACTIONS=true</c>): a log group per step with its
/// output fenced, an <c>::error::</c> annotation when it did not succeed, a Markdown summary appended to
/// <c>$GITHUB_STEP_SUMMARY</c>, and its commits written to <c>$GITHUB_OUTPUT</c>. Host text in any of them is cleaned
/// and redacted (<see cref="HostText"/>) and escaped for where it goes (<see cref="WorkflowCommands"/>, <see cref="Markdown"/>).
/// </summary>
public sealed class GitHubActions
{
    private readonly string? _summaryFile;
    private readonly string? _outputFile;
    private readonly string? _repositoryUrl;
    private readonly HostText _text;

    private GitHubActions(string? summaryFile, string? outputFile, string? repositoryUrl, HostText text)
    {
        _summaryFile = summaryFile;
        _outputFile = outputFile;
        _repositoryUrl = repositoryUrl;
        _text = text;
    }

    /// <summary>
    /// The Actions context from the environment, or null outside GitHub Actions. <paramref name="text"/> cleans the host
    /// text it writes (default: the built-in redaction only).
    /// </summary>
    public static GitHubActions? FromEnvironment(Func<string, string?>? environment = null, HostText? text = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (!string.Equals(environment("GITHUB_ACTIONS"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var server = environment("GITHUB_SERVER_URL") ?? "https://github.com";
        var repository = environment("GITHUB_REPOSITORY");
        return new GitHubActions(
            NullIfEmpty(environment("GITHUB_STEP_SUMMARY")),
            NullIfEmpty(environment("GITHUB_OUTPUT")),
            string.IsNullOrEmpty(repository) ? null : $"{server.TrimEnd('/')}/{repository}",
            text ?? HostText.Default);
    }

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
            var exit = step.ExitCode is { } code ? $", exit {code}" : string.Empty;
            yield return string.Create(CultureInfo.InvariantCulture, $"::group::{WorkflowCommands.EscapeData($"{result.Service}: {step.Name} ({step.Duration.TotalMilliseconds:0} ms{exit})")}");
            foreach (var line in WorkflowCommands.Fenced(step.OutputTail.Split('\n', StringSplitOptions.RemoveEmptyEntries), text))
            {
                yield return line;
            }

            yield return "::endgroup::";
        }

        if (!result.Succeeded)
        {
            yield return WorkflowCommands.Error($"Deploy of {result.Service} {result.Status}", text.Clean($"{result.FailedStep} step failed: {result.Error}"));
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
        yield return string.Create(CultureInfo.InvariantCulture, $"::group::{WorkflowCommands.EscapeData($"{result.Service} on {result.ComputerName}: {result.Status} ({result.Duration.TotalSeconds:0.0} s)")}");
        var body = new List<string>();
        foreach (var step in result.Steps)
        {
            var exit = step.ExitCode is { } code ? $", exit {code}" : string.Empty;
            body.Add(string.Create(CultureInfo.InvariantCulture, $"--- {step.Name} ({step.Duration.TotalMilliseconds:0} ms{exit})"));
            body.AddRange(step.OutputTail.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        if (result.Steps.Count == 0 && result.Error is not null)
        {
            body.Add(result.Error);
        }

        foreach (var line in WorkflowCommands.Fenced(body, text))
        {
            yield return line;
        }

        yield return "::endgroup::";
        if (!result.Succeeded)
        {
            yield return WorkflowCommands.Error($"{result.Operation} of {result.Service} {result.Status}", text.Clean(result.FailedStep is null ? result.Error ?? result.Status : $"{result.FailedStep} step failed: {result.Error}"));
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
        string Cell(string? value) => value is null ? string.Empty : Markdown.Code(_text.Clean(value), inTable: true);
        var succeeded = results.Count(r => r.Succeeded);
        var icon = succeeded == results.Count ? "✅" : results.Any(r => r.Status is DeployStatus.RollbackFailed or DeployStatus.Failed) ? "❌" : "↩️";
        var operation = results.Count > 0 && results.All(r => r.Operation == DeployOperation.Restore) ? "Restores" : "Deploys";
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"### {icon} {operation}: {succeeded} of {results.Count} service(s) succeeded")
            .AppendLine()
            .AppendLine("| Service | Host | Status | Previous | New | Health | Duration | Failed step |")
            .AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var health = r.Health is null ? string.Empty : Markdown.Text(r.Health.Status.ToString());
            text.AppendLine(CultureInfo.InvariantCulture, $"| {Markdown.Code(r.Service, inTable: true)} | {Cell(r.ComputerName)} | {StatusIcon(r.Status)} {Markdown.Text(r.Status)} | {Cell(ShortOrNull(r.PreviousCommit))} | {Cell(ShortOrNull(r.NewCommit))} | {health} | {r.Duration.TotalSeconds:0.0} s | {(r.FailedStep is null ? string.Empty : Markdown.Text(_text.Clean(r.FailedStep)))} |");
        }

        foreach (var r in results.Where(r => r.Error is not null && !r.Succeeded))
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"<details><summary>Why {Markdown.Text(r.Service)} ended {Markdown.Text(r.Status)}</summary>").AppendLine().Append(Markdown.CodeBlock(_text.Clean(r.Error))).AppendLine().AppendLine("</details>");
        }

        return text.AppendLine().ToString();
    }

    /// <summary>
    /// Appends a run of many services to the files Actions gave: the one table (<see cref="Summary(IReadOnlyList{ServiceDeployResult})"/>),
    /// and as outputs <c>status</c> (Succeeded when every service did, else Failed) and each service's
    /// <c>&lt;service&gt;_status</c>, <c>_previous_commit</c> and <c>_new_commit</c>.
    /// </summary>
    public void WriteFiles(IReadOnlyList<ServiceDeployResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (_summaryFile is not null)
        {
            File.AppendAllText(_summaryFile, Summary(results));
        }

        if (_outputFile is not null)
        {
            var output = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"status={(results.All(r => r.Succeeded) ? DeployStatus.Succeeded : DeployStatus.Failed)}");
            foreach (var r in results)
            {
                output.AppendLine(CultureInfo.InvariantCulture, $"{r.Service}_status={r.Status}")
                    .AppendLine(CultureInfo.InvariantCulture, $"{r.Service}_previous_commit={r.PreviousCommit}")
                    .AppendLine(CultureInfo.InvariantCulture, $"{r.Service}_new_commit={r.NewCommit}");
            }

            File.AppendAllText(_outputFile, output.ToString());
        }
    }

    private static string StatusIcon(string status) => status switch
    {
        DeployStatus.Succeeded => "✅",
        DeployStatus.Unchanged => "➖",
        DeployStatus.RolledBack => "↩️",
        DeployStatus.Skipped => "⏭️",
        _ => "❌",
    };

    /// <summary>
    /// The Markdown summary: status, duration, host, commits (with the compare link), health, and why it failed. Host
    /// text is cleaned (<see cref="HostText.Clean"/>) and shown as code, whose delimiters nothing inside can close.
    /// </summary>
    public string Summary(ServiceDeployResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var icon = result.Status switch
        {
            DeployStatus.Succeeded => "✅",
            DeployStatus.Unchanged => "➖",
            DeployStatus.RolledBack => "↩️",
            _ => "❌",
        };
        string Cell(string? value) => Markdown.Code(_text.Clean(value), inTable: true);
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"### {icon} Deploy of {Markdown.Code(result.Service)}: {Markdown.Text(result.Status)}")
            .AppendLine()
            .AppendLine("| | |")
            .AppendLine("|---|---|")
            .AppendLine(CultureInfo.InvariantCulture, $"| Host | {Cell(result.ComputerName)} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| Duration | {result.Duration.TotalSeconds:0.0} s |")
            .AppendLine(CultureInfo.InvariantCulture, $"| Previous commit | {Cell(result.PreviousCommit)} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| New commit | {Cell(result.NewCommit)} |");
        if (_repositoryUrl is not null && IsCommitId(result.PreviousCommit) && IsCommitId(result.NewCommit) && result.PreviousCommit != result.NewCommit)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| Changes | [{Short(result.PreviousCommit!)}...{Short(result.NewCommit!)}]({_repositoryUrl}/compare/{result.PreviousCommit}...{result.NewCommit}) |");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"| Health | {(result.Health is null ? "not checked" : $"{Markdown.Text(result.Health.Status.ToString())} {Cell(result.Health.Detail)}")} |");
        if (result.FailedStep is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| Failed step | {Markdown.Text(_text.Clean(result.FailedStep))} |");
        }

        if (result.Commits.Length > 0)
        {
            text.AppendLine().AppendLine("Commits:").AppendLine();
            foreach (var commit in result.Commits)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- {Markdown.Code(_text.Clean(commit))}");
            }
        }

        if (result.Error is not null)
        {
            text.AppendLine().AppendLine("<details><summary>Why it failed</summary>").AppendLine().Append(Markdown.CodeBlock(_text.Clean(result.Error))).AppendLine().AppendLine("</details>");
        }

        return text.AppendLine().ToString();
    }

    /// <summary>Appends the summary and the step outputs to the files Actions gave.</summary>
    public void WriteFiles(ServiceDeployResult result)
    {
        if (_summaryFile is not null)
        {
            File.AppendAllText(_summaryFile, Summary(result));
        }

        if (_outputFile is not null)
        {
            var delimiter = "ATELIER_" + Guid.NewGuid().ToString("N");
            var output = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"status={result.Status}")
                .AppendLine(CultureInfo.InvariantCulture, $"previous_commit={result.PreviousCommit}")
                .AppendLine(CultureInfo.InvariantCulture, $"new_commit={result.NewCommit}")
                .AppendLine(CultureInfo.InvariantCulture, $"commits<<{delimiter}");
            foreach (var commit in result.Commits)
            {
                output.AppendLine(_text.Clean(commit).Replace('\n', ' '));
            }

            File.AppendAllText(_outputFile, output.AppendLine(delimiter).ToString());
        }
    }

    private static string Short(string commit) => commit.Length > 8 ? commit[..8] : commit;

    private static string? ShortOrNull(string? commit) => commit is null ? null : Short(commit);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>A full commit id (hex), as a compare link takes it.</summary>
    private static bool IsCommitId(string? commit) => commit is { Length: >= 7 and <= 64 } && commit.All(char.IsAsciiHexDigit);
}
