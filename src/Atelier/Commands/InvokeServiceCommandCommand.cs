using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Exec;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Invoke-ServiceCommand: runs one command on a service's host as the service's user, in its work folder
/// (<c>~/app/&lt;WorkDir&gt;</c>), over Atelier's checked SSH connection. Its output is shown as it comes (the
/// information stream, like Write-Host's) and returned in a result with its exit code and duration; a non-zero exit is
/// also an error (<c>ServiceCommandFailed</c>). Ctrl+C and -CommandTimeout stop it with its whole process group.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ServiceCommand", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = CommandSet)]
[OutputType(typeof(ServiceCommandResult))]
public sealed class InvokeServiceCommandCommand : ServiceCmdlet
{
    private const string CommandSet = "Command";
    private const string ArgumentListSet = "ArgumentList";

    /// <summary>The services (each one's system user); with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>A command line, run with sh -c (pipes, redirections and variables are the host shell's).</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = CommandSet)]
    [ValidateCommandLine("command")]
    public string Command { get; set; } = string.Empty;

    /// <summary>A program and its arguments, each quoted so it reaches the program as it is, without a shell reading it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ArgumentListSet)]
    [Alias("Args")]
    [AllowEmptyString]
    [ValidateArgumentText("argument", RemoteValue.MaxArgumentLength)]
    public string[] ArgumentList { get; set; } = [];

    /// <summary>The folder inside ~/app to run in. Default: the settings file's or the manifest's workDir, else ~/app itself.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateWorkFolder]
    public string? WorkDir { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var service in Service)
        {
            try
            {
                RunOne(service);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex is ArgumentException and not RemoteValueException and not PSArgumentException ? new PSArgumentException(ex.Message, ex) : ex, service));
            }
        }
    }

    private void RunOne(string service)
    {
        var entry = ManifestEntry(service, required: NeedsHost);
        var request = new ServiceCommandRequest
        {
            Service = service,
            Command = ParameterSetName == CommandSet ? Command : null,
            ArgumentList = ParameterSetName == ArgumentListSet ? ArgumentList : null,
            WorkDir = Pick(nameof(WorkDir), WorkDir, SettingsFor(service)?.WorkDir, entry?.WorkDir, ".")!,
        }.Validate();
        var computerName = HostFor(service, entry);
        var connection = ConnectionFor(computerName, service);
        var remote = request.Build();
        if (!ShouldChange($"{service} on {WhereFor(computerName)}, as {connection.User}", $"Run `{remote.Text}`"))
        {
            return;
        }

        var hosts = Hosts;
        var text = Text;
        var timeout = TimeSpan.FromSeconds(CommandTimeout);
        ServiceCommandResult result;
        try
        {
            result = Run(async (channel, cancellation) =>
            {
                var host = await hosts.GetAsync(connection, cancellation).ConfigureAwait(false);
                return await ServiceCommandRunner.RunAsync(host, request, text, timeout,
                    line => channel.Information(line.Text, line.IsError ? "Atelier.Error" : "Atelier.Output"), cancellation).ConfigureAwait(false);
            });
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }

        WriteObject(result);
        if (!result.Succeeded)
        {
            WriteError(ErrorFor(new AtelierException("ServiceCommandFailed", FailureKind.OperationFailed,
                $"`{result.Command}` as {result.User} on {result.ComputerName} exited with code {result.ExitCode}."), service));
        }
    }
}
