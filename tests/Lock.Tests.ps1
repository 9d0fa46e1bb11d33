# Get-ServiceDeployLock, Lock-ServiceDeploy and Unlock-ServiceDeploy against the real test host, on the same lock as
# deploys (DeployLock, lock.sh): a maintenance lock makes a deploy fail naming its holder and message, or wait with
# -LockWait until the unlock; a live holder's lock is not removed without -Force; a dead holder's is.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $ProgressPreference = 'SilentlyContinue'
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    $script:History = Join-Path $TestDrive 'history.db'
    $script:Deploy = @{
        Service = 'demo'; HealthUrl = $TestHost.services.demo.healthUrl; DbPath = 'data/demo.db'; BuildCommand = 'bun run build'
        HistoryPath = $History; HealthTimeout = 15; Confirm = $false
    } + $Demo
    $script:Original = (Get-TestDeployState -Service demo).Commit
    Reset-TestOrigin -Service demo -To $Original

    function Invoke-AsOther([string] $Command) {
        # The cmdlet run in another process as another holder (a GitHub actor), so its lock is not this user's.
        $script = "param(`$module, `$connection) `$env:GITHUB_ACTIONS = 'true'; `$env:GITHUB_ACTOR = 'someone-else'; Import-Module `$module; `$c = `$connection | ConvertFrom-Json -AsHashtable; $Command"
        $file = Join-Path $TestDrive "other-$([guid]::NewGuid().ToString('N')).ps1"
        Set-Content $file $script
        & dotnet pwsh -NoProfile -NonInteractive -File $file $env:ATELIER_MODULE ($Demo | ConvertTo-Json -Compress) 2>&1
    }
}

AfterAll {
    Reset-TestOrigin -Service demo -To $Original
}

Describe 'The deploy lock as a thing you can see and hold' {
    AfterEach {
        Invoke-TestHostRoot 'rm -rf /var/lib/demo/.atelier/deploy-demo.lock' | Out-Null
    }

    It 'Get-ServiceDeployLock shows nothing for a free lock' {
        Get-ServiceDeployLock demo @Demo -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It 'Lock-ServiceDeploy holds it with a message; Get-ServiceDeployLock shows holder, operation, since, alive and the message' {
        $held = Lock-ServiceDeploy demo -Message 'db maintenance' @Demo -ErrorAction Stop
        $held.GetType().FullName | Should -Be 'Atelier.Deploy.LockHolder'
        $held.Operation | Should -Be 'maintenance'
        $lock = Get-ServiceDeployLock demo @Demo -ErrorAction Stop
        $lock.Operation | Should -Be 'maintenance'
        $lock.Message | Should -Be 'db maintenance'
        $lock.Alive | Should -BeTrue
        $lock.Why | Should -Match 'maintenance lock'
        $lock.By | Should -Be "$([Environment]::UserName)@$([Environment]::MachineName)"
        $lock.ComputerName | Should -Be $TestHost.host
        ([DateTimeOffset]::UtcNow - $lock.Since).TotalMinutes | Should -BeLessThan 5
        Invoke-TestHostRoot 'test -d /var/lib/demo/.atelier/deploy-demo.lock && echo held' | Should -Be 'held' -Because 'it is the deploys'' own lock folder'
        Invoke-TestHostRoot 'pgrep -u demo -f guard.sh || true' | Should -BeNullOrEmpty -Because 'a maintenance lock has no guard'
        (Get-ServiceDeployLock demo @Demo | Format-Table | Out-String -Width 200) | Should -Match 'maintenance.*db maintenance'
    }

    It 'a held maintenance lock makes a deploy fail at once naming the holder and the message; -BreakLock does not break it' {
        Lock-ServiceDeploy demo -Message 'db maintenance' @Demo -ErrorAction Stop | Out-Null
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        $before = (Get-TestDeployState -Service demo).Commit
        # As for any held lock: a Failed result at the lock step, and its error.
        $r = Invoke-ServiceDeploy @Deploy -ErrorVariable failed -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'Failed'
        $r.FailedStep | Should -Be 'lock'
        $r.Error | Should -Match "held by $([regex]::Escape("$([Environment]::UserName)@$([Environment]::MachineName)")) \(maintenance: 'db maintenance'"
        $r.Error | Should -Match 'which is alive: a maintenance lock, held until Unlock-ServiceDeploy: db maintenance'
        $failed[0].FullyQualifiedErrorId | Should -Match '^DeployFailed'
        $failed[0].Exception.Message | Should -Match "db maintenance"
        $broken = Invoke-ServiceDeploy @Deploy -BreakLock -ErrorAction SilentlyContinue
        $broken.FailedStep | Should -Be 'lock'
        $broken.Error | Should -Match '-BreakLock breaks only a dead holder'
        (Get-TestDeployState -Service demo).Commit | Should -Be $before -Because 'nothing was deployed'
        (Get-ServiceDeployLock demo @Demo).Message | Should -Be 'db maintenance'
        Reset-TestOrigin -Service demo -To $Original
    }

    It 'a deploy with -LockWait waits until Unlock-ServiceDeploy, then deploys' {
        Lock-ServiceDeploy demo -Message 'short maintenance' @Demo -ErrorAction Stop | Out-Null
        $new = Publish-TestCommit -Service demo -Variant Good
        try {
            $unlocker = Start-ThreadJob {
                Import-Module $using:env:ATELIER_MODULE
                Start-Sleep -Seconds 4
                $c = $using:Demo
                Unlock-ServiceDeploy demo @c -Confirm:$false -ErrorAction Stop | Out-Null
                [DateTime]::UtcNow
            }
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $r = Invoke-ServiceDeploy @Deploy -LockWait 60 -ErrorAction Stop
            $watch.Stop()
            $unlockedAt = $unlocker | Wait-Job | Receive-Job
            $unlocker | Remove-Job
            $r.Status | Should -Be 'Succeeded'
            $r.NewCommit | Should -Be $new
            $watch.Elapsed.TotalSeconds | Should -BeGreaterThan 3.5 -Because 'the deploy waited for the unlock'
            $r.StartedAt | Should -BeLessThan ([DateTimeOffset]$unlockedAt)
        }
        finally {
            Reset-TestOrigin -Service demo -To $Original
            Invoke-ServiceDeploy @Deploy -Commit $Original -ErrorAction SilentlyContinue | Out-Null
        }
    }

    It 'Unlock-ServiceDeploy refuses another holder''s live lock without -Force, and removes it with -Force' {
        $taken = Invoke-AsOther "Lock-ServiceDeploy demo -Message 'their maintenance' @c -ErrorAction Stop | Out-Null; 'taken'"
        "$taken" | Should -Match 'taken'
        (Get-ServiceDeployLock demo @Demo).By | Should -Be 'someone-else (GitHub Actions)'
        Unlock-ServiceDeploy demo @Demo -Confirm:$false -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -Match '^DeployLockLive'
        $failed[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        $failed[0].Exception.Message | Should -Match 'their maintenance'
        "$($failed[0])" | Should -Match '-Force' -Because 'the cmdlet adds the hint to the message it shows'
        $failed[0].ErrorDetails.RecommendedAction | Should -Match 'only with -Force'
        (Get-ServiceDeployLock demo @Demo).Message | Should -Be 'their maintenance'

        $removed = Unlock-ServiceDeploy demo @Demo -Force -Confirm:$false -ErrorAction Stop
        $removed.Message | Should -Be 'their maintenance'
        Get-ServiceDeployLock demo @Demo | Should -BeNullOrEmpty
    }

    It 'Unlock-ServiceDeploy removes a dead holder''s lock without -Force' {
        # A deploy's lock whose client died long ago: no heartbeat for an hour, no guard, no step running.
        Invoke-TestHostRoot (@(
            'd=/var/lib/demo/.atelier/deploy-demo.lock'
            'install -d -o demo -g demo -m 700 /var/lib/demo/.atelier "$d"'
            'printf "service=demo\noperation=deploy\nby=ghost@gone\ncommit=abc123\nsince=2026-01-01T00:00:00Z\ntoken=0123abcd\ntimeout=30\n" > "$d/owner"'
            'touch -d "1 hour ago" "$d/owner"; cp -p "$d/owner" "$d/heartbeat"; chown -R demo:demo "$d"'
        ) -join '; ') | Out-Null
        $lock = Get-ServiceDeployLock demo @Demo -ErrorAction Stop
        $lock.Alive | Should -BeFalse
        $lock.By | Should -Be 'ghost@gone'
        $removed = Unlock-ServiceDeploy demo @Demo -Confirm:$false -ErrorAction Stop
        $removed.By | Should -Be 'ghost@gone'
        Get-ServiceDeployLock demo @Demo | Should -BeNullOrEmpty
    }

    It 'leaves a dead deploy that had moved the code to Restore-ServiceDeploy -BreakLock (DeployLockMoved) unless -Force' {
        Invoke-TestHostRoot (@(
            'd=/var/lib/demo/.atelier/deploy-demo.lock'
            'install -d -o demo -g demo -m 700 /var/lib/demo/.atelier "$d"'
            'printf "service=demo\noperation=deploy\nby=ghost@gone\ncommit=abc123\nsince=2026-01-01T00:00:00Z\ntoken=0123abcd\ntimeout=30\nmoved=yes\n" > "$d/owner"'
            'touch -d "1 hour ago" "$d/heartbeat"; chown -R demo:demo "$d"'
        ) -join '; ') | Out-Null
        Unlock-ServiceDeploy demo @Demo -Confirm:$false -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -Match '^DeployLockMoved'
        "$($failed[0])" | Should -Match 'Restore-ServiceDeploy -BreakLock'
        Unlock-ServiceDeploy demo @Demo -Force -Confirm:$false -ErrorAction Stop | Should -Not -BeNullOrEmpty
        Get-ServiceDeployLock demo @Demo | Should -BeNullOrEmpty
    }

    It 'a second Lock-ServiceDeploy fails naming the first; -WhatIf takes and removes nothing; Unlock asks first (ConfirmImpact High)' {
        Lock-ServiceDeploy demo -Message 'first' @Demo -ErrorAction Stop | Out-Null
        Lock-ServiceDeploy demo -Message 'second' @Demo -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -Match '^DeployLockHeld'
        $failed[0].Exception.Message | Should -Match "'first'"
        Unlock-ServiceDeploy demo @Demo -WhatIf | Should -BeNullOrEmpty
        (Get-ServiceDeployLock demo @Demo).Message | Should -Be 'first'
        (Get-Command Unlock-ServiceDeploy).ImplementingType.GetCustomAttributes([Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'High'
        Unlock-ServiceDeploy demo @Demo -Confirm:$false -ErrorAction Stop | Out-Null
        Lock-ServiceDeploy demo -Message 'x' @Demo -WhatIf | Should -BeNullOrEmpty
        Get-ServiceDeployLock demo @Demo | Should -BeNullOrEmpty
    }
}
