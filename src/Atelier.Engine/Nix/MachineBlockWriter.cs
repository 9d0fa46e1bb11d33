namespace Atelier.Nix;

/// <summary>
/// Writes the block that enables a service on a machine, and the agenix secret declaration it may need, in the
/// layout of the existing machine files.
/// </summary>
public static class MachineBlockWriter
{
    /// <summary>Where a machine's configuration lives in the infrastructure repository, relative to its root.</summary>
    public static string RelativePath(string machine) => $"machines/{NixNames.Machine(machine)}/default.nix";

    /// <summary>
    /// <c>atelier.services.&lt;name&gt; = { enable = true; ... };</c>, every line starting with <paramref name="indent"/>,
    /// nested lines indented by <paramref name="step"/> more (two spaces, or a tab when <paramref name="indent"/> uses
    /// tabs). No final line break. Validates the spec first.
    /// </summary>
    public static string Render(MachineServiceSpec spec, string indent = "  ", string? step = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var w = new NixWriter(indent, step ?? DefaultStep(indent));
        w.OpenSet(NixValue.AttrPath("atelier", "services", spec.Name))
            .Attr("enable", "true");
        if (spec.Domain is not null)
        {
            w.Attr("domain", NixValue.String(spec.Domain));
        }

        if (spec.Port is int port)
        {
            w.Attr("port", NixValue.Int(port));
        }

        if (spec.Repository is not null)
        {
            w.Attr("repository", NixValue.String(spec.Repository));
        }

        if (spec.Secret is not null)
        {
            w.Attr("secretsFile", NixValue.AttrPath("config", "age", "secrets", spec.Secret) + ".path");
        }

        if (spec.HealthUrl is not null)
        {
            w.Attr("healthUrl", NixValue.String(spec.HealthUrl));
        }

        if (spec.Environment.Count > 0)
        {
            w.OpenSet("environment");
            foreach (var (key, value) in spec.Environment.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                w.Attr(NixValue.AttrName(key), NixValue.String(value));
            }

            w.Close();
        }

        if (spec.CaddyEnable is bool caddy)
        {
            w.Attr("caddy.enable", NixValue.Bool(caddy));
        }

        if (spec.RateLimit is not null)
        {
            w.OpenSet("caddy.rateLimit")
                .Attr("enable", "true")
                .Attr("events", NixValue.Int(spec.RateLimit.Events))
                .Attr("window", NixValue.String(spec.RateLimit.Window))
                .Close();
        }

        return w.Close().ToString();
    }

    /// <summary>
    /// <c>age.secrets.&lt;secret&gt; = { file = ../../secrets/&lt;secret&gt;.age; owner = "&lt;owner&gt;"; };</c> in the same
    /// layout as <see cref="Render"/>. Written as a dotted binding, it merges with an existing
    /// <c>age.secrets = { ... };</c> set in the same attribute set.
    /// </summary>
    public static string RenderSecret(string secret, string owner, string indent = "  ", string? step = null)
    {
        NixNames.Secret(secret);
        NixNames.Service(owner);
        return new NixWriter(indent, step ?? DefaultStep(indent))
            .OpenSet(NixValue.AttrPath("age", "secrets", secret))
            .Attr("file", $"../../secrets/{secret}.age")
            .Attr("owner", NixValue.String(owner))
            .Close()
            .ToString();
    }

    private static string DefaultStep(string indent) => indent.StartsWith('\t') ? "\t" : "  ";
}
