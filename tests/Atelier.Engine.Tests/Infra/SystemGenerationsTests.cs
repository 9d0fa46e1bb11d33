using Atelier.Infra;
using Atelier.Shell;
using Atelier.Transport;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Infra;

/// <summary>Reading and switching a node's system profile: the contract's commands, and what their output means.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SystemGenerationsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void The_commands_are_the_contracts()
    {
        var profile = new RemotePath(SystemGenerations.DefaultProfile);

        Assert.Equal("readlink /nix/var/nix/profiles/system", SystemGenerations.ReadCommand(profile).Text);
        Assert.Equal("sudo -n /run/current-system/sw/bin/nix-env -p /nix/var/nix/profiles/system --switch-generation 41", SystemGenerations.SwitchCommand(profile, 41).Text);
        Assert.Equal("sudo -n /nix/var/nix/profiles/system/bin/switch-to-configuration switch", SystemGenerations.ActivateCommand(profile).Text);
        Assert.StartsWith("/run/current-system/sw/bin/nix-env -p /nix/var/nix/profiles/system --list-generations && ", SystemGenerations.ListCommand(profile).Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("system-42-link\n", 42)]
    [InlineData("/nix/var/nix/profiles/system-7-link", 7)]
    [InlineData("  system-1-link  ", 1)]
    public void A_link_target_gives_the_generation(string target, int number)
    {
        Assert.Equal(number, SystemGenerations.ParseLink(target));
    }

    [Theory]
    [InlineData("/nix/store/abc-nixos-system-x-1")]
    [InlineData("system-x-link")]
    [InlineData("system--1-link")]
    [InlineData("default-3-link")]
    [InlineData("")]
    public void Anything_else_is_unreadable(string target)
    {
        var error = Assert.Throws<AtelierException>(() => SystemGenerations.ParseLink(target));

        Assert.Equal("GenerationUnreadable", error.ErrorId);
    }

    [Fact]
    public void The_list_gives_number_date_current_and_store_path()
    {
        const string output = """
               1   2026-11-20 10:00:00   
               2   2026-11-24 18:30:05   
               3   2026-11-26 09:00:00   (current)
            --- links
            /nix/var/nix/profiles/system-1-link /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-terebithia-1
            /nix/var/nix/profiles/system-3-link /nix/store/cccccccccccccccccccccccccccccccc-nixos-system-terebithia-3
            /nix/var/nix/profiles/system-2-link /nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-terebithia-2
            /nix/var/nix/profiles/system-foo-1-link /nix/store/dddddddddddddddddddddddddddddddd-other

            """;

        var list = SystemGenerations.ParseList(output, "terebithia", "10.0.0.2");

        Assert.Equal([1, 2, 3], list.Select(g => g.Number));
        Assert.Equal(new DateTime(2026, 11, 24, 18, 30, 5), list[1].Date);
        Assert.Equal([false, false, true], list.Select(g => g.Current));
        Assert.Equal("/nix/store/cccccccccccccccccccccccccccccccc-nixos-system-terebithia-3", list[2].Path);
        Assert.All(list, g => Assert.Equal(("terebithia", "10.0.0.2"), (g.Node, g.ComputerName)));
    }

    [Fact]
    public void A_line_that_is_not_a_generation_is_an_error()
    {
        var error = Assert.Throws<AtelierException>(() => SystemGenerations.ParseList("error: opening lock file '/nix/var/nix/profiles/system.lock'\n", "a", "h"));

        Assert.Equal("GenerationListUnreadable", error.ErrorId);
        Assert.Contains("opening lock file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_current_generation_is_read_through_a_real_shell()
    {
        var tree = new ProfileTree(_folder, "a");
        using var host = new HomeHost(tree.Home);
        var generations = new SystemGenerations(host, "a", new CommandOptions(), ProfileTree.Profile);

        Assert.Equal(3, await generations.CurrentAsync(CancellationToken.None));

        File.Delete(Path.Join(tree.Home, "profiles", "system"));
        File.CreateSymbolicLink(Path.Join(tree.Home, "profiles", "system"), Path.Join(tree.Home, "store"));
        var wrong = await Assert.ThrowsAsync<AtelierException>(() => generations.CurrentAsync(CancellationToken.None));
        Assert.Equal("GenerationUnreadable", wrong.ErrorId);

        File.Delete(Path.Join(tree.Home, "profiles", "system"));
        var missing = await Assert.ThrowsAsync<AtelierException>(() => generations.CurrentAsync(CancellationToken.None));
        Assert.Equal("GenerationUnreadable", missing.ErrorId);
        Assert.Contains("cannot read the system profile", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_profile_is_refused()
    {
        using var host = new LocalHost();

        var error = Assert.Throws<AtelierException>(() => new SystemGenerations(host, "a", new CommandOptions(), "nix/var/nix/profiles/system"));

        Assert.Equal("SystemProfileInvalid", error.ErrorId);
    }
}
