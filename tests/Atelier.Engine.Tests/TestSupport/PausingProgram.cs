using System.Diagnostics;
using System.Runtime.Versioning;
using Atelier.Shell;
using Atelier.Tests.Shell;

namespace Atelier.Tests;

/// <summary>
/// A stand-in on PATH for a program: it runs the real one, and when its arguments match a pattern (the first time
/// only) it writes "&lt;its caller's pid&gt; &lt;its own pid&gt;" to a marker file and sleeps, so the script that called
/// it is caught between two commands. <see cref="Interrupt"/> then sends TERM to the script and ends the pause.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class PausingProgram
{
    private readonly string _marker;

    /// <param name="bin">A folder put first on the script's PATH.</param>
    /// <param name="program">The program to stand in for (found on PATH now).</param>
    /// <param name="when">A sh <c>case</c> pattern matched against the arguments joined with spaces.</param>
    public PausingProgram(string bin, string program, string when)
    {
        var real = Sh.Run($"command -v {program}").Output.Trim();
        var mv = Sh.Run("command -v mv").Output.Trim();
        var sleep = Sh.Run("command -v sleep").Output.Trim();
        Directory.CreateDirectory(bin);
        _marker = Path.Combine(bin, program + ".paused");
        var shim = Path.Combine(bin, program);
        var marker = RemoteValue.Quote(_marker);
        File.WriteAllText(shim, $"""
            #!/bin/sh
            {RemoteValue.Quote(real)} "$@"
            rc=$?
            case "$*" in
              {when})
                if [ ! -e {marker} ]; then
                  echo "$PPID $$" > {marker}.tmp && {RemoteValue.Quote(mv)} {marker}.tmp {marker}
                  exec {RemoteValue.Quote(sleep)} 30
                fi ;;
            esac
            exit $rc

            """);
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Waits (10 s at most) until the program has paused.</summary>
    public void WaitUntilPaused()
    {
        var stopwatch = Stopwatch.StartNew();
        while (!File.Exists(_marker))
        {
            if (stopwatch.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"The stand-in never paused (no {_marker}).");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>The pid of the script that called the program (once it has paused).</summary>
    public int CallerPid
    {
        get
        {
            WaitUntilPaused();
            return int.Parse(File.ReadAllText(_marker).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Sends TERM to the paused script, then to the pause itself, so the script sees its command end.</summary>
    public void Interrupt()
    {
        WaitUntilPaused();
        var pids = File.ReadAllText(_marker).Split(' ', StringSplitOptions.TrimEntries);
        Assert.Equal(0, Sh.Exec("kill", ["-TERM", pids[0]]).ExitCode);
        Assert.Equal(0, Sh.Exec("kill", ["-TERM", pids[1]]).ExitCode);
    }
}
