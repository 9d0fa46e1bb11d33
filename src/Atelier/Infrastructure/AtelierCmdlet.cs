using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Runtime.ExceptionServices;
using Atelier.Commands.Completion;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Infra;
using Atelier.Manifest;
using Atelier.Output;
using Atelier.Settings;
using Atelier.Shell;
using Atelier.Status;
using Atelier.Transport;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Base of every Atelier cmdlet: runs engine work off the pipeline thread, replays what it reports (verbose lines,
/// progress, objects, errors) on the pipeline thread as it happens, and cancels it on Ctrl+C (<see cref="StopProcessing"/>)
/// or when a write fails. Every verbose line, warning and error message it writes is cleaned and redacted
/// (<see cref="Text"/>), whatever host text it holds.
/// </summary>
public abstract class AtelierCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private AtelierSettings? _settings;
    private HostText? _text;

    /// <summary>
    /// The settings file that applies in the current location (<c>./atelier.yaml</c>, else the user's config.yaml):
    /// the defaults behind every parameter the user did not give. A broken file stops the cmdlet, naming file, line and key.
    /// </summary>
    protected AtelierSettings Settings
    {
        get
        {
            if (_settings is null)
            {
                try
                {
                    _settings = AtelierSettings.For(SessionState.Path.CurrentFileSystemLocation.ProviderPath);
                }
                catch (AtelierException ex)
                {
                    ThrowTerminatingError(ErrorFor(ex, AtelierSettings.ProjectFileName));
                }
            }

            return _settings!;
        }
    }

    /// <summary>
    /// What this invocation hides: the settings file's <c>redact:</c> list and the built-in secret shapes. A settings
    /// file that cannot be read gives the built-in shapes here; its error comes where the settings are needed.
    /// </summary>
    protected virtual Redaction Redaction
    {
        get
        {
            if (_settings is null)
            {
                try
                {
                    _settings = AtelierSettings.For(SessionState.Path.CurrentFileSystemLocation.ProviderPath);
                }
                catch (AtelierException)
                {
                    return Output.Redaction.BuiltIn;
                }
            }

            return _settings.Redaction;
        }
    }

    /// <summary>
    /// The sanitiser of host text for this invocation (<see cref="HostText"/> with <see cref="Redaction"/>): what the
    /// engine's results, records and summaries, and this cmdlet's messages, pass through. Made on the pipeline thread
    /// (at the latest by <see cref="Run{T}"/>) before any work runs.
    /// </summary>
    protected HostText Text => _text ??= new HostText(Redaction);

    /// <summary>
    /// The services manifest at <paramref name="location"/> (-Manifest), else the settings file's; stops the cmdlet with
    /// the loader's error (<c>ManifestNotConfigured</c>, <c>ManifestNotFound</c>, <c>ManifestInvalid</c>, ...).
    /// </summary>
    protected ServicesManifest LoadManifest(string? location)
    {
        try
        {
            var source = ManifestLocation.Resolve(LocalPath, location, Settings.Manifest);
            return Run((channel, cancellation) =>
            {
                channel.Verbose($"Reading the services manifest from {source}");
                return source.LoadAsync(null, cancellation);
            });
        }
        catch (Exception ex) when (ex is not PipelineStoppedException and not OperationCanceledException)
        {
            ThrowTerminatingError(ErrorFor(ex, location));
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <summary>
    /// <see cref="Cmdlet.ShouldProcess(string, string)"/> for every change a cmdlet makes; see
    /// <see cref="ShouldChange(string, string, string)"/>.
    /// </summary>
    protected bool ShouldChange(string target, string action) => Asked(() => ShouldProcess(target, action), target);

    /// <summary>
    /// <see cref="Cmdlet.ShouldProcess(string, string, string)"/> for every change a cmdlet makes, in a host that may not
    /// be able to ask: where no one can answer the <c>-Confirm</c> prompt (<c>pwsh -NonInteractive</c>, a runspace
    /// without a UI, a console whose input has ended, where PowerShell itself fails with "Object reference not set..."),
    /// the cmdlet stops with a <c>ConfirmationNeeded</c> error that names <c>-Confirm:$false</c>, before it changes anything.
    /// </summary>
    protected bool ShouldChange(string verboseDescription, string verboseWarning, string caption) =>
        Asked(() => ShouldProcess(verboseDescription, verboseWarning, caption), verboseWarning);

    private bool Asked(Func<bool> ask, string target)
    {
        try
        {
            return ask();
        }
        catch (Exception ex) when (ex is HostException or InvalidOperationException or NullReferenceException)
        {
            ThrowTerminatingError(Errors.ConfirmationNeeded(MyInvocation.MyCommand.Name, ex, target));
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <summary>
    /// The file-system path <paramref name="path"/> names (relative to the current location, <c>~</c> expanded, PowerShell
    /// drives resolved; it need not exist yet). A path of another provider (<c>Env:</c>, <c>Variable:</c>), an unknown
    /// drive (<c>http://...</c>) or an invalid path is a <see cref="PSArgumentException"/> (InvalidArgument), never an
    /// unexpected failure.
    /// </summary>
    protected string LocalPath(string path)
    {
        if (path.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0 || path.Contains('\u007f'))
        {
            throw new PSArgumentException($"'{Quoted(Text.Clean(path))}' is not a path on this machine: it holds a control character.");
        }

        string resolved;
        ProviderInfo provider;
        try
        {
            resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
        }
        catch (Exception ex) when (ex is SessionStateException or ProviderInvocationException or NotSupportedException or ArgumentException)
        {
            throw new PSArgumentException($"'{Quoted(path)}' is not a path on this machine: {ex.Message}", ex);
        }

        if (provider.ImplementingType != typeof(Microsoft.PowerShell.Commands.FileSystemProvider))
        {
            throw new PSArgumentException($"'{Quoted(path)}' is not a file-system path: it names the {provider.Name} provider.");
        }

        return resolved;
    }

    /// <summary>
    /// Case-insensitive wildcard patterns for <paramref name="values"/>; a value that is not a valid pattern (an unclosed
    /// '[') stops the cmdlet as InvalidArgument, naming it.
    /// </summary>
    protected WildcardPattern[] Patterns(IEnumerable<string> values)
    {
        var patterns = new List<WildcardPattern>();
        foreach (var value in values)
        {
            var pattern = ManifestLocation.Patterns([value])[0];
            try
            {
                pattern.IsMatch(string.Empty); // parses it
            }
            catch (WildcardPatternException ex)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException($"'{Quoted(Text.Clean(value))}' is not a valid wildcard pattern: {ex.Message}", ex),
                    "InvalidWildcardPattern", ErrorCategory.InvalidArgument, value));
            }

            patterns.Add(pattern);
        }

        return [.. patterns];
    }

    /// <summary>The first 60 characters of a value quoted in a message.</summary>
    private static string Quoted(string value) => value.Length <= 60 ? value : value[..60] + "...";

    /// <summary>Whether the user gave <paramref name="parameter"/> (so it overrides the settings file).</summary>
    protected bool IsBound(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

    /// <summary>Whether this invocation only shows what it would do (<c>-WhatIf</c>).</summary>
    protected bool IsWhatIf => MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf) && whatIf is SwitchParameter { IsPresent: true };

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken Cancellation => _stopping.Token;

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool while writing, on this thread, every record it queues on the
    /// channel. Returns the work's result, or rethrows its exception.
    /// </summary>
    /// <remarks>
    /// <para>
    /// A write that fails stops the work as Ctrl+C does, whatever the reason: the pipeline stopping (Ctrl+C, a Stop
    /// preference such as <c>-WarningAction Stop</c>, a downstream <c>Select-Object -First</c>), a downstream command
    /// that threw, a prompt with no console to ask on, a host that could not show the record. The work is cancelled and may still be cleaning up on a host
    /// (killing a remote command, rolling a deploy back, releasing a lock): this writes nothing more and waits for it
    /// to finish, so its connections are not closed under it, then throws the write's exception, so the caller sees
    /// the stop it asked for rather than what the work made of the cancellation. Only when the work is still running
    /// and has said what it is finishing (<see cref="IReporter.Finishing"/>: a rollback, the deploy lock) does the
    /// cmdlet say why it does not let go at once; a read, a check or work already done stops without a word.
    /// </para>
    /// <para>
    /// No write asks anything (<see cref="PromptFreeWriter"/>): Inquire, which <c>-Debug</c> sets for verbose lines and
    /// warnings, writes them as Continue does. A cmdlet asks in <c>ShouldProcess</c>, before it changes anything.
    /// </para>
    /// </remarks>
    protected T Run<T>(Func<CmdletChannel, CancellationToken, Task<T>> work)
    {
        using var channel = new CmdletChannel(Text);
        var task = Task.Run(() => work(channel, Cancellation), Cancellation);
        task.ContinueWith(_ => channel.Complete(), TaskScheduler.Default);
        Exception? failedWrite = null;
        foreach (var write in channel.Records())
        {
            if (failedWrite is not null)
            {
                continue; // drain, writing nothing, until the work is done
            }

            try
            {
                write(this);
            }
            catch (Exception ex)
            {
                failedWrite = ex;
                StopWork(channel, task);
            }
        }

        if (failedWrite is not null)
        {
            _ = task.Exception; // observed: the failed write is what the caller sees
            ThrowFailedWrite(failedWrite);
        }

        return task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Cancels the work after a failed write and, when it is still running and finishing something on a host, says what
    /// the cmdlet waits for.
    /// </summary>
    private void StopWork(CmdletChannel channel, Task task)
    {
        try
        {
            _stopping.Cancel();
        }
        catch (AggregateException)
        {
            // A cancellation callback failed; the work sees the cancellation all the same.
        }

        if (!task.IsCompleted && channel.Finishing is { } what)
        {
            WriteStopNotice($"Stopping after {what}: a stop must not leave that half done.");
        }
    }

    /// <summary>
    /// A warning, as the cmdlet's warning preference says (SilentlyContinue and Ignore silence it, Inquire writes it without
    /// asking): on the warning stream while it still takes records, else (the pipeline has stopped) on the host's UI.
    /// </summary>
    private void WriteStopNotice(string notice)
    {
        if (WarningPreference() is ActionPreference.SilentlyContinue or ActionPreference.Ignore)
        {
            return;
        }

        try
        {
            PromptFreeWriter.Warning(this, notice);
            return;
        }
        catch (ActionPreferenceStopException)
        {
            return; // written, then stopped again, as -WarningAction Stop asks
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The pipeline has stopped: its streams take nothing more.
        }

        try
        {
            Host?.UI?.WriteWarningLine(notice);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Only a notice: a host that cannot show it must not end the wait for the work.
        }
    }

    /// <summary>This invocation's warning preference: -WarningAction, else $WarningPreference.</summary>
    private ActionPreference WarningPreference()
    {
        var value = MyInvocation.BoundParameters.TryGetValue("WarningAction", out var bound) ? bound : SessionState.PSVariable.GetValue("WarningPreference");
        return LanguagePrimitives.TryConvertTo(value, out ActionPreference preference) ? preference : ActionPreference.Continue;
    }

    /// <summary>
    /// Throws a failed write's exception: a <see cref="PipelineStoppedException"/> as it is (PowerShell has the reason
    /// for its own stops); anything else as this cmdlet's terminating error, which stops the pipeline too, where the
    /// cmdlet's handler of failed work would write it as one more error and go on.
    /// </summary>
    [DoesNotReturn]
    private void ThrowFailedWrite(Exception failedWrite)
    {
        if (failedWrite is PipelineStoppedException)
        {
            ExceptionDispatchInfo.Throw(failedWrite);
        }

        ThrowTerminatingError(Errors.ForFailedWrite(failedWrite));
        throw failedWrite; // not reached: ThrowTerminatingError throws
    }

    /// <summary>Runs work that returns nothing; see <see cref="Run{T}"/>.</summary>
    protected void Run(Func<CmdletChannel, CancellationToken, Task> work) =>
        Run<bool>(async (channel, token) =>
        {
            await work(channel, token).ConfigureAwait(false);
            return true;
        });

    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>
    /// An error record with a stable id and a category for a failure of one item; its message as shown is cleaned and
    /// redacted (the settings' own failure, before there is a <see cref="Text"/>, with the built-in redaction).
    /// </summary>
    protected ErrorRecord ErrorFor(Exception exception, object? target) => Errors.For(exception, target, _text ?? HostText.Default);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stopping.Dispose();
        }
    }
}

/// <summary>
/// A thread-safe queue of records for the pipeline thread. Engine work reports into it (through <see cref="Reporter"/>)
/// and cmdlets add objects and errors.
/// </summary>
/// <remarks>
/// Public types of this assembly must not derive from or implement engine types: PowerShell loads every exported
/// type while it imports the module, before the engine's load context is in place.
/// </remarks>
public sealed class CmdletChannel : IDisposable
{
    private readonly BlockingCollection<Action<Cmdlet>> _records = new();
    private readonly HostText _text;
    private ChannelReporter? _reporter;
    private volatile string? _finishing;

    /// <param name="text">What cleans and redacts every verbose line and warning (they may quote a host).</param>
    public CmdletChannel(HostText text) => _text = text;

    /// <summary>This channel as the engine's <see cref="IReporter"/>.</summary>
    public IReporter Reporter => _reporter ??= new ChannelReporter(this);

    public void Verbose(string message)
    {
        var clean = _text.Clean(message);
        Add(c => PromptFreeWriter.Verbose(c, clean));
    }

    public void Warning(string message)
    {
        var clean = _text.Clean(message);
        Add(c => PromptFreeWriter.Warning(c, clean));
    }

    /// <summary>A progress record; with <paramref name="parentActivityId"/> (not -1), shown under that activity's record.</summary>
    public void Progress(int activityId, string activity, string status, int percent, int parentActivityId = -1) =>
        Add(c => PromptFreeWriter.Progress(c, new ProgressRecord(activityId, activity, string.IsNullOrEmpty(status) ? " " : status)
        {
            PercentComplete = percent,
            ParentActivityId = parentActivityId,
            RecordType = percent >= 100 ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        }));

    /// <summary>
    /// A line of a remote command's output, shown as it comes like Write-Host's (the information stream, tagged
    /// <c>PSHOST</c> and <paramref name="tag"/>): cleaned and redacted; <c>-InformationAction Ignore</c> or <c>6&gt;</c>
    /// take it away.
    /// </summary>
    public void Information(string line, string tag)
    {
        var clean = _text.Clean(line);
        Add(c => PromptFreeWriter.Information(c, clean, tag));
    }

    /// <summary>Writes an object to the pipeline.</summary>
    public void Output(object value) => Add(c => c.WriteObject(value));

    /// <summary>Writes a non-terminating error.</summary>
    public void Error(ErrorRecord record) => Add(c => PromptFreeWriter.Error(c, record));

    /// <summary>Runs <paramref name="write"/> on the pipeline thread, in its turn with every other record (a result and what goes with it).</summary>
    internal void Post(Action<Cmdlet> write) => Add(write);

    /// <summary>What the work is finishing on a host that a stop must not leave half done, or null (see <see cref="IReporter.Finishing"/>).</summary>
    internal string? Finishing => _finishing;

    internal IEnumerable<Action<Cmdlet>> Records() => _records.GetConsumingEnumerable();

    internal void Complete() => _records.CompleteAdding();

    private void Add(Action<Cmdlet> record)
    {
        try
        {
            _records.Add(record);
        }
        catch (InvalidOperationException)
        {
            // The cmdlet stopped reading: the pipeline is stopping.
        }
    }

    public void Dispose() => _records.Dispose();

    private sealed class ChannelReporter(CmdletChannel channel) : IReporter
    {
        public void Verbose(string message) => channel.Verbose(message);

        public void Warning(string message) => channel.Warning(message);

        public void Warning(string message, IReadOnlyList<Hint> hints) => channel.Warning(Errors.Hinted(message, hints));

        public void Progress(int activityId, string activity, string status, int percent) => channel.Progress(activityId, activity, status, percent);

        public void Progress(int activityId, int parentActivityId, string activity, string status, int percent) => channel.Progress(activityId, activity, status, percent, parentActivityId);

        public void Finishing(string? what) => channel._finishing = what;
    }
}

/// <summary>
/// Stable error ids and categories for the failures the engine raises, and the words for what the user can do about
/// them (<see cref="Hint"/>): the engine names what went wrong, this table the parameters and commands that help.
/// </summary>
internal static class Errors
{
    /// <summary>The words for <paramref name="hint"/>: one sentence naming the parameter or command that helps.</summary>
    public static string Text(Hint hint) => hint switch
    {
        Hint.DeployCommand => "Or give its command with -DeployCommand or the settings file's deployCommand.",
        Hint.RepositoryPath => "Give -Path the infrastructure repository's work tree.",
        Hint.NodesWithoutNix => "Install nix, or give every node name with -Node.",
        Hint.NodesWithoutFlake => "Fix the flake, or give the node names with -Node.",
        Hint.HistoryPath => "Check -HistoryPath (or the settings' historyPath).",
        Hint.DestinationNeverReplaced => "-Force does not replace it either.",
        Hint.DestinationReplaced => "Give -Force to replace it, or give a folder or a new file name.",
        Hint.PortTaken => "Give another -Port, or -Port Auto.",
        Hint.MachineBlockReplaced => "-Force replaces that block.",
        Hint.FileReplaced => "-Force replaces it.",
        Hint.CommitOffBranch => "Give -Force to deploy it anyway, or the -Branch it is on.",
        Hint.RestoreCommit => "Give the commit to restore with -Commit.",
        Hint.RestoreDatabase => "Give it with -DbPath (or -SkipDatabase).",
        Hint.StoppedOnFailure => "That is -StopOnFailure: without it, the others go on.",
        Hint.HostHistoryLater => "See Get-ServiceDeployHistory -FromHost when the host answers again.",
        Hint.HostHistory => "See Get-ServiceDeployHistory -FromHost.",
        Hint.UnlockPutsNothingBack => "Restore-ServiceDeploy -BreakLock puts it back; -Force removes the lock without putting anything back.",
        Hint.UnlockLiveDeploy => "Unlock-ServiceDeploy removes a live holder's lock only with -Force (that deploy then fails at its next step, and its guard is stopped).",
        Hint.UnlockLiveMaintenance => "Unlock-ServiceDeploy removes a live holder's lock only with -Force.",
        Hint.BreakOnlyDead => "-BreakLock breaks only a dead holder's lock.",
        Hint.WaitForLock => "Use -LockWait to wait for it.",
        Hint.BreakDead => "Run again with -BreakLock to break it.",
        Hint.BreakIfDead => "If that deploy is dead, run again with -BreakLock.",
        Hint.BreakPutsBack => "A deploy or restore with -BreakLock puts back what it had moved and breaks it.",
        Hint.RestoreUnfinished => "Restore-ServiceDeploy puts it back.",
        Hint.StatusLinesUnfiltered => "-Since, -Until and -Priority do not apply to those lines.",
        Hint.AcceptNewHostKey => "Check the fingerprint, then connect once with -AcceptNewHostKey to record it.",
        Hint.Passphrase => "Give its passphrase with -Passphrase.",
        Hint.HealthHost => "Give -ComputerName (or -Local on the host itself).",
        Hint.Machine => "Give -Machine to say which.",
        Hint.ServiceRepository => "Give -Repository, or -AppPath of a git checkout with an origin.",
        _ => throw new ArgumentOutOfRangeException(nameof(hint), hint, "A hint without words."),
    };

    /// <summary>
    /// <paramref name="message"/> followed by the words for <paramref name="hints"/>: on a line of their own after a message
    /// of several lines (a diff, a command's output), else as the sentences after it.
    /// </summary>
    public static string Hinted(string message, IReadOnlyList<Hint> hints)
    {
        if (hints.Count == 0)
        {
            return message;
        }

        var advice = string.Join(" ", hints.Select(Text));
        var end = message.TrimEnd();
        return end.Contains('\n', StringComparison.Ordinal) ? $"{end}\n{advice}"
            : end.Length == 0 ? advice
            : end[^1] is '.' or '!' or '?' ? $"{end} {advice}"
            : $"{end}. {advice}";
    }

    /// <summary>
    /// A deploy or restore result as a cmdlet writes it: its <see cref="ServiceDeployResult.Error"/> followed by the words
    /// for its hints (the histories keep the engine's words). Called once, as the result is written.
    /// </summary>
    public static ServiceDeployResult WithHints(ServiceDeployResult result)
    {
        if (result.Error is not null)
        {
            result.Error = Hinted(result.Error, result.Hints);
        }

        return result;
    }

    /// <summary>A status as a cmdlet writes it: each of its problems followed by the words for its hint.</summary>
    public static ServiceStatus WithHints(ServiceStatus status)
    {
        for (var i = 0; i < status.Problems.Length && i < status.ProblemHints.Count; i++)
        {
            if (status.ProblemHints[i] is { } hint)
            {
                status.Problems[i] = Hinted(status.Problems[i], [hint]);
            }
        }

        return status;
    }

    /// <summary>
    /// The record for <paramref name="exception"/>; when its message quotes host text, the message shown is that text
    /// cleaned. A failure with hints shows their words after its message, and they are its recommended action.
    /// </summary>
    public static ErrorRecord For(Exception exception, object? target, HostText text)
    {
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        var (id, category) = inner switch
        {
            RemoteValueException => ("InvalidRemoteValue", ErrorCategory.InvalidArgument),
            PSArgumentException => ("InvalidArgument", ErrorCategory.InvalidArgument),
            HostKeyException => ("HostKeyRejected", ErrorCategory.SecurityError),
            HostConnectionException => ("HostConnectionFailed", ErrorCategory.ConnectionError),
            RemoteCommandTimeoutException => ("RemoteCommandTimedOut", ErrorCategory.OperationTimeout),
            RemoteCommandException => ("RemoteCommandFailed", ErrorCategory.InvalidResult),
            AtelierException a => (a.ErrorId, Category(a.Kind)),
            OperationCanceledException => ("OperationStopped", ErrorCategory.OperationStopped),
            UnauthorizedAccessException => ("AccessDenied", ErrorCategory.PermissionDenied),
            IOException => ("LocalFileError", ErrorCategory.WriteError),
            _ => ("UnexpectedFailure", ErrorCategory.NotSpecified),
        };
        var record = new ErrorRecord(inner, id, category, target);
        var shown = text.Clean(inner.Message);
        if (!string.Equals(shown, inner.Message, StringComparison.Ordinal))
        {
            record.ErrorDetails = new ErrorDetails(shown);
        }

        return Recommending(record, FailureHints.Of(inner));
    }

    /// <summary>
    /// <paramref name="record"/> with the words for <paramref name="hints"/> after its message (as shown) and as its
    /// recommended action; as it was without hints.
    /// </summary>
    public static ErrorRecord Recommending(ErrorRecord record, IReadOnlyList<Hint> hints)
    {
        if (hints.Count > 0)
        {
            record.ErrorDetails = new ErrorDetails(Hinted(record.ErrorDetails?.Message ?? record.Exception.Message, hints))
            {
                RecommendedAction = string.Join(" ", hints.Select(Text)),
            };
        }

        return record;
    }

    /// <summary>
    /// The error record of a service's deploy or restore result that did not succeed, so a CI step fails; it names the
    /// service and the host. The one place a result becomes an error record, for both families.
    /// </summary>
    public static ErrorRecord ForResult(ServiceDeployResult result, string where)
    {
        var restore = result.Operation == DeployOperation.Restore;
        var what = restore ? "restore" : "deploy";
        if (result.Status == DeployStatus.Skipped)
        {
            return new ErrorRecord(new InvalidOperationException($"The {what} of {result.Service} to {where} was skipped: {result.Error}"), restore ? "RestoreSkipped" : "DeploySkipped", ErrorCategory.OperationStopped, result);
        }

        var (id, category) = result.Status switch
        {
            DeployStatus.RolledBack => ("DeployRolledBack", ErrorCategory.InvalidResult),
            DeployStatus.RollbackFailed => ("DeployRollbackFailed", ErrorCategory.InvalidResult),
            _ => (restore ? "RestoreFailed" : "DeployFailed", ErrorCategory.InvalidOperation),
        };
        var outcome = result.Status switch
        {
            DeployStatus.RolledBack => "failed and was rolled back",
            DeployStatus.RollbackFailed => "failed and was NOT rolled back cleanly",
            _ => "failed",
        };
        return new ErrorRecord(new InvalidOperationException($"The {what} of {result.Service} to {where} {outcome} at the {result.FailedStep} step: {result.Error}"), id, category, result);
    }

    /// <summary>The error record of a node's deploy or restore result that did not succeed, so a CI step fails.</summary>
    public static ErrorRecord ForResult(InfraDeployResult result)
    {
        if (result.Operation == DeployOperation.Restore)
        {
            return new ErrorRecord(new InvalidOperationException($"The restore of {result.Node} to generation {result.NewGeneration} failed: {result.Error}"), "InfraRestoreFailed", ErrorCategory.InvalidResult, result);
        }

        var (id, outcome) = result.Status switch
        {
            DeployStatus.RolledBack => ("InfraDeployRolledBack", $"was rolled back to generation {result.CurrentGeneration}"),
            DeployStatus.RollbackFailed => ("InfraRollbackFailed", "could NOT be rolled back"),
            _ => ("InfraDeployFailed", "failed"),
        };
        return new ErrorRecord(
            new InvalidOperationException($"The deploy of {result.Node} to {result.ComputerName} {outcome}: {result.Error}"),
            id,
            result.Status == DeployStatus.Failed ? ErrorCategory.InvalidOperation : ErrorCategory.InvalidResult,
            result);
    }

    /// <summary>
    /// A write to the pipeline that failed other than by a stop (a downstream command that threw, a host that could not
    /// show a record): the exception's own record when it has one.
    /// </summary>
    public static ErrorRecord ForFailedWrite(Exception exception) =>
        exception is IContainsErrorRecord { ErrorRecord: { } record }
            ? new ErrorRecord(record, exception)
            : new ErrorRecord(exception, "PipelineWriteFailed", ErrorCategory.WriteError, null);

    /// <summary>A <c>-Confirm</c> prompt that this host cannot show or answer (<paramref name="reason"/>: how it failed).</summary>
    public static ErrorRecord ConfirmationNeeded(string command, Exception reason, object? target) =>
        new(
            new PSInvalidOperationException(
                $"{command} cannot ask for confirmation here: no one can answer a prompt in this PowerShell (-NonInteractive, no console, or its input has ended); run again with -Confirm:$false (or -WhatIf to see the plan).",
                reason),
            "ConfirmationNeeded",
            ErrorCategory.InvalidOperation,
            target);

    private static ErrorCategory Category(FailureKind kind) => kind switch
    {
        FailureKind.InvalidArgument => ErrorCategory.InvalidArgument,
        FailureKind.NotFound => ErrorCategory.ObjectNotFound,
        FailureKind.NotInstalled => ErrorCategory.NotInstalled,
        FailureKind.Connection => ErrorCategory.ConnectionError,
        FailureKind.Security => ErrorCategory.SecurityError,
        FailureKind.Timeout => ErrorCategory.OperationTimeout,
        FailureKind.InvalidData => ErrorCategory.InvalidData,
        FailureKind.ResourceBusy => ErrorCategory.ResourceBusy,
        FailureKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        FailureKind.AlreadyExists => ErrorCategory.ResourceExists,
        FailureKind.PermissionDenied => ErrorCategory.PermissionDenied,
        _ => ErrorCategory.InvalidOperation,
    };
}
