namespace Atelier.Nix;

/// <summary>
/// One binding of an attribute set, as written: <c>a.b."c" = value;</c>. <see cref="Path"/> is the full path from
/// the set the walk started in (a binding inside <c>x = { ... };</c> has <c>x</c> in front of its own names);
/// a name that is an antiquotation, or a string with one, is null. Indices are token indices.
/// </summary>
internal sealed record NixBinding(
    IReadOnlyList<string?> Path,
    int OwnLength,
    int First,
    int EqualsSign,
    int Semicolon,
    int SetOpen,
    int SetClose)
{
    /// <summary>True when the value is exactly an attribute set literal (<c>{ ... }</c> or <c>rec { ... }</c>).</summary>
    public bool IsSet => SetOpen >= 0;

    /// <summary>Depth of the set the binding is written in, counted from the walk's start (0 for its own members).</summary>
    public int Nesting => Path.Count - OwnLength;

    /// <summary>True when the full path starts with these names.</summary>
    public bool StartsWith(params string[] names)
    {
        if (Path.Count < names.Length)
        {
            return false;
        }

        for (var i = 0; i < names.Length; i++)
        {
            if (Path[i] != names[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the full path is exactly these names.</summary>
    public bool Is(params string[] names) => Path.Count == names.Length && StartsWith(names);
}

/// <summary>
/// The attribute set a file evaluates to (token indices of its braces), the names its function headers and
/// <c>let</c> bring into scope, and whether a <c>with</c> may bring more.
/// </summary>
internal sealed record NixTopLevel(int Open, int Close, IReadOnlySet<string> Bound, bool UnderWith)
{
    /// <summary>True when <paramref name="name"/> may be used inside the set.</summary>
    public bool InScope(string name) => UnderWith || Bound.Contains(name);
}

/// <summary>
/// Nix source as tokens (comments left out) with matching brackets, enough structure to find the attribute set a
/// file evaluates to and walk its bindings. Never evaluates anything.
/// </summary>
internal sealed class NixSource
{
    private readonly int[] _match;

    public NixSource(string text, string? file = null)
    {
        Text = text;
        File = file;
        Tokens = NixLexer.Tokenize(text, includeComments: false, file);
        _match = MatchBrackets();
    }

    public string Text { get; }

    public string? File { get; }

    public IReadOnlyList<NixToken> Tokens { get; }

    /// <summary>The index of the bracket closing the opener at <paramref name="index"/>.</summary>
    public int Match(int index) => _match[index];

    /// <summary>
    /// The attribute set the file evaluates to, past any function headers (<c>{ config, ... }:</c>, <c>x:</c>,
    /// <c>args@{ ... }:</c>), <c>let ... in</c> and <c>with x;</c>: the indices of its braces, and the names those
    /// headers bring into scope. Throws <c>NixTopLevelSetNotFound</c> when the file's body is not a plain attribute set.
    /// </summary>
    public NixTopLevel TopLevelSet()
    {
        var bound = new HashSet<string>(StringComparer.Ordinal);
        var underWith = false;
        var i = 0;
        var last = Tokens.Count - 1;
        while (i <= last)
        {
            var t = Tokens[i];
            if (t.IsSymbol("{"))
            {
                var close = Match(i);
                if (IsSymbolAt(close + 1, ":") || (IsSymbolAt(close + 1, "@") && KindAt(close + 2) == NixTokenKind.Identifier && IsSymbolAt(close + 3, ":")))
                {
                    AddFormals(i, close, bound);
                    if (IsSymbolAt(close + 1, "@"))
                    {
                        bound.Add(Tokens[close + 2].Text);
                    }

                    i = IsSymbolAt(close + 1, ":") ? close + 2 : close + 4;
                    continue;
                }

                if (close == last)
                {
                    return new NixTopLevel(i, close, bound, underWith);
                }

                break;
            }

            if (t.IsIdentifier("rec") && IsSymbolAt(i + 1, "{") && Match(i + 1) == last)
            {
                return new NixTopLevel(i + 1, last, bound, underWith);
            }

            if (t.IsIdentifier("let"))
            {
                var @in = MatchingIn(i, last + 1);
                foreach (var binding in Bindings(i, @in, recurse: false))
                {
                    if (binding.Path[0] is { } name)
                    {
                        bound.Add(name);
                    }
                }

                AddInherited(i, @in, bound);
                i = @in + 1;
                continue;
            }

            if (t.IsIdentifier("with") || t.IsIdentifier("assert"))
            {
                underWith |= t.Text == "with";
                i = ValueEnd(i + 1, last + 1) + 1;
                continue;
            }

            if (t.Kind == NixTokenKind.Identifier && IsSymbolAt(i + 1, ":"))
            {
                bound.Add(t.Text);
                i += 2;
                continue;
            }

            if (t.Kind == NixTokenKind.Identifier && IsSymbolAt(i + 1, "@") && IsSymbolAt(i + 2, "{") && IsSymbolAt(Match(i + 2) + 1, ":"))
            {
                bound.Add(t.Text);
                AddFormals(i + 2, Match(i + 2), bound);
                i = Match(i + 2) + 2;
                continue;
            }

            break;
        }

        throw new AtelierException(
            "NixTopLevelSetNotFound",
            FailureKind.InvalidData,
            $"{File ?? "The Nix file"} does not evaluate to a plain attribute set ('{{ ... }}', after any function header and 'let ... in'), so there is nowhere to add to.");
    }

    /// <summary>
    /// The bindings of the set between <paramref name="open"/> and <paramref name="close"/>, in order; with
    /// <paramref name="recurse"/>, each binding whose value is a set literal is followed by that set's bindings.
    /// </summary>
    public IEnumerable<NixBinding> Bindings(int open, int close, bool recurse = true) => Bindings(open, close, [], recurse);

    private IEnumerable<NixBinding> Bindings(int open, int close, List<string?> prefix, bool recurse)
    {
        var i = open + 1;
        while (i < close)
        {
            if (Tokens[i].IsIdentifier("inherit"))
            {
                i = ValueEnd(i + 1, close) + 1;
                continue;
            }

            var first = i;
            var names = new List<string?>(prefix);
            while (true)
            {
                var t = Tokens[i];
                if (t.Kind == NixTokenKind.Identifier || t.Kind == NixTokenKind.String)
                {
                    names.Add(t.Value);
                    i++;
                }
                else if (t.IsSymbol("${"))
                {
                    names.Add(null);
                    i = Match(i) + 1;
                }
                else
                {
                    throw Unexpected(t, "an attribute name");
                }

                if (i >= close)
                {
                    throw Unexpected(Tokens[close], "'=' and a value");
                }

                if (Tokens[i].IsSymbol("="))
                {
                    break;
                }

                if (!Tokens[i].IsSymbol("."))
                {
                    throw Unexpected(Tokens[i], "'.' or '='");
                }

                i++;
            }

            var equals = i;
            var semicolon = ValueEnd(equals + 1, close);
            var (setOpen, setClose) = (-1, -1);
            if (IsSymbolAt(equals + 1, "{") && Match(equals + 1) == semicolon - 1)
            {
                (setOpen, setClose) = (equals + 1, semicolon - 1);
            }
            else if (Tokens[equals + 1].IsIdentifier("rec") && IsSymbolAt(equals + 2, "{") && Match(equals + 2) == semicolon - 1)
            {
                (setOpen, setClose) = (equals + 2, semicolon - 1);
            }

            var binding = new NixBinding(names, names.Count - prefix.Count, first, equals, semicolon, setOpen, setClose);
            yield return binding;
            if (recurse && binding.IsSet)
            {
                foreach (var inner in Bindings(setOpen, setClose, names, recurse))
                {
                    yield return inner;
                }
            }

            i = semicolon + 1;
        }
    }

    /// <summary>
    /// The semicolon ending an expression that starts at <paramref name="from"/>, skipping brackets, the bindings of
    /// a <c>let</c> and the semicolons of <c>with x;</c> and <c>assert x;</c>.
    /// </summary>
    public int ValueEnd(int from, int limit)
    {
        var pending = 0;
        for (var j = from; j < limit; j++)
        {
            var t = Tokens[j];
            if (t.Kind == NixTokenKind.Symbol && t.Text is "{" or "${" or "(" or "[")
            {
                j = Match(j);
            }
            else if (t.IsIdentifier("let"))
            {
                j = MatchingIn(j, limit);
            }
            else if (t.IsIdentifier("with") || t.IsIdentifier("assert"))
            {
                pending++;
            }
            else if (t.IsSymbol(";"))
            {
                if (pending == 0)
                {
                    return j;
                }

                pending--;
            }
        }

        throw Unexpected(limit < Tokens.Count ? Tokens[limit] : null, "';'");
    }

    /// <summary>The character offset where the line holding <paramref name="offset"/> starts.</summary>
    public int LineStart(int offset)
    {
        var newline = offset == 0 ? -1 : Text.LastIndexOf('\n', offset - 1);
        return newline + 1;
    }

    /// <summary>The whitespace before a token when it is the first thing on its line, else null.</summary>
    public string? LeadingIndent(int tokenIndex)
    {
        var start = Tokens[tokenIndex].Start;
        var lineStart = LineStart(start);
        var before = Text[lineStart..start];
        return before.All(c => c is ' ' or '\t') ? before : null;
    }

    /// <summary>The names of a formals set <c>{ a, b ? 1, ... }</c>: identifiers right after its brace or a comma.</summary>
    private void AddFormals(int open, int close, HashSet<string> bound)
    {
        for (var k = open + 1; k < close; k++)
        {
            var t = Tokens[k];
            if (t.Kind == NixTokenKind.Symbol && t.Text is "{" or "${" or "(" or "[")
            {
                k = Match(k);
            }
            else if (t.Kind == NixTokenKind.Identifier && (Tokens[k - 1].IsSymbol(",") || k == open + 1))
            {
                bound.Add(t.Text);
            }
        }
    }

    /// <summary>The names of the <c>inherit</c> lines of a <c>let</c>: <c>inherit (lib) mkIf types;</c>.</summary>
    private void AddInherited(int let, int @in, HashSet<string> bound)
    {
        for (var k = let + 1; k < @in; k++)
        {
            var t = Tokens[k];
            if (t.Kind == NixTokenKind.Symbol && t.Text is "{" or "${" or "(" or "[")
            {
                k = Match(k);
            }
            else if (t.IsIdentifier("inherit"))
            {
                for (k++; k < @in && !Tokens[k].IsSymbol(";"); k++)
                {
                    if (Tokens[k].IsSymbol("("))
                    {
                        k = Match(k);
                    }
                    else if (Tokens[k].Kind == NixTokenKind.Identifier)
                    {
                        bound.Add(Tokens[k].Text);
                    }
                }
            }
        }
    }

    private int MatchingIn(int let, int limit)
    {
        var nested = 0;
        for (var k = let + 1; k < limit; k++)
        {
            var t = Tokens[k];
            if (t.Kind == NixTokenKind.Symbol && t.Text is "{" or "${" or "(" or "[")
            {
                k = Match(k);
            }
            else if (t.IsIdentifier("let"))
            {
                nested++;
            }
            else if (t.IsIdentifier("in") && nested-- == 0)
            {
                return k;
            }
        }

        throw Unexpected(Tokens[let], "'in' after this 'let'");
    }

    private bool IsSymbolAt(int index, string symbol) => index >= 0 && index < Tokens.Count && Tokens[index].IsSymbol(symbol);

    private NixTokenKind? KindAt(int index) => index >= 0 && index < Tokens.Count ? Tokens[index].Kind : null;

    private int[] MatchBrackets()
    {
        var match = new int[Tokens.Count];
        Array.Fill(match, -1);
        var open = new Stack<int>();
        for (var i = 0; i < Tokens.Count; i++)
        {
            var t = Tokens[i];
            if (t.Kind != NixTokenKind.Symbol)
            {
                continue;
            }

            switch (t.Text)
            {
                case "{" or "${" or "(" or "[":
                    open.Push(i);
                    break;
                case "}" or ")" or "]":
                    var expected = t.Text switch { "}" => "{", ")" => "(", _ => "[" };
                    if (open.Count == 0 || (Tokens[open.Peek()].Text != expected && !(expected == "{" && Tokens[open.Peek()].Text == "${")))
                    {
                        throw Unexpected(t, open.Count == 0 ? "no closing bracket here" : $"the bracket closing '{Tokens[open.Peek()].Text}' at line {Tokens[open.Peek()].Line}");
                    }

                    var o = open.Pop();
                    match[o] = i;
                    match[i] = o;
                    break;
            }
        }

        if (open.Count > 0)
        {
            var t = Tokens[open.Peek()];
            throw new AtelierException("NixSyntaxError", FailureKind.InvalidData, $"{File ?? "Nix source"}:{t.Line}:{t.Column}: '{t.Text}' is never closed.");
        }

        return match;
    }

    private AtelierException Unexpected(NixToken? token, string expected)
    {
        var where = token is null ? "end of file" : $"{token.Line}:{token.Column}";
        var found = token is null ? "the end of the file" : $"'{token.Text}'";
        return new AtelierException("NixSyntaxError", FailureKind.InvalidData, $"{File ?? "Nix source"}:{where}: expected {expected}, found {found}.");
    }
}
