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

    /// <summary>
    /// The manifest at <paramref name="source"/>: a load still running, or one that finished at most
    /// <paramref name="maxAge"/> ago, else a new load.
    /// </summary>
    /// <remarks>A cancelled load is not kept.</remarks>
    public static Task<ServicesManifest> GetAsync(ManifestSource source, TimeSpan maxAge, ManifestOptions? options, TimeProvider? time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        time ??= TimeProvider.System;
        var key = $"{source.Kind}|{source}";
        if (Entries.TryGetValue(key, out var cached) && !cached.Load.IsCanceled
            && (!cached.Load.IsCompleted || (cached.FinishedAt is { } finished && time.GetUtcNow() - finished < maxAge)))
        {
            return cached.Load;
        }

        var entry = new Entry(source.LoadAsync(options, cancellationToken));
        entry.Load.ContinueWith(_ => entry.FinishedAt = time.GetUtcNow(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Entries[key] = entry;
        return entry.Load;
    }

    /// <summary>Forgets every cached manifest.</summary>
    public static void Clear() => Entries.Clear();

    private sealed class Entry(Task<ServicesManifest> load)
    {
        private long _finishedAtTicks = -1;

        public Task<ServicesManifest> Load { get; } = load;

        /// <summary>When the load ended (successfully or not); null while it runs.</summary>
        public DateTimeOffset? FinishedAt
        {
            get => Interlocked.Read(ref _finishedAtTicks) is var ticks and >= 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
            set => Interlocked.Exchange(ref _finishedAtTicks, value?.UtcTicks ?? -1);
        }
    }
}
