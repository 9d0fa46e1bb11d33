namespace Atelier.Manifest;

/// <summary>Finds a service of the manifest by its bare name, as a user types it: the one place a name becomes a host.</summary>
public static class ServiceLookup
{
    /// <summary>
    /// The service called <paramref name="name"/>, on <paramref name="machine"/> when given. A name the manifest does not
    /// have is an error listing the closest names; a name on two machines needs the machine.
    /// </summary>
    /// <exception cref="AtelierException"><c>ServiceNotFound</c>, <c>ServiceAmbiguous</c>, <c>MachineNotFound</c>.</exception>
    public static AtelierService Find(ServicesManifest manifest, string name, string? machine = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (machine is not null)
        {
            CheckMachine(manifest, machine);
        }

        var found = manifest.Services.Where(s => s.Name == name && (machine is null || s.Machine == machine)).ToList();
        return found.Count switch
        {
            1 => found[0],
            0 => throw new AtelierException("ServiceNotFound", FailureKind.NotFound,
                $"The services manifest ({manifest.Source}) has no service '{name}'{(machine is null ? string.Empty : $" on {machine}")}"
                + Near(Suggestions.Closest(name, manifest.Services.Where(s => machine is null || s.Machine == machine).Select(s => s.Name))) + "."),
            _ => throw new AtelierException("ServiceAmbiguous", FailureKind.InvalidArgument,
                $"The service '{name}' runs on {string.Join(" and ", found.Select(s => s.Machine))} ({manifest.Source}).")
            {
                Hints = [Hint.Machine],
            },
        };
    }

    /// <summary>Like <see cref="Find"/>, but null when the manifest has no such service (an ambiguous name is still an error).</summary>
    public static AtelierService? TryFind(ServicesManifest manifest, string name, string? machine = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Services.Any(s => s.Name == name && (machine is null || s.Machine == machine)) ? Find(manifest, name, machine) : null;
    }

    /// <summary>Every service of the manifest, in its order; only those of <paramref name="machine"/> when given.</summary>
    /// <exception cref="AtelierException"><c>MachineNotFound</c>.</exception>
    public static IReadOnlyList<AtelierService> OnMachine(ServicesManifest manifest, string? machine)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (machine is null)
        {
            return manifest.Services;
        }

        CheckMachine(manifest, machine);
        return manifest.Services.Where(s => s.Machine == machine).ToList();
    }

    private static void CheckMachine(ServicesManifest manifest, string machine)
    {
        if (!manifest.Machines.Any(m => string.Equals(m.Name, machine, StringComparison.Ordinal)))
        {
            var near = Suggestions.Closest(machine, manifest.Machines.Select(m => m.Name));
            throw new AtelierException("MachineNotFound", FailureKind.NotFound,
                $"The services manifest ({manifest.Source}) has no machine '{machine}'{Near(near)}. Its machines: {string.Join(", ", manifest.Machines.Select(m => m.Name))}.");
        }
    }

    private static string Near(IReadOnlyList<string> names) => names.Count == 0 ? string.Empty : $" (did you mean {string.Join(" or ", names.Select(n => $"'{n}'"))}?)";
}
