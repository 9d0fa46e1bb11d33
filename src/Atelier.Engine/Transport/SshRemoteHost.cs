using System.Diagnostics;
using System.Globalization;
using System.Text;
using Atelier.Shell;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Atelier.Transport;

/// <summary>
/// A host reached over one SSH connection (SSH.NET). Host keys are checked against OpenSSH <c>known_hosts</c>;
/// each command runs in its own process group so a timeout or Ctrl+C stops all of it on the host.
/// </summary>
public sealed class SshRemoteHost : IRemoteHost
{
    private const string PgidMarker = "\u001eatelier-pgid ";
    private readonly ConnectionInfo _connectionInfo;
    private readonly byte[] _hostKey;
    private readonly SemaphoreSlim _sftpLock = new(1, 1);
    private readonly SemaphoreSlim _reconnectLock = new(1, 1);
    private SshClient _client;
    private SftpClient? _sftp;
    private int _reconnects;

    private SshRemoteHost(string computerName, SshClient client, ConnectionInfo connectionInfo, byte[] hostKey)
    {
        ComputerName = computerName;
        _client = client;
        _connectionInfo = connectionInfo;
        _hostKey = hostKey;
    }

    /// <summary>How many times the connection was opened again after it was lost.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);

    public string ComputerName { get; }

    public string User => _connectionInfo.Username;

    /// <summary>The server's identification string (e.g. <c>SSH-2.0-OpenSSH_9.2p1</c>).</summary>
    public string? ServerVersion => _connectionInfo.ServerVersion;

    /// <summary>Connects and authenticates; throws <see cref="HostKeyException"/> or <see cref="HostConnectionException"/>.</summary>
    public static async Task<SshRemoteHost> ConnectAsync(HostConnectionRequest request, CancellationToken cancellationToken)
    {
        request.Validate();
        var target = request.Resolve();
        var knownHosts = KnownHosts.Load(target.KnownHostsFile);
        var connectionInfo = new ConnectionInfo(target.HostName, target.Port, target.User, AuthenticationMethods(target, request.Passphrase))
        {
            Timeout = request.ConnectTimeout,
        };
        PreferKnownKeyTypes(connectionInfo, knownHosts.KnownKeyTypes(target.HostName, target.Port));

        var client = new SshClient(connectionInfo) { KeepAliveInterval = TimeSpan.FromSeconds(15) };
        HostKeyException? refused = null;
        byte[]? accepted = null;
        client.HostKeyReceived += (_, e) =>
        {
            var check = knownHosts.Check(target.HostName, target.Port, e.HostKey);
            var offered = KnownHosts.Fingerprint(e.HostKey);
            var where = $"{KnownHosts.LookupName(target.HostName, target.Port)} in {target.KnownHostsFile}";
            switch (check.Verdict)
            {
                case HostKeyVerdict.Known:
                    accepted = e.HostKey;
                    e.CanTrust = true;
                    return;
                case HostKeyVerdict.Unknown when request.AcceptNewHostKey:
                    accepted = e.HostKey;
                    e.CanTrust = true;
                    return;
                case HostKeyVerdict.Unknown:
                    refused = new HostKeyException(
                        $"The host {where} is not known, and its key was not accepted. It offered {KnownHosts.KeyType(e.HostKey)} {offered}.",
                        check.Verdict, offered, check.ExpectedFingerprints)
                    {
                        Hints = [Hint.AcceptNewHostKey],
                    };
                    break;
                case HostKeyVerdict.Revoked:
                    refused = new HostKeyException($"The host key {offered} offered by {where} is marked @revoked.", check.Verdict, offered, check.ExpectedFingerprints);
                    break;
                default:
                    refused = new HostKeyException(
                        $"The host key of {where} HAS CHANGED: expected {string.Join(" or ", check.ExpectedFingerprints)}, offered {KnownHosts.KeyType(e.HostKey)} {offered}. " +
                        "Someone could be impersonating the host, or its key was replaced. The connection was refused; if the change is expected, remove the old line from the known_hosts file.",
                        check.Verdict, offered, check.ExpectedFingerprints);
                    break;
            }

            e.CanTrust = false;
        };

        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            client.Dispose();
            if (refused is not null)
            {
                throw refused;
            }

            throw ex switch
            {
                SshPassPhraseNullOrEmptyException => new HostConnectionException($"The identity file for {target.User}@{target.HostName} is encrypted, and no passphrase was given.", ex)
                {
                    Hints = [Hint.Passphrase],
                },
                SshAuthenticationException => new HostConnectionException(
                    $"{target.User}@{target.HostName}:{target.Port} refused authentication ({ex.Message}). Tried: " +
                    (target.IdentityFiles.Count == 0 ? "the \"none\" method only (no identity file found)" : $"the \"none\" method and {string.Join(", ", target.IdentityFiles)}") + ".", ex),
                _ => new HostConnectionException($"Cannot connect to {target.User}@{target.HostName}:{target.Port}: {ex.Message}", ex),
            };
        }

        if (accepted is null)
        {
            client.Dispose();
            throw new HostConnectionException($"{target.HostName} completed the connection without showing a host key.");
        }

        if (knownHosts.Check(target.HostName, target.Port, accepted).Verdict == HostKeyVerdict.Unknown)
        {
            knownHosts.Add(target.HostName, target.Port, accepted);
        }

        return new SshRemoteHost(request.ComputerName, client, connectionInfo, accepted);
    }

    /// <summary>
    /// Runs a command. A connection found lost is opened again first (to the same host key); a command whose connection
    /// is lost while it runs fails with <see cref="HostConnectionLostException"/> (what it left running on the host is
    /// not stopped: sshd does not stop it either).
    /// </summary>
    public async Task<CommandResult> RunAsync(ShellCommand command, CommandOptions options, CancellationToken cancellationToken)
    {
        var client = await ConnectedClientAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunOnAsync(client, command, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SshConnectionException or SshOperationTimeoutException
            || (ex is SshException or ObjectDisposedException or InvalidOperationException && !client.IsConnected))
        {
            throw new HostConnectionLostException($"The connection to {ComputerName} was lost while a command ran: {ex.Message}", ex);
        }
    }

    private async Task<SshClient> ConnectedClientAsync(CancellationToken cancellationToken)
    {
        var client = Volatile.Read(ref _client);
        if (client.IsConnected)
        {
            return client;
        }

        await _reconnectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client.IsConnected)
            {
                return _client;
            }

            // The same host, the same credentials, and it must show the very key the first connection verified.
            var fresh = new SshClient(_connectionInfo) { KeepAliveInterval = TimeSpan.FromSeconds(15) };
            fresh.HostKeyReceived += (_, e) => e.CanTrust = e.HostKey.AsSpan().SequenceEqual(_hostKey);
            try
            {
                await fresh.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                fresh.Dispose();
                throw new HostConnectionLostException($"The connection to {ComputerName} was lost and could not be opened again: {ex.Message}", ex);
            }

            var old = _client;
            Volatile.Write(ref _client, fresh);
            Interlocked.Increment(ref _reconnects);
            old.Dispose();
            return fresh;
        }
        finally
        {
            _reconnectLock.Release();
        }
    }

    private async Task<CommandResult> RunOnAsync(SshClient client, ShellCommand command, CommandOptions options, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        // sshd starts each command in a new session, so the shell's pid is the process group of all it starts.
        using var cmd = client.CreateCommand("printf '\\036atelier-pgid %s\\n' \"$$\"; " + command.Text);
        cmd.CommandTimeout = Timeout.InfiniteTimeSpan;
        var pgid = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new StringBuilder();
        var error = new StringBuilder();
        var execution = cmd.ExecuteAsync(CancellationToken.None);
        var readOut = PumpAsync(cmd.OutputStream, options.KeepOutput ? output : null, isError: false, options.OnLine, pgid);
        var readErr = PumpAsync(cmd.ExtendedOutputStream, error, isError: true, options.OnLine, null);

        using var timeout = new CancellationTokenSource(options.Timeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (stop.Token.Register(() => stopped.TrySetResult()))
        {
            var first = await Task.WhenAny(execution, stopped.Task).ConfigureAwait(false);
            if (first != execution)
            {
                await StopProcessGroupAsync(client, pgid.Task).ConfigureAwait(false);
                try
                {
                    cmd.CancelAsync(forceKill: true, millisecondsTimeout: 2000);
                }
                catch (Exception ex) when (ex is InvalidOperationException or SshException or ObjectDisposedException)
                {
                    // The command ended between the stop and the cancel.
                }

                await Task.WhenAny(Task.WhenAll(execution, readOut, readErr), Task.Delay(3000, CancellationToken.None)).ConfigureAwait(false);
                if (!cancellationToken.IsCancellationRequested)
                {
                    throw new RemoteCommandTimeoutException(command.Text, options.Timeout, output.ToString());
                }

                throw new OperationCanceledException("The remote command was stopped.", cancellationToken);
            }
        }

        await execution.ConfigureAwait(false);
        await Task.WhenAll(readOut, readErr).ConfigureAwait(false);
        if (cmd.ExitStatus is null && cmd.ExitSignal is null)
        {
            // A channel closed without an exit status: the connection went down under the command.
            await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
            if (!client.IsConnected)
            {
                throw new HostConnectionLostException($"The connection to {ComputerName} was lost while a command ran.");
            }
        }

        var exit = cmd.ExitStatus ?? (cmd.ExitSignal is null ? -1 : 128 + SignalNumber(cmd.ExitSignal));
        return new CommandResult(command.Text, exit, output.ToString(), error.ToString(), stopwatch.Elapsed);
    }

    public async Task DownloadAsync(string remotePath, string localPath, CancellationToken cancellationToken)
    {
        RemoteValue.Path(remotePath);
        var sftp = await SftpAsync(cancellationToken).ConfigureAwait(false);
        var path = remotePath.StartsWith("~/", StringComparison.Ordinal) ? remotePath[2..] : remotePath;
        await using var file = PrivateFile.CreateNew(localPath, useAsync: true);
        await sftp.DownloadFileAsync(path, file, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _sftp?.Dispose();
        _client.Dispose();
        _sftpLock.Dispose();
        _reconnectLock.Dispose();
    }

    private static AuthenticationMethod[] AuthenticationMethods(ResolvedHost target, string? passphrase)
    {
        var methods = new List<AuthenticationMethod>();
        var keys = new List<IPrivateKeySource>();
        foreach (var file in target.IdentityFiles)
        {
            if (!File.Exists(file))
            {
                if (target.IdentityFileGiven)
                {
                    throw new HostConnectionException($"The identity file '{file}' does not exist.");
                }

                continue;
            }

            try
            {
                keys.Add(new PrivateKeyFile(file, passphrase));
            }
            catch (SshPassPhraseNullOrEmptyException ex)
            {
                throw new HostConnectionException($"The identity file '{file}' is encrypted, and no passphrase was given.", ex) { Hints = [Hint.Passphrase] };
            }
            catch (Exception ex) when (ex is SshException or InvalidOperationException or ArgumentException or NotSupportedException or FormatException)
            {
                throw new HostConnectionException(
                    $"The identity file '{file}' could not be read ({(passphrase is null ? ex.Message : "wrong passphrase, or an unsupported key format")}).", ex);
            }
        }

        if (keys.Count > 0)
        {
            methods.Add(new PrivateKeyAuthenticationMethod(target.User, keys.ToArray()));
        }

        // Tailscale SSH (and any server that trusts the network) accepts the "none" method.
        methods.Add(new NoneAuthenticationMethod(target.User));
        return methods.ToArray();
    }

    /// <summary>Asks the server for a key of a type on record for it, as OpenSSH does, so a known host is not misjudged.</summary>
    private static void PreferKnownKeyTypes(ConnectionInfo connectionInfo, IReadOnlyList<string> knownTypes)
    {
        if (knownTypes.Count == 0)
        {
            return;
        }

        static string KeyTypeOf(string algorithm) => algorithm is "rsa-sha2-512" or "rsa-sha2-256" ? "ssh-rsa" : algorithm;
        var unknown = connectionInfo.HostKeyAlgorithms.Keys.Where(a => !knownTypes.Contains(KeyTypeOf(a))).ToList();
        if (unknown.Count < connectionInfo.HostKeyAlgorithms.Count)
        {
            foreach (var algorithm in unknown)
            {
                connectionInfo.HostKeyAlgorithms.Remove(algorithm);
            }
        }
    }

    private static async Task PumpAsync(Stream stream, StringBuilder? into, bool isError, Action<OutputLine>? onLine, TaskCompletionSource<int>? pgid)
    {
        using var reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);
        string? line;
        while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null)
        {
            if (pgid is not null && line.StartsWith(PgidMarker, StringComparison.Ordinal))
            {
                if (int.TryParse(line.AsSpan(PgidMarker.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    pgid.TrySetResult(id);
                }

                continue;
            }

            if (into is not null)
            {
                lock (into)
                {
                    into.Append(line).Append('\n');
                }
            }

            onLine?.Invoke(new OutputLine(line, isError));
        }

        pgid?.TrySetResult(0);
    }

    /// <summary>Stops the command's whole process group on the host: TERM, then KILL after a second.</summary>
    private static async Task StopProcessGroupAsync(SshClient client, Task<int> pgidTask)
    {
        var pgid = await Task.WhenAny(pgidTask, Task.Delay(2000)).ConfigureAwait(false) == pgidTask ? pgidTask.Result : 0;
        if (pgid <= 1 || !client.IsConnected)
        {
            return;
        }

        var kill = ShellCommand.Format($"kill -TERM -{pgid} 2>/dev/null; for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 -{pgid} 2>/dev/null || exit 0; sleep 0.1; done; kill -KILL -{pgid} 2>/dev/null; true");
        try
        {
            using var stopper = client.CreateCommand(kill.Text);
            stopper.CommandTimeout = TimeSpan.FromSeconds(10);
            await stopper.ExecuteAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SshException or InvalidOperationException or ObjectDisposedException)
        {
            // The connection is gone: sshd closes the session and the group loses its pipes.
        }
    }

    private async Task<SftpClient> SftpAsync(CancellationToken cancellationToken)
    {
        await _sftpLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sftp is { IsConnected: true })
            {
                return _sftp;
            }

            _sftp?.Dispose();
            // SSH.NET cannot open SFTP on an existing session: this second connection serves file transfers only,
            // and must show the very key the first one verified.
            var sftp = new SftpClient(_connectionInfo);
            sftp.HostKeyReceived += (_, e) => e.CanTrust = e.HostKey.AsSpan().SequenceEqual(_hostKey);
            await sftp.ConnectAsync(cancellationToken).ConfigureAwait(false);
            _sftp = sftp;
            return sftp;
        }
        finally
        {
            _sftpLock.Release();
        }
    }

    private static int SignalNumber(string signal) => signal switch
    {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "SEGV" => 11,
        "PIPE" => 13,
        "TERM" => 15,
        _ => 0,
    };
}
