using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Loads Atelier.Engine and its dependencies (SSH.NET, YamlDotNet, Microsoft.Data.Sqlite and the native SQLite)
/// from the module's <c>Dependencies/</c> folder into a private <see cref="AssemblyLoadContext"/>, so a session
/// that already loaded another version of any of them still imports Atelier, and Atelier's copies never leak out.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    private const string EngineAssembly = "Atelier.Engine";

    private static readonly string DependencyFolder =
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "Dependencies");

    private static readonly Lazy<DependencyLoadContext> Context = new(() => new DependencyLoadContext(DependencyFolder));
    private static int _registered;

    public void OnImport()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            AssemblyLoadContext.Default.Resolving += ResolveEngine;
        }
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name) =>
        name.Name == EngineAssembly ? Context.Value.LoadFromAssemblyName(name) : null;

    /// <summary>Resolves every managed and native dependency of the engine from the module's own folder first.</summary>
    private sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private readonly string _folder;

        public DependencyLoadContext(string folder)
            : base("Atelier", isCollectible: false) => _folder = folder;

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var path = Path.Combine(_folder, assemblyName.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            foreach (var candidate in NativeCandidates(unmanagedDllName))
            {
                if (File.Exists(candidate))
                {
                    return LoadUnmanagedDllFromPath(candidate);
                }
            }

            return IntPtr.Zero;
        }

        private IEnumerable<string> NativeCandidates(string name)
        {
            var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            var (os, prefix, suffix) = OperatingSystem.IsWindows() ? ("win", string.Empty, ".dll")
                : OperatingSystem.IsMacOS() ? ("osx", "lib", ".dylib")
                : ("linux", "lib", ".so");
            var fileName = name.EndsWith(suffix, StringComparison.Ordinal) ? name : prefix + name + suffix;
            yield return Path.Combine(_folder, "runtimes", $"{os}-{arch}", "native", fileName);
            yield return Path.Combine(_folder, fileName);
        }
    }
}
