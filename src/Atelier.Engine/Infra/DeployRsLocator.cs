using Atelier.Transport;

namespace Atelier.Infra;

/// <summary>Which deploy-rs runs: its words (program first) and where the choice came from.</summary>
public sealed record DeployRsCommand(IReadOnlyList<string> Words, string Source)
{
    /// <summary>The command as one line a shell reads back as the same words.</summary>
    public override string ToString() => CommandWords.Join(Words);
}

/// <summary>
/// Finds deploy-rs: the command given as a parameter, else the settings file's <c>deployCommand</c>, else <c>deploy</c>
/// on PATH, else <c>nix run github:serokell/deploy-rs --</c> when <c>nix</c> is on PATH. A command is split into words
/// like a shell would (<see cref="CommandWords"/>) and its program must exist; it is never run through a shell.
/// </summary>
public sealed class DeployRsLocator
{
    /// <summary>deploy-rs straight from its flake, for a machine with nix but no deploy-rs installed.</summary>
    public const string NixRunCommand = "nix run github:serokell/deploy-rs --";

    private readonly string? _path;
    private readonly string _workingDirectory;

    /// <param name="path">The PATH to search (colon-separated); null for none.</param>
    /// <param name="workingDirectory">What a relative program path (<c>./bin/deploy</c>) is relative to.</param>
    public DeployRsLocator(string? path, string workingDirectory)
    {
        _path = path;
        _workingDirectory = workingDirectory;
    }

    /// <summary>A locator that searches this process's PATH.</summary>
    public static DeployRsLocator FromEnvironment(string workingDirectory) => new(Environment.GetEnvironmentVariable("PATH"), workingDirectory);

    /// <summary>The deploy-rs command to run.</summary>
    /// <param name="parameter">The command given to the cmdlet, or null.</param>
    /// <param name="setting">The settings file's <c>deployCommand</c>, or null.</param>
    /// <exception cref="AtelierException"><c>DeployCommandInvalid</c> (InvalidArgument) for a command that does not split into words;
    /// <c>DeployRsNotFound</c> (NotInstalled) when its program, or any deploy-rs, cannot be found.</exception>
    public DeployRsCommand Locate(string? parameter, string? setting)
    {
        if (!string.IsNullOrWhiteSpace(parameter))
        {
            return Given(parameter, "parameter");
        }

        if (!string.IsNullOrWhiteSpace(setting))
        {
            return Given(setting, "settings");
        }

        if (Find("deploy") is { } deploy)
        {
            return new DeployRsCommand([deploy], "PATH");
        }

        if (Find("nix") is { } nix)
        {
            return new DeployRsCommand([nix, .. CommandWords.Split(NixRunCommand).Skip(1)], "nix run");
        }

        throw new AtelierException(
            "DeployRsNotFound",
            FailureKind.NotInstalled,
            "deploy-rs was not found: there is no 'deploy' and no 'nix' on PATH. Install deploy-rs (nix profile install github:serokell/deploy-rs).")
        {
            Hints = [Hint.DeployCommand],
        };
    }

    /// <summary>The full path of <paramref name="program"/>: itself when it holds a '/', else the first executable match on PATH.</summary>
    public string? Find(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(program, _workingDirectory);
            return LocalProgram.IsExecutable(full) ? full : null;
        }

        return LocalProgram.FindOnPath(program, _path ?? string.Empty);
    }

    private DeployRsCommand Given(string text, string source)
    {
        IReadOnlyList<string> words;
        try
        {
            words = CommandWords.Split(text);
        }
        catch (FormatException ex)
        {
            throw new AtelierException("DeployCommandInvalid", FailureKind.InvalidArgument, $"The deploy command '{text}' ({source}) {ex.Message}.", ex);
        }

        var program = Find(words[0]) ?? throw new AtelierException(
            "DeployRsNotFound",
            FailureKind.NotInstalled,
            $"The deploy command's program '{words[0]}' ({source}: '{text}') is not {(words[0].Contains('/', StringComparison.Ordinal) ? "an executable file" : "on PATH")}.");
        return new DeployRsCommand([program, .. words.Skip(1)], source);
    }
}
