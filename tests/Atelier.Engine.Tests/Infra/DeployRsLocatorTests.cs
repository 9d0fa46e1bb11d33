using Atelier.Infra;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Infra;

/// <summary>Which deploy-rs runs, found on a real PATH of temp folders holding real executables.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DeployRsLocatorTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Executable(string relativePath, bool executable = true)
    {
        var path = _folder.Write(relativePath, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(path, executable ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute : UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private DeployRsLocator On(params string[] folders) => new(string.Join(':', folders.Select(f => _folder.Combine(f))), _folder.Path);

    [Fact]
    public void The_parameter_wins_over_the_setting_and_PATH()
    {
        Executable("bin/deploy");
        var mine = Executable("tools/my-deploy");

        var command = On("bin").Locate("./tools/my-deploy --debug-logs", "deploy");

        Assert.Equal([mine, "--debug-logs"], command.Words);
        Assert.Equal("parameter", command.Source);
    }

    [Fact]
    public void The_setting_wins_over_PATH_and_its_program_is_looked_up_on_PATH()
    {
        var deploy = Executable("bin/deploy");
        var nix = Executable("nixbin/nix");

        var command = On("bin", "nixbin").Locate(null, "nix run 'github:serokell/deploy-rs' --");

        Assert.Equal([nix, "run", "github:serokell/deploy-rs", "--"], command.Words);
        Assert.Equal("settings", command.Source);
        Assert.Equal([deploy], On("bin", "nixbin").Locate("  ", null).Words);
    }

    [Fact]
    public void Deploy_on_PATH_comes_first_in_PATH_order_skipping_files_that_are_not_executable()
    {
        Executable("first/deploy", executable: false);
        var second = Executable("second/deploy");
        Executable("third/deploy");
        Executable("nixbin/nix");

        var command = On("first", "second", "third", "nixbin").Locate(null, null);

        Assert.Equal([second], command.Words);
        Assert.Equal("PATH", command.Source);
    }

    [Fact]
    public void Without_deploy_nix_runs_deploy_rs_from_its_flake()
    {
        var nix = Executable("nixbin/nix");

        var command = On("empty", "nixbin").Locate(null, null);

        Assert.Equal([nix, "run", "github:serokell/deploy-rs", "--"], command.Words);
        Assert.Equal("nix run", command.Source);
    }

    [Fact]
    public void Without_deploy_and_nix_the_error_says_how_to_get_it()
    {
        Executable("bin/other");

        var error = Assert.Throws<AtelierException>(() => On("bin").Locate(null, null));

        Assert.Equal("DeployRsNotFound", error.ErrorId);
        Assert.Equal(FailureKind.NotInstalled, error.Kind);
        Assert.Equal([Hint.DeployCommand], error.Hints);
        EngineWords.AssertNoCmdletWords(error.Message);
        Assert.Throws<AtelierException>(() => new DeployRsLocator(null, _folder.Path).Locate(null, null));
    }

    [Fact]
    public void A_given_program_that_does_not_exist_is_NotInstalled_naming_where_it_came_from()
    {
        var missing = Assert.Throws<AtelierException>(() => On("bin").Locate("deploy-rs-nightly --x", null));
        Assert.Equal("DeployRsNotFound", missing.ErrorId);
        Assert.Contains("'deploy-rs-nightly' (parameter: 'deploy-rs-nightly --x') is not on PATH", missing.Message, StringComparison.Ordinal);

        Executable("tools/deploy", executable: false);
        var notExecutable = Assert.Throws<AtelierException>(() => On("bin").Locate(null, "./tools/deploy"));
        Assert.Contains("(settings: './tools/deploy') is not an executable file", notExecutable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unbalanced_quote_is_an_invalid_argument()
    {
        var error = Assert.Throws<AtelierException>(() => On("bin").Locate("nix run 'github:x --", null));

        Assert.Equal("DeployCommandInvalid", error.ErrorId);
        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
    }

    [Fact]
    public void The_command_prints_as_a_line_a_shell_reads_back()
    {
        var tool = Executable("my tools/deploy");

        var command = On().Locate("'./my tools/deploy' --skip-checks", null);

        Assert.Equal($"'{tool}' --skip-checks", command.ToString());
    }
}
