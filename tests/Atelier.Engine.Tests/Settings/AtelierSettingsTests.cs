using Atelier.Deploy;
using Atelier.Settings;
using Atelier.Snapshot;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Settings;

/// <summary>The YAML settings file: where it is found, what it may hold, and the errors that name file, line and key.</summary>
public sealed class AtelierSettingsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Home => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    [Fact]
    public void Every_key_is_read_with_its_type_and_relative_paths_are_anchored_at_the_file()
    {
        var file = _folder.Write("infra/atelier.yaml", """
            # defaults for this repository
            manifest: ./services.json
            machine: terebithia
            user: deploy
            identityFile: ~/.ssh/deploy_ed25519
            knownHostsFile: keys/known_hosts
            systemctlPath: /usr/bin/systemctl
            keep: 12
            historyPath: "state/history.db"
            deployCommand: nix run 'github:serokell/deploy-rs' --
            """);

        var settings = AtelierSettings.Load(file);

        Assert.Equal(_folder.Combine("infra", "services.json"), settings.Manifest);
        Assert.Equal("terebithia", settings.Machine);
        Assert.Equal("deploy", settings.User);
        Assert.Equal(Path.Join(Home, ".ssh", "deploy_ed25519"), settings.IdentityFile);
        Assert.Equal(_folder.Combine("infra", "keys", "known_hosts"), settings.KnownHostsFile);
        Assert.Equal("/usr/bin/systemctl", settings.SystemctlPath);
        Assert.Equal(12, settings.Keep);
        Assert.Equal(_folder.Combine("infra", "state", "history.db"), settings.HistoryPath);
        Assert.Equal("nix run 'github:serokell/deploy-rs' --", settings.DeployCommand);
        Assert.Equal(file + ":3", settings.Describe().Single(s => s.Name == "machine").Source);
        Assert.Equal(file + ":8", settings.Describe().Single(s => s.Name == "keep").Source);
    }

    [Fact]
    public void Unset_keys_fall_back_to_the_defaults_and_say_so()
    {
        var settings = AtelierSettings.Parse("keep: 3\nmachine: ~\n", _folder.Combine("atelier.yaml"));

        Assert.Null(settings.Manifest);
        Assert.Null(settings.Machine);
        Assert.Null(settings.User);
        Assert.Null(settings.IdentityFile);
        Assert.Null(settings.DeployCommand);
        Assert.Equal(DeployCommands.NixSystemctl, settings.SystemctlPath);
        Assert.Equal(3, settings.Keep);
        Assert.True(settings.IsSet("keep"));
        Assert.False(settings.IsSet("machine"));
        var described = settings.Describe().ToList();
        Assert.Equal(AtelierSettings.Definitions.Select(d => d.Key), described.Select(d => d.Name));
        Assert.All(described.Where(d => d.Name != "keep"), d => Assert.Equal("default", d.Source));
        Assert.Equal(SnapshotRequest.DefaultKeep, AtelierSettings.Defaults.Keep);
    }

    [Fact]
    public void The_shared_paths_are_the_real_workflows_list_unless_the_file_gives_its_own()
    {
        var file = _folder.Combine("atelier.yaml");

        Assert.Equal(
            ["flake.nix", "flake.lock", "modules/", "lib/", "secrets/", "packages/", ".github/workflows/deploy.yaml"],
            AtelierSettings.Defaults.SharedPaths);
        Assert.Equal(Atelier.Infra.DeployTargets.DefaultSharedPaths, AtelierSettings.Parse("sharedPaths: ~\n", file).SharedPaths);
        Assert.Empty(AtelierSettings.Parse("sharedPaths: []\n", file).SharedPaths);

        var settings = AtelierSettings.Parse("keep: 3\nsharedPaths:\n  - flake.nix\n  - overlays/\n  - flake.nix\n", file);
        Assert.Equal(["flake.nix", "overlays/"], settings.SharedPaths);
        var described = settings.Describe().Single(s => s.Name == "sharedPaths");
        Assert.Equal(file + ":2", described.Source);
        Assert.Equal(["flake.nix", "overlays/"], Assert.IsAssignableFrom<IReadOnlyList<string>>(described.Value));
    }

    [Fact]
    public void The_throttle_limit_of_service_deploys_is_4_unless_the_file_says_otherwise_within_1_to_64()
    {
        Assert.Equal(ParallelDeploys.DefaultThrottleLimit, AtelierSettings.Defaults.ThrottleLimit);
        Assert.Equal(4, AtelierSettings.Defaults.ThrottleLimit);
        Assert.Equal(2, AtelierSettings.Parse("throttleLimit: 2\n", _folder.Combine("atelier.yaml")).ThrottleLimit);
        var tooMany = Assert.Throws<AtelierException>(() => AtelierSettings.Parse("throttleLimit: 65\n", _folder.Combine("atelier.yaml")));
        Assert.Contains("'throttleLimit' must be a whole number from 1 to 64 (it is '65')", tooMany.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_redact_list_adds_values_and_patterns_to_the_built_in_shapes_and_never_shows_a_value()
    {
        var file = _folder.Combine("atelier.yaml");
        var settings = AtelierSettings.Parse("redact:\n  - hunter2secret\n  - '/tok-[0-9]+/i'\n  - \"\"\n", file);

        Assert.Equal(["hunter2secret"], settings.Redaction.Values);
        Assert.Equal("*** *** API_TOKEN=***", settings.Redaction.Apply("hunter2secret TOK-12 API_TOKEN=x"));
        var described = settings.Describe().Single(s => s.Name == "redact");
        Assert.Equal(["***", "/tok-[0-9]+/i"], Assert.IsAssignableFrom<IEnumerable<string>>(described.Value));
        Assert.Equal(file + ":1", described.Source);
        Assert.Same(Atelier.Output.Redaction.BuiltIn, AtelierSettings.Defaults.Redaction);
        Assert.Same(Atelier.Output.Redaction.BuiltIn, AtelierSettings.Parse("redact: []\n", file).Redaction);
    }

    [Fact]
    public void An_http_manifest_is_kept_as_written()
    {
        var settings = AtelierSettings.Parse("manifest: https://status.example.org/services.json?v=1\n", _folder.Combine("atelier.yaml"));

        Assert.Equal("https://status.example.org/services.json?v=1", settings.Manifest);
    }

    [Fact]
    public void An_empty_or_comment_only_file_means_every_default()
    {
        Assert.Equal(SnapshotRequest.DefaultKeep, AtelierSettings.Parse(string.Empty, "a.yaml").Keep);
        Assert.Null(AtelierSettings.Parse("# nothing yet\n", "a.yaml").Manifest);
    }

    [Theory]
    [InlineData("keep: 3\nkep: 4\n", 2, "'kep' is not a setting (did you mean 'keep'?)")]
    [InlineData("identityfile: ~/.ssh/k\n", 1, "'identityfile' is not a setting (did you mean 'identityFile'?)")]
    [InlineData("colour: blue\n", 1, "'colour' is not a setting. Known settings: manifest")]
    [InlineData("machine: terebithia\nkeep: ten\n", 2, "'keep' must be a whole number from 1 to 10000 (it is 'ten')")]
    [InlineData("keep: 0\n", 1, "'keep' must be a whole number from 1 to 10000 (it is '0')")]
    [InlineData("keep:\n  - 1\n", 2, "'keep' must be a single value, not a list")]
    [InlineData("user:\n  name: x\n", 2, "'user' must be a single value, not a mapping")]
    [InlineData("user: \"Bad User\"\n", 1, "'user' is refused: it may hold only lowercase letters")]
    [InlineData("machine: \"a b\"\n", 1, "'machine' may hold only letters, digits")]
    [InlineData("systemctlPath: bin/systemctl\n", 1, "'systemctlPath' must be an absolute path on the host")]
    [InlineData("systemctlPath: \"/bin/systemctl; rm -rf /\"\n", 1, "'systemctlPath' is refused: a path may hold only letters")]
    [InlineData("deployCommand: \"nix run 'github:serokell/deploy-rs --\"\n", 1, "'deployCommand' has a single quote at position 9 that is not closed")]
    [InlineData("deployCommand: \"deploy \\\\\"\n", 1, "'deployCommand' ends with a backslash")]
    [InlineData("keep: 3\nkeep: 4\n", 2, "the settings file is not valid YAML: Duplicate key keep")]
    [InlineData("a: b: c\n", 1, "the settings file is not valid YAML")]
    [InlineData("- keep\n- 3\n", 1, "the settings file must be a mapping of setting names to values")]
    [InlineData("keep: 3\n---\nkeep: 4\n", 3, "the settings file holds more than one YAML document")]
    [InlineData("redact: hunter2secret\n", 1, "'redact' must be a list of values and /patterns/")]
    [InlineData("redact:\n  - ok-value\n  - ab\n", 3, "'redact' item is a value of 2 character(s): a value to hide needs at least 3")]
    [InlineData("redact:\n  - /[unclosed/\n", 2, "'redact' item (/[unclosed/) is not a valid regular expression")]
    [InlineData("redact:\n  - name: x\n", 2, "'redact' holds a mapping where a value or a /pattern/ belongs")]
    [InlineData("sharedPaths: modules/\n", 1, "'sharedPaths' must be a list of paths in the repository")]
    [InlineData("sharedPaths:\n  - modules/\n  - /etc/nixos\n", 3, "'sharedPaths' item is absolute")]
    [InlineData("sharedPaths:\n  - ../x\n", 2, "'sharedPaths' item has an empty, '.' or '..' part (it is '../x')")]
    [InlineData("sharedPaths:\n  - [a]\n", 2, "'sharedPaths' holds a list where a path belongs")]
    public void A_mistake_is_an_error_naming_file_line_and_key(string yaml, int line, string problem)
    {
        var file = _folder.Combine("atelier.yaml");

        var error = Assert.Throws<AtelierException>(() => AtelierSettings.Parse(yaml, file));

        Assert.Equal("SettingsInvalid", error.ErrorId);
        Assert.Equal(FailureKind.InvalidData, error.Kind);
        Assert.StartsWith($"{file}:{line}: {problem}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_project_file_wins_over_the_users_and_XDG_CONFIG_HOME_counts_only_when_absolute()
    {
        var project = _folder.Combine("repo");
        Directory.CreateDirectory(project);
        var xdg = _folder.Write("xdg/atelier/config.yaml", "keep: 7\n");
        var home = _folder.Write("home/.config/atelier/config.yaml", "keep: 8\n");

        Assert.Equal(xdg, AtelierSettings.Locate(project, _folder.Combine("xdg"), _folder.Combine("home")));
        Assert.Equal(home, AtelierSettings.Locate(project, "relative/xdg", _folder.Combine("home")));
        Assert.Equal(home, AtelierSettings.Locate(project, null, _folder.Combine("home")));
        Assert.Null(AtelierSettings.Locate(project, null, _folder.Combine("nobody")));

        var local = _folder.Write("repo/atelier.yaml", "keep: 9\n");
        Assert.Equal(local, AtelierSettings.Locate(project, _folder.Combine("xdg"), _folder.Combine("home")));
    }

    [Fact]
    public void A_changed_file_is_read_again()
    {
        var file = _folder.Write("atelier.yaml", "keep: 3\n");
        Assert.Equal(3, AtelierSettings.Load(file).Keep);
        Assert.Same(AtelierSettings.Load(file), AtelierSettings.Load(file));

        File.WriteAllText(file, "keep: 44\n");
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(5));

        Assert.Equal(44, AtelierSettings.Load(file).Keep);
    }

    [Fact]
    public void A_missing_file_is_NotFound()
    {
        var error = Assert.Throws<AtelierException>(() => AtelierSettings.Load(_folder.Combine("none.yaml")));

        Assert.Equal("SettingsNotFound", error.ErrorId);
    }
}
