using Atelier.Tests.Transport;

namespace Atelier.Tests.Infra;

/// <summary>
/// A NixOS-like system profile tree in a temp home, read through a real shell: <c>~/profiles/system -&gt; system-3-link</c>,
/// each <c>system-N-link -&gt; ~/store/&lt;hash&gt;-nixos-system-&lt;node&gt;-N</c>.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class ProfileTree
{
    public const string Profile = "~/profiles/system";

    public ProfileTree(TempFolder folder, string node, int generations = 3)
    {
        Node = node;
        Home = Directory.CreateDirectory(folder.Combine("home-" + node)).FullName;
        Directory.CreateDirectory(Path.Join(Home, "profiles"));
        for (var n = 1; n <= generations; n++)
        {
            var closure = Directory.CreateDirectory(Path.Join(Home, "store", $"{n}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-{node}-{n}")).FullName;
            File.CreateSymbolicLink(Path.Join(Home, "profiles", $"system-{n}-link"), closure);
        }

        File.CreateSymbolicLink(Path.Join(Home, "profiles", "system"), $"system-{generations}-link");
    }

    public string Node { get; }

    public string Home { get; }

    /// <summary>The generation the profile points at, read from the file system.</summary>
    public int Current
    {
        get
        {
            var target = new FileInfo(Path.Join(Home, "profiles", "system")).LinkTarget!;
            return int.Parse(target["system-".Length..^"-link".Length], System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
