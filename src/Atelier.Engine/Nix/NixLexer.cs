using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;

namespace Atelier.Nix;

/// <summary>What a <see cref="NixToken"/> is.</summary>
[SuppressMessage("Naming", "CA1720", Justification = "Named after Nix's own token kinds.")]
public enum NixTokenKind
{
    /// <summary>A name or keyword: <c>config</c>, <c>hn-alerts</c>, <c>let</c>, <c>true</c>.</summary>
    Identifier,

    /// <summary><c>3000</c>.</summary>
    Integer,

    /// <summary><c>1.5</c>, <c>.5e3</c>.</summary>
    Float,

    /// <summary><c>./x</c>, <c>../../secrets/a.age</c>, <c>/etc/x</c>, <c>~/x</c>, <c>&lt;nixpkgs&gt;</c>, <c>a/b</c>.</summary>
    Path,

    /// <summary>An unquoted URI: <c>https://example.org</c>.</summary>
    Uri,

    /// <summary>A whole double-quoted string, antiquotations included.</summary>
    String,

    /// <summary>A whole indented string (<c>''...''</c>), antiquotations included.</summary>
    IndentedString,

    /// <summary>A <c>#</c> line comment (without its line break) or a <c>/* */</c> block comment.</summary>
    Comment,

    /// <summary>Punctuation and operators: <c>{ } ${ ( ) [ ] ; = . , : @ ? ... // ++ == != &lt;= &gt;= &amp;&amp; || -&gt;</c> and single-character operators.</summary>
    Symbol,
}

/// <summary>One token of Nix source, with where it is (offsets count UTF-16 units; line and column start at 1).</summary>
/// <param name="Value">
/// For a double-quoted string without antiquotations, the string it stands for; for an identifier, its name;
/// otherwise null.
/// </param>
public sealed record NixToken(NixTokenKind Kind, string Text, int Start, int Line, int Column, string? Value)
{
    /// <summary>Offset just past the token.</summary>
    public int End => Start + Text.Length;

    /// <summary>True for a symbol token with this exact text.</summary>
    public bool IsSymbol(string symbol) => Kind == NixTokenKind.Symbol && Text == symbol;

    /// <summary>True for an identifier (or keyword) with this exact name.</summary>
    public bool IsIdentifier(string name) => Kind == NixTokenKind.Identifier && Text == name;

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} '{Text}' at {Line}:{Column}";
}

/// <summary>
/// A tokenizer for Nix with the rules of Nix's own lexer, so that text inside strings and comments never looks like
/// structure: strings and indented strings (with their escapes and nested antiquotations) are single tokens, paths
/// and URIs are told apart from identifiers and operators by longest match.
/// </summary>
public static partial class NixLexer
{
    private const string PathChars = "a-zA-Z0-9._+-";

    // Two and three character symbols first, so that the longest one wins.
    private static readonly string[] Symbols =
    [
        "...", "${", "==", "!=", "<=", ">=", "&&", "||", "->", "//", "++",
        "{", "}", "(", ")", "[", "]", ";", "=", ".", ",", ":", "@", "?", "+", "-", "*", "/", "!", "<", ">",
    ];

    [GeneratedRegex(@"\G[a-zA-Z_][a-zA-Z0-9_'-]*")]
    private static partial Regex IdentifierPattern();

    [GeneratedRegex(@"\G[0-9]+")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"\G(([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?")]
    private static partial Regex FloatPattern();

    [GeneratedRegex(@"\G[" + PathChars + @"]*(/[" + PathChars + @"]+)+/?")]
    private static partial Regex PathPattern();

    [GeneratedRegex(@"\G[" + PathChars + @"]*/(?=\$\{)")]
    private static partial Regex PathSegmentPattern();

    [GeneratedRegex(@"\G~(/[" + PathChars + @"]+)+/?")]
    private static partial Regex HomePathPattern();

    [GeneratedRegex(@"\G<[" + PathChars + @"]+(/[" + PathChars + @"]+)*>")]
    private static partial Regex SearchPathPattern();

    [GeneratedRegex(@"\G[a-zA-Z][a-zA-Z0-9+\-.]*:[a-zA-Z0-9%/?:@&=+$,\-_.!~*']+")]
    private static partial Regex UriPattern();

    /// <summary>
    /// All tokens of <paramref name="source"/> in order; comments are left out unless <paramref name="includeComments"/>.
    /// Throws <see cref="AtelierException"/> (<c>NixSyntaxError</c>) for an unterminated string or comment or a
    /// character Nix does not accept.
    /// </summary>
    /// <param name="file">Named in error messages.</param>
    public static IReadOnlyList<NixToken> Tokenize(string source, bool includeComments = false, string? file = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var scanner = new Scanner(source, file);
        var tokens = new List<NixToken>();
        var pos = 0;
        while (true)
        {
            pos = scanner.SkipWhitespace(pos);
            if (pos >= source.Length)
            {
                return tokens;
            }

            var (kind, end, value) = scanner.Read(pos);
            if (kind != NixTokenKind.Comment || includeComments)
            {
                var (line, column) = scanner.Position(pos);
                tokens.Add(new NixToken(kind, source[pos..end], pos, line, column, value));
            }

            pos = end;
        }
    }

    private sealed class Scanner(string text, string? file)
    {
        private int[]? _lineStarts;

        public int SkipWhitespace(int pos)
        {
            while (pos < text.Length && text[pos] is ' ' or '\t' or '\r' or '\n')
            {
                pos++;
            }

            return pos;
        }

        public (int Line, int Column) Position(int pos)
        {
            _lineStarts ??= LineStarts();
            var index = Array.BinarySearch(_lineStarts, pos);
            var line = index >= 0 ? index : ~index - 1;
            return (line + 1, pos - _lineStarts[line] + 1);
        }

        /// <summary>The token starting at <paramref name="pos"/> (not whitespace).</summary>
        public (NixTokenKind Kind, int End, string? Value) Read(int pos)
        {
            var c = text[pos];
            if (c == '#')
            {
                var end = text.IndexOf('\n', pos);
                return (NixTokenKind.Comment, end < 0 ? text.Length : end, null);
            }

            if (c == '/' && At(pos + 1, '*'))
            {
                var end = text.IndexOf("*/", pos + 2, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw Error(pos, "a /* comment is never closed");
                }

                return (NixTokenKind.Comment, end + 2, null);
            }

            if (c == '"')
            {
                return ReadString(pos);
            }

            if (c == '\'' && At(pos + 1, '\''))
            {
                return (NixTokenKind.IndentedString, ReadIndentedString(pos), null);
            }

            // Longest match wins; on a tie the rule listed first in Nix's lexer does.
            var best = (Kind: NixTokenKind.Symbol, Length: 0);
            void Try(NixTokenKind kind, int length)
            {
                if (length > best.Length)
                {
                    best = (kind, length);
                }
            }

            Try(NixTokenKind.Identifier, Match(IdentifierPattern(), pos));
            Try(NixTokenKind.Integer, Match(IntegerPattern(), pos));
            Try(NixTokenKind.Float, Match(FloatPattern(), pos));
            Try(NixTokenKind.Symbol, SymbolLength(pos));
            Try(NixTokenKind.Path, Math.Max(Match(PathPattern(), pos), Math.Max(Match(HomePathPattern(), pos), Match(SearchPathPattern(), pos))));
            var segment = Match(PathSegmentPattern(), pos);
            if (segment > 0 && segment >= best.Length)
            {
                return (NixTokenKind.Path, ReadInterpolatedPath(pos + segment), null);
            }

            Try(NixTokenKind.Uri, Match(UriPattern(), pos));
            if (best.Length == 0)
            {
                throw Error(pos, $"unexpected character '{c}'");
            }

            var stop = pos + best.Length;
            if (best.Kind == NixTokenKind.Path && text[stop - 1] == '/' && At(stop, '$') && At(stop + 1, '{'))
            {
                stop = ReadInterpolatedPath(stop);
            }

            return (best.Kind, stop, best.Kind == NixTokenKind.Identifier ? text[pos..stop] : null);
        }

        /// <summary>A path whose next part is an antiquotation at <paramref name="pos"/>: <c>./a/${x}/b</c>.</summary>
        private int ReadInterpolatedPath(int pos)
        {
            while (At(pos, '$') && At(pos + 1, '{'))
            {
                pos = SkipAntiquotation(pos + 2);
                while (pos < text.Length && (char.IsAsciiLetterOrDigit(text[pos]) || text[pos] is '.' or '_' or '+' or '-' or '/'))
                {
                    pos++;
                }
            }

            return pos;
        }

        private int SymbolLength(int pos)
        {
            foreach (var symbol in Symbols)
            {
                if (string.CompareOrdinal(text, pos, symbol, 0, symbol.Length) == 0)
                {
                    return symbol.Length;
                }
            }

            return 0;
        }

        private int Match(Regex pattern, int pos)
        {
            var match = pattern.Match(text, pos);
            return match.Success ? match.Length : 0;
        }

        /// <summary>
        /// A double-quoted string from its opening quote. Nix's rules: <c>\x</c> stands for x (with \n, \r, \t);
        /// <c>${</c> opens an antiquotation; a <c>$</c> followed by anything else, even <c>$</c>, is literal, so
        /// <c>$${</c> is the text <c>$${</c>.
        /// </summary>
        private (NixTokenKind, int, string?) ReadString(int start)
        {
            var value = new StringBuilder();
            var literal = true;
            var pos = start + 1;
            while (true)
            {
                if (pos >= text.Length)
                {
                    throw Error(start, "a string is never closed");
                }

                var c = text[pos];
                if (c == '"')
                {
                    return (NixTokenKind.String, pos + 1, literal ? value.ToString() : null);
                }

                if (c == '\\')
                {
                    if (pos + 1 >= text.Length)
                    {
                        throw Error(start, "a string is never closed");
                    }

                    value.Append(text[pos + 1] switch { 'n' => '\n', 'r' => '\r', 't' => '\t', var other => other });
                    pos += 2;
                }
                else if (c == '$' && At(pos + 1, '{'))
                {
                    literal = false;
                    pos = SkipAntiquotation(pos + 2);
                }
                else if (c == '$' && pos + 1 < text.Length && text[pos + 1] is not ('"' or '\\'))
                {
                    value.Append(c).Append(text[pos + 1]);
                    pos += 2;
                }
                else
                {
                    value.Append(c);
                    pos++;
                }
            }
        }

        /// <summary>
        /// An indented string from its opening <c>''</c>. Escapes: <c>''$</c> (a dollar), <c>'''</c> (two quotes),
        /// <c>''\x</c>; <c>${</c> opens an antiquotation; <c>$</c> followed by anything else is literal.
        /// </summary>
        private int ReadIndentedString(int start)
        {
            var pos = start + 2;
            while (true)
            {
                if (pos >= text.Length)
                {
                    throw Error(start, "an indented string ('') is never closed");
                }

                var c = text[pos];
                if (c == '\'' && At(pos + 1, '\''))
                {
                    if (At(pos + 2, '$') || At(pos + 2, '\''))
                    {
                        pos += 3;
                    }
                    else if (At(pos + 2, '\\'))
                    {
                        pos += 4;
                    }
                    else
                    {
                        return pos + 2;
                    }
                }
                else if (c == '$' && At(pos + 1, '{'))
                {
                    pos = SkipAntiquotation(pos + 2);
                }
                else if (c == '$' && pos + 1 < text.Length && text[pos + 1] != '\'')
                {
                    pos += 2;
                }
                else
                {
                    pos++;
                }
            }
        }

        /// <summary>Nix code from just after <c>${</c> to just past its closing brace.</summary>
        private int SkipAntiquotation(int pos)
        {
            var start = pos - 2;
            var depth = 0;
            while (true)
            {
                pos = SkipWhitespace(pos);
                if (pos >= text.Length)
                {
                    throw Error(start, "an antiquotation ${ is never closed");
                }

                var (kind, end, _) = Read(pos);
                if (kind == NixTokenKind.Symbol)
                {
                    var symbol = text[pos..end];
                    if (symbol is "{" or "${")
                    {
                        depth++;
                    }
                    else if (symbol == "}" && depth-- == 0)
                    {
                        return end;
                    }
                }

                pos = end;
            }
        }

        private bool At(int pos, char c) => pos < text.Length && text[pos] == c;

        private int[] LineStarts()
        {
            var starts = new List<int> { 0 };
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == '\n')
                {
                    starts.Add(i + 1);
                }
            }

            return [.. starts];
        }

        private AtelierException Error(int pos, string what)
        {
            var (line, column) = Position(pos);
            return new AtelierException("NixSyntaxError", FailureKind.InvalidData, $"{file ?? "Nix source"}:{line}:{column}: {what}.");
        }
    }
}
