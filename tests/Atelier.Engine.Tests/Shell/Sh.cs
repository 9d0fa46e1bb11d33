using Atelier.Transport;

namespace Atelier.Tests.Shell;

/// <summary>What a real process left: exit code, standard output and standard error, byte for byte.</summary>
internal sealed record ProcessOutput(int ExitCode, string Output, string Error);

/// <summary>Runs real programs (<c>/bin/sh</c>, ssh-keygen, git...) for the tests, with arguments passed as-is.</summary>
internal static class Sh
{
    /// <summary>Runs <c>/bin/sh -c script sh args...</c>.</summary>
    public static ProcessOutput Run(string script, IEnumerable<string>? arguments = null, IReadOnlyDictionary<string, string>? environment = null) =>
        Exec("/bin/sh", ["-c", script, "sh", .. arguments ?? []], environment);

    /// <summary>Runs a program with exact arguments; fails the test if it has not ended within 30 s.</summary>
    public static ProcessOutput Exec(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var result = LocalProgram.RunAsync(program, arguments, Environment.CurrentDirectory, TimeSpan.FromSeconds(30), CancellationToken.None, environment)
            .GetAwaiter().GetResult();
        return result.TimedOut
            ? throw new TimeoutException($"{program} did not finish within 30 s.")
            : new ProcessOutput(result.ExitCode, result.Output, result.Error);
    }

    /// <summary>True when a program is found on PATH.</summary>
    public static bool OnPath(string program) => Run($"command -v {program}").ExitCode == 0;
}
