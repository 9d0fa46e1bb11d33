using Atelier.Deploy;
using Atelier.History;

namespace Atelier.Tests.History;

/// <summary>Deploy records for the tests.</summary>
internal static class Records
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Strings a shell, a JSON writer or a line-based file could mangle.</summary>
    public static readonly string[] Hostile =
    [
        "it's \"quoted\"",
        "$(id) and `id` and ${HOME} and $HOME",
        "back\\slash \\n not a newline",
        "unicode: é ß 漢字 🚀 \u200b",
        "line one\nline two\r\nline three",
        "tab\there; semi; && || > /dev/null < * ? [a] ~ # !",
        "-n",
        "%s %d %%",
    ];

    public static DeployRecord Deploy(
        string service = "web",
        string status = DeployStatus.Succeeded,
        int minutes = 0,
        string? previous = "1111111",
        string operation = DeployOperation.Deploy,
        string computer = "terebithia",
        string? error = null) => new()
        {
            Id = DeployRecord.NewId(),
            Service = service,
            ComputerName = computer,
            Operation = operation,
            Status = status,
            Branch = "main",
            PreviousCommit = previous,
            NewCommit = "2222222",
            Commits = ["2222222 Add the thing", "1a2b3c4 Fix the other thing"],
            SnapshotPath = $"/var/lib/{service}/.atelier/snapshots/app.20250301T120000000Z.1111111.db",
            StartedAt = Start.AddMinutes(minutes),
            FinishedAt = Start.AddMinutes(minutes).AddSeconds(42),
            DurationMs = 42_000,
            By = "kieran@laptop",
            Error = error,
            Healthy = status == DeployStatus.Succeeded,
        };

    /// <summary>A record with a hostile string (<paramref name="index"/> picks which) in every text field.</summary>
    public static DeployRecord HostileRecord(int index)
    {
        string H(int k) => Hostile[(index + k) % Hostile.Length];
        return new DeployRecord
        {
            Id = H(0) + " id",
            Service = H(1),
            ComputerName = H(2),
            Operation = H(3),
            Status = H(4),
            Branch = H(5),
            PreviousCommit = H(6),
            NewCommit = H(7),
            Commits = [.. Hostile, "abc1234 subject with a\nnewline"],
            SnapshotPath = H(0) + "/snap.db",
            StartedAt = Start.AddMinutes(index),
            FinishedAt = Start.AddMinutes(index).AddSeconds(1),
            DurationMs = 1000,
            By = H(1) + "@" + H(2),
            FailedStep = H(3),
            Error = string.Join("\n", Hostile),
            Healthy = false,
        };
    }

    /// <summary>
    /// A record as version 0.1.0 wrote it, to the host's <c>deploys.jsonl</c> and to the local database's <c>json</c>
    /// column: a deploy that found origin already deployed, with its former status name <c>NoChange</c>.
    /// </summary>
    public const string OldNoChangeLine =
        """{"id":"0d6c2a52-7b1e-4c55-9f43-5a1e8d2c9b70","service":"web","computerName":"terebithia","operation":"Deploy","status":"NoChange","branch":"main","previousCommit":"2222222","newCommit":"2222222","commits":[],"startedAt":"2025-03-01T12:50:00+00:00","finishedAt":"2025-03-01T12:50:03+00:00","durationMs":3000,"by":"kieran@laptop","healthy":true,"steps":[{"name":"lock","durationMs":40},{"name":"fetch","exitCode":0,"durationMs":310},{"name":"health","durationMs":2400}]}""";

    /// <summary>The id of <see cref="OldNoChangeLine"/>.</summary>
    public const string OldNoChangeId = "0d6c2a52-7b1e-4c55-9f43-5a1e8d2c9b70";

    /// <summary>Every property, for comparing a record read back with the one written.</summary>
    public static void AssertSame(DeployRecord expected, DeployRecord actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Service, actual.Service);
        Assert.Equal(expected.ComputerName, actual.ComputerName);
        Assert.Equal(expected.Operation, actual.Operation);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.Branch, actual.Branch);
        Assert.Equal(expected.PreviousCommit, actual.PreviousCommit);
        Assert.Equal(expected.NewCommit, actual.NewCommit);
        Assert.Equal(expected.Commits, actual.Commits);
        Assert.Equal(expected.SnapshotPath, actual.SnapshotPath);
        Assert.Equal(expected.StartedAt, actual.StartedAt);
        Assert.Equal(TimeSpan.Zero, actual.StartedAt.Offset);
        Assert.Equal(expected.FinishedAt, actual.FinishedAt);
        Assert.Equal(expected.DurationMs, actual.DurationMs);
        Assert.Equal(expected.By, actual.By);
        Assert.Equal(expected.FailedStep, actual.FailedStep);
        Assert.Equal(expected.Error, actual.Error);
        Assert.Equal(expected.Healthy, actual.Healthy);
    }
}
