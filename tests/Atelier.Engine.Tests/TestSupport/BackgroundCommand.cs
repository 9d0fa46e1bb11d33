using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text;
using Atelier.Shell;
using Atelier.Tests.Shell;

namespace Atelier.Tests;

/// <summary>
/// A host command run in the background as a host runs it (<c>/bin/sh -c &lt;command&gt;</c>, HOME and PATH set), so a
/// test can send it a signal half way: <see cref="PausingProgram"/> says when.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class BackgroundCommand : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _output;
    private readonly Task<string> _error;

    public BackgroundCommand(ShellCommand command, string home, string path)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = home,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command.Text);
        start.Environment["HOME"] = home;
        start.Environment["PATH"] = path;
        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start /bin/sh.");
        _process.StandardInput.Close();
        _output = _process.StandardOutput.ReadToEndAsync();
        _error = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>Waits for the command to end (30 s at most) and returns what it left.</summary>
    public ProcessOutput WaitForExit()
    {
        if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException("The command did not end within 30 s of its signal.");
        }

        return new ProcessOutput(_process.ExitCode, _output.GetAwaiter().GetResult(), _error.GetAwaiter().GetResult());
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
