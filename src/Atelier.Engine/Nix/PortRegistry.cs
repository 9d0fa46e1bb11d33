using System.Globalization;

namespace Atelier.Nix;

/// <summary>Where a port comes from.</summary>
public enum PortSource
{
    /// <summary>A module's <c>defaultPort</c> (mkService's 3000 when the module gives none).</summary>
    ModuleDefault,

    /// <summary>A machine file's <c>port = N;</c> for a service or one of its instances.</summary>
    Machine,
}

/// <summary>
/// A port claimed by a service: in its module, or on a machine. For a service running on a machine with its module's
/// default port, <see cref="Machine"/> is the machine and <see cref="File"/> and <see cref="Line"/> point at the module.
/// </summary>
/// <param name="File">Relative to the repository root, with <c>/</c> separators.</param>
/// <param name="Setting">The attribute that sets the port: <c>defaultPort</c>, <c>atelier.services.l4.port</c>, <c>atelier.services.emojibot.instances.hc.port</c>.</param>
public sealed record PortClaim(string Service, int Port, string? Machine, string File, int Line, PortSource Source, string Setting)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Service} ({Setting} = {Port}{(Machine is null ? string.Empty : $" on {Machine}")}, {File}:{Line})";
}

/// <summary>
/// The ports of an infrastructure repository, read from its Nix files without evaluating them: each
/// <c>modules/nixos/services/*.nix</c> that calls <c>mkService { ... }</c> (its <c>name</c> and <c>defaultPort</c>)
/// and each <c>machines/*/default.nix</c> (<c>atelier.services.&lt;name&gt;.port</c> in any spelling, and
/// instance-style <c>atelier.services.&lt;name&gt;.&lt;group&gt;.&lt;instance&gt;.port</c>, as with emojibot's
/// <c>instances</c>). Ports nested deeper or elsewhere (an SMTP server's port) are settings, not listeners, and are
/// not counted.
/// </summary>
public sealed class PortRegistry
{
    /// <summary>The first port <see cref="NextFree"/> looks at by default: mkService's default.</summary>
    public const int DefaultFirstPort = 3000;

    /// <summary>
    /// A service's port as a user writes it: <c>auto</c> (any case) is null, for the port the service already has or the
    /// lowest free one; anything else is a port number, 1 to 65535.
    /// </summary>
    /// <exception cref="AtelierException"><c>InvalidPort</c> for a number out of range, or not a number.</exception>
    public static int? ParsePort(string port)
    {
        ArgumentNullException.ThrowIfNull(port);
        if (string.Equals(port, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number is >= 1 and <= 65535
            ? number
            : throw new AtelierException("InvalidPort", FailureKind.InvalidArgument, $"The port {port} is not between 1 and 65535.");
    }

    private readonly Dictionary<string, MachineState> _machines;

    private PortRegistry(string root, IReadOnlyList<PortClaim> modules, Dictionary<string, MachineState> machines)
    {
        Root = root;
        ModuleDefaults = modules;
        _machines = machines;
    }

    /// <summary>The repository root that was scanned.</summary>
    public string Root { get; }

    /// <summary>One claim per mkService module, in file name order.</summary>
    public IReadOnlyList<PortClaim> ModuleDefaults { get; }

    /// <summary>The machines found (folders of <c>machines/</c> with a <c>default.nix</c>), in name order.</summary>
    public IReadOnlyList<string> Machines => [.. _machines.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Every port written in a machine file, whether or not its service is enabled there.</summary>
    public IReadOnlyList<PortClaim> MachinePorts => [.. _machines.Values.SelectMany(m => m.Ports.Select(p => p.Claim))];

    /// <summary>
    /// Reads the repository at <paramref name="root"/>. Throws <c>InfraRepositoryNotFound</c> when it has neither
    /// <c>modules/nixos/services</c> nor <c>machines</c>, and <c>NixSyntaxError</c> for a file it cannot tokenize.
    /// </summary>
    public static PortRegistry Scan(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var full = System.IO.Path.GetFullPath(root);
        var modulesDir = System.IO.Path.Combine(full, "modules", "nixos", "services");
        var machinesDir = System.IO.Path.Combine(full, "machines");
        if (!Directory.Exists(modulesDir) && !Directory.Exists(machinesDir))
        {
            throw new AtelierException("InfraRepositoryNotFound", FailureKind.NotFound, $"'{full}' has neither modules/nixos/services nor machines: it is not an infrastructure repository laid out for mkService.");
        }

        var modules = new List<PortClaim>();
        if (Directory.Exists(modulesDir))
        {
            foreach (var path in Directory.GetFiles(modulesDir, "*.nix").Order(StringComparer.Ordinal))
            {
                var claim = ReadModule(path, Relative(full, path));
                if (claim is not null)
                {
                    modules.Add(claim);
                }
            }
        }

        var machines = new Dictionary<string, MachineState>(StringComparer.Ordinal);
        if (Directory.Exists(machinesDir))
        {
            foreach (var dir in Directory.GetDirectories(machinesDir).Order(StringComparer.Ordinal))
            {
                var path = System.IO.Path.Combine(dir, "default.nix");
                if (File.Exists(path))
                {
                    var machine = System.IO.Path.GetFileName(dir);
                    machines[machine] = ReadMachine(path, Relative(full, path), machine);
                }
            }
        }

        return new PortRegistry(full, modules, machines);
    }

    /// <summary>The services enabled on a machine (<c>enable</c> set to anything but <c>false</c>), in name order.</summary>
    public IReadOnlyList<string> EnabledServices(string machine) =>
        [.. State(machine).Services.Where(e => e.Value).Select(e => e.Key).Order(StringComparer.Ordinal)];

    /// <summary>
    /// The ports in use on a machine: for each enabled service its port there, else its module's default; and each
    /// enabled instance's port. A service enabled without a port whose module is not an mkService module is left out.
    /// </summary>
    public IReadOnlyList<PortClaim> Effective(string machine)
    {
        var state = State(machine);
        var claims = new List<PortClaim>();
        foreach (var service in EnabledServices(machine))
        {
            var own = state.Ports.FirstOrDefault(p => p.Instance is null && p.Claim.Service == service);
            if (own is not null)
            {
                claims.Add(own.Claim);
            }
            else if (ModuleDefaults.FirstOrDefault(m => m.Service == service) is { } module)
            {
                claims.Add(module with { Machine = machine });
            }
        }

        foreach (var port in state.Ports.Where(p => p.Instance is not null))
        {
            var enabled = !state.Instances.TryGetValue(port.Instance!, out var on) || on;
            if (enabled)
            {
                claims.Add(port.Claim);
            }
        }

        return [.. claims.OrderBy(c => c.Port).ThenBy(c => c.Service, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Every claim on <paramref name="port"/>: on one machine (its <see cref="Effective"/> ports), or with no machine,
    /// anywhere (every machine's ports and every module's default).
    /// </summary>
    public IReadOnlyList<PortClaim> Holders(int port, string? machine = null)
    {
        var claims = machine is null
            ? ModuleDefaults.Concat(_machines.Keys.Order(StringComparer.Ordinal).SelectMany(Effective))
            : Effective(machine);
        return [.. claims.Where(c => c.Port == port)];
    }

    /// <summary>The first of <see cref="Holders"/>, or null when the port is free.</summary>
    public PortClaim? Holder(int port, string? machine = null)
    {
        var holders = Holders(port, machine);
        return holders.Count == 0 ? null : holders[0];
    }

    /// <summary>The lowest port from <paramref name="from"/> up that nobody holds (see <see cref="Holders"/>).</summary>
    public int NextFree(int from = DefaultFirstPort, string? machine = null)
    {
        NixNames.Port(from, "first port");
        var taken = (machine is null
            ? ModuleDefaults.Concat(_machines.Keys.SelectMany(Effective))
            : Effective(machine)).Select(c => c.Port).ToHashSet();
        for (var port = from; port <= 65535; port++)
        {
            if (!taken.Contains(port))
            {
                return port;
            }
        }

        throw new AtelierException("NoFreePort", FailureKind.ResourceBusy, $"Every port from {from} to 65535 is taken.");
    }

    private MachineState State(string machine) =>
        _machines.TryGetValue(machine, out var state)
            ? state
            : throw new AtelierException("MachineNotFound", FailureKind.NotFound, $"There is no machines/{machine}/default.nix in {Root}.");

    private static PortClaim? ReadModule(string path, string relative)
    {
        var source = new NixSource(File.ReadAllText(path), relative);
        var tokens = source.Tokens;
        for (var i = 0; i + 1 < tokens.Count; i++)
        {
            if (!tokens[i].IsIdentifier("mkService") || !tokens[i + 1].IsSymbol("{"))
            {
                continue;
            }

            var name = System.IO.Path.GetFileNameWithoutExtension(path);
            var (port, line) = (DefaultFirstPort, tokens[i].Line);
            foreach (var binding in source.Bindings(i + 1, source.Match(i + 1), recurse: false))
            {
                var value = SingleValue(source, binding);
                if (binding.Is("name") && value?.Kind == NixTokenKind.String && value.Value is not null)
                {
                    name = value.Value;
                }
                else if (binding.Is("defaultPort") && value?.Kind == NixTokenKind.Integer && int.TryParse(value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var p))
                {
                    (port, line) = (p, value.Line);
                }
            }

            return new PortClaim(name, port, null, relative, line, PortSource.ModuleDefault, "defaultPort");
        }

        return null;
    }

    private static MachineState ReadMachine(string path, string relative, string machine)
    {
        var source = new NixSource(File.ReadAllText(path), relative);
        var top = source.TopLevelSet();
        var state = new MachineState();
        foreach (var binding in source.Bindings(top.Open, top.Close))
        {
            var p = binding.Path;
            if (p.Count < 4 || p[0] != "atelier" || p[1] != "services" || p[2] is null || p.Any(n => n is null))
            {
                continue;
            }

            var service = p[2]!;
            var last = p[^1];
            var instance = p.Count == 6 ? string.Join('.', p.Take(5)) : null;
            if (last == "enable" && (p.Count == 4 || p.Count == 6))
            {
                // Anything but a literal false may be true once evaluated, so it counts as enabled.
                var enabled = !(SingleValue(source, binding)?.IsIdentifier("false") ?? false);
                if (instance is null)
                {
                    state.Services[service] = enabled;
                }
                else
                {
                    state.Instances[instance] = enabled;
                }
            }
            else if (last == "port" && (p.Count == 4 || p.Count == 6)
                && SingleValue(source, binding) is { Kind: NixTokenKind.Integer } value && int.TryParse(value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                var setting = string.Join('.', p.Select(n => NixValue.AttrName(n!)));
                state.Ports.Add(new MachinePort(new PortClaim(service, port, machine, relative, value.Line, PortSource.Machine, setting), instance));
            }
        }

        return state;
    }

    /// <summary>The value of a binding when it is one token (<c>3000</c>, <c>"x"</c>, <c>true</c>), else null.</summary>
    private static NixToken? SingleValue(NixSource source, NixBinding binding) =>
        binding.Semicolon == binding.EqualsSign + 2 ? source.Tokens[binding.EqualsSign + 1] : null;

    private static string Relative(string root, string path) => System.IO.Path.GetRelativePath(root, path).Replace('\\', '/');

    private sealed record MachinePort(PortClaim Claim, string? Instance);

    private sealed class MachineState
    {
        /// <summary>Services with an <c>enable</c> setting, by name.</summary>
        public Dictionary<string, bool> Services { get; } = new(StringComparer.Ordinal);

        /// <summary>Instances with an <c>enable</c> setting, by their path up to the instance.</summary>
        public Dictionary<string, bool> Instances { get; } = new(StringComparer.Ordinal);

        public List<MachinePort> Ports { get; } = [];
    }
}
