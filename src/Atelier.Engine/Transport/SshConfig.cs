namespace Atelier.Transport;

/// <summary>The settings <c>~/.ssh/config</c> gives for one host alias.</summary>
public sealed record SshHostSettings(string? HostName, string? User, int? Port, IReadOnlyList<string> IdentityFiles, string? UserKnownHostsFile);

/// <summary>
/// Reads an OpenSSH client configuration file the way <c>ssh</c> does for the keywords Atelier uses
/// (<c>HostName</c>, <c>User</c>, <c>Port</c>, <c>IdentityFile</c>, <c>UserKnownHostsFile</c>): <c>Host</c> blocks
/// with wildcard and negated patterns, first value wins, <c>Include</c>, and the <c>%h %u %r %d %%</c> tokens.
/// <c>Match</c> blocks are skipped.
/// </summary>
public sealed class SshConfig
{
    private readonly List<(string[] Patterns, string Keyword, string Value)> _lines;
    private readonly string _home;

    private SshConfig(List<(string[] Patterns, string Keyword, string Value)> lines, string home)
    {
        _lines = lines;
        _home = home;
    }

    /// <summary>The user's file, <c>~/.ssh/config</c>.</summary>
    public static string DefaultPath(string home) => System.IO.Path.Combine(home, ".ssh", "config");

    /// <summary>Reads a file (a missing file gives an empty configuration).</summary>
    public static SshConfig Load(string path, string home)
    {
        var lines = new List<(string[], string, string)>();
        Read(path, home, ["*"], lines, depth: 0);
        return new SshConfig(lines, home);
    }

    /// <summary>Resolves an alias: the settings of every matching block, first value winning.</summary>
    public SshHostSettings Resolve(string alias, string localUser)
    {
        string? hostName = null, user = null, knownHosts = null;
        int? port = null;
        var identities = new List<string>();
        foreach (var (patterns, keyword, value) in _lines)
        {
            if (!Matches(patterns, alias))
            {
                continue;
            }

            switch (keyword)
            {
                case "hostname":
                    hostName ??= value.Replace("%h", alias, StringComparison.Ordinal);
                    break;
                case "user":
                    user ??= value;
                    break;
                case "port":
                    if (port is null && int.TryParse(value, out var p) && p is > 0 and < 65536)
                    {
                        port = p;
                    }

                    break;
                case "identityfile":
                    identities.Add(value);
                    break;
                case "userknownhostsfile":
                    knownHosts ??= value.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
                    break;
            }
        }

        var host = hostName ?? alias;
        var remoteUser = user ?? localUser;
        string Expand(string path) => ExpandPath(path
            .Replace("%%", "\0", StringComparison.Ordinal)
            .Replace("%h", host, StringComparison.Ordinal)
            .Replace("%r", remoteUser, StringComparison.Ordinal)
            .Replace("%u", localUser, StringComparison.Ordinal)
            .Replace("%d", _home, StringComparison.Ordinal)
            .Replace('\0', '%'), _home);

        return new SshHostSettings(hostName, user, port, identities.Select(Expand).ToList(), knownHosts is null ? null : Expand(knownHosts));
    }

    /// <summary>Expands a leading <c>~</c> to the home folder.</summary>
    public static string ExpandPath(string path, string home) =>
        path == "~" ? home : path.StartsWith("~/", StringComparison.Ordinal) ? System.IO.Path.Combine(home, path[2..]) : path;

    private static bool Matches(string[] patterns, string alias)
    {
        var matched = false;
        foreach (var pattern in patterns)
        {
            var negated = pattern.StartsWith('!');
            if (Wildcard.IsMatch(negated ? pattern[1..] : pattern, alias))
            {
                if (negated)
                {
                    return false;
                }

                matched = true;
            }
        }

        return matched;
    }

    private static void Read(string path, string home, string[] patterns, List<(string[], string, string)> lines, int depth)
    {
        if (depth > 8 || !File.Exists(path))
        {
            return;
        }

        var current = patterns;
        foreach (var raw in File.ReadLines(path))
        {
            var (keyword, value) = Split(raw);
            if (keyword is null)
            {
                continue;
            }

            switch (keyword)
            {
                case "host":
                    current = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(v => v.Trim('"')).ToArray();
                    break;
                case "match":
                    // Match criteria (exec, user, ...) are not evaluated: the block's lines apply to no host.
                    current = [];
                    break;
                case "include":
                    foreach (var pattern in value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                    {
                        var full = ExpandPath(pattern, home);
                        if (!System.IO.Path.IsPathRooted(full))
                        {
                            full = System.IO.Path.Combine(home, ".ssh", full);
                        }

                        foreach (var file in Glob(full))
                        {
                            Read(file, home, current, lines, depth + 1);
                        }
                    }

                    break;
                default:
                    lines.Add((current, keyword, value));
                    break;
            }
        }
    }

    private static IEnumerable<string> Glob(string path)
    {
        var folder = System.IO.Path.GetDirectoryName(path);
        var name = System.IO.Path.GetFileName(path);
        if (folder is null || !Directory.Exists(folder))
        {
            return [];
        }

        return name.Contains('*') || name.Contains('?')
            ? Directory.GetFiles(folder).Where(f => Wildcard.IsMatch(name, System.IO.Path.GetFileName(f))).Order(StringComparer.Ordinal)
            : File.Exists(path) ? [path] : [];
    }

    private static (string? Keyword, string Value) Split(string raw)
    {
        var line = raw.Trim();
        if (line.Length == 0 || line[0] == '#')
        {
            return (null, string.Empty);
        }

        var end = line.IndexOfAny([' ', '\t', '=']);
        if (end < 0)
        {
            return (line.ToLowerInvariant(), string.Empty);
        }

        var keyword = line[..end].ToLowerInvariant();
        var value = line[end..].TrimStart(' ', '\t', '=').Trim();
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            value = value[1..^1];
        }

        return (keyword, value);
    }
}
