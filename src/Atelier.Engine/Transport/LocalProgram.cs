using System.Diagnostics;
using System.Text;

namespace Atelier.Transport;

/// <summary>What a program run on this machine gave back.</summary>
/// <param name="TimedOut">True when the program was stopped at its time limit (its exit code then means nothing).</param>
public readonly record struct ProgramResult(int ExitCode, string Output, string Error, bool TimedOut);

/// <summary>
/// Runs a program on this machine with an argument list, never through a shell: no standard input, both outputs read
/// whole as UTF-8, and the whole process tree killed at the time limit or on cancellation.
/// </summary>
public static class LocalProgram
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Runs <paramref name="program"/>; throws <see cref="OperationCanceledException"/> when cancelled, returns <c>TimedOut</c> at <paramref name="timeout"/>.</summary>
    public static async Task<ProgramResult> RunAsync(
        string program,
        IEnumerable<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = new Process { StartInfo = start };
        process.Start();
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended by itself in the meantime.
            }

            cancellationToken.ThrowIfCancellationRequested();
            return new ProgramResult(-1, string.Empty, string.Empty, TimedOut: true);
        }

        return new ProgramResult(process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false), TimedOut: false);
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
