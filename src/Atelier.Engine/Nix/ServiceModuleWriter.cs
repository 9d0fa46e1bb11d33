using Atelier.Deploy;

namespace Atelier.Nix;

/// <summary>
/// Writes <c>modules/nixos/services/&lt;name&gt;.nix</c>: a call of <c>mkService</c> shaped like the existing modules,
/// with the data declarations in <c>extraConfig</c>.
/// </summary>
public static class ServiceModuleWriter
{
    /// <summary>Where the module lives in the infrastructure repository, relative to its root.</summary>
    public static string RelativePath(string name) => $"modules/nixos/services/{NixNames.Service(name)}.nix";

    /// <summary>The module's text, ending with a line break. Validates the spec first.</summary>
    public static string Render(ServiceModuleSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var name = NixValue.AttrName(spec.Name);
        var w = new NixWriter();
        w.Comment(spec.Description is null ? spec.Name : $"{spec.Name} - {spec.Description}")
            .Line("#")
            .Comment("Declared with mkService (modules/lib/mkService.nix): a system user, a hardened systemd unit,")
            .Comment("a Caddy virtual host, and backups of the data declared below.")
            .Comment("Written by Atelier (New-ServiceModule).")
            .Line()
            .Line("let")
            .Line("  mkService = import ../../lib/mkService.nix;")
            .Line("in")
            .Line()
            .Open("mkService {", "}")
            .Attr("name", NixValue.String(spec.Name));
        if (spec.Description is not null)
        {
            w.Attr("description", NixValue.String(spec.Description));
        }

        w.Attr("defaultPort", NixValue.Int(spec.DefaultPort))
            .Attr("runtime", NixValue.String(RuntimeName(spec.Runtime)))
            .Attr("entryPoint", NixValue.String(spec.EntryPoint));
        if (spec.StartCommand is not null)
        {
            w.Attr("startCommand", NixValue.String(spec.StartCommand));
        }

        if (spec.HasData)
        {
            w.Line().Open("extraConfig = cfg: {", "};");
            if (spec.Sqlite is not null)
            {
                w.Comment("The app finds its database through DATABASE_PATH, in the data folder (outside the checkout)")
                    .OpenList($"systemd.services.{name}.serviceConfig.Environment")
                    .Item(DataPath(spec.Sqlite, "SQLite path", "DATABASE_PATH="))
                    .Close()
                    .Line();
            }

            w.Comment("Data declarations for automatic backup")
                .OpenSet($"atelier.services.{name}.data");
            if (spec.Sqlite is not null)
            {
                w.Attr("sqlite", DataPath(spec.Sqlite, "SQLite path"));
            }

            if (spec.Postgres is not null)
            {
                w.Attr("postgres", NixValue.String(spec.Postgres));
            }

            if (spec.Files.Count > 0)
            {
                w.OpenList("files");
                foreach (var file in spec.Files)
                {
                    w.Item(DataPath(file, "backup file"));
                }

                w.Close();
            }

            w.Attr("stopForBackup", NixValue.Bool(spec.StopForBackup))
                .Close()
                .Close();
        }

        return w.Close().ToString() + "\n";
    }

    /// <summary>mkService's name for a runtime.</summary>
    public static string RuntimeName(AppRuntime runtime) => runtime switch
    {
        AppRuntime.Bun => "bun",
        AppRuntime.Node => "node",
        AppRuntime.Custom => "custom",
        _ => throw new ArgumentOutOfRangeException(nameof(runtime), runtime, "Unknown runtime."),
    };

    /// <summary>
    /// A data path as a Nix string: an absolute path as it is; a relative one (a leading <c>./</c> or <c>~/</c> is
    /// dropped) under the service's data folder, as <c>"${cfg.dataDir}/&lt;path&gt;"</c>, the antiquotation written by
    /// Atelier and the path itself escaped. <paramref name="prefix"/> goes in front (<c>DATABASE_PATH=</c>).
    /// </summary>
    /// <summary>
    /// Where a data path lands on the host with mkService's default data folder (<c>/var/lib/&lt;service&gt;</c>): an
    /// absolute path as it is, a relative one under it. What a workflow must pass, since the reusable workflow it calls
    /// may resolve a relative path from another folder than the service's home.
    /// </summary>
    public static string HostPath(string service, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return path.StartsWith('/') ? path : $"/var/lib/{Shell.RemoteValue.ServiceName(service)}/{Relative(path, "data path")}";
    }

    internal static string DataPath(string path, string what, string prefix = "")
    {
        NixNames.Text(path, what);
        if (path.StartsWith('/'))
        {
            return NixValue.String(prefix + path);
        }

        return "\"" + NixValue.StringBody(prefix) + "${cfg.dataDir}/" + NixValue.StringBody(Relative(path, what)) + "\"";
    }

    /// <summary>A path relative to the data folder, without a leading <c>./</c> or <c>~/</c>.</summary>
    private static string Relative(string path, string what)
    {
        var relative = path;
        while (relative.StartsWith("./", StringComparison.Ordinal) || relative.StartsWith("~/", StringComparison.Ordinal))
        {
            relative = relative[2..].TrimStart('/');
        }

        if (relative.Length == 0 || relative is "." or "~")
        {
            throw new Shell.RemoteValueException(what, path, "it names the data folder itself, not a file in it");
        }

        return relative;
    }
}
