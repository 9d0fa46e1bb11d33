# Invoke-ServiceDeploy against the real test host: a good deploy, failures that roll back code and database,
# Unchanged, -WhatIf, and the deploy lock. Commits are published to the service's origin by the fixtures in
# TestHelpers.psm1 (Publish-TestCommit), and origin is reset after each case.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    # Not in TestDrive: Pester empties that at the end of each Describe, and the history spans them all.
    $script:HistoryFolder = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-deploy-tests-$([guid]::NewGuid())")
    $script:History = Join-Path $HistoryFolder 'history.db'
    $script:Deploy = @{
        Service      = 'demo'
        HealthUrl    = $TestHost.services.demo.healthUrl
        DbPath       = 'data/demo.db'
        BuildCommand = 'bun run build'
        HistoryPath  = $History
        HealthTimeout = 6
    } + $Demo
    $script:Original = (Get-TestDeployState -Service demo).Commit
    Reset-TestOrigin -Service demo -To $Original   # origin starts at what is deployed

    function Invoke-Sqlite([string] $Path, [string] $Sql) {
        # As the service's user: root would leave root-owned -wal/-shm files the app cannot open.
        Invoke-TestHostRoot "runuser -u demo -- sqlite3 '$Path' `"$Sql`""
    }

    function Get-RestoreStart($Result) {
        # Steps run one after another from StartedAt: the database went back when the 'rollback: database' step began.
        $elapsed = [TimeSpan]::Zero
        foreach ($step in $Result.Steps) {
            if ($step.Name -eq 'rollback: database') { return $Result.StartedAt + $elapsed }
            $elapsed += $step.Duration
        }
        throw 'the result has no rollback: database step'
    }
}

AfterAll {
    Reset-TestOrigin -Service demo -To $Original
    Invoke-ServiceDeploy @Deploy -Force -ErrorAction SilentlyContinue | Out-Null
    Remove-Item $HistoryFolder -Recurse -Force -ErrorAction Ignore
}

Describe 'A good deploy' {
    It 'puts the new commit live, healthy, after a snapshot, and records it on the host and here' {
        $new = Publish-TestCommit -Service demo -Variant Good
        $rowsBefore = (Get-TestDeployState -Service demo).RowCount
        $logins = Get-TestHostLoginCount
        $result = Invoke-ServiceDeploy @Deploy -ErrorAction Stop
        (Get-TestHostLoginCount) - $logins | Should -Be 1 -Because 'one SSH connection serves every step'
        $result.Status | Should -Be 'Succeeded'
        $result.PreviousCommit | Should -Be $Original
        $result.NewCommit | Should -Be $new
        $result.Commits | Should -HaveCount 1
        $result.Health.Healthy | Should -BeTrue
        $result.SnapshotPath | Should -BeLike '/var/lib/demo/.atelier/snapshots/demo.*.db'
        $result.Steps.Name | Should -Be @('lock', 'fetch', 'commits', 'snapshot', 'checkout', 'install', 'build', 'restart', 'health')
        $state = Get-TestDeployState -Service demo
        $state.Commit | Should -Be $new
        $state.Health | Should -Be 200
        $state.RowCount | Should -BeGreaterOrEqual $rowsBefore
        $hostLines = Invoke-TestHostRoot 'cat /var/lib/demo/.atelier/deploys.jsonl'
        ($hostLines | Select-Object -Last 1 | ConvertFrom-Json).newCommit | Should -Be $new
        & sqlite3 $History "SELECT status FROM deploys ORDER BY started_at DESC LIMIT 1" | Should -Be 'Succeeded'
        Invoke-TestHostRoot 'ls -d /var/lib/demo/.atelier/deploy-demo.lock 2>/dev/null || true' | Should -BeNullOrEmpty
    }

    It 'deploys each service piped in as an object' {
        $services = foreach ($name in 'demo', 'notes') {
            [pscustomobject]@{ Name = $name; ComputerName = '127.0.0.1'; HealthUrl = $TestHost.services.$name.healthUrl; DbPath = $TestHost.services.$name.dbPath; BuildCommand = 'bun run build' }
        }
        $results = $services | Invoke-ServiceDeploy -Port $Demo.Port -IdentityFile $Demo.IdentityFile -KnownHostsFile $Demo.KnownHostsFile -HistoryPath $History -ErrorAction Stop
        # Both deploy at once, and each result is written when its service finishes: in either order.
        $results.Service | Sort-Object | Should -Be @('demo', 'notes')
        $results.Status | Should -Be @('Unchanged', 'Unchanged')
    }

    It 'changes nothing and restarts nothing when origin is already deployed and healthy' {
        $before = Get-TestDeployState -Service demo
        $result = Invoke-ServiceDeploy @Deploy -ErrorAction Stop
        $result.Status | Should -Be 'Unchanged'
        $result.Steps.Name | Should -Be @('lock', 'fetch')
        (Get-TestDeployState -Service demo).ActiveEnterTimestampMonotonic | Should -Be $before.ActiveEnterTimestampMonotonic
    }

    It 'changes nothing on the host with -WhatIf, and prints the plan' {
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        $before = Get-TestDeployState -Service demo
        $logins = Get-TestHostLoginCount
        # -WhatIf writes to the host, so run it in a child pwsh and read what it printed.
        $script = Join-Path $TestDrive 'whatif.ps1'
        Set-Content $script 'param($Module, $Json) Import-Module $Module; $p = $Json | ConvertFrom-Json -AsHashtable; Invoke-ServiceDeploy @p -WhatIf'
        $plan = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $script $env:ATELIER_MODULE ($Deploy | ConvertTo-Json -Compress) | Out-String
        $plan | Should -Match 'git fetch --quiet origin main'
        $plan | Should -Match 'bun install --frozen-lockfile'
        $plan | Should -Match "sh -c 'bun run build'"
        $plan | Should -Match 'systemctl restart demo.service'
        $after = Get-TestDeployState -Service demo
        $after.Commit | Should -Be $before.Commit
        $after.ActiveEnterTimestampMonotonic | Should -Be $before.ActiveEnterTimestampMonotonic
        $after.Files | Should -Be $before.Files
        Get-TestHostLoginCount | Should -Be $logins
    }
}

Describe '-WhatIf without a host' {
    It '<Command> -WhatIf fails as a real run does ("Give -ComputerName"), and prints no plan' -ForEach @(
        @{ Command = 'Invoke-ServiceDeploy'; Arguments = 'demo -DbPath data/demo.db' }
        @{ Command = 'Restore-ServiceDeploy'; Arguments = 'demo -Confirm:$false' }
        @{ Command = 'Backup-ServiceDb'; Arguments = 'demo data/demo.db' }
    ) {
        # -WhatIf writes to the host: run both in a child pwsh, in a folder without a settings file, and read what it printed.
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive "nohost-$Command")
        $script = Join-Path $folder 'nohost.ps1'
        Set-Content $script @"
param(`$Module)
`$PSStyle.OutputRendering = 'PlainText'
Import-Module `$Module
$Command $Arguments -WhatIf -ErrorVariable planned -ErrorAction SilentlyContinue
"whatif: `$(`$planned.FullyQualifiedErrorId) `$(`$planned.CategoryInfo.Category) `$planned"
$Command $Arguments -ErrorVariable ran -ErrorAction SilentlyContinue
"run: `$(`$ran.FullyQualifiedErrorId) `$(`$ran.CategoryInfo.Category) `$ran"
"@
        $output = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -WorkingDirectory $folder -File $script $env:ATELIER_MODULE 2>&1 | ForEach-Object { "$_" }
        $text = $output -join "`n"
        $text | Should -Not -Match 'What if' -Because 'there is no plan without a host'
        $text | Should -Not -Match '\(no host\)'
        $whatIf = ($output | Where-Object { $_ -like 'whatif: *' }) -replace '^whatif: '
        $run = ($output | Where-Object { $_ -like 'run: *' }) -replace '^run: '
        $whatIf | Should -Be $run
        $whatIf | Should -Be "InvalidArgument,Atelier.Commands.$($Command -replace '-')Command InvalidArgument Give -ComputerName (or -Local to work on this machine)."
    }
}

Describe 'A failed deploy rolls back: <Variant>' -ForEach @(
    @{ Variant = 'InstallFails'; Step = 'install' }
    @{ Variant = 'BuildFails'; Step = 'build' }
    @{ Variant = 'CrashesAtStart'; Step = 'health' }
    @{ Variant = 'HealthFails'; Step = 'health' }
) {
    BeforeEach { $script:Old = (Get-TestDeployState -Service demo).Commit }
    AfterEach { Reset-TestOrigin -Service demo -To $Old }

    It 'ends RolledBack with the old commit running, healthy, and the database as it was at the snapshot' {
        $old = $Old
        Publish-TestCommit -Service demo -Variant $Variant | Out-Null
        $err = $null
        $result = Invoke-ServiceDeploy @Deploy -ErrorVariable err -ErrorAction SilentlyContinue
        $result.Status | Should -Be 'RolledBack'
        $result.FailedStep | Should -Be $Step
        $result.Error | Should -Not -BeNullOrEmpty
        $result.Health.Healthy | Should -BeTrue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DeployRolledBack*'
        $state = Get-TestDeployState -Service demo
        $state.Commit | Should -Be $old
        $state.Health | Should -Be 200

        # Every row of the snapshot is there, and nothing written between the snapshot and the restore survived.
        $snapshotMax = [long]@(Invoke-Sqlite $result.SnapshotPath 'SELECT max(id) FROM events')[-1]
        [long]@(Invoke-Sqlite $TestHost.services.demo.dbPath "SELECT count(*) FROM events WHERE id <= $snapshotMax")[-1] | Should -Be $snapshotMax
        $restored = (Get-RestoreStart $result).UtcDateTime.AddMilliseconds(-50).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'")
        [long]@(Invoke-Sqlite $TestHost.services.demo.dbPath "SELECT count(*) FROM events WHERE id > $snapshotMax AND at < '$restored'")[-1] | Should -Be 0
        Invoke-TestHostRoot 'ls -A /var/lib/demo/data/' | Where-Object { $_ -like '*.atelier-restore*' } | Should -BeNullOrEmpty
    }
}

Describe 'In GitHub Actions' {
    BeforeAll {
        # Runs Invoke-ServiceDeploy as a workflow step does (pwsh -c, GITHUB_ACTIONS=true) in -Folder, with -Verbose and
        # the result printed with Format-List, as a workflow might; returns its log lines (stdout and stderr, as the
        # runner reads both), summary, outputs, error records and exit code.
        function Invoke-ActionsStep([hashtable] $Parameters, [string] $Folder = (New-Item -ItemType Directory (Join-Path $TestDrive (New-Guid))).FullName) {
            $files = @{ Summary = Join-Path $Folder 'summary.md'; Outputs = Join-Path $Folder 'outputs.txt'; Errors = Join-Path $Folder 'errors.json' }
            $files.Values | Remove-Item -ErrorAction Ignore
            # Plain text, so that any escape in the log is one that came from the host.
            $script = @'
$PSStyle.OutputRendering = 'PlainText'
$env:GITHUB_ACTIONS = 'true'; $env:GITHUB_STEP_SUMMARY = $env:TEST_SUMMARY; $env:GITHUB_OUTPUT = $env:TEST_OUTPUTS
$env:GITHUB_SERVER_URL = 'https://github.com'; $env:GITHUB_REPOSITORY = 'atelier/sample-app'
Set-Location $env:TEST_FOLDER
Import-Module $env:ATELIER_MODULE
$p = $env:TEST_DEPLOY | ConvertFrom-Json -AsHashtable
$r = Invoke-ServiceDeploy @p -Verbose -ErrorVariable failed
$r | Format-List Status, FailedStep, Error, Commits | Out-String -Width 400
$r.Steps | Format-List | Out-String -Width 400
@($failed | ForEach-Object { [pscustomobject]@{ Shown = "$_"; Message = $_.Exception.Message; Target = ($_.TargetObject | ConvertTo-Json -Depth 4 -Compress) } }) | ConvertTo-Json -Depth 4 | Set-Content $env:TEST_ERRORS
if ($failed) { exit 1 }
'@
            $env:TEST_SUMMARY = $files.Summary; $env:TEST_OUTPUTS = $files.Outputs; $env:TEST_ERRORS = $files.Errors; $env:TEST_FOLDER = $Folder
            $env:TEST_DEPLOY = $Parameters | ConvertTo-Json -Compress
            $lines = @(& dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script 2>&1 | ForEach-Object { "$_" } | ForEach-Object { $_ -split '\r?\n' })
            [pscustomobject]@{
                ExitCode = $LASTEXITCODE
                Lines    = $lines
                Log      = $lines -join "`n"
                Summary  = Get-Content -Raw $files.Summary -ErrorAction Ignore
                Outputs  = Get-Content -Raw $files.Outputs -ErrorAction Ignore
                Errors   = Get-Content -Raw $files.Errors -ErrorAction Ignore
            }
        }

        # The lines a runner would obey, read as actions/runner does: '::name ...::data' at a line's start after blanks,
        # '##[name ...]data' anywhere in a line, nothing while commands are stopped but the resume '::<token>::'. Only
        # Atelier's own commands may be obeyed: its groups, the one error annotation, the masks of -Redact's values and
        # the stops of its fences.
        function Get-ObeyedHostCommand([string[]] $Lines, [string] $Service = 'demo', [string[]] $Masks = @()) {
            $token = $null
            foreach ($line in $Lines) {
                $trimmed = $line.TrimStart()
                $name = if ($trimmed -match '^::([^ :]+)[^:]*::') { $Matches[1] } elseif ($line -match '##\[([^ \]]+)') { $Matches[1] } else { $null }
                if (-not $name) { continue }
                if ($token) {
                    if ($name -eq $token) { $token = $null }
                    continue
                }
                $ours = $trimmed -match '^::stop-commands::atelier-[0-9a-f]{32}$' -or $trimmed -match "^::group::$Service`: " -or $trimmed -eq '::endgroup::' -or
                    $trimmed -match "^::error title=Deploy of $Service " -or ($Masks | Where-Object { $trimmed -eq "::add-mask::$_" })
                if (-not $ours) { $line; continue }
                if ($trimmed -match '^::stop-commands::(.+)$') { $token = $Matches[1] }
            }
        }

        # The HTML tags a Markdown renderer would see in the summary: those outside fenced blocks and code spans.
        function Get-SummaryHtml([string] $Markdown) {
            $outside = [regex]::Replace($Markdown, '(?m)^(`{3,})\n[\s\S]*?\n\1$', '')
            $outside = [regex]::Replace($outside, '(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)', '')
            @([regex]::Matches($outside, '<(/?[a-zA-Z]+)') | ForEach-Object { $_.Groups[1].Value })
        }

        # Every place the deploy of -Commit left text: the step's log, summary, outputs and error records, and its records in
        # the host's history and this machine's.
        function Get-DeployTrace($Step, [string] $Commit) {
            $hostHistory = (Invoke-TestHostRoot "grep -F '`"newCommit`":`"$Commit`"' /var/lib/demo/.atelier/deploys.jsonl") -join "`n"
            $localHistory = (& sqlite3 $History "SELECT json FROM deploys WHERE json LIKE '%`"newCommit`":`"$Commit`"%'") -join "`n"
            [ordered]@{ Log = $Step.Log; Summary = $Step.Summary; Outputs = $Step.Outputs; Errors = $Step.Errors; HostHistory = $hostHistory; LocalHistory = $localHistory }
        }
    }

    It 'fences a build''s output, obeys none of its workflow commands, and shows, records and summarises no secret or escape of it' {
        $old = (Get-TestDeployState -Service demo).Commit
        $new = Publish-TestCommit -Service demo -Variant NoisyBuildFails
        try {
            $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'with-settings')
            Set-Content (Join-Path $folder 'atelier.yaml') "redact:`n  - '/site-other-[0-9]+/'`n"
            $step = Invoke-ActionsStep ($Deploy + @{ Redact = @('site-secret-value-42') }) -Folder $folder
            $step.ExitCode | Should -Not -Be 0 -Because 'a rolled-back deploy must fail the workflow step'
            (Get-TestDeployState -Service demo).Commit | Should -Be $old

            Get-ObeyedHostCommand $step.Lines -Masks 'site-secret-value-42' | Should -BeNullOrEmpty -Because "no line of the host's output may act as a workflow command"
            $step.Lines | Should -Contain '::add-mask::site-secret-value-42'
            ($step.Lines | Select-String -SimpleMatch '::add-mask::' | Select-Object -First 1).LineNumber | Should -BeLessThan ($step.Lines | Select-String -SimpleMatch '::group::' | Select-Object -First 1).LineNumber
            $step.Log | Should -Match ([regex]::Escape('\::set-output name=a::b')) -Because "the build's lines are in the log, disarmed"
            $step.Log | Should -Match ([regex]::Escape('red link bell␇'))
            $step.Log | Should -Match ([regex]::Escape('DB_PASSWORD="***"'))
            @($step.Lines | Where-Object { $_ -like '::error title=*' }).Count | Should -Be 1
            $step.Log | Should -Match 'VERBOSE: \[demo@[^\]]+\] ! \\?.*\*\*\*' -Because 'verbose lines are cleaned and redacted too'

            $trace = Get-DeployTrace $step $new
            foreach ($place in $trace.Keys) {
                $text = $trace[$place]
                $text | Should -Not -BeNullOrEmpty -Because "$place must hold the deploy"
                $text | Should -Not -Match 'hunter2' -Because "the secret must not reach $place"
                $text | Should -Not -Match 'site-other-77' -Because "the settings file's pattern is redacted in $place"
                $text | Should -Not -Match 'fakekeybody' -Because "a private key must not reach $place"
                $text | Should -Not -Match 'http://evil' -Because "no OSC 8 link may reach $place"
                $text | Should -Not -Match '\x1b|\x07|\\u001b|\\u0007' -Because "no terminal control may reach $place"
                $unmasked = ($text -split "`n") | Where-Object { $_ -match 'site-secret-value-42' -and $_ -ne '::add-mask::site-secret-value-42' }
                $unmasked | Should -BeNullOrEmpty -Because "-Redact's value must not reach $place but in its mask"
            }
            Get-SummaryHtml $step.Summary | Should -Be @('details', 'summary', '/summary', '/details')
            $step.Summary | Should -Match 'API_TOKEN=\*\*\*'

            $record = Get-TestHostRecord -Service demo
            $record.newCommit | Should -Be $new
            $record.status | Should -Be 'RolledBack'
            $build = $record.steps | Where-Object name -EQ 'build'
            $build.exitCode | Should -Be 1
            $build.durationMs | Should -BeGreaterThan 0
            @($build.outputTail -split "`n").Count | Should -BeLessOrEqual 6 -Because 'a history keeps a few lines of a step (and a … line)'
            $record.steps.name | Should -Contain 'rollback: build'
            ($record.error -split "`n")[0] | Should -Match '^The build step failed: exit code 1'
            @($record.error -split "`n").Count | Should -BeLessOrEqual 7
            $local = (& sqlite3 $History "SELECT json FROM deploys WHERE id = '$($record.id)'") | ConvertFrom-Json
            $local.steps.name | Should -Be $record.steps.name
        }
        finally { Reset-TestOrigin -Service demo -To $old }
    }

    It 'shows, records and summarises a commit subject with escapes, backticks and HTML as text, and without its secret' {
        $old = (Get-TestDeployState -Service demo).Commit
        $new = Publish-TestCommit -Service demo -Variant EscapedSubject
        try {
            $step = Invoke-ActionsStep $Deploy
            $step.ExitCode | Should -Be 0
            (Get-TestDeployState -Service demo).Commit | Should -Be $new
            Get-ObeyedHostCommand $step.Lines | Should -BeNullOrEmpty
            $trace = Get-DeployTrace $step $new
            foreach ($place in $trace.Keys | Where-Object { $_ -ne 'Errors' }) {
                $trace[$place] | Should -Not -Match 'hunter2' -Because "the subject's secret must not reach $place"
                $trace[$place] | Should -Not -Match '\x1b|\x07|\\u001b|\\u0007|http://evil[^.]' -Because "no terminal control may reach $place"
            }
            Get-SummaryHtml $step.Summary | Should -BeNullOrEmpty -Because 'the subject is code: its <b> and <img> are text'
            $line = @($step.Outputs -split "`n" | Where-Object { $_ -like "$($new.Substring(0, 7))*" })
            $line | Should -HaveCount 1 -Because 'the outputs hold the commit on one line'
            $line[0].Substring($line[0].IndexOf(' ') + 1) |
                Should -Be 'fixture: `code` ``` <b>bold</b> <img src=x onerror=alert(1)> [link](http://evil.example) | pipe osc link red ␇bell API_TOKEN=*** ##\[error]v1 ::error::x'
            $step.Summary | Should -Match ([regex]::Escape('- ````' + $line[0] + '````')) -Because 'a code span longer than the subject''s longest backtick run'
            (Get-TestHostRecord -Service demo).commits | Should -Be $line
        }
        finally { Reset-TestOrigin -Service demo -To $old }
    }

    It 'writes a group per step, an error annotation, the step summary and the outputs' {
        $old = (Get-TestDeployState -Service demo).Commit
        $new = Publish-TestCommit -Service demo -Variant HealthFails
        try {
            $summary = Join-Path $TestDrive 'summary.md'; $outputs = Join-Path $TestDrive 'outputs.txt'
            $script = Join-Path $TestDrive 'actions.ps1'
            # Like a workflow step, pwsh -c '...': its exit code says whether the deploy wrote an error.
            Set-Content $script @'
$env:GITHUB_ACTIONS = 'true'; $env:GITHUB_STEP_SUMMARY = $env:TEST_SUMMARY; $env:GITHUB_OUTPUT = $env:TEST_OUTPUTS
$env:GITHUB_SERVER_URL = 'https://github.com'; $env:GITHUB_REPOSITORY = 'atelier/sample-app'
Import-Module $env:ATELIER_MODULE
$p = $env:TEST_DEPLOY | ConvertFrom-Json -AsHashtable
Invoke-ServiceDeploy @p | Out-Null
'@
            $env:TEST_SUMMARY = $summary; $env:TEST_OUTPUTS = $outputs; $env:TEST_DEPLOY = $Deploy | ConvertTo-Json -Compress
            $log = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command (Get-Content -Raw $script) 2>&1 | Out-String
            $LASTEXITCODE | Should -Not -Be 0 -Because 'a rolled-back deploy must fail the workflow step'
            $log | Should -Match '::group::demo: fetch \(\d+ ms, exit 0\)'
            $log | Should -Match '::group::demo: rollback: database'
            $log | Should -Match '::endgroup::'
            $log | Should -Match '::error title=Deploy of demo RolledBack::health step failed: '
            $text = Get-Content -Raw $summary
            $text | Should -Match 'Deploy of `demo`: RolledBack'
            $text | Should -Match ([regex]::Escape("https://github.com/atelier/sample-app/compare/$old...$new"))
            $text | Should -Match '\| Health \| Up'
            $lines = Get-Content $outputs
            $lines | Should -Contain 'status=RolledBack'
            $lines | Should -Contain "previous_commit=$old"
            $lines | Should -Contain "new_commit=$new"
            ($lines | Where-Object { $_ -like 'commits<<ATELIER_*' }) | Should -HaveCount 1
            (Get-TestDeployState -Service demo).Commit | Should -Be $old
        }
        finally { Reset-TestOrigin -Service demo -To $old }
    }
}

Describe 'The deploy lock' {
    It 'makes a second deploy of the service fail at once, naming the holder, and lets it wait with -LockWait' {
        $module = $env:ATELIER_MODULE
        $slow = $Deploy.Clone(); $slow.BuildCommand = 'sleep 4'; $slow.Force = $true
        $first = Start-ThreadJob { param($m, $p) Import-Module $m; Invoke-ServiceDeploy @p -ErrorAction SilentlyContinue } -ArgumentList $module, $slow
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while (-not (Invoke-TestHostRoot 'ls -d /var/lib/demo/.atelier/deploy-demo.lock 2>/dev/null || true') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        $err = $null
        $second = Invoke-ServiceDeploy @Deploy -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $second.Status | Should -Be 'Failed'
        $second.FailedStep | Should -Be 'lock'
        $second.Error | Should -Match 'held by'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DeployFailed*'
        $waited = Invoke-ServiceDeploy @Deploy -Force -LockWait 30 -ErrorAction Stop
        $waited.Status | Should -Be 'Succeeded'
        ($first | Receive-Job -Wait -AutoRemoveJob).Status | Should -Be 'Succeeded'
    }
}

Describe 'Restore-ServiceDeploy' {
    BeforeAll {
        $script:Restore = @{ HealthUrl = $TestHost.services.demo.healthUrl; BuildCommand = 'bun run build'; HistoryPath = $History; HealthTimeout = 6; Confirm = $false } + $Demo
    }
    AfterEach { Reset-TestOrigin -Service demo -To (Get-TestDeployState -Service demo).Commit }

    It 'goes back, by default, to the commit before the last deploy, with the snapshot that deploy took' {
        $old = (Get-TestDeployState -Service demo).Commit
        $new = Publish-TestCommit -Service demo -Variant Good
        $deployed = Invoke-ServiceDeploy @Deploy -ErrorAction Stop
        $deployed.NewCommit | Should -Be $new
        $result = Restore-ServiceDeploy demo @Restore -ErrorAction Stop
        $result.Operation | Should -Be 'Restore'
        $result.Status | Should -Be 'Succeeded'
        $result.NewCommit | Should -Be $old
        $result.SnapshotPath | Should -Be $deployed.SnapshotPath
        $result.Steps.Name | Should -Be @('lock', 'current', 'space', 'stop', 'database', 'checkout', 'install', 'build', 'start', 'health')
        $state = Get-TestDeployState -Service demo
        $state.Commit | Should -Be $old
        $state.Health | Should -Be 200
        $snapshotMax = [long]@(Invoke-Sqlite $deployed.SnapshotPath 'SELECT max(id) FROM events')[-1]
        [long]@(Invoke-Sqlite $TestHost.services.demo.dbPath "SELECT count(*) FROM events WHERE id <= $snapshotMax")[-1] | Should -Be $snapshotMax
        $restoreStart = $result.StartedAt + ($result.Steps | Select-Object -First 4 | ForEach-Object { $_.Duration } | Measure-Object -Property Ticks -Sum | ForEach-Object { [TimeSpan]::FromTicks($_.Sum) })
        [long]@(Invoke-Sqlite $TestHost.services.demo.dbPath "SELECT count(*) FROM events WHERE id > $snapshotMax AND at < '$($restoreStart.UtcDateTime.AddMilliseconds(-50).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"))'")[-1] | Should -Be 0
        (Get-ServiceDeployHistory -Service demo -HistoryPath $History -Last 1).Operation | Should -Be 'Restore'
    }

    It 'takes a deploy result from the pipeline, and leaves the database alone with -SkipDatabase' {
        $old = (Get-TestDeployState -Service demo).Commit
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        $deployed = Invoke-ServiceDeploy @Deploy -ErrorAction Stop
        $rowsBefore = (Get-TestDeployState -Service demo).RowCount
        $result = $deployed | Restore-ServiceDeploy @Restore -SkipDatabase -ErrorAction Stop
        $result.NewCommit | Should -Be $old
        $result.Steps.Name | Should -Not -Contain 'database'
        (Get-TestDeployState -Service demo).RowCount | Should -BeGreaterOrEqual $rowsBefore
    }

    It 'takes a history record, or a snapshot object, from the pipeline' {
        $old = (Get-TestDeployState -Service demo).Commit
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        Invoke-ServiceDeploy @Deploy -ErrorAction Stop | Out-Null
        $record = Get-ServiceDeployHistory -Service demo -HistoryPath $History -Status Succeeded -Last 1
        $record.Operation | Should -Be 'Deploy'
        ($record | Restore-ServiceDeploy @Restore -ErrorAction Stop).NewCommit | Should -Be $old
        $snapshot = Get-ServiceDbSnapshot demo @Demo | Select-Object -First 1
        $result = $snapshot | Restore-ServiceDeploy @Restore -Commit $old -DbPath $TestHost.services.demo.dbPath -ErrorAction Stop
        $result.SnapshotPath | Should -Be $snapshot.Path
        $result.Steps.Name | Should -Contain 'database'
        $result.Health.Healthy | Should -BeTrue
    }

    It 'changes nothing with -WhatIf' {
        $before = Get-TestDeployState -Service demo
        Restore-ServiceDeploy demo @Restore -WhatIf | Should -BeNullOrEmpty
        (Get-TestDeployState -Service demo).ActiveEnterTimestampMonotonic | Should -Be $before.ActiveEnterTimestampMonotonic
    }
}

Describe 'Ctrl+C in the middle of the build step' {
    It 'rolls the deploy back before stopping, releases the lock and records why' {
        $old = (Get-TestDeployState -Service demo).Commit
        $new = Publish-TestCommit -Service demo -Variant Good
        # Slow only for the new commit: the rollback builds the old one with the same command, at normal speed.
        $slow = $Deploy.Clone(); $slow.BuildCommand = "if [ `$(git rev-parse HEAD) = $new ]; then sleep 25; fi; bun run build"
        $ps = [powershell]::Create()
        [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).AddStatement()
        [void] $ps.AddCommand('Invoke-ServiceDeploy').AddParameters($slow)
        $handle = $ps.BeginInvoke()
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Invoke-TestHostRoot "pgrep -u demo -f '^sleep 25' || true") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Invoke-TestHostRoot "pgrep -u demo -f '^sleep 25' || true" | Should -Not -BeNullOrEmpty -Because 'the build step must be running when the deploy is stopped'
            (Invoke-TestHostRoot 'runuser -u demo -- git -C /var/lib/demo/app rev-parse HEAD')[-1] | Should -Not -Be $old -Because 'the code has moved'

            $stopping = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()   # what Ctrl+C does: returns once the cmdlet has let go
            $stopping.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Write-Host "Stop() returned after $($stopping.ElapsedMilliseconds) ms"
            $stopping.Elapsed.TotalSeconds | Should -BeLessThan 20 -Because 'the build is killed at once; only the rollback (about 3 s) runs'
        }
        finally { $ps.Dispose() }

        $state = Get-TestDeployState -Service demo
        $state.Commit | Should -Be $old
        $state.Health | Should -Be 200
        Invoke-TestHostRoot "pgrep -u demo -f '^sleep 25' || true" | Should -BeNullOrEmpty
        Invoke-TestHostRoot 'test -e /var/lib/demo/.atelier/deploy-demo.lock && echo held || true' | Should -BeNullOrEmpty
        $record = Get-ServiceDeployHistory -Service demo @Demo -FromHost -Last 1
        $record.Status | Should -Be 'RolledBack'
        $record.FailedStep | Should -Be 'build'
        $record.Error | Should -Match '^Stopped during the build step'
        # The next deploy takes the lock at once.
        (Invoke-ServiceDeploy @Deploy -ErrorAction Stop).Status | Should -Be 'Succeeded'
    }
}

Describe 'A connection cut in the middle of the install step' {
    It 'is opened again: what the step left running is stopped, the deploy rolls back by itself and releases its lock' {
        $old = (Get-TestDeployState -Service demo).Commit
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        $slow = $Deploy.Clone(); $slow.InstallCommand = 'if [ -e /tmp/atelier-slow-install ]; then sleep 8; fi; bun install --frozen-lockfile'
        Invoke-TestHostRoot 'touch /tmp/atelier-slow-install' | Out-Null
        $ps = [powershell]::Create()
        [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).Invoke()
        $ps.Commands.Clear()
        [void] $ps.AddCommand('Invoke-ServiceDeploy').AddParameters($slow).AddParameter('ErrorAction', 'SilentlyContinue').AddParameter('WarningAction', 'SilentlyContinue')
        $handle = $ps.BeginInvoke()
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not (Invoke-TestHostRoot "pgrep -u demo -f '^sleep 8' || true") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Invoke-TestHostRoot "pgrep -u demo -f '^sleep 8' || true" | Should -Not -BeNullOrEmpty -Because 'the install step must be running when the connection is cut'
        # Kill the SSH session itself (sshd's per-connection processes for demo): the connection is gone mid-step.
        Invoke-TestHostRoot "rm -f /tmp/atelier-slow-install; pkill -KILL -u demo -f '^sshd: demo' || true" | Out-Null
        $result = $ps.EndInvoke($handle) | Select-Object -Last 1
        $ps.Dispose()
        $result.Status | Should -Be 'RolledBack'
        $result.FailedStep | Should -Be 'install'
        $result.Error | Should -Match 'The install step failed: the connection to .* was lost during the step \(what it left running was stopped\)'
        Invoke-TestHostRoot "pgrep -u demo -f '^sleep 8' || true" | Should -BeNullOrEmpty -Because 'the install the lost connection left running was stopped'
        Invoke-TestHostRoot 'test -e /var/lib/demo/.atelier/deploy-demo.lock && echo held || true' | Should -BeNullOrEmpty
        $state = Get-TestDeployState -Service demo
        $state.Commit | Should -Be $old
        $state.Health | Should -Be 200
        Reset-TestOrigin -Service demo -To $old
    }
}

Describe 'An exact commit or tag (-Commit)' {
    BeforeAll {
        function Invoke-AsDemo([string] $Command) { @(Invoke-TestHostRoot "runuser -u demo -- sh -c '$Command'")[-1] }
    }
    AfterEach { Reset-TestOrigin -Service demo -To (Get-TestDeployState -Service demo).Commit }

    It 'deploys exactly that commit while the branch has moved past it, then says Unchanged for it' {
        $wanted = Publish-TestCommit -Service demo -Variant Good
        $later = Publish-TestCommit -Service demo -Variant Good
        $result = Invoke-ServiceDeploy @Deploy -Commit $wanted.Substring(0, 10) -ErrorAction Stop
        $result.Status | Should -Be 'Succeeded'
        $result.NewCommit | Should -Be $wanted
        $result.RequestedCommit | Should -Be $wanted.Substring(0, 10)
        (Get-TestDeployState -Service demo).OriginMain | Should -Be $later -Because 'origin has moved past it'
        (Wait-TestHealth -Commit $wanted).Code | Should -Be 200
        (Get-TestHostRecord).requestedCommit | Should -Be $wanted.Substring(0, 10)
        (Invoke-ServiceDeploy @Deploy -Commit $wanted -ErrorAction Stop).Status | Should -Be 'Unchanged'
    }

    It 'deploys a tag' {
        $tagged = Publish-TestCommit -Service demo -Variant Good
        Invoke-AsDemo "git -C /srv/git/demo.git tag -f atelier-test-tag $tagged" | Out-Null
        $result = Invoke-ServiceDeploy @Deploy -Commit atelier-test-tag -ErrorAction Stop
        $result.NewCommit | Should -Be $tagged
        $result.RequestedCommit | Should -Be 'atelier-test-tag'
    }

    It 'refuses a commit that is not on the branch unless -Force, and one origin does not have' {
        $main = (Get-TestDeployState -Service demo).OriginMain
        Invoke-AsDemo 'rm -rf /tmp/side && git clone -q /srv/git/demo.git /tmp/side && cd /tmp/side && git checkout -q -b side && echo side >> CHANGES.txt && git -c user.name=t -c user.email=t@example.org commit -qam side && git push -q -f origin side' | Out-Null
        $side = Invoke-AsDemo 'git -C /srv/git/demo.git rev-parse side'
        $refused = Invoke-ServiceDeploy @Deploy -Commit $side -ErrorAction SilentlyContinue
        $refused.Status | Should -Be 'Failed'
        $refused.Error | Should -Match "is not on origin/main\. Give -Force"
        (Get-TestDeployState -Service demo).Commit | Should -Not -Be $side
        $forced = Invoke-ServiceDeploy @Deploy -Commit $side -Force -ErrorAction Stop
        $forced.NewCommit | Should -Be $side
        $unknown = Invoke-ServiceDeploy @Deploy -Commit 0123456789abcdef0123456789abcdef01234567 -ErrorAction SilentlyContinue
        $unknown.Status | Should -Be 'Failed'
        $unknown.FailedStep | Should -Be 'fetch'
        $unknown.Error | Should -Match 'origin has no commit or tag 0123456789abcdef'
        Invoke-AsDemo 'git -C /srv/git/demo.git branch -D side; rm -rf /tmp/side' | Out-Null
        Reset-TestOrigin -Service demo -To $main
        Invoke-ServiceDeploy @Deploy -ErrorAction Stop | Out-Null
    }
}

Describe 'A -HistoryPath that is not a deploy history database' {
    BeforeAll {
        $script:Notes = "my notes, not a database`n"
        function New-NotesFile([string] $Name) {
            $path = Join-Path $TestDrive $Name
            Set-Content $path $Notes -NoNewline
            $path
        }
    }
    BeforeEach { $script:Old = (Get-TestDeployState -Service demo).Commit }
    AfterEach { Reset-TestOrigin -Service demo -To $Old }

    It '<Command><Label> refuses it before anything runs (no connection, nothing deployed) and leaves it unchanged' -ForEach @(
        @{ Command = 'Invoke-ServiceDeploy'; Label = ''; Extra = @{} }
        @{ Command = 'Invoke-ServiceDeploy'; Label = ' -WhatIf'; Extra = @{ WhatIf = $true } }
        @{ Command = 'Restore-ServiceDeploy'; Label = ''; Extra = @{ Confirm = $false } }
    ) {
        # A commit a deploy would put live, if it ran.
        Publish-TestCommit -Service demo -Variant Good | Out-Null
        $text = New-NotesFile 'notes.txt'
        $run = $Deploy.Clone()
        $run.HistoryPath = $text
        $run += $Extra
        $before = Get-TestDeployState -Service demo
        $hostRecords = @(Invoke-TestHostRoot 'cat /var/lib/demo/.atelier/deploys.jsonl').Count
        $logins = Get-TestHostLoginCount

        $err = { & $Command @run -ErrorAction Stop } | Should -Throw -ErrorId "HistoryPathInvalid,Atelier.Commands.$($Command -replace '-')Command" -PassThru

        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -Match ([regex]::Escape($text))
        $err.Exception.Message | Should -Match 'not a SQLite database'
        Get-Content $text -Raw | Should -Be $Notes
        Get-TestHostLoginCount | Should -Be $logins -Because 'it is refused before connecting'
        (Get-TestDeployState -Service demo).Commit | Should -Be $before.Commit
        @(Invoke-TestHostRoot 'cat /var/lib/demo/.atelier/deploys.jsonl').Count | Should -Be $hostRecords
    }

    It 'Get-ServiceDeployHistory refuses a text file and another program''s SQLite database, and leaves them unchanged' {
        $text = New-NotesFile 'read-notes.txt'
        $other = Join-Path $TestDrive 'other-app.db'
        & sqlite3 $other "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users(name) VALUES ('ada');"
        $otherHash = (Get-FileHash $other).Hash
        foreach ($path in $text, $other) {
            $err = $null
            Get-ServiceDeployHistory -Service demo -HistoryPath $path -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'HistoryPathInvalid,Atelier.Commands.GetServiceDeployHistoryCommand'
            $err[0].Exception.Message | Should -Match ([regex]::Escape($path))
        }
        Get-Content $text -Raw | Should -Be $Notes
        (Get-FileHash $other).Hash | Should -Be $otherHash
        & sqlite3 $other '.tables' | Should -Be 'users'
    }

    It 'a deploy takes an empty file as a new history and makes it 0600 (SQLite gives its -wal and -shm the same mode)' {
        $empty = Join-Path $TestDrive 'empty-history.db'
        New-Item -ItemType File $empty | Out-Null
        [IO.File]::SetUnixFileMode($empty, [IO.UnixFileMode]'UserRead, UserWrite, GroupRead, OtherRead')
        $run = $Deploy.Clone()
        $run.HistoryPath = $empty
        $result = Invoke-ServiceDeploy @run -ErrorAction Stop
        $result.Status | Should -BeIn 'Succeeded', 'Unchanged'
        $record = Get-ServiceDeployHistory -Service demo -HistoryPath $empty -ErrorAction Stop
        $record | Should -HaveCount 1
        $record.Status | Should -Be $result.Status
        $record.NewCommit | Should -Be $result.NewCommit
        foreach ($file in Get-ChildItem -Force $TestDrive -Filter 'empty-history.db*') {
            [IO.File]::GetUnixFileMode($file.FullName) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') -Because "$($file.Name) holds the history"
        }
    }
}

Describe 'Get-ServiceDeployHistory' {
    It 'reads this machine''s history newest first, filtered by status and count' {
        $all = Get-ServiceDeployHistory -Service demo -HistoryPath $History -ErrorAction Stop
        $all.Count | Should -BeGreaterOrEqual 7
        for ($i = 1; $i -lt $all.Count; $i++) { $all[$i - 1].StartedAt | Should -BeGreaterOrEqual $all[$i].StartedAt }
        $rolledBack = Get-ServiceDeployHistory -Service demo -HistoryPath $History -Status RolledBack
        $rolledBack.Count | Should -BeGreaterOrEqual 4
        $rolledBack.Status | Select-Object -Unique | Should -Be 'RolledBack'
        @(Get-ServiceDeployHistory -HistoryPath $History -Last 2).Count | Should -Be 2
    }

    It 'reads the same deploys from the host, where any admin machine sees them' {
        # A deploy whose connection was cut could only be recorded here.
        $local = Get-ServiceDeployHistory -Service demo -HistoryPath $History | Where-Object Status -In 'Succeeded', 'Unchanged', 'RolledBack'
        $fromHost = Get-ServiceDeployHistory -Service demo @Demo -FromHost -ErrorAction Stop
        foreach ($id in $local.Id) { $fromHost.Id | Should -Contain $id }
        ($fromHost | Where-Object Id -EQ $local[0].Id).Status | Should -Be $local[0].Status
    }

    It 'creates nothing when it reads: a -HistoryPath that does not exist is HistoryNotFound; no default history yet is no records' {
        $missing = Join-Path $TestDrive 'nope/history.db'
        $records = Get-ServiceDeployHistory -HistoryPath $missing -ErrorVariable failed -ErrorAction SilentlyContinue
        $records | Should -BeNullOrEmpty
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -Be 'HistoryNotFound,Atelier.Commands.GetServiceDeployHistoryCommand'
        $failed[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failed[0].Exception.Message | Should -Match ([regex]::Escape($missing))
        Join-Path $TestDrive 'nope' | Should -Not -Exist

        # The default path ($XDG_STATE_HOME/atelier/history.db), in a folder without a settings file.
        $saved = $env:XDG_STATE_HOME, $env:XDG_CONFIG_HOME
        $env:XDG_STATE_HOME = Join-Path $TestDrive 'state'
        $env:XDG_CONFIG_HOME = Join-Path $TestDrive 'config'
        Push-Location (New-Item -ItemType Directory (Join-Path $TestDrive 'plain'))
        try {
            Get-ServiceDeployHistory -ErrorAction Stop | Should -BeNullOrEmpty
            Join-Path $TestDrive 'state' | Should -Not -Exist
        }
        finally {
            Pop-Location
            $env:XDG_STATE_HOME, $env:XDG_CONFIG_HOME = $saved
        }
    }

    It 'shows records as a table' {
        $PSStyle.OutputRendering = 'PlainText'
        Get-ServiceDeployHistory -HistoryPath $History -Last 3 | Format-Table | Out-String -Width 250 |
            Should -Match 'Started \(UTC\)\s+Service\s+Host\s+Operation\s+Status\s+Previous\s+New\s+Duration\s+By'
    }
}
