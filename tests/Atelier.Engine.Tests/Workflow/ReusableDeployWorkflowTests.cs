using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Atelier.Tests.Shell;
using Atelier.Workflow;
using YamlDotNet.RepresentationModel;

namespace Atelier.Tests.Workflow;

/// <summary><see cref="ReusableDeployWorkflow.Render"/>, read back with YamlDotNet and its scripts run by real shells.</summary>
[UnsupportedOSPlatform("windows")]
public sealed partial class ReusableDeployWorkflowTests
{
    /// <summary>
    /// The anchor's <c>deploy-service.yml</c> interface, as its file declares it: name, required, type, default.
    /// Copied from the file, not from the code under test, so a drift fails here.
    /// </summary>
    private static readonly (string Name, bool Required, string Type, string? Default)[] Anchor =
    [
        ("service", true, "string", null),
        ("host", false, "string", "terebithia"),
        ("health_url", false, "string", null),
        ("branch", false, "string", "main"),
        ("db_path", false, "string", null),
        ("work_dir", false, "string", "."),
        ("build_command", false, "string", null),
    ];

    public static TheoryData<string, bool, string, string?> AnchorInputs()
    {
        var data = new TheoryData<string, bool, string, string?>();
        foreach (var (name, required, type, defaultValue) in Anchor)
        {
            data.Add(name, required, type, defaultValue);
        }

        return data;
    }

    private static readonly string[] AnchorSecretNames = ["TS_OAUTH_CLIENT_ID", "TS_OAUTH_SECRET"];

    [Theory]
    [MemberData(nameof(AnchorInputs))]
    public void Every_anchor_input_is_declared_as_the_anchor_declares_it(string name, bool required, string type, string? defaultValue)
    {
        var input = Yaml.Map(Yaml.Parse(ReusableDeployWorkflow.Render()), "on", "workflow_call", "inputs", name);
        Assert.Equal(required ? "true" : "false", Yaml.Plain(input, "required"));
        Assert.Equal(type, Yaml.Text(input, "type"));
        if (defaultValue is null)
        {
            Assert.False(Yaml.Has(input, "default"));
        }
        else
        {
            Assert.Equal(defaultValue, Yaml.Text(input, "default"));
        }
    }

    [Fact]
    public void Atelier_inputs_are_optional_so_anchor_callers_keep_working()
    {
        var inputs = Yaml.Map(Yaml.Parse(ReusableDeployWorkflow.Render()), "on", "workflow_call", "inputs");
        var anchor = Anchor.Select(input => input.Name).ToHashSet();
        foreach (var (key, value) in inputs.Children)
        {
            if (!anchor.Contains(((YamlScalarNode)key).Value!))
            {
                Assert.Equal("false", Yaml.Plain(value, "required"));
            }
        }

        Assert.Equal("PSGallery", Yaml.Text(inputs, "atelier_repository", "default"));
        Assert.Equal(AtelierProject.Version, Yaml.Text(inputs, "atelier_version", "default"));
        Assert.Matches("^[0-9]+\\.[0-9]+\\.[0-9]+$", AtelierProject.Version);
        Assert.False(Yaml.Has(Yaml.Map(inputs, "commit"), "default"));
        Assert.False(Yaml.Has(Yaml.Map(inputs, "known_hosts"), "default"));
        Assert.Equal("number", Yaml.Text(inputs, "lock_wait", "type"));
        Assert.Equal("300", Yaml.Plain(inputs, "lock_wait", "default"));
        Assert.Equal("bun", Yaml.Text(inputs, "runtime", "default"));
        Assert.Equal(
            ReusableDeployWorkflow.Inputs(new ReusableDeployWorkflowOptions()).Select(input => input.Name),
            inputs.Children.Keys.Select(key => ((YamlScalarNode)key).Value));
    }

    [Fact]
    public void The_anchor_secrets_are_required_and_the_SSH_key_is_optional()
    {
        var secrets = Yaml.Map(Yaml.Parse(ReusableDeployWorkflow.Render()), "on", "workflow_call", "secrets");
        foreach (var name in AnchorSecretNames)
        {
            Assert.Equal("true", Yaml.Plain(secrets, name, "required"));
        }

        Assert.Equal("false", Yaml.Plain(secrets, "SSH_PRIVATE_KEY", "required"));
        Assert.Equal("false", Yaml.Plain(secrets, "SSH_KNOWN_HOSTS", "required"));
        Assert.Equal(AnchorSecretNames, ReusableDeployWorkflow.AnchorSecrets);
    }

    [Fact]
    public void One_deploy_per_service_at_a_time_and_none_cancelled()
    {
        var job = Yaml.Map(Yaml.Parse(ReusableDeployWorkflow.Render()), "jobs", "deploy");
        Assert.Equal("deploy-${{ inputs.service }}", Yaml.Text(job, "concurrency", "group"));
        Assert.Equal("false", Yaml.Plain(job, "concurrency", "cancel-in-progress"));
        Assert.Equal("ubuntu-latest", Yaml.Text(job, "runs-on"));
    }

    [Fact]
    public void No_run_script_interpolates_an_expression_and_inputs_arrive_through_env()
    {
        var steps = Steps(ReusableDeployWorkflow.Render());
        var runs = steps.Where(step => Yaml.Has(step, "run")).ToList();
        Assert.Equal(3, runs.Count);
        foreach (var step in runs)
        {
            Assert.DoesNotContain("${{", Yaml.Text(step, "run"), StringComparison.Ordinal);
        }

        // Every anchor input reaches the deploy script through an env variable the script reads.
        var deploy = Step(steps, "Deploy");
        var environment = Yaml.Map(deploy, "env");
        var script = Yaml.Text(deploy, "run");
        foreach (var name in Anchor.Select(input => input.Name))
        {
            var variable = environment.Children.Single(pair => ((YamlScalarNode)pair.Value).Value == $"${{{{ inputs.{name} }}}}").Key;
            Assert.Contains($"'{((YamlScalarNode)variable).Value}'", script, StringComparison.Ordinal);
        }

        // And every variable the script reads is set: by the step's env, or by the SSH key step through GITHUB_ENV.
        foreach (Match read in EnvironmentName().Matches(script))
        {
            var name = read.Groups[1].Value;
            Assert.True(Yaml.Has(environment, name) || name is "ATELIER_IDENTITY_FILE" or "ATELIER_KNOWN_HOSTS_FILE", $"{name} is read but never set.");
        }

        Assert.Contains("ATELIER_IDENTITY_FILE=", Yaml.Text(Step(steps, "Write the SSH key and the host's key"), "run"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_job_joins_the_tailnet_installs_the_pinned_Atelier_package_cached_and_deploys_with_it()
    {
        var steps = Steps(ReusableDeployWorkflow.Render());
        Assert.Equal(["Join the tailnet", "Write the SSH key and the host's key", "Cache Atelier", "Install Atelier", "Deploy"], steps.Select(step => Yaml.Text(step, "name")));
        Assert.DoesNotContain(steps, step => Yaml.Has(step, "uses") && Yaml.Text(step, "uses").StartsWith("actions/setup-dotnet@", StringComparison.Ordinal));

        var tailnet = Step(steps, "Join the tailnet");
        Assert.StartsWith("tailscale/github-action@", Yaml.Text(tailnet, "uses"), StringComparison.Ordinal);
        Assert.Equal("${{ secrets.TS_OAUTH_CLIENT_ID }}", Yaml.Text(tailnet, "with", "oauth-client-id"));
        Assert.Equal("${{ secrets.TS_OAUTH_SECRET }}", Yaml.Text(tailnet, "with", "oauth-secret"));
        Assert.Equal("tag:ci", Yaml.Text(tailnet, "with", "tags"));

        var keys = Step(steps, "Write the SSH key and the host's key");
        Assert.Equal("${{ secrets.SSH_PRIVATE_KEY }}", Yaml.Text(keys, "env", "SSH_PRIVATE_KEY"));
        Assert.Equal("${{ secrets.SSH_KNOWN_HOSTS }}", Yaml.Text(keys, "env", "SSH_KNOWN_HOSTS"));
        Assert.Equal("${{ inputs.known_hosts }}", Yaml.Text(keys, "env", "ATELIER_KNOWN_HOSTS"));

        var cache = Step(steps, "Cache Atelier");
        Assert.StartsWith("actions/cache@", Yaml.Text(cache, "uses"), StringComparison.Ordinal);
        Assert.Equal("~/.local/share/powershell/Modules/Atelier", Yaml.Text(cache, "with", "path"));
        Assert.Equal("atelier-${{ runner.os }}-${{ inputs.atelier_version }}", Yaml.Text(cache, "with", "key"));

        var install = Step(steps, "Install Atelier");
        Assert.Equal("pwsh", Yaml.Text(install, "shell"));
        Assert.Contains("Install-PSResource -Name Atelier -Version $version -Repository $repository -TrustRepository -Scope CurrentUser", Yaml.Text(install, "run"), StringComparison.Ordinal);
        Assert.Equal("${{ inputs.atelier_version }}", Yaml.Text(install, "env", "ATELIER_VERSION"));

        var deploy = Step(steps, "Deploy");
        Assert.Equal("pwsh", Yaml.Text(deploy, "shell"));
        var script = Yaml.Text(deploy, "run");
        Assert.Contains("Import-Module Atelier -RequiredVersion $env:ATELIER_VERSION", script, StringComparison.Ordinal);
        Assert.Contains("Invoke-ServiceDeploy @deploy", script, StringComparison.Ordinal);
        Assert.Contains("if ($firstUse) { $deploy.AcceptNewHostKey = $true }", script, StringComparison.Ordinal);
        Assert.Contains("::warning title=Host key trusted on first use::", script, StringComparison.Ordinal);
        foreach (var parameter in new[] { "Service", "ComputerName", "Branch", "Commit", "HealthUrl", "DbPath", "WorkDir", "BuildCommand", "IdentityFile", "KnownHostsFile" })
        {
            Assert.Matches(new Regex($@"^\s+{parameter}\s+= 'ATELIER_[A-Z_]+'$", RegexOptions.Multiline), script);
        }
    }

    [Fact]
    public void The_options_set_the_defaults_and_read_back_exactly()
    {
        const string Hostile = "yes #1: 'x'\n\"é\"";
        var root = Yaml.Parse(ReusableDeployWorkflow.Render(new ReusableDeployWorkflowOptions
        {
            Name = Hostile,
            DefaultHost = Hostile,
            AtelierRepository = "my-feed",
            AtelierVersion = "1.2.3-beta.1",
            TailscaleTags = Hostile,
            LockWait = 0,
        }));

        Assert.Equal(Hostile, Yaml.Text(root, "name"));
        var inputs = Yaml.Map(root, "on", "workflow_call", "inputs");
        Assert.Equal(Hostile, Yaml.Text(inputs, "host", "default"));
        Assert.Equal("my-feed", Yaml.Text(inputs, "atelier_repository", "default"));
        Assert.Equal("1.2.3-beta.1", Yaml.Text(inputs, "atelier_version", "default"));
        Assert.Equal("0", Yaml.Plain(inputs, "lock_wait", "default"));
        Assert.Equal(Hostile, Yaml.Text(Step(Steps(root), "Join the tailnet"), "with", "tags"));
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        var good = new ReusableDeployWorkflowOptions();
        Assert.Equal("WorkflowExpressionRefused", Assert.Throws<AtelierException>(() => ReusableDeployWorkflow.Render(good with { AtelierVersion = "${{ github.ref }}" })).ErrorId);
        Assert.Equal("WorkflowValueInvalid", Assert.Throws<AtelierException>(() => ReusableDeployWorkflow.Render(good with { AtelierVersion = "latest" })).ErrorId);
        Assert.Equal("WorkflowExpressionRefused", Assert.Throws<AtelierException>(() => ReusableDeployWorkflow.Render(good with { DefaultHost = "h${{" })).ErrorId);
        Assert.Equal("WorkflowValueInvalid", Assert.Throws<AtelierException>(() => ReusableDeployWorkflow.Render(good with { AtelierRepository = "me/atelier" })).ErrorId);
        Assert.Equal("WorkflowValueInvalid", Assert.Throws<AtelierException>(() => ReusableDeployWorkflow.Render(good with { LockWait = -5 })).ErrorId);
        Assert.Equal("WorkflowValueMissing", Assert.Throws<AtelierException>(() => ReusableDeployWorkflow.Render(good with { TailscaleTags = "" })).ErrorId);
    }

    [Fact]
    public void The_same_options_give_the_same_bytes()
    {
        var first = ReusableDeployWorkflow.Render();
        Assert.Equal(first, ReusableDeployWorkflow.Render(new ReusableDeployWorkflowOptions()));
        Assert.DoesNotContain('\r', first);
        Assert.EndsWith("\n", first, StringComparison.Ordinal);
        Assert.False(first.EndsWith("\n\n", StringComparison.Ordinal));
    }

    [Fact]
    public void The_SSH_key_step_writes_the_key_to_a_0600_file_and_names_it_for_the_deploy()
    {
        var script = Yaml.Text(Step(Steps(ReusableDeployWorkflow.Render()), "Write the SSH key and the host's key"), "run");
        var root = Directory.CreateTempSubdirectory("atelier-workflow-");
        try
        {
            var runnerTemp = Directory.CreateDirectory(Path.Combine(root.FullName, "runner-temp")).FullName;
            var githubEnv = Path.Combine(root.FullName, "github-env");
            File.WriteAllText(githubEnv, "EARLIER=1\n");
            var environment = new Dictionary<string, string>
            {
                ["HOME"] = root.FullName,
                ["RUNNER_TEMP"] = runnerTemp,
                ["GITHUB_ENV"] = githubEnv,
                ["SSH_PRIVATE_KEY"] = "-----BEGIN OPENSSH PRIVATE KEY-----\r\nb3Blbn 'quoted' $(id)\r\n-----END OPENSSH PRIVATE KEY-----",
            };

            // As Actions runs a bash step: bash --noprofile --norc -eo pipefail {0}.
            var result = Sh.Exec("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], environment);
            Assert.True(result.ExitCode == 0, result.Error);
            var key = Path.Combine(runnerTemp, "atelier-ssh-key");
            Assert.Equal(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn 'quoted' $(id)\n-----END OPENSSH PRIVATE KEY-----\n",
                File.ReadAllText(key));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            Assert.Equal($"EARLIER=1\nATELIER_IDENTITY_FILE={key}\n", File.ReadAllText(githubEnv));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(root.FullName, ".ssh")));
            Assert.DoesNotContain("b3Blbn", result.Output, StringComparison.Ordinal);

            // Without the secret (Tailscale SSH): nothing written, the deploy uses the "none" method.
            File.Delete(key);
            environment["SSH_PRIVATE_KEY"] = string.Empty;
            result = Sh.Exec("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], environment);
            Assert.True(result.ExitCode == 0, result.Error);
            Assert.False(File.Exists(key));
            Assert.Equal($"EARLIER=1\nATELIER_IDENTITY_FILE={key}\n", File.ReadAllText(githubEnv));

            // The host's pinned key: the secret's lines and the input's, to a 0600 file named for the deploy.
            environment["SSH_KNOWN_HOSTS"] = "terebithia ssh-ed25519 AAAAsecret\r\n";
            environment["ATELIER_KNOWN_HOSTS"] = "[terebithia]:2222 ssh-ed25519 AAAAinput";
            result = Sh.Exec("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], environment);
            Assert.True(result.ExitCode == 0, result.Error);
            var known = Path.Combine(runnerTemp, "atelier-known-hosts");
            Assert.Equal("terebithia ssh-ed25519 AAAAsecret\n\n[terebithia]:2222 ssh-ed25519 AAAAinput\n", File.ReadAllText(known));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(known));
            Assert.EndsWith($"ATELIER_KNOWN_HOSTS_FILE={known}\n", File.ReadAllText(githubEnv), StringComparison.Ordinal);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void PowerShell_parses_the_deploy_script_without_errors()
    {
        var script = Yaml.Text(Step(Steps(ReusableDeployWorkflow.Render()), "Deploy"), "run");
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, ".config", "dotnet-tools.json")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, script);
            const string Parse = """
                $errors = $null
                $null = [System.Management.Automation.Language.Parser]::ParseFile($env:ATELIER_PARSE_FILE, [ref]$null, [ref]$errors)
                $errors | ForEach-Object { "$($_.Extent.StartLineNumber): $($_.Message)" }
                'parsed'
                """;
            var result = Sh.Run(
                "cd \"$1\" && exec dotnet pwsh -NoProfile -NonInteractive -Command \"$2\"",
                [root.FullName, Parse],
                new Dictionary<string, string> { ["ATELIER_PARSE_FILE"] = file });
            Assert.True(result.ExitCode == 0, result.Error);
            Assert.Equal("parsed", result.Output.Trim());
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static List<YamlMappingNode> Steps(string text) => Steps(Yaml.Parse(text));

    private static List<YamlMappingNode> Steps(YamlMappingNode root) =>
        [.. Assert.IsType<YamlSequenceNode>(Yaml.At(root, "jobs", "deploy", "steps")).Children.Cast<YamlMappingNode>()];

    private static YamlMappingNode Step(IEnumerable<YamlMappingNode> steps, string name) => steps.Single(step => Yaml.Text(step, "name") == name);

    [GeneratedRegex("'(ATELIER_[A-Z_]+)'")]
    private static partial Regex EnvironmentName();
}
