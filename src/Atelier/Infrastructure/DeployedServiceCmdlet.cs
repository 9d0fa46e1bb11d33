using System.Management.Automation;
using Atelier.Manifest;
using Atelier.Settings;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Base of the cmdlets that work on a service as its deploys leave it: Get-ServiceStatus, and through
/// <see cref="DeployCmdlet"/> Invoke-ServiceDeploy and Restore-ServiceDeploy. It owns their shared -HealthUrl, and where a
/// service's branch and health URL come from when they are not given: the settings file's entry, then the manifest's.
/// </summary>
public abstract class DeployedServiceCmdlet : ServiceCmdlet
{
    /// <summary>The HTTP health URL, checked from this machine; without one the systemd unit is checked.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("health_url")]
    [ValidateHealthUrl]
    public string? HealthUrl { get; set; }

    /// <summary>The branch of origin: <paramref name="branch"/> when given, else the settings file's, else the manifest's, else main.</summary>
    private protected string BranchFor(string? branch, ServiceSettings? defaults, AtelierService? entry) =>
        Pick("Branch", branch, defaults?.Branch, entry?.Branch, "main")!;

    /// <summary>The health URL: -HealthUrl when given, else the manifest's; null when there is none (the unit is the check).</summary>
    private protected Uri? HealthUrlFor(AtelierService? entry) =>
        Pick(nameof(HealthUrl), HealthUrl, null, entry?.HealthUrl) is { Length: > 0 } url ? new Uri(url, UriKind.Absolute) : null;
}
