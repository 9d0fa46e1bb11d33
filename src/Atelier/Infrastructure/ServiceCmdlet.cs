using System.Management.Automation;
using Atelier.Manifest;
using Atelier.Settings;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Base of the cmdlets that work on one service after another (deploy, restore, health, snapshots, history): a bare
/// service name is enough when a services manifest is configured. What a parameter does not give comes from the
/// settings file's <c>services:</c> entry for the service, then from the manifest (its host, health URL, database,
/// runtime and deploy fields); an explicit parameter always wins, and without a manifest nothing changes.
/// </summary>
public abstract class ServiceCmdlet : RemoteCmdlet
{
    private ServicesManifest? _manifest;

    /// <summary>
    /// The manifest's machine the service runs on: needed only when its name is on two machines. A piped null or empty
    /// value (an object of a service without a manifest) counts as not given.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(Completion.MachineNameCompleter))]
    public string? Machine { get; set; }

    /// <summary>The services manifest a bare service name is looked up in. Default: the settings file's manifest.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Manifest { get; set; }

    /// <summary>
    /// The manifest's entry for <paramref name="service"/>, or null when no manifest is configured. When
    /// <paramref name="required"/> (something only the manifest can give is missing, such as the host), a name the
    /// manifest does not have is an error listing the closest ones; otherwise it is simply not found.
    /// </summary>
    /// <exception cref="AtelierException"><c>ServiceNotFound</c>, <c>ServiceAmbiguous</c>, <c>MachineNotFound</c>.</exception>
    private protected AtelierService? ManifestEntry(string service, bool required)
    {
        if (Manifest is null && Settings.Manifest is null)
        {
            return null;
        }

        _manifest ??= LoadManifest(Manifest);
        var machine = string.IsNullOrEmpty(Machine) ? null : Machine;
        return required ? ServiceLookup.Find(_manifest, service, machine) : ServiceLookup.TryFind(_manifest, service, machine);
    }

    /// <summary>
    /// Every service of the manifest, in its order (only those of -Machine when given), or null when no manifest is
    /// configured. A -Machine the manifest does not have is an error naming its machines.
    /// </summary>
    /// <exception cref="AtelierException"><c>MachineNotFound</c>.</exception>
    private protected IReadOnlyList<AtelierService>? ManifestServices()
    {
        if (Manifest is null && Settings.Manifest is null)
        {
            return null;
        }

        _manifest ??= LoadManifest(Manifest);
        return ServiceLookup.OnMachine(_manifest, string.IsNullOrEmpty(Machine) ? null : Machine);
    }

    /// <summary>The settings file's deploy defaults for <paramref name="service"/> (its <c>services:</c> entry), or null.</summary>
    private protected ServiceSettings? SettingsFor(string service) => Settings.ServiceDefaults(service);

    /// <summary>The host of <paramref name="service"/>: -ComputerName, else the manifest's (null with -Local).</summary>
    private protected string? HostFor(string service, AtelierService? entry) =>
        Local ? null : !string.IsNullOrEmpty(ComputerName) ? ComputerName : entry?.Host;

    /// <summary>Whether the host has to come from the manifest (no -ComputerName, no -Local).</summary>
    private protected bool NeedsHost => !Local && string.IsNullOrEmpty(ComputerName);

    /// <summary>
    /// A parameter's value: the one given (on the command line or by a piped object; a piped null or empty value counts
    /// as not given), else the settings file's, else the manifest's, else <paramref name="fallback"/>.
    /// </summary>
    private protected string? Pick(string parameter, string? given, string? fromSettings, string? fromManifest, string? fallback = null) =>
        IsBound(parameter) && !string.IsNullOrEmpty(given) ? given : fromSettings ?? fromManifest ?? fallback;

    /// <summary><see cref="Pick(string, string?, string?, string?, string?)"/> for a number.</summary>
    private protected int Pick(string parameter, int? given, int? fromSettings, int? fromManifest, int fallback) =>
        IsBound(parameter) && given is { } value ? value : fromSettings ?? fromManifest ?? fallback;

    /// <summary>Where work on a service goes, for messages: its host, or this machine with -Local.</summary>
    private protected string WhereFor(string? computerName) => Local ? "this machine" : computerName ?? "(no host)";
}
