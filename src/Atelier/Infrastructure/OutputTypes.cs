using System.Management.Automation;
using System.Reflection;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Makes Atelier's output types nameable from PowerShell, so a runbook's test can build a fake result:
/// <c>[Atelier.Deploy.ServiceDeployResult]@{ Service = 'cachet'; ComputerName = 'h'; Status = 'RolledBack' }</c>.
/// </summary>
/// <remarks>
/// The output types live in Atelier.Engine, which loads in Atelier's private load context (see
/// <see cref="ModuleInitializer"/>) so that its SSH.NET, YamlDotNet and SQLite never clash with another module's. A
/// type there is not found by name from a script, which only searches the default context. Rather than move the types
/// out (and split the engine in two), each one is registered as a type accelerator under its own full name at import
/// and removed at <c>Remove-Module</c>: the name resolves to the very type the cmdlets return, so a fake formats with
/// the same table view and binds by property name exactly as a real result does. Only full names are registered (no
/// short aliases that could shadow another module's types), and a name already taken is left alone.
/// </remarks>
internal static class OutputTypes
{
    private static readonly MethodInfo? Add = Accelerators?.GetMethod("Add", [typeof(string), typeof(Type)]);
    private static readonly MethodInfo? Remove = Accelerators?.GetMethod("Remove", [typeof(string)]);
    private static readonly List<string> Registered = [];

    private static Type? Accelerators => typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");

    /// <summary>
    /// Every type a cmdlet declares with <c>[OutputType]</c> that comes from the engine, and the engine's types those
    /// expose through their public properties (a deploy's steps, its health), with the enums among them.
    /// </summary>
    public static IReadOnlyList<Type> All()
    {
        var module = typeof(OutputTypes).Assembly;
        var found = new SortedDictionary<string, Type>(StringComparer.Ordinal);
        var pending = new Stack<Type>(module.GetTypes()
            .Where(t => typeof(Cmdlet).IsAssignableFrom(t) && !t.IsAbstract)
            .SelectMany(t => t.GetCustomAttributes<OutputTypeAttribute>())
            .SelectMany(a => a.Type)
            .Select(n => n.Type)
            .OfType<Type>());
        while (pending.TryPop(out var type))
        {
            if (!IsEngineType(type) || !found.TryAdd(type.FullName!, type))
            {
                continue;
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                foreach (var exposed in Exposed(property.PropertyType))
                {
                    pending.Push(exposed);
                }
            }
        }

        return [.. found.Values];
    }

    /// <summary>Registers <see cref="All"/> as type accelerators (once; a name PowerShell already knows is left as it is).</summary>
    public static void Register()
    {
        if (Add is null || Remove is null)
        {
            return; // a PowerShell without accelerators: results work, fakes need reflection
        }

        lock (Registered)
        {
            if (Registered.Count > 0)
            {
                return;
            }

            var known = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            if (Accelerators!.GetProperty("Get")?.GetValue(null) is IDictionary<string, Type> existing)
            {
                known.UnionWith(existing.Keys);
            }

            foreach (var type in All().Where(t => !known.Contains(t.FullName!)))
            {
                Add.Invoke(null, [type.FullName!, type]);
                Registered.Add(type.FullName!);
            }
        }
    }

    /// <summary>Removes what <see cref="Register"/> added.</summary>
    public static void Unregister()
    {
        lock (Registered)
        {
            foreach (var name in Registered)
            {
                Remove?.Invoke(null, [name]);
            }

            Registered.Clear();
        }
    }

    private static bool IsEngineType(Type type) =>
        type.IsPublic && !type.IsGenericType && type.Assembly.GetName().Name == "Atelier.Engine" && type.FullName is not null;

    /// <summary>The type itself, or the element types of an array, a nullable, a list or a dictionary of them.</summary>
    private static IEnumerable<Type> Exposed(Type type)
    {
        if (type.IsArray)
        {
            return Exposed(type.GetElementType()!);
        }

        if (type.IsGenericType)
        {
            return type.GetGenericArguments().SelectMany(Exposed);
        }

        return [type];
    }
}
