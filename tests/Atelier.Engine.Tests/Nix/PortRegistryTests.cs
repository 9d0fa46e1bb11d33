using Atelier.Nix;

namespace Atelier.Tests.Nix;

/// <summary><see cref="PortRegistry"/> on the fixture repository and on copies of it with more machines.</summary>
public sealed class PortRegistryTests
{
    [Fact]
    public void Module_defaults_come_from_each_mkService_call()
    {
        var registry = PortRegistry.Scan(InfraFixture.Root);

        Assert.Equal(
            [
                new PortClaim("cachet", 3000, null, "modules/nixos/services/cachet.nix", 12, PortSource.ModuleDefault, "defaultPort"),
                new PortClaim("l4", 3003, null, "modules/nixos/services/l4.nix", 12, PortSource.ModuleDefault, "defaultPort"),
            ],
            registry.ModuleDefaults);
        Assert.Equal(["prattle", "terebithia"], registry.Machines);
    }

    [Fact]
    public void A_machine_uses_its_override_else_the_module_default_and_text_in_strings_and_comments_is_ignored()
    {
        var registry = PortRegistry.Scan(InfraFixture.Root);

        Assert.Equal(["cachet", "l4"], registry.EnabledServices("terebithia"));
        Assert.Equal(
            [
                new PortClaim("cachet", 3000, "terebithia", "modules/nixos/services/cachet.nix", 12, PortSource.ModuleDefault, "defaultPort"),
                new PortClaim("l4", 3004, "terebithia", "machines/terebithia/default.nix", 69, PortSource.Machine, "atelier.services.l4.port"),
            ],
            registry.Effective("terebithia"));
        Assert.Equal([3000], registry.Effective("prattle").Select(c => c.Port));
        Assert.DoesNotContain(registry.MachinePorts, c => c.Port is 9999 or 9998);
        Assert.Equal("  atelier.services.l4 = {", File.ReadAllLines(Path.Combine(InfraFixture.Root, "machines/terebithia/default.nix"))[65]);
    }

    [Fact]
    public void A_taken_port_names_its_holder()
    {
        var registry = PortRegistry.Scan(InfraFixture.Root);

        var l4 = registry.Holder(3004);
        Assert.NotNull(l4);
        Assert.Equal(("l4", "terebithia", "machines/terebithia/default.nix", 69), (l4.Service, l4.Machine, l4.File, l4.Line));
        Assert.Equal("l4 (atelier.services.l4.port = 3004 on terebithia, machines/terebithia/default.nix:69)", l4.ToString());

        Assert.Equal(("l4", (string?)null), (registry.Holder(3003)!.Service, registry.Holder(3003)!.Machine));
        Assert.Null(registry.Holder(3003, "terebithia"));
        Assert.Equal(["cachet", "cachet", "cachet"], registry.Holders(3000).Select(c => c.Service));
        Assert.Equal("prattle", registry.Holder(3000, "prattle")!.Machine);
        Assert.Null(registry.Holder(3004, "prattle"));
        Assert.Null(registry.Holder(9999));
    }

    [Fact]
    public void NextFree_is_the_lowest_port_nobody_holds()
    {
        var registry = PortRegistry.Scan(InfraFixture.Root);

        Assert.Equal(3001, registry.NextFree());
        Assert.Equal(3005, registry.NextFree(3003));
        Assert.Equal(3003, registry.NextFree(3003, "terebithia"));
        Assert.Equal(3001, registry.NextFree(3000, "prattle"));
        Assert.Equal(8080, registry.NextFree(8080));
        Assert.Equal("InvalidPort", Assert.Throws<AtelierException>(() => registry.NextFree(0)).ErrorId);
    }

    [Fact]
    public void Every_spelling_of_a_machine_port_and_instance_ports_are_found()
    {
        var (folder, root) = InfraFixture.Copy();
        using (folder)
        {
            folder.Write("infra/machines/lark/default.nix", """
                { config, ... }:
                {
                  atelier.services.l4.enable = true;
                  atelier.services.l4.port = 3010;
                  atelier = {
                    services.cachet = {
                      enable = true;
                      port = 3020;
                    };
                  };
                  atelier.services.emojibot.instances = {
                    hc = {
                      enable = true;
                      port = 3002;
                    };
                    df = {
                      enable = false;
                      port = 3005;
                    };
                    other.port = 3006;
                  };
                  atelier.services.herald = {
                    enable = true;
                    httpPort = 8085;
                    smtp.port = 587;
                  };
                  atelier.services.stopped = {
                    enable = false;
                    port = 3030;
                  };
                  atelier.services.maybe = {
                    enable = config.something or false;
                    port = 3040;
                  };
                }
                """);

            var registry = PortRegistry.Scan(root);

            Assert.Equal(["cachet", "herald", "l4", "maybe"], registry.EnabledServices("lark"));
            Assert.Equal(
                [
                    ("emojibot", 3002, "atelier.services.emojibot.instances.hc.port", 14),
                    ("emojibot", 3006, "atelier.services.emojibot.instances.other.port", 20),
                    ("l4", 3010, "atelier.services.l4.port", 4),
                    ("cachet", 3020, "atelier.services.cachet.port", 8),
                    ("maybe", 3040, "atelier.services.maybe.port", 33),
                ],
                registry.Effective("lark").Select(c => (c.Service, c.Port, c.Setting, c.Line)));
            Assert.Contains(registry.MachinePorts, c => c.Port == 3030 && c.Machine == "lark");
            Assert.Null(registry.Holder(3030));
            Assert.Null(registry.Holder(3005, "lark"));
            Assert.Null(registry.Holder(587));
            Assert.Equal("emojibot", registry.Holder(3002)!.Service);
            Assert.Equal(3001, registry.NextFree());
            Assert.Equal(3000, registry.NextFree(3000, "lark"));
        }
    }

    [Fact]
    public void A_generated_module_and_an_edited_machine_are_seen_at_once()
    {
        var (folder, root) = InfraFixture.Copy();
        using (folder)
        {
            var registry = PortRegistry.Scan(root);
            var port = registry.NextFree();
            folder.Write("infra/" + ServiceModuleWriter.RelativePath("pastebin"), ServiceModuleWriter.Render(new ServiceModuleSpec { Name = "pastebin", DefaultPort = port }));
            var machineFile = Path.Combine(root, MachineBlockWriter.RelativePath("prattle"));
            var edit = MachineFileEditor.AddService(File.ReadAllText(machineFile), new MachineServiceSpec { Name = "pastebin", Domain = "paste.example.org" });
            File.WriteAllText(machineFile, edit.Text);

            var after = PortRegistry.Scan(root);

            Assert.Equal(3001, port);
            Assert.Equal(["cachet", "pastebin"], after.EnabledServices("prattle"));
            var holder = after.Holder(3001, "prattle");
            Assert.Equal(("pastebin", "modules/nixos/services/pastebin.nix", PortSource.ModuleDefault), (holder!.Service, holder.File, holder.Source));
            Assert.Equal(3002, after.NextFree());
        }
    }

    [Fact]
    public void Unknown_machines_and_folders_are_refused()
    {
        var registry = PortRegistry.Scan(InfraFixture.Root);
        Assert.Equal("MachineNotFound", Assert.Throws<AtelierException>(() => registry.Effective("nowhere")).ErrorId);

        using var empty = new Transport.TempFolder();
        Assert.Equal("InfraRepositoryNotFound", Assert.Throws<AtelierException>(() => PortRegistry.Scan(empty.Path)).ErrorId);
    }

    [Fact]
    public void A_broken_machine_file_is_named_in_the_error()
    {
        var (folder, root) = InfraFixture.Copy();
        using (folder)
        {
            folder.Write("infra/machines/broken/default.nix", "{ config, ... }:\n{\n  motd = ''never closed;\n}\n");

            var error = Assert.Throws<AtelierException>(() => PortRegistry.Scan(root));

            Assert.Equal("NixSyntaxError", error.ErrorId);
            Assert.StartsWith("machines/broken/default.nix:3:", error.Message, StringComparison.Ordinal);
        }
    }
}
