using Atelier.Infra;

namespace Atelier.Tests.Infra;

/// <summary>The verdict on a deploy-rs run from its exit code and its lines, as deploy-rs really prints them.</summary>
public sealed class DeployRsOutputTests
{
    private static readonly string[] Success =
    [
        "🚀 ℹ️ [deploy] [INFO] Evaluating flake in .",
        "🚀 ℹ️ [deploy] [INFO] Activating profile `system` for node `terebithia`",
        "⭐ ℹ️ [activate] [INFO] Activation succeeded!",
        "🚀 ℹ️ [deploy] [INFO] Success activating, attempting to confirm activation",
        "🚀 ℹ️ [deploy] [INFO] Deployment confirmed.",
    ];

    // deploy-rs logs the error of a failed node and still exits 0 (its run_deploy returns Ok after `break`).
    private static readonly string[] RolledBackByDeployRs =
    [
        "Pre-switch checks failed",
        "⭐ ⚠️ [activate] [WARN] De-activating due to error",
        "switching profile from version 45 to 44",
        "⭐ ⚠️ [activate] [WARN] Removing generation by ID 45",
        "⭐ ℹ️ [activate] [INFO] Attempting to re-activate the last generation",
        "🚀 ❌ [deploy] [ERROR] Activating over SSH resulted in a bad exit code: Some(1)",
        "🚀 ℹ️ [deploy] [INFO] Revoking previous deploys",
        "🚀 ❌ [deploy] [ERROR] Deployment to node nixos-vps-svc failed, rolled back to previous generation",
    ];

    [Fact]
    public void Exit_0_without_errors_is_success()
    {
        Assert.Equal((true, false, null), DeployRsOutput.Judge(0, Success));
    }

    [Fact]
    public void Exit_0_with_an_error_line_is_a_failure_that_names_it()
    {
        var (succeeded, rolledBack, error) = DeployRsOutput.Judge(0, RolledBackByDeployRs);

        Assert.False(succeeded);
        Assert.True(rolledBack);
        Assert.Equal(
            "deploy-rs exited 0 but reported a failure, after rolling the node back itself: [deploy] Activating over SSH resulted in a bad exit code: Some(1) / [deploy] Deployment to node nixos-vps-svc failed, rolled back to previous generation",
            error);
    }

    [Fact]
    public void A_non_zero_exit_fails_even_without_an_error_line()
    {
        Assert.Equal((false, false, "deploy-rs exited with code 101."), DeployRsOutput.Judge(101, Success));
        Assert.Equal((false, false, "deploy-rs exited with code 1: [wait] Error waiting for activation: Timeout elapsed for confirmation"),
            DeployRsOutput.Judge(1, ["👀 ❌ [wait] [ERROR] Error waiting for activation: Timeout elapsed for confirmation"]));
    }

    [Fact]
    public void Colour_codes_are_removed_before_reading()
    {
        const string coloured = "🚀 ❌ [deploy] [\u001b[31mERROR\u001b[0m] Failed to push profile: Nix build command resulted in a bad exit code: Some(1)";

        Assert.Equal("🚀 ❌ [deploy] [ERROR] Failed to push profile: Nix build command resulted in a bad exit code: Some(1)", DeployRsOutput.Plain(coloured));
        Assert.Equal("[deploy] Failed to push profile: Nix build command resulted in a bad exit code: Some(1)", DeployRsOutput.ErrorMessage(coloured));
        Assert.Null(DeployRsOutput.ErrorMessage("⭐ ℹ️ [activate] [\u001b[38;5;51mINFO\u001b[0m] Activation succeeded!"));
    }

    [Fact]
    public void Only_the_last_three_distinct_errors_are_named()
    {
        var lines = Enumerable.Range(1, 5).Select(i => $"[deploy] [ERROR] e{i}").Append("[deploy] [ERROR] e5");

        Assert.Equal("deploy-rs exited with code 1: [deploy] e3 / [deploy] e4 / [deploy] e5", DeployRsOutput.Judge(1, lines).Error);
    }
}
