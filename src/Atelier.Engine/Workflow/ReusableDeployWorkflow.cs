using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Atelier.Workflow;

/// <summary>
/// Writes an Atelier-based <c>.github/workflows/deploy-service.yml</c> for the infrastructure repository. It keeps the
/// anchor's interface (the same inputs with the same types, defaults and required flags, the same secrets, the
/// <c>deploy-&lt;service&gt;</c> concurrency group), so existing callers keep working, and replaces the bash with
/// <c>Invoke-ServiceDeploy</c>: join the tailnet, write the optional SSH key and the host's pinned key to 0600 files,
/// install the Atelier module (<c>Install-PSResource</c>, the version pinned, cached between runs), deploy the caller's
/// exact commit. The runner's own <c>pwsh</c> runs it: no .NET set-up, no build. Inputs reach the scripts only through
/// <c>env:</c>, never through <c>${{ }}</c> in <c>run:</c> text, so no input can inject script. Same options, same bytes.
/// </summary>
public static partial class ReusableDeployWorkflow
{
    /// <summary>Where the file goes in the infrastructure repository.</summary>
    public const string RelativePath = ".github/workflows/deploy-service.yml";

    /// <summary>The anchor's default host.</summary>
    public const string DefaultHost = "terebithia";

    /// <summary>The PowerShell Gallery, PSResourceGet's repository on every runner.</summary>
    public const string Gallery = "PSGallery";

    /// <summary>The input that carries the caller's commit: a workflow that declares it is Atelier's.</summary>
    public const string CommitInput = "commit";

    /// <summary>The values of input <c>runtime</c>.</summary>
    public static readonly IReadOnlyList<string> Runtimes = ["bun", "node", "custom"];

    /// <summary>The anchor's secrets: the Tailscale OAuth client the runner joins the tailnet with.</summary>
    public static readonly IReadOnlyList<string> AnchorSecrets = ["TS_OAUTH_CLIENT_ID", "TS_OAUTH_SECRET"];

    /// <summary>The secrets the workflow declares: the anchor's two, an optional SSH key and the host's known key.</summary>
    public static readonly IReadOnlyList<WorkflowSecret> Secrets =
    [
        new("TS_OAUTH_CLIENT_ID", true, "Tailscale OAuth client ID the runner joins the tailnet with."),
        new("TS_OAUTH_SECRET", true, "Tailscale OAuth client secret."),
        new("SSH_PRIVATE_KEY", false, "Private key for the service user; without it Atelier uses the \"none\" method, which Tailscale SSH accepts."),
        new("SSH_KNOWN_HOSTS", false, "known_hosts lines for the host: its key is checked against them. Without them (or the known_hosts input) the key is trusted on first use, with a warning."),
    ];

    private static readonly string[] Header =
    [
        "Reusable deploy of one service with Atelier (Invoke-ServiceDeploy); called from each app's deploy.yaml.",
        "Inputs and secrets are the old deploy-service.yml's, so its callers keep working.",
        "Written by Atelier: write it again rather than editing it.",
    ];

    private static readonly (string Variable, string Input)[] DeployEnvironment =
    [
        ("ATELIER_SERVICE", "service"),
        ("ATELIER_HOST", "host"),
        ("ATELIER_BRANCH", "branch"),
        ("ATELIER_COMMIT", CommitInput),
        ("ATELIER_HEALTH_URL", "health_url"),
        ("ATELIER_DB_PATH", "db_path"),
        ("ATELIER_WORK_DIR", "work_dir"),
        ("ATELIER_BUILD_COMMAND", "build_command"),
        ("ATELIER_RUNTIME", "runtime"),
        ("ATELIER_INSTALL_COMMAND", "install_command"),
        ("ATELIER_LOCK_WAIT", "lock_wait"),
        ("ATELIER_VERSION", "atelier_version"),
    ];

    private static readonly (string Variable, string Input)[] InstallEnvironment =
    [
        ("ATELIER_VERSION", "atelier_version"),
        ("ATELIER_REPOSITORY", "atelier_repository"),
        ("ATELIER_REPOSITORY_URI", "atelier_repository_uri"),
    ];

    private const string SshKeyScript = """
        set -euo pipefail
        install -d -m 700 ~/.ssh
        if [ -n "${SSH_KNOWN_HOSTS:-}${ATELIER_KNOWN_HOSTS:-}" ]; then
          known="$RUNNER_TEMP/atelier-known-hosts"
          (umask 077 && printf '%s\n%s\n' "${SSH_KNOWN_HOSTS:-}" "${ATELIER_KNOWN_HOSTS:-}" | tr -d '\r' > "$known")
          echo "ATELIER_KNOWN_HOSTS_FILE=$known" >> "$GITHUB_ENV"
          echo 'The host key is checked against the given known_hosts lines.'
        fi
        if [ -z "${SSH_PRIVATE_KEY:-}" ]; then
          echo 'No SSH_PRIVATE_KEY secret: Atelier connects with the "none" method, which Tailscale SSH accepts.'
          exit 0
        fi
        key="$RUNNER_TEMP/atelier-ssh-key"
        (umask 077 && printf '%s\n' "$SSH_PRIVATE_KEY" | tr -d '\r' > "$key")
        chmod 600 "$key"
        echo "ATELIER_IDENTITY_FILE=$key" >> "$GITHUB_ENV"

        """;

    private const string InstallScript = """
        $ErrorActionPreference = 'Stop'
        $version = $env:ATELIER_VERSION
        if (Get-Module -ListAvailable -Name Atelier | Where-Object { $_.Version -eq [version]$version }) {
            "Atelier $version is installed (from the cache)."
            return
        }
        $repository = $env:ATELIER_REPOSITORY
        if ($env:ATELIER_REPOSITORY_URI) {
            # A feed or folder of its own: registered under the given name (the gallery's name is taken).
            if ($repository -eq 'PSGallery') { $repository = 'atelier' }
            Register-PSResourceRepository -Name $repository -Uri $env:ATELIER_REPOSITORY_URI -Trusted -Force
        }
        Install-PSResource -Name Atelier -Version $version -Repository $repository -TrustRepository -Scope CurrentUser -Quiet
        "Installed Atelier $version from $repository."

        """;

    private const string DeployScript = """
        $ErrorActionPreference = 'Stop'
        Import-Module Atelier -RequiredVersion $env:ATELIER_VERSION

        # Every value comes from the environment, never from an expression in this text, so no input can inject
        # script. Empty values are left out, so Invoke-ServiceDeploy's own defaults apply.
        $fromEnvironment = [ordered]@{
            Service        = 'ATELIER_SERVICE'
            ComputerName   = 'ATELIER_HOST'
            Branch         = 'ATELIER_BRANCH'
            Commit         = 'ATELIER_COMMIT'
            HealthUrl      = 'ATELIER_HEALTH_URL'
            DbPath         = 'ATELIER_DB_PATH'
            WorkDir        = 'ATELIER_WORK_DIR'
            BuildCommand   = 'ATELIER_BUILD_COMMAND'
            Runtime        = 'ATELIER_RUNTIME'
            InstallCommand = 'ATELIER_INSTALL_COMMAND'
            LockWait       = 'ATELIER_LOCK_WAIT'
            IdentityFile   = 'ATELIER_IDENTITY_FILE'
            KnownHostsFile = 'ATELIER_KNOWN_HOSTS_FILE'
        }
        $deploy = @{}
        foreach ($name in $fromEnvironment.Keys) {
            $value = [Environment]::GetEnvironmentVariable($fromEnvironment[$name])
            if (-not [string]::IsNullOrEmpty($value)) {
                $deploy[$name] = $value
            }
        }

        # Without known_hosts lines to check against, the host's key is trusted on first use: say so.
        $firstUse = -not $deploy.Contains('KnownHostsFile')
        if ($firstUse) { $deploy.AcceptNewHostKey = $true }
        try {
            Invoke-ServiceDeploy @deploy
        }
        finally {
            if ($firstUse) {
                $recorded = @(Get-Content -ErrorAction Ignore (Join-Path $HOME '.ssh/known_hosts')) -join ' | '
                $text = "No SSH_KNOWN_HOSTS secret or known_hosts input: the host key of $($deploy.ComputerName) was trusted on first use. Pin it by putting the line recorded in ~/.ssh/known_hosts in the SSH_KNOWN_HOSTS secret: $recorded"
                '::warning title=Host key trusted on first use::' + $text.Replace('%', '%25').Replace("`r", '%0D').Replace("`n", '%0A')
            }
        }

        """;

    /// <summary>The inputs the workflow declares: the anchor's seven (same order, types, defaults and required flags), then Atelier's.</summary>
    public static IReadOnlyList<WorkflowInput> Inputs(ReusableDeployWorkflowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return
        [
            new("service", "string", true, null, "Service name: its SSH user and systemd unit (atelier.services.<name>)."),
            new("host", "string", false, options.DefaultHost, "Tailscale host to deploy to."),
            new("health_url", "string", false, null, "HTTP health URL checked after the deploy; without it the systemd unit is checked."),
            new("branch", "string", false, "main", "Branch of origin to deploy."),
            new("db_path", "string", false, null, "SQLite database snapshotted before the deploy and restored on rollback."),
            new("work_dir", "string", false, ".", "Folder to install and build in, relative to ~/app."),
            new("build_command", "string", false, null, "Build command run after the install (e.g. bun run build)."),
            new("runtime", "string", false, "bun", "How the app is installed: bun, node (npm ci) or custom (no install step)."),
            new("install_command", "string", false, null, "Install command that replaces the runtime's."),
            new("lock_wait", "number", false, options.LockWait.ToString(CultureInfo.InvariantCulture), "Seconds to wait for another deploy's lock on the host."),
            new(CommitInput, "string", false, null, "Exact commit to deploy (the caller's github.sha); it must be on branch. Without it, the branch's head when the job runs."),
            new("known_hosts", "string", false, null, "known_hosts lines for the host (like the SSH_KNOWN_HOSTS secret): its key is checked against them."),
            new("atelier_version", "string", false, options.AtelierVersion, "Version of the Atelier module to install."),
            new("atelier_repository", "string", false, options.AtelierRepository, "PSResourceGet repository Atelier is installed from."),
            new("atelier_repository_uri", "string", false, null, "A NuGet feed URL or folder to install Atelier from (registered as atelier_repository, or 'atelier')."),
        ];
    }

    /// <summary>The text of the workflow file (LF line ends, final newline).</summary>
    /// <exception cref="AtelierException">An option is invalid or holds a GitHub expression.</exception>
    public static string Render(ReusableDeployWorkflowOptions? options = null)
    {
        options ??= new ReusableDeployWorkflowOptions();
        Validate(options);

        var inputs = new YamlMappingNode();
        foreach (var input in Inputs(options))
        {
            inputs.Add(WorkflowYaml.Plain(input.Name), WorkflowYaml.Mapping(
                ("description", WorkflowYaml.Text(input.Description, "description")),
                ("required", WorkflowYaml.Boolean(input.Required)),
                ("type", WorkflowYaml.Plain(input.Type)),
                ("default", input.Default is null ? null
                    : input.Type == "number" ? WorkflowYaml.Plain(input.Default)
                    : WorkflowYaml.Text(input.Default, $"default of {input.Name}"))));
        }

        var secrets = new YamlMappingNode();
        foreach (var secret in Secrets)
        {
            secrets.Add(WorkflowYaml.Plain(secret.Name), WorkflowYaml.Mapping(
                ("description", WorkflowYaml.Text(secret.Description, "description")),
                ("required", WorkflowYaml.Boolean(secret.Required))));
        }

        var steps = new YamlSequenceNode(
            WorkflowYaml.Mapping(
                ("name", WorkflowYaml.Plain("Join the tailnet")),
                ("uses", WorkflowYaml.Plain("tailscale/github-action@v4")),
                ("with", WorkflowYaml.Mapping(
                    ("oauth-client-id", Expression("secrets.TS_OAUTH_CLIENT_ID")),
                    ("oauth-secret", Expression("secrets.TS_OAUTH_SECRET")),
                    ("tags", WorkflowYaml.Text(options.TailscaleTags, "Tailscale tags")),
                    ("use-cache", WorkflowYaml.Quoted("true"))))),
            WorkflowYaml.Mapping(
                ("name", WorkflowYaml.Plain("Write the SSH key and the host's key")),
                ("env", WorkflowYaml.Mapping(
                    ("SSH_PRIVATE_KEY", Expression("secrets.SSH_PRIVATE_KEY")),
                    ("SSH_KNOWN_HOSTS", Expression("secrets.SSH_KNOWN_HOSTS")),
                    ("ATELIER_KNOWN_HOSTS", Expression("inputs.known_hosts")))),
                ("run", WorkflowYaml.Script(SshKeyScript))),
            WorkflowYaml.Mapping(
                ("name", WorkflowYaml.Plain("Cache Atelier")),
                ("uses", WorkflowYaml.Plain("actions/cache@v4")),
                ("with", WorkflowYaml.Mapping(
                    ("path", WorkflowYaml.Plain("~/.local/share/powershell/Modules/Atelier")),
                    ("key", WorkflowYaml.Plain("atelier-${{ runner.os }}-${{ inputs.atelier_version }}"))))),
            WorkflowYaml.Mapping(
                ("name", WorkflowYaml.Plain("Install Atelier")),
                ("shell", WorkflowYaml.Plain("pwsh")),
                ("env", EnvironmentOf(InstallEnvironment)),
                ("run", WorkflowYaml.Script(InstallScript))),
            WorkflowYaml.Mapping(
                ("name", WorkflowYaml.Plain("Deploy")),
                ("shell", WorkflowYaml.Plain("pwsh")),
                ("env", EnvironmentOf(DeployEnvironment)),
                ("run", WorkflowYaml.Script(DeployScript))));

        var root = WorkflowYaml.Mapping(
            ("name", WorkflowYaml.Text(options.Name, "workflow name")),
            ("on", WorkflowYaml.Mapping(
                ("workflow_call", WorkflowYaml.Mapping(
                    ("inputs", inputs),
                    ("secrets", secrets))))),
            ("jobs", WorkflowYaml.Mapping(
                ("deploy", WorkflowYaml.Mapping(
                    ("name", WorkflowYaml.Plain("deploy ${{ inputs.service }} to ${{ inputs.host }}")),
                    ("runs-on", WorkflowYaml.Plain("ubuntu-latest")),
                    ("environment", WorkflowYaml.Mapping(
                        ("name", WorkflowYaml.Plain("production")),
                        ("url", Expression("inputs.health_url")))),
                    ("concurrency", WorkflowYaml.Mapping(
                        ("group", WorkflowYaml.Plain("deploy-${{ inputs.service }}")),
                        ("cancel-in-progress", WorkflowYaml.Boolean(false)))),
                    ("steps", steps))))));

        return WorkflowYaml.Write(root, Header);
    }

    /// <summary>
    /// Whether the reusable workflow at <paramref name="path"/> is Atelier's: it declares the <c>commit</c> input (the
    /// anchor's bash workflow does not, and refuses inputs it does not declare). False when there is no such file.
    /// </summary>
    public static bool IsAtelierWorkflow(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(path)));
            return stream.Documents.Count > 0
                && stream.Documents[0].RootNode is YamlMappingNode root
                && Child(root, "on") is YamlMappingNode on
                && Child(on, "workflow_call") is YamlMappingNode call
                && Child(call, "inputs") is YamlMappingNode inputs
                && Child(inputs, CommitInput) is not null;
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return false;
        }

        static YamlNode? Child(YamlMappingNode node, string key) =>
            node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;
    }

    private static YamlMappingNode EnvironmentOf((string Variable, string Input)[] variables)
    {
        var environment = new YamlMappingNode();
        foreach (var (variable, input) in variables)
        {
            environment.Add(WorkflowYaml.Plain(variable), Expression($"inputs.{input}"));
        }

        return environment;
    }

    /// <summary>Checks secret names: GitHub's form (letters, digits, '_', not starting with a digit or GITHUB_), no repeats.</summary>
    /// <exception cref="AtelierException"><c>WorkflowSecretNameInvalid</c>.</exception>
    public static void ValidateSecretNames(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in names)
        {
            if (name is null || !SecretNamePattern().IsMatch(name) || name.StartsWith("GITHUB_", StringComparison.OrdinalIgnoreCase))
            {
                throw new AtelierException(
                    "WorkflowSecretNameInvalid",
                    FailureKind.InvalidArgument,
                    $"\"{name}\" is not a secret name: letters, digits and '_', not starting with a digit or GITHUB_.");
            }

            if (!seen.Add(name))
            {
                throw new AtelierException("WorkflowSecretNameInvalid", FailureKind.InvalidArgument, $"The secret {name} is listed twice.");
            }
        }
    }

    private static YamlScalarNode Expression(string expression) => WorkflowYaml.Plain($"${{{{ {expression} }}}}");

    private static void Validate(ReusableDeployWorkflowOptions options)
    {
        foreach (var (value, field) in new[]
        {
            (options.Name, "workflow name"),
            (options.DefaultHost, "default host"),
            (options.AtelierRepository, "Atelier repository"),
            (options.AtelierVersion, "Atelier version"),
            (options.TailscaleTags, "Tailscale tags"),
        })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new AtelierException("WorkflowValueMissing", FailureKind.InvalidArgument, $"The workflow needs a {field}.");
            }

            WorkflowYaml.RefuseExpression(value, field);
        }

        if (!RepositoryPattern().IsMatch(options.AtelierRepository))
        {
            throw new AtelierException(
                "WorkflowValueInvalid",
                FailureKind.InvalidArgument,
                $"The Atelier repository \"{options.AtelierRepository}\" is not a PSResourceGet repository name (letters, digits, '.', '_', '-').");
        }

        if (!VersionPattern().IsMatch(options.AtelierVersion))
        {
            throw new AtelierException("WorkflowValueInvalid", FailureKind.InvalidArgument, $"The Atelier version \"{options.AtelierVersion}\" is not a version (like 0.1.0).");
        }

        if (options.LockWait < 0)
        {
            throw new AtelierException("WorkflowValueInvalid", FailureKind.InvalidArgument, "The lock wait cannot be negative.");
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex SecretNamePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex(@"^[0-9]+(\.[0-9]+){1,3}(-[0-9A-Za-z.-]+)?$")]
    private static partial Regex VersionPattern();
}
