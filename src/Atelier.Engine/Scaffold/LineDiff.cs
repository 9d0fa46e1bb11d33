using System.Text;

namespace Atelier.Scaffold;

/// <summary>A unified diff (as <c>diff -u</c> prints it) between two texts, line by line.</summary>
public static class LineDiff
{
    /// <summary>
    /// The unified diff from <paramref name="oldText"/> (null for a new file) to <paramref name="newText"/>, labelled with
    /// <paramref name="path"/>; empty when the texts are equal.
    /// </summary>
    public static string Unified(string? oldText, string newText, string path, int context = 3)
    {
        if (oldText == newText)
        {
            return string.Empty;
        }

        var a = Lines(oldText);
        var b = Lines(newText);
        var edits = Edits(a, b);
        var sb = new StringBuilder();
        sb.Append("--- ").Append(oldText is null ? "/dev/null" : "a/" + path).Append('\n');
        sb.Append("+++ b/").Append(path).Append('\n');
        foreach (var hunk in Hunks(edits, context))
        {
            var first = edits[hunk.Start];
            var oldCount = 0;
            var newCount = 0;
            for (var i = hunk.Start; i < hunk.End; i++)
            {
                oldCount += edits[i].Kind == '+' ? 0 : 1;
                newCount += edits[i].Kind == '-' ? 0 : 1;
            }

            sb.Append("@@ -").Append(Range(first.OldLine, oldCount)).Append(" +").Append(Range(first.NewLine, newCount)).Append(" @@\n");
            for (var i = hunk.Start; i < hunk.End; i++)
            {
                sb.Append(edits[i].Kind).Append(edits[i].Text).Append('\n');
            }
        }

        return sb.ToString();
    }

    private static string Range(int line, int count) => count == 0 ? $"{line - 1},0" : count == 1 ? $"{line}" : $"{line},{count}";

    private static string[] Lines(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }

        var lines = text.Split('\n');
        return text.EndsWith('\n') ? lines[..^1] : lines;
    }

    /// <summary>One line of the diff: ' ' kept, '-' removed, '+' added, with its 1-based line in each text.</summary>
    private readonly record struct Edit(char Kind, string Text, int OldLine, int NewLine);

    /// <summary>
    /// The edit script: the common head and tail are matched directly, the middle by a longest common subsequence
    /// (small in practice: Atelier's changes add or replace one block).
    /// </summary>
    private static List<Edit> Edits(string[] a, string[] b)
    {
        var head = 0;
        while (head < a.Length && head < b.Length && a[head] == b[head])
        {
            head++;
        }

        var tail = 0;
        while (tail < a.Length - head && tail < b.Length - head && a[a.Length - 1 - tail] == b[b.Length - 1 - tail])
        {
            tail++;
        }

        var n = a.Length - head - tail;
        var m = b.Length - head - tail;
        var lcs = new int[n + 1, m + 1];
        for (var i = n - 1; i >= 0; i--)
        {
            for (var j = m - 1; j >= 0; j--)
            {
                lcs[i, j] = a[head + i] == b[head + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        var edits = new List<Edit>(a.Length + b.Length);
        for (var k = 0; k < head; k++)
        {
            edits.Add(new Edit(' ', a[k], k + 1, k + 1));
        }

        int x = 0, y = 0;
        while (x < n || y < m)
        {
            if (x < n && y < m && a[head + x] == b[head + y])
            {
                edits.Add(new Edit(' ', a[head + x], head + x + 1, head + y + 1));
                x++;
                y++;
            }
            else if (y < m && (x == n || lcs[x, y + 1] >= lcs[x + 1, y]))
            {
                edits.Add(new Edit('+', b[head + y], head + x + 1, head + y + 1));
                y++;
            }
            else
            {
                edits.Add(new Edit('-', a[head + x], head + x + 1, head + y + 1));
                x++;
            }
        }

        for (var k = 0; k < tail; k++)
        {
            edits.Add(new Edit(' ', a[a.Length - tail + k], a.Length - tail + k + 1, b.Length - tail + k + 1));
        }

        return edits;
    }

    /// <summary>Ranges of the edit script that hold changes, each with up to <paramref name="context"/> kept lines around it.</summary>
    private static IEnumerable<(int Start, int End)> Hunks(List<Edit> edits, int context)
    {
        var i = 0;
        while (i < edits.Count)
        {
            while (i < edits.Count && edits[i].Kind == ' ')
            {
                i++;
            }

            if (i == edits.Count)
            {
                yield break;
            }

            var start = Math.Max(0, i - context);
            var end = i;
            while (end < edits.Count)
            {
                if (edits[end].Kind != ' ')
                {
                    end++;
                    continue;
                }

                var run = end;
                while (run < edits.Count && edits[run].Kind == ' ')
                {
                    run++;
                }

                if (run == edits.Count || run - end > 2 * context)
                {
                    end = Math.Min(edits.Count, end + context);
                    break;
                }

                end = run;
            }

            yield return (start, end);
            i = end;
        }
    }
}
