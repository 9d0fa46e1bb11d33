# Invoke-InfraDeploy, Get-InfraGeneration and Restore-InfraDeploy against two real test hosts over real SSH, with the
# stand-in deploy-rs (tests/Stubs/deploy), which records its argv and run times and activates for real on the hosts:
# new closure, `nix-env --set`, `switch-to-configuration`. Two extra hosts are booted here, so the main host's
# profile stays as it booted. Each node is an alias in an ssh_config file that both Atelier (through $HOME/.ssh/config)
# and deploy-rs's ssh (through -SshOpts '-F <file>') read, so each node keeps its own port and key.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:A = Start-ExtraTestHost -Name 'idp-a'
    $script:B = Start-ExtraTestHost -Name 'idp-b'
    $script:Hosts = @{ a = $A; b = $B }
    $script:Stub = Join-Path $PSScriptRoot 'Stubs/deploy'
    $script:StubDir = Join-Path ([IO.Path]::GetTempPath()) "atelier-infra-stub-$([guid]::NewGuid())"

    # A home whose .ssh/config names both hosts; Atelier reads it as ~/.ssh/config, deploy-rs's ssh with -F.
    $script:SavedHome = $env:HOME
    $script:SshHome = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-infra-home-$([guid]::NewGuid())")
    New-Item -ItemType Directory (Join-Path $SshHome '.ssh') | Out-Null
    $script:SshConfig = Join-Path $SshHome '.ssh/config'
    $config = foreach ($name in 'a', 'b') {
        $h = $Hosts[$name]
        "Host idp-$name", "    HostName $($h.host)", "    Port $($h.sshPort)", "    User $($h.deployUser)", "    IdentityFile $($h.identityFile)",
        "    UserKnownHostsFile $($h.knownHosts)", '    IdentitiesOnly yes', '    BatchMode yes', '    StrictHostKeyChecking yes', ''
    }
    Set-Content $SshConfig $config
    $env:HOME = $SshHome.FullName

    # The two nodes as piped objects: Node, and the ssh_config alias as ComputerName (deploy-rs's --hostname).
    $script:Both = @([pscustomobject]@{ Node = 'a'; ComputerName = 'idp-a' }, [pscustomobject]@{ Node = 'b'; ComputerName = 'idp-b' })
    $script:Common = @{ DeployCommand = $Stub; User = 'deploy'; SshOpts = "-F $SshConfig"; SkipChecks = $true }

    function Get-Link([string] $Node) { Invoke-TestHostRoot 'readlink /nix/var/nix/profiles/system' -Host $Hosts[$Node] | Select-Object -Last 1 }

    function Get-Closure([string] $Node, [int] $Generation) {
        Invoke-TestHostRoot "readlink /nix/var/nix/profiles/system-$Generation-link" -Host $Hosts[$Node] | Select-Object -Last 1
    }

    # The host's switch-to-configuration log: Action and Closure of each run, oldest first.
    function Get-Switch([string] $Node) {
        foreach ($line in Invoke-TestHostRoot 'cat /var/log/atelier-switch.log 2>/dev/null; true' -Host $Hosts[$Node]) {
            $ms, $action, $closure = "$line" -split ' '
            if ($closure) { [pscustomobject]@{ Ms = [long]$ms; Action = $action; Closure = $closure } }
        }
    }

    # What the stand-in recorded for a node: its argv and its start and end (epoch ms), one object per run.
    function Get-StubRun([string] $Node) {
        foreach ($argv in Get-ChildItem $StubDir -Filter "$Node.*.argv" -ErrorAction SilentlyContinue) {
            $times = (Get-Content ($argv.FullName -replace '\.argv$', '.times')) -split ' '
            $text = [IO.File]::ReadAllText($argv.FullName)
            [pscustomobject]@{ Argv = @($text.Substring(0, $text.Length - 1) -split "`0"); Start = [long]$times[0]; End = [long]$times[1] }
        }
    }
}

AfterAll {
    $env:HOME = $SavedHome
    Remove-Item $SshHome, $StubDir -Recurse -Force -ErrorAction SilentlyContinue
    Stop-ExtraTestHost -Name 'idp-a'
    Stop-ExtraTestHost -Name 'idp-b'
}

Describe 'Infrastructure deploys on real test hosts' {
    BeforeEach {
        # Every host back at system-3-link with generations 1..3 and an empty switch log; a fresh stand-in record.
        foreach ($h in $A, $B) {
            Invoke-TestHostRoot -Host $h @'
    cd /nix/var/nix/profiles && ln -sfn system-3-link system.tmp && mv -T system.tmp system
    for l in system-*-link; do n=${l#system-}; n=${n%-link}; [ "$n" -gt 3 ] && rm -f "$l"; done
    : > /var/log/atelier-switch.log
    true
'@ | Out-Null
        }
        Remove-Item $StubDir -Recurse -Force -ErrorAction SilentlyContinue
        $env:ATELIER_DEPLOY_STUB_DIR = $StubDir
        $env:ATELIER_DEPLOY_STUB_FAIL = $null
        $env:ATELIER_DEPLOY_STUB_DELAY_MS = $null
        $env:ATELIER_DEPLOY_STUB_CONFIRM_DELAY_MS = $null
    }

    AfterEach {
        $env:ATELIER_DEPLOY_STUB_DIR = $null
        $env:ATELIER_DEPLOY_STUB_FAIL = $null
        $env:ATELIER_DEPLOY_STUB_DELAY_MS = $null
        $env:ATELIER_DEPLOY_STUB_CONFIRM_DELAY_MS = $null
    }

    Describe 'Invoke-InfraDeploy: the deploy-rs command line' {
        It 'maps every parameter to its deploy-rs flag, exactly as the stand-in received them' {
            $result = Invoke-InfraDeploy a -ComputerName $A.host -Port $A.sshPort -IdentityFile $A.identityFile -KnownHostsFile $A.knownHosts `
                -AcceptNewHostKey -User deploy -DeployCommand $Stub -Flake . -ProfileUser root -SshOpts '-o ConnectTimeout=10' `
                -FastConnection -SkipChecks -RemoteBuild -AutoRollback:$false -MagicRollback:$false -ConfirmTimeout 30 -ActivationTimeout 240 `
                -TempPath /tmp -Boot -DryActivate -RollbackSucceeded:$false -InteractiveSudo:$false -SudoCommand 'sudo -n' -CheckSigs `
                -KeepResult -ResultPath /tmp/result -DebugLogs -LogDir /tmp/deploy-logs -ExtraBuildArgs '--option', 'substituters', 'https://cache.example.org x'

            $run = @(Get-StubRun a)
            $run.Count | Should -Be 1
            $run[0].Argv | Should -Be @(
                '--ssh-user=deploy'
                '--profile-user=root'
                "--ssh-opts=-p $($A.sshPort) -i $($A.identityFile) -o UserKnownHostsFile=$($A.knownHosts) -o StrictHostKeyChecking=accept-new -o ConnectTimeout=10"
                "--hostname=$($A.host)"
                '--fast-connection=true'
                '--skip-checks'
                '--remote-build'
                '--auto-rollback=false'
                '--magic-rollback=false'
                '--confirm-timeout=30'
                '--activation-timeout=240'
                '--temp-path=/tmp'
                '--boot'
                '--dry-activate'
                '--rollback-succeeded=false'
                '--interactive-sudo=false'
                '--sudo=sudo -n'
                '--checksigs'
                '--keep-result'
                '--result-path=/tmp/result'
                '--debug-logs'
                '--log-dir=/tmp/deploy-logs'
                '.#a'
                '--'
                '--option'
                'substituters'
                'https://cache.example.org x')
            # The dry activation reached the host and changed nothing.
            $result.Status | Should -Be 'DryRun'
            $result.LogTail | Should -Match '\[activate\] \[INFO\] Dry activation'
            ($result.PreviousGeneration, $result.NewGeneration) | Should -Be (3, 3)
            Get-Link a | Should -Be 'system-3-link'
            @(Get-Switch a).Count | Should -Be 0
        }

        It 'passes no connection flag that was not given, and flags given as $true or $false as such' {
            # The node is named after its ssh_config alias: Atelier reaches it by its name, deploy-rs gets no --hostname
            # (and the stand-in, which has no flake to read one from, stops after recording its argv).
            $result = Invoke-InfraDeploy idp-a -DeployCommand $Stub -Flake 'github:org/infra' -FastConnection:$false -AutoRollback -ErrorAction SilentlyContinue

            (Get-StubRun idp-a).Argv | Should -Be @('--fast-connection=false', '--auto-rollback=true', 'github:org/infra#idp-a')
            ($result.Status, $result.PreviousGeneration, $result.NewGeneration) | Should -Be ('Failed', 3, 3)
            $result.Error | Should -Match 'needs --hostname'
            Get-Link a | Should -Be 'system-3-link'
        }

        It '-WhatIf prints each exact command line and runs nothing' {
            $script = "Import-Module '$env:ATELIER_MODULE'; Invoke-InfraDeploy a, b -ComputerName idp-a -DeployCommand '$Stub' -User deploy -SkipChecks -WhatIf"
            $output = & env "HOME=$SavedHome" dotnet pwsh -NoProfile -NonInteractive -Command $script 2>&1

            $LASTEXITCODE | Should -Be 0
            $output | Should -Contain "What if: Deploy a to idp-a: $Stub --ssh-user=deploy --hostname=idp-a --skip-checks '.#a'"
            $output | Should -Contain "What if: Deploy b to idp-a: $Stub --ssh-user=deploy --hostname=idp-a --skip-checks '.#b'"
            Test-Path $StubDir | Should -BeFalse
            Get-Link a | Should -Be 'system-3-link'
        }
    }

    Describe '-WhatIf with -DryActivate' {
        It 'prints the command line, then runs deploy-rs''s own dry activation, and changes nothing' {
            $script = "Import-Module '$env:ATELIER_MODULE'; Invoke-InfraDeploy a -ComputerName idp-a -DeployCommand '$Stub' -User deploy -SshOpts '-F $SshConfig' -DryActivate -WhatIf | ForEach-Object { 'STATUS ' + `$_.Status }"
            $output = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script 2>&1

            $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
            $output | Should -Contain "What if: Deploy a to idp-a: $Stub --ssh-user=deploy '--ssh-opts=-F $SshConfig' --hostname=idp-a --dry-activate '.#a'"
            $output | Should -Contain 'STATUS DryRun'
            @(Get-StubRun a).Argv | Should -Contain '--dry-activate'
            Get-Link a | Should -Be 'system-3-link'
            Get-Switch a | Should -BeNullOrEmpty
        }
    }

    Describe 'Invoke-InfraDeploy on two hosts' {
        It 'deploys both nodes at the same time, each to a new generation' {
            $env:ATELIER_DEPLOY_STUB_DELAY_MS = '1500'

            $results = $Both | Invoke-InfraDeploy @Common

            $results.Node | Should -Be 'a', 'b'
            $results.ComputerName | Should -Be 'idp-a', 'idp-b'
            $results.Status | Should -Be 'Succeeded', 'Succeeded'
            $results.PreviousGeneration | Should -Be 3, 3
            $results.NewGeneration | Should -Be 4, 4
            $a, $b = (Get-StubRun a), (Get-StubRun b)
            [Math]::Max($a.Start, $b.Start) | Should -BeLessThan ([Math]::Min($a.End, $b.End)) -Because 'the two deploy-rs runs overlap in time'
            $a.Argv | Should -Contain '--hostname=idp-a'
            $b.Argv | Should -Contain '--hostname=idp-b'
            foreach ($node in 'a', 'b') {
                Get-Link $node | Should -Be 'system-4-link'
                Get-Closure $node 4 | Should -Match "-nixos-system-$node-4$"
                (Get-Switch $node).Closure | Should -Be (Get-Closure $node 4)
            }
        }

        It 'rolls every changed node back to its recorded generation when one fails after activating, and the links show it' {
            $env:ATELIER_DEPLOY_STUB_FAIL = 'b:activate'

            $results = $Both | Invoke-InfraDeploy @Common -ErrorVariable failures -ErrorAction SilentlyContinue

            $results.Status | Should -Be 'RolledBack', 'RolledBack'
            $results.PreviousGeneration | Should -Be 3, 3
            $results.NewGeneration | Should -Be 4, 4
            $results.CurrentGeneration | Should -Be 3, 3
            $results[1].Error | Should -Match 'Activation of .* failed'
            $results[0].Error | Should -Match 'Rolled back to generation 3 because b failed'
            foreach ($node in 'a', 'b') {
                Get-Link $node | Should -Be 'system-3-link'
                # switch-to-configuration switch ran for generation 3's closure last.
                $last = Get-Switch $node | Select-Object -Last 1
                ($last.Action, $last.Closure) | Should -Be ('switch', (Get-Closure $node 3))
            }
            (Get-Switch a).Closure | Should -Be (Get-Closure a 4), (Get-Closure a 3)
            $failures.FullyQualifiedErrorId | Should -Be 'InfraDeployRolledBack,Atelier.Commands.InvokeInfraDeployCommand', 'InfraDeployRolledBack,Atelier.Commands.InvokeInfraDeployCommand'
        }

        It 'rolls the other node back when one fails to build, and leaves the failed one unchanged' {
            $env:ATELIER_DEPLOY_STUB_FAIL = 'b:build'

            $results = $Both | Invoke-InfraDeploy @Common -ErrorAction SilentlyContinue

            ($results[0].Status, $results[0].NewGeneration, $results[0].CurrentGeneration) | Should -Be ('RolledBack', 4, 3)
            ($results[1].Status, $results[1].NewGeneration, $results[1].CurrentGeneration) | Should -Be ('Failed', 3, 3)
            $results[1].Error | Should -Match 'Failed to push profile'
            Get-Link a | Should -Be 'system-3-link'
            Get-Link b | Should -Be 'system-3-link'
            @(Get-Switch b).Count | Should -Be 0 -Because 'nothing ran on the node that failed to build'
            Invoke-TestHostRoot 'ls /nix/var/nix/profiles' -Host $B | Should -Not -Contain 'system-4-link'
        }

        It 'leaves every node where deploy-rs left it with -RollbackOnFailure:$false' {
            $env:ATELIER_DEPLOY_STUB_FAIL = 'b:activate'

            $results = $Both | Invoke-InfraDeploy @Common -RollbackOnFailure:$false -WarningVariable warnings -ErrorAction SilentlyContinue -WarningAction SilentlyContinue

            $results.Status | Should -Be 'Succeeded', 'Failed'
            $results.CurrentGeneration | Should -Be 4, 4
            Get-Link a | Should -Be 'system-4-link'
            Get-Link b | Should -Be 'system-4-link'
            "$warnings" | Should -Match 'rollback is off'
        }

        It 'fails the process under pwsh -c when a node fails' {
            $script = "Import-Module '$env:ATELIER_MODULE'; Invoke-InfraDeploy a -ComputerName $($A.host) -Port $($A.sshPort) -IdentityFile $($A.identityFile) " +
                "-KnownHostsFile $($A.knownHosts) -DeployCommand '$Stub' -User deploy | Out-Null"
            $output = & env "ATELIER_DEPLOY_STUB_FAIL=a:build" "HOME=$SavedHome" dotnet pwsh -NoProfile -NonInteractive -Command $script 2>&1

            $LASTEXITCODE | Should -Be 1
            "$output" | Should -Match "The deploy of a to $([regex]::Escape($A.host)) failed: deploy-rs exited with code 1: \[deploy\] Failed to push profile"
            Get-Link a | Should -Be 'system-3-link'
        }
    }

    Describe 'Ctrl+C while deploy-rs waits to confirm' {
        It 'kills deploy-rs and switches every node that moved back before letting go' {
            $env:ATELIER_DEPLOY_STUB_CONFIRM_DELAY_MS = '30000'
            $ps = [powershell]::Create()
            try {
                [void] $ps.AddScript("Import-Module '$env:ATELIER_MODULE'; `$common = `$args[1]; `$args[0] | Invoke-InfraDeploy @common -Verbose").AddArgument($Both).AddArgument($Common)
                $handle = $ps.BeginInvoke()
                # Both nodes activated and wait to confirm: deploy-rs's own log lines, as Invoke-InfraDeploy streams them.
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                while (@($ps.Streams.Verbose | Where-Object Message -Match 'attempting to confirm activation').Count -lt 2 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
                @($ps.Streams.Verbose | Where-Object Message -Match 'attempting to confirm activation').Count | Should -Be 2

                $stopping = [Diagnostics.Stopwatch]::StartNew()
                $ps.Stop()
                $stopping.Elapsed.TotalSeconds | Should -BeLessThan 20 -Because 'deploy-rs is killed at once; only the switch back runs'
                $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            }
            finally { $ps.Dispose() }

            Get-Link a | Should -Be 'system-3-link'
            Get-Link b | Should -Be 'system-3-link'
            foreach ($node in 'a', 'b') {
                $switches = @(Get-Switch $node)
                $switches[0].Closure | Should -Not -Be (Get-Closure $node 3) -Because 'the deploy switched to its new generation first'
                $switches[-1].Closure | Should -Be (Get-Closure $node 3) -Because 'then switch-to-configuration ran for the recorded generation'
                $run = @(Get-StubRun $node)
                $run.Count | Should -Be 1
                $run[0].End | Should -Be $run[0].Start -Because 'the stand-in was killed before it could record its end'
            }
        }
    }

    Describe 'Get-InfraDeployTarget piped into Invoke-InfraDeploy' {
        It 'deploys only the node a commit touched' {
            $repo = New-Item -ItemType Directory (Join-Path $TestDrive "infra-$([guid]::NewGuid())")
            foreach ($node in 'a', 'b') { New-Item -ItemType Directory (Join-Path $repo "machines/$node") | Out-Null; Set-Content (Join-Path $repo "machines/$node/default.nix") '{ }' }
            & git -C $repo init -q; & git -C $repo -c user.name=t -c user.email=t@example.org commit -qm base --allow-empty
            & git -C $repo add -A; & git -C $repo -c user.name=t -c user.email=t@example.org commit -qm machines
            Set-Content (Join-Path $repo 'machines/a/default.nix') '{ networking.hostName = "a"; }'
            & git -C $repo -c user.name=t -c user.email=t@example.org commit -qam 'change a'

            $results = Get-InfraDeployTarget -From HEAD~1 -To HEAD -Path $repo -Node a, b |
                Invoke-InfraDeploy @Common -ComputerName idp-a -Flake $repo.FullName -ErrorAction Stop

            $results.Node | Should -Be 'a'
            $results.Status | Should -Be 'Succeeded'
            Get-Link a | Should -Be 'system-4-link'
            (Get-StubRun a).Argv[-1] | Should -Be "$($repo.FullName)#a"
            Get-StubRun b | Should -BeNullOrEmpty
            Get-Link b | Should -Be 'system-3-link'
        }
    }

    Describe 'Get-InfraGeneration' {
        It 'lists the profile tree: numbers, dates, the current one and each store path' {
            $generations = Get-InfraGeneration a -ComputerName idp-a

            $generations.Number | Should -Be 1, 2, 3
            $generations.Current | Should -Be $false, $false, $true
            foreach ($g in $generations) {
                $g.Path | Should -Be (Get-Closure a $g.Number)
                $g.Node | Should -Be 'a'
                $g.ComputerName | Should -Be 'idp-a'
                # The link's own mtime (stat without -L), as nix-env prints it.
                $stamp = Invoke-TestHostRoot "date -d @`$(stat -c %Y /nix/var/nix/profiles/system-$($g.Number)-link) '+%Y-%m-%d %H:%M:%S'" -Host $A | Select-Object -Last 1
                $g.Date.ToString('yyyy-MM-dd HH:mm:ss') | Should -Be $stamp
            }
        }

        It 'shows a deploy: the new generation is current, and the results of a deploy pipe in' {
            $deployed = $Both | Invoke-InfraDeploy @Common

            $current = $deployed | Get-InfraGeneration -Current

            $current.Node | Should -Be 'a', 'b'
            $current.Number | Should -Be 4, 4
            (Get-InfraGeneration b -ComputerName idp-b).Number | Should -Be 1, 2, 3, 4
        }
    }

    Describe 'Restore-InfraDeploy' {
        It 'switches back to the generation before the current one, and switch-to-configuration runs on the host' {
            Invoke-InfraDeploy a -ComputerName idp-a @Common | Out-Null
            Get-Link a | Should -Be 'system-4-link'

            $result = Restore-InfraDeploy a -ComputerName idp-a -Confirm:$false

            ($result.Operation, $result.Status, $result.PreviousGeneration, $result.NewGeneration, $result.CurrentGeneration) | Should -Be ('Restore', 'Succeeded', 4, 3, 3)
            Get-Link a | Should -Be 'system-3-link'
            $last = Get-Switch a | Select-Object -Last 1
            ($last.Action, $last.Closure) | Should -Be ('switch', (Get-Closure a 3))
        }

        It 'switches to a given generation, from a piped deploy result or a generation object' {
            $deployed = Invoke-InfraDeploy b -ComputerName idp-b @Common
            $deployed | Restore-InfraDeploy -Confirm:$false | Out-Null      # its PreviousGeneration (3)
            Get-Link b | Should -Be 'system-3-link'

            Get-InfraGeneration b -ComputerName idp-b | Where-Object Number -EQ 1 | Restore-InfraDeploy -Confirm:$false | Out-Null
            Get-Link b | Should -Be 'system-1-link'
            (Get-Switch b | Select-Object -Last 1).Closure | Should -Be (Get-Closure b 1)
        }

        It 'refuses a generation that does not exist, and changes nothing' {
            { Restore-InfraDeploy a 9 -ComputerName idp-a -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'GenerationNotFound,Atelier.Commands.RestoreInfraDeployCommand'
            Get-Link a | Should -Be 'system-3-link'
            @(Get-Switch a).Count | Should -Be 0
        }

        It '-WhatIf changes nothing' {
            Restore-InfraDeploy a -ComputerName idp-a -WhatIf
            Get-Link a | Should -Be 'system-3-link'
        }
    }
}
