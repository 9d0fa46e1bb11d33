# Test-RestoreDrill.ps1, tested twice: fast, with Atelier's cmdlets mocked (no host; the copies are real SQLite files
# made here with sqlite3), and for real against the test host when $env:ATELIER_TESTHOST names one.

BeforeAll {
    Import-Module ($env:ATELIER_MODULE ?? 'Atelier')
    $script:Runbook = Join-Path $PSScriptRoot 'Test-RestoreDrill.ps1'

    function New-TestDatabase([string] $Path, [int] $Events, [int] $Users = 3) {
        & sqlite3 $Path "CREATE TABLE events (id INTEGER PRIMARY KEY); CREATE TABLE users (id INTEGER PRIMARY KEY);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $Events) INSERT INTO events SELECT i FROM n;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $Users) INSERT INTO users SELECT i FROM n;"
        if ($LASTEXITCODE -ne 0) { throw "sqlite3 could not make $Path" }
    }

    function New-FakeSnapshot([string] $Path, [string] $LocalPath) {
        [Atelier.Snapshot.ServiceDbSnapshot]@{ Service = 'cachet'; ComputerName = 'terebithia.tail'; Database = 'cachet.db'; Commit = '3f2a9c1'; Path = $Path; CreatedAt = [DateTimeOffset]::UtcNow; LocalPath = $LocalPath }
    }
}

Describe 'Test-RestoreDrill.ps1 (mocked)' {
    BeforeEach {
        $script:Work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $script:SnapshotEvents = 95
        Mock Backup-ServiceDb {
            New-TestDatabase $Destination -Events 100
            New-FakeSnapshot '/var/lib/cachet/.atelier/snapshots/cachet.20261201T120000Z.3f2a9c1.db' $Destination
        }
        Mock Get-ServiceDbSnapshot {
            New-FakeSnapshot '/var/lib/cachet/.atelier/snapshots/cachet.20261201T120000Z.3f2a9c1.db' $null
            New-FakeSnapshot '/var/lib/cachet/.atelier/snapshots/cachet.20261130T030000Z.1111111.db' $null
            New-FakeSnapshot '/var/lib/cachet/.atelier/snapshots/cachet.20261129T030000Z.1111111.db' $null
        }
        Mock Save-ServiceDbSnapshot {
            $local = Join-Path $Destination (Split-Path -Leaf $Path)
            New-TestDatabase $local -Events $SnapshotEvents
            New-FakeSnapshot $Path $local
        }
    }

    It 'compares every table of the live database with the newest earlier snapshot, within the tolerance' {
        $rows = & $Runbook -Service cachet -Tolerance 0.1 -WorkFolder $Work
        $LASTEXITCODE | Should -Be 0
        $rows.Table | Should -Be @('events', 'users')
        $rows[0].LiveRows | Should -Be 100
        $rows[0].SnapshotRows | Should -Be 95
        $rows.WithinTolerance | Should -Be @($true, $true)
        $rows[0].Snapshot | Should -Be '/var/lib/cachet/.atelier/snapshots/cachet.20261130T030000Z.1111111.db' -Because 'the drill''s own live snapshot is not the one a restore would use'
        Should -Invoke Save-ServiceDbSnapshot -Times 1 -Exactly -ParameterFilter { $Path -like '*20261130T030000Z*' }
        Test-Path $Work | Should -BeFalse -Because 'the copies are removed after the drill'
    }

    It 'fails the drill when a table is out of tolerance' {
        $script:SnapshotEvents = 50
        $rows = & $Runbook -Service cachet -Tolerance 0.1 -WorkFolder $Work
        $LASTEXITCODE | Should -Be 1
        ($rows | Where-Object Table -EQ 'events').WithinTolerance | Should -BeFalse
        ($rows | Where-Object Table -EQ 'events').Difference | Should -Be 50
    }

    It 'fails loudly when the snapshot cannot be read' {
        Mock Save-ServiceDbSnapshot {
            $local = Join-Path $Destination 'broken.db'
            Set-Content $local 'this is not a database, and the drill must say so'
            New-FakeSnapshot $Path $local
        }
        { & $Runbook -Service cachet -WorkFolder $Work } | Should -Throw '*Cannot read*broken.db*'
    }

    It 'fails loudly when the service has no earlier snapshot' {
        Mock Get-ServiceDbSnapshot { New-FakeSnapshot '/var/lib/cachet/.atelier/snapshots/cachet.20261201T120000Z.3f2a9c1.db' $null }
        { & $Runbook -Service cachet -WorkFolder $Work } | Should -Throw '*has no snapshot of cachet.db*'
    }
}

Describe 'Test-RestoreDrill.ps1 (against the test host)' -Skip:(-not $env:ATELIER_TESTHOST) {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot '../tests/TestHelpers.psm1') -Force
        $script:TestHost = Get-TestHost
        $script:Fleet = New-TestFleet -Service demo
        $PSDefaultParameterValues['*-ServiceDb*:Port'] = [int]$TestHost.sshPort
        Push-Location $Fleet
        Backup-ServiceDb demo -ErrorAction Stop | Out-Null   # a snapshot to drill with
    }

    AfterAll {
        Pop-Location
        $PSDefaultParameterValues.Remove('*-ServiceDb*:Port')
        Remove-Item $Fleet -Recurse -Force -ErrorAction Ignore
    }

    It 'finds the newest snapshot of demo within tolerance of the live database' {
        $rows = & $Runbook -Service demo -Tolerance 0.5
        $LASTEXITCODE | Should -Be 0
        $rows.Table | Should -Contain 'events'
        ($rows | Where-Object Table -EQ 'events').LiveRows | Should -BeGreaterThan 0
        $rows.WithinTolerance | Should -Not -Contain $false
    }

    It 'fails when the tolerance is zero and the live database has grown since' {
        Invoke-TestHostRoot "runuser -u demo -- sqlite3 $($TestHost.services.demo.dbPath -replace '^(?!/)', '/var/lib/demo/') `"INSERT INTO events DEFAULT VALUES`"" -AllowFailure | Out-Null
        $rows = & $Runbook -Service demo -Tolerance 0
        ($rows | Where-Object Table -EQ 'events').WithinTolerance | Should -BeFalse
        $LASTEXITCODE | Should -Be 1
    }
}
