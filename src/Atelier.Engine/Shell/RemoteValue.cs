using System.Text;
using System.Text.RegularExpressions;

namespace Atelier.Shell;

/// <summary>
/// The one place where values that reach a remote shell are validated and quoted. A value that could carry
/// shell syntax is refused before any connection is made; everything that passes is quoted anyway.
/// </summary>
public static partial class RemoteValue
{
    /// <summary>Longest service name accepted: the limit of a Linux user name.</summary>
    public const int MaxServiceNameLength = 32;

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

    /// <summary>A service name: also its system user and its systemd unit (<c>&lt;name&gt;.service</c>).</summary>
    public static string ServiceName(string? value, string what = "service name")
    {
        var text = Require(value, what);
        if (text.Length > MaxServiceNameLength)
        {
            throw Refuse(what, text, $"it is longer than {MaxServiceNameLength} characters");
        }

        if (!ServiceNamePattern().IsMatch(text))
        {
            throw Refuse(what, text, "it may hold only lowercase letters, digits, '-' and '_', and must start with a letter or '_'");
        }

        return text;
    }

    /// <summary>
    /// A file or folder path on the host: absolute, relative to the service's home, or starting with <c>~/</c>.
    /// </summary>
    public static string Path(string? value, string what = "path")
    {
        var text = Require(value, what);
        if (!PathPattern().IsMatch(text))
        {
            throw Refuse(what, text, "a path may hold only letters, digits and . _ / + @ % = : , ~ -");
        }

        if (text.IndexOf('~', 1) >= 0 || (text[0] == '~' && text != "~" && !text.StartsWith("~/", StringComparison.Ordinal)))
        {
            throw Refuse(what, text, "'~' may only start the path, as '~/'");
        }

        if (text[0] == '-')
        {
            throw Refuse(what, text, "it must not start with '-'");
        }

        return text;
    }

    /// <summary>A git branch name, with git's own rules for a ref name plus the shell's.</summary>
    public static string Branch(string? value, string what = "branch")
    {
        var text = Require(value, what);
        if (!BranchPattern().IsMatch(text))
        {
            throw Refuse(what, text, "a branch may hold only letters, digits and . _ / + -");
        }

        if (text[0] is '-' or '/' or '.' || text.EndsWith('/') || text.EndsWith('.') || text.EndsWith(".lock", StringComparison.Ordinal)
            || text.Contains("..", StringComparison.Ordinal) || text.Contains("//", StringComparison.Ordinal) || text.Contains("/.", StringComparison.Ordinal))
        {
            throw Refuse(what, text, "it is not a valid git branch name");
        }

        return text;
    }

    /// <summary>A full or abbreviated git commit id (lowercase hexadecimal).</summary>
    public static string Commit(string? value, string what = "commit")
    {
        var text = Require(value, what);
        if (!CommitPattern().IsMatch(text))
        {
            throw Refuse(what, text, "a commit is 4 to 64 lowercase hexadecimal digits");
        }

        return text;
    }

    /// <summary>
    /// A tag that makes a temporary file on the host unique to one operation (a restore's, from its deploy): 1 to 64
    /// lowercase letters and digits, so it is a plain word in any file name.
    /// </summary>
    public static string Tag(string? value, string what = "tag")
    {
        var text = Require(value, what);
        if (!TagPattern().IsMatch(text))
        {
            throw Refuse(what, text, "a tag is 1 to 64 lowercase letters and digits");
        }

        return text;
    }

    /// <summary>
    /// A revision to deploy: a full or abbreviated commit id (lowercase hexadecimal), or a tag or branch name (git's
    /// ref rules, as <see cref="Branch"/>).
    /// </summary>
    public static string Revision(string? value, string what = "commit or tag")
    {
        var text = Require(value, what);
        return CommitPattern().IsMatch(text) ? text : Branch(text, what);
    }

    /// <summary>A host name or address, as given to SSH (never to a shell, but checked all the same).</summary>
    public static string HostName(string? value, string what = "host name")
    {
        var text = Require(value, what);
        if (!HostPattern().IsMatch(text) || text[0] == '-')
        {
            throw Refuse(what, text, "a host is a DNS name, an IPv4 address or a bracketed IPv6 address");
        }

        return text;
    }

    /// <summary>
    /// Free text that a script stores as one line (a deploy's holder, a commit subject): any characters but line
    /// breaks and other control characters, at most <paramref name="maxLength"/> long. It is still quoted like any value.
    /// </summary>
    public static string OneLineText(string? value, string what, int maxLength, bool allowEmpty = false)
    {
        value ??= string.Empty;
        if (value.Length == 0 && !allowEmpty)
        {
            throw new RemoteValueException(what, value, "it is empty");
        }

        if (value.Length > maxLength)
        {
            throw new RemoteValueException(what, value, $"it is longer than {maxLength} characters");
        }

        var lineBreak = value.IndexOfAny(['\n', '\r']);
        if (lineBreak >= 0)
        {
            throw new RemoteValueException(what, value, $"it must be one line (found a {(value[lineBreak] == '\n' ? "newline" : "carriage return")} at position {lineBreak + 1})");
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                throw new RemoteValueException(what, value, $"it holds control character U+{(int)c:X4}");
            }
        }

        return value;
    }

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

    private static string Require(string? value, string what)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new RemoteValueException(what, value ?? string.Empty, "it is empty");
        }

        return value;
    }

    private static RemoteValueException Refuse(string what, string value, string rule)
    {
        var bad = FirstSuspicious(value);
        var where = bad is null ? string.Empty : $" (found {bad})";
        return new RemoteValueException(what, value, rule + where);
    }

    private static string? FirstSuspicious(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c is ';' or '&' or '|' or '$' or '`' or '\'' or '"' or '\\' or '<' or '>' or '(' or ')' or '{' or '}' or '*' or '?' or '[' or ']' or '!' or '#' or ' ' or '\t' or '\n' or '\r' || char.IsControl(c))
            {
                return $"{Describe(c)} at position {i + 1}";
            }
        }

        return null;
    }

    private static string Describe(char c) => c switch
    {
        '\n' => "a newline",
        '\r' => "a carriage return",
        '\t' => "a tab",
        ' ' => "a space",
        _ when char.IsControl(c) => $"control character U+{(int)c:X4}",
        _ => $"'{c}'",
    };
}

/// <summary>A value refused by <see cref="RemoteValue"/>: it would not be safe or valid on the host.</summary>
public sealed class RemoteValueException : ArgumentException
{
    public RemoteValueException(string what, string value, string reason)
        : base($"The {what} '{Printable(value)}' is refused: {reason}.")
    {
        What = what;
        Value = value;
        Reason = reason;
    }

    public string What { get; }

    /// <summary>Why the value is refused (e.g. "it may hold only ...").</summary>
    public string Reason { get; }

    public string Value { get; }

    private static string Printable(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ when char.IsControl(c) => $"\\u{(int)c:x4}", _ => c.ToString() });
        }

        return sb.ToString();
    }
}
