using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary>A request resolved against a temp home's <c>~/.ssh</c>, and its validation.</summary>
public sealed class HostConnectionRequestTests : IDisposable
{
    private readonly TempFolder _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public void Without_a_config_the_OpenSSH_defaults_apply()
    {
        var resolved = Request("example.com").Resolve();

        Assert.Equal("example.com", resolved.HostName);
        Assert.Equal(22, resolved.Port);
        Assert.Equal(Environment.UserName, resolved.User);
        Assert.Empty(resolved.IdentityFiles);
        Assert.False(resolved.IdentityFileGiven);
        Assert.Equal(_home.Combine(".ssh", "known_hosts"), resolved.KnownHostsFile);
    }

    [Fact]
    public void The_config_fills_in_what_the_request_leaves_open()
    {
        _home.Write(".ssh/config", "Host web\n  HostName 10.0.0.7\n  User deploy\n  Port 2222\n  IdentityFile ~/.ssh/web_key\n  UserKnownHostsFile ~/.ssh/kh_web\n");

        var resolved = Request("web").Resolve();

        Assert.Equal(new ResolvedHost("10.0.0.7", 2222, "deploy", resolved.IdentityFiles, false, _home.Combine(".ssh", "kh_web")), resolved);
        Assert.Equal([_home.Combine(".ssh", "web_key")], resolved.IdentityFiles);
    }

    [Fact]
    public void Explicit_values_override_the_config()
    {
        _home.Write(".ssh/config", "Host web\n  HostName 10.0.0.7\n  User deploy\n  Port 2222\n  IdentityFile ~/.ssh/web_key\n  UserKnownHostsFile ~/.ssh/kh_web\n");

        var resolved = (Request("web") with { User = "admin", Port = 2200, IdentityFile = "~/other_key", KnownHostsFile = "~/my_known_hosts" }).Resolve();

        Assert.Equal("10.0.0.7", resolved.HostName);
        Assert.Equal("admin", resolved.User);
        Assert.Equal(2200, resolved.Port);
        Assert.Equal([_home.Combine("other_key")], resolved.IdentityFiles);
        Assert.True(resolved.IdentityFileGiven);
        Assert.Equal(_home.Combine("my_known_hosts"), resolved.KnownHostsFile);
    }

    [Fact]
    public void Default_identity_files_are_the_existing_ones_in_OpenSSH_order()
    {
        _home.Write(".ssh/id_rsa", "key");
        _home.Write(".ssh/id_ed25519", "key");
        _home.Write(".ssh/id_dsa", "key");

        var resolved = Request("example.com").Resolve();

        Assert.Equal([_home.Combine(".ssh", "id_ed25519"), _home.Combine(".ssh", "id_rsa")], resolved.IdentityFiles);
    }

    [Fact]
    public void Config_identity_files_replace_the_defaults()
    {
        _home.Write(".ssh/id_ed25519", "key");
        _home.Write(".ssh/config", "Host web\n  IdentityFile ~/.ssh/web_key\n");

        Assert.Equal([_home.Combine(".ssh", "web_key")], Request("web").Resolve().IdentityFiles);
        Assert.Equal([_home.Combine(".ssh", "id_ed25519")], Request("db").Resolve().IdentityFiles);
    }

    [Fact]
    public void Another_config_file_can_be_named()
    {
        _home.Write(".ssh/config", "Host web\n  User from-default\n");
        var other = _home.Write("elsewhere/config", "Host web\n  User from-other\n");

        Assert.Equal("from-other", (Request("web") with { SshConfigFile = other }).Resolve().User);
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("10.0.0.1")]
    [InlineData("[::1]")]
    public void Validate_accepts_a_good_request_and_returns_it(string computerName)
    {
        var request = Request(computerName) with { User = "deploy", Port = 2222 };

        Assert.Same(request, request.Validate());
    }

    [Theory]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("`id`")]
    [InlineData("-oProxyCommand=id")]
    [InlineData("host\n")]
    [InlineData("a b")]
    public void Validate_refuses_a_hostile_computer_name(string computerName)
    {
        var ex = Assert.Throws<RemoteValueException>(() => Request(computerName).Validate());

        Assert.Equal("computer name", ex.What);
    }

    [Theory]
    [InlineData("a;id")]
    [InlineData("$(id)")]
    [InlineData("root\n")]
    [InlineData("-l")]
    [InlineData("x y")]
    public void Validate_refuses_a_hostile_user(string user)
    {
        var ex = Assert.Throws<RemoteValueException>(() => (Request("example.com") with { User = user }).Validate());

        Assert.Equal("user name", ex.What);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    public void Validate_refuses_a_port_out_of_range(int port)
    {
        var ex = Assert.Throws<RemoteValueException>(() => (Request("example.com") with { Port = port }).Validate());

        Assert.Equal("port", ex.What);
    }

    [Fact]
    public void A_local_request_does_not_check_the_computer_name()
    {
        var request = Request("this machine") with { Local = true };

        Assert.Same(request, request.Validate());
    }

    private HostConnectionRequest Request(string computerName) => new() { ComputerName = computerName, Home = _home.Path };
}
