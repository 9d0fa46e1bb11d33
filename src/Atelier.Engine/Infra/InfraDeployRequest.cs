using Atelier.Transport;

namespace Atelier.Infra;

/// <summary>
/// One node to deploy: its name in the flake, the connection to its host (over which Atelier records, reads and
/// switches back its generations, through the caller's <see cref="IHostPool"/>), and its deploy-rs flags.
/// </summary>
public sealed record InfraNode(string Name, HostConnectionRequest Connection, DeployRsOptions Options)
{
    /// <summary>The node's host, for results and messages: the connection's host, or <c>localhost</c> on this machine.</summary>
    public string ComputerName => Connection.Local ? "localhost" : Connection.ComputerName;

    /// <summary>
    /// The node <paramref name="name"/> reached over <paramref name="connection"/>, with deploy-rs told to reach it the
    /// same way: <paramref name="flags"/> with the connection's user as <c>--ssh-user</c>, its host as <c>--hostname</c>
    /// when <paramref name="hostGiven"/> (otherwise deploy-rs uses the flake's hostname; never on this machine), and
    /// <c>--ssh-opts</c> from the connection's port, identity file, known_hosts file and accept-new, followed by the
    /// flags' own <see cref="DeployRsOptions.SshOpts"/> (see <see cref="DeployRsOptions.SshOptionsFor"/>).
    /// </summary>
    /// <exception cref="AtelierException"><c>SshOptionHasSpace</c> for a file path with a space.</exception>
    public static InfraNode Reached(string name, HostConnectionRequest connection, bool hostGiven, DeployRsOptions flags)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(flags);
        return new InfraNode(name, connection, flags with
        {
            SshUser = connection.User,
            Hostname = hostGiven && !connection.Local ? connection.ComputerName : null,
            SshOpts = DeployRsOptions.SshOptionsFor(connection.Port, connection.IdentityFile, connection.KnownHostsFile, connection.AcceptNewHostKey, flags.SshOpts),
        });
    }
}

/// <summary>What <see cref="InfraDeployer"/> deploys, and how.</summary>
public sealed record InfraDeployRequest
{
    /// <summary>The default of <see cref="ThrottleLimit"/>: as many deploy-rs processes at once as ForEach-Object -Parallel runs.</summary>
    public const int DefaultThrottleLimit = 5;

    /// <summary>The nodes, each deployed by its own deploy-rs process.</summary>
    public required IReadOnlyList<InfraNode> Nodes { get; init; }

    /// <summary>The flake holding <c>deploy.nodes</c>: a folder (<c>.</c>) or a flake reference.</summary>
    public string Flake { get; init; } = ".";

    /// <summary>The deploy-rs command's words (<see cref="DeployRsLocator"/>), program first.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>How many deploy-rs processes run at once.</summary>
    public int ThrottleLimit { get; init; } = DefaultThrottleLimit;

    /// <summary>When a node fails, switch every node of the run that changed back to its recorded generation.</summary>
    public bool RollbackOnFailure { get; init; } = true;

    /// <summary>The folder deploy-rs runs in (a relative flake is relative to it); null for this process's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables set (or removed, when null) in deploy-rs's environment.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>The system profile on the nodes.</summary>
    public string SystemProfile { get; init; } = SystemGenerations.DefaultProfile;

    /// <summary>The full command (program first) deploy-rs runs with for <paramref name="node"/>.</summary>
    public IReadOnlyList<string> CommandFor(InfraNode node) => [.. Command, .. DeployRsCommandLine.For(node.Name, Flake, node.Options)];

    /// <summary>
    /// Throws when the request cannot run: no nodes, a node twice, an empty command, a throttle below 1; or
    /// <see cref="Shell.RemoteValueException"/> for a value deploy-rs takes to a node (a node name, user, host name, or
    /// a folder there) that <see cref="Shell.RemoteValue"/> refuses.
    /// </summary>
    public InfraDeployRequest Validate()
    {
        if (Nodes.Count == 0)
        {
            throw new AtelierException("NoNodes", FailureKind.InvalidArgument, "No node to deploy.");
        }

        foreach (var node in Nodes)
        {
            ValidateNode(node);
        }

        if (Nodes.GroupBy(n => n.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new AtelierException("NodeGivenTwice", FailureKind.InvalidArgument, $"The node '{twice.Key}' is given more than once: one deploy-rs run per node.");
        }

        if (Command.Count == 0)
        {
            throw new AtelierException("DeployCommandInvalid", FailureKind.InvalidArgument, "The deploy-rs command is empty.");
        }

        if (ThrottleLimit < 1)
        {
            throw new AtelierException("ThrottleLimitInvalid", FailureKind.InvalidArgument, "The throttle limit must be at least 1.");
        }

        return this;
    }

    /// <summary>
    /// The values of one node that deploy-rs takes to the node: its ssh user and host, and its profile user, temp path
    /// and log folder, which deploy-rs writes into the activation command it runs there.
    /// </summary>
    private static void ValidateNode(InfraNode node)
    {
        Shell.RemoteValue.NodeName(node.Name);
        var options = node.Options;
        if (options.SshUser is not null)
        {
            Shell.RemoteValue.UserName(options.SshUser, "ssh user");
        }

        if (options.ProfileUser is not null)
        {
            Shell.RemoteValue.UserName(options.ProfileUser, "profile user");
        }

        if (options.Hostname is not null)
        {
            Shell.RemoteValue.HostName(options.Hostname);
        }

        if (options.TempPath is not null)
        {
            Shell.RemoteValue.Path(options.TempPath, "temp path");
        }

        if (options.LogDir is not null)
        {
            Shell.RemoteValue.Path(options.LogDir, "log folder");
        }
    }
}

/// <summary>A finished run: one result per node in the request's order, and each node's deploy-rs log.</summary>
public sealed record InfraDeployRun(IReadOnlyList<InfraDeployResult> Results, IReadOnlyDictionary<string, IReadOnlyList<string>> Logs)
{
    /// <summary>True when every node succeeded, was unchanged, or dry-activated.</summary>
    public bool Succeeded => Results.All(r => r.Succeeded);
}
