using System.Text.RegularExpressions;
using Atelier.Shell;

namespace Atelier.Nix;

/// <summary>
/// Names that become part of the infrastructure repository: file names, attribute names, users. Refusals throw
/// <see cref="RemoteValueException"/>, like every other value check.
/// </summary>
public static partial class NixNames
{
    /// <summary>Longest machine name accepted: the limit of a DNS label.</summary>
    public const int MaxMachineNameLength = 63;

    [GeneratedRegex("^[A-Za-z0-9_-]+\\z")]
    private static partial Regex MachinePattern();

    [GeneratedRegex("^[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*\\z")]
    private static partial Regex SecretPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*\\z")]
    private static partial Regex VariablePattern();

    /// <summary>
    /// A service name: the module's file name, <c>atelier.services.&lt;name&gt;</c>, and on the host its system user
    /// and systemd unit. The same rule as <see cref="RemoteValue.ServiceName"/>.
    /// </summary>
    public static string Service(string? value) => RemoteValue.ServiceName(value);

    /// <summary>A machine: the folder <c>machines/&lt;name&gt;</c>. Letters, digits, <c>-</c> and <c>_</c>.</summary>
    public static string Machine(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new RemoteValueException("machine name", value ?? string.Empty, "it is empty");
        }

        if (value.Length > MaxMachineNameLength || !MachinePattern().IsMatch(value))
        {
            throw new RemoteValueException("machine name", value, $"a machine name is 1 to {MaxMachineNameLength} letters, digits, '-' or '_'");
        }

        return value;
    }

    /// <summary>
    /// An agenix secret: <c>age.secrets.&lt;name&gt;</c>, stored as <c>secrets/&lt;name&gt;.age</c>. Letters, digits and
    /// <c>. _ + -</c>, with <c>/</c> between folder parts (<c>emojibot/hackclub</c>); no <c>.</c> or <c>..</c> parts.
    /// </summary>
    public static string Secret(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new RemoteValueException("secret name", value ?? string.Empty, "it is empty");
        }

        if (!SecretPattern().IsMatch(value) || value.Split('/').Any(part => part is "." or ".."))
        {
            throw new RemoteValueException("secret name", value, "a secret name holds letters, digits and . _ + -, with '/' between folder parts, and no '.' or '..' parts");
        }

        return value;
    }

    /// <summary>An environment variable name for the service's unit: letters, digits and <c>_</c>, not starting with a digit.</summary>
    public static string Variable(string? value)
    {
        if (string.IsNullOrEmpty(value) || !VariablePattern().IsMatch(value))
        {
            throw new RemoteValueException("environment variable name", value ?? string.Empty, "a variable name holds letters, digits and '_' and does not start with a digit");
        }

        return value;
    }

    /// <summary>Any text that goes into a Nix string: everything but NUL, which Nix strings cannot hold.</summary>
    public static string Text(string? value, string what, bool allowEmpty = false)
    {
        value ??= string.Empty;
        if (value.Length == 0 && !allowEmpty)
        {
            throw new RemoteValueException(what, value, "it is empty");
        }

        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new RemoteValueException(what, value, "Nix strings cannot hold a NUL character");
        }

        return value;
    }

    /// <summary>A TCP port, 1 to 65535.</summary>
    public static int Port(int value, string what = "port")
    {
        if (value is < 1 or > 65535)
        {
            throw new AtelierException("InvalidPort", FailureKind.InvalidArgument, $"The {what} {value} is not a TCP port (1 to 65535).");
        }

        return value;
    }
}
