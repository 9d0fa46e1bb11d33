using System.Globalization;
using System.Text.RegularExpressions;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Infra;

/// <summary>
/// A node's NixOS system profile over Atelier's own SSH connection: the current generation (<c>readlink</c> of the
/// profile), the list of generations, and a switch to another one (<c>sudo -n nix-env --switch-generation N</c>, then
/// <c>sudo -n &lt;profile&gt;/bin/switch-to-configuration switch</c>), checked by reading the link again.
/// </summary>
public sealed partial class SystemGenerations
{
    /// <summary>NixOS's system profile.</summary>
    public const string DefaultProfile = "/nix/var/nix/profiles/system";

    /// <summary>nix-env where NixOS puts it, so it is found whatever the account's PATH.</summary>
    public const string NixEnvPath = "/run/current-system/sw/bin/nix-env";

    private const string LinksMarker = "--- links";

    private readonly IRemoteHost _host;
    private readonly CommandOptions _options;
    private readonly string _node;

    /// <param name="host">The node's connection.</param>
    /// <param name="node">The node's name, for results and messages.</param>
    /// <param name="options">Timeout and output streaming of each command.</param>
    /// <param name="profile">The system profile (<see cref="DefaultProfile"/>): an absolute path, or one under the account's home (<c>~/...</c>).</param>
    public SystemGenerations(IRemoteHost host, string node, CommandOptions options, string profile = DefaultProfile)
    {
        _host = host;
        _node = node;
        _options = options;
        Profile = new RemotePath(profile);
        if (!profile.StartsWith('/') && !profile.StartsWith("~/", StringComparison.Ordinal))
        {
            throw new AtelierException("SystemProfileInvalid", FailureKind.InvalidArgument, $"The system profile '{profile}' must be an absolute path (or start with ~/).");
        }
    }

    /// <summary>The profile link on the node.</summary>
    public RemotePath Profile { get; }

    [GeneratedRegex(@"^\s*(?<number>\d+)\s+(?<date>\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2})\s*(?<current>\(current\))?\s*$")]
    private static partial Regex ListLine();

    /// <summary><c>readlink &lt;profile&gt;</c>.</summary>
    public static ShellCommand ReadCommand(RemotePath profile) => ShellCommand.Format($"readlink {profile}");

    /// <summary>nix-env's list of the profile's generations, then each <c>&lt;profile&gt;-N-link</c> with its target.</summary>
    public static ShellCommand ListCommand(RemotePath profile) => ShellCommand.Format(
        $"{new RemotePath(NixEnvPath)} -p {profile} --list-generations && echo {LinksMarker} && for l in {profile}-*-link; do [ -L \"$l\" ] && printf '%s %s\\n' \"$l\" \"$(readlink \"$l\")\"; done; true");

    /// <summary>The contract's first rollback command: point the profile at generation <paramref name="generation"/>.</summary>
    public static ShellCommand SwitchCommand(RemotePath profile, int generation) =>
        ShellCommand.Format($"sudo -n {new RemotePath(NixEnvPath)} -p {profile} --switch-generation {generation}");

    /// <summary>The contract's second rollback command: activate what the profile now points at.</summary>
    public static ShellCommand ActivateCommand(RemotePath profile) =>
        ShellCommand.Format($"sudo -n {new RemotePath(profile.Value + "/bin/switch-to-configuration")} switch");

    /// <summary>The generation number in a profile link's target (<c>system-42-link</c>, or a full path to it).</summary>
    /// <exception cref="AtelierException"><c>GenerationUnreadable</c> when the target is not such a link.</exception>
    public static int ParseLink(string target, string profileName = "system")
    {
        var name = target.Trim();
        name = name[(name.LastIndexOf('/') + 1)..];
        var prefix = profileName + "-";
        if (name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith("-link", StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - "-link".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        throw new AtelierException("GenerationUnreadable", FailureKind.InvalidData, $"The profile links to '{target.Trim()}', not to a {profileName}-<N>-link generation.");
    }

    /// <summary>
    /// The generations in <see cref="ListCommand"/>'s output: nix-env's lines (<c>   3   2026-11-26 09:00:00   (current)</c>)
    /// with each link's target; oldest first.
    /// </summary>
    public static IReadOnlyList<SystemGeneration> ParseList(string output, string node, string computerName, string profile = DefaultProfile)
    {
        var generations = new List<SystemGeneration>();
        var targets = new Dictionary<int, string>();
        var profileName = profile[(profile.LastIndexOf('/') + 1)..];
        var inLinks = false;
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim() == LinksMarker)
            {
                inLinks = true;
                continue;
            }

            if (inLinks)
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0)
                {
                    try
                    {
                        targets[ParseLink(line[..space], profileName)] = line[(space + 1)..].Trim();
                    }
                    catch (AtelierException)
                    {
                        // Another profile whose name starts the same way (system-foo-1-link): not a generation of this one.
                    }
                }

                continue;
            }

            var match = ListLine().Match(line);
            if (match.Success)
            {
                generations.Add(new SystemGeneration
                {
                    Node = node,
                    ComputerName = computerName,
                    Number = int.Parse(match.Groups["number"].Value, CultureInfo.InvariantCulture),
                    Date = DateTime.ParseExact(Regex.Replace(match.Groups["date"].Value, @"\s+", " "), "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    Current = match.Groups["current"].Success,
                });
            }
            else if (line.Trim().Length > 0)
            {
                throw new AtelierException("GenerationListUnreadable", FailureKind.InvalidData, $"{node}: nix-env --list-generations printed a line that is not a generation: '{line.Trim()}'.");
            }
        }

        return generations.Select(g => g with { Path = targets.GetValueOrDefault(g.Number) }).OrderBy(g => g.Number).ToList();
    }

    /// <summary>The number of the generation the profile points at now.</summary>
    public async Task<int> CurrentAsync(CancellationToken cancellationToken)
    {
        var result = await _host.RunAsync(ReadCommand(Profile), _options with { OnLine = null }, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new AtelierException("GenerationUnreadable", FailureKind.NotFound, $"{_node}: cannot read the system profile {Profile} on {_host.ComputerName} (exit {result.ExitCode}): {result.Tail(5)}");
        }

        try
        {
            return ParseLink(result.Output, ProfileName);
        }
        catch (AtelierException ex)
        {
            throw new AtelierException(ex.ErrorId, ex.Kind, $"{_node} ({_host.ComputerName}): {ex.Message}", ex);
        }
    }

    /// <summary>Every generation of the profile, oldest first, the current one marked.</summary>
    public async Task<IReadOnlyList<SystemGeneration>> ListAsync(CancellationToken cancellationToken)
    {
        var result = await _host.RunAsync(ListCommand(Profile), _options with { OnLine = null }, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new AtelierException("GenerationListUnreadable", FailureKind.OperationFailed, $"{_node}: cannot list the generations of {Profile} on {_host.ComputerName} (exit {result.ExitCode}): {result.Tail(5)}");
        }

        return ParseList(result.Output, _node, _host.ComputerName, Profile.Value);
    }

    /// <summary>
    /// Switches the profile to <paramref name="generation"/> and activates it, then reads the link again.
    /// </summary>
    /// <returns>The generation the profile points at afterwards (always <paramref name="generation"/>).</returns>
    /// <exception cref="AtelierException"><c>GenerationSwitchFailed</c> when a command fails or the link does not show the generation.</exception>
    public async Task<int> SwitchAsync(int generation, CancellationToken cancellationToken)
    {
        var switched = await _host.RunAsync(SwitchCommand(Profile, generation), _options, cancellationToken).ConfigureAwait(false);
        if (!switched.Succeeded)
        {
            throw new AtelierException("GenerationSwitchFailed", FailureKind.OperationFailed, $"{_node}: switching {Profile} to generation {generation} failed (exit {switched.ExitCode}): {switched.Tail(5)}");
        }

        var activated = await _host.RunAsync(ActivateCommand(Profile), _options, cancellationToken).ConfigureAwait(false);
        if (!activated.Succeeded)
        {
            throw new AtelierException("GenerationSwitchFailed", FailureKind.OperationFailed, $"{_node}: the profile points at generation {generation}, but switch-to-configuration switch failed (exit {activated.ExitCode}): {activated.Tail(5)}");
        }

        var now = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        return now == generation
            ? now
            : throw new AtelierException("GenerationSwitchFailed", FailureKind.OperationFailed, $"{_node}: after switching to generation {generation}, {Profile} points at generation {now}.");
    }

    private string ProfileName => Profile.Value[(Profile.Value.LastIndexOf('/') + 1)..];
}
