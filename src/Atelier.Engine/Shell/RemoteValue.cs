using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Atelier.Shell;

/// <summary>
/// The one place where values that reach a remote shell are validated and quoted. A value that could carry
/// shell syntax is refused before any connection is made; everything that passes is quoted anyway. Every kind of
/// value has a maximum length and refuses control characters (NUL, DEL, C0 and C1, and the Unicode line and paragraph
/// separators), each refusal naming the character and its position or the length and the limit.
/// </summary>
public static partial class RemoteValue
{
    /// <summary>Longest service name accepted: the limit of a Linux user name.</summary>
    public const int MaxServiceNameLength = 32;

    /// <summary>Longest path accepted, in UTF-8 bytes: Linux's PATH_MAX.</summary>
    public const int MaxPathBytes = 4096;

    /// <summary>Longest file or folder name inside a path, in UTF-8 bytes: Linux's NAME_MAX.</summary>
    public const int MaxPathComponentBytes = 255;

    /// <summary>Longest branch (or tag) name accepted: git keeps a ref as a file, so NAME_MAX.</summary>
    public const int MaxBranchLength = 255;

    /// <summary>Longest commit id: a SHA-256 one.</summary>
    public const int MaxCommitLength = 64;

    /// <summary>Longest tag of a temporary file.</summary>
    public const int MaxTagLength = 64;

    /// <summary>Longest host name: the limit of a DNS name.</summary>
    public const int MaxHostNameLength = 253;

    /// <summary>Longest deploy-rs node name: a node is also the host name when no other is given.</summary>
    public const int MaxNodeNameLength = MaxHostNameLength;

    /// <summary>Longest health URL, as given and once escaped.</summary>
    public const int MaxHealthUrlLength = 2048;

    /// <summary>How much of a refused value its message shows.</summary>
    public const int ExcerptLength = 60;

    private static readonly SearchValues<char> ServiceNameChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789_-");
    private static readonly SearchValues<char> PathChars = SearchValues.Create(Alphanumerics + "._/+@%=:,~-");
    private static readonly SearchValues<char> BranchChars = SearchValues.Create(Alphanumerics + "._/+-");
    private static readonly SearchValues<char> CommitChars = SearchValues.Create("0123456789abcdef");
    private static readonly SearchValues<char> TagChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789");
    private static readonly SearchValues<char> HostChars = SearchValues.Create(Alphanumerics + "._-[]:");
    private static readonly SearchValues<char> NodeChars = SearchValues.Create(Alphanumerics + "_-");

    private const string Alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    [GeneratedRegex("^[a-z_][a-z0-9_-]*\\z")]
    private static partial Regex ServiceNamePattern();

    [GeneratedRegex("^[A-Za-z0-9._/+@%=:,~-]+\\z")]
    private static partial Regex PathPattern();

    [GeneratedRegex("^[A-Za-z0-9._/+-]+\\z")]
    private static partial Regex BranchPattern();

    [GeneratedRegex("^[0-9a-f]{4,64}\\z")]
    private static partial Regex CommitPattern();

    [GeneratedRegex("^[0-9a-z]{1,64}\\z")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)\z")]
    private static partial Regex HostPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_-]*\\z")]
    private static partial Regex NodePattern();

    /// <summary>A service name: also its system user and its systemd unit (<c>&lt;name&gt;.service</c>).</summary>
    public static string ServiceName(string? value, string what = "service name")
    {
        var text = Bounded(value, what, MaxServiceNameLength);
        if (!ServiceNamePattern().IsMatch(text))
        {
            throw Refuse(what, text, ServiceNameChars, "it may hold only lowercase letters, digits, '-' and '_', and must start with a letter or '_'");
        }

        return text;
    }

    /// <summary>A user name on a host (an SSH user, deploy-rs's profile user): the rule of <see cref="ServiceName"/>.</summary>
    public static string UserName(string? value, string what = "user name") => ServiceName(value, what);

    /// <summary>
    /// A file or folder path on the host: absolute, relative to the service's home, or starting with <c>~/</c>. At most
    /// <see cref="MaxPathBytes"/> bytes of UTF-8, each name in it at most <see cref="MaxPathComponentBytes"/>.
    /// </summary>
    public static string Path(string? value, string what = "path")
    {
        var text = Bounded(value, what, MaxPathBytes, bytes: true);
        foreach (var component in text.Split('/'))
        {
            var length = Encoding.UTF8.GetByteCount(component);
            if (length > MaxPathComponentBytes)
            {
                throw new RemoteValueException(what, text, $"its name '{Excerpt(component)}' is {length} bytes long; a file or folder name is at most {MaxPathComponentBytes}", lengthStated: true);
            }
        }

        if (!PathPattern().IsMatch(text))
        {
            throw Refuse(what, text, PathChars, "a path may hold only letters, digits and . _ / + @ % = : , ~ -");
        }

        if (text.IndexOf('~', 1) >= 0 || (text[0] == '~' && text != "~" && !text.StartsWith("~/", StringComparison.Ordinal)))
        {
            throw Refuse(what, text, PathChars, "'~' may only start the path, as '~/'");
        }

        if (text[0] == '-')
        {
            throw Refuse(what, text, PathChars, "it must not start with '-'");
        }

        return text;
    }

    /// <summary>A git branch name, with git's own rules for a ref name plus the shell's.</summary>
    public static string Branch(string? value, string what = "branch")
    {
        var text = Bounded(value, what, MaxBranchLength);
        if (!BranchPattern().IsMatch(text))
        {
            throw Refuse(what, text, BranchChars, "a branch may hold only letters, digits and . _ / + -");
        }

        if (text[0] is '-' or '/' or '.' || text.EndsWith('/') || text.EndsWith('.') || text.EndsWith(".lock", StringComparison.Ordinal)
            || text.Contains("..", StringComparison.Ordinal) || text.Contains("//", StringComparison.Ordinal) || text.Contains("/.", StringComparison.Ordinal))
        {
            throw Refuse(what, text, BranchChars, "it is not a valid git branch name");
        }

        return text;
    }

    /// <summary>A full or abbreviated git commit id (lowercase hexadecimal).</summary>
    public static string Commit(string? value, string what = "commit")
    {
        var text = Bounded(value, what, MaxCommitLength);
        if (!CommitPattern().IsMatch(text))
        {
            throw Refuse(what, text, CommitChars, "a commit is 4 to 64 lowercase hexadecimal digits");
        }

        return text;
    }

    /// <summary>
    /// A tag that makes a temporary file on the host unique to one operation (a restore's, from its deploy): 1 to 64
    /// lowercase letters and digits, so it is a plain word in any file name.
    /// </summary>
    public static string Tag(string? value, string what = "tag")
    {
        var text = Bounded(value, what, MaxTagLength);
        if (!TagPattern().IsMatch(text))
        {
            throw Refuse(what, text, TagChars, "a tag is 1 to 64 lowercase letters and digits");
        }

        return text;
    }

    /// <summary>
    /// A revision to deploy: a full or abbreviated commit id (lowercase hexadecimal), or a tag or branch name (git's
    /// ref rules, as <see cref="Branch"/>).
    /// </summary>
    public static string Revision(string? value, string what = "commit or tag")
    {
        var text = Bounded(value, what, MaxBranchLength);
        return CommitPattern().IsMatch(text) ? text : Branch(text, what);
    }

    /// <summary>A host name or address, as given to SSH (never to a shell, but checked all the same).</summary>
    public static string HostName(string? value, string what = "host name")
    {
        var text = Bounded(value, what, MaxHostNameLength);
        if (!HostPattern().IsMatch(text) || text[0] == '-')
        {
            throw Refuse(what, text, HostChars, "a host is a DNS name, an IPv4 address or a bracketed IPv6 address");
        }

        return text;
    }

    /// <summary>
    /// A deploy-rs node: a name under the flake's <c>deploy.nodes</c> (letters, digits, '_' and '-', not starting with
    /// '-'), which is also the host reached when no other is given, hence at most <see cref="MaxNodeNameLength"/>.
    /// </summary>
    public static string NodeName(string? value, string what = "node name")
    {
        var text = Bounded(value, what, MaxNodeNameLength);
        if (!NodePattern().IsMatch(text))
        {
            throw Refuse(what, text, NodeChars, "a node name may hold only letters, digits, '_' and '-', and must not start with '-'");
        }

        return text;
    }

    /// <summary>
    /// An absolute http or https URL with a host (a service's health URL, which the host's guard also polls), at most
    /// <see cref="MaxHealthUrlLength"/> long as given and once escaped.
    /// </summary>
    public static Uri HealthUrl(string? value, string what = "health URL")
    {
        var text = Bounded(value, what, MaxHealthUrlLength);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            throw new RemoteValueException(what, text, "it is not an absolute http or https URL (for example https://example.org/health)");
        }

        if (uri.AbsoluteUri.Length > MaxHealthUrlLength)
        {
            throw new RemoteValueException(what, text, $"it is {uri.AbsoluteUri.Length} characters long once escaped; at most {MaxHealthUrlLength}", lengthStated: true);
        }

        return uri;
    }

    /// <summary>
    /// Free text that a script stores as one line (a deploy's holder, a commit subject, a command): any characters but
    /// line breaks and other control characters, at most <paramref name="maxLength"/> long. It is still quoted like any value.
    /// </summary>
    public static string OneLineText(string? value, string what, int maxLength, bool allowEmpty = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        value ??= string.Empty;
        if (value.Length == 0 && !allowEmpty)
        {
            throw new RemoteValueException(what, value, "it is empty");
        }

        var lineBreak = value.IndexOfAny(['\n', '\r']);
        if (lineBreak >= 0)
        {
            throw new RemoteValueException(what, value, $"it must be one line (found {Describe(value, lineBreak)} at position {lineBreak + 1})");
        }

        RefuseControl(value, what);
        RefuseLength(value, what, maxLength, bytes: false);
        return value;
    }

    /// <summary>Longest single argument of a command given word by word.</summary>
    public const int MaxArgumentLength = 4096;

    /// <summary>
    /// One word of a command given as a list (<see cref="ShellCommand.Words"/>): any text on one line without control
    /// characters, at most <see cref="MaxArgumentLength"/> long; an argument may be empty, the program may not. It is
    /// always quoted, so shell syntax in it is just text.
    /// </summary>
    public static string Argument(string? value, string what = "argument") =>
        OneLineText(value, what, MaxArgumentLength, allowEmpty: what != "program");

    /// <summary>Quotes any string for a POSIX shell: single quotes, with embedded quotes written as <c>'\''</c>.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > 0 && IsPlainWord(value))
        {
            return value;
        }

        return "'" + value.Replace("'", @"'\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>
    /// Quotes a validated path, keeping a leading <c>~/</c> meaning the home folder: <c>~/data/x.db</c> becomes
    /// <c>"$HOME"/data/x.db</c>.
    /// </summary>
    public static string QuotePath(string path)
    {
        Path(path);
        if (path == "~")
        {
            return "\"$HOME\"";
        }

        return path.StartsWith("~/", StringComparison.Ordinal) ? "\"$HOME\"/" + Quote(path[2..]) : Quote(path);
    }

    /// <summary>
    /// A value as a message shows it: on one line (control characters escaped), and cut to its first
    /// <see cref="ExcerptLength"/> characters and '…' when longer.
    /// </summary>
    public static string Excerpt(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var cut = value.Length <= ExcerptLength ? value.Length : char.IsHighSurrogate(value[ExcerptLength - 1]) ? ExcerptLength - 1 : ExcerptLength;
        var sb = new StringBuilder(cut + 8);
        foreach (var c in value.AsSpan(0, cut))
        {
            sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ when IsControl(c) => $"\\u{(int)c:x4}", _ => c.ToString() });
        }

        return cut < value.Length ? sb.Append('…').ToString() : sb.ToString();
    }

    /// <summary>
    /// The index of the first control character in <paramref name="value"/> (NUL, C0, DEL, C1, or a Unicode line or
    /// paragraph separator), or -1.
    /// </summary>
    public static int IndexOfControl(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        for (var i = 0; i < value.Length; i++)
        {
            if (IsControl(value[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsControl(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';

    private static bool IsPlainWord(string value)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '/' or '-' or '+' or '@' or '%' or '=' or ':' or ','))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A value that is not empty, holds no control character and is at most <paramref name="max"/> long (characters, or UTF-8 bytes).</summary>
    private static string Bounded(string? value, string what, int max, bool bytes = false)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new RemoteValueException(what, value ?? string.Empty, "it is empty");
        }

        RefuseControl(value, what);
        RefuseLength(value, what, max, bytes);
        return value;
    }

    private static void RefuseControl(string value, string what)
    {
        var at = IndexOfControl(value);
        if (at >= 0)
        {
            throw new RemoteValueException(what, value, $"it must not hold control characters (found {Describe(value, at)} at position {at + 1})");
        }
    }

    private static void RefuseLength(string value, string what, int max, bool bytes)
    {
        var length = bytes ? Encoding.UTF8.GetByteCount(value) : value.Length;
        if (length > max)
        {
            throw new RemoteValueException(what, value, $"it is {length} {(bytes ? "bytes" : "characters")} long; at most {max}", lengthStated: true);
        }
    }

    /// <summary>A refusal by <paramref name="rule"/>, naming the first character outside <paramref name="allowed"/> and where it is.</summary>
    private static RemoteValueException Refuse(string what, string value, SearchValues<char> allowed, string rule)
    {
        var at = value.AsSpan().IndexOfAnyExcept(allowed);
        var where = at < 0 ? string.Empty : $" (found {Describe(value, at)} at position {at + 1})";
        return new RemoteValueException(what, value, rule + where);
    }

    private static string Describe(string value, int index)
    {
        var c = value[index];
        return c switch
        {
            '\n' => "a newline",
            '\r' => "a carriage return",
            '\t' => "a tab",
            ' ' => "a space",
            '\u2028' => "line separator U+2028",
            '\u2029' => "paragraph separator U+2029",
            _ when char.IsControl(c) => $"control character U+{(int)c:X4}",
            _ when char.IsAscii(c) => $"'{c}'",
            _ when Rune.TryGetRuneAt(value, index, out var rune) => $"'{rune}' U+{rune.Value:X4}",
            _ => $"U+{(int)c:X4}",
        };
    }
}

/// <summary>A value refused by <see cref="RemoteValue"/>: it would not be safe or valid on the host.</summary>
public sealed class RemoteValueException : ArgumentException
{
    public RemoteValueException(string what, string value, string reason)
        : this(what, value, reason, lengthStated: false)
    {
    }

    /// <param name="lengthStated">The reason says how long the value is, so the message need not.</param>
    internal RemoteValueException(string what, string value, string reason, bool lengthStated)
        : base($"The {what} '{RemoteValue.Excerpt(value)}'{(value.Length > RemoteValue.ExcerptLength && !lengthStated ? $" ({value.Length} characters)" : string.Empty)} is refused: {reason}.")
    {
        What = what;
        Value = value;
        Reason = reason;
    }

    public string What { get; }

    /// <summary>Why the value is refused (e.g. "it may hold only ...").</summary>
    public string Reason { get; }

    /// <summary>The whole value refused (the message shows only its beginning when it is long).</summary>
    public string Value { get; }
}
