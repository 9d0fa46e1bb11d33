using System.Management.Automation;
using System.Reflection;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Writes verbose lines, warnings, progress and errors as the cmdlet's preferences say, except that Inquire writes
/// them as Continue does, without asking: <see cref="AtelierCmdlet.Run{T}"/> writes with it what engine work reports
/// while it changes a host, and a prompt there would either hold the pipeline thread while the work goes on or, with
/// no console to ask on (<c>pwsh -NonInteractive</c>), fail and stop the work half way.
/// </summary>
/// <remarks>
/// Inquire is not rare: in PowerShell 7, <c>-Debug</c> makes a compiled cmdlet's verbose and warning preferences
/// Inquire (its debug preference Continue). PowerShell has no public way to write without that prompt; its command
/// runtime has internal overloads that take an <c>overrideInquire</c> flag, which this calls. Where they are missing
/// (another runtime, a future PowerShell) it writes through the public methods, and a prompt that fails stops the work
/// like any failed write.
/// </remarks>
internal static class PromptFreeWriter
{
    private static readonly Type? Runtime = typeof(Cmdlet).Assembly.GetType("System.Management.Automation.MshCommandRuntime");
    private static readonly MethodInfo? VerboseWithoutInquire = WithoutInquire("WriteVerbose", typeof(VerboseRecord));
    private static readonly MethodInfo? WarningWithoutInquire = WithoutInquire("WriteWarning", typeof(WarningRecord));
    private static readonly MethodInfo? ProgressWithoutInquire = WithoutInquire("WriteProgress", typeof(ProgressRecord));
    private static readonly MethodInfo? ErrorWithoutInquire = WithoutInquire("WriteError", typeof(ErrorRecord));
    private static readonly MethodInfo? InformationWithoutInquire = WithoutInquire("WriteInformation", typeof(InformationRecord));

    public static void Verbose(Cmdlet cmdlet, string message)
    {
        if (!TryWrite(cmdlet, VerboseWithoutInquire, new VerboseRecord(message)))
        {
            cmdlet.WriteVerbose(message);
        }
    }

    public static void Warning(Cmdlet cmdlet, string message)
    {
        if (!TryWrite(cmdlet, WarningWithoutInquire, new WarningRecord(message)))
        {
            cmdlet.WriteWarning(message);
        }
    }

    public static void Progress(Cmdlet cmdlet, ProgressRecord record)
    {
        if (!TryWrite(cmdlet, ProgressWithoutInquire, record))
        {
            cmdlet.WriteProgress(record);
        }
    }

    public static void Information(Cmdlet cmdlet, string line, string tag)
    {
        var record = new InformationRecord(new HostInformationMessage { Message = line }, (cmdlet as PSCmdlet)?.MyInvocation.MyCommand?.Name ?? "Atelier");
        record.Tags.Add("PSHOST");
        record.Tags.Add(tag);
        if (!TryWrite(cmdlet, InformationWithoutInquire, record))
        {
            cmdlet.WriteInformation(record);
        }
    }

    public static void Error(Cmdlet cmdlet, ErrorRecord record)
    {
        if (!TryWrite(cmdlet, ErrorWithoutInquire, record))
        {
            cmdlet.WriteError(record);
        }
    }

    private static MethodInfo? WithoutInquire(string name, Type record) =>
        Runtime?.GetMethod(name, BindingFlags.Instance | BindingFlags.NonPublic, null, [record, typeof(bool)], null);

    private static bool TryWrite(Cmdlet cmdlet, MethodInfo? write, object record)
    {
        var runtime = cmdlet.CommandRuntime;
        if (write is null || runtime is null || !write.DeclaringType!.IsInstanceOfType(runtime))
        {
            return false; // a cmdlet run by Invoke() in a test, or a PowerShell without the overload
        }

        // The write's own exceptions as they are (PipelineStoppedException for a stop), not wrapped by reflection.
        write.Invoke(runtime, BindingFlags.DoNotWrapExceptions, null, [record, true], null);
        return true;
    }
}
