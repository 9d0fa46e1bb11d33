using System.Globalization;

namespace Atelier.Deploy;

/// <summary>
/// Who holds a service's deploy lock, as recorded on the host. A lock folder without its owner record (a deploy
/// that died while taking it) reads as a holder with every field null.
/// </summary>
public sealed record LockHolder
{
    public required string Service { get; init; }

    /// <summary><c>deploy</c> or <c>restore</c>.</summary>
    public string? Operation { get; init; }

    /// <summary>Who took the lock (user@machine, or a GitHub actor and run URL).</summary>
    public string? By { get; init; }

    /// <summary>The commit being deployed, as the holder named it; null when it did not say.</summary>
    public string? Commit { get; init; }

    /// <summary>When the lock was taken, by the host's clock.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>The holder's private id: only the holder's own release removes the lock.</summary>
    public string? Token { get; init; }

    /// <summary>False for a lock folder without an owner record.</summary>
    public bool IsKnown => Token is not null;

    /// <summary>One phrase for messages: <c>alice@laptop (deploy of abc123, since 2025-01-02T03:04:05Z)</c>.</summary>
    public string Describe()
    {
        if (!IsKnown)
        {
            return "an unknown holder (the lock has no owner record: the deploy that took it may have died while taking it)";
        }

        var since = Since is { } at ? at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "an unknown time";
        return $"{By ?? "someone"} ({Operation ?? "deploy"} of {(string.IsNullOrEmpty(Commit) ? "an unnamed commit" : "commit " + Commit)}, since {since})";
    }

    public override string ToString() => Describe();

    /// <summary>Reads an owner record: <c>key=value</c> fields, the value running to the end of the line.</summary>
    internal static LockHolder FromFields(string service, IReadOnlyList<string> fields)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            var equals = field.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[field[..equals]] = field[(equals + 1)..];
            }
        }

        return new LockHolder
        {
            Service = values.GetValueOrDefault("service") is { Length: > 0 } recorded ? recorded : service,
            Operation = values.GetValueOrDefault("operation"),
            By = values.GetValueOrDefault("by"),
            Commit = values.GetValueOrDefault("commit") is { Length: > 0 } commit ? commit : null,
            Since = DateTimeOffset.TryParse(values.GetValueOrDefault("since"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since) ? since : null,
            Token = values.GetValueOrDefault("token") is { Length: > 0 } token ? token : null,
        };
    }
}
