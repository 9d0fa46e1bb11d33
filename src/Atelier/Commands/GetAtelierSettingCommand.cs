using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Settings;

namespace Atelier.Commands;

/// <summary>
/// Get-AtelierSetting: the effective settings (the defaults behind parameters the user does not give) and where each
/// came from: the settings file and line, or Atelier's default.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AtelierSetting")]
[OutputType(typeof(AtelierSetting))]
public sealed class GetAtelierSettingCommand : AtelierCmdlet
{
    /// <summary>Only the settings whose names match (wildcards).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Reads this settings file instead of the one that applies in the current location.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    protected override void EndProcessing()
    {
        AtelierSettings settings;
        try
        {
            settings = Path is null ? Settings : AtelierSettings.Load(LocalPath(Path));
        }
        catch (Exception ex) when (ex is AtelierException or PSArgumentException)
        {
            ThrowTerminatingError(ErrorFor(ex, Path));
            return;
        }

        var patterns = Name is null ? null : Patterns(Name);
        var matched = new HashSet<WildcardPattern>();
        foreach (var setting in settings.Describe())
        {
            var hits = patterns?.Where(p => p.IsMatch(setting.Name)).ToArray();
            if (hits is { Length: 0 })
            {
                continue;
            }

            matched.UnionWith(hits ?? []);
            WriteObject(setting);
        }

        foreach (var name in Name ?? [])
        {
            if (!WildcardPattern.ContainsWildcardCharacters(name) && !matched.Any(p => p.IsMatch(name)))
            {
                WriteError(new ErrorRecord(
                    new ItemNotFoundException($"There is no setting '{name}'. Settings: {string.Join(", ", AtelierSettings.Definitions.Select(d => d.Key))}."),
                    "SettingNotFound",
                    ErrorCategory.ObjectNotFound,
                    name));
            }
        }
    }
}
