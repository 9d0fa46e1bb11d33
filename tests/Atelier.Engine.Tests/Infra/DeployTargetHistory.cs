using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Infra;

/// <summary>
/// A real git repository shaped like the anchor's infrastructure repository (flake.nix with three deploy nodes,
/// flake.lock, modules/, lib/, secrets/, packages/, .github/workflows/deploy.yaml, machines/&lt;node&gt;/), with one
/// commit per case of the rule, and one (<c>overlays</c>) that only a custom list of shared paths selects.
/// <see cref="Commits"/> maps each case's name to its commit id; each commit's parent is the one before it.
/// </summary>
internal sealed class DeployTargetHistory : IDisposable
{
    /// <summary>The flake's deploy nodes, as nix sorts them.</summary>
    public static readonly string[] Nodes = ["ember", "moonlark", "terebithia"];

    public const string Flake = """
        {
          description = "Atelier test infrastructure";
          outputs = { self }: {
            deploy.nodes = {
              terebithia = { hostname = "terebithia"; profiles.system.user = "root"; };
              moonlark = { hostname = "moonlark"; profiles.system.user = "root"; };
              ember = { hostname = "ember"; profiles.system.user = "root"; };
            };
          };
        }

        """;

    private readonly TempFolder _folder = new();

    public DeployTargetHistory()
    {
        Git("init", "-q", "-b", "main");
        Commit("initial", new()
        {
            ["flake.nix"] = Flake,
            ["flake.lock"] = """{ "nodes": { "root": {} }, "root": "root", "version": 7 }""" + "\n",
            ["modules/base.nix"] = "{ ... }: { }\n",
            ["lib/default.nix"] = "{ }\n",
            ["secrets/wifi.age"] = "age-encryption.org/v1\n",
            ["packages/tool/default.nix"] = "{ }\n",
            ["machines/terebithia/configuration.nix"] = "{ ... }: { networking.hostName = \"terebithia\"; }\n",
            ["machines/moonlark/configuration.nix"] = "{ ... }: { networking.hostName = \"moonlark\"; }\n",
            ["machines/ember/configuration.nix"] = "{ ... }: { networking.hostName = \"ember\"; }\n",
            ["machines/ember/hardware.nix"] = "{ ... }: { boot.loader.grub.enable = true; }\n",
            ["README.md"] = "# dots\n",
        });
        Commit("flake.nix", new() { ["flake.nix"] = Flake.Replace("Atelier test infrastructure", "Atelier test infra", StringComparison.Ordinal) });
        Commit("flake.lock", new() { ["flake.lock"] = """{ "nodes": { "root": {} }, "root": "root", "version": 7 }""" + "\n\n" });
        Commit("modules", new() { ["modules/caddy.nix"] = "{ ... }: { services.caddy.enable = true; }\n" });
        Commit("lib", new() { ["lib/default.nix"] = "{ mkService = x: x; }\n" });
        Commit("secrets", new() { ["secrets/wifi.age"] = "age-encryption.org/v1 rotated\n" });
        Commit("packages", new() { ["packages/tool/patch.diff"] = "--- a\n+++ b\n" });
        Commit("deploy workflow", new() { [".github/workflows/deploy.yaml"] = "name: Deploy\non: push\n" });
        Commit("overlays", new() { ["overlays/default.nix"] = "final: prev: { }\n", ["hosts.nix"] = "{ }\n" });
        Commit("one machine", new() { ["machines/terebithia/configuration.nix"] = "{ ... }: { networking.hostName = \"terebithia\"; time.timeZone = \"UTC\"; }\n" });
        Commit("two machines", new()
        {
            ["machines/terebithia/caddy.nix"] = "{ }\n",
            ["machines/moonlark/configuration.nix"] = "{ ... }: { networking.hostName = \"moonlark\"; time.timeZone = \"UTC\"; }\n",
        });
        Git("mv", "machines/ember/hardware.nix", "machines/moonlark/hardware.nix");
        Commit("rename", []);
        Commit("readme", new()
        {
            ["README.md"] = "# dots\n\nHow to deploy.\n",
            ["machines/README.md"] = "One folder per machine.\n",
            ["modules-old/x.nix"] = "{ }\n",
            ["flake.nix.orig"] = "{ }\n",
        });
        Commit("no such node", new() { ["machines/oldbox/configuration.nix"] = "{ }\n" });
        Commit("module and machine", new()
        {
            ["modules/base.nix"] = "{ ... }: { nix.gc.automatic = true; }\n",
            ["machines/ember/configuration.nix"] = "{ ... }: { networking.hostName = \"ember\"; time.timeZone = \"UTC\"; }\n",
        });
    }

    public string Path => _folder.Path;

    /// <summary>Each case's commit id, by case name ("initial", "flake.nix", "rename", ...).</summary>
    public Dictionary<string, string> Commits { get; } = [];

    /// <summary>The commit before the named one.</summary>
    public string Before(string name) => Git("rev-parse", Commits[name] + "~1").Trim();

    public string Git(params string[] arguments)
    {
        var result = Sh.Exec("git", ["-C", Path, "-c", "user.name=Atelier Test", "-c", "user.email=test@atelier.invalid", "-c", "commit.gpgsign=false", .. arguments]);
        Assert.True(result.ExitCode == 0, $"git {string.Join(' ', arguments)} failed: {result.Error}");
        return result.Output;
    }

    private void Commit(string name, Dictionary<string, string> files)
    {
        foreach (var (path, text) in files)
        {
            _folder.Write(path, text);
        }

        Git("add", "-A");
        Git("commit", "-q", "-m", name);
        Commits[name] = Git("rev-parse", "HEAD").Trim();
    }

    public void Dispose() => _folder.Dispose();
}
