using Atelier.Deploy;
using Atelier.History;
using Atelier.Tests.History;

namespace Atelier.Tests.Deploy;

/// <summary>One status vocabulary for both deploy families, and the one place a former name is read as today's.</summary>
public sealed class DeployStatusTests
{
    [Theory]
    [InlineData("NoChange", "Unchanged")]
    [InlineData("nochange", "Unchanged")]
    [InlineData("Unchanged", "Unchanged")]
    [InlineData("Succeeded", "Succeeded")]
    [InlineData("RolledBack", "RolledBack")]
    [InlineData("DryRun", "DryRun")]
    [InlineData("something else", "something else")]
    public void Parse_reads_the_former_NoChange_as_Unchanged_and_leaves_every_other_name_as_it_is(string given, string expected) =>
        Assert.Equal(expected, DeployStatus.Parse(given));

    [Fact]
    public void Only_Unchanged_has_a_former_name_and_either_name_is_the_same_status()
    {
        Assert.Equal(DeployStatus.NoChange, DeployStatus.FormerName(DeployStatus.Unchanged));
        Assert.Equal(DeployStatus.NoChange, DeployStatus.FormerName("nochange"));
        Assert.Null(DeployStatus.FormerName(DeployStatus.Succeeded));
        Assert.True(DeployStatus.Same("NoChange", "unchanged"));
        Assert.True(DeployStatus.Same("succeeded", DeployStatus.Succeeded));
        Assert.False(DeployStatus.Same(DeployStatus.NoChange, DeployStatus.Succeeded));
        Assert.False(DeployStatus.Same(null, DeployStatus.Succeeded));
    }

    [Fact]
    public void A_result_given_the_former_name_says_Unchanged_and_succeeded()
    {
        // As a runbook test's fake does: [Atelier.Deploy.ServiceDeployResult]@{ Status = 'NoChange'; ... }
        var result = new ServiceDeployResult { Service = "web", ComputerName = "h", Status = "NoChange" };

        Assert.Equal(DeployStatus.Unchanged, result.Status);
        Assert.True(result.Succeeded);
        Assert.True(new Atelier.Infra.InfraDeployResult { Node = "n", ComputerName = "h", Status = DeployStatus.Unchanged }.Succeeded);
    }

    [Fact]
    public void The_history_filter_finds_an_old_NoChange_record_under_either_name()
    {
        Assert.True(DeployHistory.TryParseLine(Records.OldNoChangeLine, out var old, out _));
        var records = new[] { Records.Deploy(status: DeployStatus.Succeeded, minutes: 1), old!, Records.Deploy(status: DeployStatus.Unchanged, minutes: 30) };

        Assert.Equal(2, DeployHistory.Filter(records, status: DeployStatus.NoChange).Count);
        Assert.Equal(2, DeployHistory.Filter(records, status: DeployStatus.Unchanged).Count);
        // What a deploy asks of the newest record of the running commit: did it end Succeeded or Unchanged?
        var last = DeployHistory.LastFinishedOf(records, "2222222")!;
        Assert.Equal((Records.OldNoChangeId, DeployStatus.Unchanged), (last.Id, last.Status));
    }
}
