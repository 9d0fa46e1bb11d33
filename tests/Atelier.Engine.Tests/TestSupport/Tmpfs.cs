using System.Runtime.Versioning;
using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests;

/// <summary>
/// A real, small tmpfs mounted on a temp folder (<c>mount -t tmpfs -o size=...</c>, so it needs root), to fill up:
/// what a full disk does to a script is seen, not imagined. Unmounted and removed on dispose.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class Tmpfs : IDisposable
{
    private readonly TempFolder? _folder;

    /// <summary>
    /// Mounts a tmpfs of <paramref name="sizeBytes"/> (rounded up to whole pages by the kernel) on
    /// <paramref name="mountPoint"/> (created if need be), or on a new temp folder.
    /// </summary>
    public Tmpfs(long sizeBytes, string? mountPoint = null)
    {
        if (mountPoint is null)
        {
            _folder = new TempFolder();
            mountPoint = _folder.Combine("tmpfs");
        }

        Path = mountPoint;
        Directory.CreateDirectory(Path);
        var mount = Sh.Exec("mount", ["-t", "tmpfs", "-o", $"size={sizeBytes},mode=0755", "tmpfs", Path]);
        if (mount.ExitCode != 0)
        {
            _folder?.Dispose();
            throw new InvalidOperationException($"mount -t tmpfs failed (exit code {mount.ExitCode}): {mount.Error}");
        }
    }

    /// <summary>True when this process may mount one (it runs as root).</summary>
    public static bool CanMount => Environment.IsPrivilegedProcess;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Bytes an unprivileged user may still write here (what <c>df</c> calls available).</summary>
    public long Available => new DriveInfo(Path).AvailableFreeSpace;

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Writes a file of <paramref name="bytes"/> random bytes (its folder created), and returns its path.</summary>
    public static string RandomFile(string path, int bytes)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes));
        return path;
    }

    public void Dispose()
    {
        // -l: a process a failed test left behind must not keep the mount (and the temp folder) alive.
        Sh.Exec("umount", ["-l", Path]);
        _folder?.Dispose();
    }
}

/// <summary>A fact that fills a <see cref="Tmpfs"/>, and may need a program on PATH: skipped, saying why, without either.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute(string? tool = null)
    {
        if (!OperatingSystem.IsLinux() || !Tmpfs.CanMount)
        {
            Skip = "Not root: this case fills a real tmpfs, and mounting one needs root (CI runs the tests as root).";
        }
        else if (tool is not null && !Sh.OnPath(tool))
        {
            Skip = $"{tool} is not installed on this machine (apt-get install {tool}), so this case cannot run.";
        }
    }
}
