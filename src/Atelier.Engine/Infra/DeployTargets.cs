using System.Text.Json;
using Atelier.Transport;

namespace Atelier.Infra;

/// <summary>
/// Which deploy-rs nodes a change of the infrastructure repository touches, by the anchor's rule: a changed path among
/// the shared paths (<see cref="SharedPaths"/>; by default <c>flake.nix</c>, <c>flake.lock</c>, <c>modules/</c>,
/// <c>lib/</c>, <c>secrets/</c>, <c>packages/</c> and the deploy workflow <c>.github/workflows/deploy.yaml</c>) means
/// every node; one under <c>machines/&lt;node&gt;/</c> means that node; anything else means nothing. The changed paths come
/// from git (a rename counts with its old and its new path), the node names from the caller or from the flake's
/// <c>deploy.nodes</c> (<c>nix eval</c>, only when some path needs them). Programs run with an argument list, never
/// through a shell.
/// </summary>
public sealed class DeployTargets
{
    /// <summary>
    /// The real deploy workflow's shared paths: the files, and folders (ending in '/'), whose change means every node.
    /// The workflow itself is one of them: a change to how nodes are deployed redeploys them all.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultSharedPaths =
        ["flake.nix", "flake.lock", "modules/", "lib/", "secrets/", "packages/", ".github/workflows/deploy.yaml"];

    /// <summary>The longest shared path accepted.</summary>
    public const int MaxSharedPathLength = 1024;

    /// <summary>The folder whose sub-folders are the machines: <c>machines/&lt;node&gt;/</c>.</summary>
    public const string MachinesFolder = "machines/";

    /// <summary>The reason given to every node when there is no previous commit (a new branch).</summary>
    public const string NewBranchReason = "new branch: no previous commit";

    private const int ErrorLines = 15;
    private readonly IReporter _reporter;

    /// <param name="repository">A folder of the git repository (its work tree); paths are read from its top.</param>
    /// <param name="reporter">Receives the commands run (verbose) and the machine folders without a node (warnings).</param>
    public DeployTargets(string repository, IReporter reporter)
    {
        ArgumentException.ThrowIfNullOrEmpty(repository);
        ArgumentNullException.ThrowIfNull(reporter);
        Repository = Path.GetFullPath(repository);
        _reporter = reporter;
    }

    /// <summary>The repository folder, a full path.</summary>
    public string Repository { get; }

    /// <summary>Longest one git or nix run may take before it is stopped.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The folders <c>git</c> and <c>nix</c> are looked for in (PATH's format). Default: this process's PATH.</summary>
    public string? SearchPath { get; init; }

    /// <summary>
    /// The files, and folders (ending in '/'), whose change means every node; each checked by
    /// <see cref="SharedPathProblem"/>. Default: <see cref="DefaultSharedPaths"/>. An empty list leaves only the
    /// machine folders.
    /// </summary>
    /// <exception cref="AtelierException"><c>InvalidSharedPath</c> for a path that is not a '/'-separated path in the repository.</exception>
    public IReadOnlyList<string> SharedPaths
    {
        get => _sharedPaths;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            foreach (var path in value)
            {
                if (SharedPathProblem(path) is { } problem)
                {
                    throw new AtelierException("InvalidSharedPath", FailureKind.InvalidArgument,
                        $"The shared path '{Shell.RemoteValue.Excerpt(path ?? string.Empty)}' {problem}.");
                }
            }

            _sharedPaths = [.. value.Distinct(StringComparer.Ordinal)];
        }
    }

    private readonly IReadOnlyList<string> _sharedPaths = DefaultSharedPaths;

    /// <summary>
    /// Why <paramref name="path"/> cannot be a shared path, or null when it can: a '/'-separated path relative to the
    /// repository's top (a folder ends in '/'), without empty, '.' or '..' parts, backslashes or control characters.
    /// </summary>
    public static string? SharedPathProblem(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "is empty";
        }

        if (path.Length > MaxSharedPathLength)
        {
            return $"is longer than {MaxSharedPathLength} characters";
        }

        if (path.Any(char.IsControl) || path.Contains('\\', StringComparison.Ordinal))
        {
            return "holds a control character or a backslash";
        }

        if (path.StartsWith('/'))
        {
            return "is absolute: give it relative to the repository's top (like modules/)";
        }

        var parts = (path.EndsWith('/') ? path[..^1] : path).Split('/');
        return parts.Any(p => p is "" or "." or "..")
            ? "has an empty, '.' or '..' part"
            : null;
    }

    /// <summary>
    /// True for the all-zero commit id that GitHub sends as the "before" of a push that created the branch (40 hex
    /// digits, or 64 in a SHA-256 repository).
    /// </summary>
    public static bool IsNoCommit(string revision) =>
        revision is { Length: 40 or 64 } && revision.All(c => c == '0');

    /// <summary>
    /// The nodes the change from <paramref name="from"/> to <paramref name="to"/> touches, in the order of the node
    /// list. <paramref name="nodes"/>: every node name, or null to read them from <paramref name="flake"/>'s
    /// <c>deploy.nodes</c> (default: the repository). A <paramref name="from"/> of all zeros means every node.
    /// </summary>
    public async Task<IReadOnlyList<DeployTarget>> FindAsync(string from, string to, IReadOnlyList<string>? nodes, string? flake, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Repository))
        {
            throw new AtelierException("RepositoryNotFound", FailureKind.NotFound,
                $"There is no folder {Repository}.")
            {
                Hints = [Hint.RepositoryPath],
            };
        }

        if (IsNoCommit(from))
        {
            var commit = await ResolveAsync(to, cancellationToken).ConfigureAwait(false);
            _reporter.Verbose($"{from} is no commit (a new branch): every node is deployed for {commit}.");
            var every = nodes ?? await NodeNamesAsync(flake, cancellationToken).ConfigureAwait(false);
            return every.Distinct(StringComparer.Ordinal).Select(n => new DeployTarget(n, NewBranchReason, [])).ToList();
        }

        var paths = await ChangedPathsAsync(from, to, cancellationToken).ConfigureAwait(false);
        if (!paths.Any(p => EveryNodeRule(p, SharedPaths) is not null || MachineOf(p) is not null))
        {
            // Nothing the rule cares about changed: no node, and no need to evaluate the flake.
            _reporter.Verbose($"None of the {paths.Count} changed path(s) is under {string.Join(", ", [.. SharedPaths, MachinesFolder + "<node>/"])}: no node to deploy.");
            return [];
        }

        var names = nodes ?? await NodeNamesAsync(flake, cancellationToken).ConfigureAwait(false);
        return Select(paths, names, SharedPaths, _reporter);
    }

    /// <summary>
    /// Applies the rule to changed paths ('/'-separated, relative to the repository's top) for the given nodes: one
    /// target per touched node, in node order. A changed machine folder without a node of its name is reported as a
    /// warning. <paramref name="sharedPaths"/>: the paths whose change means every node (see <see cref="SharedPaths"/>).
    /// </summary>
    public static IReadOnlyList<DeployTarget> Select(IReadOnlyList<string> changedPaths, IReadOnlyList<string> nodes, IReadOnlyList<string> sharedPaths, IReporter reporter)
    {
        ArgumentNullException.ThrowIfNull(changedPaths);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(sharedPaths);
        ArgumentNullException.ThrowIfNull(reporter);
        var known = new HashSet<string>(nodes, StringComparer.Ordinal);
        foreach (var orphan in changedPaths.Where(p => EveryNodeRule(p, sharedPaths) is null).Select(MachineOf).OfType<string>()
                     .Where(m => !known.Contains(m)).Distinct(StringComparer.Ordinal))
        {
            reporter.Warning($"{MachinesFolder}{orphan}/ changed, but there is no deploy node '{orphan}' (nodes: {string.Join(", ", nodes)}): nothing is deployed for it.");
        }

        var targets = new List<DeployTarget>();
        foreach (var node in nodes.Distinct(StringComparer.Ordinal))
        {
            var reasons = new List<string>();
            var selecting = new List<string>();
            foreach (var path in changedPaths)
            {
                var rule = EveryNodeRule(path, sharedPaths) ?? (MachineOf(path) == node ? $"{MachinesFolder}{node}/" : null);
                if (rule is null)
                {
                    continue;
                }

                selecting.Add(path);
                var reason = $"{rule} changed";
                if (!reasons.Contains(reason))
                {
                    reasons.Add(reason);
                }
            }

            if (selecting.Count > 0)
            {
                targets.Add(new DeployTarget(node, string.Join("; ", reasons), selecting));
            }
        }

        return targets;
    }

    /// <summary>
    /// The paths that differ between two commits (<c>git diff --name-only -z --no-renames</c>, so that a rename
    /// gives its old and its new path), relative to the repository's top.
    /// </summary>
    public async Task<IReadOnlyList<string>> ChangedPathsAsync(string from, string to, CancellationToken cancellationToken)
    {
        var fromCommit = await ResolveAsync(from, cancellationToken).ConfigureAwait(false);
        var toCommit = await ResolveAsync(to, cancellationToken).ConfigureAwait(false);
        var diff = await GitAsync(["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", fromCommit, toCommit, "--"], cancellationToken).ConfigureAwait(false);
        if (diff.ExitCode != 0)
        {
            throw new AtelierException("GitDiffFailed", FailureKind.OperationFailed,
                $"git diff {fromCommit} {toCommit} in {Repository} failed with exit code {diff.ExitCode}:\n{Tail(diff.Error)}");
        }

        var paths = diff.Output.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        _reporter.Verbose($"{paths.Length} path(s) changed from {Short(fromCommit)} to {Short(toCommit)}.");
        return paths;
    }

    /// <summary>
    /// The names in <paramref name="flake"/>'s <c>deploy.nodes</c> (default: the repository), sorted as Nix sorts
    /// attribute names: <c>nix eval --json &lt;flake&gt;#deploy.nodes --apply builtins.attrNames</c>.
    /// </summary>
    public async Task<IReadOnlyList<string>> NodeNamesAsync(string? flake, CancellationToken cancellationToken)
    {
        flake ??= Repository;
        if (flake.Contains('#', StringComparison.Ordinal))
        {
            throw new AtelierException("InvalidFlake", FailureKind.InvalidArgument,
                $"The flake '{flake}' names an attribute; give the flake alone (deploy.nodes is read from it).");
        }

        var nix = LocalProgram.FindOnPath("nix", SearchPath)
            ?? throw new AtelierException("NixNotInstalled", FailureKind.NotInstalled,
                $"Reading the node names from the deploy.nodes of {flake} needs nix, which is not on PATH.")
            {
                Hints = [Hint.NodesWithoutNix],
            };
        var isFolder = Directory.Exists(flake);
        var installable = isFolder ? ".#deploy.nodes" : $"{flake}#deploy.nodes";
        var workingDirectory = isFolder ? Path.GetFullPath(flake) : Repository;
        _reporter.Verbose($"nix eval --json {installable} --apply builtins.attrNames{(isFolder ? $" in {workingDirectory}" : string.Empty)}");
        var eval = await RunAsync(nix,
            ["--extra-experimental-features", "nix-command flakes", "eval", "--json", "--no-write-lock-file", installable, "--apply", "builtins.attrNames"],
            workingDirectory, "nix eval", cancellationToken).ConfigureAwait(false);
        if (eval.ExitCode != 0)
        {
            throw new AtelierException("NodeListFailed", FailureKind.OperationFailed,
                $"nix eval of {flake}#deploy.nodes failed with exit code {eval.ExitCode}:\n{Tail(eval.Error)}")
            {
                Hints = [Hint.NodesWithoutFlake],
            };
        }

        string[]? names;
        try
        {
            names = JsonSerializer.Deserialize<string[]>(eval.Output);
        }
        catch (JsonException ex)
        {
            throw new AtelierException("NodeListFailed", FailureKind.InvalidData,
                $"nix eval of {flake}#deploy.nodes did not give a list of names: {Tail(eval.Output)}", ex);
        }

        if (names is null || names.Length == 0)
        {
            _reporter.Warning($"The deploy.nodes of {flake} is empty: there is no node to deploy.");
            return [];
        }

        return names;
    }

    /// <summary>The full commit id of a revision (a commit id, branch, tag or expression like <c>HEAD~1</c>).</summary>
    private async Task<string> ResolveAsync(string revision, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(revision) || revision.StartsWith('-') || revision.Any(char.IsControl))
        {
            throw new AtelierException("InvalidRevision", FailureKind.InvalidArgument, $"'{revision}' is not a git revision.");
        }

        var top = await GitAsync(["rev-parse", "--show-toplevel"], cancellationToken).ConfigureAwait(false);
        if (top.ExitCode != 0)
        {
            throw new AtelierException("NotAGitRepository", FailureKind.NotFound,
                $"{Repository} is not in a git work tree: {Tail(top.Error)}");
        }

        var parsed = await GitAsync(["rev-parse", "--verify", "--quiet", $"{revision}^{{commit}}"], cancellationToken).ConfigureAwait(false);
        if (parsed.ExitCode != 0)
        {
            throw new AtelierException("RevisionNotFound", FailureKind.NotFound,
                $"'{revision}' is not a commit of the repository in {Repository}. In GitHub Actions, check out with fetch-depth: 0 so that the commit before the push is there.");
        }

        return parsed.Output.Trim();
    }

    private Task<ProgramResult> GitAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var git = LocalProgram.FindOnPath("git", SearchPath)
            ?? throw new AtelierException("GitNotInstalled", FailureKind.NotInstalled, "Finding the changed paths needs git, which is not on PATH.");
        return RunAsync(git, ["-C", Repository, .. arguments], Repository, "git", cancellationToken);
    }

    /// <summary>The shared path a changed path falls under when it means every node (e.g. <c>modules/</c>), else null.</summary>
    internal static string? EveryNodeRule(string path, IReadOnlyList<string> sharedPaths) =>
        sharedPaths.FirstOrDefault(rule => rule.EndsWith('/') ? path.StartsWith(rule, StringComparison.Ordinal) : path == rule);

    /// <summary>The machine of a path under <c>machines/&lt;machine&gt;/</c>, else null.</summary>
    internal static string? MachineOf(string path)
    {
        if (!path.StartsWith(MachinesFolder, StringComparison.Ordinal))
        {
            return null;
        }

        var slash = path.IndexOf('/', MachinesFolder.Length);
        return slash > MachinesFolder.Length ? path[MachinesFolder.Length..slash] : null;
    }

    private async Task<ProgramResult> RunAsync(string program, IReadOnlyList<string> arguments, string workingDirectory, string what, CancellationToken cancellationToken)
    {
        var result = await LocalProgram.RunAsync(program, arguments, workingDirectory, Timeout, cancellationToken, NoPrompt).ConfigureAwait(false);
        return result.TimedOut
            ? throw new AtelierException("DeployTargetTimedOut", FailureKind.Timeout, $"{what} in {workingDirectory} did not finish within {Timeout.TotalSeconds:0} s and was stopped.")
            : result;
    }

    private static string Tail(string text) =>
        string.Join('\n', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(ErrorLines));

    private static string Short(string commit) => commit.Length > 12 ? commit[..12] : commit;

    /// <summary>git must fail rather than wait for a password nobody will type.</summary>
    private static readonly Dictionary<string, string> NoPrompt = new(StringComparer.Ordinal) { ["GIT_TERMINAL_PROMPT"] = "0" };
}
