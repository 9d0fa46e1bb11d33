using System.Text.Json;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Nix;

/// <summary>The real <c>nix-instantiate</c>: parses files and evaluates expressions offline (no store access needed).</summary>
internal static class NixTool
{
    public const string Program = "nix-instantiate";

    public static readonly Lazy<bool> Installed = new(() => Sh.OnPath(Program));

    public static string SkipReason => $"{Program} is not installed on this machine (apt-get install nix-bin), so Nix cannot check the generated text.";

    /// <summary>Fails the test, showing Nix's error and the text, unless <c>nix-instantiate --parse</c> accepts the file.</summary>
    public static void AssertParses(string file)
    {
        var result = Sh.Exec(Program, ["--parse", file]);
        Assert.True(result.ExitCode == 0, $"{file} does not parse:\n{result.Error}\n--- text ---\n{File.ReadAllText(file)}");
    }

    /// <summary>Writes <paramref name="text"/> to a file in <paramref name="folder"/> and checks that it parses.</summary>
    public static string WriteParsed(TempFolder folder, string relativePath, string text)
    {
        var path = folder.Write(relativePath, text);
        AssertParses(path);
        return path;
    }

    /// <summary>
    /// <c>nix-instantiate --eval --strict --json</c> of a function of <paramref name="arguments"/> (passed with
    /// <c>--argstr</c>, so file paths need no quoting in the expression).
    /// </summary>
    public static JsonElement Eval(string expression, IReadOnlyDictionary<string, string>? arguments = null)
    {
        var args = new List<string> { "--eval", "--strict", "--json" };
        foreach (var (name, value) in arguments ?? new Dictionary<string, string>())
        {
            args.AddRange(["--argstr", name, value]);
        }

        args.AddRange(["-E", expression]);
        var result = Sh.Exec(Program, args);
        Assert.True(result.ExitCode == 0, $"nix-instantiate could not evaluate {expression}:\n{result.Error}");
        using var json = JsonDocument.Parse(result.Output);
        return json.RootElement.Clone();
    }

    /// <summary>The service module's <c>mkService</c> argument set, with <c>extraConfig</c> applied to a data folder.</summary>
    public static JsonElement EvalModule(string file, string dataDir = "/var/lib/x") =>
        Eval(
            """
            { file, dataDir }:
            let m = scopedImport { import = _: (args: args); } file;
            in m // (if m ? extraConfig then { extraConfig = m.extraConfig { inherit dataDir; }; } else { })
            """,
            new Dictionary<string, string> { ["file"] = file, ["dataDir"] = dataDir });

    /// <summary>A machine file's top-level set, given secrets whose <c>path</c> is <c>/run/agenix/&lt;name&gt;</c>.</summary>
    public static JsonElement EvalMachine(string file, string selector, IEnumerable<string> secrets) =>
        Eval(
            "{ file, secrets }: let names = builtins.fromJSON secrets; cfg = import file { config = { age.secrets = builtins.listToAttrs (map (n: { name = n; value = { path = \"/run/agenix/\" + n; }; }) names); }; lib = { }; pkgs = { }; inputs = { }; }; in "
                + selector,
            new Dictionary<string, string> { ["file"] = file, ["secrets"] = JsonSerializer.Serialize(secrets.ToList()) });
}

/// <summary>A fact that is skipped, saying why, when nix-instantiate is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NixFactAttribute : FactAttribute
{
    public NixFactAttribute()
    {
        if (!NixTool.Installed.Value)
        {
            Skip = NixTool.SkipReason;
        }
    }
}

/// <summary>A theory that is skipped, saying why, when nix-instantiate is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NixTheoryAttribute : TheoryAttribute
{
    public NixTheoryAttribute()
    {
        if (!NixTool.Installed.Value)
        {
            Skip = NixTool.SkipReason;
        }
    }
}

/// <summary>The fixture infrastructure repository, <c>tests/Fixtures/infra</c>, found from the test binaries upwards.</summary>
internal static class InfraFixture
{
    public static string Root { get; } = Find();

    /// <summary>A copy of the fixture in a fresh temp folder; the repository root is the folder's <c>infra</c>.</summary>
    public static (TempFolder Folder, string Root) Copy()
    {
        var folder = new TempFolder();
        var root = folder.Combine("infra");
        foreach (var file in Directory.GetFiles(Root, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(root, Path.GetRelativePath(Root, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return (folder, root);
    }

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath));

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Fixtures", "infra");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/Fixtures/infra was not found above {AppContext.BaseDirectory}.");
    }
}

/// <summary>Strings that break naive Nix quoting: quotes, antiquotations and their escapes, backslashes, line breaks, unicode.</summary>
internal static class Hostile
{
    public static readonly string[] Values =
    [
        "plain",
        "quote\"inside",
        "back\\slash",
        "\\",
        "${HOME}",
        "$${HOME}",
        "$$${x}",
        "\\${x}",
        "\\$",
        "trailing$",
        "$",
        "$$",
        "${",
        "}",
        "a\nb",
        "\r\n",
        "\ttab",
        "unicode é ✓ 😀 \u2028",
        "''",
        "'''",
        "''${x}",
        "# not a comment",
        "/* not a comment */",
        "$\\n",
        "$\"",
        "ctl\u0001\u007f",
        " leading and trailing ",
    ];

    public static TheoryData<string> Data()
    {
        var data = new TheoryData<string>();
        foreach (var value in Values)
        {
            data.Add(value);
        }

        return data;
    }
}
