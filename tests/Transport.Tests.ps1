# The SSH transport against the real test host: host keys, authentication, ~/.ssh/config, refusal of shell
# syntax before any connection, output streaming, timeouts and Ctrl+C.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    $script:DbPath = $TestHost.services.demo.dbPath
}

Describe 'Host keys' {
    It 'refuses an unknown host, naming its fingerprint' {
        $empty = Join-Path $TestDrive 'empty_known_hosts'
        $connection = $Demo.Clone(); $connection.KnownHostsFile = $empty
        $err = $null
        Get-ServiceDbSnapshot demo @connection -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostKeyRejected*'
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $err[0].Exception.Message | Should -Match 'not known'
        $err[0].Exception.Message | Should -Match 'SHA256:'
        "$($err[0])" | Should -Match 'connect once with -AcceptNewHostKey' -Because 'the cmdlet adds the hint to the message it shows'
        $empty | Should -Not -Exist
    }

    It 'records a new host with -AcceptNewHostKey, then trusts it without the switch' {
        $file = Join-Path $TestDrive 'new/known_hosts'
        $connection = $Demo.Clone(); $connection.KnownHostsFile = $file
        Get-ServiceDbSnapshot demo @connection -AcceptNewHostKey -ErrorAction Stop | Out-Null
        $line = Get-Content $file
        $line | Should -HaveCount 1
        $line | Should -Be "[127.0.0.1]:$($TestHost.sshPort) $($TestHost.hostKeyLine)"
        # OpenSSH reads the same line back.
        (& ssh-keygen -F "[127.0.0.1]:$($TestHost.sshPort)" -f $file) -join "`n" | Should -Match 'ssh-ed25519'
        { Get-ServiceDbSnapshot demo @connection -ErrorAction Stop } | Should -Not -Throw
    }

    It 'always refuses a changed key, showing the expected and the offered fingerprints' {
        $impostor = Join-Path $TestDrive 'impostor'
        & ssh-keygen -q -t ed25519 -N '' -f $impostor | Out-Null
        $impostorKey = (Get-Content "$impostor.pub").Split(' ')[0..1] -join ' '
        $file = Join-Path $TestDrive 'changed_known_hosts'
        Set-Content $file "[127.0.0.1]:$($TestHost.sshPort) $impostorKey"
        $expected = ((& ssh-keygen -lf "$impostor.pub") -split ' ')[1]
        $offered = "SHA256:" + [Convert]::ToBase64String([Security.Cryptography.SHA256]::HashData([Convert]::FromBase64String($TestHost.hostKeyLine.Split(' ')[1]))).TrimEnd('=')
        $connection = $Demo.Clone(); $connection.KnownHostsFile = $file
        $err = $null
        Get-ServiceDbSnapshot demo @connection -AcceptNewHostKey -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostKeyRejected*'
        $err[0].Exception.Message | Should -Match 'HAS CHANGED'
        $err[0].Exception.Message | Should -Match ([regex]::Escape($expected))
        $err[0].Exception.Message | Should -Match ([regex]::Escape($offered))
        (Get-Content $file) | Should -HaveCount 1
    }
}

Describe 'Authentication' {
    It 'uses an encrypted key with -Passphrase' {
        $connection = $Demo.Clone(); $connection.IdentityFile = $TestHost.identityFileWithPassphrase
        $secure = ConvertTo-SecureString $TestHost.passphrase -AsPlainText -Force
        { Get-ServiceDbSnapshot demo @connection -Passphrase $secure -ErrorAction Stop } | Should -Not -Throw
    }

    It 'says that an encrypted key needs -Passphrase' {
        $connection = $Demo.Clone(); $connection.IdentityFile = $TestHost.identityFileWithPassphrase
        $err = $null
        Get-ServiceDbSnapshot demo @connection -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostConnectionFailed*'
        $err[0].Exception.Message | Should -Match 'Passphrase'
        $err[0].ErrorDetails.RecommendedAction | Should -Be 'Give its passphrase with -Passphrase.'
    }

    It 'never shows the passphrase, even when it is wrong' {
        $connection = $Demo.Clone(); $connection.IdentityFile = $TestHost.identityFileWithPassphrase
        $secret = 'wrong-but-secret-1b2c'
        $err = $null
        $verbose = Get-ServiceDbSnapshot demo @connection -Passphrase (ConvertTo-SecureString $secret -AsPlainText -Force) -Verbose -ErrorVariable err -ErrorAction SilentlyContinue 4>&1
        $err.Count | Should -Be 1
        ($err | Out-String) + ($verbose | Out-String) | Should -Not -Match $secret
    }

    It 'authenticates with the SSH "none" method that Tailscale SSH accepts, without any key' {
        $homeDir = Join-Path $TestDrive 'nokeys'; New-Item -ItemType Directory $homeDir | Out-Null
        $old = $env:HOME; $env:HOME = $homeDir
        try {
            $connection = Get-TestConnection -Service notes -NoIdentity
            { Get-ServiceDbSnapshot notes @connection -ErrorAction Stop } | Should -Not -Throw
            $err = $null
            Get-ServiceDbSnapshot demo @connection -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
            $err[0].FullyQualifiedErrorId | Should -BeLike 'HostConnectionFailed*'
            $err[0].Exception.Message | Should -Match 'none'
        }
        finally { $env:HOME = $old }
    }

    It 'reads HostName, Port, IdentityFile and UserKnownHostsFile from ~/.ssh/config for an alias' {
        $homeDir = Join-Path $TestDrive 'withconfig'; New-Item -ItemType Directory "$homeDir/.ssh" -Force | Out-Null
        @"
Host sandbox
    HostName 127.0.0.1
    Port $($TestHost.sshPort)
    IdentityFile $($TestHost.identityFile)
    UserKnownHostsFile $($TestHost.knownHosts)
Host *
    Port 1
"@ | Set-Content "$homeDir/.ssh/config"
        $old = $env:HOME; $env:HOME = $homeDir
        try {
            $snapshots = Get-ServiceDbSnapshot demo -ComputerName sandbox -ErrorAction Stop
            @($snapshots).Count | Should -BeGreaterOrEqual 0
        }
        finally { $env:HOME = $old }
    }
}

Describe 'Values that reach a remote shell' {
    BeforeAll { $script:LoginsBefore = Get-TestHostLoginCount }

    It 'refuses the service name <Value> before connecting' -ForEach @(
        @{ Value = 'a;touch /tmp/x' }, @{ Value = '$(id)' }, @{ Value = "a'b" }, @{ Value = "a`nb" }, @{ Value = '`id`' }, @{ Value = 'a b' }
    ) {
        { Backup-ServiceDb -Service $Value -DbPath data/demo.db @Demo -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,Atelier.Commands.BackupServiceDbCommand'
    }

    It 'refuses the database path <Value> before connecting' -ForEach @(
        @{ Value = '/tmp/x;touch /tmp/pwned' }, @{ Value = '$(id).db' }, @{ Value = "data/it's.db" }, @{ Value = "data/a`n.db" }, @{ Value = '-rf' }
    ) {
        { Backup-ServiceDb -Service demo -DbPath $Value @Demo -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,Atelier.Commands.BackupServiceDbCommand'
    }

    It 'refuses them from pipeline objects too' {
        $err = $null
        [pscustomobject]@{ Service = 'x$(touch /tmp/pwned)'; DbPath = 'data/demo.db' } | Backup-ServiceDb @Demo -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
        $err[0].Exception.Message | Should -Match "'\$' at position 2"
    }

    It 'refuses a computer name or user with shell syntax' {
        { Get-ServiceDbSnapshot demo -ComputerName 'host;id' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Get-ServiceDbSnapshot demo @Demo -User 'demo;id' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'ran no remote command for any of them' {
        Get-TestHostLoginCount | Should -Be $LoginsBefore
        Invoke-TestHostRoot 'ls /tmp/pwned /tmp/x 2>/dev/null; true' | Should -BeNullOrEmpty
    }
}

Describe 'Remote commands' {
    BeforeAll {
        # A database held by an exclusive lock: a snapshot of it waits (busy timeout) as long as the lock is held.
        Invoke-TestHostRoot @'
runuser -u demo -- sqlite3 /var/lib/demo/data/locked.db 'CREATE TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1);'
nohup runuser -u demo -- sh -c '(echo "BEGIN EXCLUSIVE; INSERT INTO t VALUES (2);"; sleep 120) | sqlite3 /var/lib/demo/data/locked.db' >/dev/null 2>&1 &
sleep 0.5
'@ | Out-Null
        function Get-SnapshotProcess {
            @(Invoke-TestHostRoot "pgrep -u demo -a sqlite3 | grep 'VACUUM' || true") | Where-Object { $_ }
        }
    }
    AfterAll {
        Invoke-TestHostRoot "pkill -u demo -f 'sleep 120' ; rm -f /var/lib/demo/data/locked.db*; true" | Out-Null
    }

    It 'keeps exit codes (a missing database is DatabaseNotFound)' {
        $err = $null
        Backup-ServiceDb demo data/missing.db @Demo -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DatabaseNotFound*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'streams output lines to the verbose stream' {
        $verbose = Backup-ServiceDb demo $DbPath @Demo -Verbose -ErrorAction Stop 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match '\[demo@127\.0\.0\.1\]> atelier-snapshot '
    }

    It 'stops a command at -CommandTimeout and leaves no process behind' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $err = $null
        Backup-ServiceDb demo data/locked.db @Demo -CommandTimeout 2 -ErrorVariable err -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoteCommandTimedOut*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        Start-Sleep -Milliseconds 300
        Get-SnapshotProcess | Should -BeNullOrEmpty
        Invoke-TestHostRoot 'ls -A /var/lib/demo/.atelier/snapshots | grep partial || true' | Should -BeNullOrEmpty
    }

    It 'is stopped by Ctrl+C (StopProcessing) and leaves no process behind' {
        $ps = [powershell]::Create()
        try {
            [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).AddStatement()
            [void] $ps.AddCommand('Backup-ServiceDb').AddParameters(@{ Service = 'demo'; DbPath = 'data/locked.db' } + $Demo)
            $handle = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(15)
            while (-not (Get-SnapshotProcess) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Get-SnapshotProcess | Should -Not -BeNullOrEmpty -Because 'the snapshot must be running on the host before it is stopped'
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 8
            try { $ps.EndInvoke($handle) | Out-Null } catch { }
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Start-Sleep -Milliseconds 300
            Get-SnapshotProcess | Should -BeNullOrEmpty
        }
        finally { $ps.Dispose() }
    }

    It 'reuses one connection for every step of a cmdlet' {
        $before = Get-TestHostLoginCount
        Backup-ServiceDb demo $DbPath @Demo -Keep 5 -Destination $TestDrive -ErrorAction Stop | Out-Null
        # One login for the commands, one for the SFTP download (SSH.NET cannot open SFTP on the first).
        (Get-TestHostLoginCount) - $before | Should -Be 2
        $before = Get-TestHostLoginCount
        [pscustomobject]@{ Service = 'demo' }, [pscustomobject]@{ Service = 'demo' } | Get-ServiceDbSnapshot @Demo | Out-Null
        (Get-TestHostLoginCount) - $before | Should -Be 1 -Because 'one connection per host serves the whole invocation'
    }
}
