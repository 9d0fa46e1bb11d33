using Atelier.Infra;

namespace Atelier.Tests.Infra;

/// <summary>deploy-rs's --ssh-opts for a node, built from the connection Atelier reads the node's generations over.</summary>
public sealed class DeployRsOptionsTests
{
    [Fact]
    public void The_ssh_options_carry_port_identity_known_hosts_host_key_policy_and_the_callers_own_in_that_order()
    {
        Assert.Equal(
            "-p 2222 -i /home/me/.ssh/id_ed25519 -o UserKnownHostsFile=/tmp/kh -o StrictHostKeyChecking=accept-new -o ConnectTimeout=5",
            DeployRsOptions.SshOptionsFor(2222, "/home/me/.ssh/id_ed25519", "/tmp/kh", acceptNewHostKey: true, "-o ConnectTimeout=5"));
        Assert.Equal("-i /k", DeployRsOptions.SshOptionsFor(null, "/k", null, acceptNewHostKey: false, null));
    }

    [Fact]
    public void Without_any_there_are_no_ssh_options()
    {
        Assert.Null(DeployRsOptions.SshOptionsFor(null, null, null, acceptNewHostKey: false, null));
    }

    [Theory]
    [InlineData("/home/me/my keys/id", null, "identity file")]
    [InlineData(null, "/tmp/known hosts", "known_hosts file")]
    public void A_file_path_with_a_space_is_refused_because_deploy_rs_splits_at_spaces(string? identity, string? knownHosts, string what)
    {
        var error = Assert.Throws<AtelierException>(() => DeployRsOptions.SshOptionsFor(null, identity, knownHosts, acceptNewHostKey: false, null));

        Assert.Equal("SshOptionHasSpace", error.ErrorId);
        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        Assert.StartsWith($"The {what} '", error.Message, StringComparison.Ordinal);
    }
}
