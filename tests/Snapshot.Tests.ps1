# Backup-ServiceDb and Get-ServiceDbSnapshot against the real test host, whose sample app writes to its WAL-mode
# database all the time.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    $script:DbPath = $TestHost.services.demo.dbPath
    $script:StatsUrl = $TestHost.services.demo.healthUrl -replace '/health$', '/stats'

    function Get-HostSnapshotFacts([string] $Path, [long] $MaxId) {
        # Read back on the host, as root, with the real sqlite3: integrity, rows, modes and owner.
        $out = Invoke-TestHostRoot "sqlite3 '$Path' 'PRAGMA integrity_check; SELECT count(*) FROM events WHERE id <= $MaxId;' && stat -c '%a %U' '$Path' && stat -c '%a' `$(dirname '$Path')"
        [pscustomobject]@{ Integrity = $out[0]; Rows = [long]$out[1]; FileMode = $out[2]; FolderMode = $out[3] }
    }
}

Describe 'Backup-ServiceDb on a live WAL database' {
    It 'takes 20 consistent snapshots while the app writes, each holding every row committed before it started' {
        $destination = New-Item -ItemType Directory (Join-Path $TestDrive 'downloads')
        $results = foreach ($i in 1..20) {
            $committed = (Invoke-RestMethod $StatsUrl).maxId
            $snapshot = Backup-ServiceDb -Service demo -DbPath $DbPath @Demo -Keep 25 -Destination $destination -ErrorAction Stop
            $facts = Get-HostSnapshotFacts $snapshot.Path $committed
            [pscustomobject]@{ Committed = $committed; Snapshot = $snapshot; Facts = $facts }
        }
        $results | Should -HaveCount 20
        foreach ($r in $results) {
            $r.Facts.Integrity | Should -Be 'ok'
            $r.Facts.Rows | Should -Be $r.Committed -Because "every row committed before snapshot $($r.Snapshot.Path) started must be in it"
            $r.Facts.FileMode | Should -Be '600 demo'
            $r.Facts.FolderMode | Should -Be '700'
            $r.Snapshot.LocalPath | Should -Exist
        }
        # The app kept writing throughout: later snapshots hold more rows.
        $results[-1].Committed | Should -BeGreaterThan $results[0].Committed
        @($results.Snapshot.Path | Select-Object -Unique) | Should -HaveCount 20
    }

    It 'names the snapshot after the UTC time and the deployed commit, and reports the tool' {
        $commit = @(Invoke-TestHostRoot 'runuser -u demo -- git -C /var/lib/demo/app rev-parse --short=12 HEAD')[-1]
        $before = [DateTimeOffset]::UtcNow.AddSeconds(-5)
        $snapshot = Backup-ServiceDb demo $DbPath @Demo -ErrorAction Stop
        $snapshot.Commit | Should -Be $commit
        $snapshot.Path | Should -BeLike "/var/lib/demo/.atelier/snapshots/demo.*.$commit.db"
        $snapshot.CreatedAt | Should -BeGreaterThan $before
        $snapshot.Tool | Should -Be 'sqlite3'
        $snapshot.Service | Should -Be 'demo'
        $snapshot.Database | Should -Be 'demo'
        $snapshot.SizeBytes | Should -BeGreaterThan 0
    }

    It 'keeps only the newest -Keep snapshots of the database' {
        1..3 | ForEach-Object { Backup-ServiceDb demo $DbPath @Demo -Keep 3 -ErrorAction Stop } | Out-Null
        $left = Get-ServiceDbSnapshot demo @Demo -Database demo
        $left | Should -HaveCount 3
        Invoke-TestHostRoot 'ls /var/lib/demo/.atelier/snapshots | grep -c "^demo\." ' | Select-Object -Last 1 | Should -Be '3'
    }

    It 'takes the snapshot with <Tool> when asked' -ForEach @(@{ Tool = 'Bun' }, @{ Tool = 'Python3' }, @{ Tool = 'Sqlite3' }) {
        $committed = (Invoke-RestMethod $StatsUrl).maxId
        $snapshot = Backup-ServiceDb demo $DbPath @Demo -Tool $Tool -Keep 10 -ErrorAction Stop
        $snapshot.Tool | Should -Be $Tool.ToLowerInvariant()
        $facts = Get-HostSnapshotFacts $snapshot.Path $committed
        $facts.Integrity | Should -Be 'ok'
        $facts.Rows | Should -Be $committed
    }

    It 'falls back to bun, then python3, and says clearly when the host has none of them' {
        $hide = { param($paths) Invoke-TestHostRoot (($paths | ForEach-Object { "mv $_ $_.hidden" }) -join '; ') | Out-Null }
        $show = { param($paths) Invoke-TestHostRoot (($paths | ForEach-Object { "[ -e $_.hidden ] && mv $_.hidden $_" }) -join '; ') -AllowFailure | Out-Null }
        try {
            & $hide @('/usr/bin/sqlite3')
            (Backup-ServiceDb demo $DbPath @Demo -Keep 10 -ErrorAction Stop).Tool | Should -Be 'bun'
            & $hide @('/usr/local/bin/bun')
            (Backup-ServiceDb demo $DbPath @Demo -Keep 10 -ErrorAction Stop).Tool | Should -Be 'python3'
            & $hide @('/usr/bin/python3')
            $err = $null
            Backup-ServiceDb demo $DbPath @Demo -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'SnapshotToolMissing*'
            $err[0].CategoryInfo.Category | Should -Be 'NotInstalled'
            $err[0].Exception.Message | Should -Match 'sqlite3.*bun.*python3'
        }
        finally { & $show @('/usr/bin/sqlite3', '/usr/local/bin/bun', '/usr/bin/python3') }
    }

    It 'changes nothing and does not even connect with -WhatIf' {
        $before = Invoke-TestHostRoot 'ls /var/lib/demo/.atelier/snapshots'
        $logins = Get-TestHostLoginCount
        Backup-ServiceDb demo $DbPath @Demo -WhatIf | Should -BeNullOrEmpty
        Invoke-TestHostRoot 'ls /var/lib/demo/.atelier/snapshots' | Should -Be $before
        Get-TestHostLoginCount | Should -Be $logins
    }

    It 'snapshots several services from pipeline objects that bind by name' {
        $services = @(
            [pscustomobject]@{ Name = 'demo'; DbPath = $TestHost.services.demo.dbPath; ComputerName = '127.0.0.1' }
            [pscustomobject]@{ Name = 'notes'; DbPath = $TestHost.services.notes.dbPath; ComputerName = '127.0.0.1' }
        )
        $snapshots = $services | Backup-ServiceDb -Port $Demo.Port -IdentityFile $Demo.IdentityFile -KnownHostsFile $Demo.KnownHostsFile -ErrorAction Stop
        $snapshots.Service | Should -Be @('demo', 'notes')
        $snapshots[1].Path | Should -BeLike '/var/lib/notes/.atelier/snapshots/notes.*'
    }
}

Describe 'Backup-ServiceDb -Destination on this machine' {
    BeforeAll {
        $script:Private = [IO.UnixFileMode]'UserRead, UserWrite'
        function Get-HostSnapshotNames { @(Invoke-TestHostRoot 'ls /var/lib/demo/.atelier/snapshots' | Where-Object { $_ -like 'demo.*.db' }) }
    }

    It 'writes a new file named as the snapshot inside a folder, mode 0600, with nothing left beside it' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'into-folder')
        $snapshot = Backup-ServiceDb demo $DbPath @Demo -Keep 10 -Destination $folder -ErrorAction Stop
        $snapshot.LocalPath | Should -Be (Join-Path $folder ([IO.Path]::GetFileName($snapshot.Path)))
        [IO.File]::GetUnixFileMode($snapshot.LocalPath) | Should -Be $Private
        (& sqlite3 $snapshot.LocalPath 'PRAGMA integrity_check;') | Should -Be 'ok'
        @(Get-ChildItem -Force $folder).Name | Should -Be @([IO.Path]::GetFileName($snapshot.Path)) -Because 'the temporary file is renamed, not left'
    }

    It 'refuses an existing file that is not a database, with -Force too, before taking a snapshot, and leaves it unchanged' {
        $file = Join-Path $TestDrive 'passwd'
        Set-Content $file "root:x:0:0:root:/root:/bin/sh`n" -NoNewline
        $before = Get-HostSnapshotNames
        foreach ($force in $false, $true) {
            $err = $null
            $out = Backup-ServiceDb demo $DbPath @Demo -Keep 10 -Destination $file -Force:$force -ErrorVariable err -ErrorAction SilentlyContinue
            $out | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'DestinationNotDatabase,Atelier.Commands.BackupServiceDbCommand'
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].Exception.Message | Should -Match ([regex]::Escape($file))
        }
        Get-Content $file -Raw | Should -Be "root:x:0:0:root:/root:/bin/sh`n"
        Get-HostSnapshotNames | Should -Be $before -Because 'a destination that would be refused is refused before the snapshot is taken'
        @(Get-ChildItem -Force $TestDrive | Where-Object Name -Like '*.partial') | Should -HaveCount 0
    }

    It 'refuses an existing snapshot file without -Force and replaces it with -Force (0600)' {
        $file = Join-Path $TestDrive 'demo-latest.db'
        $first = Backup-ServiceDb demo $DbPath @Demo -Keep 10 -Destination $file -ErrorAction Stop
        $first.LocalPath | Should -Be $file
        $firstHash = (Get-FileHash $file).Hash

        $err = $null
        Backup-ServiceDb demo $DbPath @Demo -Keep 10 -Destination $file -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DestinationExists,Atelier.Commands.BackupServiceDbCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        "$($err[0])" | Should -Match '-Force' -Because 'the cmdlet adds the hint to the message it shows'
        $err[0].ErrorDetails.RecommendedAction | Should -Be 'Give -Force to replace it, or give a folder or a new file name.'
        (Get-FileHash $file).Hash | Should -Be $firstHash

        # The app writes all the time: a later snapshot holds more rows.
        $firstMax = [long](& sqlite3 $file 'SELECT max(id) FROM events;')
        Start-Sleep -Milliseconds 300
        [IO.File]::SetUnixFileMode($file, [IO.UnixFileMode]'UserRead, UserWrite, GroupRead, OtherRead')
        $second = Backup-ServiceDb demo $DbPath @Demo -Keep 10 -Destination $file -Force -ErrorAction Stop
        $second.LocalPath | Should -Be $file
        [long](& sqlite3 $file 'SELECT max(id) FROM events;') | Should -BeGreaterThan $firstMax
        [IO.File]::GetUnixFileMode($file) | Should -Be $Private
    }

    It 'names the folder that does not exist, and creates nothing' {
        $missing = Join-Path $TestDrive 'no-such-folder'
        foreach ($destination in (Join-Path $missing 'copy.db'), "$missing/") {
            $err = $null
            Backup-ServiceDb demo $DbPath @Demo -Destination $destination -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'DestinationFolderMissing,Atelier.Commands.BackupServiceDbCommand'
            $err[0].Exception.Message | Should -Match ([regex]::Escape("folder $missing does not exist"))
        }
        $missing | Should -Not -Exist
    }

    It 'with -WhatIf, a destination that would be refused is refused as a run would be, without connecting' {
        $file = Join-Path $TestDrive 'notes.txt'
        Set-Content $file 'my notes'
        $logins = Get-TestHostLoginCount
        $err = $null
        Backup-ServiceDb demo $DbPath @Demo -Destination $file -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DestinationNotDatabase,*'
        Get-TestHostLoginCount | Should -Be $logins
        Get-Content $file | Should -Be 'my notes'
    }
}

Describe 'Get-ServiceDbSnapshot' {
    It 'lists snapshots newest first, as objects that carry what a restore needs' {
        $list = Get-ServiceDbSnapshot demo @Demo -ErrorAction Stop
        $list.Count | Should -BeGreaterThan 1
        for ($i = 1; $i -lt $list.Count; $i++) { $list[$i - 1].CreatedAt | Should -BeGreaterOrEqual $list[$i].CreatedAt }
        $list[0].Service | Should -Be 'demo'
        $list[0].ComputerName | Should -Be '127.0.0.1'
        $list[0].Path | Should -BeLike '/var/lib/demo/.atelier/snapshots/*'
        $list[0].Commit | Should -Match '^[0-9a-f]{12}$'
    }

    It 'filters by database name or by a database path' {
        @(Get-ServiceDbSnapshot demo -Database other @Demo).Count | Should -Be 0
        @(Get-ServiceDbSnapshot demo -Database $DbPath @Demo).Count | Should -BeGreaterThan 0
        @(Get-ServiceDbSnapshot demo -Database 'de*' @Demo).Count | Should -BeGreaterThan 0
    }

    It 'shows snapshots as a table' {
        $PSStyle.OutputRendering = 'PlainText'
        $text = Get-ServiceDbSnapshot demo @Demo | Select-Object -First 2 | Format-Table | Out-String -Width 250
        $text | Should -Match 'Service\s+Host\s+Database\s+Created \(UTC\)\s+Commit\s+Size\s+Path'
    }
}

Describe 'Backup-ServiceDb -Local' {
    It 'snapshots a database on this machine with Microsoft.Data.Sqlite, into the home of the service user' {
        $homeDir = New-Item -ItemType Directory (Join-Path $TestDrive 'home')
        $db = Join-Path $homeDir 'app.db'
        & sqlite3 $db 'PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES (1),(2),(3);' | Out-Null
        $old = $env:HOME; $env:HOME = $homeDir
        try {
            $snapshots = 1..3 | ForEach-Object { Backup-ServiceDb -Service nosuchuser -DbPath app.db -Local -Keep 2 -ErrorAction Stop }
            $snapshots[-1].Tool | Should -Be 'Microsoft.Data.Sqlite'
            $snapshots[-1].Path | Should -BeLike "$homeDir/.atelier/snapshots/app.*.nocommit.db"
            (& sqlite3 $snapshots[-1].Path 'PRAGMA integrity_check; SELECT count(*) FROM t;') | Should -Be @('ok', '3')
            [IO.File]::GetUnixFileMode($snapshots[-1].Path) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
            @(Get-ServiceDbSnapshot nosuchuser -Local).Count | Should -Be 2
            @(Get-ChildItem -Force "$homeDir/.atelier/snapshots" | Where-Object Name -Like '*.partial') | Should -HaveCount 0

            # Its copy follows the same rules as a host's: 0600, and a text file is never replaced.
            $copies = New-Item -ItemType Directory (Join-Path $TestDrive 'local-copies')
            $copy = Backup-ServiceDb -Service nosuchuser -DbPath app.db -Local -Destination $copies -ErrorAction Stop
            [IO.File]::GetUnixFileMode($copy.LocalPath) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
            Set-Content (Join-Path $copies 'readme.txt') 'keep me'
            { Backup-ServiceDb -Service nosuchuser -DbPath app.db -Local -Destination (Join-Path $copies 'readme.txt') -Force -ErrorAction Stop } |
                Should -Throw -ErrorId 'DestinationNotDatabase,*'
            Get-Content (Join-Path $copies 'readme.txt') | Should -Be 'keep me'
        }
        finally { $env:HOME = $old }
    }
}
