# Many services at once: Invoke-ServiceDeploy (and Restore-ServiceDeploy) with four services on two real test hosts,
# side by side (the main one, 'pa-a', and an extra one booted here, 'pa-b'), two services each. Each host is an alias
# in an ssh_config file that Atelier reads as ~/.ssh/config, so each keeps its own port and key; each service is
# reached as its own user. Commits are published by DeployFixtures.psm1 on the host Use-TestHost points it at.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $script:A = Get-TestHost
    $script:B = Start-ExtraTestHost -Name 'pa2'
    $script:Hosts = [ordered]@{ 'pa-a' = $A; 'pa-b' = $B }
    $script:MainState = $env:ATELIER_TESTHOST

    # A home whose .ssh/config names both hosts (no User: each service is reached as its own user).
    $script:SavedHome = $env:HOME
    $script:SshHome = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-parallel-home-$([guid]::NewGuid())")
    New-Item -ItemType Directory (Join-Path $SshHome '.ssh') | Out-Null
    Set-Content (Join-Path $SshHome '.ssh/config') @(foreach ($alias in $Hosts.Keys) {
            $h = $Hosts[$alias]
            "Host $alias", "    HostName $($h.host)", "    Port $($h.sshPort)", "    IdentityFile $($h.identityFile)", "    UserKnownHostsFile $($h.knownHosts)", ''
        })
    $env:HOME = $SshHome.FullName
    $script:History = Join-Path $SshHome 'history.db'

    function Use-TestHost([string] $Alias, [scriptblock] $Script) {
        # Runs the fixtures (Publish-TestCommit, Get-TestDeployState, ...) against one host.
        $env:ATELIER_TESTHOST = Join-Path $Hosts[$Alias].stateDir 'testhost.json'
        try { & $Script } finally { $env:ATELIER_TESTHOST = $MainState }
    }

    function Get-Logins([string] $Alias, [string] $User) {
        # How many logins as $User the host's sshd has accepted.
        [int](Invoke-TestHostRoot "journalctl -u ssh.service --no-pager -o cat | grep -c 'Accepted [a-z]* for $User ' || true" -Host $Hosts[$Alias] | Select-Object -Last 1)
    }

    # The four services, in this order, as piped objects: their own health URL and database on their own host.
    $script:Names = foreach ($alias in $Hosts.Keys) { foreach ($name in 'demo', 'notes') { "$name@$alias" } }
    function Get-Services([hashtable] $BuildCommands = @{}) {
        foreach ($alias in $Hosts.Keys) {
            foreach ($name in 'demo', 'notes') {
                [pscustomobject]@{
                    Name = $name; ComputerName = $alias; HealthUrl = $Hosts[$alias].services.$name.healthUrl; DbPath = $Hosts[$alias].services.$name.dbPath
                    BuildCommand = $BuildCommands["$name@$alias"] ?? 'bun run build'
                }
            }
        }
    }

    function Get-Deployed {
        # Each service's deployed commit, by "name@alias".
        $deployed = [ordered]@{}
        foreach ($alias in $Hosts.Keys) { foreach ($name in 'demo', 'notes') { $deployed["$name@$alias"] = Use-TestHost $alias { (Get-TestDeployState -Service $name).Commit } } }
        $deployed
    }

    function Publish-Commits([hashtable] $Variants = @{}) {
        # One commit per service (Good unless $Variants says otherwise); returns the new ids by "name@alias".
        $new = @{}
        foreach ($alias in $Hosts.Keys) {
            foreach ($name in 'demo', 'notes') { $new["$name@$alias"] = Use-TestHost $alias { Publish-TestCommit -Service $name -Variant ($Variants["$name@$alias"] ?? 'Good') } }
        }
        $new
    }

    function Invoke-ChildPwsh([string] $Script, [hashtable] $Environment = @{}) {
        # A separate pwsh -Command, as a CI step runs one; returns its lines and exit code.
        $saved = @{}
        foreach ($key in $Environment.Keys) { $saved[$key] = [Environment]::GetEnvironmentVariable($key); [Environment]::SetEnvironmentVariable($key, $Environment[$key]) }
        try {
            $lines = @(& dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $Script 2>&1 | ForEach-Object { "$_" } | ForEach-Object { $_ -split '\r?\n' })
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Lines = $lines; Text = $lines -join "`n" }
        }
        finally { foreach ($key in $saved.Keys) { [Environment]::SetEnvironmentVariable($key, $saved[$key]) } }
    }

    $script:Common = @{ HistoryPath = $History; HealthTimeout = 6 }
    $script:Original = Get-Deployed
}

AfterAll {
    foreach ($alias in $Hosts.Keys) {
        foreach ($name in 'demo', 'notes') { Use-TestHost $alias { Reset-TestOrigin -Service $name -To (Get-TestDeployState -Service $name).Commit } }
    }
    $env:HOME = $SavedHome
    Remove-Item $SshHome -Recurse -Force -ErrorAction SilentlyContinue
    Stop-ExtraTestHost -Name 'pa2'
}

Describe 'Four services on two hosts' {
    BeforeEach { $script:Before = Get-Deployed }
    AfterEach {
        # Origin back to what each service runs, so the next case starts from Unchanged.
        foreach ($alias in $Hosts.Keys) {
            foreach ($name in 'demo', 'notes') { Use-TestHost $alias { Reset-TestOrigin -Service $name -To (Get-TestDeployState -Service $name).Commit } }
        }
    }

    It 'deploy at once: their builds overlap, each in its own work tree as its own user, one login per user and host, a progress record each' {
        $new = Publish-Commits
        # The build says where it ran, as whom, on which commit, and when (both hosts share this machine's clock). It
        # lasts long enough that the four overlap however long each one's fetch, snapshot and install took before it on a
        # busy machine.
        $build = 'start=$(date +%s%3N); sleep 6; bun run build >/dev/null 2>&1 || exit 1; echo "tree=$(pwd) user=$(id -un) head=$(git rev-parse HEAD) start=$start end=$(date +%s%3N)"'
        $logins = @{}; foreach ($n in $Names) { $svc, $alias = $n -split '@'; $logins[$n] = Get-Logins $alias $svc }

        $ps = [powershell]::Create()
        try {
            [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).Invoke()
            $ps.Commands.Clear()
            [void] $ps.AddCommand('Invoke-ServiceDeploy').AddParameters($Common)
            $feed = [Management.Automation.PSDataCollection[psobject]]::new()
            foreach ($service in Get-Services @{ 'demo@pa-a' = $build; 'notes@pa-a' = $build; 'demo@pa-b' = $build; 'notes@pa-b' = $build }) { $feed.Add($service) }
            $feed.Complete()
            $stopwatch = [Diagnostics.Stopwatch]::StartNew()
            $results = @($ps.Invoke($feed))
            $stopwatch.Stop()
            $ps.Streams.Error | Should -BeNullOrEmpty
            $progress = @($ps.Streams.Progress)
        }
        finally { $ps.Dispose() }

        $results | Should -HaveCount 4
        $results | ForEach-Object { $_.Status | Should -Be 'Succeeded' -Because "$($_.Service) on $($_.ComputerName): $($_.Error)" }
        $windows = foreach ($r in $results) {
            $key = "$($r.Service)@$($r.ComputerName)"
            $line = ($r.Steps | Where-Object Name -EQ 'build').OutputTail -split "`n" | Where-Object { $_ -like 'tree=*' } | Select-Object -Last 1
            $line -match '^tree=(\S+) user=(\S+) head=(\S+) start=(\d+) end=(\d+)$' | Should -BeTrue -Because "$key's build says where it ran: $line"
            $Matches[1] | Should -Be "/var/lib/$($r.Service)/app" -Because "$key builds in its own work tree"
            $Matches[2] | Should -Be $r.Service
            $Matches[3] | Should -Be $new[$key] -Because "$key's work tree holds its own new commit"
            $r.NewCommit | Should -Be $new[$key]
            [pscustomobject]@{ Key = $key; Start = [long]$Matches[4]; End = [long]$Matches[5] }
            Use-TestHost $r.ComputerName { (Get-TestDeployState -Service $r.Service).Commit | Should -Be $new[$key] }
        }
        ($windows.Start | Measure-Object -Maximum).Maximum | Should -BeLessThan ($windows.End | Measure-Object -Minimum).Minimum -Because 'all four builds ran at the same time'
        $stopwatch.Elapsed.TotalSeconds | Should -BeLessThan (($results.Duration.TotalSeconds | Measure-Object -Sum).Sum * 0.6) -Because 'four deploys at once take about one deploy''s time'

        foreach ($n in $Names) { $svc, $alias = $n -split '@'; (Get-Logins $alias $svc) - $logins[$n] | Should -Be 1 -Because "${n}: one connection per user and host" }

        $run = @($progress | Where-Object ActivityId -EQ 1)
        $run | Should -Not -BeNullOrEmpty
        $run[0].Activity | Should -Be 'Deploy of 4 services'
        $run[-1].RecordType | Should -Be 'Completed'
        $children = $progress | Where-Object ParentActivityId -EQ 1
        @($children.ActivityId | Sort-Object -Unique) | Should -Be @(2, 3, 4, 5) -Because 'one record per service, in pipeline order'
        foreach ($i in 0..3) {
            $mine = @($children | Where-Object ActivityId -EQ (2 + $i))
            $svc, $alias = $Names[$i] -split '@'
            $mine[0].Activity | Should -Be "Deploy of $svc on $alias"
            $mine.StatusDescription | Should -Contain 'build' -Because 'each service''s record shows its current step'
            $mine[-1].RecordType | Should -Be 'Completed'
        }
    }

    It 'in a CI step (pwsh -Command, $ErrorActionPreference = ''Stop'', GitHub Actions): one failing service ends RolledBack, the other three succeed, the step fails naming it; a log group per service, one summary table' {
        $new = Publish-Commits @{ 'demo@pa-a' = 'BuildFails' }
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'ci')
        $files = @{ Summary = Join-Path $folder 'summary.md'; Outputs = Join-Path $folder 'outputs.txt'; Results = Join-Path $folder 'results.json' }
        $script = @'
$PSStyle.OutputRendering = 'PlainText'
$ErrorActionPreference = 'Stop'
Import-Module $env:ATELIER_MODULE
$common = $env:TEST_COMMON | ConvertFrom-Json -AsHashtable
try { $env:TEST_SERVICES | ConvertFrom-Json | Invoke-ServiceDeploy @common -OutVariable results | Out-Null }
finally { $results | Select-Object Service, ComputerName, Status, FailedStep | ConvertTo-Json | Set-Content $env:TEST_RESULTS }
'@
        $step = Invoke-ChildPwsh $script @{
            GITHUB_ACTIONS = 'true'; GITHUB_STEP_SUMMARY = $files.Summary; GITHUB_OUTPUT = $files.Outputs; TEST_RESULTS = $files.Results
            TEST_COMMON = ($Common | ConvertTo-Json -Compress); TEST_SERVICES = (@(Get-Services) | ConvertTo-Json -Compress)
        }

        $step.ExitCode | Should -Not -Be 0 -Because 'a service that did not succeed fails the CI step'
        $results = Get-Content -Raw $files.Results | ConvertFrom-Json
        $results | Should -HaveCount 4 -Because 'the error ends the command only once every deploy has finished'
        foreach ($r in $results) {
            $key = "$($r.Service)@$($r.ComputerName)"
            $r.Status | Should -Be ($key -eq 'demo@pa-a' ? 'RolledBack' : 'Succeeded') -Because $key
            Use-TestHost $r.ComputerName { (Get-TestDeployState -Service $r.Service).Commit | Should -Be ($key -eq 'demo@pa-a' ? $Before[$key] : $new[$key]) }
        }
        $step.Text | Should -Match 'The deploy of demo to pa-a failed and was rolled back at the build step'
        $step.Text | Should -Not -Match 'The deploy of (notes|demo) to pa-b|The deploy of notes to pa-a'

        # Each service's steps are one group, opened and closed before the next one opens.
        $groups = @($step.Lines | Where-Object { $_ -like '::group::*' })
        $groups | Should -HaveCount 4
        foreach ($n in $Names) { $svc, $alias = $n -split '@'; @($groups | Where-Object { $_ -like "::group::$svc on $alias*" }) | Should -HaveCount 1 }
        $open = $false
        foreach ($line in $step.Lines) {
            if ($line -like '::group::*') { $open | Should -BeFalse -Because 'no group opens inside another'; $open = $true }
            elseif ($line -eq '::endgroup::') { $open | Should -BeTrue; $open = $false }
        }
        @($step.Lines | Where-Object { $_ -like '::error *' }) | Should -HaveCount 1
        ($step.Lines | Where-Object { $_ -like '::error *' }) | Should -BeLike '::error title=Deploy of demo on pa-a RolledBack::build step failed*'

        $summary = Get-Content -Raw $files.Summary
        @($summary -split "`n" | Where-Object { $_ -like '| Service |*' }) | Should -HaveCount 1 -Because 'one table for all of them'
        $summary | Should -Match '3 of 4 service\(s\) succeeded'
        $summary | Should -Match '\| `demo` \| `pa-a` \| ↩️ RolledBack \|'
        @($summary -split "`n" | Where-Object { $_ -match '^\| `(demo|notes)` \|' }) | Should -HaveCount 4
        $outputs = Get-Content $files.Outputs
        $outputs | Should -Contain 'status=Failed'
        # demo and notes run on both hosts: each has its outputs per host, none overwriting another's.
        $outputs | Should -Contain 'demo_pa-a_status=RolledBack'
        foreach ($n in 'demo_pa-b', 'notes_pa-a', 'notes_pa-b') { $outputs | Should -Contain "$($n)_status=Succeeded" }
        $summary | Should -Match 'Why demo on pa\\-a ended RolledBack'
    }

    It 'with -StopOnFailure, one at a time: the services after the failing one are Skipped, each with its error record, and not touched' {
        Publish-Commits @{ 'demo@pa-a' = 'BuildFails' } | Out-Null
        $results = @(Get-Services | Invoke-ServiceDeploy @Common -ThrottleLimit 1 -StopOnFailure -ErrorVariable failed -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)

        $results.Status | Should -Be @('RolledBack', 'Skipped', 'Skipped', 'Skipped')
        $results[1].Error | Should -Be 'Not started: demo on pa-a did not succeed, and the run stops at the first failure. That is -StopOnFailure: without it, the others go on.'
        @($failed) | Should -HaveCount 4 -Because 'every service that did not succeed has its error record'
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'DeployRolledBack,*'
        $failed[1..3].FullyQualifiedErrorId | ForEach-Object { $_ | Should -BeLike 'DeploySkipped,*' }
        $failed[1..3].TargetObject.Service | Should -Be @('notes', 'demo', 'notes')
        "$($failed[3])" | Should -Match 'The deploy of notes to pa-b was skipped'
        (Get-Deployed).Values | Should -Be @($Before.Values) -Because 'nothing moved: the first rolled back, the others never started'
    }

    It 'Ctrl+C while all four build stops every deploy in flight, and puts each one back healthy' {
        $before = $Before
        $new = Publish-Commits
        $slow = @{}; foreach ($n in $Names) { $slow[$n] = "if [ `$(git rev-parse HEAD) != $($before[$n]) ]; then sleep 8; fi; bun run build" }
        $ps = [powershell]::Create()
        try {
            [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).Invoke()
            $ps.Commands.Clear()
            [void] $ps.AddCommand('Invoke-ServiceDeploy').AddParameters($Common)
            $feed = [Management.Automation.PSDataCollection[psobject]]::new()
            foreach ($service in Get-Services $slow) { $feed.Add($service) }
            $feed.Complete()
            $handle = $ps.BeginInvoke($feed)
            $deadline = [DateTime]::UtcNow.AddSeconds(90)
            do {
                Start-Sleep -Milliseconds 200
                $building = @(foreach ($n in $Names) { $svc, $alias = $n -split '@'; if (Invoke-TestHostRoot "pgrep -u $svc -f '^sleep 8' || true" -Host $Hosts[$alias]) { $n } })
            } while ($building.Count -lt 4 -and [DateTime]::UtcNow -lt $deadline)
            $building | Should -HaveCount 4 -Because 'all four must be in their build when stopped'

            $ps.Stop()   # what Ctrl+C does: returns once the cmdlet has let go
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose() }

        foreach ($n in $Names) {
            $svc, $alias = $n -split '@'
            Invoke-TestHostRoot "pgrep -u $svc -f '^sleep 8' || true" -Host $Hosts[$alias] | Should -BeNullOrEmpty
            Use-TestHost $alias {
                $record = Get-TestHostRecord -Service $svc
                $record.newCommit | Should -Be $new[$n]
                $record.status | Should -Be 'RolledBack' -Because "$n was put back"
                $record.failedStep | Should -Be 'build'
                $rowsUpTo = if ($record.snapshotPath) { Get-TestMaxRowId -Service $svc -Path $record.snapshotPath } else { 0 }
                Assert-ServiceBack -Service $svc -Commit $before[$n] -RowsUpTo $rowsUpTo -Because "$n was stopped in its build"
            }
        }
    }

    It 'Restore-ServiceDeploy takes the four results from the pipeline and puts them back at once, each with its snapshot' {
        $new = Publish-Commits
        $deployed = @(Get-Services | Invoke-ServiceDeploy @Common -ErrorAction Stop)
        $deployed.Status | Should -Be @('Succeeded', 'Succeeded', 'Succeeded', 'Succeeded')

        $restored = @($deployed | Restore-ServiceDeploy @Common -Confirm:$false -ErrorAction Stop)

        $restored | Should -HaveCount 4
        foreach ($r in $restored) {
            $key = "$($r.Service)@$($r.ComputerName)"
            $r.Operation | Should -Be 'Restore'
            $r.Status | Should -Be 'Succeeded' -Because "$key`: $($r.Error)"
            $r.NewCommit | Should -Be $Before[$key]
            $r.SnapshotPath | Should -Be ($deployed | Where-Object { "$($_.Service)@$($_.ComputerName)" -eq $key }).SnapshotPath
            Use-TestHost $r.ComputerName { (Get-TestDeployState -Service $r.Service).Commit | Should -Be $Before[$key] }
        }
        ($restored.StartedAt | Measure-Object -Maximum).Maximum | Should -BeLessThan (($restored | ForEach-Object { $_.StartedAt + $_.Duration }) | Measure-Object -Minimum).Minimum -Because 'the four restores ran at the same time'
    }

    It 'the settings file''s throttleLimit: 1 makes them go one at a time; -ThrottleLimit overrides it, and each result comes when its service finishes' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'throttle')
        Set-Content (Join-Path $folder 'atelier.yaml') "throttleLimit: 1`n"
        Push-Location $folder
        try {
            (Get-AtelierSetting -Name throttleLimit).Value | Should -Be 1
            $one = @(Get-Services | Invoke-ServiceDeploy @Common -Force -ErrorAction Stop)
            # The first service's build is the slowest: with all four at once, its result comes last.
            $slowFirst = @{ 'demo@pa-a' = 'sleep 3; bun run build' }
            $all = @(Get-Services $slowFirst | Invoke-ServiceDeploy @Common -Force -ThrottleLimit 4 -ErrorAction Stop)
        }
        finally { Pop-Location }

        $one.Status | Should -Be @('Succeeded', 'Succeeded', 'Succeeded', 'Succeeded')
        @($one | ForEach-Object { "$($_.Service)@$($_.ComputerName)" }) | Should -Be @($Names) -Because 'one at a time, in pipeline order'
        foreach ($i in 1..3) { $one[$i].StartedAt | Should -BeGreaterOrEqual ($one[$i - 1].StartedAt + $one[$i - 1].Duration) -Because 'throttleLimit: 1 runs one deploy at a time' }

        $all.Status | Should -Be @('Succeeded', 'Succeeded', 'Succeeded', 'Succeeded')
        "$($all[-1].Service)@$($all[-1].ComputerName)" | Should -Be 'demo@pa-a' -Because 'each result is written when its service finishes'
        ($all.StartedAt | Measure-Object -Maximum).Maximum | Should -BeLessThan (($all | ForEach-Object { $_.StartedAt + $_.Duration }) | Measure-Object -Minimum).Minimum -Because '-ThrottleLimit 4 runs all four at once'
    }

    It '-WhatIf lists each service''s plan, in pipeline order, and connects nowhere' {
        $logins = Get-TestHostLoginCount
        $step = Invoke-ChildPwsh '$PSStyle.OutputRendering = ''PlainText''; Import-Module $env:ATELIER_MODULE; $env:TEST_SERVICES | ConvertFrom-Json | Invoke-ServiceDeploy -WhatIf' @{ TEST_SERVICES = (@(Get-Services) | ConvertTo-Json -Compress) }
        $plans = @($step.Lines | Where-Object { $_ -match '^What if: .*Deploy (\w+) \(origin/main\) to (\S+):' } | ForEach-Object { if ($_ -match 'Deploy (\w+) \(origin/main\) to ([^:]+):') { "$($Matches[1])@$($Matches[2])" } })
        $plans | Should -Be @($Names)
        @($step.Lines | Where-Object { $_ -match 'restart: .*systemctl restart (demo|notes)\.service' }) | Should -HaveCount 4
        Get-TestHostLoginCount | Should -Be $logins
    }
}

Describe 'Two services as one SSH user on one host' {
    BeforeAll {
        # On pa-b: user 'pair' runs two units from one checkout (~/app, a clone of demo's origin), as a web and a worker.
        $script:PairPorts = @{ 'pair-web' = 29531; 'pair-worker' = 29532 }
        $units = foreach ($unit in $PairPorts.Keys) {
            "printf '[Unit]\nDescription=$unit\n[Service]\nType=exec\nUser=pair\nGroup=pair\nWorkingDirectory=/var/lib/pair/app\nExecStart=/usr/local/bin/bun run src/index.ts\nEnvironment=PORT=$($PairPorts[$unit]) DATABASE_PATH=/var/lib/pair/data/$unit.db NODE_ENV=production\nRestart=on-failure\nRestartSec=1\n' > /etc/systemd/system/$unit.service"
        }
        $s = '/run/current-system/sw/bin/systemctl'
        $sudo = ($PairPorts.Keys | ForEach-Object { "$s restart $_.service, $s stop $_.service, $s start $_.service, $s status $_.service" }) -join ', '
        Invoke-TestHostRoot -Host $B (@(
                'id pair >/dev/null 2>&1 || useradd --system --user-group --create-home --home-dir /var/lib/pair --shell /bin/bash pair'
                'install -d -m 0700 -o pair -g pair /var/lib/pair/.ssh /var/lib/pair/data'
                'cp /var/lib/demo/.ssh/authorized_keys /var/lib/pair/.ssh/ && chown pair: /var/lib/pair/.ssh/authorized_keys'
                'runuser -u pair -- git config --global --replace-all safe.directory /srv/git/demo.git'
                'test -d /var/lib/pair/app || runuser -u pair -- git clone -q /srv/git/demo.git /var/lib/pair/app'
                "echo 'pair ALL=(root) NOPASSWD: $sudo' > /etc/sudoers.d/pair && chmod 440 /etc/sudoers.d/pair"
            ) + $units + @('systemctl daemon-reload', 'systemctl start pair-web.service pair-worker.service') -join ' && ') | Out-Null
        $script:Pair = foreach ($unit in 'pair-web', 'pair-worker') {
            [pscustomobject]@{ Name = $unit; ComputerName = 'pa-b'; HealthUrl = "http://127.0.0.1:$($PairPorts[$unit])/health"; DbPath = "data/$unit.db"; BuildCommand = 'bun run build' }
        }
    }
    AfterAll { Invoke-TestHostRoot -Host $B 'systemctl stop pair-web.service pair-worker.service || true' | Out-Null }

    It 'use one login, and deploy one after the other (they share ~/app), each with its own lock and record' {
        $logins = Get-Logins 'pa-b' 'pair'
        $results = @($Pair | Invoke-ServiceDeploy @Common -User pair -Force -ErrorAction Stop)

        (Get-Logins 'pa-b' 'pair') - $logins | Should -Be 1 -Because 'services reached as the same user on the same host share one connection'
        $results.Status | Should -Be @('Succeeded', 'Succeeded')
        $results[1].StartedAt | Should -BeGreaterOrEqual ($results[0].StartedAt + $results[0].Duration) -Because 'the second waits for the first: one work tree'
        foreach ($unit in 'pair-web', 'pair-worker') {
            Invoke-TestHostRoot -Host $B "grep -c '\`"service\`":\`"$unit\`"' /var/lib/pair/.atelier/deploys.jsonl" | Select-Object -Last 1 | Should -BeGreaterThan 0
            (Invoke-WebRequest "http://127.0.0.1:$($PairPorts[$unit])/health" -SkipHttpErrorCheck -TimeoutSec 5).StatusCode | Should -Be 200
        }
        Invoke-TestHostRoot -Host $B 'ls /var/lib/pair/.atelier/ | grep -c "\.lock$" || true' | Select-Object -Last 1 | Should -Be '0'
    }
}
