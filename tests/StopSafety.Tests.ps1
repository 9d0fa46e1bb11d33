# Nothing the PowerShell side does can cut a rollback short: a write that fails on the pipeline thread (a warning with
# -WarningAction Stop, a prompt without a console, Ctrl+C) stops the deploy like Ctrl+C, and the cmdlet lets go only
# once the engine has put the service back. Against the real test host, with commits published by DeployFixtures.psm1.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force

    function Invoke-ChildPwsh([string] $Script, [string[]] $Arguments) {
        # A separate pwsh without a console to prompt on, like a CI step or a scheduled task; returns every line it wrote.
        $path = Join-Path $TestDrive "child-$([guid]::NewGuid()).ps1"
        Set-Content $path $Script
        & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $path @Arguments 2>&1 | ForEach-Object { "$_" }
    }
}

Describe 'Without a console to prompt on' {
    BeforeAll {
        $script:Manifest = Join-Path $TestDrive 'services.json'
        Set-Content $Manifest (@{ alpha = @{ hostname = 'alpha'; type = 'server'; services = @(@{ name = 'demo'; port = 3000 }) } } | ConvertTo-Json -Depth 5)
    }

    It '-Debug shows the verbose lines the work reports instead of asking about each one (nothing to prompt with fails)' {
        # In PowerShell 7.6, -Debug makes a compiled cmdlet's VerbosePreference and WarningPreference Inquire.
        $output = Invoke-ChildPwsh 'param($Module, $Manifest) $PSStyle.OutputRendering = ''PlainText''; Import-Module $Module; (Get-AtelierService -Manifest $Manifest -Debug).Name' $env:ATELIER_MODULE, $Manifest
        ($output -join "`n") | Should -Not -Match 'NonInteractive mode'
        ($output -join "`n") | Should -Match "VERBOSE: Reading the services manifest from $([regex]::Escape($Manifest))"
        $output[-1] | Should -Be 'demo'
    }
}

Describe 'A -Confirm prompt no one can answer' {
    BeforeAll {
        $script:Restore = @{ Service = 'demo'; HealthUrl = (Get-TestHost).services.demo.healthUrl } + (Get-TestConnection -Service demo)
        $script:Script = @'
param($Module, $Json)
$PSStyle.OutputRendering = 'PlainText'
Import-Module $Module
$p = $Json | ConvertFrom-Json -AsHashtable
try { Restore-ServiceDeploy @p -ErrorAction Stop } catch { "id: $($_.FullyQualifiedErrorId) category: $($_.CategoryInfo.Category)"; "message: $($_.Exception.Message)" }
'@
        function Assert-ConfirmationNeeded([string[]] $Output) {
            $text = $Output -join "`n"
            $text | Should -Match 'id: ConfirmationNeeded,Atelier\.Commands\.RestoreServiceDeployCommand category: InvalidOperation'
            $text | Should -Match 'message: Restore-ServiceDeploy cannot ask for confirmation here: .*; run again with -Confirm:\$false \(or -WhatIf to see the plan\)\.'
            $text | Should -Not -Match 'Object reference not set'
        }
    }

    It 'in pwsh -NonInteractive, fails with ConfirmationNeeded naming -Confirm:$false, before it connects' {
        $logins = Get-TestHostLoginCount
        Assert-ConfirmationNeeded (Invoke-ChildPwsh $Script $env:ATELIER_MODULE, ($Restore | ConvertTo-Json -Compress))
        Get-TestHostLoginCount | Should -Be $logins -Because 'nothing on the host may change before the answer'
    }

    It 'in pwsh whose input has ended (stdin at EOF, where PowerShell''s own prompt fails with "Object reference not set"), the same' {
        $path = Join-Path $TestDrive 'eof.ps1'
        Set-Content $path $Script
        $output = & bash -c 'exec dotnet "$0" -NoProfile -File "$@" < /dev/null' (Join-Path $PSHOME 'pwsh.dll') $path $env:ATELIER_MODULE ($Restore | ConvertTo-Json -Compress) 2>&1 | ForEach-Object { "$_" }
        Assert-ConfirmationNeeded $output
    }

    It 'in a runspace without a host UI, throws ConfirmationNeeded' {
        $ps = [powershell]::Create()
        try {
            [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).Invoke()
            $ps.Commands.Clear()
            [void] $ps.AddCommand('Restore-ServiceDeploy').AddParameters($Restore)
            $thrown = $null
            try { $ps.Invoke() } catch { $thrown = $_.Exception.InnerException }
            $thrown.ErrorRecord.FullyQualifiedErrorId | Should -Be 'ConfirmationNeeded,Atelier.Commands.RestoreServiceDeployCommand'
            $thrown.ErrorRecord.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $thrown.Message | Should -Match 'run again with -Confirm:\$false'
        }
        finally { $ps.Dispose() }
    }
}

Describe 'A downstream command that throws' {
    It 'stops the work, and the caller sees the error it threw, as a terminating error' {
        $testHost = Get-TestHost
        $checks = 'demo', 'notes' | ForEach-Object { [pscustomobject]@{ Name = $_; HealthUrl = $testHost.services.$_.healthUrl } }
        $seen = [Collections.Generic.List[object]]::new()
        $thrown = $null
        try { $checks | Test-ServiceHealth -ThrottleLimit 1 -SettleSeconds 0 | ForEach-Object { $seen.Add($_); throw 'downstream broke' } } catch { $thrown = $_ }
        $thrown.Exception.Message | Should -Be 'downstream broke'
        $seen | Should -HaveCount 1 -Because 'nothing more is written once a write has failed'
    }
}

Describe 'A downstream Select-Object -First 1' {
    It 'stops a read (Test-ServiceHealth) without a word: it had nothing to finish on a host' {
        $testHost = Get-TestHost
        $checks = 'demo', 'notes' | ForEach-Object { @{ Name = $_; HealthUrl = $testHost.services.$_.healthUrl } }
        $script = 'param($Module, $Json) $PSStyle.OutputRendering = ''PlainText''; Import-Module $Module; ($Json | ConvertFrom-Json | Test-ServiceHealth -ThrottleLimit 1 -SettleSeconds 0 | Select-Object -First 1).Service'
        $output = Invoke-ChildPwsh $script $env:ATELIER_MODULE, (ConvertTo-Json -Compress $checks)
        $output | Should -Be 'demo' -Because 'one result and not a line more (no "Stopping" notice)'
    }
}

Describe 'A stop in the middle of a deploy' {
    BeforeAll {
        $script:TestHost = Get-TestHost
        $script:Demo = Get-TestConnection -Service demo
        # Not in TestDrive: Pester empties that at the end of each Describe.
        $script:HistoryFolder = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-stop-tests-$([guid]::NewGuid())")
        $script:Deploy = @{
            Service       = 'demo'
            HealthUrl     = $TestHost.services.demo.healthUrl
            DbPath        = 'data/demo.db'
            BuildCommand  = 'bun run build'
            HistoryPath   = Join-Path $HistoryFolder 'history.db'
            HealthTimeout = 6
        } + $Demo
        $script:Original = (Get-TestDeployState -Service demo).Commit
        Reset-TestOrigin -Service demo -To $Original   # origin starts at what is deployed

        function Assert-PutBack([string] $Old) {
            # The service as it was before the deploy, and the deploy over: the state right when the cmdlet let go.
            $state = Get-TestDeployState -Service demo
            $state.Commit | Should -Be $Old
            $state.ActiveState | Should -Be 'active'
            $state.SubState | Should -Be 'running'
            $state.Health | Should -Be 200
            Invoke-TestHostRoot 'test -e /var/lib/demo/.atelier/deploy-demo.lock && echo held || true' | Should -BeNullOrEmpty -Because 'the deploy lock is released'
            $record = Get-ServiceDeployHistory -Service demo @Demo -FromHost -Last 1 -ErrorAction Stop
            $record.Status | Should -Be 'RolledBack'
            $record.FailedStep | Should -Be 'build'
            # And all that must hold after any fault: still healthy after a restart, every row of the snapshot there,
            # and a plain deploy works right after.
            $rowsUpTo = if ($record.SnapshotPath) { Get-TestMaxRowId -Path $record.SnapshotPath } else { 0 }
            Assert-ServiceBack -Commit $Old -RowsUpTo $rowsUpTo -Because 'the rollback ran to its end'
            Reset-TestOrigin -Service demo -To $Old
            (Invoke-ServiceDeploy @Deploy -Force -ErrorAction Stop -WarningAction SilentlyContinue).Status | Should -Be 'Succeeded'
            $record
        }
    }

    AfterAll {
        Reset-TestOrigin -Service demo -To $Original
        Remove-Item $HistoryFolder -Recurse -Force -ErrorAction Ignore
    }

    BeforeEach {
        $script:Old = (Get-TestDeployState -Service demo).Commit
        # A guard's notice left by another test file would be the first warning: these tests need the rollback's.
        Invoke-TestHostRoot 'rm -f /var/lib/demo/.atelier/deploy-demo.notice' | Out-Null
    }
    AfterEach { Reset-TestOrigin -Service demo -To $Old }

    It 'stopped by Select-Object -First 1 during the rollback, says what it finishes first (unless -WarningAction SilentlyContinue: <Quiet>)' -ForEach @(
        @{ Quiet = $false }
        @{ Quiet = $true }
    ) {
        Publish-TestCommit -Service demo -Variant BuildFails | Out-Null
        # The rollback's install step is the first verbose line that passes: the pipeline stops while the rollback runs.
        $script = @'
param($Module, $Json, $Quiet)
$PSStyle.OutputRendering = 'PlainText'
Import-Module $Module
$p = $Json | ConvertFrom-Json -AsHashtable
if ($Quiet -eq 'True') { $p.WarningAction = 'SilentlyContinue' }
$first = Invoke-ServiceDeploy @p -Verbose 4>&1 | Where-Object { "$_" -match '\] rollback: install: ' } | Select-Object -First 1
"first: $first"
'@
        $output = Invoke-ChildPwsh $script $env:ATELIER_MODULE, ($Deploy | ConvertTo-Json -Compress), "$Quiet"
        $text = $output -join "`n"
        $text | Should -Match 'first: \[demo\] rollback: install: '
        $notice = "WARNING: Stopping after putting demo on $([regex]::Escape($TestHost.host)) back to $Old \(code and database\) and releasing its deploy lock: a stop must not leave that half done\."
        if ($Quiet) {
            $text | Should -Not -Match 'WARNING:' -Because '-WarningAction SilentlyContinue silences the notice as it does every warning'
        }
        else {
            $text | Should -Match $notice
            @($output | Where-Object { $_ -match '^WARNING: Stopping' }) | Should -HaveCount 1
        }
        Assert-PutBack $Old | Out-Null
    }

    It 'with -WarningAction Stop, the rolling-back warning stops the caller, after the rollback' {
        Publish-TestCommit -Service demo -Variant BuildFails | Out-Null
        $thrown = $null
        try { Invoke-ServiceDeploy @Deploy -WarningAction Stop | Out-Null } catch { $thrown = $_ }
        $thrown | Should -Not -BeNullOrEmpty -Because 'the caller asked for the warning to stop it'
        $thrown.Exception | Should -BeOfType System.Management.Automation.ActionPreferenceStopException
        $thrown.Exception.Message | Should -Match 'the build step failed; rolling back'
        Assert-PutBack $Old | Out-Null
    }

    It 'with $WarningPreference = ''Stop'' in the session, the same' {
        Publish-TestCommit -Service demo -Variant BuildFails | Out-Null
        $thrown = $null
        $WarningPreference = 'Stop'
        try { Invoke-ServiceDeploy @Deploy | Out-Null } catch { $thrown = $_ }
        finally { $WarningPreference = 'Continue' }
        $thrown.Exception | Should -BeOfType System.Management.Automation.ActionPreferenceStopException
        $thrown.Exception.Message | Should -Match 'the build step failed; rolling back'
        Assert-PutBack $Old | Out-Null
    }

    It 'with -Debug in a pwsh without a console, asks nothing in the middle: the deploy fails, rolls back and the process ends' {
        Publish-TestCommit -Service demo -Variant BuildFails | Out-Null
        $script = 'param($Module, $Json) $PSStyle.OutputRendering = ''PlainText''; Import-Module $Module; $p = $Json | ConvertFrom-Json -AsHashtable; Invoke-ServiceDeploy @p -Debug | Out-Null'
        $output = Invoke-ChildPwsh $script $env:ATELIER_MODULE, ($Deploy | ConvertTo-Json -Compress)
        $text = $output -join "`n"
        $text | Should -Not -Match 'NonInteractive mode' -Because 'no write of the deploy may prompt'
        $text | Should -Match 'VERBOSE: \[demo\] rollback: build'
        $text | Should -Match 'WARNING: demo on \S+: the build step failed; rolling back'
        $text | Should -Match 'failed and was rolled back at the build'
        Assert-PutBack $Old | Out-Null
    }

    It 'with Ctrl+C while the rollback runs its build, Stop() returns once the rollback has finished' {
        $old = $Old
        Publish-TestCommit -Service demo -Variant BuildFails | Out-Null
        # Slow only for the old commit: the new one's build (the fixture's) fails at once, the rollback's takes 10 s.
        $slow = $Deploy.Clone(); $slow.BuildCommand = "if [ `$(git rev-parse HEAD) = $old ]; then sleep 10; fi; bun run build"
        $ps = [powershell]::Create()
        # One command, not a batch: a batch stopped half way can still be adding to its streams when they are disposed.
        [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).Invoke()
        $ps.Commands.Clear()
        [void] $ps.AddCommand('Invoke-ServiceDeploy').AddParameters($slow)
        $handle = $ps.BeginInvoke()
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(90)
            while (-not (Invoke-TestHostRoot "pgrep -u demo -f '^sleep 10' || true") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Invoke-TestHostRoot "pgrep -u demo -f '^sleep 10' || true" | Should -Not -BeNullOrEmpty -Because "the rollback's build must be running when the deploy is stopped"

            $stopping = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()   # what Ctrl+C does: returns once the cmdlet has let go
            $stopping.Stop()
            Write-Host "Stop() returned after $($stopping.ElapsedMilliseconds) ms"
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Invoke-TestHostRoot "pgrep -u demo -f '^sleep 10' || true" | Should -BeNullOrEmpty -Because 'the rollback build ran to its end'
            Assert-PutBack $old | Out-Null
        }
        finally { $ps.Dispose() }
    }

    It 'with Ctrl+C while a restore runs its build, Stop() returns once the restore has put the service back' {
        $old = $Old
        $restore = @{
            Service = 'demo'; Commit = $old; SkipDatabase = $true; HealthUrl = $Deploy.HealthUrl; HealthTimeout = 6
            HistoryPath = $Deploy.HistoryPath; BuildCommand = "if [ `$(git rev-parse HEAD) = $old ]; then sleep 10; fi; bun run build"
            Confirm = $false
        } + $Demo
        $ps = [powershell]::Create()
        [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).Invoke()
        $ps.Commands.Clear()
        [void] $ps.AddCommand('Restore-ServiceDeploy').AddParameters($restore)
        $handle = $ps.BeginInvoke()
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(90)
            while (-not (Invoke-TestHostRoot "pgrep -u demo -f '^sleep 10' || true") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Invoke-TestHostRoot "pgrep -u demo -f '^sleep 10' || true" | Should -Not -BeNullOrEmpty -Because "the restore's build must be running when it is stopped"
            (Invoke-TestHostRoot 'systemctl is-active demo.service || true')[-1] | Should -Not -Be 'active' -Because 'the restore has stopped the unit'

            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Invoke-TestHostRoot "pgrep -u demo -f '^sleep 10' || true" | Should -BeNullOrEmpty -Because 'the build ran to its end'
            $state = Get-TestDeployState -Service demo
            $state.Commit | Should -Be $old
            $state.ActiveState | Should -Be 'active'
            $state.Health | Should -Be 200
            Invoke-TestHostRoot 'test -e /var/lib/demo/.atelier/deploy-demo.lock && echo held || true' | Should -BeNullOrEmpty
            $record = Get-ServiceDeployHistory -Service demo @Demo -FromHost -Last 1 -ErrorAction Stop
            $record.Operation | Should -Be 'Restore'
            $record.Status | Should -Be 'Succeeded'
        }
        finally { $ps.Dispose() }
    }
}
