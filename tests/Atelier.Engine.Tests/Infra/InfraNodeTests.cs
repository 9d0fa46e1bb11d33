using Atelier.Infra;
using Atelier.Transport;

namespace Atelier.Tests.Infra;

/// <summary>
/// <see cref="InfraNode.Reached"/>: a node carries the connection Atelier reads its generations over, and deploy-rs is
/// told to reach the node the same way (user, host, port, key, known_hosts, host-key policy).
/// </summary>
public sealed class InfraNodeTests
{
    [Fact]
    public void Deploy_rs_reaches_the_node_as_the_connection_does_then_with_the_callers_own_ssh_options()
    {
        var connection = new HostConnectionRequest
        {
            ComputerName = "10.0.0.7",
            User = "deploy",
            Port = 2222,
            IdentityFile = "/home/me/.ssh/id_ed25519",
            KnownHostsFile = "/tmp/kh",
            AcceptNewHostKey = true,
        };

        var node = InfraNode.Reached("web", connection, hostGiven: true, new DeployRsOptions { SshOpts = "-o ConnectTimeout=5", SkipChecks = true });

        Assert.Equal("web", node.Name);
        Assert.Same(connection, node.Connection);
        Assert.Equal("10.0.0.7", node.ComputerName);
        Assert.Equal("deploy", node.Options.SshUser);
        Assert.Equal("10.0.0.7", node.Options.Hostname);
        Assert.Equal("-p 2222 -i /home/me/.ssh/id_ed25519 -o UserKnownHostsFile=/tmp/kh -o StrictHostKeyChecking=accept-new -o ConnectTimeout=5", node.Options.SshOpts);
        Assert.True(node.Options.SkipChecks);
        Assert.Equal(
            ["--ssh-user=deploy", $"--ssh-opts={node.Options.SshOpts}", "--hostname=10.0.0.7", "--skip-checks", ".#web"],
            DeployRsCommandLine.For("web", ".", node.Options));
    }

    [Fact]
    public void A_host_not_given_leaves_the_hostname_to_the_flake_and_no_connection_options_leave_ssh_opts_out()
    {
        var node = InfraNode.Reached("web", new HostConnectionRequest { ComputerName = "web" }, hostGiven: false, new DeployRsOptions());

        Assert.Equal("web", node.ComputerName);
        Assert.Null(node.Options.Hostname);
        Assert.Null(node.Options.SshUser);
        Assert.Null(node.Options.SshOpts);
    }

    [Fact]
    public void On_this_machine_the_node_is_localhost_and_deploy_rs_gets_no_hostname()
    {
        var node = InfraNode.Reached("web", new HostConnectionRequest { ComputerName = "web", Local = true }, hostGiven: true, new DeployRsOptions());

        Assert.Equal("localhost", node.ComputerName);
        Assert.Null(node.Options.Hostname);
    }

    [Fact]
    public void A_key_path_with_a_space_is_refused_as_deploy_rs_would_split_it()
    {
        var connection = new HostConnectionRequest { ComputerName = "web", IdentityFile = "/home/me/my keys/id" };

        Assert.Equal("SshOptionHasSpace", Assert.Throws<AtelierException>(() => InfraNode.Reached("web", connection, hostGiven: false, new DeployRsOptions())).ErrorId);
    }
}
