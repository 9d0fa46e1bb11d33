# The test host's side of infrastructure deploys (tests/TestHost/testhost.sh), proved on real hosts over real SSH:
# the NixOS-like system profile tree, the stand-in nix-env and switch-to-configuration, the `deploy` user with
# passwordless sudo, and extra hosts booted next to the main one with their own ports, keys, names and profiles.
# Profile changes happen on two extra hosts booted here, so the main host's profile stays as it booted.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Main = Get-TestHost
    $script:A = Start-ExtraTestHost -Name 'thtest-a'
    $script:B = Start-ExtraTestHost -Name 'thtest-b'
    $script:SysProfile = $A.systemProfile
    $script:NixEnv = $A.nixEnv

    function Get-ProfileLink($TestHost) { (Invoke-TestHostSsh 'readlink /nix/var/nix/profiles/system' -Host $TestHost) | Select-Object -Last 1 }

    # Runs COMMAND over SSH as the deploy user and returns @{ Output = lines (stdout and stderr in order); ExitCode = n }.
    function Invoke-AsDeploy([string] $Command, $TestHost = $A) {
        $lines = @(Invoke-TestHostSsh "{ $Command; } 2>&1; echo ""exit=`$?""" -Host $TestHost)
        $last = $lines[-1]
        if ($last -notmatch '^exit=(\d+)$') { throw "no exit code in: $($lines -join "`n")" }
        @{ Output = @($lines | Select-Object -SkipLast 1); ExitCode = [int]$Matches[1] }
    }

    function Get-Generation($TestHost = $A) {
        # nix-env --list-generations, parsed: Number, Date, Current.
        foreach ($line in Invoke-TestHostSsh "$NixEnv -p $SysProfile --list-generations" -Host $TestHost) {
            if ($line -match '^\s+(\d+)   (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)   (\(current\))?$') {
                [pscustomobject]@{ Number = [int]$Matches[1]; Date = $Matches[2]; Current = [bool]$Matches[3]; Line = $line }
            }
            else { throw "unexpected --list-generations line: '$line'" }
        }
    }
}

AfterAll {
    Stop-ExtraTestHost -Name 'thtest-a'
    Stop-ExtraTestHost -Name 'thtest-b'
}

Describe 'The state file' {
    It 'names the deploy user and the system profile' {
        foreach ($h in $Main, $A, $B) {
            $h.deployUser | Should -Be 'deploy'
            $h.systemProfile | Should -Be '/nix/var/nix/profiles/system'
            $h.nixEnv | Should -Be '/run/current-system/sw/bin/nix-env'
            Test-Path $h.stateDir | Should -BeTrue
        }
        # Named after the main host's state dir: /tmp/atelier-testhost-thtest-a beside the default one.
        $A.stateDir | Should -Be "$($Main.stateDir.TrimEnd('/'))-thtest-a"
        $A.hostName | Should -BeLike 'atelier-test-*thtest-a'
        $A.hostName | Should -Not -Be $Main.hostName
    }
}

Describe 'The system profile at boot' {
    It 'points system at system-3-link, each generation at a real closure folder named after the host' {
        Get-ProfileLink $A | Should -Be 'system-3-link'
        foreach ($n in 1..3) {
            $target = Invoke-TestHostSsh "readlink /nix/var/nix/profiles/system-$n-link" -Host $A | Select-Object -Last 1
            $target | Should -Match "^/nix/store/[0-9a-df-np-sv-z]{32}-nixos-system-$([regex]::Escape($A.hostName))-$n$"
            $kind = Invoke-AsDeploy "test -d $target && test ! -L $target && test -x $target/bin/switch-to-configuration && test -s $target/nixos-version"
            $kind.ExitCode | Should -Be 0 -Because "$target must be a real folder with bin/switch-to-configuration and nixos-version"
        }
        Invoke-TestHostSsh 'readlink -f /nix/var/nix/profiles/system' -Host $A |
            Should -Be (Invoke-TestHostSsh 'readlink /nix/var/nix/profiles/system-3-link' -Host $A)
    }

    It 'is readable by a user without sudo (the demo service user)' {
        Invoke-TestHostSsh 'readlink /nix/var/nix/profiles/system' -Host $A -User demo | Should -Be 'system-3-link'
    }

    It 'lists generations 1..3 like nix-env, dated by the links, the last one current' {
        $generations = @(Get-Generation)
        $generations.Number | Should -Be @(1, 2, 3)
        $generations.Current | Should -Be @($false, $false, $true)
        $generations[0].Line | Should -Be ('   1   {0}   ' -f $generations[0].Date)
        $generations[2].Line | Should -Be ('   3   {0}   (current)' -f $generations[2].Date)
        foreach ($g in $generations) {
            $mtime = Invoke-TestHostRoot "stat -c %y /nix/var/nix/profiles/system-$($g.Number)-link" -Host $A | Select-Object -Last 1
            $g.Date | Should -Be $mtime.Substring(0, 19)
        }
        $dates = $generations | ForEach-Object { [datetime]::ParseExact($_.Date, 'yyyy-MM-dd HH:mm:ss', $null) }
        $dates[0] | Should -BeLessThan $dates[1]
        $dates[1] | Should -BeLessThan $dates[2]
    }

    It 'has nix-env on PATH and at the NixOS path, and the deploy user may run anything as root without a password' {
        Invoke-TestHostSsh 'command -v nix-env' -Host $A | Should -Be '/usr/local/bin/nix-env'
        Invoke-TestHostSsh 'readlink -f /run/current-system/sw/bin/nix-env' -Host $A | Should -Be '/usr/local/bin/nix-env'
        Invoke-TestHostSsh 'sudo -n id -u' -Host $A | Should -Be '0'
        Invoke-TestHostSsh 'sudo -n nix-env -p /nix/var/nix/profiles/system --list-generations | wc -l' -Host $A | Should -Be '3'
    }
}

Describe 'nix-env as root through sudo' {
    BeforeEach {
        # Every case starts from generation 3 (only root may switch, so this goes through sudo too).
        Invoke-TestHostSsh "sudo -n $NixEnv -p $SysProfile --switch-generation 3" -Host $A | Out-Null
    }

    It 'switches to an existing generation and says so' {
        $r = Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --switch-generation 1"
        $r.ExitCode | Should -Be 0
        $r.Output | Should -Be 'switching profile from version 3 to 1'
        Get-ProfileLink $A | Should -Be 'system-1-link'
        (Get-Generation | Where-Object Current).Number | Should -Be 1
    }

    It 'refuses a generation that does not exist and leaves the profile alone' {
        $r = Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --switch-generation 9"
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Be 'error: generation 9 does not exist'
        Get-ProfileLink $A | Should -Be 'system-3-link'
    }

    It 'rolls back to the previous existing generation, and refuses when there is none' {
        (Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --rollback").Output | Should -Be 'switching profile from version 3 to 2'
        Get-ProfileLink $A | Should -Be 'system-2-link'
        (Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --rollback").ExitCode | Should -Be 0
        Get-ProfileLink $A | Should -Be 'system-1-link'
        $r = Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --rollback"
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Be 'error: no generation older than the current (1) exists'
        Get-ProfileLink $A | Should -Be 'system-1-link'
    }

    It 'sets a new generation max+1 for a store path, deletes old ones, never the current one' {
        $closure = '/nix/store/' + ('0123456789abcdfghijklmnpqrsvwxyz'.Substring(0, 32)) + '-nixos-system-' + $A.hostName + '-set'
        Invoke-TestHostSsh "sudo -n mkdir -p $closure/bin && sudo -n cp /nix/var/nix/profiles/system/bin/switch-to-configuration $closure/bin/" -Host $A | Out-Null
        Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --switch-generation 2" | Out-Null
        $r = Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --set $closure"
        $r.ExitCode | Should -Be 0
        Get-ProfileLink $A | Should -Be 'system-4-link' -Because 'the new generation is the highest + 1, not the current + 1'
        Invoke-TestHostSsh 'readlink /nix/var/nix/profiles/system-4-link' -Host $A | Should -Be $closure
        (Get-Generation | Where-Object Current).Number | Should -Be 4

        $r = Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --set /tmp/not-in-the-store"
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Be "error: path '/tmp/not-in-the-store' is not a valid store path"

        $r = Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --delete-generations 4"
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Be "error: cannot delete current version of profile '/nix/var/nix/profiles/system'"
        (Invoke-AsDeploy "sudo -n $NixEnv -p $SysProfile --switch-generation 3 && sudo -n $NixEnv -p $SysProfile --delete-generations 4").Output |
            Should -Contain 'removing profile version 4'
        (Get-Generation).Number | Should -Be @(1, 2, 3)
        Invoke-TestHostSsh "sudo -n rm -rf $closure" -Host $A | Out-Null
    }

    It 'replaces the profile link atomically: a reader never finds it missing' {
        # A reader loops on readlink while root switches 40 times; a non-atomic `ln -sf` would leave gaps.
        $script = @"
( i=0; while [ `$i -lt 4000 ]; do readlink $SysProfile >/dev/null || echo MISSING; i=`$((i+1)); done ) > /tmp/reader.out &
reader=`$!
for n in `$(seq 20); do $NixEnv -p $SysProfile --switch-generation 1 2>/dev/null; $NixEnv -p $SysProfile --switch-generation 2 2>/dev/null; done
wait `$reader
grep -c MISSING /tmp/reader.out || true
"@
        Invoke-TestHostRoot $script -Host $A | Select-Object -Last 1 | Should -Be '0'
        Get-ProfileLink $A | Should -Be 'system-2-link'
    }
}

Describe 'nix-env without root' {
    It 'refuses <Operation> for the deploy user without sudo, and the profile stays' -ForEach @(
        @{ Operation = '--switch-generation 2' }
        @{ Operation = '--rollback' }
        @{ Operation = '--set $(readlink /nix/var/nix/profiles/system-1-link)' }
        @{ Operation = '--delete-generations 1' }
    ) {
        Invoke-TestHostSsh "sudo -n $NixEnv -p $SysProfile --switch-generation 3" -Host $A | Out-Null
        $r = Invoke-AsDeploy "$NixEnv -p $SysProfile $Operation"
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Be "error: opening lock file '/nix/var/nix/profiles/system.lock': Permission denied"
        Get-ProfileLink $A | Should -Be 'system-3-link'
        (Get-Generation).Number | Should -Be @(1, 2, 3)
    }
}

Describe 'switch-to-configuration' {
    It 'logs the time in ms, the action and its own closure for the current system, and exits 0' {
        $closure = Invoke-TestHostSsh 'readlink -f /nix/var/nix/profiles/system' -Host $A
        $before = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        (Invoke-AsDeploy 'sudo -n /nix/var/nix/profiles/system/bin/switch-to-configuration switch').ExitCode | Should -Be 0
        (Invoke-AsDeploy 'sudo -n /nix/var/nix/profiles/system/bin/switch-to-configuration boot').ExitCode | Should -Be 0
        $after = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        $lines = @(Invoke-TestHostSsh 'tail -n 2 /var/log/atelier-switch.log' -Host $A)
        $lines | Should -HaveCount 2
        $i = 0
        foreach ($action in 'switch', 'boot') {
            $ms, $loggedAction, $path = $lines[$i++] -split ' '
            [long]$ms | Should -BeGreaterOrEqual $before
            [long]$ms | Should -BeLessOrEqual $after
            $loggedAction | Should -Be $action
            $path | Should -Be $closure
        }
    }

    It 'exits 1 when its closure holds fail-switch (the attempt is still logged)' {
        $closure = Invoke-TestHostSsh 'readlink -f /nix/var/nix/profiles/system-1-link' -Host $A
        Invoke-TestHostRoot "touch $closure/fail-switch" -Host $A | Out-Null
        try {
            (Invoke-AsDeploy "sudo -n $closure/bin/switch-to-configuration switch").ExitCode | Should -Be 1
            Invoke-TestHostSsh 'tail -n 1 /var/log/atelier-switch.log' -Host $A | Should -Match " switch $([regex]::Escape($closure))$"
        }
        finally { Invoke-TestHostRoot "rm -f $closure/fail-switch" -Host $A | Out-Null }
        (Invoke-AsDeploy "sudo -n $closure/bin/switch-to-configuration switch").ExitCode | Should -Be 0
    }

    It 'refuses a user without root and an unknown action, logging nothing' {
        $count = { [int](Invoke-TestHostSsh 'wc -l < /var/log/atelier-switch.log' -Host $A) }
        $before = & $count
        (Invoke-AsDeploy '/nix/var/nix/profiles/system/bin/switch-to-configuration switch').ExitCode | Should -Be 1
        (Invoke-AsDeploy 'sudo -n /nix/var/nix/profiles/system/bin/switch-to-configuration explode').ExitCode | Should -Be 1
        & $count | Should -Be $before
    }
}

Describe 'Two test hosts side by side' {
    It 'have their own ports, keys, host names and machine names' {
        $hosts = $Main, $A, $B
        ($hosts.sshPort | Sort-Object -Unique) | Should -HaveCount 3
        ($hosts | ForEach-Object { $_.services.demo.port; $_.services.notes.port; $_.sshPort } | Sort-Object -Unique) | Should -HaveCount 9
        ($hosts.hostName | Sort-Object -Unique) | Should -HaveCount 3
        ($hosts.hostKeyLine | Sort-Object -Unique) | Should -HaveCount 3
        ($hosts | ForEach-Object { Get-Content "$($_.identityFile).pub" } | Sort-Object -Unique) | Should -HaveCount 3
        foreach ($h in $hosts) {
            $argv = (Get-Content -Raw "/proc/$($h.nspawnPid)/cmdline") -split "`0"
            $argv[$argv.IndexOf('-M') + 1] | Should -Be $h.hostName
            Invoke-TestHostSsh 'hostname' -Host $h | Should -Be $h.hostName
            Get-Content "/run/atelier-testhost/ports/$($h.sshPort)/owner" | Should -Be $h.stateDir
        }
    }

    It "does not let one host's key into the other" {
        $crossed = $B.PSObject.Copy()
        $crossed.identityFile = $A.identityFile
        $r = Invoke-TestHostSsh 'true' -Host $crossed -AllowFailure
        $LASTEXITCODE | Should -Be 255
        "$r" | Should -Match 'Permission denied'
    }

    It "keeps each host's system profile to itself" {
        Invoke-TestHostSsh "sudo -n $NixEnv -p $SysProfile --switch-generation 1" -Host $A | Out-Null
        Invoke-TestHostSsh "sudo -n $NixEnv -p $SysProfile --switch-generation 2" -Host $B | Out-Null
        Get-ProfileLink $A | Should -Be 'system-1-link'
        Get-ProfileLink $B | Should -Be 'system-2-link'
        Invoke-TestHostSsh 'readlink /nix/var/nix/profiles/system-1-link' -Host $B | Should -Match "-nixos-system-$([regex]::Escape($B.hostName))-1$"
        $aClosures = Invoke-TestHostSsh 'ls /nix/store' -Host $A
        $bClosures = Invoke-TestHostSsh 'ls /nix/store' -Host $B
        $aClosures | Where-Object { $bClosures -contains $_ } | Should -BeNullOrEmpty
        Invoke-TestHostSsh 'test -e /var/log/atelier-switch.log && sudo -n /nix/var/nix/profiles/system/bin/switch-to-configuration test' -Host $B | Out-Null
        Invoke-TestHostSsh 'tail -n 1 /var/log/atelier-switch.log' -Host $A | Should -Not -Match ' test '
    }

    It 'stops an extra host without touching the others, and releases its ports' {
        Stop-ExtraTestHost -Name 'thtest-b'
        Test-Path (Join-Path $B.stateDir 'testhost.json') | Should -BeFalse
        # No live systemd-nspawn on its tree (a zombie waiting for its reaper is gone already).
        ps -C systemd-nspawn -o 'stat=,args=' | Where-Object { $_ -notmatch '^Z' -and $_ -like "*$($B.root)*" } | Should -BeNullOrEmpty
        Test-Path "/run/atelier-testhost/ports/$($B.sshPort)" | Should -BeFalse
        Invoke-TestHostSsh 'true' -Host $B -AllowFailure | Out-Null
        $LASTEXITCODE | Should -Be 255
        Invoke-TestHostSsh 'hostname' -Host $A | Should -Be $A.hostName
        Invoke-TestHostSsh 'hostname' -Host $Main | Should -Be $Main.hostName
        Stop-ExtraTestHost -Name 'thtest-b'   # a second stop has nothing to do and does not fail
    }
}
