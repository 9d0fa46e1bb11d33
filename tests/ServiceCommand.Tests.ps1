# Invoke-ServiceCommand against the real test host: runs as the service's user in ~/app (or a work folder), streams its
# output as it comes on the information stream, keeps the exit code (and writes ServiceCommandFailed), quotes each word
# of -ArgumentList (a canary file shows any injection), -WhatIf prints the exact remote command, and -CommandTimeout and
# Ctrl+C leave no process of it on the host.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $ProgressPreference = 'SilentlyContinue'
    $script:TestHost = Get-TestHost
    $script:Demo = Get-TestConnection -Service demo
    $script:Canary = "/tmp/atelier-exec-canary-$([guid]::NewGuid().ToString('N'))"

    function Test-Canary { [bool](Invoke-TestHostRoot "test -e $Canary && echo found || true") }

    function Get-HostProcess([string] $Pattern) {
        Invoke-TestHostRoot "pgrep -u demo -a -f '$Pattern' || true"
    }
}

AfterAll {
    Invoke-TestHostRoot "rm -f $Canary" -AllowFailure | Out-Null
}

Describe 'Invoke-ServiceCommand' {
    It 'runs as the service''s user in ~/app, or in -WorkDir inside it, and returns a typed result' {
        $r = Invoke-ServiceCommand demo @Demo -Command 'id -un; pwd' -ErrorAction Stop 6>$null
        $r.GetType().FullName | Should -Be 'Atelier.Exec.ServiceCommandResult'
        $r.ExitCode | Should -Be 0
        $r.Succeeded | Should -BeTrue
        $r.Output | Should -Be 'demo', '/var/lib/demo/app'
        $r.User | Should -Be 'demo'
        $r.Service | Should -Be 'demo'
        $r.RemoteCommand | Should -Be "cd `"`$HOME`"/app && sh -c 'id -un; pwd'"
        $r.Duration.TotalSeconds | Should -BeGreaterThan 0
        (Invoke-ServiceCommand demo @Demo -Command pwd -WorkDir src -ErrorAction Stop 6>$null).Output | Should -Be '/var/lib/demo/app/src'
    }

    It 'keeps the exit code, and a non-zero exit also writes ServiceCommandFailed after the result' {
        $r = Invoke-ServiceCommand demo @Demo -Command 'echo out; echo err >&2; exit 7' -ErrorVariable failed -ErrorAction SilentlyContinue 6>$null
        $r.ExitCode | Should -Be 7
        $r.Succeeded | Should -BeFalse
        $r.Output | Should -Be 'out'
        $r.Error | Should -Be 'err'
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -Match '^ServiceCommandFailed'
        $failed[0].Exception.Message | Should -Match 'exited with code 7'
        { Invoke-ServiceCommand demo @Demo -ArgumentList sh, -c, 'exit 3' -ErrorAction Stop 6>$null } | Should -Throw -ErrorId 'ServiceCommandFailed*'
    }

    It 'streams each line as it comes, on the information stream, before the command ends' {
        $seen = Invoke-ServiceCommand demo @Demo -Command 'echo first; sleep 2; echo second >&2' -ErrorAction Stop 6>&1 |
            ForEach-Object { [pscustomobject]@{ At = [DateTime]::UtcNow; Item = $_ } }
        $info = @($seen | Where-Object { $_.Item -is [Management.Automation.InformationRecord] })
        $result = ($seen | Where-Object { $_.Item -isnot [Management.Automation.InformationRecord] }).Item
        "$($info[0].Item.MessageData)" | Should -Be 'first'
        "$($info[1].Item.MessageData)" | Should -Be 'second'
        $info[0].Item.Tags | Should -Contain 'Atelier.Output'
        $info[1].Item.Tags | Should -Contain 'Atelier.Error'
        $info[0].Item.Tags | Should -Contain 'PSHOST'
        ($info[1].At - $info[0].At).TotalSeconds | Should -BeGreaterThan 1.5 -Because 'the first line is shown while the command sleeps'
        $result.Output | Should -Be 'first'
        $result.Error | Should -Be 'second'
    }

    It 'shows host text cleaned: no escape, no workflow command, no secret' {
        $r = Invoke-ServiceCommand demo @Demo -Command "printf '\033[31m::error::pwned\033[0m\nAPI_TOKEN=hunter2secret\n'" -ErrorAction Stop 6>$null
        $r.Output[0] | Should -Be '\::error::pwned'
        $r.Output[1] | Should -Not -Match 'hunter2secret'
    }

    It 'passes each -ArgumentList word as it is: hostile arguments are quoted, the canary never appears' {
        $hostile = @(
            "x; touch $Canary"
            "`$(touch $Canary)"
            "``touch $Canary``"
            "a'b; touch $Canary; '"
            "`"q`" && touch $Canary"
            "| touch $Canary"
            '$HOME ${IFS} $1'
            '*'
            ''
            '-n'
        )
        $r = Invoke-ServiceCommand demo @Demo -ArgumentList (@('printf', '[%s]\n') + $hostile) -ErrorAction Stop 6>$null
        $r.ExitCode | Should -Be 0
        $r.Output | Should -Be ($hostile | ForEach-Object { "[$_]" })
        Test-Canary | Should -BeFalse
        # A hostile program is just a program that does not exist.
        $bad = Invoke-ServiceCommand demo @Demo -ArgumentList "true; touch $Canary" -ErrorAction SilentlyContinue 6>$null
        $bad.ExitCode | Should -Be 127
        Test-Canary | Should -BeFalse
    }

    It 'refuses a control character in an argument before connecting' {
        $before = Get-TestHostLoginCount
        { Invoke-ServiceCommand demo @Demo -ArgumentList echo, "a`nb" -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Invoke-ServiceCommand demo @Demo -Command "echo a`ntouch $Canary" -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Invoke-ServiceCommand demo @Demo -Command true -WorkDir '../notes' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        (Get-TestHostLoginCount) - $before | Should -Be 0
    }

    It '-WhatIf prints the exact remote command and runs nothing' {
        $script = @'
param($module, $connection, $canary)
Import-Module $module
$c = $connection | ConvertFrom-Json -AsHashtable
Invoke-ServiceCommand demo @c -ArgumentList touch, $canary -WhatIf
Invoke-ServiceCommand demo @c -Command "touch $canary" -WorkDir src -WhatIf
'@
        $file = Join-Path $TestDrive 'whatif.ps1'
        Set-Content $file $script
        $printed = (& dotnet pwsh -NoProfile -NonInteractive -File $file $env:ATELIER_MODULE ($Demo | ConvertTo-Json -Compress) $Canary 2>&1) -join "`n"
        $printed | Should -Match ([regex]::Escape("What if: Performing the operation `"Run ``cd `"`$HOME`"/app && touch $Canary```" on target `"demo on $($TestHost.host), as demo`"."))
        $printed | Should -Match ([regex]::Escape("Run ``cd `"`$HOME`"/app/src && sh -c 'touch $Canary'``"))
        Test-Canary | Should -BeFalse
    }

    It 'declares ConfirmImpact Medium' {
        $attribute = (Get-Command Invoke-ServiceCommand).ImplementingType.GetCustomAttributes([Management.Automation.CmdletAttribute], $false)[0]
        $attribute.ConfirmImpact | Should -Be 'Medium'
        $attribute.SupportsShouldProcess | Should -BeTrue
    }

    It '-CommandTimeout stops the command with its process group: nothing of it is left on the host' {
        $marker = "atelier-timeout-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $r = Invoke-ServiceCommand demo @Demo -Command "sh -c 'sleep 300; echo $marker' & sleep 301; wait" -CommandTimeout 2 -ErrorVariable failed -ErrorAction SilentlyContinue 6>$null
        $watch.Stop()
        $r | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -Match '^RemoteCommandTimedOut'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
        Get-HostProcess 'sleep 30[01]' | Should -BeNullOrEmpty -Because 'the timeout kills the whole process group'
    }

    It 'Ctrl+C stops the command with its process group' {
        $ps = [powershell]::Create()
        [void] $ps.AddCommand('Import-Module').AddArgument($env:ATELIER_MODULE).Invoke()
        $ps.Commands.Clear()
        [void] $ps.AddCommand('Invoke-ServiceCommand').AddParameters(@{ Service = 'demo'; Command = 'sleep 302 & sleep 303; wait' } + $Demo)
        $handle = $ps.BeginInvoke()
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while (-not (Get-HostProcess 'sleep 30[23]') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Get-HostProcess 'sleep 30[23]' | Should -Not -BeNullOrEmpty
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Get-HostProcess 'sleep 30[23]' | Should -BeNullOrEmpty
        }
        finally { $ps.Dispose() }
    }
}
