using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Loads Atelier.Engine and its dependencies (SSH.NET, YamlDotNet, Microsoft.Data.Sqlite and the native SQLite)
/// from the module's <c>Dependencies/</c> folder into a private <see cref="AssemblyLoadContext"/>, so a session
/// that already loaded another version of any of them still imports Atelier, and Atelier's copies never leak out.
/// Where the build left ReadyToRun copies for this platform and runtime (<c>Dependencies/runtimes/&lt;rid&gt;/lib/net&lt;major&gt;.0/</c>),
/// those load instead of the IL ones: their code is compiled ahead of time, so the first cmdlet that connects does not
/// wait for the JIT. At import, the engine's output types are named for scripts (<see cref="OutputTypes"/>); nothing
/// else loads or runs.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private const string EngineAssembly = "Atelier.Engine";

    private static readonly string DependencyFolder =
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "Dependencies");

    private static readonly Lazy<DependencyLoadContext> Context = new(() => new DependencyLoadContext(DependencyFolder));

    private static int _registered;

    /// <summary>This process's platform as a runtime identifier's form: <c>linux-x64</c>, <c>osx-arm64</c>, <c>win-x64</c>.</summary>
    private static string Platform =>
        (OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux") + "-" +
        RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();

    public void OnImport()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            AssemblyLoadContext.Default.Resolving += ResolveEngine;
        }

        OutputTypes.Register();
    }

    /// <summary>At <c>Remove-Module</c>: the output types' names go (the load context stays: a process loads it once).</summary>
    public void OnRemove(PSModuleInfo psModuleInfo) => OutputTypes.Unregister();

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name) =>
        name.Name == EngineAssembly ? Context.Value.LoadFromAssemblyName(name) : null;

    /// <summary>Resolves every managed and native dependency of the engine from the module's own folder first.</summary>
    private sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private readonly string _folder;
        private readonly string _readyToRunFolder;

        public DependencyLoadContext(string folder)
            : base("Atelier", isCollectible: false)
        {
            _folder = folder;
            _readyToRunFolder = Path.Combine(folder, "runtimes", Platform, "lib", $"net{Environment.Version.Major}.0");
        }

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var readyToRun = Path.Combine(_readyToRunFolder, assemblyName.Name + ".dll");
            if (File.Exists(readyToRun))
            {
                return LoadFromAssemblyPath(readyToRun);
            }

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
            var (prefix, suffix) = OperatingSystem.IsWindows() ? (string.Empty, ".dll")
                : OperatingSystem.IsMacOS() ? ("lib", ".dylib")
                : ("lib", ".so");
            var fileName = name.EndsWith(suffix, StringComparison.Ordinal) ? name : prefix + name + suffix;
            yield return Path.Combine(_folder, "runtimes", Platform, "native", fileName);
            yield return Path.Combine(_folder, fileName);
        }
    }
}
