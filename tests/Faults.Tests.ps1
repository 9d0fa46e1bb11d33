# The fault matrix, against the real test host: a deploy's client killed with kill -9 (its whole process group, like a
# cancelled CI runner), or its SSH connection cut (the session's sshd processes killed on the host), at every step; a
# guard killed too; two concurrent -BreakLock runs; a disk that fills; a slow client on a loaded machine. Every case
# must end with the previous commit running and healthy (also after a restart), the database whole with every row of
# the snapshot, the lock released, the host's history saying what happened and why, and a plain deploy working after.

BeforeDiscovery {
    # Every step a fault can come at ('rollback': in the middle of the client's own rollback, at its build), and
    # whether the code had moved by then.
    $script:Steps = @(
        @{ Step = 'fetch'; Moved = $false }
        @{ Step = 'snapshot'; Moved = $false }
        @{ Step = 'checkout'; Moved = $true }
        @{ Step = 'install'; Moved = $true }
        @{ Step = 'build'; Moved = $true }
        @{ Step = 'health'; Moved = $true }
        @{ Step = 'rollback'; Moved = $true }
    )
}

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    $script:Folder = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-fault-tests-$([guid]::NewGuid())")
    $script:Guard = 5
    $script:Base = @{
        Service       = 'demo'
        HealthUrl     = $TestHost.services.demo.healthUrl
        DbPath        = 'data/demo.db'
        BuildCommand  = 'bun run build'
        HistoryPath   = Join-Path $Folder 'history.db'
        HealthTimeout = 8
        GuardTimeout  = $Guard
    } + $Demo
    Reset-TestOrigin -Service demo -To (Get-TestDeployState -Service demo).Commit

    # Steps made slow on demand on the host: each waits 15 s while /tmp/atelier-slow-<step> exists. The fetch runs a
    # slow upload-pack, the snapshot a sqlite3 that pauses before VACUUM, the checkout a git smudge filter; install and
    # build are commands of the deploy. The flag goes as soon as the fault is made, so the put-back runs at full speed.
    Invoke-TestHostRoot @'
cat > /usr/local/bin/sqlite3 <<'EOF'
#!/bin/sh
case "$*" in *VACUUM*) [ -e /tmp/atelier-slow-snapshot ] && sleep 15 ;; esac
exec /usr/bin/sqlite3 "$@"
EOF
chmod 755 /usr/local/bin/sqlite3
cd /var/lib/demo/app
runuser -u demo -- git config remote.origin.uploadpack '[ -e /tmp/atelier-slow-fetch ] && sleep 15; git-upload-pack'
runuser -u demo -- git config filter.atelierslow.smudge '[ -e /tmp/atelier-slow-checkout ] && sleep 15; cat'
echo '* filter=atelierslow' > .git/info/attributes && chown demo:demo .git/info/attributes
'@ | Out-Null
    $script:SlowInstall = 'if [ -e /tmp/atelier-slow-install ]; then sleep 15; fi; bun install --frozen-lockfile'
    $script:SlowBuild = 'if [ -e /tmp/atelier-slow-build ]; then sleep 15; fi; bun run build'

    function Set-Slow([string] $Step) { Invoke-TestHostRoot "touch /tmp/atelier-slow-$Step && chmod 644 /tmp/atelier-slow-$Step" | Out-Null }
    function Clear-Slow { Invoke-TestHostRoot 'rm -f /tmp/atelier-slow-*' | Out-Null }
    function Stop-Guard {
        # Kills the guard (within a second of its client, long before it would act), and the step its client left
        # running; then waits until the heartbeat is older than the guard timeout: nothing on the host lives or acts.
        Invoke-TestHostRoot "pkill -KILL -u demo -f 'deploy-demo.lock/guard.sh' || true; pkill -KILL -u demo -f '^sleep 15' || true" | Out-Null
        Clear-Slow
        Start-Sleep -Seconds ($Guard + 2)
        Invoke-TestHostRoot 'test -d /var/lib/demo/.atelier/deploy-demo.lock/decided && echo decided || true' | Should -BeNullOrEmpty -Because 'the guard was killed before it took over'
    }
    function Cut-Connection { Invoke-TestHostRoot "pkill -KILL -u demo -f '^sshd: demo' || true" | Out-Null }

    function Start-FaultyDeploy([string] $Step, [hashtable] $Parameters) {
        # Publishes a commit and starts a deploy in its own process, then waits until it is at -Step. Returns the case.
        $case = [ordered]@{ Old = (Get-TestDeployState -Service demo).Commit; RowsBefore = Get-TestMaxRowId }
        $variant = switch ($Step) { 'health' { 'HealthFails' } 'rollback' { 'BuildFails' } default { 'Good' } }
        $case.New = Publish-TestCommit -Service demo -Variant $variant
        $p = $Base.Clone(); $p.InstallCommand = $SlowInstall; $p.BuildCommand = $SlowBuild
        foreach ($key in $Parameters.Keys) { $p[$key] = $Parameters[$key] }
        if ($Step -eq 'health') { $p.HealthTimeout = 30 }
        if ($Step -eq 'rollback') {
            # The new commit's build fails at once (the fixture broke it); the rollback's build of the old one is slow.
            $p.BuildCommand = "if [ -e /tmp/atelier-slow-build ] && [ `$(git rev-parse HEAD) = $($case.Old) ]; then sleep 15; fi; bun run build"
        }
        $before = (Get-TestDeployState -Service demo).ActiveEnterTimestampMonotonic
        Set-Slow ($Step -eq 'rollback' ? 'build' : $Step)
        $case.Client = Start-DeployClient -Parameters $p -Folder $Folder
        if ($Step -eq 'health') {
            # Restarted on the new commit, which answers 500: the deploy is polling its health.
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while ((Get-TestHealth).Code -ne 500 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            (Get-TestHealth).Code | Should -Be 500 -Because 'the new commit runs and the deploy is polling its health'
            (Get-TestDeployState -Service demo).ActiveEnterTimestampMonotonic | Should -Not -Be $before
            Start-Sleep -Milliseconds 500
        }
        else {
            Wait-TestHostProcess '^sleep 15' | Should -BeTrue -Because "the deploy must be at its $Step step when the fault comes"
        }
        $owner = Invoke-TestHostRoot 'cat /var/lib/demo/.atelier/deploy-demo.lock/owner'
        if ($Step -ne 'fetch') { $owner | Should -Contain "commit=$($case.New)" -Because 'the lock records the commit being deployed' }
        [pscustomobject]$case
    }

    function Assert-AfterFault($Case, [string] $Status, [string] $Reason) {
        # The deploy's record on the host says what happened and why; the service is back; a plain deploy works after.
        $record = Get-TestHostRecord
        # A client lost in its fetch never learned the commit it was to deploy.
        if ($record.failedStep -ne 'fetch') { $record.newCommit | Should -Be $Case.New }
        $record.status | Should -Be $Status
        $record.error | Should -Match $Reason
        $rowsUpTo = if ($record.snapshotPath) { Get-TestMaxRowId -Path $record.snapshotPath } else { $Case.RowsBefore }
        Assert-ServiceBack -Commit $Case.Old -RowsUpTo $rowsUpTo -Because "after the fault ($Reason)"
        Invoke-TestHostRoot "pgrep -u demo -f '^sleep 15' || true" | Should -BeNullOrEmpty -Because 'nothing the dead deploy started runs on'
        Reset-TestOrigin -Service demo -To $Case.Old
        $good = Publish-TestCommit -Service demo -Variant Good
        $next = Invoke-ServiceDeploy @Base -ErrorAction Stop -WarningAction SilentlyContinue
        $next.Status | Should -Be 'Succeeded' -Because 'a plain deploy right after needs no -BreakLock'
        $next.NewCommit | Should -Be $good
        $record
    }
}

AfterAll {
    Clear-Slow
    Invoke-TestHostRoot @'
rm -f /usr/local/bin/sqlite3 /var/lib/demo/app/.git/info/attributes
cd /var/lib/demo/app && runuser -u demo -- git config --unset remote.origin.uploadpack; runuser -u demo -- git config --unset filter.atelierslow.smudge; true
'@ | Out-Null
    Remove-Item $Folder -Recurse -Force -ErrorAction Ignore
}

Describe 'A client killed with kill -9 at the <Step> step' -ForEach $Steps {
    It 'is taken over by the guard within the guard timeout plus one put-back' {
        $case = Start-FaultyDeploy $Step @{}
        Stop-DeployClient $case.Client
        $killed = [Diagnostics.Stopwatch]::StartNew()
        Clear-Slow
        $seconds = Wait-DeployLockReleased -Seconds ($Guard + 60)
        Write-Host "  lock released $([math]::Round($killed.Elapsed.TotalSeconds, 1)) s after the kill"
        $seconds | Should -BeLessThan ($Guard + 30) -Because 'the guard acts after its timeout, then puts back once'
        $lost = $Step -eq 'rollback' ? 'rollback: build' : $Step
        $record = Assert-AfterFault $case ($Moved ? 'RolledBack' : 'Failed') "^Client lost at the $lost step"
        $record.failedStep | Should -Be $lost
        if ($Moved) { $record.healthy | Should -BeTrue }
    }
}

Describe 'A client whose SSH connection is cut at the <Step> step' -ForEach $Steps {
    It 'opens the connection again, stops what the step left running, and puts the service back itself' {
        $case = Start-FaultyDeploy $Step @{ HealthTimeout = 8 }
        Cut-Connection
        Clear-Slow
        $result = Wait-DeployClient $case.Client
        $result.Status | Should -Be ($Moved ? 'RolledBack' : 'Failed') -Because $result.Error
        # Cut in the middle of its own rollback, the client runs that step again: the deploy failed for its build.
        $reason = switch ($Step) { 'health' { 'health step failed' } 'rollback' { 'build step failed' } default { 'connection to .* was lost during the step' } }
        $result.Error | Should -Match $reason
        Assert-AfterFault $case $result.Status $reason | Out-Null
    }
}

Describe 'A client killed while its guard is killed too' {
    It 'leaves an unfinished record: a default Restore-ServiceDeploy goes to its previous commit with its snapshot' {
        $case = Start-FaultyDeploy 'install' @{}
        Stop-DeployClient $case.Client
        Stop-Guard
        $record = Get-TestHostRecord
        $record.status | Should -Be 'Started' -Because 'nothing closed the deploy'
        $record.step | Should -Be 'checkout'
        # Rows written after the snapshot by the old process still serving: not in the snapshot, and lost by design.
        $snapshotRows = Get-TestMaxRowId -Path $record.snapshotPath

        $refused = Restore-ServiceDeploy demo @Demo -HealthUrl $Base.HealthUrl -HistoryPath $Base.HistoryPath -Confirm:$false -ErrorAction SilentlyContinue
        $refused.Error | Should -Match 'which is dead .*Run again with -BreakLock' -Because 'without a guard or a heartbeat the holder is known dead'

        $restored = Restore-ServiceDeploy demo @Demo -HealthUrl $Base.HealthUrl -HistoryPath $Base.HistoryPath -BreakLock -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue
        $restored.Status | Should -Be 'Succeeded'
        $restored.NewCommit | Should -Be $case.Old -Because "the unfinished deploy's previous commit, not an older one"
        $restored.SnapshotPath | Should -Be $record.snapshotPath -Because "that deploy's own snapshot"
        Assert-ServiceBack -Commit $case.Old -RowsUpTo $snapshotRows -Because 'restored from the unfinished deploy'
        (Get-TestHostRecord -Id $record.id).status | Should -Be 'RolledBack' -Because 'the restore closes the unfinished record'
        (Invoke-ServiceDeploy @Base -ErrorAction Stop -WarningAction SilentlyContinue).Status | Should -Be 'Succeeded'
    }

    It 'a deploy with -BreakLock puts the unfinished deploy back first, then deploys, and is never Unchanged' {
        $case = Start-FaultyDeploy 'install' @{}
        Stop-DeployClient $case.Client
        Stop-Guard
        $unfinished = Get-TestHostRecord
        # ~/app is on the new commit, origin too: a deploy that trusted the checkout would say Unchanged.
        (Get-TestDeployState -Service demo).Commit | Should -Be $case.New

        $result = Invoke-ServiceDeploy @Base -BreakLock -ErrorAction Stop -WarningVariable warnings -WarningAction SilentlyContinue
        $result.Status | Should -Be 'Succeeded'
        $result.PreviousCommit | Should -Be $case.Old -Because 'the unfinished deploy was put back first'
        $result.NewCommit | Should -Be $case.New
        ($warnings -join "`n") | Should -Match 'never finished'
        (Get-TestHostRecord -Id $unfinished.id).status | Should -Be 'RolledBack'
        (Wait-TestHealth -Commit $case.New).Code | Should -Be 200
    }
}

Describe 'Two concurrent -BreakLock runs' {
    It 'only one of them breaks the dead lock; the other is refused, naming the live holder' {
        $case = Start-FaultyDeploy 'install' @{}
        Stop-DeployClient $case.Client
        Stop-Guard
        $record = Get-TestHostRecord
        # Each restore builds for 4 s: they overlap however the two processes start.
        $restore = @{ Service = 'demo'; HealthUrl = $Base.HealthUrl; HistoryPath = $Base.HistoryPath; BuildCommand = 'sleep 4; bun run build'; BreakLock = $true; Confirm = $false; GuardTimeout = $Guard } + $Demo
        $a = Start-DeployClient -Parameters $restore -Command Restore-ServiceDeploy -Folder $Folder
        $b = Start-DeployClient -Parameters $restore -Command Restore-ServiceDeploy -Folder $Folder
        $results = @((Wait-DeployClient $a), (Wait-DeployClient $b))
        @($results | Where-Object Status -EQ 'Succeeded').Count | Should -Be 1 -Because ($results.Error -join ' | ')
        $refused = $results | Where-Object Status -NE 'Succeeded'
        $refused.FailedStep | Should -Be 'lock'
        $refused.Error | Should -Match 'which is alive: .*-BreakLock breaks only a dead holder'
        Assert-ServiceBack -Commit $case.Old -RowsUpTo (Get-TestMaxRowId -Path $record.snapshotPath) -Because 'one restore ran'
        Invoke-TestHostRoot 'ls -a /var/lib/demo/data/' | Should -Not -Match 'atelier-restore' -Because 'no temporary file is left, and none is shared'
        Reset-TestOrigin -Service demo -To $case.Old
    }
}

Describe 'A deploy that succeeds' {
    It 'leaves no guard process and no guard files on the host' {
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        (Invoke-ServiceDeploy @Base -ErrorAction Stop).Status | Should -Be 'Succeeded'
        Invoke-TestHostRoot "pgrep -u demo -f 'guard.sh' || true" | Should -BeNullOrEmpty
        Invoke-TestHostRoot 'ls -A /var/lib/demo/.atelier' | Where-Object { $_ -ne 'guard-demo.log' } | Sort-Object |
            Should -Be @('.deploy-demo.mutex', 'deploys.jsonl', 'snapshots') -Because 'the lock folder, and the guard in it, are gone'
        Invoke-TestHostRoot 'find /var/lib/demo/.atelier -newer /var/lib/demo/.atelier/deploys.jsonl -name "guard*"' | Should -BeNullOrEmpty -Because 'a guard that did not take over leaves no log'
    }

    It 'is never rolled back by a late guard: a slow client, stopped for a while, on a loaded machine' {
        $new = Publish-TestCommit -Service demo -Variant Good
        $takeovers = Invoke-TestHostRoot 'grep -c "taking over" /var/lib/demo/.atelier/guard-demo.log 2>/dev/null || true'
        # Two busy loops per core on this machine, and a build three guard timeouts long.
        $hogs = 1..4 | ForEach-Object { Start-Process -FilePath sh -ArgumentList '-c', '"while :; do :; done"' -PassThru }
        try {
            $p = $Base.Clone(); $p.BuildCommand = "sleep $($Guard * 3); bun run build"
            $client = Start-DeployClient -Parameters $p -Folder $Folder
            Wait-TestHostProcess "^sleep $($Guard * 3)" | Should -BeTrue
            # The client stops for a little less than the guard timeout (as a laptop lid closed for a moment would).
            & kill -STOP $client.Pid; Start-Sleep -Seconds ($Guard - 2); & kill -CONT $client.Pid
            $result = Wait-DeployClient $client
        }
        finally { $hogs | Stop-Process -Force -ErrorAction Ignore }
        $result.Status | Should -Be 'Succeeded' -Because $result.Error
        (Get-TestHostRecord).status | Should -Be 'Succeeded'
        (Wait-TestHealth -Commit $new).Code | Should -Be 200
        Invoke-TestHostRoot 'grep -c "taking over" /var/lib/demo/.atelier/guard-demo.log 2>/dev/null || true' | Should -Be $takeovers -Because 'no guard took over'
    }
}

Describe 'A deploy that finds a guard at work' {
    It 'fails at once naming it, or with -LockWait waits for it and then deploys' {
        # The guard's put-back builds the old commit slowly: it is at work for a while after it took over.
        $case = Start-FaultyDeploy 'install' @{ BuildCommand = 'if [ -e /tmp/atelier-slow-guard ]; then sleep 10; fi; bun run build' }
        Invoke-TestHostRoot 'touch /tmp/atelier-slow-guard' | Out-Null
        Stop-DeployClient $case.Client
        Clear-Slow; Invoke-TestHostRoot 'touch /tmp/atelier-slow-guard' | Out-Null
        $deadline = [DateTime]::UtcNow.AddSeconds($Guard + 30)
        while (-not (Invoke-TestHostRoot 'test -d /var/lib/demo/.atelier/deploy-demo.lock/decided && echo yes || true') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        try {
            $refused = Invoke-ServiceDeploy @Base -BreakLock -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
            $refused.Status | Should -Be 'Failed'
            $refused.Error | Should -Match 'which is alive: its guard \(pid [0-9]+\) is putting the service back\. -BreakLock breaks only a dead holder'
        }
        finally { Invoke-TestHostRoot 'rm -f /tmp/atelier-slow-guard' | Out-Null }
        $waited = Invoke-ServiceDeploy @Base -LockWait 60 -ErrorAction Stop -WarningAction SilentlyContinue
        $waited.Status | Should -Be 'Succeeded' -Because 'it waited for the guard, then deployed'
        $waited.PreviousCommit | Should -Be $case.Old -Because 'the guard had put the old commit back'
        $waited.Notice | Should -Match 'RolledBack\. Client lost at the install step'
    }
}

Describe 'What the guard did' {
    It 'is shown by the next deploy and by Get-ServiceDeployHistory -FromHost' {
        $case = Start-FaultyDeploy 'build' @{}
        Stop-DeployClient $case.Client
        Clear-Slow
        Wait-DeployLockReleased -Seconds ($Guard + 60) | Out-Null
        $history = Get-ServiceDeployHistory -Service demo @Demo -FromHost -Last 1 -ErrorAction Stop
        $history.Status | Should -Be 'RolledBack'
        $history.FailedStep | Should -Be 'build'
        $history.Error | Should -Match '^Client lost at the build step; the guard put back'
        Reset-TestOrigin -Service demo -To $case.Old
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        $next = Invoke-ServiceDeploy @Base -ErrorAction Stop -WarningVariable warnings -WarningAction SilentlyContinue
        $next.Status | Should -Be 'Succeeded'
        $next.Notice | Should -Match "deploy of $($case.New) by .*: RolledBack\. Client lost at the build step"
        ($warnings -join "`n") | Should -Match 'the guard of an earlier deploy took over'
    }
}

Describe 'A disk that fills' {
    It 'during the snapshot ends Failed: nothing stopped or restarted, no partial file, the lock released' {
        $before = Get-TestDeployState -Service demo
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        Invoke-TestHostRoot 'mount -t tmpfs -o size=64k,mode=0700,uid=$(id -u demo),gid=$(id -g demo) tmpfs /var/lib/demo/.atelier/snapshots' | Out-Null
        try {
            $result = Invoke-ServiceDeploy @Base -ErrorAction SilentlyContinue
            $listing = Invoke-TestHostRoot 'ls -A /var/lib/demo/.atelier/snapshots'
        }
        finally { Invoke-TestHostRoot 'umount /var/lib/demo/.atelier/snapshots' | Out-Null }
        $result.Status | Should -Be 'Failed'
        $result.FailedStep | Should -Be 'snapshot'
        $result.Steps.Name | Should -Not -Contain 'rollback: stop'
        $listing | Should -BeNullOrEmpty -Because 'no .partial or -journal file is left'
        $after = Get-TestDeployState -Service demo
        $after.Commit | Should -Be $before.Commit
        $after.ActiveEnterTimestampMonotonic | Should -Be $before.ActiveEnterTimestampMonotonic -Because 'nothing was restarted'
        Invoke-TestHostRoot 'test -e /var/lib/demo/.atelier/deploy-demo.lock && echo held || true' | Should -BeNullOrEmpty
        Reset-TestOrigin -Service demo -To $before.Commit
    }

    It 'for a restore fails before anything stops, says how much space is missing, and leaves no partial file' {
        $old = (Get-TestDeployState -Service demo).Commit
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        $deployed = Invoke-ServiceDeploy @Base -ErrorAction Stop
        # The database moves to a small file system that holds it, but not it and a copy of the snapshot.
        $size = [long]@(Invoke-TestHostRoot "stat -c %s $($deployed.SnapshotPath)")[-1]
        $fs = [math]::Max(1, [math]::Ceiling(($size * 1.5 + 256KB) / 1MB))
        Invoke-TestHostRoot @"
set -e
systemctl stop demo.service
mkdir -p /tmp/demo-data && cp -a /var/lib/demo/data/. /tmp/demo-data/
mount -t tmpfs -o size=${fs}m,mode=0750,uid=`$(id -u demo),gid=`$(id -g demo) tmpfs /var/lib/demo/data
cp -a /tmp/demo-data/. /var/lib/demo/data/
runuser -u demo -- sh -c 'head -c `$(( `$(df -B1 --output=avail /var/lib/demo/data | tail -n 1) - $size / 2 )) /dev/zero > /var/lib/demo/data/filler'
systemctl start demo.service
"@ | Out-Null
        try {
            (Wait-TestHealth -Commit $deployed.NewCommit).Code | Should -Be 200
            $before = Get-TestDeployState -Service demo
            $result = Restore-ServiceDeploy demo @Demo -HealthUrl $Base.HealthUrl -HistoryPath $Base.HistoryPath -Confirm:$false -ErrorAction SilentlyContinue
            $result.Status | Should -Be 'Failed'
            $result.FailedStep | Should -Be 'space'
            $result.Error | Should -Match 'needs [0-9.]+ [KM]iB more free space on /var/lib/demo/data .*nothing was stopped'
            $after = Get-TestDeployState -Service demo
            $after.ActiveEnterTimestampMonotonic | Should -Be $before.ActiveEnterTimestampMonotonic -Because 'the unit was never stopped'
            $after.Commit | Should -Be $deployed.NewCommit
            Invoke-TestHostRoot 'ls -a /var/lib/demo/data/' | Should -Not -Match 'atelier-restore'
        }
        finally {
            Invoke-TestHostRoot @'
systemctl stop demo.service
rm -f /var/lib/demo/data/filler
cp -a /var/lib/demo/data/. /tmp/demo-data/
umount /var/lib/demo/data
cp -a /tmp/demo-data/. /var/lib/demo/data/ && rm -rf /tmp/demo-data
systemctl start demo.service
'@ | Out-Null
        }
        Reset-TestOrigin -Service demo -To $deployed.NewCommit
        (Wait-TestHealth -Commit $deployed.NewCommit).Code | Should -Be 200
    }
}
