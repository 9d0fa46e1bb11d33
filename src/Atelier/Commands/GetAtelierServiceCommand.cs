using System.Management.Automation;
using Atelier.Commands.Completion;
using Atelier.Commands.Infrastructure;
using Atelier.Manifest;

namespace Atelier.Commands;

/// <summary>
/// Get-AtelierService: the services of the services manifest (a services.json, an http(s) URL, or
/// <c>nix eval --json .#services-manifest</c> of a flake), filtered by service and machine name. Each service's Name,
/// Host, HealthUrl, DbPath and Runtime bind by property name into the deploy, backup and health cmdlets.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AtelierService")]
[OutputType(typeof(AtelierService))]
public sealed class GetAtelierServiceCommand : AtelierCmdlet
{
    /// <summary>Only services with these names (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidateNamePattern]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only services of these machines (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidateNamePattern]
    [ArgumentCompleter(typeof(MachineNameCompleter))]
    public string[]? Machine { get; set; }

    /// <summary>The manifest: a services.json file, a folder (its services.json, else its flake), a flake reference, or an http(s) URL.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Manifest { get; set; }

    protected override void ProcessRecord()
    {
        var manifest = LoadManifest(Manifest);

        var names = Patterns(Name ?? []);
        var machines = Patterns(Machine ?? []);
        var services = manifest.Services.Where(s => ManifestLocation.Matches(s.Name, names) && ManifestLocation.Matches(s.Machine, machines)).ToList();
        foreach (var service in services)
        {
            WriteObject(service);
        }

        foreach (var machine in Literals(Machine).Where(m => !manifest.Machines.Any(x => x.Name.Equals(m, StringComparison.OrdinalIgnoreCase))))
        {
            WriteError(new ErrorRecord(
                new ItemNotFoundException($"The services manifest {manifest.Source} has no machine '{machine}'."), "MachineNotFound", ErrorCategory.ObjectNotFound, machine));
        }

        foreach (var name in Literals(Name).Where(n => !services.Any(s => s.Name.Equals(n, StringComparison.OrdinalIgnoreCase))))
        {
            var on = Machine is null ? string.Empty : $" on {string.Join(", ", Machine)}";
            WriteError(new ErrorRecord(
                new ItemNotFoundException($"The services manifest {manifest.Source} has no service '{name}'{on}."), "ServiceNotFound", ErrorCategory.ObjectNotFound, name));
        }
    }

    /// <summary>The values without wildcards: each must match something, or it is an error.</summary>
    private static IEnumerable<string> Literals(string[]? values) => values?.Where(v => !WildcardPattern.ContainsWildcardCharacters(v)) ?? [];
}
