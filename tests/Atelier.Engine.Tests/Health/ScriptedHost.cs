using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Atelier.Health;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Tests.Health;

/// <summary>
/// One answer of <see cref="ScriptedHost"/> to <c>systemctl show</c>: a unit state, or systemctl failing
/// (<paramref name="ExitCode"/>, <paramref name="Error"/>), or never answering (<paramref name="Hang"/>: the command
/// then times out as a real one would). <paramref name="Delay"/> comes before the answer.
/// </summary>
internal sealed record ShowAnswer(UnitState? State, int ExitCode = 0, string Error = "", TimeSpan Delay = default, bool Hang = false)
{
    public static ShowAnswer Failing(string error) => new(null, 1, error);

    public static ShowAnswer Hanging() => new(null, Hang: true);

    public static implicit operator ShowAnswer(UnitState state) => new(state);
}

/// <summary>
/// A host whose <c>systemctl show</c> answers, one a call, come from a script (the last one again once it runs out), and
/// whose <c>journalctl</c> gives fixed lines. It keeps every command it was asked to run.
/// </summary>
internal sealed class ScriptedHost(IReadOnlyList<ShowAnswer> shows, params string[] journal) : IRemoteHost
{
    private readonly ConcurrentQueue<(string Text, long Timestamp)> _commands = new();
    private int _shows;

    public string ComputerName => "web1";

    public string User => "demo";

    /// <summary>Every command run, in order.</summary>
    public IReadOnlyList<string> Commands => _commands.Select(c => c.Text).ToArray();

    /// <summary>How many <c>systemctl show</c> commands ran.</summary>
    public int Shows => Volatile.Read(ref _shows);

    public async Task<CommandResult> RunAsync(ShellCommand command, CommandOptions options, CancellationToken cancellationToken)
    {
        _commands.Enqueue((command.Text, Stopwatch.GetTimestamp()));
        if (command.Text.StartsWith("systemctl show ", StringComparison.Ordinal))
        {
            var answer = shows[Math.Min(Interlocked.Increment(ref _shows) - 1, shows.Count - 1)];
            if (answer.Hang)
            {
                await Task.Delay(options.Timeout, cancellationToken);
                throw new RemoteCommandTimeoutException(command.Text, options.Timeout, string.Empty);
            }

            if (answer.Delay > TimeSpan.Zero)
            {
                await Task.Delay(answer.Delay, cancellationToken);
            }

            return new CommandResult(command.Text, answer.ExitCode, answer.State is { } state ? Render(state) : string.Empty, answer.Error, TimeSpan.FromMilliseconds(5));
        }

        cancellationToken.ThrowIfCancellationRequested();
        return command.Text.StartsWith("journalctl ", StringComparison.Ordinal)
            ? new CommandResult(command.Text, 0, string.Join('\n', journal) + "\n", string.Empty, TimeSpan.FromMilliseconds(5))
            : new CommandResult(command.Text, 1, string.Empty, "not scripted", TimeSpan.FromMilliseconds(5));
    }

    public Task DownloadAsync(string remotePath, string localPath, CancellationToken cancellationToken) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    /// <summary><c>systemctl show</c>'s output for a state, one <c>key=value</c> line a property it has.</summary>
    public static string Render(UnitState state)
    {
        var text = new StringBuilder();
        Add("LoadState", state.LoadState);
        Add("ActiveState", state.ActiveState);
        Add("SubState", state.SubState);
        Add("NRestarts", state.NRestarts?.ToString(CultureInfo.InvariantCulture));
        Add("Result", state.Result);
        Add("ExecMainStatus", state.ExecMainStatus);
        Add("MainPID", state.MainPid?.ToString(CultureInfo.InvariantCulture));
        return text.ToString();

        void Add(string key, string? value)
        {
            if (value is not null)
            {
                text.Append(key).Append('=').Append(value).Append('\n');
            }
        }
    }
}
