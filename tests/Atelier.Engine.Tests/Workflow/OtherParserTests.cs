using System.Text.Json;
using Atelier.Tests.Shell;
using Atelier.Workflow;

namespace Atelier.Tests.Workflow;

/// <summary>A fact that is skipped, saying why, when python3 with PyYAML is not on this machine.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresPyYamlFactAttribute : FactAttribute
{
    public RequiresPyYamlFactAttribute()
    {
        if (!Sh.OnPath("python3") || Sh.Exec("python3", ["-c", "import yaml"]).ExitCode != 0)
        {
            Skip = "python3 with PyYAML (apt-get install python3-yaml) is not on this machine, so this case cannot run.";
        }
    }
}

/// <summary>
/// The generated files read by a second, independent YAML implementation: PyYAML, a YAML 1.1 loader, the strictest
/// about <c>yes</c>, <c>on</c>, <c>0123</c> and the like.
/// </summary>
public sealed class OtherParserTests
{
    // PyYAML reads the key "on" as the boolean true (YAML 1.1); GitHub reads it as "on". Map it back, then print JSON.
    private const string Loader = """
        import json, sys, yaml
        with open(sys.argv[1], encoding="utf-8") as f:
            data = yaml.safe_load(f)
        if True in data:
            data["on"] = data.pop(True)
        print(json.dumps(data, ensure_ascii=True))
        """;

    [RequiresPyYamlFact]
    public void PyYAML_reads_every_hostile_value_back_exactly()
    {
        foreach (var value in AppDeployWorkflowTests.HostileValues)
        {
            var required = string.IsNullOrWhiteSpace(value) ? "svc" : value;
            var json = Load(AppDeployWorkflow.Render(new AppDeployWorkflowSpec
            {
                Service = required,
                Host = required,
                Branch = required,
                Name = required,
                HealthUrl = value,
                DbPath = value,
                WorkDir = value,
                BuildCommand = value,
                InstallCommand = value,
                LockWait = 30,
                WorkflowReference = "me/infra/.github/workflows/deploy-service.yml@main",
                Secrets = ["TS_OAUTH_CLIENT_ID", "yes", "NULL"],
            }));

            var with = json.GetProperty("jobs").GetProperty("deploy").GetProperty("with");
            Assert.Equal(required, json.GetProperty("name").GetString());
            Assert.Equal(required, with.GetProperty("service").GetString());
            Assert.Equal(required, with.GetProperty("host").GetString());
            Assert.Equal(required, with.GetProperty("branch").GetString());
            Assert.Equal(AppDeployWorkflow.BranchFilter(required), json.GetProperty("on").GetProperty("push").GetProperty("branches")[0].GetString());
            foreach (var input in new[] { "health_url", "db_path", "work_dir", "build_command", "install_command" })
            {
                Assert.Equal(JsonValueKind.String, with.GetProperty(input).ValueKind);
                Assert.Equal(value, with.GetProperty(input).GetString());
            }

            Assert.Equal(30, with.GetProperty("lock_wait").GetInt32());
            var secrets = json.GetProperty("jobs").GetProperty("deploy").GetProperty("secrets");
            Assert.Equal("${{ secrets.yes }}", secrets.GetProperty("yes").GetString());
            Assert.Equal("${{ secrets.NULL }}", secrets.GetProperty("NULL").GetString());
        }
    }

    [RequiresPyYamlFact]
    public void PyYAML_reads_the_reusable_workflow_as_YamlDotNet_does()
    {
        var json = Load(ReusableDeployWorkflow.Render());
        var call = json.GetProperty("on").GetProperty("workflow_call");
        Assert.True(call.GetProperty("inputs").GetProperty("service").GetProperty("required").GetBoolean());
        Assert.False(call.GetProperty("inputs").GetProperty("host").GetProperty("required").GetBoolean());
        Assert.Equal("terebithia", call.GetProperty("inputs").GetProperty("host").GetProperty("default").GetString());
        Assert.Equal(".", call.GetProperty("inputs").GetProperty("work_dir").GetProperty("default").GetString());
        Assert.Equal(300, call.GetProperty("inputs").GetProperty("lock_wait").GetProperty("default").GetInt32());
        Assert.True(call.GetProperty("secrets").GetProperty("TS_OAUTH_SECRET").GetProperty("required").GetBoolean());

        var job = json.GetProperty("jobs").GetProperty("deploy");
        Assert.Equal("deploy-${{ inputs.service }}", job.GetProperty("concurrency").GetProperty("group").GetString());
        Assert.False(job.GetProperty("concurrency").GetProperty("cancel-in-progress").GetBoolean());
        Assert.Equal("true", job.GetProperty("steps")[0].GetProperty("with").GetProperty("use-cache").GetString());
        Assert.Equal(5, job.GetProperty("steps").GetArrayLength());
    }

    private static JsonElement Load(string yaml)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, yaml);
            var result = Sh.Exec("python3", ["-c", Loader, file]);
            Assert.True(result.ExitCode == 0, result.Error);
            using var document = JsonDocument.Parse(result.Output);
            return document.RootElement.Clone();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
