namespace Atelier.Settings;

/// <summary>
/// One service's deploy defaults from the settings file's <c>services:</c> mapping (the fields the anchor's services
/// manifest lacks): they apply when a cmdlet is not given the parameter, before what the manifest says.
/// </summary>
public sealed record ServiceSettings
{
    /// <summary>The keys a service's entry may hold.</summary>
    public static readonly IReadOnlyList<string> Keys = ["branch", "workDir", "buildCommand", "installCommand", "preRestartCommand", "postDeployCommand", "healthTimeout"];

    public required string Service { get; init; }

    public string? Branch { get; init; }

    public string? WorkDir { get; init; }

    public string? BuildCommand { get; init; }

    public string? InstallCommand { get; init; }

    /// <summary>The deploy's pre-restart hook (a migration): see <see cref="Deploy.DeployRequest.PreRestartCommand"/>.</summary>
    public string? PreRestartCommand { get; init; }

    /// <summary>The deploy's post-deploy hook: see <see cref="Deploy.DeployRequest.PostDeployCommand"/>.</summary>
    public string? PostDeployCommand { get; init; }

    public int? HealthTimeout { get; init; }

    /// <summary>Where the entry was written: <c>file:line</c>.</summary>
    public required string Source { get; init; }
}
