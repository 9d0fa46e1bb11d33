using System.Text.Json;
using Atelier.Deploy;
using Atelier.Nix;
using Atelier.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Nix;

/// <summary><see cref="ServiceModuleWriter"/>: modules that parse, and that hand mkService exactly what was asked.</summary>
public sealed class ServiceModuleWriterTests
{
    public static TheoryData<string> HostileStrings => Hostile.Data();

    [NixFact]
    public void A_bun_module_with_sqlite_is_shaped_like_cachet_and_evaluates()
    {
        var spec = new ServiceModuleSpec
        {
            Name = "pastebin",
            Description = "Paste bin",
            DefaultPort = 3007,
            Sqlite = "data/app.db",
            StopForBackup = false,
        };
        var text = ServiceModuleWriter.Render(spec);
        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, ServiceModuleWriter.RelativePath("pastebin"), text);

        Assert.StartsWith("# pastebin - Paste bin\n#\n", text, StringComparison.Ordinal);
        Assert.Contains("\nlet\n  mkService = import ../../lib/mkService.nix;\nin\n\nmkService {\n  name = \"pastebin\";\n", text, StringComparison.Ordinal);
        Assert.Contains("  extraConfig = cfg: {\n", text, StringComparison.Ordinal);
        Assert.Contains("    systemd.services.pastebin.serviceConfig.Environment = [\n      \"DATABASE_PATH=${cfg.dataDir}/data/app.db\"\n    ];\n", text, StringComparison.Ordinal);
        Assert.Contains("    atelier.services.pastebin.data = {\n      sqlite = \"${cfg.dataDir}/data/app.db\";\n      stopForBackup = false;\n    };\n", text, StringComparison.Ordinal);
        Assert.EndsWith("  };\n}\n", text, StringComparison.Ordinal);

        var m = NixTool.EvalModule(file, "/var/lib/pastebin");
        Assert.Equal("pastebin", m.GetProperty("name").GetString());
        Assert.Equal("Paste bin", m.GetProperty("description").GetString());
        Assert.Equal(3007, m.GetProperty("defaultPort").GetInt32());
        Assert.Equal("bun", m.GetProperty("runtime").GetString());
        Assert.Equal("src/index.ts", m.GetProperty("entryPoint").GetString());
        Assert.False(m.TryGetProperty("startCommand", out _));
        var extra = m.GetProperty("extraConfig");
        Assert.Equal(["DATABASE_PATH=/var/lib/pastebin/data/app.db"], Environment(extra, "pastebin"));
        var data = Data(extra, "pastebin");
        Assert.Equal("/var/lib/pastebin/data/app.db", data.GetProperty("sqlite").GetString());
        Assert.False(data.GetProperty("stopForBackup").GetBoolean());
    }

    [NixFact]
    public void A_module_without_data_has_no_extraConfig()
    {
        var text = ServiceModuleWriter.Render(new ServiceModuleSpec { Name = "l5", Runtime = AppRuntime.Node, EntryPoint = "dist/main.js" });
        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, "modules/nixos/services/l5.nix", text);

        var m = NixTool.EvalModule(file);

        Assert.Equal(["defaultPort", "entryPoint", "name", "runtime"], m.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("node", m.GetProperty("runtime").GetString());
        Assert.Equal(3000, m.GetProperty("defaultPort").GetInt32());
        Assert.DoesNotContain("extraConfig", text, StringComparison.Ordinal);
        Assert.StartsWith("# l5\n", text, StringComparison.Ordinal);
    }

    [NixFact]
    public void Absolute_paths_stay_as_they_are_and_relative_ones_go_under_the_data_folder()
    {
        var spec = new ServiceModuleSpec
        {
            Name = "archive",
            Runtime = AppRuntime.Custom,
            StartCommand = "./bin/archive --port $PORT",
            Sqlite = "/srv/archive/db.sqlite",
            Postgres = "archive",
            Files = ["uploads", "./exports/", "~/keys", "/etc/archive.toml"],
        };
        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, "archive.nix", ServiceModuleWriter.Render(spec));

        var m = NixTool.EvalModule(file, "/var/lib/archive");

        Assert.Equal("custom", m.GetProperty("runtime").GetString());
        Assert.Equal("./bin/archive --port $PORT", m.GetProperty("startCommand").GetString());
        var extra = m.GetProperty("extraConfig");
        Assert.Equal(["DATABASE_PATH=/srv/archive/db.sqlite"], Environment(extra, "archive"));
        var data = Data(extra, "archive");
        Assert.Equal("/srv/archive/db.sqlite", data.GetProperty("sqlite").GetString());
        Assert.Equal("archive", data.GetProperty("postgres").GetString());
        Assert.Equal(
            ["/var/lib/archive/uploads", "/var/lib/archive/exports/", "/var/lib/archive/keys", "/etc/archive.toml"],
            data.GetProperty("files").EnumerateArray().Select(e => e.GetString()!));
        Assert.True(data.GetProperty("stopForBackup").GetBoolean());
    }

    [NixTheory]
    [MemberData(nameof(HostileStrings))]
    public void Every_string_field_evaluates_back_to_exactly_the_value(string value)
    {
        var spec = new ServiceModuleSpec
        {
            Name = "hostile",
            Description = value,
            EntryPoint = value,
            StartCommand = value,
            Sqlite = value,
            Postgres = value,
            Files = [value, "/abs/" + value],
        };
        var text = ServiceModuleWriter.Render(spec);
        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, "hostile.nix", text);

        var m = NixTool.EvalModule(file, "/var/lib/hostile");

        Assert.Equal(value, m.GetProperty("description").GetString());
        Assert.Equal(value, m.GetProperty("entryPoint").GetString());
        Assert.Equal(value, m.GetProperty("startCommand").GetString());
        var extra = m.GetProperty("extraConfig");
        var under = value.StartsWith('/') ? value : "/var/lib/hostile/" + value;
        Assert.Equal(["DATABASE_PATH=" + under], Environment(extra, "hostile"));
        var data = Data(extra, "hostile");
        Assert.Equal(under, data.GetProperty("sqlite").GetString());
        Assert.Equal(value, data.GetProperty("postgres").GetString());
        Assert.Equal([under, "/abs/" + value], data.GetProperty("files").EnumerateArray().Select(e => e.GetString()!));

        // The header comment holds the description on one line: nothing of it escapes into code.
        var header = text[..text.IndexOf("\nlet\n", StringComparison.Ordinal)].Split('\n');
        Assert.All(header, line => Assert.True(line.Length == 0 || line.StartsWith('#'), $"Not a comment line: {line}"));
        Assert.Equal("let", NixLexer.Tokenize(text)[0].Text);
    }

    [Fact]
    public void Bad_specs_are_refused()
    {
        Assert.Throws<RemoteValueException>(() => ServiceModuleWriter.Render(new ServiceModuleSpec { Name = "Bad Name" }));
        Assert.Throws<RemoteValueException>(() => ServiceModuleWriter.Render(new ServiceModuleSpec { Name = "x${y}" }));
        Assert.Equal("InvalidPort", Assert.Throws<AtelierException>(() => ServiceModuleWriter.Render(new ServiceModuleSpec { Name = "x", DefaultPort = 70000 })).ErrorId);
        Assert.Equal("StartCommandRequired", Assert.Throws<AtelierException>(() => ServiceModuleWriter.Render(new ServiceModuleSpec { Name = "x", Runtime = AppRuntime.Custom })).ErrorId);
        Assert.Throws<RemoteValueException>(() => ServiceModuleWriter.Render(new ServiceModuleSpec { Name = "x", Sqlite = "~/" }));
        Assert.Throws<RemoteValueException>(() => ServiceModuleWriter.Render(new ServiceModuleSpec { Name = "x", Description = "nul\0" }));
    }

    [NixFact]
    public void The_fixture_modules_and_mkService_parse()
    {
        foreach (var file in Directory.GetFiles(InfraFixture.Root, "*.nix", SearchOption.AllDirectories))
        {
            NixTool.AssertParses(file);
        }
    }

    private static string[] Environment(JsonElement extra, string name) =>
        [.. extra.GetProperty("systemd").GetProperty("services").GetProperty(name).GetProperty("serviceConfig").GetProperty("Environment").EnumerateArray().Select(e => e.GetString()!)];

    private static JsonElement Data(JsonElement extra, string name) =>
        extra.GetProperty("atelier").GetProperty("services").GetProperty(name).GetProperty("data");
}
