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
    /// The Markdown summary: status, duration, host, commits (with the compare link), health, and why it failed. Host
    /// text is cleaned (<see cref="HostText.Clean"/>) and shown as code, whose delimiters nothing inside can close.
    /// </summary>
    public string Summary(ServiceDeployResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var icon = result.Status switch
        {
            DeployStatus.Succeeded => "✅",
            DeployStatus.NoChange => "➖",
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

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>A full commit id (hex), as a compare link takes it.</summary>
    private static bool IsCommitId(string? commit) => commit is { Length: >= 7 and <= 64 } && commit.All(char.IsAsciiHexDigit);
}
