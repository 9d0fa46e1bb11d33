using System.Diagnostics;
using Atelier.History;
using Atelier.Output;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Deploy;

/// <summary>
/// One deploy or restore on its host, from the lock to its end: every step runs through the lock (which records the
/// step and its processes for the guard), notes for the lock ride along with the next step, a connection lost in the
/// middle of a step is opened again (what the step left running is then stopped), and when the guard has taken over,
/// the session waits for it and reads what it did.
/// </summary>
internal sealed class DeploySession
{
    private readonly IRemoteHost _host;
    private readonly IReporter _reporter;
    private readonly CommandOptions _options;
    private readonly List<string> _notes = [];
    private readonly HostText _text;

    public DeploySession(IRemoteHost host, IReporter reporter, CommandOptions options, DeployLock lease, ServiceDeployResult result, string recordId, HostText text)
    {
        _text = text;
        _host = host;
        _reporter = reporter;
        _options = options;
        Lease = lease;
        Result = result;
        RecordId = recordId;
    }

    /// <summary>The lock, and with it the guard.</summary>
    public DeployLock Lease { get; }

    public ServiceDeployResult Result { get; }

    /// <summary>The id of the operation's history record (its "started" line and its outcome share it).</summary>
    public string RecordId { get; }

    /// <summary>The lock's token: also names this operation's temporary files on the host.</summary>
    public string Token => Lease.Holder.Token!;

    /// <summary>True once the guard took the decision: it puts the service back, records the outcome and releases the lock.</summary>
    public bool GuardTookOver { get; private set; }

    /// <summary>True when the host could not be reached again after a lost connection.</summary>
    public bool Unreachable { get; private set; }

    /// <summary>Adds <c>key=value</c> notes for the lock's owner record: they are written with the next step.</summary>
    public void Note(params string[] notes) => _notes.AddRange(notes);

    /// <summary>
    /// Runs a step on the host through the lock. A non-zero exit is a <see cref="DeployStepException"/>. When the
    /// connection is lost during the step it is opened again and what the step left running is stopped; the step is
    /// then run again when <paramref name="again"/> (put-back steps, which may run twice), else it fails.
    /// </summary>
    /// <exception cref="GuardTookOverException">The guard has taken over.</exception>
    /// <exception cref="HostUnreachableException">The connection was lost and could not be opened again.</exception>
    public async Task<CommandResult> StepAsync(string name, ShellCommand command, CancellationToken cancellationToken, bool again = false, params string[] notes)
    {
        var run = await RunAsync(name, command, cancellationToken, again, notes).ConfigureAwait(false);
        if (!run.Succeeded)
        {
            throw new DeployStepException(name, $"exit code {run.ExitCode}" + (_text.Tail(run, 20) is { Length: > 0 } tail ? $":\n{tail}" : "."));
        }

        return run;
    }

    /// <summary>Like <see cref="StepAsync"/>, but a non-zero exit is returned to the caller to judge.</summary>
    public Task<CommandResult> RunAsync(string name, ShellCommand command, CancellationToken cancellationToken, bool again = false, params string[] notes) =>
        RunAsync(name, command, again, recorded: true, notes, cancellationToken);

    /// <summary>Runs a command as part of the step <paramref name="name"/> (the lock records it) without listing it as a step of its own.</summary>
    public Task<CommandResult> ReadAsync(string name, ShellCommand command, CancellationToken cancellationToken) =>
        RunAsync(name, command, again: true, recorded: false, [], cancellationToken);

    private async Task<CommandResult> RunAsync(string name, ShellCommand command, bool again, bool recorded, string[] notes, CancellationToken cancellationToken)
    {
        if (Unreachable)
        {
            throw new HostUnreachableException(Result.ComputerName, name, TimeSpan.Zero, Lease.GuardTimeout);
        }

        string[] all = [.. _notes, .. notes];
        _notes.Clear();
        for (var attempt = 1; ; attempt++)
        {
            _reporter.Progress(1, $"{Result.Operation} of {Result.Service} on {Result.ComputerName}", name, -1);
            _reporter.Verbose($"[{Result.Service}] {name}: {command.Text}");
            var stopwatch = Stopwatch.StartNew();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Lease.TakenOver);
            try
            {
                var run = await Lease.RunStepAsync(name, command, recorded ? _options : _options with { OnLine = null }, all, linked.Token).ConfigureAwait(false);
                if (recorded)
                {
                    Result.Steps.Add(new DeployStep(name, run.Duration, run.ExitCode, _text.Tail(run, 10)));
                }

                return run;
            }
            catch (OperationCanceledException) when (Lease.TakenOver.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                Result.Steps.Add(new DeployStep(name, stopwatch.Elapsed, null, "the guard took over"));
                throw TookOver(name);
            }
            catch (OperationCanceledException)
            {
                Result.Steps.Add(new DeployStep(name, stopwatch.Elapsed, null, "stopped"));
                throw;
            }
            catch (GuardTookOverException)
            {
                Result.Steps.Add(new DeployStep(name, stopwatch.Elapsed, null, "the guard took over"));
                throw TookOver(name);
            }
            catch (HostConnectionLostException ex)
            {
                Result.Steps.Add(new DeployStep(name, stopwatch.Elapsed, null, ex.Message));
                _reporter.Warning($"{Result.Service}: the connection to {Result.ComputerName} was lost during the {name} step; opening it again.");
                await RecoverAsync(name).ConfigureAwait(false);
                if (!again || attempt >= 3)
                {
                    throw new DeployStepException(name, $"the connection to {Result.ComputerName} was lost during the step (what it left running was stopped).", ex);
                }
            }
            catch (Exception ex) when (ex is not AtelierException)
            {
                Result.Steps.Add(new DeployStep(name, stopwatch.Elapsed, null, ex.Message));
                throw new DeployStepException(name, ex.Message, ex);
            }
        }
    }

    /// <summary>Arms the guard with the put-back plan and writes the "started" record, before anything moves.</summary>
    public async Task ArmAsync(DeployRecord started, IReadOnlyList<PutBackStep> plan)
    {
        string[] notes = [.. _notes];
        _notes.Clear();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Lease.ArmAsync(notes, started, plan, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (GuardTookOverException)
            {
                throw TookOver("arm");
            }
            catch (HostConnectionLostException) when (attempt < 3)
            {
                await RecoverAsync("arm").ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Ends the lock with the operation's outcome record (retrying over a lost connection). When the guard took over
    /// first, waits for it and takes its outcome into the result.
    /// </summary>
    public async Task FinishAsync(DeployRecord outcome)
    {
        if (GuardTookOver)
        {
            await AdoptGuardOutcomeAsync().ConfigureAwait(false);
            return;
        }

        if (Unreachable)
        {
            await Lease.StopHeartbeatAsync().ConfigureAwait(false);
            return;
        }

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                switch (await Lease.FinishAsync(outcome, CancellationToken.None).ConfigureAwait(false))
                {
                    case LockEnd.TakenOver:
                        GuardTookOver = true;
                        await AdoptGuardOutcomeAsync().ConfigureAwait(false);
                        return;
                    case LockEnd.Lost when await ReadGuardOutcomeAsync().ConfigureAwait(false):
                        GuardTookOver = true;
                        return;
                    case LockEnd.Lost:
                        _reporter.Warning($"{Result.Service}: the deploy lock on {Result.ComputerName} was broken while this {Result.Operation.ToLowerInvariant()} held it; its outcome was recorded here only.");
                        return;
                    default:
                        return;
                }
            }
            catch (HostConnectionLostException) when (deadline.Elapsed < Lease.GuardTimeout)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(false);
            }
            catch (HostConnectionLostException ex)
            {
                // Unconfirmed, the guard takes this client for dead and puts the service back: never report success.
                Result.Status = Result.Operation == DeployOperation.Restore ? DeployStatus.Failed : DeployStatus.RollbackFailed;
                Result.FailedStep ??= "finish";
                Result.Error = (Result.Error is null ? string.Empty : Result.Error + "\n")
                    + $"The outcome could not be confirmed to {Result.ComputerName} ({ex.Message}): its guard puts back {Result.PreviousCommit} once it has heard nothing for {DeployLock.Seconds(Lease.GuardTimeout)} s.";
                Result.Hints = [.. Result.Hints, Hint.HostHistoryLater];
                return;
            }
        }
    }

    /// <summary>After a lost connection: opens it again, checks the guard has not taken over, stops the step left running.</summary>
    private async Task RecoverAsync(string step)
    {
        var deadline = Stopwatch.StartNew();
        var limit = Lease.GuardTimeout + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await Lease.StopStepAsync(CancellationToken.None).ConfigureAwait(false);
                _reporter.Verbose($"[{Result.Service}] connection to {Result.ComputerName} open again; the {step} step's processes are stopped");
                return;
            }
            catch (GuardTookOverException)
            {
                throw TookOver(step);
            }
            catch (Exception ex) when (ex is HostConnectionLostException or HostConnectionException or RemoteCommandTimeoutException)
            {
                if (deadline.Elapsed > limit)
                {
                    Unreachable = true;
                    throw new HostUnreachableException(Result.ComputerName, step, limit, Lease.GuardTimeout);
                }

                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private GuardTookOverException TookOver(string step)
    {
        GuardTookOver = true;
        return new GuardTookOverException(Result.Service, Result.ComputerName, step);
    }

    /// <summary>Waits for the guard to release the lock, then takes the outcome it recorded into the result.</summary>
    private async Task AdoptGuardOutcomeAsync()
    {
        await Lease.StopHeartbeatAsync().ConfigureAwait(false);
        _reporter.Warning($"{Result.Service} on {Result.ComputerName}: the host's guard took over this {Result.Operation.ToLowerInvariant()} (this client was silent for more than {DeployLock.Seconds(Lease.GuardTimeout)} s); waiting for it to finish.");
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < RollbackLimits.GuardWaitLimit)
        {
            try
            {
                var holder = await DeployLock.ReadAsync(_host, Result.Service, CancellationToken.None).ConfigureAwait(false);
                if (holder?.Token != Token)
                {
                    break;
                }

                _reporter.Progress(1, $"{Result.Operation} of {Result.Service} on {Result.ComputerName}", $"the guard is at {holder.Step}", -1);
            }
            catch (Exception ex) when (ex is HostConnectionException or RemoteCommandTimeoutException)
            {
                _reporter.Verbose($"[{Result.Service}] waiting for the guard: {ex.Message}");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(false);
        }

        if (await ReadGuardOutcomeAsync().ConfigureAwait(false))
        {
            return;
        }

        Result.Status = Result.Operation == DeployOperation.Restore ? DeployStatus.Failed : DeployStatus.RollbackFailed;
        Result.Error += $"\nThe host's guard took over and had not recorded an outcome after {RollbackLimits.GuardWaitLimit.TotalMinutes:0} minutes (see ~/.atelier/guard-{Result.Service}.log on {Result.ComputerName}).";
    }

    /// <summary>Takes the outcome the guard recorded for this operation into the result; false when there is none.</summary>
    private async Task<bool> ReadGuardOutcomeAsync()
    {
        try
        {
            var records = await new HostHistory(_host, _reporter, _options with { OnLine = null }).ReadAsync(Result.Service).ConfigureAwait(false);
            if (records.FirstOrDefault(r => r.Id == RecordId) is { IsUnfinished: false } outcome)
            {
                Result.Status = outcome.Status;
                Result.FailedStep = outcome.FailedStep;
                Result.Error = (Result.Error is null ? string.Empty : Result.Error + "\n") + outcome.Error;
                return true;
            }
        }
        catch (Exception ex) when (ex is AtelierException or HostConnectionException or RemoteCommandTimeoutException)
        {
            _reporter.Verbose($"[{Result.Service}] could not read the guard's outcome: {ex.Message}");
        }

        return false;
    }
}

/// <summary>The connection to a host was lost in the middle of an operation and could not be opened again in time.</summary>
public sealed class HostUnreachableException : AtelierException
{
    public HostUnreachableException(string computerName, string step, TimeSpan waited, TimeSpan guardTimeout)
        : base(
            "HostUnreachable",
            FailureKind.Connection,
            $"The connection to {computerName} was lost during the {step} step and could not be opened again within {DeployLock.Seconds(waited)} s. The host's guard puts the service back once it has heard nothing for {DeployLock.Seconds(guardTimeout)} s.")
    {
        Step = step;
        Hints = [Hint.HostHistoryLater];
    }

    public string Step { get; }
}
