using System.Text.RegularExpressions;
using Atelier.Nix;
using Atelier.Transport;
using Atelier.Workflow;

namespace Atelier.Scaffold;

/// <summary>Everything New-ServiceModule writes for one new service.</summary>
public sealed record NewServiceRequest
{
    /// <summary>The module's <c>mkService</c> arguments; its <see cref="ServiceModuleSpec.DefaultPort"/> is ignored when <see cref="AutoPort"/>.</summary>
    public required ServiceModuleSpec Module { get; init; }

    /// <summary>Picks the service's port: the one it already has, else the lowest free one from 3000.</summary>
    public bool AutoPort { get; init; }

    /// <summary>The service's block on the machine.</summary>
    public required MachineServiceSpec Block { get; init; }

    /// <summary>The machine the service is enabled on (<c>machines/&lt;machine&gt;/default.nix</c>).</summary>
    public required string Machine { get; init; }

    /// <summary>The infrastructure repository's folder.</summary>
    public required string InfraRoot { get; init; }

    /// <summary>The app repository's folder, or null to write no app workflow.</summary>
    public string? AppRoot { get; init; }

    /// <summary>
    /// The app's deploy workflow, with <see cref="AppRoot"/>: its branch, work folder, build command and reusable
    /// workflow; the plan fills in the rest from the request (see <see cref="ServiceScaffold.AppWorkflowFor"/>).
    /// </summary>
    public AppDeployWorkflowSpec? Workflow { get; init; }

    /// <summary>Also writes the infrastructure repository's reusable deploy workflow.</summary>
    public ReusableDeployWorkflowOptions? ReusableWorkflow { get; init; }

    /// <summary>Replaces a module, machine block or workflow that exists with different contents.</summary>
    public bool Force { get; init; }
}

/// <summary>
/// Plans the files that add a service: the module, the machine file with the service's block, the app's deploy
/// workflow and optionally the reusable workflow. Planning reads and checks everything (names, the port against every
/// other service, what exists already) before any file is written, so a refused request writes nothing.
/// </summary>
public static partial class ServiceScaffold
{
    /// <summary>What a planned file is.</summary>
    public const string ModuleKind = "Module";
    public const string MachineKind = "Machine";
    public const string WorkflowKind = "Workflow";
    public const string ReusableWorkflowKind = "ReusableWorkflow";

    /// <summary>The files to write, in order: module, machine, app workflow, reusable workflow.</summary>
    /// <exception cref="AtelierException">
    /// <c>PortTaken</c> naming the holder, <c>ServiceModuleExists</c>, <c>MachineServiceExists</c>,
    /// <c>WorkflowExists</c> (each unless <see cref="NewServiceRequest.Force"/>), <c>MachineNotFound</c>, and the
    /// Nix and workflow writers' own errors.
    /// </exception>
    public static IReadOnlyList<PlannedFile> Plan(NewServiceRequest request)
    {
        var name = NixNames.Service(request.Module.Name);
        var machine = NixNames.Machine(request.Machine);
        var registry = PortRegistry.Scan(request.InfraRoot);
        if (!registry.Machines.Contains(machine))
        {
            throw new AtelierException("MachineNotFound", FailureKind.NotFound,
                $"There is no machines/{machine}/default.nix in {registry.Root}. Machines: {string.Join(", ", registry.Machines)}.");
        }

        var port = request.AutoPort ? OwnPort(registry, name) ?? registry.NextFree() : request.Module.DefaultPort;
        var holder = registry.Holders(port).FirstOrDefault(c => c.Service != name);
        if (holder is not null)
        {
            throw new AtelierException("PortTaken", FailureKind.ResourceBusy,
                $"Port {port} is taken by the service '{holder.Service}' ({holder.File}:{holder.Line}, {holder.Setting}); the lowest free port is {registry.NextFree()}.")
            {
                Hints = [Hint.PortTaken],
            };
        }

        var files = new List<PlannedFile>();
        var module = request.Module.Validate() with { DefaultPort = port };
        var modulePath = ServiceModuleWriter.RelativePath(name);
        files.Add(Checked(PlannedFile.For(Path.Join(registry.Root, modulePath), modulePath, ModuleKind, ServiceModuleWriter.Render(module)),
            request.Force, "ServiceModuleExists", $"The module {modulePath} exists with different contents"));

        var machinePath = MachineBlockWriter.RelativePath(machine);
        var machineFile = Path.Join(registry.Root, machinePath);
        var edit = MachineFileEditor.AddService(File.ReadAllText(machineFile), request.Block with { Name = name }, request.Force, machinePath);
        if (edit.Kind == MachineEditKind.Conflict)
        {
            throw new AtelierException("MachineServiceExists", FailureKind.ResourceBusy,
                $"{machinePath}:{edit.Line} already enables '{name}' with different settings.")
            {
                Hints = [Hint.MachineBlockReplaced],
            };
        }

        files.Add(PlannedFile.For(machineFile, machinePath, MachineKind, edit.Text));

        if (request.AppRoot is not null && request.Workflow is not null)
        {
            var workflow = AppDeployWorkflow.Render(AppWorkflowFor(request, name));
            files.Add(Checked(PlannedFile.For(Path.Join(request.AppRoot, AppDeployWorkflow.RelativePath), AppDeployWorkflow.RelativePath, WorkflowKind, workflow),
                request.Force, "WorkflowExists", $"The app's {AppDeployWorkflow.RelativePath} exists with different contents"));
        }

        if (request.ReusableWorkflow is not null)
        {
            files.Add(Checked(PlannedFile.For(Path.Join(registry.Root, ReusableDeployWorkflow.RelativePath), ReusableDeployWorkflow.RelativePath, ReusableWorkflowKind, ReusableDeployWorkflow.Render(request.ReusableWorkflow)),
                request.Force, "WorkflowExists", $"{ReusableDeployWorkflow.RelativePath} exists with different contents (an older deploy workflow?)"));
        }

        return files;
    }

    /// <summary>
    /// <see cref="Plan"/>, after taking what the request leaves out from the app's checkout: without a repository for the
    /// machine block, the app's origin, since mkService clones <c>~/app</c> from it on the first start. With neither,
    /// the plan goes on and a warning says the first deploy finds no <c>~/app</c> unless it is cloned by hand.
    /// </summary>
    public static async Task<IReadOnlyList<PlannedFile>> PlanAsync(NewServiceRequest request, IReporter reporter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(reporter);
        if (request.Block.Repository is null)
        {
            var origin = request.AppRoot is null ? null : await OriginUrlAsync(request.AppRoot, cancellationToken).ConfigureAwait(false);
            if (origin is not null)
            {
                reporter.Verbose($"{request.Module.Name}: the machine block's repository is the app's origin, {origin}");
                request = request with { Block = request.Block with { Repository = origin } };
            }
            else
            {
                reporter.Warning($"{request.Module.Name} gets no repository: mkService clones ~/app from it on the first start, so without one ~/app must be cloned on the host by hand before the first deploy.", [Hint.ServiceRepository]);
            }
        }

        return Plan(request);
    }

    /// <summary>
    /// The app's deploy workflow as the rest of <paramref name="request"/> says: the service <paramref name="name"/>, its
    /// machine as the host, the machine block's health URL, the module's database as a path on the host, the runtime
    /// unless bun (the workflow's default), and the pushed commit passed on when Atelier's reusable workflow is written
    /// now or is already in the infrastructure repository (it deploys the push's exact commit).
    /// </summary>
    internal static AppDeployWorkflowSpec AppWorkflowFor(NewServiceRequest request, string name) => request.Workflow! with
    {
        Service = name,
        Host = request.Machine,
        HealthUrl = request.Block.HealthUrl,
        DbPath = request.Module.Sqlite is null ? null : ServiceModuleWriter.HostPath(request.Module.Name, request.Module.Sqlite),
        Runtime = request.Module.Runtime == Deploy.AppRuntime.Bun ? null : request.Module.Runtime.ToString().ToLowerInvariant(),
        PassCommit = request.ReusableWorkflow is not null || ReusableDeployWorkflow.IsAtelierWorkflow(Path.Join(request.InfraRoot, ReusableDeployWorkflow.RelativePath)),
    };

    /// <summary>
    /// The reusable workflow of the repository in <paramref name="infraRoot"/>: <c>owner/repo/.github/workflows/deploy-service.yml@main</c>
    /// from its GitHub origin, or null when it has no GitHub origin.
    /// </summary>
    public static async Task<string?> WorkflowReferenceForAsync(string infraRoot, CancellationToken cancellationToken, string gitRef = "main")
    {
        var match = await OriginUrlAsync(infraRoot, cancellationToken).ConfigureAwait(false) is { } url ? GitHubRemote().Match(url) : null;
        return match is { Success: true } ? $"{match.Groups["owner"].Value}/{match.Groups["repo"].Value}/{ReusableDeployWorkflow.RelativePath}@{gitRef}" : null;
    }

    /// <summary>
    /// The URL of the <c>origin</c> remote of the git checkout at <paramref name="root"/> (<c>git remote get-url origin</c>,
    /// at most 30 s), or null when it has none, is no checkout or there is no git.
    /// </summary>
    public static async Task<string?> OriginUrlAsync(string root, CancellationToken cancellationToken)
    {
        if (LocalProgram.FindOnPath("git") is not { } git || !Directory.Exists(root))
        {
            return null;
        }

        var result = await LocalProgram.RunAsync(git, ["-C", root, "remote", "get-url", "origin"], root, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        return result.TimedOut || result.ExitCode != 0 || result.Output.Trim() is not { Length: > 0 } url ? null : url;
    }

    [GeneratedRegex(@"^(?:https://(?:[^@/]+@)?github\.com/|ssh://git@github\.com/|git@github\.com:)(?<owner>[A-Za-z0-9-]+)/(?<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?\z")]
    private static partial Regex GitHubRemote();

    private static int? OwnPort(PortRegistry registry, string name) =>
        registry.ModuleDefaults.FirstOrDefault(c => c.Service == name)?.Port;

    private static PlannedFile Checked(PlannedFile file, bool force, string errorId, string what) =>
        file.Action != FileAction.Changed || force
            ? file
            : throw new AtelierException(errorId, FailureKind.ResourceBusy, $"{what}. The change would be:\n{file.Diff}") { Hints = [Hint.FileReplaced] };
}
