# Get-ServiceStatus against two real test hosts side by side (the main one, machine "alpha", and an extra one started
# here, machine "beta"), two services each (demo and notes), over real SSH: right after a deploy, after a rollback,
# with a held lock, after a push to origin that was not deployed yet (and piped on into Invoke-ServiceDeploy), and
# with one host down. Each host is an alias in a ~/.ssh/config (its own port, key and known_hosts), named by a
# services manifest in the settings file, so bare names are enough.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $ProgressPreference = 'SilentlyContinue'
    $script:A = Get-TestHost
    $script:B = Start-ExtraTestHost -Name 'st2'
    $script:Hosts = @{ alpha = $A; beta = $B }
    $script:MainStateFile = $env:ATELIER_TESTHOST

    # A home whose .ssh/config names both hosts: Atelier reads it as ~/.ssh/config.
    $script:SavedHome = $env:HOME
    $script:SshHome = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-status-home-$([guid]::NewGuid())")
    New-Item -ItemType Directory (Join-Path $SshHome '.ssh') | Out-Null
    $config = foreach ($machine in 'alpha', 'beta') {
        $h = $Hosts[$machine]
        "Host st-$machine", "    HostName $($h.host)", "    Port $($h.sshPort)", "    IdentityFile $($h.identityFile)", "    UserKnownHostsFile $($h.knownHosts)", ''
    }
    Set-Content (Join-Path $SshHome '.ssh/config') $config

    # The fleet: both machines in one services manifest, the settings file beside it.
    $script:Fleet = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-status-$([guid]::NewGuid())")
    $manifest = [ordered]@{}
    foreach ($machine in 'alpha', 'beta') {
        $h = $Hosts[$machine]
        $manifest[$machine] = [ordered]@{
            hostname = "st-$machine"; type = 'server'
            services = @(foreach ($service in 'demo', 'notes') {
                    [ordered]@{ name = $service; health_url = $h.services.$service.healthUrl; data = @{ sqlite = $h.services.$service.dbPath } }
                })
        }
    }
    $manifest | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $Fleet 'services.json')
    Set-Content (Join-Path $Fleet 'atelier.yaml') @"
manifest: ./services.json
historyPath: ./history.db
services:
  demo:
    buildCommand: bun run build
    healthTimeout: 8
  notes:
    healthTimeout: 8
"@
    $env:HOME = $SshHome.FullName
    Push-Location $Fleet

    function Use-TestHost([string] $Machine, [scriptblock] $Script) {
        # Runs the fixtures (which act on $env:ATELIER_TESTHOST's host) against one machine's host.
        $env:ATELIER_TESTHOST = Join-Path $Hosts[$Machine].stateDir 'testhost.json'
        try { & $Script }
        finally { $env:ATELIER_TESTHOST = $MainStateFile }
    }

    function Get-Logins([string] $Machine) {
        [int](Invoke-TestHostRoot "journalctl -u ssh.service --no-pager -o cat | grep -c 'Accepted ' || true" -Host $Hosts[$Machine] | Select-Object -Last 1)
    }

    # What each host runs now, and origin back at it, so every service starts deployed, even and healthy.
    $script:Original = @{}
    foreach ($machine in 'alpha', 'beta') {
        foreach ($service in 'demo', 'notes') {
            Use-TestHost $machine {
                $commit = (Get-TestDeployState -Service $service).Commit
                Reset-TestOrigin -Service $service -To $commit
                $Original["$machine/$service"] = $commit
            }
        }
    }
}

AfterAll {
    Pop-Location
    # The main host as it was: origin and the deployed commits back where they started.
    foreach ($service in 'demo', 'notes') {
        Reset-TestOrigin -Service $service -To $Original["alpha/$service"]
        Push-Location $Fleet
        try { Invoke-ServiceDeploy $service -Machine alpha -Force -ErrorAction SilentlyContinue -WarningAction SilentlyContinue | Out-Null }
        finally { Pop-Location }
    }
    $env:HOME = $SavedHome
    Stop-ExtraTestHost -Name 'st2'
    Remove-Item $SshHome, $Fleet -Recurse -Force -ErrorAction Ignore
}

Describe 'Get-ServiceStatus of two hosts' {
    AfterEach {
        # A test that published a commit it did not deploy puts origin back, even when it failed half way.
        if ($script:ResetBeta) { Use-TestHost beta { Reset-TestOrigin -Service demo -To $script:ResetBeta }; $script:ResetBeta = $null }
    }

    It 'reads every service of the manifest, in its order, one login per host and account, with a table view' {
        $logins = @{ alpha = Get-Logins alpha; beta = Get-Logins beta }
        $status = Get-ServiceStatus -ErrorAction Stop
        $status | Should -HaveCount 4
        ($status | ForEach-Object { "$($_.Machine)/$($_.Service)" }) | Should -Be @('alpha/demo', 'alpha/notes', 'beta/demo', 'beta/notes')
        foreach ($s in $status) {
            $s.GetType().FullName | Should -Be 'Atelier.Status.ServiceStatus'
            $s.ComputerName | Should -Be "st-$($s.Machine)"
            $s.User | Should -Be $s.Service
            $s.DeployedCommit | Should -Be $Original["$($s.Machine)/$($s.Service)"]
            $s.ShortCommit | Should -Be $s.DeployedCommit.Substring(0, 8)
            $s.Subject | Should -Not -BeNullOrEmpty
            $s.OriginCommit | Should -Be $s.DeployedCommit
            $s.Behind | Should -Be 0
            $s.Origin | Should -Be 'Fetched'
            $s.ActiveState | Should -Be 'active'
            $s.SubState | Should -Be 'running'
            $s.StartedAt | Should -BeOfType ([DateTimeOffset])
            $s.InvocationId | Should -Match '^[0-9a-f]{32}$'
            $s.Health.Status | Should -Be 'Up'
            $s.Health.HealthUrl | Should -Be $Hosts[$s.Machine].services.($s.Service).healthUrl
            $s.Lock | Should -BeNullOrEmpty
            $s.Problems | Should -BeNullOrEmpty
        }
        (Get-Logins alpha) - $logins.alpha | Should -Be 2 -Because 'demo and notes are two accounts: one login each'
        (Get-Logins beta) - $logins.beta | Should -Be 2

        $table = $status | Format-Table | Out-String -Width 200
        $table | Should -Match 'Service\s+Machine\s+Commit\s+Behind\s+State\s+Health\s+Last deploy\s+Lock\s+Snapshot'

        # One machine's services, and a machine the manifest does not have.
        (Get-ServiceStatus -Machine beta -NoFetch -ErrorAction Stop | ForEach-Object { "$($_.Machine)/$($_.Service)" }) | Should -Be @('beta/demo', 'beta/notes')
        Get-ServiceStatus -Machine btea -ErrorAction SilentlyContinue -ErrorVariable missing | Should -BeNullOrEmpty
        $missing[0].FullyQualifiedErrorId | Should -Be 'MachineNotFound,Atelier.Commands.GetServiceStatusCommand'
        $missing[0].Exception.Message | Should -Match "no machine 'btea' \(did you mean 'beta'\?\)"
        # A bare name on two machines needs -Machine, as for every cmdlet.
        Get-ServiceStatus demo -ErrorAction SilentlyContinue -ErrorVariable ambiguous | Should -BeNullOrEmpty
        $ambiguous[0].FullyQualifiedErrorId | Should -Be 'ServiceAmbiguous,Atelier.Commands.GetServiceStatusCommand'
        $table | Should -Match "demo\s+beta\s+$($status[2].ShortCommit) .*\s0 active/running\s+Up"
    }

    It 'is right after a deploy: the new commit and its subject, the deploy, its snapshot, the unit just started' {
        $new = Use-TestHost beta { Publish-TestCommit -Service demo -Variant Good }
        $result = Invoke-ServiceDeploy demo -Machine beta -ErrorAction Stop
        $result.Status | Should -Be 'Succeeded'

        $s = Get-ServiceStatus demo -Machine beta -ErrorAction Stop
        $s.DeployedCommit | Should -Be $new
        $s.Subject | Should -Be 'fixture: Good'
        $s.Behind | Should -Be 0
        $s.LastDeploy.Status | Should -Be 'Succeeded'
        $s.LastDeploy.Operation | Should -Be 'Deploy'
        $s.LastDeploy.NewCommit | Should -Be $new
        $s.LastDeploy.By | Should -Not -BeNullOrEmpty
        $s.LastDeploy.StartedAt | Should -BeGreaterOrEqual $result.StartedAt.AddSeconds(-5)
        $s.StartedAt | Should -BeGreaterOrEqual $result.StartedAt.AddSeconds(-2) -Because 'the deploy restarted the unit'
        $s.LatestSnapshot.Path | Should -Be $result.SnapshotPath
        $s.SnapshotAge.TotalSeconds | Should -BeLessThan 60
        $s.Health.Status | Should -Be 'Up'
        $s.Lock | Should -BeNullOrEmpty
        # The other host's demo is not this one.
        (Get-ServiceStatus demo -Machine alpha -NoFetch -ErrorAction Stop).DeployedCommit | Should -Be $Original['alpha/demo']
    }

    It 'is right after a rollback: the previous commit, the failing one still ahead on origin, the RolledBack deploy' {
        $good = (Get-ServiceStatus demo -Machine beta -NoFetch -ErrorAction Stop).DeployedCommit
        $script:ResetBeta = $good
        $bad = Use-TestHost beta { Publish-TestCommit -Service demo -Variant CrashesAtStart }
        $result = Invoke-ServiceDeploy demo -Machine beta -ErrorAction SilentlyContinue -ErrorVariable failed -WarningAction SilentlyContinue
        $result.Status | Should -Be 'RolledBack'
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'DeployRolledBack*'

        $s = Get-ServiceStatus demo -Machine beta -ErrorAction Stop
        $s.DeployedCommit | Should -Be $good
        $s.OriginCommit | Should -Be $bad
        $s.Behind | Should -Be 1
        $s.LastDeploy.Status | Should -Be 'RolledBack'
        $s.LastDeploy.NewCommit | Should -Be $bad
        $s.LastDeploy.FailedStep | Should -Be 'health'
        $s.ActiveState | Should -Be 'active'
        $s.Health.Status | Should -Be 'Up'
        $s.LatestSnapshot.Path | Should -Be $result.SnapshotPath
        Use-TestHost beta { Reset-TestOrigin -Service demo -To $good }
        (Get-ServiceStatus demo -Machine beta -ErrorAction Stop).Behind | Should -Be 0 -Because 'origin was moved back and fetched again'
    }

    It 'shows a held lock: its live holder and step, and fetches nothing under it' {
        $module = $env:ATELIER_MODULE
        $job = Start-ThreadJob {
            param($m, $fleet)
            Set-Location $fleet
            Import-Module $m
            Invoke-ServiceDeploy demo -Machine alpha -BuildCommand 'sleep 6' -Force -ErrorAction SilentlyContinue
        } -ArgumentList $module, $Fleet.FullName
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while ((Invoke-TestHostRoot 'cat /var/lib/demo/.atelier/deploy-demo.lock/step 2>/dev/null || true') -ne 'build' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            $s = Get-ServiceStatus demo -Machine alpha -ErrorAction Stop
            $s.Lock | Should -Not -BeNullOrEmpty
            $s.Lock.Alive | Should -BeTrue
            $s.Lock.Step | Should -Be 'build'
            $s.Lock.Operation | Should -Be 'deploy'
            $s.Lock.By | Should -Not -BeNullOrEmpty
            $s.Lock.Why | Should -Match 'heartbeat|step is still running'
            $s.GuardAtWork | Should -BeFalse
            $s.Origin | Should -Be 'Locked'
            $s.LastDeploy.Status | Should -Be 'Started' -Because 'the deploy under way wrote its Started record'
            $s.Problems | Should -BeNullOrEmpty -Because 'a live holder needs no hand'
            ($s | Format-Table | Out-String -Width 200) | Should -Match '\(live\)'
            # The other services are not held.
            (Get-ServiceStatus notes -Machine alpha -ErrorAction Stop).Lock | Should -BeNullOrEmpty
        }
        finally {
            ($job | Receive-Job -Wait -AutoRemoveJob).Status | Should -Be 'Succeeded'
        }
        $after = Get-ServiceStatus demo -Machine alpha -ErrorAction Stop
        $after.Lock | Should -BeNullOrEmpty
        $after.LastDeploy.Status | Should -Be 'Succeeded'
    }

    It 'shows the guard at work when a client died mid-deploy, then the deploy it put back' {
        $old = (Get-ServiceStatus demo -Machine beta -NoFetch -ErrorAction Stop).DeployedCommit
        $script:ResetBeta = $old
        $new = Use-TestHost beta { Publish-TestCommit -Service demo -Variant Good }
        # The install step (the deploy's, then the guard's put-back of it) waits while the flag exists.
        Invoke-TestHostRoot 'touch /tmp/atelier-slow-install && chmod 644 /tmp/atelier-slow-install' -Host $B | Out-Null
        $parameters = @{
            Service = 'demo'; Machine = 'beta'; ComputerName = 'st-beta'; HealthUrl = $B.services.demo.healthUrl; DbPath = 'data/demo.db'
            BuildCommand = 'bun run build'; InstallCommand = 'if [ -e /tmp/atelier-slow-install ]; then sleep 8; fi; bun install --frozen-lockfile'
            GuardTimeout = 3; HealthTimeout = 8; HistoryPath = (Join-Path $Fleet 'history.db')
        }
        try {
            $client = Start-DeployClient -Parameters $parameters -Folder $Fleet.FullName
            $atInstall = Use-TestHost beta { Wait-TestHostProcess '^sleep 8' -Seconds 30 }
            $atInstall | Should -BeTrue -Because "the deploy is at its install step (its log: $(Get-Content -Raw $client.Log -ErrorAction Ignore) $(Get-Content -Raw $client.Out -ErrorAction Ignore))"
            Stop-DeployClient $client
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            # The guard decides first, then names its own steps (guard: stop, ..., guard: install, which waits as well).
            do { $s = Get-ServiceStatus demo -Machine beta -ErrorAction Stop } until (($s.GuardAtWork -and $s.Lock.Step -like 'guard: *') -or -not $s.Lock -or [DateTime]::UtcNow -gt $deadline)
            $s.GuardAtWork | Should -BeTrue -Because 'the client fell silent and its guard took over'
            $s.Lock.DecidedBy | Should -Be 'guard'
            $s.Lock.Alive | Should -BeTrue
            $s.Lock.Why | Should -Match 'guard \(pid \d+\) is putting the service back'
            $s.Lock.Step | Should -BeLike 'guard: *'
            $s.Origin | Should -Be 'Locked'
            ($s | Format-Table | Out-String -Width 200) | Should -Match 'guard \(live\)'
        }
        finally {
            Invoke-TestHostRoot 'rm -f /tmp/atelier-slow-install' -Host $B | Out-Null
            Use-TestHost beta { Wait-DeployLockReleased -Service demo } | Out-Null
        }
        $after = Get-ServiceStatus demo -Machine beta -ErrorAction Stop
        $after.Lock | Should -BeNullOrEmpty
        $after.GuardAtWork | Should -BeFalse
        $after.DeployedCommit | Should -Be $old
        $after.OriginCommit | Should -Be $new
        $after.Behind | Should -Be 1
        $after.LastDeploy.Status | Should -Be 'RolledBack'
        $after.LastDeploy.Error | Should -Match 'Client lost at the install step'
        $after.Health.Status | Should -Be 'Up'
    }

    It 'counts a push to origin not yet deployed as Behind 1, and what is behind pipes into Invoke-ServiceDeploy' {
        $new = Use-TestHost alpha { Publish-TestCommit -Service notes -Variant Good }
        $stale = Get-ServiceStatus notes -Machine alpha -NoFetch -ErrorAction Stop
        $stale.Behind | Should -Be 0 -Because '-NoFetch reads origin as the last fetch left it'
        $stale.Origin | Should -Be 'NotFetched'

        $all = Get-ServiceStatus -ErrorAction Stop
        $behind = @($all | Where-Object Behind -gt 0)
        $behind | Should -HaveCount 1
        $behind[0].Service | Should -Be 'notes'
        $behind[0].Machine | Should -Be 'alpha'
        $behind[0].OriginCommit | Should -Be $new
        $behind[0].Behind | Should -Be 1
        ($all | Format-Table | Out-String -Width 200) | Should -Match "notes\s+alpha\s+\S+ .*\s1 active/running"

        $deployed = @(Get-ServiceStatus -ErrorAction Stop | Where-Object Behind -gt 0 | Invoke-ServiceDeploy -ErrorAction Stop)
        $deployed | Should -HaveCount 1
        $deployed[0].Service | Should -Be 'notes'
        $deployed[0].ComputerName | Should -Be 'st-alpha'
        $deployed[0].Status | Should -Be 'Succeeded'
        $deployed[0].NewCommit | Should -Be $new
        $deployed[0].DbPath | Should -Be $A.services.notes.dbPath -Because 'the database bound by name'
        (Get-ServiceStatus -ErrorAction Stop | Where-Object Behind -gt 0) | Should -BeNullOrEmpty
        (Get-ServiceStatus notes -Machine alpha -NoFetch -ErrorAction Stop).DeployedCommit | Should -Be $new
    }

    It 'reads named services without a manifest, and such a status (no Machine) still pipes into the deploy' {
        $empty = New-Item -ItemType Directory (Join-Path $Fleet 'no-manifest') -Force
        Push-Location $empty
        try {
            Get-ServiceStatus -ErrorAction SilentlyContinue -ErrorVariable unnamed | Should -BeNullOrEmpty
            $unnamed[0].FullyQualifiedErrorId | Should -Be 'ServiceNameRequired,Atelier.Commands.GetServiceStatusCommand'
            $s = Get-ServiceStatus demo, notes -ComputerName st-beta -HealthUrl $B.services.demo.healthUrl -ErrorAction Stop
            $s.Service | Should -Be @('demo', 'notes')
            $s.Machine | Should -Be @($null, $null)
            $s.ComputerName | Should -Be @('st-beta', 'st-beta')
            $s[0].DeployedCommit | Should -Not -BeNullOrEmpty
            $s[0].Health.Method | Should -Be 'http'
            ($s | Format-Table | Out-String -Width 200) | Should -Match 'demo\s+st-beta\s'
            $deployed = $s[0] | Invoke-ServiceDeploy -HistoryPath (Join-Path $Fleet 'history.db') -ErrorAction Stop -WarningAction SilentlyContinue
            $deployed.ComputerName | Should -Be 'st-beta'
            $deployed.Status | Should -Be 'Unchanged' -Because 'origin has nothing new for it'
        }
        finally { Pop-Location }
    }

    It 'shows a hostile commit subject cleaned and redacted' {
        Use-TestHost beta { Publish-TestCommit -Service notes -Variant EscapedSubject } | Out-Null
        Invoke-ServiceDeploy notes -Machine beta -ErrorAction Stop | Out-Null
        $s = Get-ServiceStatus notes -Machine beta -ErrorAction Stop
        $s.Subject | Should -Not -Match "[`e`a]"
        $s.Subject | Should -Not -Match 'hunter2secret'
        $s.Subject | Should -Match 'API_TOKEN=\*\*\*'
        $s.Subject | Should -Match '^fixture: `code`'
    }
}

Describe 'Get-ServiceStatus with one host down' {
    It 'writes an error record for each of its services and reads the others' {
        Stop-ExtraTestHost -Name 'st2'
        $stopwatch = [Diagnostics.Stopwatch]::StartNew()
        $status = Get-ServiceStatus -ErrorAction SilentlyContinue -ErrorVariable failed
        $stopwatch.Stop()
        ($status | ForEach-Object { "$($_.Machine)/$($_.Service)" }) | Should -Be @('alpha/demo', 'alpha/notes')
        $status.Health.Status | Should -Be @('Up', 'Up')
        $failed | Should -HaveCount 2
        foreach ($record in $failed) {
            $record.FullyQualifiedErrorId | Should -Be 'HostConnectionFailed,Atelier.Commands.GetServiceStatusCommand'
            $record.CategoryInfo.Category | Should -Be 'ConnectionError'
        }
        $failed.TargetObject | Sort-Object | Should -Be @('demo', 'notes')
        foreach ($record in $failed) { "$record" | Should -Match "^$($record.TargetObject) on st-beta: " }
        $stopwatch.Elapsed.TotalSeconds | Should -BeLessThan 15 -Because 'a refused connection fails at once'
    }
}
