using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using Atelier.Manifest;
using Atelier.Settings;

namespace Atelier.Commands.Completion;

/// <summary>Tab completion of service names (Invoke-ServiceDeploy -Service, Test-ServiceHealth -Name, ...) from the services manifest.</summary>
/// <remarks>Implements only PowerShell's interface and holds no engine types: see <see cref="Infrastructure.CmdletChannel"/>.</remarks>
public sealed class ServiceNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        ManifestCompletion.Complete(wordToComplete, commandAst, fakeBoundParameters, ManifestCompletion.Services);
}

/// <summary>Tab completion of machine names (Get-AtelierService -Machine, Test-AtelierMachine -Name) from the services manifest.</summary>
public sealed class MachineNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        ManifestCompletion.Complete(wordToComplete, commandAst, fakeBoundParameters, ManifestCompletion.Machines);
}

/// <summary>Tab completion of hosts (-ComputerName) from the services manifest: each machine's Tailscale host, host name or name.</summary>
public sealed class HostNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        ManifestCompletion.Complete(wordToComplete, commandAst, fakeBoundParameters, ManifestCompletion.Hosts);
}

/// <summary>
/// What the completers share: finding the manifest (the command's -Manifest, else a -Manifest earlier on the line,
/// else the default), loading it through <see cref="ManifestCache"/> so that Tab stays fast, and never throwing.
/// </summary>
internal static class ManifestCompletion
{
    /// <summary>How long one Tab waits for a manifest that is still loading; the load goes on for the next Tab.</summary>
    private static readonly TimeSpan LoadWait = TimeSpan.FromSeconds(5);

    private static readonly ManifestOptions Options = new() { HttpTimeout = TimeSpan.FromSeconds(10), NixTimeout = TimeSpan.FromSeconds(60) };

    public static IEnumerable<CompletionResult> Complete(
        string wordToComplete,
        CommandAst? commandAst,
        IDictionary? fakeBoundParameters,
        Func<ServicesManifest, IDictionary?, IEnumerable<(string Value, string ToolTip)>> candidates)
    {
        try
        {
            var location = Text(fakeBoundParameters?["Manifest"]) ?? ManifestOnTheLine(commandAst) ?? AtelierSettings.For(FullPath(".")).Manifest;
            if (location is null)
            {
                return [];
            }

            var source = ManifestSource.Resolve(location, FullPath);
            var load = ManifestCache.GetAsync(source, ManifestCache.DefaultMaxAge, Options, null, CancellationToken.None);
            if (!load.Wait(LoadWait))
            {
                return [];
            }

            var word = (wordToComplete ?? string.Empty).Trim('\'', '"');
            var pattern = WildcardPattern.Get(WildcardPattern.Escape(word) + "*", WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
            return candidates(load.Result, fakeBoundParameters)
                .Where(c => pattern.IsMatch(c.Value))
                .DistinctBy(c => c.Value, StringComparer.OrdinalIgnoreCase)
                .OrderBy(c => c.Value, StringComparer.OrdinalIgnoreCase)
                .Select(c => new CompletionResult(Quote(c.Value), c.Value, CompletionResultType.ParameterValue, c.ToolTip))
                .ToList();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Completion must never disturb the prompt: an unreadable manifest simply offers nothing.
            return [];
        }
    }

    /// <summary>Service names, only those of the machines already given with -Machine when there is one.</summary>
    public static IEnumerable<(string, string)> Services(ServicesManifest manifest, IDictionary? bound)
    {
        var machines = ManifestLocation.Patterns(Texts(bound?["Machine"]));
        return manifest.Services
            .Where(s => ManifestLocation.Matches(s.Machine, machines))
            .Select(s => (s.Name, $"{s.Name} on {s.Machine}" + (s.Description is null ? string.Empty : $": {s.Description}") + (s.Domain is null ? string.Empty : $" ({s.Domain})")));
    }

    public static IEnumerable<(string, string)> Machines(ServicesManifest manifest, IDictionary? bound) =>
        manifest.Machines.Select(m => (m.Name, $"{m.Name} ({m.Type ?? "machine"}, {m.Host}): {m.Services.Length} service(s)"));

    public static IEnumerable<(string, string)> Hosts(ServicesManifest manifest, IDictionary? bound) =>
        manifest.Machines.Select(m => (m.Host, $"{m.Host}: machine {m.Name}"));

    /// <summary>The value of the last <c>-Manifest</c> argument before this command on the input line, when it is a constant.</summary>
    private static string? ManifestOnTheLine(CommandAst? commandAst)
    {
        if (commandAst is null)
        {
            return null;
        }

        Ast root = commandAst;
        while (root.Parent is not null)
        {
            root = root.Parent;
        }

        string? found = null;
        foreach (var command in root.FindAll(a => a is CommandAst c && c.Extent.StartOffset <= commandAst.Extent.StartOffset, searchNestedScriptBlocks: true).Cast<CommandAst>().OrderBy(c => c.Extent.StartOffset))
        {
            var elements = command.CommandElements;
            for (var i = 0; i < elements.Count; i++)
            {
                if (elements[i] is CommandParameterAst { ParameterName: var name } parameter && name.Equals("Manifest", StringComparison.OrdinalIgnoreCase))
                {
                    var argument = parameter.Argument ?? (i + 1 < elements.Count && elements[i + 1] is ExpressionAst next ? next : null);
                    found = Constant(argument) ?? found;
                }
            }
        }

        return found;
    }

    private static string? Constant(ExpressionAst? argument) => argument switch
    {
        null => null,
        StringConstantExpressionAst constant => constant.Value,
        ExpandableStringExpressionAst { NestedExpressions.Count: 0 } expandable => expandable.Value,
        _ => Text(argument.SafeGetValue()),
    };

    private static string? Text(object? value) => value switch
    {
        null => null,
        PSObject ps => Text(ps.BaseObject),
        string s when !string.IsNullOrWhiteSpace(s) => s,
        _ => null,
    };

    private static IEnumerable<string>? Texts(object? value) => value switch
    {
        null => null,
        PSObject ps => Texts(ps.BaseObject),
        string s => [s],
        IEnumerable e => e.Cast<object?>().Select(Text).OfType<string>().ToList(),
        _ => null,
    };

    /// <summary>
    /// A path against PowerShell's current location (a nested pipeline on the completing thread: the runspace's
    /// SessionStateProxy cannot be used while TabExpansion2 runs), else against this process's folder.
    /// </summary>
    private static string FullPath(string path)
    {
        try
        {
            using var shell = PowerShell.Create(RunspaceMode.CurrentRunspace);
            shell.AddScript("param($path) $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path)").AddArgument(path);
            if (shell.Invoke<string>() is [{ Length: > 0 } resolved])
            {
                return resolved;
            }
        }
        catch (Exception ex) when (ex is PSInvalidOperationException or RuntimeException or InvalidRunspaceStateException)
        {
            // No runspace on this thread, or the path is not a file system path: fall back below.
        }

        return Path.GetFullPath(path);
    }

    /// <summary>The value as typed on a command line: as is when it is plain, else in single quotes.</summary>
    private static string Quote(string value) =>
        value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '@' or '/')
            ? value
            : "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
