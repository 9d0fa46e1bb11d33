using System.Globalization;
using Atelier.Shell;

namespace Atelier.Settings;

/// <summary>What sort of value a setting holds, which decides how its text is checked and read.</summary>
public enum SettingKind
{
    /// <summary>A file on this machine: <c>~/</c> expands to the home folder, a relative path is relative to the settings file.</summary>
    LocalPath,

    /// <summary>An http(s) URL kept as written, else a local path (see <see cref="LocalPath"/>).</summary>
    Location,

    /// <summary>An absolute path on the hosts.</summary>
    HostPath,

    /// <summary>A name made of letters, digits, '-' and '_' (a machine).</summary>
    Name,

    /// <summary>A system user name (as a service name).</summary>
    UserName,

    /// <summary>A whole number in a range.</summary>
    Count,

    /// <summary>A command line, split into words like a shell would (quotes, backslashes) and run without a shell.</summary>
    Command,

    /// <summary>A mapping of service names to their deploy defaults (<see cref="ServiceSettings"/>).</summary>
    Services,

    /// <summary>A list of values and <c>/patterns/</c> to redact (<see cref="Output.Redaction"/>).</summary>
    Redact,

    /// <summary>A list of paths in the infrastructure repository (<see cref="Atelier.Infra.DeployTargets.SharedPaths"/>).</summary>
    RepositoryPaths,
}

/// <summary>One key the settings file may hold: its type, its default and what it is for.</summary>
public sealed record SettingDefinition(string Key, SettingKind Kind, string Description, Func<object?>? Default = null, int Min = 0, int Max = 0)
{
    /// <summary>Reads the key's text as written in <paramref name="file"/>; throws <see cref="FormatException"/> with the reason.</summary>
    public object Parse(string text, string file)
    {
        switch (Kind)
        {
            case SettingKind.Count:
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number < Min || number > Max)
                {
                    throw new FormatException($"must be a whole number from {Min} to {Max}");
                }

                return number;
            case SettingKind.Location:
                return Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                    ? text
                    : LocalFile(text, file);
            case SettingKind.LocalPath:
                return LocalFile(text, file);
            case SettingKind.HostPath:
                var path = Checked(() => RemoteValue.Path(text, Key));
                return path.StartsWith('/') ? path : throw new FormatException("must be an absolute path on the host");
            case SettingKind.UserName:
                return Checked(() => RemoteValue.ServiceName(text, Key));
            case SettingKind.Command:
                Atelier.Infra.CommandWords.Split(text);
                return text;
            case SettingKind.Name:
                return text.Length > 0 && text.Length <= 63 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
                    ? text
                    : throw new FormatException("may hold only letters, digits, '-' and '_' (at most 63)");
            default:
                throw new InvalidOperationException($"Unknown setting kind {Kind}.");
        }
    }

    /// <summary>The setting's text as a full local path: <c>~/</c> from the home folder, relative from the file's folder.</summary>
    public static string LocalFile(string text, string file)
    {
        if (text == "~" || text.StartsWith("~/", StringComparison.Ordinal))
        {
            text = Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), text[1..]);
        }

        return Path.GetFullPath(text, Path.GetDirectoryName(Path.GetFullPath(file))!);
    }

    private static string Checked(Func<string> validate)
    {
        try
        {
            return validate();
        }
        catch (RemoteValueException ex)
        {
            throw new FormatException("is refused: " + ex.Reason, ex);
        }
    }
}
