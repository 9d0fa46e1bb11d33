using Atelier.Deploy;
using Atelier.Shell;

namespace Atelier.Tests.Deploy;

/// <summary>The systemctl the deploy steps run through sudo: NixOS's by default, or the one the settings name.</summary>
public sealed class DeployCommandsTests
{
    [Fact]
    public void Systemctl_goes_through_NixOS_path_by_default_and_falls_back_to_PATH()
    {
        Assert.Equal(
            "if [ -x /run/current-system/sw/bin/systemctl ]; then exec sudo -n /run/current-system/sw/bin/systemctl restart demo.service; else exec sudo -n systemctl restart demo.service; fi",
            DeployCommands.Systemctl("restart", "demo").Text);
    }

    [Fact]
    public void Systemctl_uses_the_path_it_is_given()
    {
        Assert.Equal(
            "if [ -x /usr/bin/systemctl ]; then exec sudo -n /usr/bin/systemctl stop demo.service; else exec sudo -n systemctl stop demo.service; fi",
            DeployCommands.Systemctl("stop", "demo", "/usr/bin/systemctl").Text);
    }

    [Theory]
    [InlineData("/bin/systemctl; reboot")]
    [InlineData("/bin/$(reboot)")]
    [InlineData("/bin/systemctl\n")]
    public void A_hostile_systemctl_path_is_refused(string path)
    {
        Assert.Throws<RemoteValueException>(() => DeployCommands.Systemctl("start", "demo", path));
        Assert.Throws<RemoteValueException>(() => new DeployRequest { Service = "demo", SystemctlPath = path }.Validate());
    }

    [Fact]
    public void A_relative_systemctl_path_is_refused_by_the_request()
    {
        var error = Assert.Throws<RemoteValueException>(() => new DeployRequest { Service = "demo", SystemctlPath = "bin/systemctl" }.Validate());

        Assert.Contains("absolute", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hook_runs_with_sh_in_the_work_folder_with_the_service_and_both_commits_exported()
    {
        var request = new DeployRequest { Service = "demo", WorkDir = "web" };

        Assert.Equal(
            "cd \"$HOME\"/app/web && ATELIER_SERVICE=demo ATELIER_PREVIOUS_COMMIT=1111111 ATELIER_NEW_COMMIT=2222222 sh -c 'bun run migrate'",
            DeployCommands.Hook(request, "bun run migrate", "1111111", "2222222").Text);
        Assert.Equal(
            "cd \"$HOME\"/app && ATELIER_SERVICE=demo ATELIER_PREVIOUS_COMMIT='<deployed>' ATELIER_NEW_COMMIT='<new>' sh -c x",
            DeployCommands.Hook(new DeployRequest { Service = "demo" }, "x", null, null).Text);
    }

    [Fact]
    public void A_hostile_hook_is_one_quoted_argument_of_sh()
    {
        var text = DeployCommands.Hook(new DeployRequest { Service = "demo" }, "echo 'a'; $(reboot) `id`", "1111111", "2222222").Text;

        Assert.EndsWith(@"sh -c 'echo '\''a'\''; $(reboot) `id`'", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("migrate\nreboot")]
    [InlineData("migrate\u0000")]
    public void A_hook_of_more_than_one_line_or_with_control_characters_is_refused(string hook)
    {
        var command = System.Text.RegularExpressions.Regex.Unescape(hook);
        Assert.Throws<RemoteValueException>(() => new DeployRequest { Service = "demo", PreRestartCommand = command }.Validate());
        Assert.Throws<RemoteValueException>(() => new DeployRequest { Service = "demo", PostDeployCommand = command }.Validate());
    }

    [Fact]
    public void A_hook_longer_than_a_command_may_be_is_refused_naming_the_limit()
    {
        var error = Assert.Throws<RemoteValueException>(() => new DeployRequest { Service = "demo", PreRestartCommand = new string('x', DeployRequest.MaxCommandLength + 1) }.Validate());

        Assert.Contains($"at most {DeployRequest.MaxCommandLength}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_plan_shows_the_pre_restart_hook_before_the_restart_and_the_post_deploy_hook_after_health()
    {
        var request = new DeployRequest { Service = "demo", BuildCommand = "bun run build", PreRestartCommand = "bun run migrate", PostDeployCommand = "curl -s localhost/warm" };

        var plan = ServiceDeployer.Plan(request).ToList();

        Assert.Equal(["lock", "fetch", "arm", "checkout", "install", "build", "pre-restart", "restart", "health", "post-deploy"], plan.Select(p => p.Step));
        Assert.Contains("sh -c 'bun run migrate' (its failure rolls back code and database)", plan[6].Command, StringComparison.Ordinal);
        Assert.Contains("sh -c 'curl -s localhost/warm' (after a healthy deploy; its failure is a warning)", plan[9].Command, StringComparison.Ordinal);
        Assert.DoesNotContain(ServiceDeployer.Plan(request with { PreRestartCommand = null, PostDeployCommand = null }), p => p.Step is "pre-restart" or "post-deploy");
    }
}
