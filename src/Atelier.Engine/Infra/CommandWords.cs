using System.Text;
using Atelier.Shell;

namespace Atelier.Infra;

/// <summary>
/// Splits a command written as text (<c>nix run github:serokell/deploy-rs --</c>) into its words the way a POSIX shell
/// would, with single quotes, double quotes and backslashes, but without expanding anything: the words are run
/// directly, never through a shell.
/// </summary>
public static class CommandWords
{
    /// <summary>The words of <paramref name="text"/>.</summary>
    /// <exception cref="FormatException">A quote is not closed, a backslash ends the text, or there are no words.</exception>
    public static IReadOnlyList<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case ' ' or '\t' or '\n' or '\r':
                    if (inWord)
                    {
                        words.Add(word.ToString());
                        word.Clear();
                        inWord = false;
                    }

                    break;
                case '\'':
                    var close = text.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        throw new FormatException($"has a single quote at position {i + 1} that is not closed");
                    }

                    word.Append(text, i + 1, close - i - 1);
                    i = close;
                    inWord = true;
                    break;
                case '"':
                    i = DoubleQuoted(text, i, word);
                    inWord = true;
                    break;
                case '\\':
                    if (i + 1 >= text.Length)
                    {
                        throw new FormatException("ends with a backslash");
                    }

                    if (text[i + 1] != '\n')
                    {
                        word.Append(text[i + 1]);
                        inWord = true;
                    }

                    i++;
                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words.Count > 0 ? words : throw new FormatException("holds no command");
    }

    /// <summary>Words joined into one line that a POSIX shell reads back as the same words (for messages and -WhatIf).</summary>
    public static string Join(IEnumerable<string> words) => string.Join(' ', words.Select(RemoteValue.Quote));

    private static int DoubleQuoted(string text, int open, StringBuilder word)
    {
        for (var i = open + 1; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '"')
            {
                return i;
            }

            if (c == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\' or '$' or '`' or '\n')
            {
                if (text[i + 1] != '\n')
                {
                    word.Append(text[i + 1]);
                }

                i++;
                continue;
            }

            word.Append(c);
        }

        throw new FormatException($"has a double quote at position {open + 1} that is not closed");
    }
}
