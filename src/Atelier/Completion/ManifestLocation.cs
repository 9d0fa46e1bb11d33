using System.Management.Automation;
using Atelier.Manifest;

namespace Atelier.Commands.Completion;

/// <summary>
/// Which services manifest a cmdlet or a completer reads: the one given with -Manifest, else the configured default.
/// Paths resolve against PowerShell's current location, URLs and flake references are left as they are.
/// </summary>
internal static class ManifestLocation
{
    /// <summary>The error id when no manifest was given and none is configured.</summary>
    public const string NotConfiguredErrorId = "ManifestNotConfigured";

    /// <summary>
    /// The source for <paramref name="location"/>, or for the settings file's <paramref name="configured"/> when it is
    /// null; a path resolves with <paramref name="localPath"/> (the cmdlet's, against its current location).
    /// </summary>
    /// <exception cref="AtelierException"><c>ManifestNotConfigured</c>, <c>ManifestNotFound</c>.</exception>
    public static ManifestSource Resolve(Func<string, string> localPath, string? location, string? configured)
    {
        location ??= configured
            ?? throw new AtelierException(NotConfiguredErrorId, FailureKind.InvalidArgument,
                "No services manifest was given and none is configured: pass -Manifest (a services.json file, a flake folder or reference, or an http(s) URL), or set 'manifest:' in atelier.yaml.");
        return ManifestSource.Resolve(location, localPath);
    }

    /// <summary>True when <paramref name="value"/> matches one of <paramref name="patterns"/> (wildcards, any case); every value matches no patterns.</summary>
    public static bool Matches(string value, IReadOnlyCollection<WildcardPattern> patterns) =>
        patterns.Count == 0 || patterns.Any(p => p.IsMatch(value));

    /// <summary>Wildcard patterns, case-insensitive.</summary>
    public static WildcardPattern[] Patterns(IEnumerable<string>? values) =>
        values is null ? [] : [.. values.Select(v => WildcardPattern.Get(v, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant))];
}
