using Atelier.Shell;

namespace Atelier.Tests.Transport;

/// <summary>Looks for live processes by their command line in /proc (zombies have none, so they do not count).</summary>
internal static class ProcessTable
{
    /// <summary>A marker no other process has: <c>sleep 300.123456</c> sleeps as long but is found by its own text.</summary>
    public static ShellCommand UniqueSleep() => ShellCommand.Format($"sleep {$"300.{Random.Shared.Next(100_000, 999_999)}"}");

    /// <summary>The ids of the processes whose command line contains <paramref name="text"/>.</summary>
    public static List<int> Find(string text)
    {
        var found = new List<int>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(folder, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(text, StringComparison.Ordinal) && !commandLine.Contains("/proc", StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    /// <summary>Waits (up to <paramref name="within"/>) until <paramref name="condition"/> holds; false if it never did.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(25);
        }

        return true;
    }
}
