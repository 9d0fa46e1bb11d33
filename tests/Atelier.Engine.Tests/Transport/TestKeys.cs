using Atelier.Tests.Shell;

namespace Atelier.Tests.Transport;

/// <summary>A real public key made by ssh-keygen: its blob, its OpenSSH fingerprint and its .pub file.</summary>
internal sealed record TestKey(string Type, byte[] Blob, string Base64, string Fingerprint, string PublicKeyFile);

/// <summary>Host keys generated once for the test class with <c>ssh-keygen</c>.</summary>
public sealed class TestKeys : IDisposable
{
    private readonly TempFolder _folder = new();

    public TestKeys()
    {
        Ed25519A = Generate("ed25519", "a");
        Ed25519B = Generate("ed25519", "b");
        Ed25519C = Generate("ed25519", "c");
        Ecdsa = Generate("ecdsa", "d");
    }

    internal TestKey Ed25519A { get; }

    internal TestKey Ed25519B { get; }

    internal TestKey Ed25519C { get; }

    internal TestKey Ecdsa { get; }

    public void Dispose() => _folder.Dispose();

    private TestKey Generate(string type, string name)
    {
        var file = _folder.Combine(name);
        var made = Sh.Exec("ssh-keygen", ["-q", "-t", type, "-N", string.Empty, "-C", $"test-{name}", "-f", file]);
        Assert.True(made.ExitCode == 0, $"ssh-keygen failed (install openssh-client): {made.Error}");
        var fields = File.ReadAllText(file + ".pub").Split(' ');
        // ssh-keygen -lf prints "<bits> SHA256:<hash> <comment> (<TYPE>)".
        var fingerprint = Sh.Exec("ssh-keygen", ["-l", "-E", "sha256", "-f", file + ".pub"]).Output.Split(' ')[1];
        return new TestKey(fields[0], Convert.FromBase64String(fields[1]), fields[1], fingerprint, file + ".pub");
    }
}
