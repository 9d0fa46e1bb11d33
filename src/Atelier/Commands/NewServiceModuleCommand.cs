using System.Collections;
using System.Globalization;
using System.Management.Automation;
using Atelier.Commands.Completion;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;
using Atelier.Nix;
using Atelier.Scaffold;
using Atelier.Workflow;

namespace Atelier.Commands;

/// <summary>
/// New-ServiceModule: adds a service to the infrastructure repository in one step: its mkService module, its block on
/// a machine, and the app's deploy workflow (plus, when asked, the reusable deploy workflow).
/// </summary>
[Cmdlet(VerbsCommon.New, "ServiceModule", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PlannedFile))]
public sealed class NewServiceModuleCommand : AtelierCmdlet
{
    /// <summary>The service's name: module file, options, system user and unit.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateServiceName]
    public string Name { get; set; } = string.Empty;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Description { get; set; }

    /// <summary>A port number, or Auto.</summary>
    [Parameter]
    [ValidatePattern("^(?i:auto|[0-9]{1,5})\\z")]
    public string Port { get; set; } = "Auto";

    /// <remarks>A string, not the engine's enum: a public cmdlet must not hold engine value types.</remarks>
    [Parameter]
    [ValidateSet("bun", "node", "custom", IgnoreCase = true)]
    public string Runtime { get; set; } = "bun";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string EntryPoint { get; set; } = "src/index.ts";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StartCommand { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Domain { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Repository { get; set; }

    [Parameter]
    [ValidateHealthUrl]
    public string? HealthUrl { get; set; }

    [Parameter]
    public Hashtable? Environment { get; set; }

    /// <summary>An agenix secret used as the unit's environment file.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Secret { get; set; }

    [Parameter]
    [Alias("DbPath")]
    [ValidateNotNullOrEmpty]
    public string? Sqlite { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Postgres { get; set; }

    [Parameter]
    [Alias("Files")]
    public string[]? DataFiles { get; set; }

    [Parameter]
    public bool StopForBackup { get; set; } = true;

    [Parameter]
    public SwitchParameter NoCaddy { get; set; }

    /// <summary>Requests per window from one address.</summary>
    [Parameter]
    [ValidateRange(1, 1_000_000)]
    public int RateLimit { get; set; }

    [Parameter]
    [ValidatePattern("^[0-9]+(ms|s|m|h)\\z")]
    public string RateLimitWindow { get; set; } = "1m";

    /// <summary>The machine to enable the service on. Default: the settings file's machine.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MachineNameCompleter))]
    public string? Machine { get; set; }

    /// <summary>The infrastructure repository. Default: the current location.</summary>
    [Parameter]
    [Alias("InfrastructurePath")]
    [ValidateNotNullOrEmpty]
    public string? InfraPath { get; set; }

    /// <summary>The app's repository, for its deploy workflow.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AppPath { get; set; }

    [Parameter]
    [ValidateBranch]
    public string Branch { get; set; } = "main";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkDir { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BuildCommand { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkflowReference { get; set; }

    [Parameter]
    public SwitchParameter IncludeReusableWorkflow { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        IReadOnlyList<PlannedFile> files;
        try
        {
            files = ServiceScaffold.Plan(Request());
        }
        catch (Exception ex) when (ex is AtelierException or ArgumentException)
        {
            ThrowTerminatingError(ErrorFor(ex, Name));
            return;
        }

        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true };
        foreach (var file in files)
        {
            if (file.Action == FileAction.Unchanged)
            {
                WriteVerbose($"{file.DisplayPath} is already as it should be.");
                if (!whatIf)
                {
                    WriteObject(file);
                }

                continue;
            }

            var verb = file.Action == FileAction.Created ? "Create" : "Change";
            if (!ShouldChange($"{verb} {file.Path}:\n{file.Diff}", $"{verb} {file.Path}?", $"New-ServiceModule {Name}"))
            {
                continue;
            }

            try
            {
                file.Write();
                WriteObject(file);
            }
            catch (Exception ex) when (ex is AtelierException or IOException or UnauthorizedAccessException)
            {
                ThrowTerminatingError(ErrorFor(ex, file.Path));
            }
        }
    }

    private NewServiceRequest Request()
    {
        var infra = Resolve(InfraPath) ?? SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var machine = Machine ?? Settings.Machine
            ?? throw new AtelierException("MachineRequired", FailureKind.InvalidArgument, "Give -Machine, or set 'machine:' in atelier.yaml (see Get-AtelierSetting).");
        var auto = string.Equals(Port, "auto", StringComparison.OrdinalIgnoreCase);
        var runtime = Enum.Parse<AppRuntime>(Runtime, ignoreCase: true);
        var app = Resolve(AppPath);
        AppDeployWorkflowSpec? workflow = null;
        if (app is not null)
        {
            workflow = new AppDeployWorkflowSpec
            {
                Service = Name,
                Host = machine,
                HealthUrl = HealthUrl,
                DbPath = Sqlite is null ? null : ServiceModuleWriter.HostPath(Name, Sqlite),
                Branch = Branch,
                WorkDir = WorkDir,
                BuildCommand = BuildCommand,
                Runtime = runtime == AppRuntime.Bun ? null : Runtime.ToLowerInvariant(),
                // Atelier's reusable workflow (written now, or already in the repository) deploys the push's exact commit.
                PassCommit = IncludeReusableWorkflow || ReusableDeployWorkflow.IsAtelierWorkflow(Path.Join(infra, ReusableDeployWorkflow.RelativePath)),
                WorkflowReference = WorkflowReference ?? Run((_, token) => ServiceScaffold.WorkflowReferenceForAsync(infra, token))
                    ?? throw new AtelierException("WorkflowReferenceRequired", FailureKind.InvalidArgument,
                        $"{infra} has no GitHub origin to call the reusable workflow from: give -WorkflowReference owner/repo/.github/workflows/deploy-service.yml@main."),
            };
        }

        return new NewServiceRequest
        {
            Module = new ServiceModuleSpec
            {
                Name = Name,
                Description = Description,
                DefaultPort = auto ? PortRegistry.DefaultFirstPort : PortNumber(),
                Runtime = runtime,
                EntryPoint = EntryPoint,
                StartCommand = StartCommand,
                Sqlite = Sqlite,
                Postgres = Postgres,
                Files = DataFiles ?? [],
                StopForBackup = StopForBackup,
            },
            AutoPort = auto,
            Block = new MachineServiceSpec
            {
                Name = Name,
                Domain = Domain,
                Repository = RepositoryFor(app),
                HealthUrl = HealthUrl,
                Environment = EnvironmentVariables(),
                Secret = Secret,
                CaddyEnable = NoCaddy ? false : null,
                RateLimit = IsBound(nameof(RateLimit)) ? new RateLimit(RateLimit, RateLimitWindow) : null,
            },
            Machine = machine,
            InfraRoot = infra,
            AppRoot = app,
            Workflow = workflow,
            ReusableWorkflow = IncludeReusableWorkflow ? new ReusableDeployWorkflowOptions() : null,
            Force = Force,
        };
    }

    /// <summary>
    /// -Repository, else the app's own origin: mkService clones <c>~/app</c> from it on the first start, and without one
    /// the first deploy finds no <c>~/app</c>.
    /// </summary>
    private string? RepositoryFor(string? app)
    {
        if (Repository is not null)
        {
            return Repository;
        }

        if (app is not null && Run((_, token) => ServiceScaffold.OriginUrlAsync(app, token)) is { } origin)
        {
            WriteVerbose($"{Name}: the machine block's repository is the app's origin, {origin}");
            return origin;
        }

        WriteWarning($"{Name} gets no repository (give -Repository, or -AppPath of a git checkout with an origin): mkService clones ~/app from it on the first start, so without one ~/app must be cloned on the host by hand before the first deploy.");
        return null;
    }

    private int PortNumber()
    {
        var port = int.Parse(Port, CultureInfo.InvariantCulture);
        return port is >= 1 and <= 65535
            ? port
            : throw new AtelierException("InvalidPort", FailureKind.InvalidArgument, $"The port {port} is not between 1 and 65535.");
    }

    private Dictionary<string, string> EnvironmentVariables()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment ?? [])
        {
            var key = (entry.Key is PSObject k ? k.BaseObject : entry.Key)?.ToString() ?? string.Empty;
            var value = (entry.Value is PSObject v ? v.BaseObject : entry.Value)?.ToString() ?? string.Empty;
            variables[key] = value;
        }

        return variables;
    }

    private string? Resolve(string? path) => path is null ? null : LocalPath(path);
}
