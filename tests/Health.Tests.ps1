# Test-ServiceHealth against the real test host: its sample apps over HTTP (/health, /status/<code>, /slow?ms=N,
# /hang), its units over SSH with systemctl (demo, and the crash-looping flaky.service), several services at once,
# -Quiet, the table view and Ctrl+C.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    $script:DemoUrl = $TestHost.services.demo.healthUrl
    $script:DemoBase = $DemoUrl -replace '/health$', ''
    $script:NotesUrl = $TestHost.services.notes.healthUrl
    $script:NotesBase = $NotesUrl -replace '/health$', ''
    # The connection parameters without the host, for objects that carry their own ComputerName.
    $script:Keys = $Demo.Clone(); $Keys.Remove('ComputerName')

    function Get-ClosedPort {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $port
    }
}

Describe 'Test-ServiceHealth over HTTP' {
    It 'reports a 2xx answer as Up and healthy, in one try' {
        $r = Test-ServiceHealth demo $DemoUrl -ErrorAction Stop
        $r | Should -HaveCount 1
        $r.GetType().FullName | Should -Be 'Atelier.Health.ServiceHealth'
        $r.Status | Should -Be 'Up'
        $r.Healthy | Should -BeTrue
        $r.StatusCode | Should -Be 200
        $r.Tries | Should -Be 1
        $r.Method | Should -Be 'http'
        $r.Service | Should -Be 'demo'
        $r.HealthUrl | Should -Be $DemoUrl
        $r.LatencyMs | Should -BeLessThan 3000
        $r.Journal | Should -BeNullOrEmpty
    }

    It 'classifies <Path> as <Status>, unhealthy, after polling until the deadline' -ForEach @(
        @{ Path = '/status/404'; Status = 'Misconfigured'; Code = 404 }
        @{ Path = '/status/401'; Status = 'Misconfigured'; Code = 401 }
        @{ Path = '/status/503'; Status = 'Degraded'; Code = 503 }
        @{ Path = '/status/500'; Status = 'Degraded'; Code = 500 }
    ) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $r = Test-ServiceHealth demo "$DemoBase$Path" -Timeout 1.5 -ErrorAction Stop
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 6
        $r.Status | Should -Be $Status
        $r.Healthy | Should -BeFalse
        $r.StatusCode | Should -Be $Code
        $r.Tries | Should -BeGreaterOrEqual 3 -Because 'tries start 250 ms apart'
        $r.Detail | Should -Match "^$Code .*expected 2xx"
    }

    It 'reports a hanging endpoint as Timeout after the request timeout' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $r = Test-ServiceHealth demo "$DemoBase/hang" -RequestTimeout 0.5 -Timeout 0 -ErrorAction Stop
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
        $r.Status | Should -Be 'Timeout'
        $r.Healthy | Should -BeFalse
        $r.StatusCode | Should -BeNullOrEmpty
        $r.Detail | Should -Be 'no answer within 500 ms'
    }

    It 'reports a closed port as Down (connection refused)' {
        $port = Get-ClosedPort
        $r = Test-ServiceHealth demo "http://127.0.0.1:$port/health" -Timeout 0 -ErrorAction Stop
        $r.Status | Should -Be 'Down'
        $r.Healthy | Should -BeFalse
        $r.Detail | Should -Be "connection refused by 127.0.0.1:$port"
    }

    It 'reports a slow but correct answer as Degraded yet healthy' {
        $r = Test-ServiceHealth demo "$DemoBase/slow?ms=700" -DegradedThreshold 300 -Timeout 0 -ErrorAction Stop
        $r.Status | Should -Be 'Degraded'
        $r.Healthy | Should -BeTrue
        $r.StatusCode | Should -Be 200
        $r.LatencyMs | Should -BeGreaterOrEqual 650
        $r.Detail | Should -Be '200 OK, slower than 300 ms'
    }

    It 'checks the body with -ExpectContent' {
        (Test-ServiceHealth demo $DemoUrl -ExpectContent '"status":\s*"OK"' -Timeout 0).Status | Should -Be 'Up'
        $r = Test-ServiceHealth demo $DemoUrl -ExpectContent '"status":"starting"' -Timeout 0
        $r.Healthy | Should -BeFalse
        $r.Detail | Should -Match 'content did not match'
    }

    It 'takes other status codes as healthy with -ExpectedStatus' {
        $r = Test-ServiceHealth demo "$DemoBase/status/404" -ExpectedStatus 404, 410 -Timeout 0
        $r.Status | Should -Be 'Up'
        $r.Healthy | Should -BeTrue
        $r = Test-ServiceHealth demo $DemoUrl -ExpectedStatus 204 -Timeout 0
        $r.Status | Should -Be 'Misconfigured'
        $r.Detail | Should -Be '200 OK, expected 204'
    }

    It 'waits for a service that is restarting and reports it Up once it answers' {
        Invoke-TestHostRoot 'systemctl restart notes.service' | Out-Null
        $r = Test-ServiceHealth notes $NotesUrl -Timeout 30 -ErrorAction Stop
        $r.Status | Should -Be 'Up'
        $r.Healthy | Should -BeTrue
    }

    It 'shows every try in the verbose stream' {
        $verbose = Test-ServiceHealth demo "$DemoBase/status/503" -Timeout 1 -Verbose 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }
        @($verbose | Where-Object Message -Match '^\[demo\] try \d+: Degraded in \d+ ms: 503').Count | Should -BeGreaterOrEqual 2
    }
}

Describe 'Test-ServiceHealth of a systemd unit over SSH' {
    It 'reports demo.service as Up: active, running and not restarting' {
        $r = Test-ServiceHealth demo @Demo -ErrorAction Stop
        $r.Method | Should -Be 'systemd'
        $r.Status | Should -Be 'Up'
        $r.Healthy | Should -BeTrue
        $r.ActiveState | Should -Be 'active'
        $r.SubState | Should -Be 'running'
        $r.NRestarts | Should -BeGreaterOrEqual 0
        $r.ComputerName | Should -Be $TestHost.host
        $r.Detail | Should -Match 'steady for 2 s'
    }

    It 'reports a unit that does not exist as Down' {
        $r = Test-ServiceHealth nosuchunit @Demo -User demo -Timeout 0 -ErrorAction Stop
        $r.Status | Should -Be 'Down'
        $r.Healthy | Should -BeFalse
        $r.Detail | Should -Be 'unit nosuchunit.service not found (LoadState=not-found)'
    }

    It 'writes an error with a stable id, and no result, for a systemd check without a host' {
        $err = $null
        $r = Test-ServiceHealth demo -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SystemdCheckNeedsHost,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].TargetObject | Should -Be 'demo'
        "$($err[0])" | Should -Match 'and no host was given\. Give -ComputerName \(or -Local on the host itself\)\.'
    }

    It 'writes HostConnectionFailed, not a result, when the host refuses SSH' {
        $connection = $Demo.Clone(); $connection.Port = Get-ClosedPort
        $err = $null
        $r = Test-ServiceHealth demo @connection -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostConnectionFailed,*'
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
    }

    It 'adds the unit''s journal to a failed HTTP check when the host is given' {
        $r = Test-ServiceHealth demo "$DemoBase/status/503" @Demo -Timeout 0 -ErrorAction Stop
        $r.Healthy | Should -BeFalse
        $r.ComputerName | Should -Be $TestHost.host
        $r.Journal.Count | Should -BeGreaterThan 0 -Because "demo's sudo rule allows 'systemctl status demo.service'"
        ($r.Journal -join "`n") | Should -Match 'demo'
    }

    Context 'a crash-looping unit (flaky.service, run as demo)' {
        BeforeAll {
            Invoke-TestHostRoot 'systemctl start flaky.service' | Out-Null
        }

        AfterAll {
            # The test host's service users read the journal (systemd-journal), as mkService should make them: put that back.
            Invoke-TestHostRoot 'systemctl stop flaky.service; systemctl reset-failed flaky.service; rm -f /etc/sudoers.d/atelier-flaky-status; usermod -aG systemd-journal demo' -AllowFailure | Out-Null
        }

        It 'is Down, with how NRestarts grew and the journal lines that say why' {
            # The service user may read the journal: journalctl shows earlier runs and the crash's last words.
            Invoke-TestHostRoot 'usermod -aG systemd-journal demo' | Out-Null
            $sw = [Diagnostics.Stopwatch]::StartNew()
            # A settle window longer than the unit's 2 s runs, so no reading can take it for a steady one.
            $r = Test-ServiceHealth flaky @Demo -User demo -Timeout 6 -SettleSeconds 2.5 -ErrorAction Stop
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 15 -Because 'the deadline is 6 s, plus at most one settle window and the journal'
            $r.Method | Should -Be 'systemd'
            $r.Healthy | Should -BeFalse
            $r.Status | Should -Be 'Down'
            $r.Tries | Should -BeGreaterThan 1
            $r.Detail | Should -Match '^ActiveState=\S+ SubState=\S+ NRestarts (\d+→\d+|=\d+)'
            $r.Detail | Should -Match 'NRestarts \d+→\d+' -Because 'the unit restarted at least once during six seconds'
            $r.NRestarts | Should -BeGreaterThan 0
            $r.Journal.Count | Should -BeGreaterThan 0
            ($r.Journal -join "`n") | Should -Match 'flaky crashing'
        }

        It 'still carries journal lines through the service''s sudo rule alone' {
            Invoke-TestHostRoot 'gpasswd -d demo systemd-journal' -AllowFailure | Out-Null
            Invoke-TestHostRoot "echo 'demo ALL=(root) NOPASSWD: /run/current-system/sw/bin/systemctl status flaky.service' > /etc/sudoers.d/atelier-flaky-status && chmod 0440 /etc/sudoers.d/atelier-flaky-status" | Out-Null
            $r = Test-ServiceHealth flaky @Demo -User demo -Timeout 3 -SettleSeconds 2.5 -ErrorAction Stop
            $r.Healthy | Should -BeFalse
            $r.Status | Should -Be 'Down'
            $r.Journal.Count | Should -BeGreaterThan 0
            ($r.Journal -join "`n") | Should -Match 'flaky'
        }
    }
}

Describe 'Several services at once' {
    It 'binds Name, HealthUrl and ComputerName from piped objects and checks them concurrently' {
        $services = @(
            [pscustomobject]@{ Name = 'demo'; HealthUrl = "$DemoBase/slow?ms=1500"; ComputerName = $TestHost.host }
            [pscustomobject]@{ Name = 'notes'; HealthUrl = "$NotesBase/slow?ms=1500"; ComputerName = $TestHost.host }
        )
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $r = $services | Test-ServiceHealth -Timeout 0 -ErrorAction Stop
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 2.8 -Because 'two 1.5 s checks run at the same time'
        $r | Should -HaveCount 2
        ($r.Service | Sort-Object) | Should -Be @('demo', 'notes')
        $r.ComputerName | Should -Be @($TestHost.host, $TestHost.host)
        ($r | Where-Object Service -EQ 'notes').HealthUrl | Should -Be "$NotesBase/slow?ms=1500"
        $r.Healthy | Should -Be @($true, $true)
    }

    It 'mixes HTTP and systemd checks, each object with its own service, host and user' {
        $services = @(
            [pscustomobject]@{ Service = 'demo'; Url = $DemoUrl }
            [pscustomobject]@{ Name = 'demo'; ComputerName = $TestHost.host }
            [pscustomobject]@{ Name = 'notes'; HostName = $TestHost.host; User = 'notes' }
        )
        $r = $services | Test-ServiceHealth @Keys -SettleSeconds 0.5 -ErrorAction Stop
        $r | Should -HaveCount 3
        (($r | ForEach-Object { "$($_.Service)/$($_.Method)" }) | Sort-Object) | Should -Be @('demo/http', 'demo/systemd', 'notes/systemd')
        $r.Status | Should -Be @('Up', 'Up', 'Up')
    }

    It 'takes the services manifest''s own property names (name, health_url)' {
        $manifest = '[{"name":"demo","health_url":"' + $DemoUrl + '"},{"name":"notes","health_url":"' + $NotesUrl + '"}]' | ConvertFrom-Json
        $r = $manifest | Test-ServiceHealth -Timeout 0 -ErrorAction Stop
        ($r.Service | Sort-Object) | Should -Be @('demo', 'notes')
        $r.Healthy | Should -Be @($true, $true)
    }

    It 'writes each result as soon as it is ready and honours -ThrottleLimit' {
        $services = @(
            [pscustomobject]@{ Name = 'demo'; HealthUrl = "$DemoBase/slow?ms=1500" }
            [pscustomobject]@{ Name = 'notes'; HealthUrl = $NotesUrl }
        )
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $arrivals = $services | Test-ServiceHealth -Timeout 0 | ForEach-Object { [pscustomobject]@{ Service = $_.Service; At = $sw.Elapsed.TotalSeconds } }
        $arrivals[0].Service | Should -Be 'notes'
        $arrivals[0].At | Should -BeLessThan 1.2 -Because 'the fast result is written while the slow check still runs'

        $sw.Restart()
        $services | Test-ServiceHealth -Timeout 0 -ThrottleLimit 1 | Out-Null
        $sw.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 1.4
    }
}

Describe '-Quiet, the table view, validation and Ctrl+C' {
    It 'returns a single $true when every service is healthy' {
        $r = @(Test-ServiceHealth demo $DemoUrl -Quiet)
        $r | Should -HaveCount 1
        $r[0] | Should -BeOfType [bool]
        $r[0] | Should -BeTrue
        @([pscustomobject]@{ Name = 'demo'; HealthUrl = $DemoUrl }, [pscustomobject]@{ Name = 'notes'; HealthUrl = $NotesUrl }) |
            Test-ServiceHealth -Quiet | Should -BeExactly $true
    }

    It 'returns a single $false when any service is not healthy, or cannot be checked' {
        $r = @(@([pscustomobject]@{ Name = 'demo'; HealthUrl = $DemoUrl }, [pscustomobject]@{ Name = 'demo'; HealthUrl = "$DemoBase/status/503" }) |
                Test-ServiceHealth -Timeout 0 -Quiet)
        $r | Should -HaveCount 1
        $r[0] | Should -BeExactly $false
        Test-ServiceHealth demo -Quiet -ErrorAction SilentlyContinue | Should -BeExactly $false
    }

    It 'shows a table of service, host, status, HTTP code, latency, tries and detail' {
        $text = Test-ServiceHealth demo $DemoUrl | Out-String -Width 200
        $text | Should -Match 'Service\s+Host\s+Status\s+HTTP\s+Latency\s+Tries\s+Detail'
        $text | Should -Match 'demo\s+127\.0\.0\.1\s+Up\s+200\s+\d+ ms\s+1\s+200 OK'
    }

    It 'refuses a URL that is not absolute http(s), and a service name with shell syntax, before checking' {
        { Test-ServiceHealth demo 'ftp://127.0.0.1/health' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        { Test-ServiceHealth demo '/health' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        { Test-ServiceHealth 'demo;reboot' @Demo -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
    }

    It 'refuses an invalid -ExpectContent with a stable id' {
        { Test-ServiceHealth demo $DemoUrl -ExpectContent '(' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidExpectContent,*'
    }

    It 'stops every check at once on Ctrl+C' {
        $ps = [powershell]::Create()
        try {
            [void] $ps.AddScript("Import-Module '$env:ATELIER_MODULE'; Test-ServiceHealth demo '$DemoBase/status/503' -Timeout 60; Test-ServiceHealth demo '$DemoBase/hang' -Timeout 60")
            $handle = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 1500
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 3
            $handle.IsCompleted | Should -BeTrue
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose() }
    }
}
