using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Atelier.Transport;

/// <summary>One program to run on this machine with <see cref="LocalProcess.RunAsync"/>.</summary>
public sealed record LocalProcessStart
{
    /// <summary>The program: a path, or a name looked up on PATH.</summary>
    public required string Program { get; init; }

    /// <summary>The arguments, each passed as it is (never through a shell).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The folder it runs in; null for this process's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables set (or, with a null value, removed) in its environment on top of this process's.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>What it reads on standard input (as UTF-8), which is then closed; null: closed at once, so a reader never waits.</summary>
    public string? StandardInput { get; init; }

    /// <summary>Longest it may run (until it ended and both outputs closed); it is then killed. Infinite by default.</summary>
    public TimeSpan Timeout { get; init; } = System.Threading.Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Called for each line of either output as it comes (never two at once; each output's lines in their order).
    /// Given, both outputs are read line by line (see <see cref="LineByLine"/>).
    /// </summary>
    public Action<OutputLine>? OnLine { get; init; }

    /// <summary>
    /// True: both outputs are read line by line, and what the result keeps of them is their lines, each ending in
    /// <c>\n</c> (as <see cref="SshRemoteHost"/> keeps a command's). False (and no <see cref="OnLine"/>): each is kept
    /// exactly as written.
    /// </summary>
    public bool LineByLine { get; init; }

    /// <summary>Whether the result keeps standard output (it is read either way).</summary>
    public bool KeepOutput { get; init; } = true;

    /// <summary>Whether the result keeps standard error (it is read either way).</summary>
    public bool KeepError { get; init; } = true;

    /// <summary>
    /// Runs the program in a session of its own (under <c>setsid</c>, when this machine has it), so that it leads its own
    /// process group; stopping it then kills that whole group too, with what its children left running in the background.
    /// </summary>
    public bool NewSession { get; init; }
}

/// <summary>How a program run by <see cref="LocalProcess.RunAsync"/> ended.</summary>
/// <param name="ExitCode">The exit code; -1 when it was stopped at its time limit.</param>
/// <param name="Output">Standard output as kept (empty when not kept); what came before the kill when it timed out.</param>
/// <param name="Error">Standard error as kept, likewise.</param>
/// <param name="TimedOut">True when it was killed at its time limit.</param>
public sealed record LocalProcessResult(int ExitCode, string Output, string Error, TimeSpan Duration, bool TimedOut);

/// <summary>
/// The one way the engine starts a process on this machine: an argument list (no shell), a working folder,
/// environment additions, optional standard input, both outputs kept or streamed line by line, and a time limit and
/// cancellation that kill the whole process tree (and, in a session of its own, its process group). Used for git and
/// nix (<see cref="LocalProgram"/>), deploy-rs (<see cref="Infra.DeployRsRunner"/>), the local host's shell
/// (<see cref="LocalHost"/>) and the local snapshot's commit (<see cref="Snapshot.LocalSnapshotter"/>).
/// </summary>
public static partial class LocalProcess
{
    /// <summary>How long the outputs may take to close once the program was killed (a holder outside its tree and group keeps them open).</summary>
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(2);

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly Lazy<string?> Setsid = new(() => LocalProgram.FindOnPath("setsid"));

    /// <summary>Runs <paramref name="start"/> to its end; a non-zero exit code is returned, not thrown.</summary>
    /// <exception cref="ProgramStartException">The program is missing (<c>ProgramNotFound</c>) or could not be started.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the program and its children were killed first.</exception>
    public static async Task<LocalProcessResult> RunAsync(LocalProcessStart start, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentException.ThrowIfNullOrEmpty(start.Program);
        cancellationToken.ThrowIfCancellationRequested();
        var stopwatch = Stopwatch.StartNew();
        var session = start.NewSession && Setsid.Value is not null;
        using var process = new Process { StartInfo = StartInfo(start, session) };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw ProgramStartException.For(start.Program, start.WorkingDirectory, ex);
        }

        var output = new Kept(start.KeepOutput);
        var error = new Kept(start.KeepError);
        var lines = start.LineByLine || start.OnLine is not null;
        var gate = new object();
        var readOut = ReadAsync(process.StandardOutput, output, lines, isError: false, start.OnLine, gate);
        var readErr = ReadAsync(process.StandardError, error, lines, isError: true, start.OnLine, gate);
        var writeIn = WriteAsync(process.StandardInput, start.StandardInput);
        using var timeout = new CancellationTokenSource(start.Timeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await process.WaitForExitAsync(stop.Token).ConfigureAwait(false);
            await Task.WhenAll(readOut, readErr, writeIn).WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Kill(process, session);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            var all = Task.WhenAll(readOut, readErr, writeIn);
            if (await Task.WhenAny(all, Task.Delay(KillGrace, CancellationToken.None)).ConfigureAwait(false) != all)
            {
                _ = all.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }

            cancellationToken.ThrowIfCancellationRequested();
            return new LocalProcessResult(-1, output.Text(), error.Text(), stopwatch.Elapsed, TimedOut: true);
        }

        return new LocalProcessResult(process.ExitCode, output.Text(), error.Text(), stopwatch.Elapsed, TimedOut: false);
    }

    private static ProcessStartInfo StartInfo(LocalProcessStart start, bool session)
    {
        if (session && !(Path.IsPathRooted(start.Program) ? LocalProgram.IsExecutable(start.Program) : LocalProgram.FindOnPath(start.Program) is not null))
        {
            // setsid would start and then fail to run it: say so as for any other missing program.
            throw ProgramStartException.NotFound(start.Program);
        }

        var info = new ProcessStartInfo(session ? Setsid.Value! : start.Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
            StandardInputEncoding = Utf8,
        };
        if (session)
        {
            info.ArgumentList.Add("--wait");
            info.ArgumentList.Add(start.Program);
        }

        foreach (var argument in start.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (start.WorkingDirectory is not null)
        {
            info.WorkingDirectory = start.WorkingDirectory;
        }

        foreach (var (name, value) in start.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        return info;
    }

    /// <summary>Kills the process tree, then (in a session of its own) its process group: what a child left behind when its parent ended.</summary>
    private static void Kill(Process process, bool group)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            // It ended by itself in the meantime.
        }

        if (group && !OperatingSystem.IsWindows())
        {
            // setsid ran it in place (a child of this process never leads a group), so its id is its group's.
            _ = SendSignal(-process.Id, SigKill);
        }
    }

    private static async Task ReadAsync(StreamReader reader, Kept into, bool lines, bool isError, Action<OutputLine>? onLine, object gate)
    {
        if (!lines)
        {
            var buffer = new char[4096];
            int read;
            while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                into.Add(buffer.AsSpan(0, read));
            }

            return;
        }

        string? line;
        while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null)
        {
            into.AddLine(line);
            if (onLine is not null)
            {
                lock (gate)
                {
                    onLine(new OutputLine(line, isError));
                }
            }
        }
    }

    private static async Task WriteAsync(StreamWriter input, string? text)
    {
        try
        {
            if (text is not null)
            {
                await input.WriteAsync(text).ConfigureAwait(false);
                await input.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // It ended, or closed its standard input, before reading it all.
        }
        finally
        {
            try
            {
                input.Close();
            }
            catch (IOException)
            {
            }
        }
    }

    private const int SigKill = 9;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    /// <summary>What is kept of one output, read by one task and taken (perhaps while it still reads, after a kill) by another.</summary>
    private sealed class Kept(bool keep)
    {
        private readonly StringBuilder _text = new();

        public void Add(ReadOnlySpan<char> chunk)
        {
            if (keep)
            {
                lock (_text)
                {
                    _text.Append(chunk);
                }
            }
        }

        public void AddLine(string line)
        {
            if (keep)
            {
                lock (_text)
                {
                    _text.Append(line).Append('\n');
                }
            }
        }

        public string Text()
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }
}
