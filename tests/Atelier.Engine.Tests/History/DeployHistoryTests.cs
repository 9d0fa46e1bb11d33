using System.Text.Json;
using Atelier.Deploy;
using Atelier.History;

namespace Atelier.Tests.History;

/// <summary>The record's JSON form, and the choice of what a default restore goes back to.</summary>
public sealed class DeployHistoryTests
{
    [Fact]
    public void A_record_is_one_line_of_camelCase_JSON_without_nulls()
    {
        var line = DeployHistory.ToJsonLine(Records.Deploy());

        using var json = JsonDocument.Parse(line);
        var names = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(
            ["id", "service", "computerName", "operation", "status", "branch", "previousCommit", "newCommit", "commits", "snapshotPath", "startedAt", "finishedAt", "durationMs", "by", "healthy"],
            names);
        Assert.Equal("2025-03-01T12:00:00+00:00", json.RootElement.GetProperty("startedAt").GetString());
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void Times_are_kept_in_UTC()
    {
        var record = new DeployRecord
        {
            Id = DeployRecord.NewId(),
            Service = "web",
            ComputerName = "h",
            Operation = DeployOperation.Deploy,
            Status = DeployStatus.Succeeded,
            StartedAt = new DateTimeOffset(2025, 3, 1, 14, 0, 0, TimeSpan.FromHours(2)),
            FinishedAt = new DateTimeOffset(2025, 3, 1, 7, 1, 0, TimeSpan.FromHours(-5)),
        };

        Assert.Equal(TimeSpan.Zero, record.StartedAt.Offset);
        Assert.Equal(12, record.StartedAt.Hour);
        Assert.Equal(12, record.FinishedAt.Hour);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"id\":\"x\",\"service\":\"web\"")]
    [InlineData("{\"service\":\"web\",\"computerName\":\"h\",\"operation\":\"Deploy\",\"status\":\"Succeeded\",\"startedAt\":\"2025-03-01T12:00:00Z\"}")]
    [InlineData("{\"id\":\"x\",\"service\":\"web\",\"computerName\":\"h\",\"operation\":\"Deploy\",\"status\":null,\"startedAt\":\"2025-03-01T12:00:00Z\"}")]
    [InlineData("{\"id\":\"x\",\"service\":\"web\",\"computerName\":\"h\",\"operation\":\"Deploy\",\"status\":\"Succeeded\",\"startedAt\":\"2025-03-01T12:00:00Z\",\"commits\":[null]}")]
    [InlineData("[1,2]")]
    [InlineData("null")]
    public void A_line_that_is_not_a_whole_record_is_refused_with_a_reason(string line)
    {
        Assert.False(DeployHistory.TryParseLine(line, out var record, out var problem));
        Assert.Null(record);
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void A_minimal_line_is_a_record_with_empty_defaults()
    {
        Assert.True(DeployHistory.TryParseLine("{\"id\":\"x\",\"service\":\"web\",\"computerName\":\"h\",\"operation\":\"Deploy\",\"status\":\"Succeeded\",\"startedAt\":\"2025-03-01T12:00:00Z\",\"futureField\":1}", out var record, out _));

        Assert.Empty(record!.Commits);
        Assert.Equal(string.Empty, record.By);
        Assert.Null(record.Healthy);
    }

    [Fact]
    public void The_properties_Restore_ServiceDeploy_binds_by_name_exist()
    {
        foreach (var name in new[] { "Service", "ComputerName", "PreviousCommit", "SnapshotPath" })
        {
            Assert.NotNull(typeof(DeployRecord).GetProperty(name));
        }
    }

    [Fact]
    public void LastRestorable_is_the_newest_succeeded_deploy_with_a_previous_commit()
    {
        var old = Records.Deploy(minutes: 1, previous: "aaaaaaa");
        var target = Records.Deploy(minutes: 2, previous: "bbbbbbb");
        var newer = new[]
        {
            Records.Deploy(status: DeployStatus.Failed, minutes: 3),
            Records.Deploy(status: DeployStatus.RolledBack, minutes: 4),
            Records.Deploy(status: DeployStatus.RollbackFailed, minutes: 5),
            Records.Deploy(status: DeployStatus.Unchanged, minutes: 6),
            Records.Deploy(operation: DeployOperation.Restore, minutes: 7),
            Records.Deploy(minutes: 8, previous: null),
            Records.Deploy(minutes: 9, previous: " "),
        };

        // In any order: the choice is by start time.
        var chosen = DeployHistory.LastRestorable([.. newer, target, old]);

        Assert.Same(target, chosen);
        Assert.Equal("bbbbbbb", chosen!.PreviousCommit);
        Assert.Equal(target.SnapshotPath, chosen.SnapshotPath);
        Assert.Same(target, DeployHistory.LastRestorable([old, target]));
        Assert.Same(target, DeployHistory.LastRestorable([target, old]));
    }

    [Fact]
    public void LastRestorable_is_null_when_nothing_qualifies()
    {
        Assert.Null(DeployHistory.LastRestorable([]));
        Assert.Null(DeployHistory.LastRestorable([Records.Deploy(status: DeployStatus.RolledBack), Records.Deploy(operation: DeployOperation.Restore)]));
    }

    [Fact]
    public void A_record_written_again_under_its_id_replaces_the_first_in_its_place()
    {
        var first = Records.Deploy(minutes: 1);
        var started = Records.Deploy(minutes: 2, status: DeployStatus.Started) with { Step = "checkout" };
        var closed = started with { Status = DeployStatus.RolledBack, Step = null, FailedStep = "install" };
        var last = Records.Deploy(minutes: 3);

        var merged = DeployHistory.Merge([first, started, last, closed]);

        Assert.Equal([first.Id, started.Id, last.Id], merged.Select(r => r.Id));
        Assert.Same(closed, merged[1]);
        Assert.False(merged[1].IsUnfinished);
    }

    [Fact]
    public void A_default_restore_goes_back_from_an_unfinished_deploy_before_the_last_successful_one()
    {
        var good = Records.Deploy(minutes: 1, previous: "aaaaaaa") with { LockToken = "t1" };
        var dead = Records.Deploy(minutes: 2, previous: "bbbbbbb", status: DeployStatus.Started) with { LockToken = "t2", Step = "checkout" };
        // Deploys that never got the lock (held by the dead one) are no later state of the host.
        var refused = Records.Deploy(minutes: 3, status: DeployStatus.Failed) with { FailedStep = "lock" };

        Assert.Same(dead, DeployHistory.Unfinished([good, dead, refused]));
        Assert.Same(dead, DeployHistory.LastRestorable([good, dead, refused]));
        Assert.Equal("bbbbbbb", DeployHistory.LastRestorable([good, dead, refused])!.PreviousCommit);
    }

    [Fact]
    public void An_unfinished_deploy_that_a_later_locked_operation_superseded_no_longer_counts()
    {
        var dead = Records.Deploy(minutes: 1, previous: "aaaaaaa", status: DeployStatus.Started) with { LockToken = "t1" };
        var later = Records.Deploy(minutes: 2, previous: "bbbbbbb") with { LockToken = "t2" };

        Assert.Null(DeployHistory.Unfinished([dead, later]));
        Assert.Same(later, DeployHistory.LastRestorable([dead, later]));
        Assert.Same(dead, DeployHistory.Unfinished([dead, later with { LockToken = null }]));
    }

    [Fact]
    public void The_last_finished_operation_of_a_commit_says_whether_it_is_known_good()
    {
        var deployed = Records.Deploy(minutes: 1) with { NewCommit = "ccccccc", LockToken = "t1" };
        var redeployFailed = Records.Deploy(minutes: 2, status: DeployStatus.RollbackFailed) with { NewCommit = "ccccccc", LockToken = "t2" };
        var unfinished = Records.Deploy(minutes: 3, status: DeployStatus.Started) with { NewCommit = "ccccccc", LockToken = "t3" };

        Assert.Same(deployed, DeployHistory.LastFinishedOf([deployed], "ccccccc"));
        Assert.Same(redeployFailed, DeployHistory.LastFinishedOf([deployed, redeployFailed, unfinished], "CCCCCCC"));
        Assert.Null(DeployHistory.LastFinishedOf([unfinished], "ccccccc"));
        Assert.Null(DeployHistory.LastFinishedOf([deployed], "ddddddd"));
    }
}
