using Atelier.Workflow;
using YamlDotNet.RepresentationModel;

namespace Atelier.Tests.Workflow;

/// <summary><see cref="AppDeployWorkflow.Render"/>, read back with YamlDotNet.</summary>
public sealed class AppDeployWorkflowTests
{
    private const string AnchorWorkflow = "taciturnaxolotl/dots/.github/workflows/deploy-service.yml@main";

    /// <summary>Strings YAML would read as something else, or that break naive emitters.</summary>
    public static readonly IReadOnlyList<string> HostileValues =
    [
        "it's",
        "\"double\"",
        "'single'",
        "#comment",
        "a #b",
        "key: value",
        "trailing:",
        ":",
        "line1\nline2",
        "trailing newline\n",
        "\n",
        "x\r\ny",
        "null",
        "Null",
        "~",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "True",
        "0123",
        "0x1F",
        "1e3",
        "12:30",
        ".5",
        ".inf",
        ".",
        "..",
        "-1",
        "  leading",
        "trailing  ",
        " ",
        "\t",
        "é日本🙂",
        "- item",
        "-",
        "[a, b]",
        "{a: b}",
        "&anchor",
        "*alias",
        "!tag",
        "!!str",
        "|",
        ">",
        "%YAML",
        "@at",
        "`tick`",
        "back\\slash",
        "\\",
        "=",
        "<<",
        "? x",
        "---",
        "...",
        "a,b",
        "$ {{ not an expression }}",
        "${ HOME }",
        "a\u0001b",
        "\u00a0nbsp",
        "bun run build && echo 'done' > /tmp/x",
        "https://cachet.dunkirk.sh/health?detailed=true#x",
    ];

    public static TheoryData<string> HostileStrings => [.. HostileValues];

    [Fact]
    public void The_caller_has_the_anchor_callers_shape()
    {
        var text = AppDeployWorkflow.Render(new AppDeployWorkflowSpec
        {
            Service = "cachet",
            HealthUrl = "https://cachet.dunkirk.sh/health",
            DbPath = "/var/lib/cachet/data/cachet.db",
            WorkflowReference = AnchorWorkflow,
        });

        var root = Yaml.Parse(text);
        Assert.Equal("Deploy", Yaml.Text(root, "name"));
        var branches = Assert.IsType<YamlSequenceNode>(Yaml.At(root, "on", "push", "branches"));
        Assert.Equal("main", Assert.IsType<YamlScalarNode>(Assert.Single(branches.Children)).Value);
        Assert.Empty(Yaml.Map(root, "on", "workflow_dispatch").Children);
        Assert.Equal("read", Yaml.Text(root, "permissions", "contents"));

        var deploy = Yaml.Map(root, "jobs", "deploy");
        Assert.Equal(AnchorWorkflow, Yaml.Text(deploy, "uses"));
        Assert.Equal(
            ["service", "host", "health_url", "branch", "db_path"],
            Yaml.Map(deploy, "with").Children.Keys.Select(key => ((YamlScalarNode)key).Value));
        Assert.Equal("cachet", Yaml.Text(deploy, "with", "service"));
        Assert.Equal("terebithia", Yaml.Text(deploy, "with", "host"));
        Assert.Equal("https://cachet.dunkirk.sh/health", Yaml.Text(deploy, "with", "health_url"));
        Assert.Equal("main", Yaml.Text(deploy, "with", "branch"));
        Assert.Equal("/var/lib/cachet/data/cachet.db", Yaml.Text(deploy, "with", "db_path"));
        Assert.Equal("${{ secrets.TS_OAUTH_CLIENT_ID }}", Yaml.Text(deploy, "secrets", "TS_OAUTH_CLIENT_ID"));
        Assert.Equal("${{ secrets.TS_OAUTH_SECRET }}", Yaml.Text(deploy, "secrets", "TS_OAUTH_SECRET"));
        Assert.Equal(2, Yaml.Map(deploy, "secrets").Children.Count);

        // Jobs that call a reusable workflow may not have steps or runs-on.
        Assert.False(Yaml.Has(deploy, "steps"));
        Assert.False(Yaml.Has(deploy, "runs-on"));
    }

    [Fact]
    public void Only_a_caller_of_Atelier_s_workflow_passes_the_push_s_exact_commit()
    {
        var spec = new AppDeployWorkflowSpec { Service = "cachet", WorkflowReference = AnchorWorkflow };

        var anchor = Yaml.Map(Yaml.Parse(AppDeployWorkflow.Render(spec)), "jobs", "deploy", "with");
        var atelier = Yaml.Map(Yaml.Parse(AppDeployWorkflow.Render(spec with { PassCommit = true })), "jobs", "deploy", "with");

        Assert.False(Yaml.Has(anchor, "commit"), "the anchor's bash workflow refuses an input it does not declare");
        Assert.Equal("${{ github.sha }}", Yaml.Text(atelier, "commit"));
    }

    [Fact]
    public void Every_optional_input_appears_only_when_given()
    {
        var full = Yaml.Parse(AppDeployWorkflow.Render(new AppDeployWorkflowSpec
        {
            Service = "api",
            Host = "prattle",
            Branch = "release",
            HealthUrl = "https://api.example.org/health",
            DbPath = "data/api.db",
            WorkDir = "packages/api",
            BuildCommand = "bun run build",
            Runtime = "Node",
            InstallCommand = "npm ci --omit=dev",
            LockWait = 120,
            WorkflowReference = "me/infra/.github/workflows/deploy-service.yml@v2",
            Name = "Deploy API",
        }));

        var with = Yaml.Map(full, "jobs", "deploy", "with");
        Assert.Equal("prattle", Yaml.Text(with, "host"));
        Assert.Equal("release", Yaml.Text(with, "branch"));
        Assert.Equal("packages/api", Yaml.Text(with, "work_dir"));
        Assert.Equal("bun run build", Yaml.Text(with, "build_command"));
        Assert.Equal("node", Yaml.Text(with, "runtime"));
        Assert.Equal("npm ci --omit=dev", Yaml.Text(with, "install_command"));
        Assert.Equal("120", Yaml.Plain(with, "lock_wait"));
        Assert.Equal("release", Assert.IsType<YamlScalarNode>(Assert.Single(Assert.IsType<YamlSequenceNode>(Yaml.At(full, "on", "push", "branches")).Children)).Value);
        Assert.Equal("Deploy API", Yaml.Text(full, "name"));

        var bare = Yaml.Map(Yaml.Parse(AppDeployWorkflow.Render(new AppDeployWorkflowSpec { Service = "api", WorkflowReference = AnchorWorkflow })), "jobs", "deploy", "with");
        Assert.Equal(["service", "host", "branch"], bare.Children.Keys.Select(key => ((YamlScalarNode)key).Value));
    }

    [Fact]
    public void Secrets_are_passed_by_name_or_inherited()
    {
        var named = Yaml.Map(Yaml.Parse(AppDeployWorkflow.Render(new AppDeployWorkflowSpec
        {
            Service = "api",
            WorkflowReference = AnchorWorkflow,
            Secrets = ["TS_OAUTH_CLIENT_ID", "TS_OAUTH_SECRET", "SSH_PRIVATE_KEY", "yes"],
        })), "jobs", "deploy", "secrets");
        Assert.Equal("${{ secrets.SSH_PRIVATE_KEY }}", Yaml.Text(named, "SSH_PRIVATE_KEY"));
        Assert.Equal("${{ secrets.yes }}", Yaml.Text(named, "yes"));
        var yesKey = named.Children.Keys.OfType<YamlScalarNode>().Single(key => key.Value == "yes");
        Assert.NotEqual(YamlDotNet.Core.ScalarStyle.Plain, yesKey.Style);

        var inherited = Yaml.Parse(AppDeployWorkflow.Render(new AppDeployWorkflowSpec { Service = "api", WorkflowReference = AnchorWorkflow, InheritSecrets = true }));
        Assert.Equal("inherit", Yaml.Text(inherited, "jobs", "deploy", "secrets"));

        var none = Yaml.Parse(AppDeployWorkflow.Render(new AppDeployWorkflowSpec { Service = "api", WorkflowReference = AnchorWorkflow, Secrets = [] }));
        Assert.False(Yaml.Has(Yaml.At(none, "jobs", "deploy"), "secrets"));
    }

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void A_hostile_value_in_any_field_reads_back_exactly(string value)
    {
        var required = string.IsNullOrWhiteSpace(value) ? "svc" : value;
        var text = AppDeployWorkflow.Render(new AppDeployWorkflowSpec
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
            WorkflowReference = AnchorWorkflow,
        });

        var root = Yaml.Parse(text);
        var with = Yaml.Map(root, "jobs", "deploy", "with");
        Assert.Equal(required, Yaml.Text(with, "service"));
        Assert.Equal(required, Yaml.Text(with, "host"));
        Assert.Equal(required, Yaml.Text(with, "branch"));
        Assert.Equal(required, Yaml.Text(root, "name"));
        Assert.Equal(value, Yaml.Text(with, "health_url"));
        Assert.Equal(value, Yaml.Text(with, "db_path"));
        Assert.Equal(value, Yaml.Text(with, "work_dir"));
        Assert.Equal(value, Yaml.Text(with, "build_command"));
        Assert.Equal(value, Yaml.Text(with, "install_command"));

        var filter = Assert.IsType<YamlScalarNode>(Assert.Single(Assert.IsType<YamlSequenceNode>(Yaml.At(root, "on", "push", "branches")).Children));
        Assert.Equal(AppDeployWorkflow.BranchFilter(required), filter.Value);

        // The structure around the values is intact: nothing leaked into a key of its own.
        Assert.Equal(["name", "on", "permissions", "jobs"], root.Children.Keys.Select(key => ((YamlScalarNode)key).Value));
        Assert.Equal(["uses", "with", "secrets"], Yaml.Map(root, "jobs", "deploy").Children.Keys.Select(key => ((YamlScalarNode)key).Value));
    }

    [Theory]
    [InlineData("feature+x", @"feature\+x")]
    [InlineData("!important", @"\!important")]
    [InlineData("release/v1", "release/v1")]
    [InlineData("a*b?[c]", @"a\*b\?\[c\]")]
    public void The_push_filter_matches_only_the_branch(string branch, string filter)
    {
        Assert.Equal(filter, AppDeployWorkflow.BranchFilter(branch));
        var root = Yaml.Parse(AppDeployWorkflow.Render(new AppDeployWorkflowSpec { Service = "api", Branch = branch, WorkflowReference = AnchorWorkflow }));
        Assert.Equal(branch, Yaml.Text(root, "jobs", "deploy", "with", "branch"));
        Assert.Equal(filter, Assert.IsType<YamlScalarNode>(Assert.Single(Assert.IsType<YamlSequenceNode>(Yaml.At(root, "on", "push", "branches")).Children)).Value);
    }

    [Theory]
    [InlineData("${{ secrets.TOKEN }}")]
    [InlineData("https://x/${{github.sha}}")]
    [InlineData("a ${{")]
    public void A_GitHub_expression_in_any_field_is_refused(string value)
    {
        var good = new AppDeployWorkflowSpec { Service = "api", WorkflowReference = AnchorWorkflow };
        AppDeployWorkflowSpec[] specs =
        [
            good with { Service = value },
            good with { Host = value },
            good with { Branch = value },
            good with { Name = value },
            good with { HealthUrl = value },
            good with { DbPath = value },
            good with { WorkDir = value },
            good with { BuildCommand = value },
            good with { InstallCommand = value },
        ];
        foreach (var spec in specs)
        {
            var error = Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(spec));
            Assert.Equal("WorkflowExpressionRefused", error.ErrorId);
            Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        }
    }

    [Theory]
    [InlineData("taciturnaxolotl/dots/.github/workflows/deploy-service.yml")]
    [InlineData("dots/.github/workflows/deploy-service.yml@main")]
    [InlineData("a/b/.github/workflows/deploy.sh@main")]
    [InlineData("a/b/.github/workflows/x.yml@main\nfoo: bar")]
    [InlineData("a/b/.github/workflows/x.yml@${{ github.ref }}")]
    [InlineData(".github/workflows/deploy-service.yml")]
    [InlineData("")]
    public void A_malformed_workflow_reference_is_refused(string reference)
    {
        var error = Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(new AppDeployWorkflowSpec { Service = "api", WorkflowReference = reference }));
        Assert.Equal("WorkflowReferenceInvalid", error.ErrorId);
    }

    [Theory]
    [InlineData("1ABC")]
    [InlineData("GITHUB_TOKEN")]
    [InlineData("A-B")]
    [InlineData("A B")]
    [InlineData("")]
    [InlineData("X: ${{ github.token }}")]
    public void A_bad_secret_name_is_refused(string name)
    {
        var error = Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(new AppDeployWorkflowSpec { Service = "api", WorkflowReference = AnchorWorkflow, Secrets = [name] }));
        Assert.Equal("WorkflowSecretNameInvalid", error.ErrorId);
    }

    [Fact]
    public void Missing_or_invalid_values_are_refused_with_stable_ids()
    {
        var good = new AppDeployWorkflowSpec { Service = "api", WorkflowReference = AnchorWorkflow };
        Assert.Equal("WorkflowValueMissing", Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(good with { Service = " " })).ErrorId);
        Assert.Equal("WorkflowValueMissing", Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(good with { Host = string.Empty })).ErrorId);
        Assert.Equal("WorkflowValueMissing", Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(good with { Branch = string.Empty })).ErrorId);
        Assert.Equal("WorkflowValueInvalid", Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(good with { Runtime = "deno" })).ErrorId);
        Assert.Equal("WorkflowValueInvalid", Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(good with { LockWait = -1 })).ErrorId);
        Assert.Equal("WorkflowSecretNameInvalid", Assert.Throws<AtelierException>(() => AppDeployWorkflow.Render(good with { Secrets = ["A", "a"] })).ErrorId);
    }

    [Fact]
    public void The_same_spec_gives_the_same_bytes()
    {
        var spec = new AppDeployWorkflowSpec
        {
            Service = "cachet",
            HealthUrl = "https://cachet.dunkirk.sh/health",
            DbPath = "é/yes #1",
            BuildCommand = "line\nbreak",
            WorkflowReference = AnchorWorkflow,
        };

        var first = AppDeployWorkflow.Render(spec);
        var second = AppDeployWorkflow.Render(spec with { });
        Assert.Equal(first, second);
        Assert.DoesNotContain('\r', first);
        Assert.EndsWith("\n", first, StringComparison.Ordinal);
        Assert.False(first.EndsWith("\n\n", StringComparison.Ordinal));
    }

    [Fact]
    public void The_caller_only_uses_inputs_and_secrets_that_the_reusable_workflow_declares()
    {
        var caller = Yaml.Map(Yaml.Parse(AppDeployWorkflow.Render(new AppDeployWorkflowSpec
        {
            Service = "api",
            HealthUrl = "https://api.example.org/health",
            DbPath = "data/api.db",
            WorkDir = "web",
            BuildCommand = "bun run build",
            Runtime = "custom",
            InstallCommand = "make deps",
            LockWait = 0,
            PassCommit = true,
            WorkflowReference = AnchorWorkflow,
            Secrets = ["TS_OAUTH_CLIENT_ID", "TS_OAUTH_SECRET", "SSH_PRIVATE_KEY", "SSH_KNOWN_HOSTS"],
        })), "jobs", "deploy");
        var reusable = Yaml.Map(Yaml.Parse(ReusableDeployWorkflow.Render()), "on", "workflow_call");

        foreach (var key in Yaml.Map(caller, "with").Children.Keys)
        {
            Assert.True(Yaml.Has(Yaml.At(reusable, "inputs"), ((YamlScalarNode)key).Value!), $"Input {key} is not declared.");
        }

        foreach (var key in Yaml.Map(caller, "secrets").Children.Keys)
        {
            Assert.True(Yaml.Has(Yaml.At(reusable, "secrets"), ((YamlScalarNode)key).Value!), $"Secret {key} is not declared.");
        }
    }
}
