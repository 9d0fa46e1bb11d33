using System.Text;
using Atelier.Transport;

namespace Atelier.Output;

/// <summary>
/// The one sanitiser of text that came from a host (command output, journal lines, commit subjects, HTTP reasons,
/// records from the host's history): what Atelier prints, records and summarises is what <see cref="Clean"/> gives.
/// <list type="number">
/// <item>Terminal control goes: CSI sequences (colours, cursor moves) and OSC, DCS, APC, PM and SOS strings (titles,
/// OSC 8 links, clipboard writes) are removed whole, with their 8-bit forms; any other ESC shows as <c>␛</c>; carriage
/// returns are removed; every other C0 control (BEL, backspace, NUL...), DEL and the C1 controls show as their visible
/// symbols (<c>␇</c>, <c>␈</c>, <c>␀</c>, <c>␡</c>, <c>�</c>), as do the bidirectional overrides. Tabs and line feeds stay.</item>
/// <item>Secrets are redacted (<see cref="Redaction"/>: the built-in shapes and the user's values and patterns).</item>
/// <item>No line can act as a GitHub Actions workflow command: a line that starts (after blanks) with <c>::</c> gets a
/// <c>\</c> in front, and every <c>##[</c> (the runner's older form, read anywhere in a line) becomes <c>##\[</c>.
/// Output shown in the runner's log is fenced besides (<see cref="WorkflowCommands"/>): this holds for every other place
/// the text goes, a result printed with Format-List, an error record's message, a verbose line.</item>
/// </list>
/// Cleaning twice gives what cleaning once gave.
/// </summary>
public sealed class HostText
{
    private const char Escape = '\u001b';

    public HostText(Redaction redaction)
    {
        ArgumentNullException.ThrowIfNull(redaction);
        Redaction = redaction;
    }

    /// <summary>With the built-in redaction only: what the engine uses where no user's rules reach.</summary>
    public static HostText Default { get; } = new(Redaction.BuiltIn);

    /// <summary>What is redacted.</summary>
    public Redaction Redaction { get; }

    /// <summary>Host text (one line or many) as Atelier may show, record and summarise it; null gives the empty string.</summary>
    public string Clean(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        return Disarm(Redaction.Apply(Neutralise(text)));
    }

    /// <summary>Like <see cref="Clean"/>, keeping null as null.</summary>
    public string? CleanOrNull(string? text) => text is null ? null : Clean(text);

    /// <summary>
    /// Lines from a host, each cleaned (a private key block across them is hidden whole); a line never splits into two.
    /// </summary>
    public string[] Lines(IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var cleaner = LineByLine();
        return [.. lines.Select(cleaner.Next)];
    }

    /// <summary>The last <paramref name="lines"/> non-empty lines of a command's output then its error output, cleaned.</summary>
    /// <remarks>
    /// Redaction sees more than the tail (<see cref="LookBehind"/> lines more), so a private key block whose BEGIN line
    /// falls just before the tail is still hidden; a key whose BEGIN lies further back is hidden from the tail's start.
    /// </remarks>
    public string Tail(CommandResult result, int lines)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentOutOfRangeException.ThrowIfNegative(lines);
        var all = (result.Output + "\n" + result.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var seen = string.Join('\n', all.TakeLast(lines + LookBehind));
        return string.Join('\n', Clean(seen).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(lines));
    }

    /// <summary>How many lines before a tail its redaction also reads.</summary>
    public const int LookBehind = 200;

    /// <summary>A cleaner for output that arrives one line at a time (<see cref="CommandOptions.OnLine"/>): one per stream.</summary>
    public HostLineCleaner LineByLine() => new(this);

    /// <summary>Step 1 alone: terminal control removed or made visible (see the class's summary).</summary>
    public static string Neutralise(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(NeedsWork))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == Escape && i + 1 < text.Length && SkipSequence(text, i + 2, text[i + 1], out var next))
            {
                i = next - 1;
            }
            else if (c is '\u009b' or '\u009d' or '\u0090' or '\u0098' or '\u009e' or '\u009f' && SkipSequence(text, i + 1, (char)(c - 0x40), out next))
            {
                i = next - 1;
            }
            else if (c == '\r')
            {
                // dropped: a carriage return rewrites the line on a terminal
            }
            else if (c is '\t' or '\n')
            {
                result.Append(c);
            }
            else if (c < ' ')
            {
                result.Append((char)(0x2400 + c)); // ␀ ... ␟, ␛ for a lone ESC
            }
            else if (c == '\u007f')
            {
                result.Append('\u2421'); // ␡
            }
            else if (c is >= '\u0080' and <= '\u009f' or >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069')
            {
                result.Append('\ufffd');
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }

    /// <summary>Step 3 alone: no line of <paramref name="text"/> can act as a workflow command (see the class's summary).</summary>
    public static string Disarm(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains("::", StringComparison.Ordinal) && !text.Contains("##[", StringComparison.Ordinal))
        {
            return text;
        }

        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Replace("##[", "##\\[", StringComparison.Ordinal);
            lines[i] = line.TrimStart().StartsWith("::", StringComparison.Ordinal) ? "\\" + line : line;
        }

        return string.Join('\n', lines);
    }

    private static bool NeedsWork(char c) =>
        c < ' ' && c is not '\t' and not '\n' || c is >= '\u007f' and <= '\u009f' || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';

    /// <summary>
    /// After an ESC (or at an 8-bit introducer, given as its 7-bit letter), where the sequence <paramref name="kind"/>
    /// introduces ends: a CSI at its final byte, a string (OSC, DCS, SOS, PM, APC) at BEL or ST (ESC \) or the text's end.
    /// False for anything else (a lone ESC, which is then shown).
    /// </summary>
    private static bool SkipSequence(string text, int start, char kind, out int next)
    {
        next = start;
        switch (kind)
        {
            case '[':
                // Parameter bytes 0x30-0x3F, intermediate bytes 0x20-0x2F, then one final byte 0x40-0x7E.
                while (next < text.Length && text[next] is >= '\u0020' and <= '\u003f')
                {
                    next++;
                }

                if (next < text.Length && text[next] is >= '\u0040' and <= '\u007e')
                {
                    next++;
                }

                return true;
            case ']' or 'P' or 'X' or '^' or '_':
                while (next < text.Length)
                {
                    var c = text[next];
                    if (c is '\u0007' or '\u009c' or '\n')
                    {
                        next += c == '\n' ? 0 : 1; // a string never swallows the next line
                        return true;
                    }

                    if (c == Escape && next + 1 < text.Length && text[next + 1] == '\\')
                    {
                        next += 2;
                        return true;
                    }

                    next++;
                }

                return true;
            case >= '\u0040' and <= '\u005f' or >= '\u0060' and <= '\u007e' or '(' or ')' or '*' or '+' or '#' or '%' or '7' or '8' or '=' or '>':
                // Other two-character escapes (charset, keypad, reset ESC c, save/restore ESC 7/8...): dropped, with
                // the charset designation's one more character.
                next = start + (kind is '(' or ')' or '*' or '+' or '#' or '%' && start < text.Length ? 1 : 0);
                return true;
            default:
                return false;
        }
    }
}

/// <summary>
/// Cleans output that arrives one line at a time, as <see cref="HostText.Clean"/> would, hiding a private key block
/// that spans lines (<see cref="LineRedactor"/>). Not thread-safe: one per stream of lines.
/// </summary>
public sealed class HostLineCleaner
{
    private readonly LineRedactor _redactor;

    internal HostLineCleaner(HostText text) => _redactor = text.Redaction.Lines();

    /// <summary>The line as it may be shown; still one line.</summary>
    public string Next(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var plain = HostText.Neutralise(line).Replace('\n', ' ');
        return HostText.Disarm(_redactor.Next(plain).Replace('\n', ' '));
    }
}
