using System.Text;

namespace Atelier.Output;

/// <summary>
/// Text in GitHub-flavoured Markdown (the step summary) that renders as the text itself: a code span or a fenced
/// block whose delimiter is longer than any run of backticks inside, so nothing breaks out of it, and plain text with
/// every character Markdown or HTML would read escaped. Give it cleaned text (<see cref="HostText.Clean"/>).
/// </summary>
public static class Markdown
{
    /// <summary>
    /// An inline code span of one line (line breaks become spaces). In a table cell (<paramref name="inTable"/>) a
    /// <c>|</c> is escaped too, which GitHub undoes inside the span.
    /// </summary>
    public static string Code(string text, bool inTable = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Replace('\n', ' ');
        if (text.Trim().Length == 0)
        {
            return inTable ? "&nbsp;" : string.Empty; // an empty span is not a span: it would show its backticks
        }

        if (inTable)
        {
            text = text.Replace("|", "\\|", StringComparison.Ordinal);
        }

        var fence = new string('`', LongestRun(text, '`') + 1);

        // A space on each side when the text starts or ends with a backtick (or a space: the pair is stripped once).
        var pad = text[0] is '`' or ' ' || text[^1] is '`' or ' ' ? " " : string.Empty;
        return fence + pad + text + pad + fence;
    }

    /// <summary>A fenced code block (its lines as they are), ending with a line break.</summary>
    public static string CodeBlock(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var fence = new string('`', Math.Max(3, LongestRun(text, '`') + 1));
        return new StringBuilder()
            .Append(fence).Append('\n')
            .Append(text.TrimEnd('\n')).Append('\n')
            .Append(fence).Append('\n')
            .ToString();
    }

    /// <summary>
    /// Plain text of one line: HTML's <c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c> and <c>"</c> as entities, and every ASCII
    /// punctuation character Markdown may read (emphasis, links, images, headings, lists, tables) behind a backslash.
    /// </summary>
    public static string Text(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new StringBuilder(text.Length);
        foreach (var c in text.Replace('\n', ' '))
        {
            switch (c)
            {
                case '&':
                    result.Append("&amp;");
                    break;
                case '<':
                    result.Append("&lt;");
                    break;
                case '>':
                    result.Append("&gt;");
                    break;
                case '"':
                    result.Append("&quot;");
                    break;
                case '\\' or '`' or '*' or '_' or '{' or '}' or '[' or ']' or '(' or ')' or '#' or '+' or '-' or '.' or '!' or '|' or '~' or ':':
                    result.Append('\\').Append(c);
                    break;
                default:
                    result.Append(c);
                    break;
            }
        }

        return result.ToString();
    }

    private static int LongestRun(string text, char c)
    {
        int longest = 0, run = 0;
        foreach (var x in text)
        {
            run = x == c ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        return longest;
    }
}
