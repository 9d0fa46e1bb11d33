namespace Atelier;

/// <summary>"Did you mean" for names: the known names closest to one that was not found, by edit distance.</summary>
public static class Suggestions
{
    /// <summary>
    /// Up to <paramref name="max"/> of <paramref name="known"/> that are close to <paramref name="name"/> (ignoring case):
    /// within a quarter of its length in edits (at least two), or starting with it; closest first.
    /// </summary>
    public static IReadOnlyList<string> Closest(string name, IEnumerable<string> known, int max = 3)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(known);
        var limit = Math.Max(2, name.Length / 4);
        return known
            .Distinct(StringComparer.Ordinal)
            .Select(k => (Name: k, Distance: Distance(k.ToUpperInvariant(), name.ToUpperInvariant())))
            .Where(k => k.Distance <= limit || k.Name.StartsWith(name, StringComparison.OrdinalIgnoreCase))
            .OrderBy(k => k.Distance)
            .ThenBy(k => k.Name, StringComparer.Ordinal)
            .Take(max)
            .Select(k => k.Name)
            .ToList();
    }

    /// <summary>The edit distance between two strings (insertions, deletions, substitutions).</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }
}
