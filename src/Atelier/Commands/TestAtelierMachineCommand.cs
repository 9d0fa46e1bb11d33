using System.Management.Automation;
using Atelier.Commands.Completion;
using Atelier.Commands.Infrastructure;
using Atelier.Manifest;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Test-AtelierMachine: whether machines are online, by connecting to each one's SSH port and reading the server's
/// identification line, many at once. The machines come from the services manifest (filtered by -Name) or from
/// pipeline objects with Machine and Host properties (services from Get-AtelierService, one probe per machine).
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "AtelierMachine", DefaultParameterSetName = ManifestSet)]
[OutputType(typeof(MachineStatus))]
public sealed class TestAtelierMachineCommand : AtelierCmdlet
{
    private const string ManifestSet = "Manifest";
    private const string MachineSet = "Machine";

    private readonly List<(string Machine, string Host)> _piped = [];
    private SshConfig? _sshConfig;

    /// <summary>Only these machines of the manifest (wildcards allowed).</summary>
    [Parameter(ParameterSetName = ManifestSet, Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidateNamePattern]
    [ArgumentCompleter(typeof(MachineNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>The manifest: a services.json file, a folder, a flake reference, or an http(s) URL.</summary>
    [Parameter(ParameterSetName = ManifestSet)]
    [ValidateNotNullOrEmpty]
    public string? Manifest { get; set; }

    /// <summary>One machine to probe, by name (from pipeline objects' Machine property).</summary>
    [Parameter(ParameterSetName = MachineSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ValidateNamePattern]
    [ArgumentCompleter(typeof(MachineNameCompleter))]
    public string Machine { get; set; } = string.Empty;

    /// <summary>The machine's host. Default: the machine's name.</summary>
    [Parameter(ParameterSetName = MachineSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Host", "HostName", "CN")]
    [ValidateHostName]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string? ComputerName { get; set; }

    /// <summary>The SSH port. Default: ~/.ssh/config's Port for the host, else 22.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = MachineProbe.DefaultPort;

    /// <summary>Seconds a machine has to accept the connection and send its identification line.</summary>
    [Parameter]
    [ValidateRange(0.05, 3600.0)]
    public double Timeout { get; set; } = MachineProbe.DefaultTimeout.TotalSeconds;

    /// <summary>How many machines are probed at once.</summary>
    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = MachineProbe.DefaultThrottleLimit;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == MachineSet && !_piped.Exists(p => p.Machine.Equals(Machine, StringComparison.OrdinalIgnoreCase)))
        {
            _piped.Add((Machine, string.IsNullOrEmpty(ComputerName) ? Machine : ComputerName));
        }
    }

    protected override void EndProcessing()
    {
        try
        {
            var targets = ParameterSetName == MachineSet ? _piped.Select(p => Target(p.Machine, p.Host)).ToList() : ManifestTargets();
            if (targets.Count == 0)
            {
                return;
            }

            var probe = new MachineProbe(TimeSpan.FromSeconds(Timeout));
            var throttle = ThrottleLimit;
            Run((channel, cancellation) =>
            {
                channel.Verbose($"Probing {targets.Count} machine(s), {throttle} at a time: {string.Join(", ", targets.Select(t => $"{t.Machine} ({t.Host}:{t.Port})"))}");
                return probe.RunAsync(targets, throttle, channel.Output, cancellation);
            });
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        finally
        {
            base.EndProcessing();
        }
    }

    /// <summary>The manifest's machines that -Name selects; a name without wildcards that matches none is an error.</summary>
    private List<MachineTarget> ManifestTargets()
    {
        var manifest = LoadManifest(Manifest);

        var patterns = ManifestLocation.Patterns(Name);
        foreach (var name in Name?.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)) ?? [])
        {
            if (!manifest.Machines.Any(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                WriteError(new ErrorRecord(
                    new ItemNotFoundException($"The services manifest {manifest.Source} has no machine '{name}'."), "MachineNotFound", ErrorCategory.ObjectNotFound, name));
            }
        }

        return [.. manifest.Machines.Where(m => ManifestLocation.Matches(m.Name, patterns)).Select(m => Target(m.Name, m.Host))];
    }

    /// <summary>Where a machine is probed: its host through ~/.ssh/config (HostName, Port) like every SSH connection of Atelier; -Port wins.</summary>
    private MachineTarget Target(string machine, string host)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        _sshConfig ??= SshConfig.Load(SshConfig.DefaultPath(home), home);
        var settings = _sshConfig.Resolve(host, Environment.UserName);
        return new MachineTarget(machine, settings.HostName ?? host, IsBound(nameof(Port)) ? Port : settings.Port ?? MachineProbe.DefaultPort);
    }
}
