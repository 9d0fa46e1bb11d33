# Save-ServiceDbSnapshot against the real test host: a snapshot the service already has, copied here verified and
# private, never over a file by mistake, and nothing but the service's own snapshots.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    $script:Taken = Backup-ServiceDb demo -DbPath $TestHost.services.demo.dbPath @Demo -ErrorAction Stop
}

Describe 'Save-ServiceDbSnapshot' {
    It 'copies a listed snapshot into a folder under its own name, 0600, verified, without taking a new one' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'into-folder')
        $before = @(Get-ServiceDbSnapshot demo @Demo -ErrorAction Stop)
        $saved = $before | Where-Object Path -EQ $Taken.Path | Save-ServiceDbSnapshot -Destination $folder @Demo -ErrorAction Stop
        $saved.Path | Should -Be $Taken.Path
        $saved.LocalPath | Should -Be (Join-Path $folder.FullName (Split-Path -Leaf $Taken.Path))
        (Get-Item $saved.LocalPath).Length | Should -Be $Taken.SizeBytes
        [IO.File]::GetUnixFileMode($saved.LocalPath) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
        @(& sqlite3 -readonly $saved.LocalPath 'PRAGMA integrity_check')[-1] | Should -Be 'ok'
        @(Get-ChildItem $folder).Count | Should -Be 1 -Because 'no temporary file is left beside it'
        @(Get-ServiceDbSnapshot demo @Demo).Count | Should -Be $before.Count -Because 'nothing new is taken on the host'
    }

    It 'refuses an existing file without -Force, and a path that is not one of the service''s snapshots, before downloading' {
        $file = Join-Path $TestDrive 'exists.db'
        Set-Content $file 'mine'
        Save-ServiceDbSnapshot demo -Path $Taken.Path -Destination $file @Demo -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -Match '^Destination(Exists|NotDatabase),'
        Get-Content $file | Should -Be 'mine'

        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'not-a-snapshot')
        Save-ServiceDbSnapshot demo -Path /etc/passwd -Destination $folder @Demo -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'SnapshotNotFound*'
        @(Get-ChildItem $folder).Count | Should -Be 0
    }

    It 'connects to nothing with -WhatIf' {
        $logins = Get-TestHostLoginCount
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'whatif')
        Save-ServiceDbSnapshot demo -Path $Taken.Path -Destination $folder @Demo -WhatIf
        Get-TestHostLoginCount | Should -Be $logins
        @(Get-ChildItem $folder).Count | Should -Be 0
    }
}
