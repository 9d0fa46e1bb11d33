using System.Xml.Linq;

namespace Atelier.Tests;

/// <summary>
/// The shape of the code, checked on its sources and on the compiled engine: cmdlets stay thin (the work lives in the
/// engine or the shared bases) and the engine has no PowerShell in it, not even a <c>using</c> that compiles away.
/// </summary>
public sealed class ConventionTests
{
    /// <summary>The most lines a cmdlet's file may have.</summary>
    public const int MaxCmdletLines = 200;

    private const string PowerShell = "System.Management.Automation";

    [Fact]
    public void No_cmdlet_file_is_longer_than_200_lines()
    {
        var commands = Path.Join(RepositoryRoot(), "src", "Atelier", "Commands");
        var files = Directory.GetFiles(commands, "*.cs", SearchOption.AllDirectories);
        Assert.NotEmpty(files);

        var tooLong = files
            .Select(f => (File: Path.GetRelativePath(commands, f), Lines: File.ReadAllLines(f).Length))
            .Where(f => f.Lines > MaxCmdletLines)
            .Select(f => $"{f.File} ({f.Lines} lines)")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(tooLong.Count == 0, $"Cmdlet files over {MaxCmdletLines} lines (move the work into the engine or a shared base): {string.Join(", ", tooLong)}");
    }

    [Fact]
    public void The_engine_assembly_references_no_PowerShell()
    {
        var engine = typeof(AtelierException).Assembly;
        Assert.Equal("Atelier.Engine", engine.GetName().Name);

        var references = engine.GetReferencedAssemblies().Select(a => a.Name ?? string.Empty).ToList();
        Assert.Contains("YamlDotNet", references); // the list is the real one
        Assert.DoesNotContain(references, r => r.StartsWith(PowerShell, StringComparison.OrdinalIgnoreCase) || r.StartsWith("Microsoft.PowerShell", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(engine.GetTypes(), t => (t.Namespace ?? string.Empty).StartsWith(PowerShell, StringComparison.Ordinal));
    }

    [Fact]
    public void No_engine_source_file_mentions_PowerShell()
    {
        var engine = Path.Join(RepositoryRoot(), "src", "Atelier.Engine");
        var sources = EngineSources(engine).ToList();
        Assert.Contains(sources, f => f.EndsWith("AtelierException.cs", StringComparison.Ordinal));

        var mentioning = sources
            .Where(f => File.ReadAllText(f).Contains(PowerShell, StringComparison.OrdinalIgnoreCase))
            .Select(f => Path.GetRelativePath(engine, f))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(mentioning.Count == 0, $"Engine sources that mention {PowerShell} (the engine has no PowerShell in it): {string.Join(", ", mentioning)}");
    }

    [Fact]
    public void The_engine_project_has_no_PowerShell_package()
    {
        var project = XDocument.Load(Path.Join(RepositoryRoot(), "src", "Atelier.Engine", "Atelier.Engine.csproj"));
        var packages = project.Descendants("PackageReference").Select(p => (string?)p.Attribute("Include") ?? string.Empty).ToList();

        Assert.Contains("YamlDotNet", packages); // the list is the real one
        Assert.DoesNotContain(packages, p => p.Contains("PowerShell", StringComparison.OrdinalIgnoreCase) || p.StartsWith(PowerShell, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The engine's C# sources, without what the build writes (bin/, obj/).</summary>
    private static IEnumerable<string> EngineSources(string engine) =>
        Directory.EnumerateFiles(engine, "*.cs", SearchOption.AllDirectories)
            .Where(f => Path.GetRelativePath(engine, f).Split(Path.DirectorySeparatorChar) is var parts && !parts.Contains("bin") && !parts.Contains("obj"));

    /// <summary>The repository's root: the folder above this test's output that holds Atelier.psd1 and src/.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Atelier.psd1")) && Directory.Exists(Path.Combine(dir.FullName, "src", "Atelier", "Commands")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No repository root (with Atelier.psd1 and src/Atelier/Commands) above {AppContext.BaseDirectory}.");
    }
}
