# Backup-Nightly.ps1, tested twice: fast, with Atelier's cmdlets mocked (no host), and for real against the test host
# when $env:ATELIER_TESTHOST names one (Atelier's own suite sets it).

BeforeAll {
    Import-Module ($env:ATELIER_MODULE ?? 'Atelier')
    $script:Runbook = Join-Path $PSScriptRoot 'Backup-Nightly.ps1'

    function New-SqliteLikeFile([string] $Path, [switch] $Broken) {
        # A file that starts as a SQLite database does (or, -Broken, one that does not).
        $bytes = [byte[]]::new(4096)
        $header = [Text.Encoding]::ASCII.GetBytes($(if ($Broken) { 'not a database!!' } else { "SQLite format 3`0" }))
        [Array]::Copy($header, $bytes, 16)
        [IO.File]::WriteAllBytes($Path, $bytes)
        Get-Item $Path
    }
}

Describe 'Backup-Nightly.ps1 (mocked)' {
    BeforeEach {
        $script:Folder = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        Mock Get-AtelierService {
            [Atelier.Manifest.AtelierService]@{ Name = 'cachet'; Machine = 'terebithia'; Host = 'terebithia.tail'; DbPath = 'data/cachet.db' }
            [Atelier.Manifest.AtelierService]@{ Name = 'static'; Machine = 'terebithia'; Host = 'terebithia.tail' }
            [Atelier.Manifest.AtelierService]@{ Name = 'notes'; Machine = 'moonlark'; Host = 'moonlark.tail'; DbPath = '/var/lib/notes/data/notes.db' }
        }
        Mock Backup-ServiceDb {
            $name = [IO.Path]::GetFileNameWithoutExtension($DbPath)
            $file = New-SqliteLikeFile (Join-Path $Destination "$name.20261201T030000Z.3f2a9c1.db")
            [Atelier.Snapshot.ServiceDbSnapshot]@{
                Service = $Service; ComputerName = $ComputerName; Database = "$name.db"; Commit = '3f2a9c1'
                Path = "/var/lib/$Service/.atelier/snapshots/$($file.Name)"; CreatedAt = [DateTimeOffset]::UtcNow
                SizeBytes = $file.Length; LocalPath = $file.FullName
            }
        }
    }

    It 'snapshots every database of the manifest, keeps -Keep there and here, and prunes older local copies' {
        foreach ($day in '20261128', '20261129', '20261130') { New-SqliteLikeFile (Join-Path $Folder "cachet.$($day)T030000Z.1111111.db") | Out-Null }
        New-SqliteLikeFile (Join-Path $Folder 'other.20261101T030000Z.1111111.db') | Out-Null

        $summary = & $Runbook -Destination $Folder -Keep 2
        $LASTEXITCODE | Should -Be 0
        $summary.Service | Should -Be @('cachet', 'notes') -Because 'a service without a database has nothing to back up'
        $summary.Verified | Should -Be @($true, $true)
        $summary[0].LocalKept | Should -Be 2
        $summary[0].LocalPruned | Should -Be 2
        (Get-ChildItem $Folder -Filter 'cachet.*.db').Name | Sort-Object | Should -Be @('cachet.20261130T030000Z.1111111.db', 'cachet.20261201T030000Z.3f2a9c1.db')
        Test-Path (Join-Path $Folder 'other.20261101T030000Z.1111111.db') | Should -BeTrue -Because 'another database''s copies are not this one''s to prune'
        Should -Invoke Backup-ServiceDb -Times 2 -Exactly
        Should -Invoke Backup-ServiceDb -Times 1 -Exactly -ParameterFilter { $Service -eq 'cachet' -and $ComputerName -eq 'terebithia.tail' -and $DbPath -eq 'data/cachet.db' -and $Keep -eq 2 }
    }

    It 'fails loudly when a copy is not a database, and still backs up the others' {
        Mock Backup-ServiceDb -ParameterFilter { $Service -eq 'cachet' } {
            $file = New-SqliteLikeFile (Join-Path $Destination 'cachet.20261201T030000Z.3f2a9c1.db') -Broken
            [Atelier.Snapshot.ServiceDbSnapshot]@{ Service = 'cachet'; ComputerName = $ComputerName; Database = 'cachet.db'; Commit = '3f2a9c1'; Path = '/x'; CreatedAt = [DateTimeOffset]::UtcNow; SizeBytes = $file.Length; LocalPath = $file.FullName }
        }
        $summary = & $Runbook -Destination $Folder -ErrorVariable failed -ErrorAction SilentlyContinue
        $LASTEXITCODE | Should -Be 1
        $summary.Verified | Should -Be @($false, $true)
        @($failed | Where-Object { $_.FullyQualifiedErrorId -like 'SnapshotCopyInvalid*' }) | Should -HaveCount 1
    }

    It 'reports a service whose snapshot failed, and goes on' {
        Mock Backup-ServiceDb -ParameterFilter { $Service -eq 'cachet' } { Write-Error 'disk full' }
        $summary = & $Runbook -Destination $Folder -ErrorVariable failed -ErrorAction SilentlyContinue
        $LASTEXITCODE | Should -Be 1
        $summary.Service | Should -Be 'notes'
        @($failed | Where-Object { $_.FullyQualifiedErrorId -like 'SnapshotFailed*' }) | Should -HaveCount 1
    }
}

Describe 'Backup-Nightly.ps1 (against the test host)' -Skip:(-not $env:ATELIER_TESTHOST) {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot '../tests/TestHelpers.psm1') -Force
        $script:TestHost = Get-TestHost
        $script:Fleet = New-TestFleet
        $PSDefaultParameterValues['*-ServiceDb*:Port'] = [int]$TestHost.sshPort
        Push-Location $Fleet
    }

    AfterAll {
        Pop-Location
        $PSDefaultParameterValues.Remove('*-ServiceDb*:Port')
        Remove-Item $Fleet -Recurse -Force -ErrorAction Ignore
    }

    It 'leaves, after two nights with -Keep 1, one checked copy of each database here and one snapshot on the host' {
        $backups = Join-Path $Fleet 'backups'
        $first = & $Runbook -Destination $backups -Keep 1
        $LASTEXITCODE | Should -Be 0
        Start-Sleep -Seconds 1.1   # snapshot names carry the second they were taken
        $second = & $Runbook -Destination $backups -Keep 1
        $LASTEXITCODE | Should -Be 0

        $second.Service | Should -Be @('demo', 'notes')
        $second.Verified | Should -Be @($true, $true)
        $second.LocalPruned | Should -Be @(1, 1)
        foreach ($service in 'demo', 'notes') {
            $copies = @(Get-ChildItem $backups -Filter "$service.*.db")
            $copies | Should -HaveCount 1
            $copies[0].FullName | Should -Be ($second | Where-Object Service -EQ $service).LocalPath
            $copies[0].FullName | Should -Not -Be ($first | Where-Object Service -EQ $service).LocalPath
            @(Get-ServiceDbSnapshot $service -ErrorAction Stop) | Should -HaveCount 1 -Because 'the host keeps -Keep snapshots too'
        }
    }
}
