# Get-ServiceLog against the real test host: lines the sample app writes into its unit's journal (GET /log?line=...),
# read back as objects by time window, count, pattern and priority; -Follow shows a new line within a second and
# leaves no journalctl behind when stopped (Ctrl+C, -Timeout); hostile lines print safely under GitHub Actions; a
# deploy's record gives its window; a user without the journal falls back to systemctl status, one with nothing is told
# what to grant.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $ProgressPreference = 'SilentlyContinue'
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    $script:Notes = Get-TestConnection -Service notes
    $script:DemoBase = $TestHost.services.demo.healthUrl -replace '/health$', ''
    $script:NotesBase = $TestHost.services.notes.healthUrl -replace '/health$', ''

    function Write-AppLine([string] $Line, [string] $Base = $DemoBase, [switch] $ToError) {
        # The sample app writes the line to its stdout (or stderr): the unit's journal.
        $uri = "$Base/log?line=$([uri]::EscapeDataString($Line))$(if ($ToError) { '&stream=err' })"
        (Invoke-RestMethod $uri -TimeoutSec 10).status | Should -Be 'ok'
    }

    function New-Marker { "m$([guid]::NewGuid().ToString('N').Substring(0, 12))" }

    function Wait-JournalLine([string] $Pattern, [string] $Service = 'demo') {
        # journald takes a moment to store a line: wait until root sees it.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (Invoke-TestHostRoot "journalctl -u $Service.service --no-pager -q -o cat --grep='$Pattern' || true") { return }
            Start-Sleep -Milliseconds 100
        }
        throw "the journal never showed '$Pattern'"
    }

    function Get-HostJournalctl([string] $User = 'demo') {
        Invoke-TestHostRoot "pgrep -u $User -a -x journalctl || true"
    }
}

Describe 'Get-ServiceLog reads the unit''s journal' {
    BeforeAll {
        $script:Marker = New-Marker
        1..5 | ForEach-Object { Write-AppLine "$Marker line $_" }
        Wait-JournalLine "$Marker line 5"
    }

    It 'returns typed lines with time, priority, identifier, PID, message and the invocation id' {
        $lines = @(Get-ServiceLog demo @Demo -Grep $Marker -ErrorAction Stop)
        $lines | Should -HaveCount 5
        $lines[0].GetType().FullName | Should -Be 'Atelier.Logs.ServiceLogEntry'
        $lines.Message | Should -Be (1..5 | ForEach-Object { "$Marker line $_" })
        $lines[0].Service | Should -Be 'demo'
        $lines[0].Priority | Should -Be 'Info'
        $lines[0].Identifier | Should -Be 'bun'
        $lines[0].ProcessId | Should -Be ([int](Invoke-TestHostRoot 'systemctl show demo.service -p MainPID --value'))
        $lines[0].InvocationId | Should -Be (Invoke-TestHostRoot 'systemctl show demo.service -p InvocationID --value')
        $lines[0].Source | Should -Be 'journal'
        ([DateTimeOffset]::UtcNow - $lines[-1].Time).TotalMinutes | Should -BeLessThan 5
        $lines[0].Time | Should -BeLessOrEqual $lines[-1].Time
    }

    It '-Last N gives the newest N lines, oldest first (with and without -Grep)' {
        (Get-ServiceLog demo @Demo -Grep $Marker -Last 2 -ErrorAction Stop).Message | Should -Be "$Marker line 4", "$Marker line 5"
        $last = @(Get-ServiceLog demo @Demo -Last 3 -ErrorAction Stop)
        $last | Should -HaveCount 3
        $last[-1].Message | Should -Be "$Marker line 5"
    }

    It '-Grep filters by regular expression; a pattern that matches nothing gives nothing and no error' {
        (Get-ServiceLog demo @Demo -Grep "$Marker line [24]" -ErrorAction Stop).Message | Should -Be "$Marker line 2", "$Marker line 4"
        # journalctl's smart case: a lowercase pattern matches any case.
        (Get-ServiceLog demo @Demo -Grep "$($Marker.ToUpperInvariant()) LINE 3" -ErrorAction Stop) | Should -BeNullOrEmpty
        (Get-ServiceLog demo @Demo -Grep "$Marker LINE 3".ToLowerInvariant() -ErrorAction Stop).Message | Should -Be "$Marker line 3"
        $none = @(Get-ServiceLog demo @Demo -Grep 'no-such-line-anywhere-xyz' -ErrorVariable failed -ErrorAction SilentlyContinue)
        $none | Should -BeNullOrEmpty
        $failed | Should -BeNullOrEmpty
    }

    It 'an invalid pattern is the host''s error (JournalReadFailed), naming it' {
        Get-ServiceLog demo @Demo -Grep '(' -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -Match '^JournalReadFailed'
        $failed[0].Exception.Message | Should -Match 'pattern'
    }

    It '-Since and -Until (DateTime and relative) cut the window right' {
        $marker = New-Marker
        Write-AppLine "$marker before"
        Wait-JournalLine "$marker before"
        Start-Sleep -Milliseconds 1200
        $between = Get-Date
        Start-Sleep -Milliseconds 300
        Write-AppLine "$marker after"
        Wait-JournalLine "$marker after"

        (Get-ServiceLog demo @Demo -Grep $marker -Since $between -ErrorAction Stop).Message | Should -Be "$marker after"
        (Get-ServiceLog demo @Demo -Grep $marker -Until $between -ErrorAction Stop).Message | Should -Be "$marker before"
        (Get-ServiceLog demo @Demo -Grep $marker -Since ([DateTimeOffset]$between).ToUniversalTime() -ErrorAction Stop).Message | Should -Be "$marker after"
        (Get-ServiceLog demo @Demo -Grep $marker -Since '-1 min' -ErrorAction Stop).Message | Should -Be "$marker before", "$marker after"
        (Get-ServiceLog demo @Demo -Grep $marker -Since '1 min ago' -Until '-1s' -ErrorAction Stop) | Should -Not -BeNullOrEmpty
        (Get-ServiceLog demo @Demo -Grep $marker -Until '-10min' -ErrorAction Stop) | Should -BeNullOrEmpty
        (Get-ServiceLog demo @Demo -Grep $marker -Since $between.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ') -ErrorAction Stop).Message | Should -Be "$marker after"
        # The newest of a window, not its first: -Last with -Since.
        (Get-ServiceLog demo @Demo -Grep $marker -Since '-1 min' -Last 1 -ErrorAction Stop).Message | Should -Be "$marker after"
    }

    It 'refuses a -Since that is no time before connecting' {
        $before = Get-TestHostLoginCount
        { Get-ServiceLog demo @Demo -Since '-1h; touch /tmp/x' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Get-ServiceLog demo @Demo -Since 'last tuesday' -ErrorAction Stop } | Should -Throw '*relative time*'
        (Get-TestHostLoginCount) - $before | Should -Be 0
    }

    It '-Priority keeps that priority and the more severe ones' {
        $marker = New-Marker
        Write-AppLine "<3>$marker error"        # journald reads a <N> prefix as the priority (SyslogLevelPrefix)
        Write-AppLine "<4>$marker warning"
        Write-AppLine "$marker info"
        Wait-JournalLine "$marker info"
        $error3 = @(Get-ServiceLog demo @Demo -Grep $marker -Priority Error -ErrorAction Stop)
        $error3.Message | Should -Be "$marker error"
        $error3[0].Priority | Should -Be 'Error'
        (Get-ServiceLog demo @Demo -Grep $marker -Priority Warning -ErrorAction Stop).Message | Should -Be "$marker error", "$marker warning"
        (Get-ServiceLog demo @Demo -Grep $marker -Priority Info -ErrorAction Stop) | Should -HaveCount 3
    }

    It 'shows the table view with time, priority and message' {
        $table = Get-ServiceLog demo @Demo -Grep "$Marker line 1" -ErrorAction Stop | Format-Table | Out-String -Width 200
        $table | Should -Match 'Time \(UTC\)\s+Priority\s+Message'
        $table | Should -Match "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} Info\s+$Marker line 1"
    }
}

Describe 'Get-ServiceLog -Follow' {
    It 'shows a line the app writes after the call began within a second; Ctrl+C leaves no journalctl on the host' {
        $marker = New-Marker
        $ps = [powershell]::Create()
        [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).Invoke()
        $ps.Commands.Clear()
        [void] $ps.AddCommand('Get-ServiceLog').AddParameters(@{ Service = 'demo'; Follow = $true; Grep = $marker } + $Demo)
        $output = [Management.Automation.PSDataCollection[psobject]]::new()
        $seen = [Collections.Concurrent.ConcurrentQueue[object]]::new()
        $output.add_DataAdded({ param($sender, $e) $seen.Enqueue([pscustomobject]@{ At = [DateTime]::UtcNow; Item = $sender[$e.Index] }) }.GetNewClosure())
        $noInput = [Management.Automation.PSDataCollection[psobject]]::new()
        $noInput.Complete()   # no pipeline input: an open input collection would keep the cmdlet waiting for it
        $handle = $ps.BeginInvoke($noInput, $output)
        try {
            # journalctl runs (as demo) once the follow has started.
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while (-not (Get-HostJournalctl) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Get-HostJournalctl | Should -Match 'journalctl .*--follow'
            Start-Sleep -Milliseconds 500
            $sent = [DateTime]::UtcNow
            Write-AppLine "$marker followed"
            $deadline = [DateTime]::UtcNow.AddSeconds(5)
            while ($seen.Count -eq 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
            $seen.Count | Should -Be 1 -Because 'the line reaches -Follow'
            $first = $null; [void] $seen.TryPeek([ref] $first)
            $first.Item.Message | Should -Be "$marker followed"
            $latency = ($first.At - $sent).TotalMilliseconds
            Write-Host "-Follow showed the line $([int]$latency) ms after the app wrote it"
            $latency | Should -BeLessThan 1000

            $ps.Stop()   # what Ctrl+C does
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Get-HostJournalctl | Should -BeNullOrEmpty -Because 'the stop kills journalctl with its process group'
        }
        finally { $ps.Dispose() }
    }

    It '-Timeout ends the follow with the lines so far and no error, leaving no journalctl' {
        $marker = New-Marker
        Write-AppLine "$marker old"
        Wait-JournalLine "$marker old"
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $lines = @(Get-ServiceLog demo @Demo -Follow -Timeout 2 -Grep $marker -Last 5 -ErrorVariable failed -ErrorAction SilentlyContinue)
        $watch.Stop()
        $failed | Should -BeNullOrEmpty
        $lines.Message | Should -Be "$marker old"
        $watch.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 2
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
        Get-HostJournalctl | Should -BeNullOrEmpty
    }

    It 'follows several services at once' {
        $marker = New-Marker
        # Each app writes a marked line every second (a busy machine may take a while to start both follows); the follow
        # must show lines of both while it runs.
        $job = Start-ThreadJob {
            foreach ($i in 1..14) {
                Start-Sleep -Seconds 1
                foreach ($base in $using:DemoBase, $using:NotesBase) { Invoke-RestMethod "$base/log?line=$($using:marker)-both-$i" | Out-Null }
            }
        }
        $lines = @(Get-ServiceLog demo, notes @Demo -Follow -Timeout 12 -Grep $marker -ErrorAction Stop)
        $job | Stop-Job -PassThru | Remove-Job
        ($lines.Service | Sort-Object -Unique) | Should -Be 'demo', 'notes'
        Get-HostJournalctl -User notes | Should -BeNullOrEmpty
    }

    It 'refuses -Follow with -Until' {
        Get-ServiceLog demo @Demo -Follow -Until now -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -Match '^InvalidArgument'
    }
}

Describe 'Get-ServiceLog prints host text safely' {
    It 'a line with ANSI escapes and ::error:: shows cleaned, and acts as no workflow command under GITHUB_ACTIONS' {
        $marker = New-Marker
        Write-AppLine "`e[31m::error::$marker pwned`e[0m"
        Write-AppLine "::set-output name=x::$marker `e]8;;http://evil`a link`e]8;;`a `e[2J"
        Write-AppLine "$marker API_TOKEN=hunter2secret ##[error]v1"
        Wait-JournalLine "$marker API_TOKEN"
        $script = @'
param($module, $connection, $marker)
$env:GITHUB_ACTIONS = 'true'
Import-Module $module
$c = $connection | ConvertFrom-Json -AsHashtable
$lines = Get-ServiceLog demo @c -Grep $marker
$lines | Format-Table -Wrap | Out-String -Width 300
$lines | Format-List | Out-String -Width 300
$lines.Message
'@
        $file = Join-Path $TestDrive 'print.ps1'
        Set-Content $file $script
        $printed = & dotnet pwsh -NoProfile -NonInteractive -File $file $env:ATELIER_MODULE ($Demo | ConvertTo-Json -Compress) $marker 2>&1
        $text = $printed -join "`n"
        $text | Should -Match ([regex]::Escape("\::error::$marker pwned"))
        $text | Should -Match ([regex]::Escape("\::set-output name=x::$marker"))
        $text | Should -Not -Match "`e" -Because 'no terminal escape reaches the output'
        $text | Should -Not -Match "`a"
        $text | Should -Not -Match 'hunter2secret'
        $text | Should -Not -Match '##\[error\]'
        foreach ($line in $printed) {
            "$line" | Should -Not -Match '^\s*::' -Because 'a line starting with :: would be a workflow command'
        }
    }
}

Describe 'Get-ServiceLog with a deploy''s window' {
    It 'Get-ServiceDeployHistory -Last 1 | Get-ServiceLog shows the lines of that deploy, and only those' {
        $history = Join-Path $TestDrive 'history.db'
        $original = (Get-TestDeployState -Service demo).Commit
        $marker = New-Marker
        Write-AppLine "$marker before the deploy"
        Wait-JournalLine "$marker before the deploy"
        Start-Sleep -Milliseconds 1200
        $new = Publish-TestCommit -Service demo -Variant Good
        try {
            $result = Invoke-ServiceDeploy demo @Demo -HealthUrl $TestHost.services.demo.healthUrl -DbPath data/demo.db -BuildCommand 'bun run build' -HistoryPath $history -HealthTimeout 15 -Confirm:$false -ErrorAction Stop
            $result.Status | Should -Be 'Succeeded'
            Start-Sleep -Milliseconds 1200
            Write-AppLine "$marker after the deploy"
            Wait-JournalLine "$marker after the deploy"

            $record = Get-ServiceDeployHistory demo -HistoryPath $history -Last 1
            $lines = @($record | Get-ServiceLog @Demo -ErrorAction Stop)
            $lines.Message | Should -Contain "sample-app listening on http://127.0.0.1:$($TestHost.services.demo.port) db=/var/lib/demo/data/demo.db commit=$new"
            $lines.Message -match $marker | Should -BeNullOrEmpty -Because 'lines before and after the deploy are outside its window'
            $lines | ForEach-Object { $_.Time | Should -BeGreaterOrEqual $record.StartedAt; $_.Time | Should -BeLessOrEqual $record.FinishedAt }

            # The deploy's own result binds the same way.
            ($result | Get-ServiceLog @Demo -ErrorAction Stop).Message | Should -Contain "sample-app listening on http://127.0.0.1:$($TestHost.services.demo.port) db=/var/lib/demo/data/demo.db commit=$new"
        }
        finally {
            Reset-TestOrigin -Service demo -To $original
            Invoke-ServiceDeploy demo @Demo -HealthUrl $TestHost.services.demo.healthUrl -DbPath data/demo.db -BuildCommand 'bun run build' -HistoryPath $history -HealthTimeout 15 -Commit $original -Confirm:$false -ErrorAction SilentlyContinue | Out-Null
        }
    }
}

Describe 'Get-ServiceLog for a user who may not read the journal' {
    AfterEach {
        Invoke-TestHostRoot 'usermod -aG systemd-journal notes; test -e /root/notes.sudoers && mv /root/notes.sudoers /etc/sudoers.d/notes; true' | Out-Null
    }

    It 'falls back to systemctl status through the sudo rule, and says so' {
        $marker = New-Marker
        Write-AppLine "$marker status line" -Base $NotesBase
        Wait-JournalLine "$marker status line" -Service notes
        Invoke-TestHostRoot 'gpasswd -d notes systemd-journal' | Out-Null
        $lines = @(Get-ServiceLog notes @Notes -Grep $marker -WarningVariable warned -WarningAction SilentlyContinue -ErrorAction Stop)
        $lines | Should -HaveCount 1
        $lines[0].Source | Should -Be 'systemctl status'
        $lines[0].Message | Should -Match "$marker status line$"
        "$warned" | Should -Match 'may not read the system journal'
        "$warned" | Should -Match 'systemd-journal'
        "$warned" | Should -Match '-Since, -Until and -Priority do not apply to those lines' -Because 'the cmdlet''s reporter adds the warning''s hint'
    }

    It 'a user who may read neither gets JournalAccessDenied saying what to grant' {
        Invoke-TestHostRoot 'gpasswd -d notes systemd-journal; mv /etc/sudoers.d/notes /root/notes.sudoers' | Out-Null
        Get-ServiceLog notes @Notes -Last 1 -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -Match '^JournalAccessDenied'
        $failed[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $failed[0].Exception.Message | Should -Match 'extraGroups = \[ "systemd-journal" \]'
        $failed[0].Exception.Message | Should -Match 'sudo -n /run/current-system/sw/bin/systemctl status notes\.service'
    }

    It '-Follow without the journal is JournalAccessDenied' {
        Invoke-TestHostRoot 'gpasswd -d notes systemd-journal' | Out-Null
        Get-ServiceLog notes @Notes -Follow -Timeout 2 -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -Match '^JournalAccessDenied'
    }
}
