using Atelier.Deploy;
using Atelier.Nix;
using Atelier.Scaffold;
using Atelier.Workflow;

namespace Atelier.Tests.Scaffold;

/// <summary>What the plan of a new service derives instead of its caller: the port as written, and the app's deploy workflow.</summary>
public sealed class ServiceScaffoldTests : IDisposable
{
    private readonly string _infra = Directory.CreateTempSubdirectory("atelier-scaffold-").FullName;

    public void Dispose() => Directory.Delete(_infra, recursive: true);

    [Theory]
    [InlineData("auto", null)]
    [InlineData("Auto", null)]
    [InlineData("3007", 3007)]
    [InlineData("1", 1)]
    [InlineData("65535", 65535)]
    public void A_port_is_auto_or_a_number(string written, int? port)
    {
        Assert.Equal(port, PortRegistry.ParsePort(written));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("99999")]
    public void A_port_out_of_range_is_refused(string written)
    {
        var error = Assert.Throws<AtelierException>(() => PortRegistry.ParsePort(written));

        Assert.Equal("InvalidPort", error.ErrorId);
        Assert.Equal($"The port {written} is not between 1 and 65535.", error.Message);
    }

    [Fact]
    public void The_app_workflow_takes_host_health_url_database_and_runtime_from_the_rest_of_the_request()
    {
        var workflow = ServiceScaffold.AppWorkflowFor(Request(AppRuntime.Node, sqlite: "data/app.db", reusable: false), "cachet");

        Assert.Equal("cachet", workflow.Service);
        Assert.Equal("terebithia", workflow.Host);
        Assert.Equal("https://cachet.example.org/health", workflow.HealthUrl);
        Assert.Equal(ServiceModuleWriter.HostPath("cachet", "data/app.db"), workflow.DbPath);
        Assert.Equal("node", workflow.Runtime);
        Assert.Equal("dev", workflow.Branch);
        Assert.False(workflow.PassCommit);
    }

    [Fact]
    public void Bun_is_the_workflows_default_runtime_and_no_database_means_no_path()
    {
        var workflow = ServiceScaffold.AppWorkflowFor(Request(AppRuntime.Bun, sqlite: null, reusable: false), "cachet");

        Assert.Null(workflow.Runtime);
        Assert.Null(workflow.DbPath);
    }

    [Fact]
    public void The_commit_is_passed_on_when_Atelier_reusable_workflow_is_written_now_or_already_there()
    {
        Assert.True(ServiceScaffold.AppWorkflowFor(Request(AppRuntime.Bun, null, reusable: true), "cachet").PassCommit);

        var existing = Path.Join(_infra, ReusableDeployWorkflow.RelativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(existing)!);
        File.WriteAllText(existing, ReusableDeployWorkflow.Render(new ReusableDeployWorkflowOptions()));
        Assert.True(ServiceScaffold.AppWorkflowFor(Request(AppRuntime.Bun, null, reusable: false), "cachet").PassCommit);
    }

    private NewServiceRequest Request(AppRuntime runtime, string? sqlite, bool reusable) => new()
    {
        Module = new ServiceModuleSpec { Name = "cachet", Runtime = runtime, Sqlite = sqlite },
        Block = new MachineServiceSpec { Name = "cachet", HealthUrl = "https://cachet.example.org/health" },
        Machine = "terebithia",
        InfraRoot = _infra,
        AppRoot = _infra,
        Workflow = new AppDeployWorkflowSpec { Service = "cachet", Branch = "dev", WorkflowReference = "o/r/.github/workflows/deploy-service.yml@main" },
        ReusableWorkflow = reusable ? new ReusableDeployWorkflowOptions() : null,
    };
}
