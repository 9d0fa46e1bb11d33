using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Atelier.Tests.Shell;
using Atelier.Transport;

namespace Atelier.Tests.Transport;

/// <summary>Real known_hosts files and real ssh-keygen keys, judged as OpenSSH judges them.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class KnownHostsTests : IClassFixture<TestKeys>, IDisposable
{
    private readonly TestKeys _keys;
    private readonly TempFolder _folder = new();

    public KnownHostsTests(TestKeys keys) => _keys = keys;

    private TestKey A => _keys.Ed25519A;

    private TestKey B => _keys.Ed25519B;

    private TestKey C => _keys.Ed25519C;

    private TestKey Ec => _keys.Ecdsa;

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_plain_host_with_its_key_is_known()
    {
        var hosts = Load($"example.com {Line(A)}");

        var check = hosts.Check("example.com", 22, A.Blob);

        Assert.Equal(HostKeyVerdict.Known, check.Verdict);
        Assert.Equal([$"ssh-ed25519 {A.Fingerprint}"], check.ExpectedFingerprints);
    }

    [Fact]
    public void Host_names_match_case_insensitively()
    {
        Assert.Equal(HostKeyVerdict.Known, Load($"Example.COM {Line(A)}").Check("example.com", 22, A.Blob).Verdict);
    }

    [Fact]
    public void A_host_with_nothing_recorded_is_unknown()
    {
        var check = Load($"example.com {Line(A)}").Check("other.example.com", 22, A.Blob);

        Assert.Equal(HostKeyVerdict.Unknown, check.Verdict);
        Assert.Empty(check.ExpectedFingerprints);
    }

    [Fact]
    public void A_missing_file_knows_nothing()
    {
        var hosts = KnownHosts.Load(_folder.Combine("nope", "known_hosts"));

        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("example.com", 22, A.Blob).Verdict);
        Assert.Empty(hosts.KnownKeyTypes("example.com", 22));
    }

    [Fact]
    public void A_non_standard_port_is_looked_up_as_bracketed_host_and_port()
    {
        var hosts = Load($"[127.0.0.1]:2222 {Line(A)}", $"10.0.0.9 {Line(B)}");

        Assert.Equal(HostKeyVerdict.Known, hosts.Check("127.0.0.1", 2222, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("127.0.0.1", 22, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("127.0.0.1", 2223, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Known, hosts.Check("10.0.0.9", 22, B.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("10.0.0.9", 2222, B.Blob).Verdict);
    }

    [Theory]
    [InlineData("example.com", 22, "example.com")]
    [InlineData("example.com", 2222, "[example.com]:2222")]
    [InlineData("::1", 2200, "[::1]:2200")]
    public void LookupName_is_the_name_OpenSSH_records(string host, int port, string expected)
    {
        Assert.Equal(expected, KnownHosts.LookupName(host, port));
    }

    [Theory]
    [InlineData("alpha")]
    [InlineData("beta.example.com")]
    [InlineData("10.0.0.5")]
    public void Every_name_of_a_comma_list_is_known(string host)
    {
        var hosts = Load($"alpha,beta.example.com,10.0.0.5 {Line(A)}");

        Assert.Equal(HostKeyVerdict.Known, hosts.Check(host, 22, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("gamma", 22, A.Blob).Verdict);
    }

    [Theory]
    [InlineData("web.example.com", HostKeyVerdict.Known)]
    [InlineData("a.b.example.com", HostKeyVerdict.Known)]
    [InlineData("db1.lan", HostKeyVerdict.Known)]
    [InlineData("example.com", HostKeyVerdict.Unknown)]
    [InlineData("db12.lan", HostKeyVerdict.Unknown)]
    [InlineData("bad.example.com", HostKeyVerdict.Unknown)]
    public void Wildcards_match_and_a_negated_pattern_excludes(string host, HostKeyVerdict expected)
    {
        var hosts = Load($"!bad.example.com,*.example.com,db?.lan {Line(A)}");

        Assert.Equal(expected, hosts.Check(host, 22, A.Blob).Verdict);
    }

    [Fact]
    public void A_hashed_entry_matches_only_its_own_name()
    {
        var hosts = Load($"{Hashed("hashed.example.com")} {Line(A)}", $"{Hashed("[127.0.0.1]:2222")} {Line(B)}");

        Assert.Equal(HostKeyVerdict.Known, hosts.Check("hashed.example.com", 22, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Known, hosts.Check("127.0.0.1", 2222, B.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("127.0.0.1", 22, B.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("other.example.com", 22, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Changed, hosts.Check("hashed.example.com", 22, C.Blob).Verdict);
    }

    [Fact]
    public void The_test_hash_is_the_one_ssh_keygen_finds()
    {
        var file = _folder.Write("known_hosts", $"{Hashed("hashed.example.com")} {Line(A)}\n");

        Assert.Equal(0, Sh.Exec("ssh-keygen", ["-F", "hashed.example.com", "-f", file]).ExitCode);
        Assert.NotEqual(0, Sh.Exec("ssh-keygen", ["-F", "other.example.com", "-f", file]).ExitCode);
    }

    [Fact]
    public void A_file_hashed_by_ssh_keygen_is_read()
    {
        var file = _folder.Write("known_hosts", $"one.example.com {Line(A)}\n[two.example.com]:2200 {Line(B)}\n");
        Assert.Equal(0, Sh.Exec("ssh-keygen", ["-H", "-f", file]).ExitCode);
        Assert.StartsWith("|1|", File.ReadAllText(file), StringComparison.Ordinal);

        var hosts = KnownHosts.Load(file);

        Assert.Equal(HostKeyVerdict.Known, hosts.Check("one.example.com", 22, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Known, hosts.Check("two.example.com", 2200, B.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("two.example.com", 22, B.Blob).Verdict);
    }

    [Fact]
    public void Another_key_of_the_same_type_is_a_change_listing_the_recorded_fingerprint()
    {
        var check = Load($"example.com {Line(A)}").Check("example.com", 22, B.Blob);

        Assert.Equal(HostKeyVerdict.Changed, check.Verdict);
        Assert.Equal([$"ssh-ed25519 {A.Fingerprint}"], check.ExpectedFingerprints);
    }

    [Fact]
    public void Expected_fingerprints_list_every_key_on_record_for_the_host_once()
    {
        var hosts = Load($"example.com {Line(A)}", $"*.com {Line(Ec)}", $"example.com,www.example.com {Line(A)}", $"other.org {Line(C)}");

        var check = hosts.Check("example.com", 22, B.Blob);

        Assert.Equal(HostKeyVerdict.Changed, check.Verdict);
        Assert.Equal([$"ssh-ed25519 {A.Fingerprint}", $"ecdsa-sha2-nistp256 {Ec.Fingerprint}"], check.ExpectedFingerprints);
    }

    [Fact]
    public void A_revoked_key_is_revoked_even_when_also_recorded()
    {
        var hosts = Load($"@revoked example.com {Line(A)}", $"example.com {Line(A)}", $"example.com {Line(B)}");

        var revoked = hosts.Check("example.com", 22, A.Blob);

        Assert.Equal(HostKeyVerdict.Revoked, revoked.Verdict);
        Assert.Empty(revoked.ExpectedFingerprints);
        Assert.Equal(HostKeyVerdict.Known, hosts.Check("example.com", 22, B.Blob).Verdict);
    }

    [Fact]
    public void A_revoked_line_does_not_count_as_a_recorded_key()
    {
        var hosts = Load($"@revoked * {Line(A)}");

        Assert.Equal(HostKeyVerdict.Revoked, hosts.Check("anything.example.com", 2222, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("anything.example.com", 2222, B.Blob).Verdict);
    }

    [Fact]
    public void Cert_authority_lines_are_skipped()
    {
        var hosts = Load($"@cert-authority *.example.com {Line(A)}");

        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("web.example.com", 22, A.Blob).Verdict);
        Assert.Empty(hosts.KnownKeyTypes("web.example.com", 22));
    }

    [Fact]
    public void Comments_blank_and_malformed_lines_are_ignored()
    {
        var hosts = Load(
            "# a comment",
            string.Empty,
            "   \t ",
            "garbage",
            "@revoked",
            $"broken.example.com ssh-ed25519 !!!not-base64!!!",
            $"|1|bad|hash {Line(C)}",
            $"  # example.com {Line(C)}",
            $"   example.com {Line(A)} a trailing comment  ");

        Assert.Equal(HostKeyVerdict.Known, hosts.Check("example.com", 22, A.Blob).Verdict);
        Assert.Equal([$"ssh-ed25519 {A.Fingerprint}"], hosts.Check("example.com", 22, C.Blob).ExpectedFingerprints);
        Assert.Equal(HostKeyVerdict.Unknown, hosts.Check("broken.example.com", 22, A.Blob).Verdict);
    }

    [Fact]
    public void Fingerprint_is_the_one_ssh_keygen_shows()
    {
        Assert.Equal(A.Fingerprint, KnownHosts.Fingerprint(A.Blob));
        Assert.Equal(Ec.Fingerprint, KnownHosts.Fingerprint(Ec.Blob));
        Assert.StartsWith("SHA256:", A.Fingerprint, StringComparison.Ordinal);
        Assert.DoesNotContain('=', KnownHosts.Fingerprint(A.Blob));
    }

    [Fact]
    public void KeyType_reads_the_type_inside_the_blob()
    {
        Assert.Equal("ssh-ed25519", KnownHosts.KeyType(A.Blob));
        Assert.Equal("ecdsa-sha2-nistp256", KnownHosts.KeyType(Ec.Blob));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 9, 1, 2 })]
    [InlineData(new byte[] { 255, 255, 255, 255, 1 })]
    public void KeyType_refuses_a_malformed_blob(byte[] blob)
    {
        Assert.Throws<FormatException>(() => KnownHosts.KeyType(blob));
    }

    [Fact]
    public void KnownKeyTypes_lists_each_unrevoked_type_on_record_for_the_host()
    {
        var hosts = Load(
            $"example.com {Line(A)}",
            $"example.com {Line(B)}",
            $"*.com {Line(Ec)}",
            $"other.org {Line(C)}",
            $"[example.com]:2222 {Line(C)}");

        Assert.Equal(["ssh-ed25519", "ecdsa-sha2-nistp256"], hosts.KnownKeyTypes("example.com", 22));
        Assert.Equal(["ssh-ed25519"], hosts.KnownKeyTypes("example.com", 2222));
        Assert.Empty(hosts.KnownKeyTypes("nothing.net", 22));
    }

    [Fact]
    public void KnownKeyTypes_leaves_out_revoked_keys()
    {
        var hosts = Load($"@revoked example.com {Line(Ec)}", $"example.com {Line(A)}");

        Assert.Equal(["ssh-ed25519"], hosts.KnownKeyTypes("example.com", 22));
    }

    [Fact]
    public void Add_appends_a_line_ssh_keygen_finds_creating_a_private_folder()
    {
        var file = _folder.Combine("new", ".ssh", "known_hosts");
        var hosts = KnownHosts.Load(file);

        hosts.Add("127.0.0.1", 2222, A.Blob);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
        Assert.Equal($"[127.0.0.1]:2222 ssh-ed25519 {A.Base64}\n", File.ReadAllText(file));
        var found = Sh.Exec("ssh-keygen", ["-F", "[127.0.0.1]:2222", "-f", file]);
        Assert.Equal(0, found.ExitCode);
        Assert.Contains(A.Base64, found.Output, StringComparison.Ordinal);
        Assert.Equal(HostKeyVerdict.Known, hosts.Check("127.0.0.1", 2222, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Known, KnownHosts.Load(file).Check("127.0.0.1", 2222, A.Blob).Verdict);
    }

    [Fact]
    public void Add_creates_a_new_file_as_OpenSSH_does_0644_at_most_and_leaves_an_existing_file_s_mode()
    {
        var created = _folder.Combine("created", "known_hosts");
        var existing = _folder.Write("existing/known_hosts", $"first.example.com {Line(A)}\n");
        File.SetUnixFileMode(existing, PrivateFile.Mode);

        KnownHosts.Load(created).Add("example.com", 22, A.Blob);
        KnownHosts.Load(existing).Add("example.com", 22, B.Blob);

        // 0644 less the umask: readable by others (public keys), never writable by them, never executable.
        var mode = File.GetUnixFileMode(created);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode & (UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.Equal((UnixFileMode)0, mode & ~(UnixFileMode)Convert.ToInt32("644", 8));
        Assert.Equal(PrivateFile.Mode, File.GetUnixFileMode(existing));
    }

    [Fact]
    public void Add_on_port_22_records_the_plain_host_name()
    {
        var file = _folder.Combine("known_hosts");

        KnownHosts.Load(file).Add("example.com", 22, Ec.Blob);

        Assert.Equal($"example.com ecdsa-sha2-nistp256 {Ec.Base64}\n", File.ReadAllText(file));
        Assert.Equal(0, Sh.Exec("ssh-keygen", ["-F", "example.com", "-f", file]).ExitCode);
    }

    [Fact]
    public void Add_starts_a_new_line_when_the_file_did_not_end_with_one()
    {
        var file = _folder.Write("known_hosts", $"first.example.com {Line(A)}");

        KnownHosts.Load(file).Add("second.example.com", 22, B.Blob);

        Assert.Equal($"first.example.com {Line(A)}\nsecond.example.com {Line(B)}\n", File.ReadAllText(file));
        var reloaded = KnownHosts.Load(file);
        Assert.Equal(HostKeyVerdict.Known, reloaded.Check("first.example.com", 22, A.Blob).Verdict);
        Assert.Equal(HostKeyVerdict.Known, reloaded.Check("second.example.com", 22, B.Blob).Verdict);
    }

    [Fact]
    public void Add_keeps_existing_lines_untouched()
    {
        var original = $"# mine\nfirst.example.com {Line(A)}\n";
        var file = _folder.Write("known_hosts", original);

        KnownHosts.Load(file).Add("second.example.com", 2200, B.Blob);

        Assert.Equal(original + $"[second.example.com]:2200 {Line(B)}\n", File.ReadAllText(file));
    }

    private static string Line(TestKey key) => $"{key.Type} {key.Base64}";

    /// <summary>OpenSSH's hashed host field: <c>|1|base64(salt)|base64(HMAC-SHA1(salt, name))</c>.</summary>
    private static string Hashed(string name)
    {
        var salt = RandomNumberGenerator.GetBytes(20);
#pragma warning disable CA5350 // HMAC-SHA1 is what OpenSSH's HashKnownHosts uses.
        var hash = HMACSHA1.HashData(salt, Encoding.ASCII.GetBytes(name));
#pragma warning restore CA5350
        return $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hash)}";
    }

    private KnownHosts Load(params string[] lines) => KnownHosts.Load(_folder.Write("known_hosts", string.Join('\n', lines) + "\n"));
}
