using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Atelier.Nix;

/// <summary>
/// Nix literals for values that come from the user: every string is written so that Nix reads back exactly the
/// characters given, whatever they hold (quotes, backslashes, <c>${</c>, line breaks, unicode).
/// </summary>
public static class NixValue
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or",
    };

    /// <summary>A double-quoted Nix string literal: <c>a"b${c}</c> becomes <c>"a\"b\${c}"</c>.</summary>
    [SuppressMessage("Naming", "CA1720", Justification = "Named after the Nix literal it writes.")]
    public static string String(string value) => "\"" + StringBody(value) + "\"";

    /// <summary>
    /// The inside of a double-quoted string literal, without the quotes. Safe to place after an antiquotation's
    /// closing brace or any literal text: no escape depends on what comes before it, and a final <c>$</c> is escaped,
    /// so it never joins a following <c>{</c> or closing quote.
    /// </summary>
    public static string StringBody(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length + 8);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '\0':
                    throw new ArgumentException("A Nix string cannot hold a NUL character.", nameof(value));
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case '$' when i + 1 == value.Length || value[i + 1] == '{':
                    // "${" would start an antiquotation; a "$" left last could meet a "{" written after this text.
                    sb.Append("\\$");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>True when <paramref name="name"/> can be written as a bare attribute name (not a keyword).</summary>
    public static bool IsIdentifier(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '\'' or '-'))
            {
                return false;
            }
        }

        return !Keywords.Contains(name);
    }

    /// <summary>An attribute name: bare when it is a valid identifier, otherwise a quoted string.</summary>
    public static string AttrName(string name) => IsIdentifier(name) ? name : String(name);

    /// <summary>An attribute path from its parts, each written by <see cref="AttrName"/>: <c>age.secrets."a/b"</c>.</summary>
    public static string AttrPath(params string[] names) => string.Join('.', names.Select(AttrName));

    /// <summary>An integer literal. Nix integers are 64-bit.</summary>
    [SuppressMessage("Naming", "CA1720", Justification = "Named after the Nix literal it writes.")]
    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary><c>true</c> or <c>false</c>.</summary>
    public static string Bool(bool value) => value ? "true" : "false";

    /// <summary>A one-line list of strings: <c>[ "a" "b" ]</c>, or <c>[ ]</c> when empty.</summary>
    public static string List(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var items = values.Select(String).ToList();
        return items.Count == 0 ? "[ ]" : "[ " + string.Join(' ', items) + " ]";
    }

    /// <summary>Text made safe for a <c>#</c> comment: line breaks and other control characters become spaces.</summary>
    public static string CommentText(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            sb.Append(char.IsControl(c) || c is '\u2028' or '\u2029' ? ' ' : c);
        }

        return sb.ToString().Trim();
    }
}
