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

/// <summary>An absolute http or https URL (or nothing).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateHealthUrlAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var text = (arguments is PSObject ps ? ps.BaseObject : arguments)?.ToString();
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ValidationMetadataException($"The health URL '{text}' is not an absolute http or https URL (for example https://example.org/health).");
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
