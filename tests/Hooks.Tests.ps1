# Deploy hooks against the real test host: a pre-restart hook (a migration) runs after the build and before the
# restart inside the rollback frame, a post-deploy hook after a healthy deploy and outside it.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:HistoryFolder = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-hook-tests-$([guid]::NewGuid())")
    $script:History = Join-Path $HistoryFolder 'history.db'
    $script:Deploy = @{
        Service       = 'demo'
        HealthUrl     = $TestHost.services.demo.healthUrl
        DbPath        = 'data/demo.db'
        BuildCommand  = 'bun run build'
        HistoryPath   = $History
        HealthTimeout = 6
    } + (Get-TestConnection -Service demo)
    $script:Original = (Get-TestDeployState -Service demo).Commit
    Reset-TestOrigin -Service demo -To $Original

    function Invoke-DemoSql([string] $Sql) {
        @(Invoke-TestHostRoot "runuser -u demo -- sqlite3 /var/lib/demo/data/demo.db `"$Sql`"")
    }
}

AfterAll {
    Reset-TestOrigin -Service demo -To $Original
    Invoke-ServiceDeploy @Deploy -Force -ErrorAction SilentlyContinue | Out-Null
    Invoke-TestHostRoot 'rm -f /var/lib/demo/post-deploy.txt /var/lib/demo/pre-restart.txt' | Out-Null
    Remove-Item $HistoryFolder -Recurse -Force -ErrorAction Ignore
}

Describe 'A pre-restart hook' {
    It 'that fails rolls back code and database: the migration''s table and rows are gone, the hook and its output named' {
        $old = (Get-TestDeployState -Service demo).Commit
        $new = Publish-TestCommit -Service demo -Variant Good
        try {
            # A migration that changes the schema and the data, then fails.
            $migration = 'sqlite3 "$HOME/data/demo.db" "CREATE TABLE hook_migration (x); INSERT INTO hook_migration VALUES (1); UPDATE events SET id = id WHERE 0" && echo "migrating to $ATELIER_NEW_COMMIT from $ATELIER_PREVIOUS_COMMIT" && exit 3'
            $result = Invoke-ServiceDeploy @Deploy -PreRestartCommand $migration -ErrorVariable failed -ErrorAction SilentlyContinue -WarningAction SilentlyContinue

            $result.Status | Should -Be 'RolledBack'
            $result.FailedStep | Should -Be 'pre-restart'
            $result.Error | Should -Match '^The pre-restart step failed: exit code 3'
            $result.Error | Should -Match ([regex]::Escape("migrating to $new from $old")) -Because 'the rollback names the hook with its output tail'
            $result.Steps.Name | Should -Be @('lock', 'fetch', 'commits', 'snapshot', 'checkout', 'install', 'build', 'pre-restart',
                'rollback: space', 'rollback: stop', 'rollback: database', 'rollback: checkout', 'rollback: install', 'rollback: build', 'rollback: start', 'rollback: health')
            ($result.Steps | Where-Object Name -EQ 'pre-restart').ExitCode | Should -Be 3
            $failed | Should -HaveCount 1

            (Get-TestDeployState -Service demo).Commit | Should -Be $old
            (Invoke-DemoSql "SELECT count(*) FROM sqlite_master WHERE name = 'hook_migration'")[-1] | Should -Be '0' -Because 'the database is as it was at the snapshot'
            (Wait-TestHealth -Service demo -Commit $old).Code | Should -Be 200

            $record = Get-TestHostRecord -Service demo
            $record.status | Should -Be 'RolledBack'
            $record.failedStep | Should -Be 'pre-restart'
            ($record.steps | Where-Object name -EQ 'pre-restart').exitCode | Should -Be 3
        }
        finally { Reset-TestOrigin -Service demo -To $old }
    }

    It 'that succeeds runs before the restart, from the settings file, and its change stays' {
        $old = (Get-TestDeployState -Service demo).Commit
        $new = Publish-TestCommit -Service demo -Variant Good
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'settings')
        Set-Content (Join-Path $folder 'atelier.yaml') @'
services:
  demo:
    preRestartCommand: 'systemctl show demo.service -p MainPID > "$HOME/pre-restart.txt" && echo "$ATELIER_SERVICE $ATELIER_NEW_COMMIT" >> "$HOME/pre-restart.txt"'
'@
        Push-Location $folder
        try {
            $mainPid = @(Invoke-TestHostRoot 'systemctl show demo.service -p MainPID')[-1]
            $result = Invoke-ServiceDeploy @Deploy -ErrorAction Stop
            $result.Status | Should -Be 'Succeeded'
            $result.Steps.Name | Should -Be @('lock', 'fetch', 'commits', 'snapshot', 'checkout', 'install', 'build', 'pre-restart', 'restart', 'health')
            $written = @(Invoke-TestHostRoot 'cat /var/lib/demo/pre-restart.txt')
            $written[0] | Should -Be $mainPid -Because 'the hook ran while the old process still served, before the restart'
            $written[1] | Should -Be "demo $new"
        }
        finally {
            Pop-Location
            Reset-TestOrigin -Service demo -To $old
            Invoke-ServiceDeploy @Deploy -Force -ErrorAction SilentlyContinue | Out-Null
        }
    }
}

Describe 'A post-deploy hook' {
    It 'that fails leaves the deploy Succeeded, with a warning that names it and its output' {
        $old = (Get-TestDeployState -Service demo).Commit
        $new = Publish-TestCommit -Service demo -Variant Good
        try {
            $hook = 'echo "$ATELIER_SERVICE $ATELIER_PREVIOUS_COMMIT $ATELIER_NEW_COMMIT" > "$HOME/post-deploy.txt"; echo cache warm-up refused >&2; exit 4'
            $result = Invoke-ServiceDeploy @Deploy -PostDeployCommand $hook -ErrorVariable failed -WarningVariable warned -WarningAction SilentlyContinue

            $result.Status | Should -Be 'Succeeded'
            $failed | Should -BeNullOrEmpty -Because 'a failing post-deploy hook never fails the deploy'
            $result.Steps.Name[-1] | Should -Be 'post-deploy'
            $result.Steps[-1].ExitCode | Should -Be 4
            @($warned | Where-Object { "$_" -match 'the post-deploy hook failed \(exit code 4\); the deploy stands' -and "$_" -match 'cache warm-up refused' }) | Should -HaveCount 1
            (Get-TestDeployState -Service demo).Commit | Should -Be $new
            (Wait-TestHealth -Service demo -Commit $new).Code | Should -Be 200
            @(Invoke-TestHostRoot 'cat /var/lib/demo/post-deploy.txt')[-1] | Should -Be "demo $old $new"

            $record = Get-TestHostRecord -Service demo
            $record.status | Should -Be 'Succeeded'
            ($record.steps | Where-Object name -EQ 'post-deploy').exitCode | Should -Be 4
        }
        finally {
            Reset-TestOrigin -Service demo -To $old
            Invoke-ServiceDeploy @Deploy -Force -ErrorAction SilentlyContinue | Out-Null
        }
    }

    It 'shows in -WhatIf after health, and the pre-restart hook before the restart' {
        # -WhatIf writes to the host, so run it in a child pwsh and read what it printed.
        $script = Join-Path $TestDrive 'whatif.ps1'
        Set-Content $script 'param($Module, $Json) Import-Module $Module; $p = $Json | ConvertFrom-Json -AsHashtable; Invoke-ServiceDeploy @p -WhatIf'
        $parameters = $Deploy + @{ PreRestartCommand = 'bun run migrate'; PostDeployCommand = 'curl -fsS localhost/warm' }
        $logins = Get-TestHostLoginCount
        $plan = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $script $env:ATELIER_MODULE ($parameters | ConvertTo-Json -Compress) | Out-String
        Get-TestHostLoginCount | Should -Be $logins
        $plan | Should -Match "(?s)build: .*pre-restart: cd .*ATELIER_NEW_COMMIT='<new>' sh -c 'bun run migrate'.*restart: .*health: .*post-deploy: .*sh -c 'curl -fsS localhost/warm'"
    }
}
