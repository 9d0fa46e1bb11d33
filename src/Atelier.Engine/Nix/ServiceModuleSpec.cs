using Atelier.Deploy;

namespace Atelier.Nix;

/// <summary>
/// A new service module, <c>modules/nixos/services/&lt;name&gt;.nix</c>: the arguments of its <c>mkService</c> call and
/// the data it declares for backups.
/// </summary>
public sealed record ServiceModuleSpec
{
    /// <summary>The service: module file, <c>atelier.services.&lt;name&gt;</c>, system user and unit.</summary>
    public required string Name { get; init; }

    /// <summary>One line for the unit and the header comment; null leaves mkService's <c>"&lt;name&gt; service"</c>.</summary>
    public string? Description { get; init; }

    /// <summary>The port when a machine does not set one.</summary>
    public int DefaultPort { get; init; } = 3000;

    /// <summary>How mkService starts the app: <c>bun run</c>, <c>node</c>, or <see cref="StartCommand"/> alone.</summary>
    public AppRuntime Runtime { get; init; } = AppRuntime.Bun;

    /// <summary>The script bun or node runs, relative to the checkout.</summary>
    public string EntryPoint { get; init; } = "src/index.ts";

    /// <summary>Replaces the runtime's start command; required for <see cref="AppRuntime.Custom"/>.</summary>
    public string? StartCommand { get; init; }

    /// <summary>
    /// The SQLite database: relative paths (<c>data/app.db</c>, also <c>./</c> or <c>~/</c>) are under the service's
    /// data folder, <c>${cfg.dataDir}</c>; absolute ones are used as they are. Also given to the app as
    /// <c>DATABASE_PATH</c>.
    /// </summary>
    public string? Sqlite { get; init; }

    /// <summary>A PostgreSQL database to dump for backups.</summary>
    public string? Postgres { get; init; }

    /// <summary>More files or folders to back up, relative to the data folder or absolute.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>Stop the unit while it is backed up (mkService's default); WAL-mode SQLite apps can say false.</summary>
    public bool StopForBackup { get; init; } = true;

    /// <summary>True when the module declares any data for backups.</summary>
    public bool HasData => Sqlite is not null || Postgres is not null || Files.Count > 0;

    /// <summary>
    /// Checks every value; throws <see cref="Shell.RemoteValueException"/> for a bad name or text and
    /// <see cref="AtelierException"/> for a bad port or a custom runtime without a start command.
    /// </summary>
    public ServiceModuleSpec Validate()
    {
        NixNames.Service(Name);
        NixNames.Port(DefaultPort, "default port");
        if (Description is not null)
        {
            NixNames.Text(Description, "description");
        }

        NixNames.Text(EntryPoint, "entry point");
        if (StartCommand is not null)
        {
            NixNames.Text(StartCommand, "start command");
        }
        else if (Runtime == AppRuntime.Custom)
        {
            throw new AtelierException("StartCommandRequired", FailureKind.InvalidArgument, $"The service '{Name}' has a custom runtime, so it needs a start command.");
        }

        if (Sqlite is not null)
        {
            ServiceModuleWriter.DataPath(Sqlite, "SQLite path");
        }

        if (Postgres is not null)
        {
            NixNames.Text(Postgres, "PostgreSQL database");
        }

        foreach (var file in Files)
        {
            ServiceModuleWriter.DataPath(file, "backup file");
        }

        return this;
    }
}
