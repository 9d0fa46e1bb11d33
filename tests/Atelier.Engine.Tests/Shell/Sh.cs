using System.Diagnostics;
using System.Text;

namespace Atelier.Tests.Shell;

/// <summary>What a real process left: exit code, standard output and standard error, byte for byte.</summary>
internal sealed record ProcessOutput(int ExitCode, string Output, string Error);

/// <summary>Runs real programs (<c>/bin/sh</c>, ssh-keygen, git...) for the tests, with arguments passed as-is.</summary>
internal static class Sh
{
    private static readonly UTF8Encoding Utf8 = new(false);

    /// <summary>Runs <c>/bin/sh -c script sh args...</c>.</summary>
    public static ProcessOutput Run(string script, IEnumerable<string>? arguments = null, IReadOnlyDictionary<string, string>? environment = null) =>
        Exec("/bin/sh", ["-c", script, "sh", .. arguments ?? []], environment);

    /// <summary>Runs a program with exact arguments; fails the test if it has not ended within 30 s.</summary>
    public static ProcessOutput Exec(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within 30 s.");
        }

        return new ProcessOutput(process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    /// <summary>True when a program is found on PATH.</summary>
    public static bool OnPath(string program) => Run($"command -v {program}").ExitCode == 0;
}
