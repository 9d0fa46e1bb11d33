using System.Text.RegularExpressions;

namespace Atelier.Infra;

/// <summary>
/// Reads deploy-rs's output: its log lines look like <c>🚀 ❌ [deploy] [ERROR] Deployment to node x failed, rolled back
/// to previous generation</c>, coloured when it writes to a terminal. deploy-rs can exit 0 after a failed node (it logs
/// the error and stops), so the outcome comes from the exit code and the lines together.
/// </summary>
public static partial class DeployRsOutput
{
    [GeneratedRegex(@"\x1B\[[0-9;?]*[ -/]*[@-~]|\x1B[@-Z\\-_]")]
    private static partial Regex AnsiEscape();

    [GeneratedRegex(@"\[(?<source>[a-z]+)\]\s*\[\s*ERROR\s*\]\s*(?<message>.*)$")]
    private static partial Regex ErrorLine();

    [GeneratedRegex(@"rolled back to previous generation|De-activating due to error|Attempting to re-activate the last generation", RegexOptions.IgnoreCase)]
    private static partial Regex RollbackLine();

    /// <summary>A line without its terminal colour codes.</summary>
    public static string Plain(string line) => AnsiEscape().Replace(line, string.Empty);

    /// <summary>The message of an <c>[ERROR]</c> line (<c>[deploy] [ERROR] x</c> gives <c>x</c>), or null for any other line.</summary>
    public static string? ErrorMessage(string line)
    {
        var match = ErrorLine().Match(Plain(line));
        return match.Success ? $"[{match.Groups["source"].Value}] {match.Groups["message"].Value.Trim()}" : null;
    }

    /// <summary>Whether a line says deploy-rs rolled the profile back itself (auto or magic rollback).</summary>
    public static bool IsRollback(string line) => RollbackLine().IsMatch(Plain(line));

    /// <summary>
    /// The verdict on one finished run: it succeeded only with exit code 0, no <c>[ERROR]</c> line and no rollback by
    /// deploy-rs. The error names the exit code and the <c>[ERROR]</c> lines.
    /// </summary>
    public static (bool Succeeded, bool RolledBackByDeployRs, string? Error) Judge(int exitCode, IEnumerable<string> lines)
    {
        var errors = new List<string>();
        var rolledBack = false;
        foreach (var line in lines)
        {
            if (ErrorMessage(line) is { } message)
            {
                errors.Add(message);
            }

            rolledBack |= IsRollback(line);
        }

        if (exitCode == 0 && errors.Count == 0 && !rolledBack)
        {
            return (true, false, null);
        }

        var why = exitCode == 0 ? "deploy-rs exited 0 but reported a failure" : $"deploy-rs exited with code {exitCode}";
        if (rolledBack)
        {
            why += ", after rolling the node back itself";
        }

        return (false, rolledBack, errors.Count == 0 ? why + "." : $"{why}: {string.Join(" / ", errors.Distinct().TakeLast(3))}");
    }
}
