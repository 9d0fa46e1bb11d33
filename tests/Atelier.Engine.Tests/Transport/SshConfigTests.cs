using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary>Real <c>~/.ssh/config</c> files in a temp home, read as <c>ssh</c> reads them.</summary>
public sealed class SshConfigTests : IDisposable
{
    private readonly TempFolder _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public void An_alias_gives_its_host_name_user_port_and_identity_file()
    {
        var config = Config("""
            Host web
                HostName 10.0.0.7
                User deploy
                Port 2222
                IdentityFile ~/.ssh/web_key
            """);

        var settings = config.Resolve("web", "me");

        Assert.Equal("10.0.0.7", settings.HostName);
        Assert.Equal("deploy", settings.User);
        Assert.Equal(2222, settings.Port);
        Assert.Equal([_home.Combine(".ssh", "web_key")], settings.IdentityFiles);
        Assert.Null(settings.UserKnownHostsFile);
    }

    [Fact]
    public void A_host_no_block_matches_gets_nothing()
    {
        var settings = Config("Host web\n  User deploy\n").Resolve("db", "me");

        Assert.Equal(new SshHostSettings(null, null, null, [], null), settings with { IdentityFiles = [] });
        Assert.Empty(settings.IdentityFiles);
    }

    [Fact]
    public void A_missing_file_is_an_empty_configuration()
    {
        var settings = SshConfig.Load(_home.Combine("nothing", "config"), _home.Path).Resolve("web", "me");

        Assert.Null(settings.HostName);
        Assert.Null(settings.User);
        Assert.Null(settings.Port);
        Assert.Empty(settings.IdentityFiles);
    }

    [Fact]
    public void The_first_value_wins_across_blocks_and_identity_files_add_up()
    {
        var config = Config("""
            Host web
                User first
                IdentityFile ~/.ssh/one
            Host web
                User second
                Port 2200
                IdentityFile ~/.ssh/two
            Host *
                User fallback
                Port 2300
                HostName %h.internal
            """);

        var settings = config.Resolve("web", "me");

        Assert.Equal("first", settings.User);
        Assert.Equal(2200, settings.Port);
        Assert.Equal("web.internal", settings.HostName);
        Assert.Equal([_home.Combine(".ssh", "one"), _home.Combine(".ssh", "two")], settings.IdentityFiles);
    }

    [Fact]
    public void Host_star_first_overrides_later_blocks_as_in_ssh()
    {
        var config = Config("Host *\n  User everyone\nHost web\n  User deploy\n");

        Assert.Equal("everyone", config.Resolve("web", "me").User);
    }

    [Theory]
    [InlineData("web.lan", "lanuser")]
    [InlineData("db1.lan", "lanuser")]
    [InlineData("bastion.lan", "jump")]
    [InlineData("db1.prod", "produser")]
    [InlineData("db12.prod", "star")]
    [InlineData("example.com", "star")]
    public void Wildcard_and_negated_patterns_choose_the_block(string alias, string expectedUser)
    {
        var config = Config("""
            Host *.lan !bastion.lan
                User lanuser
            Host bastion.*
                User jump
            Host other db?.prod
                User produser
            Host *
                User star
            """);

        Assert.Equal(expectedUser, config.Resolve(alias, "me").User);
    }

    [Fact]
    public void Include_is_relative_to_dot_ssh_and_globbed_in_order()
    {
        _home.Write(".ssh/config.d/20-b.conf", "Host web\n  Port 2020\n  User from-b\n  IdentityFile ~/.ssh/b\n");
        _home.Write(".ssh/config.d/10-a.conf", "Host web\n  User from-a\n  IdentityFile ~/.ssh/a\n");
        _home.Write(".ssh/config.d/ignored.txt", "Host web\n  HostName ignored\n");
        var config = Config("Include config.d/*.conf\nHost web\n  HostName 10.1.1.1\n  User from-main\n");

        var settings = config.Resolve("web", "me");

        Assert.Equal("from-a", settings.User);
        Assert.Equal(2020, settings.Port);
        Assert.Equal("10.1.1.1", settings.HostName);
        Assert.Equal([_home.Combine(".ssh", "a"), _home.Combine(".ssh", "b")], settings.IdentityFiles);
    }

    [Fact]
    public void Include_takes_a_home_path_and_several_files()
    {
        _home.Write("extra/one", "Host web\n  User one\n");
        _home.Write("extra/two", "Host web\n  Port 2002\n");
        var config = Config("Include ~/extra/one ~/extra/two ~/extra/missing\n");

        var settings = config.Resolve("web", "me");

        Assert.Equal("one", settings.User);
        Assert.Equal(2002, settings.Port);
    }

    [Fact]
    public void Include_inside_a_host_block_applies_only_to_that_block_and_does_not_leak_its_hosts()
    {
        _home.Write(".ssh/web.conf", "User included\nHost other\n  Port 3000\n");
        var config = Config("Host web\n  Include web.conf\n  Port 2200\nHost db\n  Port 2300\n");

        Assert.Equal("included", config.Resolve("web", "me").User);
        Assert.Equal(2200, config.Resolve("web", "me").Port);
        Assert.Null(config.Resolve("db", "me").User);
        Assert.Equal(3000, config.Resolve("other", "me").Port);
    }

    [Fact]
    public void Match_blocks_are_ignored_until_the_next_host()
    {
        var config = Config("""
            Match host web exec "true"
                User matched
                Port 1111
            Host web
                User deploy
            """);

        var settings = config.Resolve("web", "me");

        Assert.Equal("deploy", settings.User);
        Assert.Null(settings.Port);
    }

    [Fact]
    public void Tokens_and_tilde_are_expanded_in_identity_files()
    {
        var config = Config("""
            Host web
                HostName web.example.com
                User deploy
                IdentityFile %d/.ssh/id_%h_%r_%u
                IdentityFile ~/keys/100%%_%r
            """);

        var settings = config.Resolve("web", "me");

        Assert.Equal(
            [_home.Combine(".ssh", "id_web.example.com_deploy_me"), _home.Combine("keys", "100%_deploy")],
            settings.IdentityFiles);
    }

    [Fact]
    public void The_remote_user_token_falls_back_to_the_local_user_and_the_host_token_to_the_alias()
    {
        var settings = Config("Host web\n  IdentityFile ~/.ssh/%r@%h\n").Resolve("web", "me");

        Assert.Equal([_home.Combine(".ssh", "me@web")], settings.IdentityFiles);
    }

    [Fact]
    public void Key_equals_value_syntax_is_read()
    {
        var config = Config("Host=web\nPort=2222\nUser = deploy\nHostName\t=\t10.0.0.8\n");

        var settings = config.Resolve("web", "me");

        Assert.Equal(2222, settings.Port);
        Assert.Equal("deploy", settings.User);
        Assert.Equal("10.0.0.8", settings.HostName);
    }

    [Fact]
    public void Quoted_values_lose_their_quotes_and_keep_their_spaces()
    {
        var config = Config("Host \"web\"\n  IdentityFile \"~/my keys/id web\"\n  UserKnownHostsFile \"~/kh\"\n");

        var settings = config.Resolve("web", "me");

        Assert.Equal([_home.Combine("my keys", "id web")], settings.IdentityFiles);
        Assert.Equal(_home.Combine("kh"), settings.UserKnownHostsFile);
    }

    [Fact]
    public void Keywords_are_case_insensitive()
    {
        var config = Config("HOST web\n  HOSTNAME a.example.com\n  user Deploy\n  pOrT 2201\n  identityfile ~/.ssh/k\n");

        var settings = config.Resolve("web", "me");

        Assert.Equal("a.example.com", settings.HostName);
        Assert.Equal("Deploy", settings.User);
        Assert.Equal(2201, settings.Port);
        Assert.Equal([_home.Combine(".ssh", "k")], settings.IdentityFiles);
    }

    [Fact]
    public void Comments_blank_lines_and_indentation_are_ignored()
    {
        var config = Config("# Host web\n\n   \n\t# User nobody\nHost web\n\t\tUser deploy\n   # Port 1\n");

        var settings = config.Resolve("web", "me");

        Assert.Equal("deploy", settings.User);
        Assert.Null(settings.Port);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("70000")]
    public void An_invalid_port_is_skipped_for_a_later_valid_one(string port)
    {
        var config = Config($"Host web\n  Port {port}\nHost *\n  Port 2400\n");

        Assert.Equal(2400, config.Resolve("web", "me").Port);
    }

    [Fact]
    public void UserKnownHostsFile_takes_the_first_file_expanded()
    {
        var config = Config("Host web\n  UserKnownHostsFile ~/.ssh/kh_%h ~/.ssh/kh2\n");

        Assert.Equal(_home.Combine(".ssh", "kh_web"), config.Resolve("web", "me").UserKnownHostsFile);
    }

    [Theory]
    [InlineData("~", "")]
    [InlineData("~/x/y", "x/y")]
    public void ExpandPath_expands_a_leading_tilde(string path, string relative)
    {
        Assert.Equal(Path.Combine(_home.Path, relative).TrimEnd('/'), SshConfig.ExpandPath(path, _home.Path));
    }

    [Theory]
    [InlineData("/abs/x")]
    [InlineData("rel/x")]
    [InlineData("~user/x")]
    [InlineData("a/~/x")]
    public void ExpandPath_leaves_other_paths_alone(string path)
    {
        Assert.Equal(path, SshConfig.ExpandPath(path, _home.Path));
    }

    [Fact]
    public void DefaultPath_is_dot_ssh_config_in_home()
    {
        Assert.Equal(_home.Combine(".ssh", "config"), SshConfig.DefaultPath(_home.Path));
    }

    private SshConfig Config(string text) => SshConfig.Load(_home.Write(".ssh/config", text), _home.Path);
}
