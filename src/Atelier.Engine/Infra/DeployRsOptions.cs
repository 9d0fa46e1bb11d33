namespace Atelier.Infra;

/// <summary>
/// The deploy-rs flags a user sets for one node (anchor-system section 4). A null or false value leaves the flag out,
/// so deploy-rs (and the node's settings in the flake) decide.
/// </summary>
public sealed record DeployRsOptions
{
    /// <summary><c>--ssh-user</c>: the account deploy-rs logs in as.</summary>
    public string? SshUser { get; init; }

    /// <summary><c>--profile-user</c>: the account the profile is activated as.</summary>
    public string? ProfileUser { get; init; }

    /// <summary><c>--ssh-opts</c>: options for <c>ssh</c>, one string that deploy-rs splits at spaces.</summary>
    public string? SshOpts { get; init; }

    /// <summary>
    /// <c>--ssh-opts</c> for a node reached the way Atelier reads its generations: <c>-p</c> for an explicit port,
    /// <c>-i</c> for the identity file, <c>UserKnownHostsFile</c> for the known_hosts file, accept-new host keys when
    /// asked, then the caller's own options; null when there are none. deploy-rs splits the string at spaces, so a file
    /// path holding one is refused.
    /// </summary>
    /// <exception cref="AtelierException"><c>SshOptionHasSpace</c> for a file path with a space.</exception>
    public static string? SshOptionsFor(int? port, string? identityFile, string? knownHostsFile, bool acceptNewHostKey, string? extra)
    {
        var ssh = new List<string>();
        if (port is { } p)
        {
            ssh.Add($"-p {p.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        if (identityFile is not null)
        {
            ssh.Add($"-i {NoSpace(identityFile, "identity file")}");
        }

        if (knownHostsFile is not null)
        {
            ssh.Add($"-o UserKnownHostsFile={NoSpace(knownHostsFile, "known_hosts file")}");
        }

        if (acceptNewHostKey)
        {
            ssh.Add("-o StrictHostKeyChecking=accept-new");
        }

        if (extra is not null)
        {
            ssh.Add(extra);
        }

        return ssh.Count == 0 ? null : string.Join(' ', ssh);
    }

    private static string NoSpace(string path, string what) =>
        path.Any(char.IsWhiteSpace)
            ? throw new AtelierException("SshOptionHasSpace", FailureKind.InvalidArgument, $"The {what} '{path}' holds a space, and deploy-rs splits --ssh-opts at spaces: use a path without spaces.")
            : path;

    /// <summary><c>--hostname</c>: the host to reach instead of the flake's <c>hostname</c>.</summary>
    public string? Hostname { get; init; }

    /// <summary><c>--fast-connection</c>: copy from the local store instead of substituting on the node.</summary>
    public bool? FastConnection { get; init; }

    /// <summary><c>--skip-checks</c>: no <c>nix flake check</c> before deploying.</summary>
    public bool SkipChecks { get; init; }

    /// <summary><c>--remote-build</c>: build on the node instead of here.</summary>
    public bool RemoteBuild { get; init; }

    /// <summary><c>--auto-rollback</c>: deploy-rs rolls the profile back itself when activation fails.</summary>
    public bool? AutoRollback { get; init; }

    /// <summary><c>--magic-rollback</c>: deploy-rs rolls back when it cannot confirm the node after activation.</summary>
    public bool? MagicRollback { get; init; }

    /// <summary><c>--confirm-timeout</c>, in seconds.</summary>
    public int? ConfirmTimeout { get; init; }

    /// <summary><c>--activation-timeout</c>, in seconds.</summary>
    public int? ActivationTimeout { get; init; }

    /// <summary><c>--temp-path</c>: where deploy-rs keeps its canary file on the node.</summary>
    public string? TempPath { get; init; }

    /// <summary><c>--boot</c>: set the profile and the boot entry, activate at the next boot.</summary>
    public bool Boot { get; init; }

    /// <summary><c>--dry-activate</c>: show what activation would change, change nothing.</summary>
    public bool DryActivate { get; init; }

    /// <summary><c>--rollback-succeeded</c>: roll back nodes that succeeded when a later one fails (deploy-rs's own, sequential).</summary>
    public bool? RollbackSucceeded { get; init; }

    /// <summary><c>--interactive-sudo</c>: ask for the sudo password on the terminal.</summary>
    public bool? InteractiveSudo { get; init; }

    /// <summary><c>--sudo</c>: the command that elevates on the node (e.g. <c>doas -u</c>).</summary>
    public string? SudoCommand { get; init; }

    /// <summary><c>--checksigs</c>: check signatures when copying with <c>nix copy</c>.</summary>
    public bool CheckSigs { get; init; }

    /// <summary><c>--keep-result</c>: keep the build's result links.</summary>
    public bool KeepResult { get; init; }

    /// <summary><c>--result-path</c>: where the result links go.</summary>
    public string? ResultPath { get; init; }

    /// <summary><c>--debug-logs</c>: deploy-rs's debug output.</summary>
    public bool DebugLogs { get; init; }

    /// <summary><c>--log-dir</c>: where the activation logs are written on the node.</summary>
    public string? LogDir { get; init; }

    /// <summary>Arguments after <c>--</c>, passed to <c>nix build</c>.</summary>
    public IReadOnlyList<string> ExtraBuildArgs { get; init; } = [];
}
