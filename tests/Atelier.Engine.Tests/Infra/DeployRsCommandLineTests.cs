using System.Reflection;
using Atelier.Infra;

namespace Atelier.Tests.Infra;

/// <summary>Every deploy-rs flag a user sets, and where it lands in the argument list.</summary>
public sealed class DeployRsCommandLineTests
{
    /// <summary>The whole flag list of anchor-system section 4: the option set, and the arguments it must give.</summary>
    public static TheoryData<string, DeployRsOptions, string[]> Flags => new()
    {
        { nameof(DeployRsOptions.SshUser), new() { SshUser = "deploy" }, ["--ssh-user=deploy"] },
        { nameof(DeployRsOptions.ProfileUser), new() { ProfileUser = "root" }, ["--profile-user=root"] },
        { nameof(DeployRsOptions.SshOpts), new() { SshOpts = "-p 2222 -o StrictHostKeyChecking=accept-new" }, ["--ssh-opts=-p 2222 -o StrictHostKeyChecking=accept-new"] },
        { nameof(DeployRsOptions.Hostname), new() { Hostname = "terebithia.tail0.ts.net" }, ["--hostname=terebithia.tail0.ts.net"] },
        { nameof(DeployRsOptions.FastConnection), new() { FastConnection = true }, ["--fast-connection=true"] },
        { nameof(DeployRsOptions.SkipChecks), new() { SkipChecks = true }, ["--skip-checks"] },
        { nameof(DeployRsOptions.RemoteBuild), new() { RemoteBuild = true }, ["--remote-build"] },
        { nameof(DeployRsOptions.AutoRollback), new() { AutoRollback = false }, ["--auto-rollback=false"] },
        { nameof(DeployRsOptions.MagicRollback), new() { MagicRollback = false }, ["--magic-rollback=false"] },
        { nameof(DeployRsOptions.ConfirmTimeout), new() { ConfirmTimeout = 45 }, ["--confirm-timeout=45"] },
        { nameof(DeployRsOptions.ActivationTimeout), new() { ActivationTimeout = 600 }, ["--activation-timeout=600"] },
        { nameof(DeployRsOptions.TempPath), new() { TempPath = "/run/deploy-rs" }, ["--temp-path=/run/deploy-rs"] },
        { nameof(DeployRsOptions.Boot), new() { Boot = true }, ["--boot"] },
        { nameof(DeployRsOptions.DryActivate), new() { DryActivate = true }, ["--dry-activate"] },
        { nameof(DeployRsOptions.RollbackSucceeded), new() { RollbackSucceeded = false }, ["--rollback-succeeded=false"] },
        { nameof(DeployRsOptions.InteractiveSudo), new() { InteractiveSudo = true }, ["--interactive-sudo=true"] },
        { nameof(DeployRsOptions.SudoCommand), new() { SudoCommand = "doas -u" }, ["--sudo=doas -u"] },
        { nameof(DeployRsOptions.CheckSigs), new() { CheckSigs = true }, ["--checksigs"] },
        { nameof(DeployRsOptions.KeepResult), new() { KeepResult = true }, ["--keep-result"] },
        { nameof(DeployRsOptions.ResultPath), new() { ResultPath = "./results" }, ["--result-path=./results"] },
        { nameof(DeployRsOptions.DebugLogs), new() { DebugLogs = true }, ["--debug-logs"] },
        { nameof(DeployRsOptions.LogDir), new() { LogDir = "/var/log/deploy-rs" }, ["--log-dir=/var/log/deploy-rs"] },
    };

    [Theory]
    [MemberData(nameof(Flags))]
    public void Each_option_gives_its_flag_before_the_target(string option, DeployRsOptions options, string[] expected)
    {
        var args = DeployRsCommandLine.For("terebithia", ".", options);

        Assert.Equal([.. expected, ".#terebithia"], args);
        Assert.False(string.IsNullOrEmpty(option));
    }

    [Fact]
    public void The_table_covers_every_option()
    {
        var covered = Flags.Select(row => (string)row[0]).Append(nameof(DeployRsOptions.ExtraBuildArgs)).Order();
        var all = typeof(DeployRsOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name).Order();

        Assert.Equal(all, covered);
    }

    [Fact]
    public void No_option_gives_only_the_target()
    {
        Assert.Equal([".#prattle"], DeployRsCommandLine.For("prattle", ".", new DeployRsOptions()));
        Assert.Equal(["github:org/infra#prattle"], DeployRsCommandLine.For("prattle", "github:org/infra", new DeployRsOptions()));
    }

    [Fact]
    public void Extra_build_arguments_come_after_the_target_and_a_double_dash_each_as_one_argument()
    {
        var options = new DeployRsOptions { SkipChecks = true, ExtraBuildArgs = ["--option", "substituters", "https://cache.example.org a b"] };

        Assert.Equal(["--skip-checks", ".#a", "--", "--option", "substituters", "https://cache.example.org a b"], DeployRsCommandLine.For("a", ".", options));
    }

    [Fact]
    public void The_anchors_command_line_is_reproduced()
    {
        var options = new DeployRsOptions { SkipChecks = true, SshUser = "kierank", SshOpts = "-o StrictHostKeyChecking=accept-new" };

        Assert.Equal(
            "--ssh-user=kierank '--ssh-opts=-o StrictHostKeyChecking=accept-new' --skip-checks '.#terebithia'",
            CommandWords.Join(DeployRsCommandLine.For("terebithia", ".", options)));
    }

    [Fact]
    public void A_value_with_shell_syntax_stays_one_argument()
    {
        var args = DeployRsCommandLine.For("a", ".", new DeployRsOptions { TempPath = "/tmp/x; rm -rf /" });

        Assert.Equal(["--temp-path=/tmp/x; rm -rf /", ".#a"], args);
    }
}
