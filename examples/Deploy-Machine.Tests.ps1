# Deploy-Machine.ps1, tested twice: fast, with Atelier's cmdlets mocked and fake results of Atelier's own types (no
# host), and for real against the test host when $env:ATELIER_TESTHOST names one (Atelier's own suite sets it).

BeforeAll {
    Import-Module ($env:ATELIER_MODULE ?? 'Atelier')
    $script:Runbook = Join-Path $PSScriptRoot 'Deploy-Machine.ps1'

    function Assert-AtelierArgument([string] $Command, [hashtable] $Bound) {
        # Atelier's validation as the real cmdlet does it: it binds the same arguments with -WhatIf and connects to
        # nothing. A mock's [string] parameters turn a piped $null into '': those were not given.
        $given = @{}
        foreach ($entry in $Bound.GetEnumerator()) { if ("$($entry.Value)" -ne '') { $given[$entry.Key] = $entry.Value } }
        $null = & (Get-Command $Command -CommandType Cmdlet) @given -WhatIf -ErrorAction Stop
    }
}

Describe 'Deploy-Machine.ps1 (mocked)' {
    BeforeAll {
        Mock Get-AtelierService {
            foreach ($name in 'alpha', 'beta', 'gamma') {
                [Atelier.Manifest.AtelierService]@{ Name = $name; Machine = 'terebithia'; Host = 'terebithia.tail'; HealthUrl = "https://$name.example/health" }
            }
        }
        Mock Invoke-ServiceDeploy {
            # A value the real cmdlet refuses is an error here too, written as the real cmdlet writes it.
            try { Assert-AtelierArgument Invoke-ServiceDeploy $PesterBoundParameters } catch { Write-Error -ErrorRecord $_; return }
            $status = if ($Service -eq 'beta') { 'RolledBack' } else { 'Succeeded' }
            [Atelier.Deploy.ServiceDeployResult]@{ Service = $Service; ComputerName = $ComputerName; Status = $status; NewCommit = '3f2a9c1'; FailedStep = if ($status -eq 'RolledBack') { 'health' } }
        }
    }

    It 'deploys in the manifest''s order, stops at the first RolledBack, and reports the rest as Skipped' {
        $results = & $Runbook -Machine terebithia 6>$null
        $results.Service | Should -Be @('alpha', 'beta', 'gamma')
        $results.Status | Should -Be @('Succeeded', 'RolledBack', 'Skipped')
        $results[1].FailedStep | Should -Be 'health'
        $LASTEXITCODE | Should -Be 1
        Should -Invoke Invoke-ServiceDeploy -Times 2 -Exactly
        Should -Invoke Invoke-ServiceDeploy -Times 0 -Exactly -ParameterFilter { $Service -eq 'gamma' }
        Should -Invoke Invoke-ServiceDeploy -Times 1 -Exactly -ParameterFilter { $Service -eq 'alpha' -and $ComputerName -eq 'terebithia.tail' -and $HealthUrl -eq 'https://alpha.example/health' }
        Should -Invoke Get-AtelierService -Times 1 -Exactly -ParameterFilter { $Machine -eq 'terebithia' }
    }

    It 'exits 0 when every service succeeds' {
        Mock Invoke-ServiceDeploy { [Atelier.Deploy.ServiceDeployResult]@{ Service = $Service; ComputerName = $ComputerName; Status = 'Succeeded' } }
        $results = & $Runbook -Machine terebithia 6>$null
        $results.Status | Should -Be @('Succeeded', 'Succeeded', 'Succeeded')
        $LASTEXITCODE | Should -Be 0
    }

    It 'refuses a hostile name in the manifest as production would, and skips the rest' {
        Mock Get-AtelierService {
            [Atelier.Manifest.AtelierService]@{ Name = 'x;reboot'; Machine = 'terebithia'; Host = 'terebithia.tail' }
            [Atelier.Manifest.AtelierService]@{ Name = 'beta'; Machine = 'terebithia'; Host = 'terebithia.tail' }
        }
        $results = & $Runbook -Machine terebithia 6>$null
        $results.Status | Should -Be @('Failed', 'Skipped')
        $results[0].Error | Should -Match 'refused|not a valid|may hold only'
        $LASTEXITCODE | Should -Be 1
    }
}

Describe 'Deploy-Machine.ps1 (against the test host)' -Skip:(-not $env:ATELIER_TESTHOST) {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot '../tests/TestHelpers.psm1') -Force
        Import-Module (Join-Path $PSScriptRoot '../tests/DeployFixtures.psm1') -Force
        $script:TestHost = Get-TestHost
        $script:Fleet = New-TestFleet -Fields @{ demo = @{ health_timeout = 8; build_command = 'bun run build' } } -Settings 'historyPath: ./history.db'
        # The SSH port is a connection detail the manifest does not hold: a default for every Atelier cmdlet.
        $PSDefaultParameterValues['*-Service*:Port'] = [int]$TestHost.sshPort
        $script:Start = @{ demo = (Get-TestDeployState -Service demo).Commit; notes = (Get-TestDeployState -Service notes).Commit }
        Push-Location $Fleet
    }

    AfterAll {
        Pop-Location
        foreach ($service in 'demo', 'notes') { Reset-TestOrigin -Service $service -To $Start[$service] }
        foreach ($service in 'demo', 'notes') { Invoke-ServiceDeploy $service -Force -ErrorAction SilentlyContinue | Out-Null }
        $PSDefaultParameterValues.Remove('*-Service*:Port')
        Remove-Item $Fleet -Recurse -Force -ErrorAction Ignore
    }

    It 'rolls demo back and leaves notes alone when demo''s new commit fails' {
        Publish-TestCommit -Service demo -Variant BuildFails | Out-Null
        $notesCommit = Publish-TestCommit -Service notes -Variant Good
        $results = & $Runbook -Machine sandbox 6>$null 3>$null
        $results.Service | Should -Be @('demo', 'notes')
        $results.Status | Should -Be @('RolledBack', 'Skipped')
        $LASTEXITCODE | Should -Be 1
        (Get-TestDeployState -Service demo).Commit | Should -Be $Start.demo
        (Get-TestDeployState -Service notes).Commit | Should -Not -Be $notesCommit -Because 'notes was skipped'
    }

    It 'deploys both when both are good' {
        foreach ($service in 'demo', 'notes') { Reset-TestOrigin -Service $service -To $Start[$service] }
        $demoCommit = Publish-TestCommit -Service demo -Variant Good
        $notesCommit = Publish-TestCommit -Service notes -Variant Good
        $results = & $Runbook -Machine sandbox 6>$null 3>$null
        $results.Status | Should -Be @('Succeeded', 'Succeeded')
        $LASTEXITCODE | Should -Be 0
        (Get-TestDeployState -Service demo).Commit | Should -Be $demoCommit
        (Get-TestDeployState -Service notes).Commit | Should -Be $notesCommit
    }
}
