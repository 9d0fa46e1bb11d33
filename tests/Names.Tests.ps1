# One file describes the fleet; a bare name is enough. With a services manifest in the settings file (atelier.yaml
# in the current folder), Invoke-ServiceDeploy, Restore-ServiceDeploy, Test-ServiceHealth, Backup-ServiceDb,
# Get-ServiceDbSnapshot and Get-ServiceDeployHistory -FromHost find the host, the health URL, the database, the
# runtime and the deploy fields from a service's name; the settings file's services: entry comes first; a parameter
# given always wins. Against the real test host (only the SSH port, a connection detail, is still given).

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:Port = [int]$TestHost.sshPort
    $script:Fleet = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-names-$([guid]::NewGuid())")
    # The sandbox machine runs demo and notes; "mirror" also has a twin, so "twin" needs -Machine.
    [ordered]@{
        sandbox = [ordered]@{
            hostname = 'sandbox'; type = 'server'; tailscale_host = $TestHost.host
            services = @(
                [ordered]@{ name = 'demo'; health_url = $TestHost.services.demo.healthUrl; data = @{ sqlite = $TestHost.services.demo.dbPath }; health_timeout = 8 }
                [ordered]@{ name = 'notes'; health_url = $TestHost.services.notes.healthUrl; data = @{ sqlite = $TestHost.services.notes.dbPath } }
                [ordered]@{ name = 'twin'; health_url = $TestHost.services.demo.healthUrl }
            )
        }
        mirror = [ordered]@{ hostname = '127.0.0.9'; services = @([ordered]@{ name = 'twin'; health_url = $TestHost.services.notes.healthUrl }) }
    } | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $Fleet 'services.json')
    Set-Content (Join-Path $Fleet 'atelier.yaml') @"
manifest: ./services.json
identityFile: $($TestHost.identityFile)
knownHostsFile: $($TestHost.knownHosts)
historyPath: ./history.db
services:
  demo:
    buildCommand: bun run build
"@
    Push-Location $Fleet
}

AfterAll {
    Pop-Location
    Remove-Item $Fleet -Recurse -Force -ErrorAction Ignore
}

Describe 'A bare service name' {
    It 'is enough for Test-ServiceHealth, and several names are checked at once' {
        $results = Test-ServiceHealth demo, notes -ErrorAction Stop
        $results.Service | Sort-Object | Should -Be @('demo', 'notes')
        $results.HealthUrl | Sort-Object | Should -Be (@($TestHost.services.demo.healthUrl, $TestHost.services.notes.healthUrl) | Sort-Object)
        $results.Healthy | Should -Be @($true, $true)
    }

    It 'deploys: the host, the health URL and the database from the manifest, the build command from the settings file' {
        $new = Publish-TestCommit -Service demo -Variant Good
        $result = Invoke-ServiceDeploy demo -Port $Port -ErrorAction Stop
        $result.Status | Should -Be 'Succeeded'
        $result.ComputerName | Should -Be $TestHost.host
        $result.NewCommit | Should -Be $new
        $result.HealthUrl | Should -Be $TestHost.services.demo.healthUrl
        $result.DbPath | Should -Be $TestHost.services.demo.dbPath
        $result.SnapshotPath | Should -Not -BeNullOrEmpty -Because 'the database came from the manifest'
        $result.Steps.Name | Should -Contain 'build' -Because 'the settings file gives demo a build command'
        # The result carries its health URL: piped on, the same URL is checked.
        ($result | Test-ServiceHealth -ErrorAction Stop).HealthUrl | Should -Be $TestHost.services.demo.healthUrl
    }

    It 'is enough for Backup-ServiceDb, Get-ServiceDbSnapshot, Get-ServiceDeployHistory -FromHost and Restore-ServiceDeploy' {
        $snapshot = Backup-ServiceDb demo -Port $Port -Keep 5 -ErrorAction Stop
        $snapshot.SourcePath | Should -Be $TestHost.services.demo.dbPath
        (Get-ServiceDbSnapshot demo -Port $Port -ErrorAction Stop).Path | Should -Contain $snapshot.Path
        (Get-ServiceDeployHistory demo -FromHost -Port $Port -Last 1 -ErrorAction Stop).Service | Should -Be 'demo'
        $current = (Get-TestDeployState -Service demo).Commit
        $restored = Restore-ServiceDeploy demo -Commit $current -SkipDatabase -Port $Port -Confirm:$false -ErrorAction Stop
        $restored.Status | Should -Be 'Succeeded'
        $restored.ComputerName | Should -Be $TestHost.host
        $restored.Health.HealthUrl | Should -Be $TestHost.services.demo.healthUrl
    }

    It 'gives way to every parameter given' {
        (Test-ServiceHealth demo -HealthUrl $TestHost.services.notes.healthUrl -ErrorAction Stop).HealthUrl | Should -Be $TestHost.services.notes.healthUrl
        $failed = Invoke-ServiceDeploy demo -ComputerName 127.0.0.9 -Port $Port -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].Exception.Message | Should -Match '127\.0\.0\.9' -Because 'the -ComputerName given is the one tried'
    }

    It 'that the manifest does not have is an error listing the closest names' {
        Test-ServiceHealth dmeo -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ServiceNotFound*'
        $err[0].Exception.Message | Should -Match "has no service 'dmeo' \(did you mean 'demo'\?\)"
    }

    It 'on two machines needs -Machine, which picks one' {
        Test-ServiceHealth twin -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ServiceAmbiguous*'
        "$($err[0])" | Should -Match 'runs on sandbox and mirror .*give -Machine'
        (Test-ServiceHealth twin -Machine mirror -ErrorAction Stop).HealthUrl | Should -Be $TestHost.services.notes.healthUrl
    }
}

Describe 'Without a services manifest' {
    It 'the cmdlets ask for the host as before' {
        $empty = New-Item -ItemType Directory (Join-Path $Fleet 'elsewhere') -Force
        Push-Location $empty
        try {
            Invoke-ServiceDeploy demo -ErrorAction SilentlyContinue -ErrorVariable err | Out-Null
            $err[0].Exception.Message | Should -Match 'Give -ComputerName'
        }
        finally { Pop-Location }
    }
}

Describe 'A settings file with a wrong service setting' {
    It 'stops the cmdlet naming the file, the line and the key' {
        $bad = New-Item -ItemType Directory (Join-Path $Fleet 'bad') -Force
        Set-Content (Join-Path $bad 'atelier.yaml') "manifest: ../services.json`nservices:`n  demo:`n    healthTimeout: soon`n"
        Push-Location $bad
        try {
            { Invoke-ServiceDeploy demo -Port $Port -ErrorAction Stop } | Should -Throw -ExpectedMessage "*atelier.yaml:4: 'services.demo.healthTimeout' must be a whole number of seconds*"
        }
        finally { Pop-Location }
    }
}
