namespace Atelier.Manifest;

/// <summary>
/// One service of the services manifest, on the machine that runs it. <c>Name</c>, <c>Host</c>, <c>HealthUrl</c>,
/// <c>DbPath</c>, <c>Runtime</c> and the optional deploy fields (<c>Branch</c>, <c>WorkDir</c>, <c>BuildCommand</c>,
/// <c>InstallCommand</c>, <c>HealthTimeout</c>) bind by property name into the deploy, backup and health cmdlets. Values the
/// manifest leaves out are null (never empty strings), so they bind as "not given".
/// </summary>
public sealed class AtelierService
{
    /// <summary>The mkService default runtime, used when the manifest does not say.</summary>
    public const string DefaultRuntime = "bun";

    /// <summary>The service: its system user and its systemd unit.</summary>
    public required string Name { get; init; }

    /// <summary>The machine (the manifest's key) that runs it.</summary>
    public required string Machine { get; init; }

    /// <summary>Where to reach the machine: its Tailscale host, else its host name, else the machine's name.</summary>
    public required string Host { get; init; }

    /// <summary>The public domain Caddy serves it on.</summary>
    public string? Domain { get; init; }

    /// <summary>The port it listens on, on its machine (not the SSH port).</summary>
    public int? Port { get; init; }

    /// <summary>How it runs: bun, node, custom, or what the manifest says (bun when it says nothing).</summary>
    public string Runtime { get; init; } = DefaultRuntime;

    public string? Description { get; init; }

    /// <summary>The git repository its ~/app is cloned from.</summary>
    public string? Repository { get; init; }

    /// <summary>The absolute http(s) URL its health is read from.</summary>
    public string? HealthUrl { get; init; }

    /// <summary>Its SQLite database (the manifest's data.sqlite).</summary>
    public string? DbPath { get; init; }

    /// <summary>Its PostgreSQL database (the manifest's data.postgres).</summary>
    public string? Postgres { get; init; }

    /// <summary>The branch its deploys take (the manifest's <c>branch</c>, which the anchor's manifest lacks); null: main.</summary>
    public string? Branch { get; init; }

    /// <summary>Where it is installed and built, relative to <c>~/app</c> (the manifest's <c>work_dir</c>).</summary>
    public string? WorkDir { get; init; }

    /// <summary>Its build command (the manifest's <c>build_command</c>).</summary>
    public string? BuildCommand { get; init; }

    /// <summary>An install command that replaces its runtime's (the manifest's <c>install_command</c>).</summary>
    public string? InstallCommand { get; init; }

    /// <summary>Its deploys' pre-restart hook, a migration say (the manifest's <c>pre_restart_command</c>).</summary>
    public string? PreRestartCommand { get; init; }

    /// <summary>Its deploys' post-deploy hook (the manifest's <c>post_deploy_command</c>).</summary>
    public string? PostDeployCommand { get; init; }

    /// <summary>Seconds its deploys wait for health (the manifest's <c>health_timeout</c>).</summary>
    public int? HealthTimeout { get; init; }

    /// <summary>Other files and folders it keeps (the manifest's data.files).</summary>
#pragma warning disable CA1819 // An array binds and formats naturally in PowerShell; the service is a plain record.
    public string[] Files { get; init; } = [];
#pragma warning restore CA1819

    public override string ToString() => $"{Name}@{Machine}";
}

/// <summary>One machine of the services manifest.</summary>
public sealed class AtelierMachine
{
    /// <summary>The machine: the manifest's key.</summary>
    public required string Name { get; init; }

    /// <summary>Its host name (networking.hostName).</summary>
    public string? Hostname { get; init; }

    /// <summary><c>server</c> or <c>client</c>.</summary>
    public string? Type { get; init; }

    /// <summary>Its name on the tailnet, when it has one.</summary>
    public string? TailscaleHost { get; init; }

    /// <summary>Where to reach it: <see cref="TailscaleHost"/>, else <see cref="Hostname"/>, else <see cref="Name"/>.</summary>
    public string Host => TailscaleHost ?? Hostname ?? Name;

    /// <summary>The names of the services it runs, in the manifest's order.</summary>
#pragma warning disable CA1819 // An array binds and formats naturally in PowerShell.
    public string[] Services { get; init; } = [];
#pragma warning restore CA1819

    public override string ToString() => Name;
}
