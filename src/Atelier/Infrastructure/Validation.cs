using System.Management.Automation;
using Atelier.Shell;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Parameter validation that runs while PowerShell binds arguments (from the command line and from pipeline
/// properties alike), so a value with shell syntax is refused before any connection is made. The rules
/// themselves live in <see cref="RemoteValue"/>.
/// </summary>
public abstract class RemoteValueAttribute : ValidateArgumentsAttribute
{
    protected abstract void Check(string value);

    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        foreach (var value in Values(arguments))
        {
            try
            {
                Check(value);
            }
            catch (RemoteValueException ex)
            {
                throw new ValidationMetadataException(ex.Message, ex);
            }
        }
    }

    private static IEnumerable<string> Values(object arguments) => arguments switch
    {
        null => [],
        PSObject ps => Values(ps.BaseObject),
        string s => [s],
        System.Collections.IEnumerable e => e.Cast<object?>().Select(o => o is PSObject p ? p.BaseObject?.ToString() ?? string.Empty : o?.ToString() ?? string.Empty),
        _ => [arguments.ToString() ?? string.Empty],
    };
}

/// <summary>A service name: its system user and systemd unit.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateServiceNameAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.ServiceName(value);
}

/// <summary>A path on the host.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateRemotePathAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.Path(value);
}

/// <summary>A deploy's work folder: a folder inside ~/app, within a path's limits once inside it.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateWorkFolderAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => Atelier.Deploy.DeployCommands.WorkFolder(value);
}

/// <summary>A git branch.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateBranchAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.Branch(value);
}

/// <summary>A commit id or a tag to deploy.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateRevisionAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.Revision(value);
}

/// <summary>A commit id (lowercase hexadecimal).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateCommitAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.Commit(value);
}

/// <summary>A user name on a host.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateUserNameAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.UserName(value);
}

/// <summary>A deploy-rs node name (also the host when no other is given).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateNodeNameAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.NodeName(value);
}

/// <summary>
/// A command run on the host by design (a deploy's install or build command): one line, no control characters, at
/// most <see cref="Atelier.Deploy.DeployRequest.MaxCommandLength"/> characters. It reaches the host quoted, as the
/// argument of <c>sh -c</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateCommandLineAttribute(string what) : RemoteValueAttribute
{
    protected override void Check(string value)
    {
        // Empty (a piped object's) means "not given", as for the other deploy fields.
        if (value.Length > 0)
        {
            RemoteValue.OneLineText(value, what, Atelier.Deploy.DeployRequest.MaxCommandLength);
        }
    }
}

/// <summary>A whole number in a range, or nothing (a piped object's null means "not given").</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateRangeOrNullAttribute(int min, int max) : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        if ((arguments is PSObject ps ? ps.BaseObject : arguments) is int value && (value < min || value > max))
        {
            throw new ValidationMetadataException($"{value} is not from {min} to {max}.");
        }
    }
}

/// <summary>A host name or address.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateHostNameAttribute : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.HostName(value);
}

/// <summary>An absolute http or https URL (or nothing: a piped object's empty value means "not given").</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateHealthUrlAttribute : RemoteValueAttribute
{
    protected override void Check(string value)
    {
        if (value.Length > 0)
        {
            RemoteValue.HealthUrl(value);
        }
    }
}

/// <summary>Values and <c>/patterns/</c> to redact (the rules live in <see cref="Output.Redaction.Parse"/>).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateRedactionAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var rules = (arguments is PSObject ps ? ps.BaseObject : arguments) switch
        {
            null => [],
            string s => [s],
            System.Collections.IEnumerable e => e.Cast<object?>().Select(o => (o is PSObject p ? p.BaseObject : o)?.ToString()),
            var other => [other.ToString()],
        };
        try
        {
            Output.Redaction.Parse(rules);
        }
        catch (FormatException ex)
        {
            throw new ValidationMetadataException($"-Redact {ex.Message}.", ex);
        }
    }
}

/// <summary>
/// A journal time (<c>-Since</c>, <c>-Until</c>): see <see cref="Atelier.Logs.JournalTime"/>. Empty (a piped object's)
/// means "not given".
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateJournalTimeAttribute : RemoteValueAttribute
{
    protected override void Check(string value)
    {
        if (value.Length > 0)
        {
            Atelier.Logs.JournalTime.Parse(value);
        }
    }
}

/// <summary>
/// Turns a <see cref="DateTime"/> or <see cref="DateTimeOffset"/> given for a journal time into its round-trip text
/// (a DateTime that does not say its kind is this machine's local time), so no precision or zone is lost on the way to
/// <see cref="Atelier.Logs.JournalTime"/>; a default (unset) time becomes null, "not given". Text is left as it is.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class JournalTimeTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject ps ? ps.BaseObject : inputData;
        return value switch
        {
            DateTimeOffset time when time == default => null,
            DateTime time when time == default => null,
            DateTimeOffset time => time.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
            DateTime time => new DateTimeOffset(time.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(time, DateTimeKind.Local) : time)
                .ToString("o", System.Globalization.CultureInfo.InvariantCulture),
            _ => inputData,
        };
    }
}

/// <summary>One line of text that a remote command receives as one quoted argument (<c>-Grep</c>, <c>-ArgumentList</c>).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateArgumentTextAttribute(string what, int maxLength) : RemoteValueAttribute
{
    protected override void Check(string value) => RemoteValue.OneLineText(value, what, maxLength, allowEmpty: true);
}
