using System.Security.Cryptography;
using System.Text;

namespace Atelier.Transport;

/// <summary>What an OpenSSH <c>known_hosts</c> file says about a host's offered key.</summary>
public enum HostKeyVerdict
{
    /// <summary>The key is recorded for this host.</summary>
    Known,

    /// <summary>Nothing is recorded for this host.</summary>
    Unknown,

    /// <summary>Other keys, and not this one, are recorded for this host: possibly an impostor.</summary>
    Changed,

    /// <summary>The key is marked <c>@revoked</c>.</summary>
    Revoked,
}

/// <summary>The verdict, with the fingerprints of the keys on record for the host.</summary>
public sealed record HostKeyCheck(HostKeyVerdict Verdict, IReadOnlyList<string> ExpectedFingerprints);

/// <summary>
/// Reads and appends OpenSSH <c>known_hosts</c> files: plain and hashed (<c>|1|salt|hash</c>) host fields,
/// <c>[host]:port</c>, wildcard and negated patterns, and the <c>@revoked</c> marker (<c>@cert-authority</c> lines are skipped).
/// </summary>
public sealed class KnownHosts
{
    /// <summary>0644, the mode OpenSSH gives a new <c>known_hosts</c> under the usual umask.</summary>
    private const UnixFileMode PublicFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly List<Entry> _entries;

    private KnownHosts(string path, List<Entry> entries)
    {
        Path = path;
        _entries = entries;
    }

    public string Path { get; }

    /// <summary>Reads a file; a missing file is an empty list.</summary>
    public static KnownHosts Load(string path)
    {
        var entries = new List<Entry>();
        if (File.Exists(path))
        {
            foreach (var raw in File.ReadLines(path))
            {
                if (Entry.TryParse(raw, out var entry))
                {
                    entries.Add(entry);
                }
            }
        }

        return new KnownHosts(path, entries);
    }

    /// <summary>The name OpenSSH looks a host up by: <c>host</c> on port 22, else <c>[host]:port</c>.</summary>
    public static string LookupName(string host, int port) => port == 22 ? host : $"[{host}]:{port}";

    /// <summary>OpenSSH's fingerprint of a public key blob: <c>SHA256:</c> and unpadded base64.</summary>
    public static string Fingerprint(byte[] keyBlob) => "SHA256:" + Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=');

    /// <summary>The key type named inside a public key blob (its first SSH string), e.g. <c>ssh-ed25519</c>.</summary>
    public static string KeyType(byte[] keyBlob)
    {
        if (keyBlob.Length < 4)
        {
            throw new FormatException("The host key blob is too short.");
        }

        var length = (keyBlob[0] << 24) | (keyBlob[1] << 16) | (keyBlob[2] << 8) | keyBlob[3];
        if (length <= 0 || length > keyBlob.Length - 4)
        {
            throw new FormatException("The host key blob is malformed.");
        }

        return Encoding.ASCII.GetString(keyBlob, 4, length);
    }

    /// <summary>Key types on record for the host (so the client can ask the server for one of those).</summary>
    public IReadOnlyList<string> KnownKeyTypes(string host, int port)
    {
        var name = LookupName(host, port);
        return _entries.Where(e => !e.Revoked && e.Matches(name)).Select(e => e.KeyType).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Checks an offered key the way OpenSSH does.</summary>
    public HostKeyCheck Check(string host, int port, byte[] keyBlob)
    {
        var name = LookupName(host, port);
        var forHost = _entries.Where(e => e.Matches(name)).ToList();
        if (forHost.Any(e => e.Revoked && e.Key.AsSpan().SequenceEqual(keyBlob)))
        {
            return new HostKeyCheck(HostKeyVerdict.Revoked, []);
        }

        var recorded = forHost.Where(e => !e.Revoked).ToList();
        var expected = recorded.Select(e => $"{e.KeyType} {Fingerprint(e.Key)}").Distinct().ToList();
        if (recorded.Any(e => e.Key.AsSpan().SequenceEqual(keyBlob)))
        {
            return new HostKeyCheck(HostKeyVerdict.Known, expected);
        }

        return recorded.Count == 0
            ? new HostKeyCheck(HostKeyVerdict.Unknown, expected)
            : new HostKeyCheck(HostKeyVerdict.Changed, expected);
    }

    /// <summary>
    /// Records a host's key, as OpenSSH's <c>accept-new</c> does: one line appended (a crash leaves at most a partial last
    /// line, which is skipped when read). A missing folder is created 0700, as OpenSSH creates <c>~/.ssh</c>; a missing
    /// file is created as OpenSSH creates <c>known_hosts</c>, readable by all (0644, less what the umask takes): it holds
    /// public keys only, and other tools read it. An existing file keeps its mode.
    /// </summary>
    public void Add(string host, int port, byte[] keyBlob)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        if (!string.IsNullOrEmpty(folder) && !Directory.Exists(folder))
        {
            PrivateFile.CreateFolder(folder);
        }

        var line = $"{LookupName(host, port)} {KeyType(keyBlob)} {Convert.ToBase64String(keyBlob)}";
        var needsNewline = File.Exists(Path) && new FileInfo(Path).Length > 0 && !EndsWithNewline(Path);
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PublicFileMode;
        }

        using (var stream = new FileStream(Path, options))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
        {
            writer.Write((needsNewline ? "\n" : string.Empty) + line + "\n");
        }

        _entries.Add(new Entry([LookupName(host, port)], null, KeyType(keyBlob), keyBlob, false));
    }

    private static bool EndsWithNewline(string path)
    {
        using var stream = File.OpenRead(path);
        stream.Seek(-1, SeekOrigin.End);
        return stream.ReadByte() == '\n';
    }

    private sealed record Entry(string[] Patterns, (byte[] Salt, byte[] Hash)? Hashed, string KeyType, byte[] Key, bool Revoked)
    {
        public static bool TryParse(string raw, out Entry entry)
        {
            entry = null!;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                return false;
            }

            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var revoked = false;
            var i = 0;
            if (fields[0].StartsWith('@'))
            {
                if (fields[0] != "@revoked")
                {
                    return false;
                }

                revoked = true;
                i = 1;
            }

            if (fields.Length < i + 3)
            {
                return false;
            }

            byte[] key;
            try
            {
                key = Convert.FromBase64String(fields[i + 2]);
            }
            catch (FormatException)
            {
                return false;
            }

            var hosts = fields[i];
            if (hosts.StartsWith("|1|", StringComparison.Ordinal))
            {
                var parts = hosts.Split('|');
                if (parts.Length != 4)
                {
                    return false;
                }

                try
                {
                    entry = new Entry([], (Convert.FromBase64String(parts[2]), Convert.FromBase64String(parts[3])), fields[i + 1], key, revoked);
                }
                catch (FormatException)
                {
                    return false;
                }

                return true;
            }

            entry = new Entry(hosts.Split(','), null, fields[i + 1], key, revoked);
            return true;
        }

        public bool Matches(string lookupName)
        {
            if (Hashed is { } hashed)
            {
                // OpenSSH's hashed host names are HMAC-SHA1 by definition (HashKnownHosts).
#pragma warning disable CA5350
                var hash = HMACSHA1.HashData(hashed.Salt, Encoding.ASCII.GetBytes(lookupName));
#pragma warning restore CA5350
                return hash.AsSpan().SequenceEqual(hashed.Hash);
            }

            var matched = false;
            foreach (var pattern in Patterns)
            {
                var negated = pattern.StartsWith('!');
                if (Wildcard.IsMatch(negated ? pattern[1..] : pattern, lookupName))
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
    }
}

/// <summary>OpenSSH's <c>*</c> and <c>?</c> patterns, case-insensitive as host names are.</summary>
internal static class Wildcard
{
    public static bool IsMatch(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t])))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
