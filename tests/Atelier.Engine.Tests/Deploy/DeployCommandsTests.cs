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
}
