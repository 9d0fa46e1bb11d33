using System.Text.RegularExpressions;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Atelier.Workflow;

/// <summary>
/// Writes an app's <c>.github/workflows/deploy.yaml</c>: on a push to its branch (or by hand) it calls the reusable
/// deploy workflow with the app's inputs and secrets, the shape of the anchor's callers. Values are emitted so that they
/// read back exactly; a value with <c>${{</c> is refused (<c>WorkflowExpressionRefused</c>) because Actions would
/// evaluate it. Same spec, same bytes.
/// </summary>
public static partial class AppDeployWorkflow
{
    /// <summary>Where the file goes in the app's repository.</summary>
    public const string RelativePath = ".github/workflows/deploy.yaml";

    private static readonly string[] Header =
    [
        "Deploys this app on every push to its branch, or by hand from the Actions tab.",
        "Written by Atelier (New-ServiceModule): change the module's settings and write it again rather than editing it.",
    ];

    /// <summary>The text of the workflow file (LF line ends, final newline).</summary>
    /// <exception cref="AtelierException">A value is missing or invalid, or holds a GitHub expression.</exception>
    public static string Render(AppDeployWorkflowSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);

        var inputs = WorkflowYaml.Mapping(
            ("service", WorkflowYaml.Text(spec.Service, "service")),
            ("host", WorkflowYaml.Text(spec.Host, "host")),
            ("health_url", Optional(spec.HealthUrl, "health URL")),
            ("branch", WorkflowYaml.Text(spec.Branch, "branch")),
            ("db_path", Optional(spec.DbPath, "database path")),
            ("work_dir", Optional(spec.WorkDir, "work folder")),
            ("build_command", Optional(spec.BuildCommand, "build command")),
            ("runtime", Optional(spec.Runtime?.ToLowerInvariant(), "runtime")),
            ("install_command", Optional(spec.InstallCommand, "install command")),
            ("lock_wait", spec.LockWait is { } wait ? WorkflowYaml.Number(wait) : null),
            (ReusableDeployWorkflow.CommitInput, spec.PassCommit ? WorkflowYaml.Plain("${{ github.sha }}") : null));

        YamlNode? secrets = null;
        if (spec.InheritSecrets)
        {
            secrets = WorkflowYaml.Plain("inherit");
        }
        else if (spec.Secrets.Count > 0)
        {
            var passed = new YamlMappingNode();
            foreach (var name in spec.Secrets)
            {
                passed.Add(WorkflowYaml.Key(name), WorkflowYaml.Plain($"${{{{ secrets.{name} }}}}"));
            }

            secrets = passed;
        }

        var root = WorkflowYaml.Mapping(
            ("name", WorkflowYaml.Text(spec.Name, "workflow name")),
            ("on", WorkflowYaml.Mapping(
                ("push", WorkflowYaml.Mapping(("branches", new YamlSequenceNode(WorkflowYaml.Text(BranchFilter(spec.Branch), "branch"))))),
                ("workflow_dispatch", new YamlMappingNode { Style = MappingStyle.Flow }))),
            ("permissions", WorkflowYaml.Mapping(("contents", WorkflowYaml.Plain("read")))),
            ("jobs", WorkflowYaml.Mapping(
                ("deploy", WorkflowYaml.Mapping(
                    ("uses", WorkflowYaml.Text(spec.WorkflowReference, "workflow reference")),
                    ("with", inputs),
                    ("secrets", secrets))))));

        return WorkflowYaml.Write(root, Header);
    }

    /// <summary>The push filter that matches exactly this branch: GitHub's pattern characters escaped with '\'.</summary>
    public static string BranchFilter(string branch) => FilterCharacters().Replace(branch, @"\$0");

    private static YamlScalarNode? Optional(string? value, string field) => value is null ? null : WorkflowYaml.Text(value, field);

    private static void Validate(AppDeployWorkflowSpec spec)
    {
        Required(spec.Service, "service");
        Required(spec.Host, "host");
        Required(spec.Branch, "branch");
        Required(spec.Name, "workflow name");
        if (!WorkflowReferencePattern().IsMatch(spec.WorkflowReference))
        {
            throw new AtelierException(
                "WorkflowReferenceInvalid",
                FailureKind.InvalidArgument,
                $"The reusable workflow \"{spec.WorkflowReference}\" is not of the form owner/repo/.github/workflows/<file>.yml@<ref> or ./.github/workflows/<file>.yml.");
        }

        if (spec.Runtime is not null && !ReusableDeployWorkflow.Runtimes.Contains(spec.Runtime, StringComparer.OrdinalIgnoreCase))
        {
            throw new AtelierException(
                "WorkflowValueInvalid",
                FailureKind.InvalidArgument,
                $"The runtime \"{spec.Runtime}\" is not one of {string.Join(", ", ReusableDeployWorkflow.Runtimes)}.");
        }

        if (spec.LockWait is < 0)
        {
            throw new AtelierException("WorkflowValueInvalid", FailureKind.InvalidArgument, "The lock wait cannot be negative.");
        }

        if (!spec.InheritSecrets)
        {
            ReusableDeployWorkflow.ValidateSecretNames(spec.Secrets);
        }
    }

    private static void Required(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new AtelierException("WorkflowValueMissing", FailureKind.InvalidArgument, $"The workflow needs a {field}.");
        }
    }

    [GeneratedRegex(@"^(?:[A-Za-z0-9-]+/[A-Za-z0-9._-]+/\.github/workflows/[A-Za-z0-9._-]+\.ya?ml@[A-Za-z0-9._/-]+|\./\.github/workflows/[A-Za-z0-9._-]+\.ya?ml)$")]
    private static partial Regex WorkflowReferencePattern();

    [GeneratedRegex(@"[*?+!\[\]\\]")]
    private static partial Regex FilterCharacters();
}
