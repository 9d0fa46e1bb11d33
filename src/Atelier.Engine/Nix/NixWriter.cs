namespace Atelier.Nix;

/// <summary>
/// Writes Nix source line by line with nested indentation: attribute sets, lists and comments. Values are written
/// by the caller with <see cref="NixValue"/>; the writer only lays them out.
/// </summary>
public sealed class NixWriter
{
    private readonly List<string> _lines = [];
    private readonly Stack<string> _closers = new();
    private readonly string _baseIndent;
    private readonly string _step;

    /// <param name="indent">Indentation of the outermost lines.</param>
    /// <param name="step">Indentation added per level.</param>
    public NixWriter(string indent = "", string step = "  ")
    {
        _baseIndent = indent;
        _step = step;
    }

    /// <summary>The indentation of the next line.</summary>
    public string Indent => _baseIndent + string.Concat(Enumerable.Repeat(_step, _closers.Count));

    /// <summary>One line at the current indentation; an empty line has no indentation.</summary>
    public NixWriter Line(string text = "")
    {
        ArgumentNullException.ThrowIfNull(text);
        _lines.Add(text.Length == 0 ? string.Empty : Indent + text);
        return this;
    }

    /// <summary>A <c>#</c> comment line; line breaks in the text become spaces.</summary>
    public NixWriter Comment(string text) => Line("# " + NixValue.CommentText(text));

    /// <summary><c>path = expression;</c></summary>
    public NixWriter Attr(string path, string expression) => Line($"{path} = {expression};");

    /// <summary>A list item or any other expression on its own line.</summary>
    public NixWriter Item(string expression) => Line(expression);

    /// <summary><c>path = {</c>, closed by <see cref="Close"/> with <c>};</c>.</summary>
    public NixWriter OpenSet(string path) => Open(path + " = {", "};");

    /// <summary><c>path = [</c>, closed by <see cref="Close"/> with <c>];</c>.</summary>
    public NixWriter OpenList(string path) => Open(path + " = [", "];");

    /// <summary>Any opening line (<c>mkService {</c>, <c>extraConfig = cfg: {</c>) and the line that will close it.</summary>
    public NixWriter Open(string header, string closer)
    {
        Line(header);
        _closers.Push(closer);
        return this;
    }

    /// <summary>Closes the innermost open set or list.</summary>
    public NixWriter Close()
    {
        if (_closers.Count == 0)
        {
            throw new InvalidOperationException("Nothing is open.");
        }

        var closer = _closers.Pop();
        Line(closer);
        return this;
    }

    /// <summary>The lines written, joined by <paramref name="newLine"/>, without a final line break.</summary>
    public string ToString(string newLine)
    {
        if (_closers.Count != 0)
        {
            throw new InvalidOperationException($"{_closers.Count} set(s) or list(s) are still open.");
        }

        return string.Join(newLine, _lines);
    }

    /// <summary>The lines written, joined by <c>\n</c>, without a final line break.</summary>
    public override string ToString() => ToString("\n");
}
