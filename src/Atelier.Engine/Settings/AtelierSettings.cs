using System.Collections.Concurrent;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Infra;
using Atelier.Output;
using Atelier.Snapshot;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Atelier.Settings;

/// <summary>
/// Atelier's defaults from a YAML settings file: <c>./atelier.yaml</c> in the current folder, else
/// <c>$XDG_CONFIG_HOME/atelier/config.yaml</c>. Any parameter a cmdlet is given overrides them.
/// </summary>
public sealed class AtelierSettings
{
    /// <summary>The settings file's name in a project folder.</summary>
    public const string ProjectFileName = "atelier.yaml";

    /// <summary>Every key a settings file may hold, in the order they are shown.</summary>
    public static readonly IReadOnlyList<SettingDefinition> Definitions =
    [
        new("manifest", SettingKind.Location, "The services manifest: a services.json file, an http(s) URL, or a flake folder (nix eval .#services-manifest)."),
        new("machine", SettingKind.Name, "The machine New-ServiceModule enables a new service on."),
        new("user", SettingKind.UserName, "The SSH user. Without it each service is reached as its own user."),
        new("identityFile", SettingKind.LocalPath, "The SSH private key file. Without it: ~/.ssh/config's IdentityFile, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa."),
        new("knownHostsFile", SettingKind.LocalPath, "The OpenSSH known_hosts file host keys are checked against. Without it: ~/.ssh/config's UserKnownHostsFile, else ~/.ssh/known_hosts."),
        new("systemctlPath", SettingKind.HostPath, "The systemctl that deploys run through sudo on the hosts.", Default: () => DeployCommands.NixSystemctl),
        new("keep", SettingKind.Count, "How many database snapshots to keep per database.", Default: () => SnapshotRequest.DefaultKeep, Min: 1, Max: 10000),
        new("historyPath", SettingKind.LocalPath, "This machine's deploy history database.", Default: LocalHistory.DefaultPath),
        new("throttleLimit", SettingKind.Count, "How many services Invoke-ServiceDeploy and Restore-ServiceDeploy work on at once.", Default: () => ParallelDeploys.DefaultThrottleLimit, Min: 1, Max: ParallelDeploys.MaxThrottleLimit),
        new("deployCommand", SettingKind.Command, "The deploy-rs command Invoke-InfraDeploy runs (e.g. 'deploy' or 'nix run github:serokell/deploy-rs --'). Without it: deploy on PATH, else nix run github:serokell/deploy-rs --."),
        new("services", SettingKind.Services, "Per-service deploy defaults the services manifest lacks: a mapping of service names to branch, workDir, buildCommand, installCommand, preRestartCommand, postDeployCommand, healthTimeout."),
        new("sharedPaths", SettingKind.RepositoryPaths, "The files, and folders (ending in '/'), of the infrastructure repository whose change means every node to Get-InfraDeployTarget: a list. An empty list leaves only machines/<node>/.", Default: () => DeployTargets.DefaultSharedPaths),
        new("redact", SettingKind.Redact, "Values and /patterns/ to hide as *** in everything printed, recorded or summarised from a host's output (besides the built-in secret shapes), as -Redact takes them: a list."),
    ];

    private static readonly ConcurrentDictionary<string, (DateTime Written, long Length, AtelierSettings Settings)> Cache = new(StringComparer.Ordinal);

    private readonly Dictionary<string, (object Value, int Line)> _values;

    private AtelierSettings(string? file, Dictionary<string, (object Value, int Line)> values)
    {
        File = file;
        _values = values;
    }

    /// <summary>Settings with every default and no file.</summary>
    public static AtelierSettings Defaults { get; } = new(null, new Dictionary<string, (object, int)>(StringComparer.Ordinal));

    /// <summary>The file these settings were read from, or null when none was found.</summary>
    public string? File { get; }

    public string? Manifest => Get<string>("manifest");

    public string? Machine => Get<string>("machine");

    public string? User => Get<string>("user");

    public string? IdentityFile => Get<string>("identityFile");

    public string? KnownHostsFile => Get<string>("knownHostsFile");

    public string SystemctlPath => Get<string>("systemctlPath")!;

    public int Keep => Get<int?>("keep")!.Value;

    public string HistoryPath => Get<string>("historyPath")!;

    /// <summary>How many services a deploy or restore works on at once (<c>-ThrottleLimit</c>'s default).</summary>
    public int ThrottleLimit => Get<int?>("throttleLimit")!.Value;

    /// <summary>The deploy-rs command as written (split by <see cref="Atelier.Infra.CommandWords"/>), or null to find one.</summary>
    public string? DeployCommand => Get<string>("deployCommand");

    /// <summary>The paths whose change means every node (<c>-SharedPath</c>'s default): the <c>sharedPaths:</c> list, else <see cref="DeployTargets.DefaultSharedPaths"/>.</summary>
    public IReadOnlyList<string> SharedPaths => Get<IReadOnlyList<string>>("sharedPaths")!;

    /// <summary>The <c>redact:</c> list's values and patterns with the built-in shapes (just those when the file has none).</summary>
    public Redaction Redaction => Get<Redaction>("redact") ?? Redaction.BuiltIn;

    /// <summary>The deploy defaults of <paramref name="service"/> from the <c>services:</c> mapping, or null when it has none.</summary>
    public ServiceSettings? ServiceDefaults(string service) =>
        Get<IReadOnlyDictionary<string, ServiceSettings>>("services") is { } services && services.TryGetValue(service, out var defaults) ? defaults : null;

    /// <summary>Whether <paramref name="key"/> was set by the file (not a default).</summary>
    public bool IsSet(string key) => _values.ContainsKey(key);

    /// <summary>Each setting's effective value and where it came from, in <see cref="Definitions"/> order.</summary>
    public IEnumerable<AtelierSetting> Describe() =>
        Definitions.Select(d => _values.TryGetValue(d.Key, out var set)
            ? new AtelierSetting(d.Key, set.Value is Redaction redaction ? redaction.Describe() : set.Value, $"{File}:{set.Line}", d.Description)
            : new AtelierSetting(d.Key, d.Default?.Invoke(), "default", d.Description));

    /// <summary>
    /// The settings file that applies in <paramref name="currentDirectory"/>: its <c>atelier.yaml</c>, else the user's
    /// <c>$XDG_CONFIG_HOME/atelier/config.yaml</c> (<c>~/.config</c> when the variable is unset), else none.
    /// </summary>
    public static string? Locate(string currentDirectory) =>
        Locate(currentDirectory, Environment.GetEnvironmentVariable("XDG_CONFIG_HOME"), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary><see cref="Locate(string)"/> with the environment given (XDG_CONFIG_HOME, which counts only when absolute, and the home folder).</summary>
    public static string? Locate(string currentDirectory, string? xdgConfigHome, string home)
    {
        var project = Path.Join(currentDirectory, ProjectFileName);
        if (System.IO.File.Exists(project))
        {
            return project;
        }

        var config = string.IsNullOrEmpty(xdgConfigHome) || !Path.IsPathRooted(xdgConfigHome) ? Path.Join(home, ".config") : xdgConfigHome;
        var user = Path.Join(config, "atelier", "config.yaml");
        return System.IO.File.Exists(user) ? user : null;
    }

    /// <summary>The settings that apply in <paramref name="currentDirectory"/> (see <see cref="Locate"/>), read once per change of the file.</summary>
    /// <exception cref="AtelierException"><c>SettingsInvalid</c> naming the file, line and key.</exception>
    public static AtelierSettings For(string currentDirectory) => Locate(currentDirectory) is { } file ? Load(file) : Defaults;

    /// <summary>Reads <paramref name="file"/>, from a cache while the file is unchanged.</summary>
    /// <exception cref="AtelierException"><c>SettingsInvalid</c> naming the file, line and key; <c>SettingsUnreadable</c>.</exception>
    public static AtelierSettings Load(string file)
    {
        file = Path.GetFullPath(file);
        var info = new FileInfo(file);
        if (!info.Exists)
        {
            throw new AtelierException("SettingsNotFound", FailureKind.NotFound, $"The settings file {file} does not exist.");
        }

        if (Cache.TryGetValue(file, out var cached) && cached.Written == info.LastWriteTimeUtc && cached.Length == info.Length)
        {
            return cached.Settings;
        }

        string text;
        try
        {
            text = System.IO.File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AtelierException("SettingsUnreadable", FailureKind.InvalidData, $"Cannot read the settings file {file}: {ex.Message}", ex);
        }

        var settings = Parse(text, file);
        Cache[file] = (info.LastWriteTimeUtc, info.Length, settings);
        return settings;
    }

    /// <summary>Reads settings from YAML <paramref name="text"/>; <paramref name="file"/> names it in errors and anchors relative paths.</summary>
    /// <exception cref="AtelierException"><c>SettingsInvalid</c> naming the file, line and key.</exception>
    public static AtelierSettings Parse(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw Invalid(file, (int)ex.Start.Line, null, $"is not valid YAML: {(ex.InnerException?.Message ?? ex.Message).TrimEnd('.')}");
        }

        var values = new Dictionary<string, (object, int)>(StringComparer.Ordinal);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return new AtelierSettings(file, values);
        }

        if (stream.Documents.Count > 1)
        {
            throw Invalid(file, (int)stream.Documents[1].RootNode.Start.Line, null, "holds more than one YAML document");
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw Invalid(file, (int)stream.Documents[0].RootNode.Start.Line, null, "must be a mapping of setting names to values");
        }

        foreach (var (keyNode, valueNode) in root.Children)
        {
            var line = (int)keyNode.Start.Line;
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                throw Invalid(file, line, null, "has a key that is not a plain name");
            }

            var definition = Definitions.FirstOrDefault(d => d.Key == key)
                ?? throw Invalid(file, line, key, $"is not a setting{Suggestion(key)}. Known settings: {string.Join(", ", Definitions.Select(d => d.Key))}");
            if (values.ContainsKey(key))
            {
                throw Invalid(file, line, key, "is set twice");
            }

            if (definition.Kind == SettingKind.Services)
            {
                values[key] = (ParseServices(valueNode, file), line);
                continue;
            }

            if (definition.Kind == SettingKind.Redact)
            {
                if (ParseRedact(valueNode, file) is { } redaction)
                {
                    values[key] = (redaction, line);
                }

                continue;
            }

            if (definition.Kind == SettingKind.RepositoryPaths)
            {
                if (ParsePaths(valueNode, file, key) is { } paths)
                {
                    values[key] = (paths, line);
                }

                continue;
            }

            if (valueNode is not YamlScalarNode scalar)
            {
                throw Invalid(file, (int)valueNode.Start.Line, key, $"must be a single value, not a {(valueNode is YamlSequenceNode ? "list" : "mapping")}");
            }

            if (scalar.Value is null or "" || (scalar.Style == ScalarStyle.Plain && scalar.Value is "~" or "null"))
            {
                continue; // explicitly empty: the default applies
            }

            try
            {
                values[key] = (definition.Parse(scalar.Value, file), (int)scalar.Start.Line);
            }
            catch (FormatException ex)
            {
                throw Invalid(file, (int)scalar.Start.Line, key, $"{ex.Message} (it is '{Shell.RemoteValue.Excerpt(scalar.Value)}')");
            }
        }

        return new AtelierSettings(file, values);
    }

    /// <summary>The <c>services:</c> mapping: service name to its deploy defaults, each value checked like the parameter it stands for.</summary>
    private static Dictionary<string, ServiceSettings> ParseServices(YamlNode node, string file)
    {
        var services = new Dictionary<string, ServiceSettings>(StringComparer.Ordinal);
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return services;
        }

        if (node is not YamlMappingNode mapping)
        {
            throw Invalid(file, (int)node.Start.Line, "services", "must be a mapping of service names to their deploy defaults");
        }

        foreach (var (nameNode, entryNode) in mapping.Children)
        {
            var line = (int)nameNode.Start.Line;
            var name = (nameNode as YamlScalarNode)?.Value ?? string.Empty;
            try
            {
                Shell.RemoteValue.ServiceName(name);
            }
            catch (Shell.RemoteValueException ex)
            {
                throw Invalid(file, line, "services", $"has an entry '{Shell.RemoteValue.Excerpt(name)}' that is not a service name: {ex.Reason}");
            }

            if (services.ContainsKey(name))
            {
                throw Invalid(file, line, $"services.{name}", "is set twice");
            }

            if (entryNode is not YamlMappingNode entry)
            {
                throw Invalid(file, (int)entryNode.Start.Line, $"services.{name}", $"must be a mapping of {string.Join(", ", ServiceSettings.Keys)}");
            }

            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (fieldNode, valueNode) in entry.Children)
            {
                var field = (fieldNode as YamlScalarNode)?.Value ?? string.Empty;
                var where = $"services.{name}.{field}";
                if (!ServiceSettings.Keys.Contains(field))
                {
                    var near = Suggestions.Closest(field, ServiceSettings.Keys, 1);
                    throw Invalid(file, (int)fieldNode.Start.Line, where, $"is not a service setting{(near is [var n] ? $" (did you mean '{n}'?)" : string.Empty)}. Known: {string.Join(", ", ServiceSettings.Keys)}");
                }

                if (valueNode is not YamlScalarNode { Value: { } text })
                {
                    throw Invalid(file, (int)valueNode.Start.Line, where, "must be a single value");
                }

                try
                {
                    fields[field] = CheckServiceField(field, text);
                }
                catch (Exception ex) when (ex is FormatException or Shell.RemoteValueException)
                {
                    throw Invalid(file, (int)valueNode.Start.Line, where, $"{(ex is Shell.RemoteValueException r ? "is refused: " + r.Reason : ex.Message)} (it is '{Shell.RemoteValue.Excerpt(text)}')");
                }
            }

            services[name] = new ServiceSettings
            {
                Service = name,
                Branch = fields.GetValueOrDefault("branch"),
                WorkDir = fields.GetValueOrDefault("workDir"),
                BuildCommand = fields.GetValueOrDefault("buildCommand"),
                InstallCommand = fields.GetValueOrDefault("installCommand"),
                PreRestartCommand = fields.GetValueOrDefault("preRestartCommand"),
                PostDeployCommand = fields.GetValueOrDefault("postDeployCommand"),
                HealthTimeout = fields.TryGetValue("healthTimeout", out var timeout) ? int.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture) : null,
                Source = $"{file}:{line}",
            };
        }

        return services;
    }

    /// <summary>
    /// The <c>redact:</c> list: each item a value or a <c>/pattern/</c> (<see cref="Redaction.Parse"/>), checked where it
    /// is written; null for an empty list.
    /// </summary>
    private static Redaction? ParseRedact(YamlNode node, string file)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return null;
        }

        if (node is not YamlSequenceNode list)
        {
            throw Invalid(file, (int)node.Start.Line, "redact", "must be a list of values and /patterns/ (one '- item' a line)");
        }

        var redaction = Redaction.BuiltIn;
        foreach (var item in list.Children)
        {
            if (item is not YamlScalarNode { Value: { } rule })
            {
                throw Invalid(file, (int)item.Start.Line, "redact", $"holds a {(item is YamlSequenceNode ? "list" : "mapping")} where a value or a /pattern/ belongs");
            }

            try
            {
                redaction = redaction.With(Redaction.Parse([rule]));
            }
            catch (FormatException ex)
            {
                throw Invalid(file, (int)item.Start.Line, "redact", $"item {ex.Message.Replace("rule 1 ", string.Empty, StringComparison.Ordinal)}");
            }
        }

        return redaction.Values.Count == 0 && redaction.Patterns.Count == 0 ? null : redaction;
    }

    /// <summary>
    /// A list of repository paths (<c>sharedPaths:</c>), each checked by <see cref="DeployTargets.SharedPathProblem"/>;
    /// null for an explicitly empty value (the default applies), an empty list for <c>[]</c>.
    /// </summary>
    private static List<string>? ParsePaths(YamlNode node, string file, string key)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return null;
        }

        if (node is not YamlSequenceNode list)
        {
            throw Invalid(file, (int)node.Start.Line, key, "must be a list of paths in the repository (one '- path' a line; a folder ends in '/')");
        }

        var paths = new List<string>();
        foreach (var item in list.Children)
        {
            if (item is not YamlScalarNode { Value: { } path })
            {
                throw Invalid(file, (int)item.Start.Line, key, $"holds a {(item is YamlSequenceNode ? "list" : "mapping")} where a path belongs");
            }

            if (DeployTargets.SharedPathProblem(path) is { } problem)
            {
                throw Invalid(file, (int)item.Start.Line, key, $"item {problem} (it is '{Shell.RemoteValue.Excerpt(path)}')");
            }

            if (!paths.Contains(path))
            {
                paths.Add(path);
            }
        }

        return paths;
    }

    private static string CheckServiceField(string field, string text) => field switch
    {
        "branch" => Shell.RemoteValue.Branch(text),
        "workDir" => WorkDir(text),
        "buildCommand" => Shell.RemoteValue.OneLineText(text, "build command", DeployRequest.MaxCommandLength),
        "installCommand" => Shell.RemoteValue.OneLineText(text, "install command", DeployRequest.MaxCommandLength),
        "preRestartCommand" => Shell.RemoteValue.OneLineText(text, "pre-restart command", DeployRequest.MaxCommandLength),
        "postDeployCommand" => Shell.RemoteValue.OneLineText(text, "post-deploy command", DeployRequest.MaxCommandLength),
        _ => int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 3600
            ? text
            : throw new FormatException("must be a whole number of seconds from 1 to 3600"),
    };

    private static string WorkDir(string text)
    {
        DeployCommands.WorkFolder(text);
        return text;
    }

    private T? Get<T>(string key)
    {
        if (_values.TryGetValue(key, out var set))
        {
            return (T)set.Value;
        }

        return (T?)Definitions.First(d => d.Key == key).Default?.Invoke();
    }

    private static string Suggestion(string key) =>
        Suggestions.Closest(key, Definitions.Select(d => d.Key), 1) is [var near] ? $" (did you mean '{near}'?)" : string.Empty;

    private static AtelierException Invalid(string file, int line, string? key, string problem) =>
        new("SettingsInvalid", FailureKind.InvalidData, key is null ? $"{file}:{line}: the settings file {problem}." : $"{file}:{line}: '{key}' {problem}.");
}

/// <summary>One setting's effective value and where it came from (<c>default</c>, or <c>file:line</c>).</summary>
public sealed record AtelierSetting(string Name, object? Value, string Source, string Description);
