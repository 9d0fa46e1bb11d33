using System.Text;
using System.Text.RegularExpressions;

namespace Atelier.Output;

/// <summary>
/// What Atelier hides, as <see cref="Mask"/>, in text that came from a host before it prints, records or summarises it:
/// the values and patterns a user names (<c>-Redact</c>, the settings file's <c>redact:</c>), then the common shapes of
/// secrets, built in:
/// <list type="bullet">
/// <item>a name ending in KEY, TOKEN, SECRET, PASSWORD or PASSWD (any case) followed by <c>=</c> and a value, quoted or
/// not (<c>API_TOKEN=abc</c>, <c>export DB_PASSWORD="x y"</c>, <c>--api-key=abc</c>), or such a quoted name followed by
/// <c>:</c> (<c>"client_secret": "abc"</c>): the value goes, the name stays;</item>
/// <item><c>Authorization:</c> and <c>Proxy-Authorization:</c> headers: the credentials after the scheme (Bearer, Basic, ...);</item>
/// <item>PEM private key blocks (<c>-----BEGIN ... PRIVATE KEY-----</c> to its END line, across lines; a block cut short
/// at either end of the text goes to that end);</item>
/// <item>the password of a URL (<c>https://user:pass@host</c> becomes <c>https://user:***@host</c>);</item>
/// <item>GitHub tokens (<c>ghp_</c>, <c>gho_</c>, <c>ghu_</c>, <c>ghs_</c>, <c>ghr_</c>, <c>github_pat_</c>).</item>
/// </list>
/// A rule written <c>/pattern/</c> (or <c>/pattern/i</c>, ignoring case) is a .NET regular expression whose every match
/// is hidden (<c>^</c> and <c>$</c> match at each line); any other rule is a literal value, hidden wherever it appears.
/// Empty rules are skipped (so <c>-Redact $env:UNSET</c> is harmless); a literal must have at least
/// <see cref="MinimumValueLength"/> characters. Redacting twice gives what redacting once gave.
/// </summary>
public sealed partial class Redaction
{
    /// <summary>What a hidden value is replaced with (as GitHub masks secrets).</summary>
    public const string Mask = "***";

    /// <summary>The shortest literal value a rule may name: a shorter one would hide ordinary text everywhere.</summary>
    public const int MinimumValueLength = 3;

    /// <summary>How long one pattern (a user's or a built-in one) may look at one text before the text is hidden whole.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    private readonly string[] _values;
    private readonly Regex[] _patterns;

    private Redaction(IEnumerable<string> values, IEnumerable<Regex> patterns)
    {
        // Longest first, so a value that holds another is hidden whole.
        _values = [.. values.Distinct(StringComparer.Ordinal).OrderByDescending(v => v.Length)];
        _patterns = [.. patterns];
    }

    /// <summary>The built-in shapes only.</summary>
    public static Redaction BuiltIn { get; } = new([], []);

    /// <summary>The literal values named by the rules (what GitHub Actions is asked to mask).</summary>
    public IReadOnlyList<string> Values => _values;

    /// <summary>The patterns named by the rules.</summary>
    public IReadOnlyList<Regex> Patterns => _patterns;

    /// <summary>The rules as they can be shown: each literal value as <see cref="Mask"/>, each pattern as written.</summary>
    public IReadOnlyList<string> Describe() => [.. _values.Select(_ => Mask), .. _patterns.Select(p => $"/{p}/{((p.Options & RegexOptions.IgnoreCase) != 0 ? "i" : string.Empty)}")];

    /// <summary>The built-in shapes plus <paramref name="rules"/> (see the class's summary for their syntax).</summary>
    /// <exception cref="FormatException">A rule is a literal shorter than <see cref="MinimumValueLength"/> or a pattern that does not parse; the message says which (never the value itself).</exception>
    public static Redaction Parse(IEnumerable<string?>? rules)
    {
        var values = new List<string>();
        var patterns = new List<Regex>();
        var index = 0;
        foreach (var rule in rules ?? [])
        {
            index++;
            if (string.IsNullOrEmpty(rule))
            {
                continue;
            }

            if (AsPattern(rule) is var (source, ignoreCase))
            {
                try
                {
                    patterns.Add(new Regex(source, RegexOptions.CultureInvariant | RegexOptions.Multiline | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None), MatchTimeout));
                }
                catch (ArgumentException ex)
                {
                    throw new FormatException($"rule {index} ({rule}) is not a valid regular expression: {ex.Message}", ex);
                }

                continue;
            }

            if (rule.Length < MinimumValueLength)
            {
                throw new FormatException($"rule {index} is a value of {rule.Length} character(s): a value to hide needs at least {MinimumValueLength}");
            }

            values.Add(rule);
        }

        return values.Count == 0 && patterns.Count == 0 ? BuiltIn : new Redaction(values, patterns);
    }

    /// <summary>These rules and <paramref name="other"/>'s together.</summary>
    public Redaction With(Redaction other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return other._values.Length == 0 && other._patterns.Length == 0 ? this
            : _values.Length == 0 && _patterns.Length == 0 ? other
            : new Redaction([.. _values, .. other._values], [.. _patterns, .. other._patterns]);
    }

    /// <summary>
    /// <paramref name="text"/> with every value, pattern match and secret shape replaced by <see cref="Mask"/>. When a
    /// pattern takes longer than <see cref="MatchTimeout"/>, the whole text is hidden: nothing may slip through.
    /// </summary>
    public string Apply(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return text;
        }

        foreach (var value in _values)
        {
            text = text.Replace(value, Mask, StringComparison.Ordinal);
        }

        try
        {
            foreach (var pattern in _patterns)
            {
                text = pattern.Replace(text, m => m.Length == 0 ? m.Value : Mask);
            }

            text = PrivateKeys(text);
            text = AuthorizationHeader().Replace(text, m => m.Groups["head"].Value + Mask);
            text = UrlPassword().Replace(text, m => m.Groups["head"].Value + Mask + "@");
            text = SecretAssignment().Replace(text, HideAssignment);
            return GitHubToken().Replace(text, Mask);
        }
        catch (RegexMatchTimeoutException)
        {
            return $"{Mask} (hidden whole: a redaction pattern took longer than {MatchTimeout.TotalSeconds:0} s on it)";
        }
    }

    /// <summary>A redactor for output that arrives one line at a time (a private key block spans several lines).</summary>
    public LineRedactor Lines() => new(this);

    /// <summary>The pattern and case of a rule written <c>/pattern/</c> or <c>/pattern/i</c>; null for a literal.</summary>
    private static (string Source, bool IgnoreCase)? AsPattern(string rule)
    {
        if (rule.Length >= 3 && rule[0] == '/' && rule[^1] == '/')
        {
            return (rule[1..^1], false);
        }

        if (rule.Length >= 4 && rule[0] == '/' && rule[^2] == '/' && rule[^1] is 'i' or 'I')
        {
            return (rule[1..^2], true);
        }

        return null;
    }

    private static string HideAssignment(Match match)
    {
        var value = match.Groups["value"];
        var text = value.Value;
        var open = text.Length > 0 && text[0] is '"' or '\'' ? text[..1] : string.Empty;
        var close = open.Length > 0 && text.Length > 1 && text[^1] == open[0] ? open : string.Empty;
        if (text.Length == open.Length + close.Length)
        {
            return match.Value; // an empty value: nothing to hide
        }

        return match.Value[..(value.Index - match.Index)] + open + Mask + close;
    }

    /// <summary>
    /// Each private key block's body becomes <see cref="Mask"/>, its BEGIN and END lines stay. A block without its END
    /// (cut off at the text's end) is hidden to the end; an END without its BEGIN (cut off at the start) from the start.
    /// </summary>
    private static string PrivateKeys(string text)
    {
        var markers = KeyMarker().Matches(text);
        if (markers.Count == 0)
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        var at = 0;
        var open = false;
        foreach (Match marker in markers)
        {
            var end = marker.Index + marker.Length;
            if (marker.Groups["kind"].Value == "BEGIN")
            {
                if (!open)
                {
                    result.Append(text, at, end - at);
                    open = true;
                    at = end;
                }

                continue; // a BEGIN inside an open block is part of its body
            }

            if (open)
            {
                result.Append('\n').Append(Mask).Append('\n').Append(marker.Value);
                open = false;
            }
            else if (at == 0)
            {
                result.Append(Mask).Append('\n').Append(marker.Value);
            }
            else
            {
                result.Append(text, at, end - at); // a stray END after a closed block
            }

            at = end;
        }

        if (open)
        {
            result.Append('\n').Append(Mask);
        }
        else
        {
            result.Append(text, at, text.Length - at);
        }

        return result.ToString();
    }

    [GeneratedRegex(@"-----(?<kind>BEGIN|END) [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", RegexOptions.CultureInvariant, 1000)]
    internal static partial Regex KeyMarker();

    [GeneratedRegex(@"(?<head>\b(?:proxy-)?authorization[ \t]*[:=][ \t]*(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey)[ \t]+)?)[^\s""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex AuthorizationHeader();

    [GeneratedRegex(@"(?<head>\b[a-z][a-z0-9+.-]*://[^\s:/?#@]*:)[^\s/?#@]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"(?<![A-Za-z0-9_.-])(?:[A-Za-z0-9_.-]*(?:key|token|secret|password|passwd)[ \t]*=[ \t]*|[""'][A-Za-z0-9_.-]*(?:key|token|secret|password|passwd)[""'][ \t]*:[ \t]*)(?<value>""(?:[^""\\\n]|\\.)*""?|'[^'\n]*'?|[^\s""'&]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex SecretAssignment();

    [GeneratedRegex(@"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex GitHubToken();
}

/// <summary>
/// Redacts output one line at a time, as it arrives: each line as <see cref="Redaction.Apply"/> would, and every line
/// of a private key block, from its BEGIN line to its END line (or <see cref="MaxBlockLines"/> lines), as
/// <see cref="Redaction.Mask"/>. Not thread-safe: one per stream of lines.
/// </summary>
public sealed class LineRedactor
{
    /// <summary>The most lines a key block hides when no END line comes (a 16384-bit RSA key is about 170).</summary>
    public const int MaxBlockLines = 400;

    private readonly Redaction _redaction;
    private int _inBlock = -1;

    internal LineRedactor(Redaction redaction) => _redaction = redaction;

    /// <summary>The line as it may be shown (a key block within it, BEGIN to END, keeps its markers on either side of one <see cref="Redaction.Mask"/>).</summary>
    public string Next(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var markers = Redaction.KeyMarker().Matches(line);
        if (_inBlock >= 0)
        {
            var end = markers.FirstOrDefault(m => m.Groups["kind"].Value == "END");
            if (end is null && ++_inBlock < MaxBlockLines)
            {
                return Redaction.Mask;
            }

            _inBlock = -1;
            return end is null ? Redaction.Mask : (end.Index > 0 ? Redaction.Mask : string.Empty) + end.Value + _redaction.Apply(line[(end.Index + end.Length)..]);
        }

        var last = markers.LastOrDefault();
        if (last is not null && last.Groups["kind"].Value == "BEGIN")
        {
            _inBlock = 0;
            return _redaction.Apply(line[..last.Index]) + last.Value + (last.Index + last.Length < line.Length ? Redaction.Mask : string.Empty);
        }

        return _redaction.Apply(line);
    }
}
