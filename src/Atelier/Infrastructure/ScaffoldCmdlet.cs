using System.Collections;
using System.Management.Automation;
using Atelier.Scaffold;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Base of the cmdlets that write files into repositories from an engine plan (New-ServiceModule): each planned file
/// is asked about with its diff, written, and passed down the pipeline; what a user gives as a hashtable reaches the
/// engine as plain strings.
/// </summary>
public abstract class ScaffoldCmdlet : AtelierCmdlet
{
    /// <summary>
    /// Builds the engine's request (<paramref name="request"/>, on the pipeline thread) and plans its files with the engine
    /// (<paramref name="plan"/>); a refused request or plan stops the cmdlet, naming <paramref name="target"/>, and writes
    /// nothing. Then writes the files (<see cref="WritePlan"/>).
    /// </summary>
    private protected void PlanAndWrite<TRequest>(
        Func<TRequest> request,
        Func<TRequest, IReporter, CancellationToken, Task<IReadOnlyList<PlannedFile>>> plan,
        string caption,
        object target)
    {
        IReadOnlyList<PlannedFile> files;
        try
        {
            var built = request();
            files = Run((channel, token) => plan(built, channel.Reporter, token));
        }
        catch (Exception ex) when (ex is AtelierException or ArgumentException)
        {
            ThrowTerminatingError(ErrorFor(ex, target));
            return;
        }

        WritePlan(files, caption);
    }

    /// <summary>
    /// Writes <paramref name="files"/> in their order: a file already as it should be is said so (verbose) and passed on
    /// (not with -WhatIf); any other asks <c>ShouldProcess</c> with its diff under <paramref name="caption"/>, then is
    /// written and passed on. A file that cannot be written stops the cmdlet; those before it stay written.
    /// </summary>
    private void WritePlan(IReadOnlyList<PlannedFile> files, string caption)
    {
        var whatIf = IsWhatIf;
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
            if (!ShouldChange($"{verb} {file.Path}:\n{file.Diff}", $"{verb} {file.Path}?", caption))
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

    /// <summary>A hashtable's entries as strings (a key or value PowerShell wrapped is unwrapped first; null is empty).</summary>
    private protected static Dictionary<string, string> Strings(Hashtable? table)
    {
        var strings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table ?? [])
        {
            var key = (entry.Key is PSObject k ? k.BaseObject : entry.Key)?.ToString() ?? string.Empty;
            strings[key] = (entry.Value is PSObject v ? v.BaseObject : entry.Value)?.ToString() ?? string.Empty;
        }

        return strings;
    }
}
