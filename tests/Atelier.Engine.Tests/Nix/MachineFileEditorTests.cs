using System.Text.Json;
using Atelier.Nix;
using Atelier.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Nix;

/// <summary>
/// <see cref="MachineFileEditor"/> on the fixture machines and on small files of every shape: the block lands inside
/// the top-level set, every other byte stays, and Nix reads the result back.
/// </summary>
public sealed class MachineFileEditorTests
{
    private const string Terebithia = "machines/terebithia/default.nix";
    private const string Prattle = "machines/prattle/default.nix";
    private static readonly string[] FixtureSecrets = ["cachet", "cloudflare", "bore/auth-token"];

    public static TheoryData<string> HostileStrings => Hostile.Data();

    private static MachineServiceSpec Pastebin => new()
    {
        Name = "pastebin",
        Domain = "paste.example.org",
        Port = 3001,
        Repository = "https://github.com/example/pastebin",
        Secret = "pastebin",
        HealthUrl = "https://paste.example.org/health",
        Environment = new Dictionary<string, string> { ["MAX_SIZE"] = "1048576", ["BASE_URL"] = "https://paste.example.org" },
        CaddyEnable = true,
        RateLimit = new RateLimit(30, "10s"),
    };

    [NixFact]
    public void A_new_service_goes_before_the_closing_brace_and_nothing_else_changes()
    {
        var original = InfraFixture.Read(Terebithia);

        var edit = MachineFileEditor.AddService(original, Pastebin, file: Terebithia);

        Assert.Equal(MachineEditKind.Added, edit.Kind);
        Assert.True(edit.SecretAdded);
        var (at, inserted) = Insertion(original, edit.Text);
        Assert.Equal(original.LastIndexOf("}\n", StringComparison.Ordinal), at);
        Assert.Equal(
            """

              age.secrets.pastebin = {
                file = ../../secrets/pastebin.age;
                owner = "pastebin";
              };

              atelier.services.pastebin = {
                enable = true;
                domain = "paste.example.org";
                port = 3001;
                repository = "https://github.com/example/pastebin";
                secretsFile = config.age.secrets.pastebin.path;
                healthUrl = "https://paste.example.org/health";
                environment = {
                  BASE_URL = "https://paste.example.org";
                  MAX_SIZE = "1048576";
                };
                caddy.enable = true;
                caddy.rateLimit = {
                  enable = true;
                  events = 30;
                  window = "10s";
                };
              };

            """,
            inserted);
        Assert.Equal("  atelier.services.pastebin = {", edit.Text.Split('\n')[edit.Line - 1]);

        var (folder, root) = InfraFixture.Copy();
        using (folder)
        {
            var file = NixTool.WriteParsed(folder, Path.Combine("infra", Terebithia), edit.Text);
            var service = NixTool.EvalMachine(file, "cfg.atelier.services.pastebin", [.. FixtureSecrets, "pastebin"]);
            Assert.Equal(
                """{"caddy":{"enable":true,"rateLimit":{"enable":true,"events":30,"window":"10s"}},"domain":"paste.example.org","enable":true,"environment":{"BASE_URL":"https://paste.example.org","MAX_SIZE":"1048576"},"healthUrl":"https://paste.example.org/health","port":3001,"repository":"https://github.com/example/pastebin","secretsFile":"/run/agenix/pastebin"}""",
                JsonSerializer.Serialize(service));

            // The dotted age.secrets.pastebin merges with the file's own age.secrets = { ... } set.
            var secrets = NixTool.EvalMachine(file, "builtins.mapAttrs (_: s: { file = toString s.file; owner = s.owner or null; }) cfg.age.secrets", []);
            Assert.Equal(["bore/auth-token", "cachet", "cloudflare", "pastebin"], secrets.EnumerateObject().Select(p => p.Name));
            Assert.Equal(Path.Combine(root, "secrets", "pastebin.age"), secrets.GetProperty("pastebin").GetProperty("file").GetString());
            Assert.Equal("pastebin", secrets.GetProperty("pastebin").GetProperty("owner").GetString());
            Assert.Equal("cachet", secrets.GetProperty("cachet").GetProperty("owner").GetString());
        }
    }

    [Fact]
    public void Adding_the_same_block_again_changes_nothing()
    {
        var first = MachineFileEditor.AddService(InfraFixture.Read(Terebithia), Pastebin);

        var second = MachineFileEditor.AddService(first.Text, Pastebin);

        Assert.Equal(MachineEditKind.Unchanged, second.Kind);
        Assert.False(second.Changed);
        Assert.False(second.SecretAdded);
        Assert.Same(first.Text, second.Text);
        Assert.Equal(first.Line, second.Line);
    }

    [Fact]
    public void A_hand_written_block_that_reads_the_same_is_unchanged()
    {
        var original = InfraFixture.Read(Terebithia);
        var spec = new MachineServiceSpec
        {
            Name = "cachet",
            Domain = "cachet.example.org",
            Repository = "https://github.com/example/cachet",
            Secret = "cachet",
            HealthUrl = "https://cachet.example.org/health?detailed=true",
        };

        var edit = MachineFileEditor.AddService(original, spec);

        Assert.Equal(MachineEditKind.Unchanged, edit.Kind);
        Assert.Equal(original, edit.Text);
    }

    [NixFact]
    public void A_different_block_is_a_conflict_unless_replaced_and_only_its_span_is_swapped()
    {
        var original = InfraFixture.Read(Terebithia);
        var spec = new MachineServiceSpec { Name = "l4", Domain = "cdn.example.org", Port = 3005, Secret = "l4" };

        var conflict = MachineFileEditor.AddService(original, spec);

        Assert.Equal(MachineEditKind.Conflict, conflict.Kind);
        Assert.Same(original, conflict.Text);
        Assert.StartsWith("atelier.services.l4 = {\n    enable = true;", conflict.Existing, StringComparison.Ordinal);
        Assert.EndsWith("healthUrl = \"https://l4.example.org/health\";\n  };", conflict.Existing, StringComparison.Ordinal);
        Assert.Contains("# moved off the module's 3003", conflict.Existing, StringComparison.Ordinal);

        var replaced = MachineFileEditor.AddService(original, spec, replace: true);

        Assert.Equal(MachineEditKind.Replaced, replaced.Kind);
        Assert.True(replaced.SecretAdded);
        var start = original.IndexOf(conflict.Existing!, StringComparison.Ordinal);
        var end = start + conflict.Existing!.Length;
        Assert.Equal(original[..start], replaced.Text[..start]);
        Assert.Equal(original[end..], replaced.Text[^(original.Length - end)..]);
        Assert.Equal(
            "age.secrets.l4 = {\n    file = ../../secrets/l4.age;\n    owner = \"l4\";\n  };\n\n  atelier.services.l4 = {\n    enable = true;\n    domain = \"cdn.example.org\";\n    port = 3005;\n    secretsFile = config.age.secrets.l4.path;\n  };",
            replaced.Text[start..^(original.Length - end)]);

        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, "default.nix", replaced.Text);
        var l4 = NixTool.EvalMachine(file, "cfg.atelier.services.l4", [.. FixtureSecrets, "l4"]);
        Assert.Equal("""{"domain":"cdn.example.org","enable":true,"port":3005,"secretsFile":"/run/agenix/l4"}""", JsonSerializer.Serialize(l4));

        Assert.Equal(MachineEditKind.Unchanged, MachineFileEditor.AddService(replaced.Text, spec, replace: true).Kind);
    }

    [Fact]
    public void Secrets_are_found_in_every_spelling()
    {
        // The rule AddService decides by, over the bindings of the file's top-level set.
        static bool DeclaresSecret(string text, string secret)
        {
            var source = new NixSource(text);
            var top = source.TopLevelSet();
            return MachineFileEditor.DeclaresSecret(source.Bindings(top.Open, top.Close), secret);
        }

        var terebithia = InfraFixture.Read(Terebithia);
        Assert.True(DeclaresSecret(terebithia, "cachet"));
        Assert.True(DeclaresSecret(terebithia, "bore/auth-token"));
        Assert.False(DeclaresSecret(terebithia, "bore"));
        Assert.False(DeclaresSecret(terebithia, "l4"));
        Assert.True(DeclaresSecret(InfraFixture.Read(Prattle), "cachet"));
        Assert.True(DeclaresSecret("{ age = { secrets.x.file = ./x.age; }; }", "x"));
        Assert.False(DeclaresSecret("{ motd = \"age.secrets.x = 1;\"; }", "x"));

        var edit = MachineFileEditor.AddService(terebithia, new MachineServiceSpec { Name = "cachet-two", Secret = "cachet" });
        Assert.False(edit.SecretAdded);
        Assert.DoesNotContain("age.secrets.cachet =", edit.Text, StringComparison.Ordinal);
    }

    [NixTheory]
    [MemberData(nameof(HostileStrings))]
    public void Every_string_field_evaluates_back_to_exactly_the_value(string value)
    {
        var spec = new MachineServiceSpec
        {
            Name = "hostile",
            Domain = value,
            Repository = value,
            HealthUrl = value,
            Environment = new Dictionary<string, string> { ["VALUE"] = value, ["EMPTY"] = string.Empty },
            Secret = "hostile/x.y+z",
            RateLimit = new RateLimit(1, value),
        };

        var edit = MachineFileEditor.AddService(InfraFixture.Read(Prattle), spec);

        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, "default.nix", edit.Text);
        var service = NixTool.EvalMachine(file, "cfg.atelier.services.hostile", ["cachet", "hostile/x.y+z"]);
        Assert.Equal(value, service.GetProperty("domain").GetString());
        Assert.Equal(value, service.GetProperty("repository").GetString());
        Assert.Equal(value, service.GetProperty("healthUrl").GetString());
        Assert.Equal(value, service.GetProperty("environment").GetProperty("VALUE").GetString());
        Assert.Equal(string.Empty, service.GetProperty("environment").GetProperty("EMPTY").GetString());
        Assert.Equal(value, service.GetProperty("caddy").GetProperty("rateLimit").GetProperty("window").GetString());
        Assert.Equal("/run/agenix/hostile/x.y+z", service.GetProperty("secretsFile").GetString());
        var owner = NixTool.EvalMachine(file, "cfg.age.secrets.\"hostile/x.y+z\".owner", ["cachet"]);
        Assert.Equal("hostile", owner.GetString());
    }

    public static TheoryData<string, string> Shapes => new()
    {
        { "let body", "{ config, ... }:\nlet\n  a = { b = 1; };\n  c = let d = 2; in d;\nin\n{\n  x = a.b + c;\n}\n" },
        { "named formals and with, 4 spaces", "args@{ config, ... }: with builtins; {\n    x = 1;\n    y = with args; [ ];\n}\n" },
        { "formals then @ and rec", "{ config, ... }@args: rec {\n  a = 1;\n  b = a;\n}\n" },
        { "config from a let inherit", "args:\nlet\n  inherit (args) config;\nin\n{\n  a = 1;\n}\n" },
        { "tabs", "{ config, ... }:\n{\n\tx = 1;\n\ty = {\n\t\tz = 2;\n\t};\n}\n" },
        { "CRLF", "{ config, ... }:\r\n{\r\n  x = 1;\r\n}\r\n" },
        { "empty set", "{ config, ... }:\n{\n}\n" },
        { "one line", "{ config, ... }: { x = 1; }\n" },
        { "comments after the brace", "{ config, ... }:\n{\n  x = \"}\"; # }\n  /* } */\n} # the end }\n" },
        { "indented close", "{ config, ... }:\n  {\n    x = 1;\n  }\n" },
        { "inherit and dynamic names", "{ config, ... }:\nlet n = \"y\"; in\n{\n  inherit (config) networking;\n  ${n} = 1;\n  \"quoted\".a = 2;\n}\n" },
    };

    [NixTheory]
    [MemberData(nameof(Shapes))]
    public void Files_of_every_shape_get_the_block_inside_their_set(string shape, string original)
    {
        var spec = new MachineServiceSpec { Name = "svc", Domain = "svc.example.org", Secret = "svc" };

        var edit = MachineFileEditor.AddService(original, spec, file: shape);

        Assert.Equal(MachineEditKind.Added, edit.Kind);
        var (_, inserted) = Insertion(original, edit.Text);
        Assert.Contains("atelier.services.svc = {", inserted, StringComparison.Ordinal);
        if (original.Contains("\r\n", StringComparison.Ordinal))
        {
            Assert.DoesNotContain("\n", edit.Text.Replace("\r\n", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        }

        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, "default.nix", edit.Text);
        var service = NixTool.EvalMachine(file, "cfg.atelier.services.svc", ["svc"]);
        Assert.Equal("""{"domain":"svc.example.org","enable":true,"secretsFile":"/run/agenix/svc"}""", JsonSerializer.Serialize(service));
        Assert.Equal(MachineEditKind.Unchanged, MachineFileEditor.AddService(edit.Text, spec).Kind);
    }

    [Fact]
    public void Indentation_follows_the_file()
    {
        var fourSpaces = MachineFileEditor.AddService("x: {\n    a = 1;\n}\n", new MachineServiceSpec { Name = "svc", Port = 3001 });
        Assert.Equal("x: {\n    a = 1;\n\n    atelier.services.svc = {\n        enable = true;\n        port = 3001;\n    };\n}\n", fourSpaces.Text);

        var tabs = MachineFileEditor.AddService("x: {\n\ta = 1;\n}\n", new MachineServiceSpec { Name = "svc" });
        Assert.Equal("x: {\n\ta = 1;\n\n\tatelier.services.svc = {\n\t\tenable = true;\n\t};\n}\n", tabs.Text);

        var empty = MachineFileEditor.AddService("x: {\n}\n", new MachineServiceSpec { Name = "svc" });
        Assert.Equal("x: {\n  atelier.services.svc = {\n    enable = true;\n  };\n}\n", empty.Text);

        var afterBlank = MachineFileEditor.AddService("x: {\n  a = 1;\n\n}\n", new MachineServiceSpec { Name = "svc" });
        Assert.Equal("x: {\n  a = 1;\n\n  atelier.services.svc = {\n    enable = true;\n  };\n}\n", afterBlank.Text);
    }

    [Theory]
    [InlineData("{ config, ... }:\n{\n  atelier.services.svc.port = 3001;\n}\n")]
    [InlineData("{ config, ... }:\n{\n  atelier = {\n    services.svc = { enable = true; };\n  };\n}\n")]
    [InlineData("{ config, ... }:\n{\n  atelier.services.svc = { enable = true; };\n  atelier.services.svc.port = 3001;\n}\n")]
    [InlineData("{ config, ... }:\n{\n  atelier.services.\"svc\" = lib.mkIf true { enable = true; };\n}\n")]
    public void Other_spellings_of_the_service_are_conflicts_that_replace_refuses(string original)
    {
        var spec = new MachineServiceSpec { Name = "svc" };

        var edit = MachineFileEditor.AddService(original, spec);

        Assert.Equal(MachineEditKind.Conflict, edit.Kind);
        Assert.Same(original, edit.Text);
        Assert.Contains("svc", edit.Existing, StringComparison.Ordinal);
        var error = Assert.Throws<AtelierException>(() => MachineFileEditor.AddService(original, spec, replace: true));
        Assert.Equal("MachineServiceNotReplaceable", error.ErrorId);
    }

    [NixFact]
    public void A_secret_needs_config_in_scope()
    {
        var spec = new MachineServiceSpec { Name = "svc", Secret = "svc" };

        var error = Assert.Throws<AtelierException>(() => MachineFileEditor.AddService("{ pkgs, ... }:\n{\n  a = 1;\n}\n", spec, file: "default.nix"));
        Assert.Equal("MachineConfigNotInScope", error.ErrorId);
        Assert.Contains("add 'config'", error.Message, StringComparison.Ordinal);

        // Without a secret the block never names config; under 'with' Nix cannot tell either, so it is allowed.
        Assert.Equal(MachineEditKind.Added, MachineFileEditor.AddService("{ pkgs, ... }:\n{\n  a = 1;\n}\n", spec with { Secret = null }).Kind);
        var underWith = MachineFileEditor.AddService("args@{ pkgs, ... }: with args; {\n  a = 1;\n}\n", spec);
        using var folder = new TempFolder();
        var file = NixTool.WriteParsed(folder, "default.nix", underWith.Text);
        Assert.Equal("/run/agenix/svc", NixTool.EvalMachine(file, "cfg.atelier.services.svc.secretsFile", ["svc"]).GetString());
    }

    [Theory]
    [InlineData("{ config, ... }: [ 1 2 ]\n")]
    [InlineData("x: y\n")]
    [InlineData("{ config, ... }:\n{ a = 1; } // { b = 2; }\n")]
    [InlineData("import ./other.nix\n")]
    [InlineData("# only a comment\n")]
    [InlineData("")]
    public void A_file_without_a_top_level_set_is_refused(string original)
    {
        var error = Assert.Throws<AtelierException>(() => MachineFileEditor.AddService(original, new MachineServiceSpec { Name = "svc" }, file: "default.nix"));

        Assert.Equal("NixTopLevelSetNotFound", error.ErrorId);
        Assert.Equal(FailureKind.InvalidData, error.Kind);
        Assert.Contains("default.nix", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ config, ... }:\n{\n  a = 1;\n")]
    [InlineData("{ config, ... }:\n{\n  a = \"1;\n}\n")]
    [InlineData("{ config, ... }:\n{\n  a = 1\n}\n")]
    public void A_broken_file_is_refused_with_where(string original)
    {
        var error = Assert.Throws<AtelierException>(() => MachineFileEditor.AddService(original, new MachineServiceSpec { Name = "svc" }, file: "default.nix"));

        Assert.Equal("NixSyntaxError", error.ErrorId);
        Assert.StartsWith("default.nix:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_specs_are_refused()
    {
        var text = InfraFixture.Read(Prattle);
        Assert.Throws<RemoteValueException>(() => MachineFileEditor.AddService(text, new MachineServiceSpec { Name = "Svc" }));
        Assert.Throws<RemoteValueException>(() => MachineFileEditor.AddService(text, new MachineServiceSpec { Name = "svc", Secret = "../x" }));
        Assert.Throws<RemoteValueException>(() => MachineFileEditor.AddService(text, new MachineServiceSpec { Name = "svc", Secret = "a b" }));
        Assert.Throws<RemoteValueException>(() => MachineFileEditor.AddService(text, new MachineServiceSpec { Name = "svc", Environment = new Dictionary<string, string> { ["A-B"] = "x" } }));
        Assert.Equal("InvalidPort", Assert.Throws<AtelierException>(() => MachineFileEditor.AddService(text, new MachineServiceSpec { Name = "svc", Port = 0 })).ErrorId);
        Assert.Equal("InvalidRateLimit", Assert.Throws<AtelierException>(() => MachineFileEditor.AddService(text, new MachineServiceSpec { Name = "svc", RateLimit = new RateLimit(0, "1m") })).ErrorId);
    }

    /// <summary>Where one stretch of text was inserted into <paramref name="original"/> to give <paramref name="edited"/>, and what.</summary>
    private static (int At, string Inserted) Insertion(string original, string edited)
    {
        var prefix = 0;
        while (prefix < original.Length && original[prefix] == edited[prefix])
        {
            prefix++;
        }

        var suffix = 0;
        while (suffix < original.Length - prefix && original[^(suffix + 1)] == edited[^(suffix + 1)])
        {
            suffix++;
        }

        Assert.True(prefix + suffix == original.Length, $"The edit changed more than one insertion:\n{edited}");
        return (prefix, edited[prefix..^suffix]);
    }
}
