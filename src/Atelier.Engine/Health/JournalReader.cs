using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Health;

/// <summary>
/// A unit's last journal lines, read as the service's user, with the first of these that gives any:
/// <list type="number">
/// <item><c>journalctl -u &lt;name&gt;.service -n 20</c>, when the user may read the system journal (group
/// <c>systemd-journal</c>, <c>adm</c> or <c>wheel</c>): the only form that shows earlier runs of a crash-looping unit, and
/// the last words of a process that exits right after writing them (journald cannot tie those to the unit's
/// invocation, so <c>systemctl status</c> leaves them out);</item>
/// <item><c>sudo -n /run/current-system/sw/bin/systemctl status &lt;name&gt;.service</c>, the one form the service's
/// sudo rule allows, whose journal (the current invocation's) follows the first blank line;</item>
/// <item><c>systemctl status</c> without sudo.</item>
/// </list>
/// Never throws for a host that refuses all three: the journal is then empty.
/// </summary>
public static class JournalReader
{
    /// <summary>The systemctl the anchor's sudo rule names (a link to the real one on a NixOS host).</summary>
    public const string NixSystemctl = "/run/current-system/sw/bin/systemctl";

    /// <summary>How many times the forms are asked when they run but show no lines.</summary>
    public const int Attempts = 3;

    /// <summary>The wait before asking again.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(600);

    private static readonly string[] Noise = ["Warning:", "Hint:", "Notice:", "-- No entries --", "No journal files were"];

    /// <summary>The three commands, in the order they are tried.</summary>
    public static IReadOnlyList<ShellCommand> Commands(string service, int lines)
    {
        var unit = SystemdProbe.UnitName(service);
        return
        [
            ShellCommand.Format($"journalctl -u {unit} -n {lines} --no-pager -q"),
            ShellCommand.Format($"sudo -n {NixSystemctl} status {unit}"),
            ShellCommand.Format($"systemctl status {unit} -n {lines} --no-pager"),
        ];
    }

    /// <summary>
    /// Up to <paramref name="lines"/> of the unit's last journal lines; empty when none could be read. When a form runs
    /// but shows no lines (a unit between two runs of a crash loop: the new run has logged nothing yet), it is asked
    /// again after <see cref="RetryDelay"/>, at most <see cref="Attempts"/> times in all.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task<string[]> ReadAsync(IRemoteHost host, string service, int lines, CommandOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var commands = Commands(service, lines);
        for (var attempt = 1; ; attempt++)
        {
            var anyRan = false;
            for (var i = 0; i < commands.Count; i++)
            {
                CommandResult result;
                try
                {
                    result = await host.RunAsync(commands[i], options, cancellationToken).ConfigureAwait(false);
                }
                catch (RemoteCommandTimeoutException)
                {
                    continue;
                }

                // systemctl status exits 3 for a unit that is not active: its output is still the status and journal.
                var usable = result.ExitCode == 0 || (i != 0 && result.ExitCode == 3);
                anyRan |= usable;
                var found = !usable ? [] : i == 0 ? Clean(result.Output.Split('\n')) : AfterFirstBlankLine(result.Output);
                if (found.Length > 0)
                {
                    return found.TakeLast(lines).ToArray();
                }
            }

            if (!anyRan || attempt >= Attempts)
            {
                return [];
            }

            await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The journal part of <c>systemctl status</c>: the non-empty lines after the first blank line.</summary>
    public static string[] AfterFirstBlankLine(string statusOutput)
    {
        ArgumentNullException.ThrowIfNull(statusOutput);
        var all = statusOutput.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n');
        var blank = Array.FindIndex(all, l => l.Trim().Length == 0);
        return blank < 0 ? [] : Clean(all.Skip(blank + 1));
    }

    private static string[] Clean(IEnumerable<string> lines) =>
        lines.Select(l => l.TrimEnd())
            .Where(l => l.Length > 0 && !Noise.Any(n => l.StartsWith(n, StringComparison.Ordinal)))
            .ToArray();
}
