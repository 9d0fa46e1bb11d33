using Atelier.Shell;

namespace Atelier.Transport;

/// <summary>Everything needed to reach one account on one host. Values are checked by <see cref="Validate"/>.</summary>
public sealed record HostConnectionRequest
{
    private static readonly string[] DefaultKeyNames = ["id_ed25519", "id_ecdsa", "id_rsa"];

    /// <summary>A host name, an address, or an alias from <c>~/.ssh/config</c>.</summary>
    public required string ComputerName { get; init; }

    /// <summary>The SSH user; when null, <c>~/.ssh/config</c>'s <c>User</c>, else the local user.</summary>
    public string? User { get; init; }

    /// <summary>The SSH port; when null, <c>~/.ssh/config</c>'s <c>Port</c>, else 22.</summary>
    public int? Port { get; init; }

    /// <summary>A private key file; when null, <c>~/.ssh/config</c>'s <c>IdentityFile</c>, else the default keys that exist.</summary>
    public string? IdentityFile { get; init; }

    /// <summary>The identity file's passphrase. Never written to any log or message.</summary>
    public string? Passphrase { get; init; }

    /// <summary>The OpenSSH <c>known_hosts</c> file; when null, <c>~/.ssh/config</c>'s, else <c>~/.ssh/known_hosts</c>.</summary>
    public string? KnownHostsFile { get; init; }

    /// <summary>Records the key of a host that is not yet known (OpenSSH's <c>accept-new</c>).</summary>
    public bool AcceptNewHostKey { get; init; }

    /// <summary>Run on this machine, without SSH.</summary>
    public bool Local { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The local user's home (for <c>~/.ssh</c>).</summary>
    public string Home { get; init; } = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>The client configuration file; when null, <c>~/.ssh/config</c>.</summary>
    public string? SshConfigFile { get; init; }

    /// <summary>Throws <see cref="RemoteValueException"/> when a value is not acceptable.</summary>
    public HostConnectionRequest Validate()
    {
        if (!Local)
        {
            RemoteValue.HostName(ComputerName, "computer name");
        }

        if (User is not null)
        {
            RemoteValue.ServiceName(User, "user name");
        }

        if (Port is { } port && port is < 1 or > 65535)
        {
            throw new RemoteValueException("port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "a port is 1 to 65535");
        }

        return this;
    }

    /// <summary>Applies <c>~/.ssh/config</c> and OpenSSH's defaults.</summary>
    public ResolvedHost Resolve()
    {
        var localUser = Environment.UserName;
        var config = SshConfig.Load(SshConfigFile ?? SshConfig.DefaultPath(Home), Home);
        var settings = config.Resolve(ComputerName, localUser);
        var identities = IdentityFile is not null
            ? [SshConfig.ExpandPath(IdentityFile, Home)]
            : settings.IdentityFiles.Count > 0
                ? settings.IdentityFiles.ToList()
                : DefaultKeyNames.Select(f => System.IO.Path.Combine(Home, ".ssh", f)).Where(File.Exists).ToList();
        return new ResolvedHost(
            HostName: settings.HostName ?? ComputerName,
            Port: Port ?? settings.Port ?? 22,
            User: User ?? settings.User ?? localUser,
            IdentityFiles: identities,
            IdentityFileGiven: IdentityFile is not null,
            KnownHostsFile: KnownHostsFile is not null
                ? SshConfig.ExpandPath(KnownHostsFile, Home)
                : settings.UserKnownHostsFile ?? System.IO.Path.Combine(Home, ".ssh", "known_hosts"));
    }
}

/// <summary>A request after <c>~/.ssh/config</c>: where to connect, as whom, with which keys.</summary>
public sealed record ResolvedHost(string HostName, int Port, string User, IReadOnlyList<string> IdentityFiles, bool IdentityFileGiven, string KnownHostsFile);
