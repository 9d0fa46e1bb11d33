using Atelier.Tests.Shell;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Snapshot;

/// <summary>
/// A service account in a temp passwd file, <c>svc:x:&lt;uid&gt;:&lt;gid&gt;::&lt;home&gt;:/bin/sh</c>, with the current
/// user's ids, so the "service home" is a temp folder.
/// </summary>
internal sealed class ServiceAccount : IDisposable
{
    public const string Name = "svc";

    private readonly TempFolder _folder = new();

    public ServiceAccount()
    {
        Home = _folder.Combine("home");
        Directory.CreateDirectory(Home);
        var uid = Sh.Exec("id", ["-u"]).Output.Trim();
        var gid = Sh.Exec("id", ["-g"]).Output.Trim();
        PasswdFile = _folder.Write("passwd", $"root:x:0:0:root:/root:/bin/sh\n{Name}:x:{uid}:{gid}::{Home}:/bin/sh\n");
    }

    public string Home { get; }

    public string PasswdFile { get; }

    public string Snapshots => Path.Combine(Home, ".atelier", "snapshots");

    /// <summary>A folder outside the home, for downloads.</summary>
    public string Outside(string name)
    {
        var path = _folder.Combine(name);
        Directory.CreateDirectory(path);
        return path;
    }

    public string InHome(string relativePath) => Path.Combine(Home, relativePath);

    public void Dispose() => _folder.Dispose();
}
