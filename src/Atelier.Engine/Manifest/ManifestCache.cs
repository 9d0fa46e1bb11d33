using System.Collections.Concurrent;

namespace Atelier.Manifest;

/// <summary>
/// Manifests loaded in the last few seconds, by location, so that tab completion answers at once after the first
/// Tab. A load that failed is kept as long as one that worked, so a missing nix or a dead URL does not stall every Tab.
/// </summary>
public static class ManifestCache
{
    /// <summary>How long a loaded manifest is reused.</summary>
    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromSeconds(30);

    private static readonly ConcurrentDictionary<string, Entry> Entries = new(StringComparer.Ordinal);

    /// <summary>The manifest at <paramref name="source"/>, loaded now or at most <paramref name="maxAge"/> ago.</summary>
    /// <remarks>A cancelled load is not kept.</remarks>
    public static Task<ServicesManifest> GetAsync(ManifestSource source, TimeSpan maxAge, ManifestOptions? options, TimeProvider? time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        time ??= TimeProvider.System;
        var key = $"{source.Kind}|{source}";
        var now = time.GetUtcNow();
        if (Entries.TryGetValue(key, out var cached) && now - cached.LoadedAt < maxAge && !cached.Load.IsCanceled)
        {
            return cached.Load;
        }

        var load = source.LoadAsync(options, cancellationToken);
        Entries[key] = new Entry(now, load);
        return load;
    }

    /// <summary>Forgets every cached manifest.</summary>
    public static void Clear() => Entries.Clear();

    private sealed record Entry(DateTimeOffset LoadedAt, Task<ServicesManifest> Load);
}
