using System.Text;

namespace Atelier.Tests;

/// <summary>
/// Splits a command line into words as a POSIX shell would before expansion: blanks separate words, single quotes keep
/// everything literally (<c>'\''</c> is a quote inside a quoted word), double quotes and backslashes keep what they
/// quote; <c>$HOME</c> and the like stay as they are written. Enough to read back what <see cref="Atelier.Shell.ShellCommand"/>
/// and <see cref="Atelier.Shell.RemoteValue.Quote"/> build.
/// </summary>
internal static class ShellWords
{
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
                case ' ' or '\t' or '\n':
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
                        throw new FormatException($"An unclosed single quote at {i}: {text}");
                    }

                    word.Append(text, i + 1, close - i - 1);
                    i = close;
                    inWord = true;
                    break;
                case '"':
                    for (i++; i < text.Length && text[i] != '"'; i++)
                    {
                        if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\' or '$' or '`')
                        {
                            i++;
                        }

                        word.Append(text[i]);
                    }

                    if (i >= text.Length)
                    {
                        throw new FormatException($"An unclosed double quote: {text}");
                    }

                    inWord = true;
                    break;
                case '\\' when i + 1 < text.Length:
                    word.Append(text[++i]);
                    inWord = true;
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

        return words;
    }
}
