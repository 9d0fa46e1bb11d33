using System.Diagnostics;
using System.Text;

namespace Atelier.Manifest;

/// <summary>
/// Runs <c>nix eval --json &lt;installable&gt;</c> (with the flakes features switched on for this call only), as a
/// program with an argument list, never through a shell; a folder's flake is evaluated as <c>.#attribute</c> inside it.
/// </summary>
internal static class NixEval
{
    private const int ErrorLines = 15;

    public static async Task<string> EvalJsonAsync(ManifestSource source, ManifestOptions options, CancellationToken cancellationToken)
    {
        var nix = FindOnPath("nix", options.SearchPath ?? Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            ?? throw new AtelierException("NixNotInstalled", FailureKind.NotInstalled,
                $"Reading the services manifest from {source} needs nix, which is not on PATH. Install nix, or give the manifest as a {ManifestSource.FileName} file or an http(s) URL.");

        var start = new ProcessStartInfo(nix)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = source.IsDirectory ? source.Location : Environment.CurrentDirectory,
        };
        foreach (var argument in new[] { "--extra-experimental-features", "nix-command flakes", "eval", "--json", source.Installable })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        process.Start();
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.NixTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new AtelierException("ManifestTimedOut", FailureKind.Timeout,
                $"nix eval of {source.Installable} did not finish within {ManifestSource.Seconds(options.NixTimeout)} and was stopped.", ex);
        }

        var json = await output.ConfigureAwait(false);
        var messages = await error.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            var tail = messages.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(ErrorLines);
            throw new AtelierException("ManifestEvalFailed", FailureKind.OperationFailed,
                $"nix eval --json {source.Installable}{(source.IsDirectory ? $" in {source.Location}" : string.Empty)} failed with exit code {process.ExitCode}:\n{string.Join('\n', tail)}");
        }

        return json;
    }

    /// <summary>The full path of an executable file named <paramref name="program"/> in one of the folders, or null.</summary>
    internal static string? FindOnPath(string program, string searchPath)
    {
        foreach (var folder in searchPath.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, OperatingSystem.IsWindows() ? program + ".exe" : program);
            if (File.Exists(candidate)
                && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0))
            {
                return candidate;
            }
        }

        return null;
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It ended by itself in the meantime.
        }
    }
}
