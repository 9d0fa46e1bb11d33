using System.Management.Automation;
using System.Net;
using System.Security;
using Atelier.Deploy;
using Atelier.Output;
using Atelier.Snapshot;
using Atelier.Transport;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// Base of the cmdlets that work on a host: the connection parameters every one of them takes, one connection per
/// host and account for the whole invocation (<see cref="HostPool"/>), and what of the host's output is hidden
/// (-Redact, with the settings file's <c>redact:</c> and the built-in secret shapes).
/// </summary>
public abstract class RemoteCmdlet : AtelierCmdlet
{
    /// <summary>The values this process has asked GitHub Actions to mask, so each is asked once.</summary>
    private static readonly HashSet<string> Masked = new(StringComparer.Ordinal);

    private HostPool? _pool;

    /// <summary>The host: a name, an address or an alias from ~/.ssh/config.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("HostName", "Host", "CN")]
    [ValidateHostName]
    [ArgumentCompleter(typeof(Completion.HostNameCompleter))]
    public string? ComputerName { get; set; }

    /// <summary>The SSH user. Default: the settings file's user, else the service name (each service runs as its own user).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateUserName]
    public string? User { get; set; }

    /// <summary>The SSH port. Default: ~/.ssh/config's Port, else 22.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    /// <summary>A private key file. Default: ~/.ssh/config's IdentityFile, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa.</summary>
    [Parameter]
    [Alias("KeyFile")]
    [ValidateNotNullOrEmpty]
    public string? IdentityFile { get; set; }

    /// <summary>The identity file's passphrase.</summary>
    [Parameter]
    public SecureString? Passphrase { get; set; }

    /// <summary>The OpenSSH known_hosts file that host keys are checked against. Default: ~/.ssh/known_hosts.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KnownHostsFile { get; set; }

    /// <summary>Accepts and records the key of a host not yet in known_hosts (OpenSSH's accept-new). A changed key is always refused.</summary>
    [Parameter]
    public SwitchParameter AcceptNewHostKey { get; set; }

    /// <summary>Runs on this machine without SSH, as the current user.</summary>
    [Parameter]
    public SwitchParameter Local { get; set; }

    /// <summary>
    /// Values to hide as *** wherever this cmdlet prints, records or summarises what a host wrote (output, journal lines,
    /// commit subjects, errors, histories, the step summary); a value written /pattern/ (or /pattern/i) is a regular
    /// expression. Added to the settings file's redact: list and the built-in secret shapes. In GitHub Actions each value
    /// is also masked in the job's log (::add-mask::).
    /// </summary>
    [Parameter]
    [AllowEmptyString]
    [AllowEmptyCollection]
    [ValidateRedaction]
    public string[]? Redact { get; set; }

    /// <summary>Longest time, in seconds, any one remote command may run before it is stopped.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int CommandTimeout { get; set; } = (int)CommandOptions.DefaultTimeout.TotalSeconds;

    /// <summary>Where this invocation works, for messages: the host, or this machine with -Local.</summary>
    protected string Where => Local ? "this machine" : ComputerName ?? "(no host)";

    /// <summary>The snapshots of a service: on this machine with -Local, else on its host over the pooled connection.</summary>
    protected async Task<ISnapshotter> SnapshotterAsync(HostConnectionRequest connection, CmdletChannel channel, string service, CancellationToken cancellation) =>
        Local
            ? new LocalSnapshotter()
            : new RemoteSnapshotter(await Hosts.GetAsync(connection, cancellation).ConfigureAwait(false), CommandOptionsFor(channel, $"[{service}@{Where}]"));

    /// <summary>The connections of this invocation (safe to read from concurrent tasks).</summary>
    protected HostPool Hosts => LazyInitializer.EnsureInitialized(ref _pool);

    /// <summary>
    /// The connection request for a service's host, from this cmdlet's parameters, else the settings file: the account
    /// is -User, else the settings' user, else the service's own user.
    /// </summary>
    protected HostConnectionRequest ConnectionFor(string? computerName, string service) =>
        ConnectionAs(computerName, User ?? Settings.User ?? service);

    /// <summary>
    /// The connection request for a host, from this cmdlet's parameters, else the settings file, as
    /// <paramref name="user"/>; a null user leaves it to ~/.ssh/config's User, else the local account, as ssh does.
    /// </summary>
    protected HostConnectionRequest ConnectionAs(string? computerName, string? user)
    {
        if (!Local && string.IsNullOrEmpty(computerName))
        {
            throw new PSArgumentException("Give -ComputerName (or -Local to work on this machine).");
        }

        return new HostConnectionRequest
        {
            ComputerName = computerName ?? "localhost",
            User = user,
            Port = MyInvocation.BoundParameters.ContainsKey(nameof(Port)) ? Port : null,
            IdentityFile = IdentityFile is null ? Settings.IdentityFile : LocalPath(IdentityFile),
            Passphrase = Passphrase is null ? null : new NetworkCredential(string.Empty, Passphrase).Password,
            KnownHostsFile = KnownHostsFile is null ? Settings.KnownHostsFile : LocalPath(KnownHostsFile),
            AcceptNewHostKey = AcceptNewHostKey,
            Local = Local,
        }.Validate();
    }

    /// <summary>
    /// Command options with this cmdlet's timeout, streaming output lines to the verbose stream, each cleaned and
    /// redacted (<see cref="HostText"/>; a private key block across lines is hidden whole, per stream).
    /// </summary>
    protected CommandOptions CommandOptionsFor(CmdletChannel channel, string prefix)
    {
        var output = Text.LineByLine();
        var errors = Text.LineByLine();
        var gate = new object();
        return new()
        {
            Timeout = TimeSpan.FromSeconds(CommandTimeout),
            OnLine = line =>
            {
                string text;
                lock (gate)
                {
                    text = (line.IsError ? errors : output).Next(line.Text);
                }

                channel.Verbose($"{prefix}{(line.IsError ? " !" : ">")} {text}");
            },
        };
    }

    /// <summary>The settings file's redaction with -Redact's values and patterns.</summary>
    protected override Redaction Redaction => base.Redaction.With(Output.Redaction.Parse(Redact));

    /// <summary>
    /// In GitHub Actions, asks the runner to mask each literal value to redact (once per process), before this cmdlet
    /// writes anything: a line of output elsewhere in the job that holds one shows *** too.
    /// </summary>
    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        if (GitHubActions.FromEnvironment() is null)
        {
            return;
        }

        foreach (var mask in WorkflowCommands.Masks(Text.Redaction.Values.Where(v => { lock (Masked) { return Masked.Add(v); } })))
        {
            Host.UI.WriteLine(mask);
        }
    }

    protected override void EndProcessing()
    {
        _pool?.Dispose();
        _pool = null;
        base.EndProcessing();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _pool?.Dispose();
            _pool = null;
        }

        base.Dispose(disposing);
    }
}
