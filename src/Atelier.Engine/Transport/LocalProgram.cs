namespace Atelier.Transport;

/// <summary>What a program run on this machine gave back.</summary>
/// <param name="TimedOut">True when the program was stopped at its time limit (its exit code then means nothing).</param>
public readonly record struct ProgramResult(int ExitCode, string Output, string Error, bool TimedOut);

/// <summary>
/// Runs a program on this machine with an argument list, never through a shell (<see cref="LocalProcess"/>): no standard
/// input, both outputs read whole as UTF-8, and the whole process tree killed at the time limit or on cancellation.
/// Also finds programs on PATH.
/// </summary>
public static class LocalProgram
{
    /// <summary>Runs <paramref name="program"/>; throws <see cref="OperationCanceledException"/> when cancelled, returns <c>TimedOut</c> at <paramref name="timeout"/>.</summary>
    /// <exception cref="ProgramStartException">The program is missing or could not be started.</exception>
    public static async Task<ProgramResult> RunAsync(
        string program,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var result = await LocalProcess.RunAsync(
            new LocalProcessStart
            {
                Program = program,
                Arguments = [.. arguments],
                WorkingDirectory = workingDirectory,
                Environment = environment?.ToDictionary(e => e.Key, string? (e) => e.Value, StringComparer.Ordinal) ?? new Dictionary<string, string?>(),
                Timeout = timeout,
            },
            cancellationToken).ConfigureAwait(false);
        return result.TimedOut
            ? new ProgramResult(-1, string.Empty, string.Empty, TimedOut: true)
            : new ProgramResult(result.ExitCode, result.Output, result.Error, TimedOut: false);
    }

    /// <summary>The full path of an executable file named <paramref name="program"/> in one of the folders of <paramref name="searchPath"/> (PATH's form), or null.</summary>
    public static string? FindOnPath(string program, string? searchPath = null)
    {
        foreach (var folder in (searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, OperatingSystem.IsWindows() ? program + ".exe" : program);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="file"/> exists and someone may execute it.</summary>
    public static bool IsExecutable(string file) =>
        File.Exists(file)
        && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);
}
