using Atelier.Deploy;
using Atelier.Shell;

namespace Atelier.Exec;

/// <summary>
/// One command to run on a service's host as the service's user, in its work folder (<c>~/app/&lt;WorkDir&gt;</c>):
/// either a command line for <c>sh -c</c> (<see cref="Command"/>, which the user means as shell) or a program and
/// its arguments (<see cref="ArgumentList"/>), each word quoted so it reaches the program as it is.
/// </summary>
public sealed record ServiceCommandRequest
{
    /// <summary>Longest command line: the deploy's own commands' limit.</summary>
    public const int MaxCommandLength = DeployRequest.MaxCommandLength;

    public required string Service { get; init; }

    /// <summary>A command line run with <c>sh -c</c>; exactly one of this and <see cref="ArgumentList"/>.</summary>
    public string? Command { get; init; }

    /// <summary>A program and its arguments, each quoted; exactly one of this and <see cref="Command"/>.</summary>
    public IReadOnlyList<string>? ArgumentList { get; init; }

    /// <summary>The folder inside <c>~/app</c> it runs in.</summary>
    public string WorkDir { get; init; } = ".";

    /// <summary>The command as the user gave it, for messages and the result.</summary>
    public string Display => Command ?? string.Join(' ', (ArgumentList ?? []).Select(RemoteValue.Quote));

    /// <summary>Checks every value; throws <see cref="RemoteValueException"/> or <see cref="ArgumentException"/>.</summary>
    public ServiceCommandRequest Validate()
    {
        RemoteValue.ServiceName(Service);
        DeployCommands.WorkFolder(WorkDir);
        if ((Command is null) == (ArgumentList is null))
        {
            throw new ArgumentException("A service command is either a command line or a program and its arguments, not both and not neither.");
        }

        if (Command is not null)
        {
            RemoteValue.OneLineText(Command, "command", MaxCommandLength);
        }
        else
        {
            ShellCommand.Words(ArgumentList!);
        }

        return this;
    }

    /// <summary>The remote command exactly as the host's shell receives it: into the work folder, then the command.</summary>
    public ShellCommand Build()
    {
        Validate();
        var folder = DeployCommands.WorkFolder(WorkDir);
        return Command is not null
            ? ShellCommand.Format($"cd {folder} && sh -c {Command}")
            : ShellCommand.Format($"cd {folder} && {ShellCommand.Words(ArgumentList!)}");
    }
}
