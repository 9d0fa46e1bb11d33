using System.Text.Json;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Output;

namespace Atelier.Tests.History;

/// <summary>What the histories keep of a deploy (<see cref="DeployHistory.Kept"/>): cleaned, redacted, short.</summary>
public sealed class KeptRecordTests
{
    private static readonly HostText Text = new(Redaction.Parse(["site-value-42"]));

    private static DeployRecord Failed()
    {
        string[] build = ["> app@1.0 build", .. Enumerable.Range(1, 30).Select(i => $"line {i}"), "\u001b[31mAPI_TOKEN=hunter2secret\u001b[0m", "::error::x", "site-value-42", "exit 1"];
        return Records.Deploy(status: DeployStatus.RolledBack, error: "The build step failed: exit code 1:\n" + string.Join('\n', build)) with
        {
            FailedStep = "build",
            Commits = ["abc1234 \u001b]8;;http://evil\u0007subject\u001b]8;;\u0007 API_TOKEN=hunter2secret", "def5678 " + new string('x', 400)],
            Steps =
            [
                new DeployRecordStep { Name = "fetch", ExitCode = 0, DurationMs = 30, OutputTail = "1111111\n2222222" },
                new DeployRecordStep { Name = "build", ExitCode = 1, DurationMs = 1200, OutputTail = string.Join('\n', build) },
                new DeployRecordStep { Name = "health", DurationMs = 5 },
            ],
        };
    }

    [Fact]
    public void Each_step_keeps_its_name_exit_code_and_duration_and_a_short_redacted_tail()
    {
        var kept = DeployHistory.Kept(Failed(), Text);

        Assert.Equal(["fetch", "build", "health"], kept.Steps!.Select(s => s.Name));
        Assert.Equal([0, 1, null], kept.Steps!.Select(s => s.ExitCode));
        Assert.Equal([30L, 1200L, 5L], kept.Steps!.Select(s => s.DurationMs));
        Assert.Equal("1111111\n2222222", kept.Steps![0].OutputTail);
        Assert.Equal(["…", "line 30", "API_TOKEN=***", "\\::error::x", "***", "exit 1"], kept.Steps![1].OutputTail!.Split('\n'));
        Assert.Null(kept.Steps![2].OutputTail);
    }

    [Fact]
    public void The_error_keeps_its_first_line_and_a_short_redacted_tail()
    {
        var kept = DeployHistory.Kept(Failed(), Text);

        Assert.Equal(["The build step failed: exit code 1:", "…", "line 30", "API_TOKEN=***", "\\::error::x", "***", "exit 1"], kept.Error!.Split('\n'));
    }

    [Fact]
    public void Commits_are_cleaned_one_line_and_cut()
    {
        var kept = DeployHistory.Kept(Failed(), Text);

        Assert.Equal("abc1234 subject API_TOKEN=***", kept.Commits[0]);
        Assert.Equal(DeployHistory.CommitChars, kept.Commits[1].Length);
        Assert.EndsWith("…", kept.Commits[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Long_lines_are_cut_to_the_character_budget_from_the_end()
    {
        var record = Records.Deploy() with { Steps = [new DeployRecordStep { Name = "build", ExitCode = 1, OutputTail = "short\n" + new string('y', 2000) + "\nlast" }] };

        var tail = DeployHistory.Kept(record, Text).Steps![0].OutputTail!;

        Assert.Equal(DeployHistory.TailChars, tail.Split('\n').Skip(1).Sum(l => l.Length));
        Assert.Equal(["…", "…" + new string('y', DeployHistory.TailChars - 5), "last"], tail.Split('\n'));
    }

    [Fact]
    public void Keeping_a_kept_record_changes_nothing()
    {
        var once = DeployHistory.Kept(Failed(), Text);
        var twice = DeployHistory.Kept(once, Text);

        Assert.Equal(DeployHistory.ToJsonLine(once), DeployHistory.ToJsonLine(twice));
    }

    [Fact]
    public void The_secret_is_nowhere_in_the_line_the_host_keeps()
    {
        var line = HostHistory.Line(DeployHistory.Kept(Failed(), Text));

        Assert.DoesNotContain("hunter2secret", line, StringComparison.Ordinal);
        Assert.DoesNotContain("site-value-42", line, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u001b", line, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(line);
        Assert.Equal(3, json.RootElement.GetProperty("steps").GetArrayLength());
    }

    [Fact]
    public void A_record_without_steps_has_none_in_its_json()
    {
        var line = DeployHistory.ToJsonLine(DeployHistory.Kept(Records.Deploy(), Text));

        Assert.DoesNotContain("\"steps\"", line, StringComparison.Ordinal);
    }
}
