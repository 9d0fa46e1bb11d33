using Atelier.Transport;

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
        var nix = LocalProgram.FindOnPath("nix", options.SearchPath)
            ?? throw new AtelierException("NixNotInstalled", FailureKind.NotInstalled,
                $"Reading the services manifest from {source} needs nix, which is not on PATH. Install nix, or give the manifest as a {ManifestSource.FileName} file or an http(s) URL.");

        var arguments = new[] { "--extra-experimental-features", "nix-command flakes", "eval", "--json", source.Installable };
        var workingDirectory = source.IsDirectory ? source.Location : Environment.CurrentDirectory;
        var result = await LocalProgram.RunAsync(nix, arguments, workingDirectory, options.NixTimeout, cancellationToken).ConfigureAwait(false);
        if (result.TimedOut)
        {
            throw new AtelierException("ManifestTimedOut", FailureKind.Timeout,
                $"nix eval of {source.Installable} did not finish within {ManifestSource.Seconds(options.NixTimeout)} and was stopped.");
        }

        if (result.ExitCode != 0)
        {
            var tail = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(ErrorLines);
            throw new AtelierException("ManifestEvalFailed", FailureKind.OperationFailed,
                $"nix eval --json {source.Installable}{(source.IsDirectory ? $" in {source.Location}" : string.Empty)} failed with exit code {result.ExitCode}:\n{string.Join('\n', tail)}");
        }

        return result.Output;
    }
}
