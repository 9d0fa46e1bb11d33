using System.Collections;
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
public sealed class NewServiceModuleCommand : ScaffoldCmdlet
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

    /// <summary>Plans every file (nothing is written when the plan is refused), then writes each one (see <see cref="ScaffoldCmdlet"/>).</summary>
    protected override void EndProcessing() => PlanAndWrite(Request, ServiceScaffold.PlanAsync, $"New-ServiceModule {Name}", Name);

    /// <summary>The engine's request from the parameters (the plan derives the rest, such as the app workflow's host and database).</summary>
    private NewServiceRequest Request()
    {
        var infra = Resolve(InfraPath) ?? SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var machine = Machine ?? Settings.Machine
            ?? throw new AtelierException("MachineRequired", FailureKind.InvalidArgument, "Give -Machine, or set 'machine:' in atelier.yaml (see Get-AtelierSetting).");
        var app = Resolve(AppPath);
        var workflow = app is null ? null : new AppDeployWorkflowSpec
        {
            Service = Name,
            Branch = Branch,
            WorkDir = WorkDir,
            BuildCommand = BuildCommand,
            WorkflowReference = WorkflowReference ?? Run((_, token) => ServiceScaffold.WorkflowReferenceForAsync(infra, token))
                ?? throw new AtelierException("WorkflowReferenceRequired", FailureKind.InvalidArgument,
                    $"{infra} has no GitHub origin to call the reusable workflow from: give -WorkflowReference owner/repo/.github/workflows/deploy-service.yml@main."),
        };
        var port = PortRegistry.ParsePort(Port);
        return new NewServiceRequest
        {
            Module = new ServiceModuleSpec
            {
                Name = Name,
                Description = Description,
                DefaultPort = port ?? PortRegistry.DefaultFirstPort,
                Runtime = Enum.Parse<AppRuntime>(Runtime, ignoreCase: true),
                EntryPoint = EntryPoint,
                StartCommand = StartCommand,
                Sqlite = Sqlite,
                Postgres = Postgres,
                Files = DataFiles ?? [],
                StopForBackup = StopForBackup,
            },
            AutoPort = port is null,
            Block = new MachineServiceSpec
            {
                Name = Name,
                Domain = Domain,
                Repository = Repository,
                HealthUrl = HealthUrl,
                Environment = Strings(Environment),
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

    private string? Resolve(string? path) => path is null ? null : LocalPath(path);
}
