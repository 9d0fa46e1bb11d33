namespace Atelier.Nix;

/// <summary>Caddy's rate limit for a service: so many requests per window from one address.</summary>
/// <param name="Events">Requests allowed per window.</param>
/// <param name="Window">A Caddy duration: <c>1m</c>, <c>30s</c>.</param>
public sealed record RateLimit(int Events, string Window);

/// <summary>
/// A service enabled on a machine: the <c>atelier.services.&lt;name&gt; = { enable = true; ... };</c> block of
/// <c>machines/&lt;machine&gt;/default.nix</c>. Null settings are left out, so the module's defaults apply.
/// </summary>
public sealed record MachineServiceSpec
{
    /// <summary>The service, as in its module: <c>atelier.services.&lt;name&gt;</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The Caddy virtual host.</summary>
    public string? Domain { get; init; }

    /// <summary>The git repository cloned on first start.</summary>
    public string? Repository { get; init; }

    /// <summary>The URL monitoring and deploys poll for health.</summary>
    public string? HealthUrl { get; init; }

    /// <summary>More variables for the unit; written in name order.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>An agenix secret used as the unit's environment file: <c>config.age.secrets.&lt;secret&gt;.path</c>.</summary>
    public string? Secret { get; init; }

    /// <summary>Overrides the module's default port on this machine.</summary>
    public int? Port { get; init; }

    /// <summary>Turns the Caddy virtual host on or off; null leaves mkService's default (on).</summary>
    public bool? CaddyEnable { get; init; }

    /// <summary>Caddy rate limiting; null leaves it off.</summary>
    public RateLimit? RateLimit { get; init; }

    /// <summary>Checks every value; throws <see cref="Shell.RemoteValueException"/> or <see cref="AtelierException"/>.</summary>
    public MachineServiceSpec Validate()
    {
        NixNames.Service(Name);
        if (Domain is not null)
        {
            NixNames.Text(Domain, "domain");
        }

        if (Repository is not null)
        {
            NixNames.Text(Repository, "repository");
        }

        if (HealthUrl is not null)
        {
            NixNames.Text(HealthUrl, "health URL");
        }

        foreach (var (key, value) in Environment)
        {
            NixNames.Variable(key);
            NixNames.Text(value, $"value of {key}", allowEmpty: true);
        }

        if (Secret is not null)
        {
            NixNames.Secret(Secret);
        }

        if (Port is int port)
        {
            NixNames.Port(port);
        }

        if (RateLimit is not null)
        {
            if (RateLimit.Events < 1)
            {
                throw new AtelierException("InvalidRateLimit", FailureKind.InvalidArgument, $"A rate limit allows at least 1 request per window, not {RateLimit.Events}.");
            }

            NixNames.Text(RateLimit.Window, "rate limit window");
        }

        return this;
    }
}
