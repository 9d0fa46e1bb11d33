using System.Globalization;
using System.Text;
using Atelier.History;

namespace Atelier.Deploy;

/// <summary>
/// What a deploy shows when it runs in GitHub Actions (<c>GITHUB_ACTIONS=true</c>): a log group per step, an
/// <c>::error::</c> annotation when it did not succeed, a Markdown summary appended to <c>$GITHUB_STEP_SUMMARY</c>, and
/// its commits written to <c>$GITHUB_OUTPUT</c>.
/// </summary>
public sealed class GitHubActions
{
    private readonly string? _summaryFile;
    private readonly string? _outputFile;
    private readonly string? _repositoryUrl;

    private GitHubActions(string? summaryFile, string? outputFile, string? repositoryUrl)
    {
        _summaryFile = summaryFile;
        _outputFile = outputFile;
        _repositoryUrl = repositoryUrl;
    }

    /// <summary>The Actions context from the environment, or null outside GitHub Actions.</summary>
    public static GitHubActions? FromEnvironment(Func<string, string?>? environment = null)
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
            string.IsNullOrEmpty(repository) ? null : $"{server.TrimEnd('/')}/{repository}");
    }

    /// <summary>The workflow log lines for a finished deploy: one group per step, and an error annotation on failure.</summary>
    public static IEnumerable<string> LogLines(ServiceDeployResult result)
    {
        foreach (var step in result.Steps)
        {
            var exit = step.ExitCode is { } code ? $", exit {code}" : string.Empty;
            yield return string.Create(CultureInfo.InvariantCulture, $"::group::{result.Service}: {step.Name} ({step.Duration.TotalMilliseconds:0} ms{exit})");
            foreach (var line in step.OutputTail.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                yield return line;
            }

            yield return "::endgroup::";
        }

        if (!result.Succeeded)
        {
            yield return $"::error title=Deploy of {Escape(result.Service)} {result.Status}::{Escape($"{result.FailedStep} step failed: {result.Error}")}";
        }
    }

    /// <summary>The Markdown summary: status, duration, host, commits (with the compare link), health.</summary>
    public string Summary(ServiceDeployResult result)
    {
        var icon = result.Status switch
        {
            DeployStatus.Succeeded => "✅",
            DeployStatus.NoChange => "➖",
            DeployStatus.RolledBack => "↩️",
            _ => "❌",
        };
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"### {icon} Deploy of `{result.Service}`: {result.Status}")
            .AppendLine()
            .AppendLine("| | |")
            .AppendLine("|---|---|")
            .AppendLine(CultureInfo.InvariantCulture, $"| Host | `{result.ComputerName}` |")
            .AppendLine(CultureInfo.InvariantCulture, $"| Duration | {result.Duration.TotalSeconds:0.0} s |")
            .AppendLine(CultureInfo.InvariantCulture, $"| Previous commit | `{result.PreviousCommit}` |")
            .AppendLine(CultureInfo.InvariantCulture, $"| New commit | `{result.NewCommit}` |");
        if (_repositoryUrl is not null && result.PreviousCommit is not null && result.NewCommit is not null && result.PreviousCommit != result.NewCommit)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| Changes | [{Short(result.PreviousCommit)}...{Short(result.NewCommit)}]({_repositoryUrl}/compare/{result.PreviousCommit}...{result.NewCommit}) |");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"| Health | {(result.Health is null ? "not checked" : $"{result.Health.Status} ({result.Health.Detail})")} |");
        if (result.FailedStep is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| Failed step | {result.FailedStep} |");
        }

        if (result.Commits.Length > 0)
        {
            text.AppendLine().AppendLine("Commits:").AppendLine();
            foreach (var commit in result.Commits)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- `{commit}`");
            }
        }

        if (result.Error is not null)
        {
            text.AppendLine().AppendLine("<details><summary>Why it failed</summary>").AppendLine().AppendLine("```").AppendLine(result.Error).AppendLine("```").AppendLine("</details>");
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
                output.AppendLine(commit);
            }

            File.AppendAllText(_outputFile, output.AppendLine(delimiter).ToString());
        }
    }

    private static string Short(string commit) => commit.Length > 8 ? commit[..8] : commit;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Workflow-command escaping of a message (%, CR, LF).</summary>
    internal static string Escape(string text) =>
        text.Replace("%", "%25", StringComparison.Ordinal).Replace("\r", "%0D", StringComparison.Ordinal).Replace("\n", "%0A", StringComparison.Ordinal);
}
