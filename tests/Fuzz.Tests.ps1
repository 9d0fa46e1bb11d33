# The fuzz, kept as a test: every string and string[] parameter of every exported cmdlet (found by reflection, so a new
# parameter is fuzzed without being listed), one at a time, with a set of hostile values, the other parameters valid
# and pointing at the real test host's `notes` service. It runs for real where that is safe: the read-only cmdlets,
# and deploy and restore of `notes` (a deploy finds nothing new; a restore puts back the commit already deployed,
# without its database). New-ServiceModule, which writes into an infrastructure repository here, runs with -WhatIf.
#
# For every call: (1) no canary file appears, on this machine or on the host (each payload would `touch` it if a shell
# ran it); (2) a refused value makes no SSH login (sshd's accepted logins, before and after); (3) a failure is an error
# record with a stable id (InvalidRemoteValue, ParameterArgumentValidationError, or another of the module's own), never
# an unexpected exception; (4) a value bound for a host that holds shell syntax, control characters, a leading '-', a
# '~user' or an excessive length is refused, with one of the two validation ids.

BeforeDiscovery {
    Import-Module $env:ATELIER_MODULE -Force
    $common = [Management.Automation.Cmdlet]::CommonParameters + [Management.Automation.Cmdlet]::OptionalCommonParameters

    # Commands and options by design: their text is run on purpose, so hostile text is not a finding. Not fuzzed (their
    # limits are checked in the last Describe).
    $exempt = @(
        'Invoke-ServiceDeploy -BuildCommand', 'Invoke-ServiceDeploy -InstallCommand'     # run with sh -c in the work folder
        'Restore-ServiceDeploy -BuildCommand', 'Restore-ServiceDeploy -InstallCommand'
        'Invoke-ServiceDeploy -PreRestartCommand', 'Invoke-ServiceDeploy -PostDeployCommand'  # the deploy hooks, run the same way
        'New-ServiceModule -BuildCommand'    # the deploy's build command, written into the app's workflow
        'New-ServiceModule -StartCommand'    # the unit's ExecStart, written into the service's module
        'Invoke-InfraDeploy -DeployCommand'  # the deploy-rs program, run here
        'Invoke-InfraDeploy -SudoCommand'    # deploy-rs's --sudo: the command that elevates on the node
        'Invoke-InfraDeploy -SshOpts'        # options of the ssh run here (-o ProxyCommand=... is an option like any other)
        'Invoke-InfraDeploy -ExtraBuildArgs' # arguments of the nix build run here
        'Invoke-ServiceCommand -Command'     # the user's command line, run with sh -c in the work folder
    )
    # Bound for a host but quoted there as one argument, whatever they hold (shell syntax is just text): accepted like
    # a local value, the canary still checked.
    $quotedParameters = @(
        'Invoke-ServiceCommand -ArgumentList' # each word quoted (ShellCommand.Words)
        'Get-ServiceLog -Grep'                # journalctl's --grep=<pattern>, quoted
        'Lock-ServiceDeploy -Message'         # one line in the lock's owner record, quoted
    )

    # Values that stay on this machine: fuzzed for the canary and for crashes, but they may be accepted.
    $localCommands = @(
        'New-ServiceModule'      # writes Nix files and a workflow here (run with -WhatIf)
        'Get-AtelierSetting'     # reads the settings file
        'Get-AtelierService'     # reads the services manifest
        'Get-InfraDeployTarget'  # git diff and nix eval here
    )
    $localNames = @(
        'IdentityFile', 'KnownHostsFile'   # files here, read by SSH.NET
        'Manifest', 'Machine'              # the services manifest and a machine's name in it
        'HistoryPath'                      # the local history database
        'Redact'                           # values and patterns matched here, never sent anywhere
    )
    $localParameters = @(
        'Backup-ServiceDb -Destination'    # where the snapshot is downloaded to, here
        'Save-ServiceDbSnapshot -Destination'
        'Get-ServiceDbSnapshot -Database'  # a wildcard filter on the names the host lists
        'Test-ServiceHealth -ExpectContent' # a regular expression for the body, matched here
        'Test-AtelierMachine -Name'        # machine names (patterns) of the manifest
        'Invoke-InfraDeploy -Flake'        # the flake deploy-rs evaluates here
        'Invoke-InfraDeploy -ResultPath'   # deploy-rs's build result links, here
    )

    $script:Cases = foreach ($command in Get-Command -Module Atelier -CommandType Cmdlet | Sort-Object Name) {
        foreach ($parameter in $command.Parameters.Values | Sort-Object Name) {
            if ($parameter.Name -in $common -or $parameter.ParameterType -notin [string], [string[]]) { continue }
            $key = "$($command.Name) -$($parameter.Name)"
            if ($key -in $exempt) { continue }
            @{
                Command   = $command.Name
                Parameter = $parameter.Name
                IsArray   = $parameter.ParameterType -eq [string[]]
                Local     = $command.Name -in $localCommands -or $parameter.Name -in $localNames -or $key -in $localParameters -or $key -in $quotedParameters
            }
        }
    }
}

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $ProgressPreference = 'SilentlyContinue'
    $script:TestHost = Get-TestHost
    $script:Notes = $TestHost.services.notes
    $script:Connection = Get-TestConnection -Service notes
    $script:Canary = "/tmp/atelier-fuzz-canary-$([guid]::NewGuid().ToString('N'))"

    # A sandbox deep enough that '../../../../etc/passwd' stays inside it, as the current folder: a local path in a
    # payload lands here. No settings file applies (not the user's either).
    $script:Sandbox = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-fuzz-$([guid]::NewGuid().ToString('N'))")
    $script:Here = New-Item -ItemType Directory (Join-Path $Sandbox 'w/a/b/c/d/e')
    $script:SavedConfigHome = $env:XDG_CONFIG_HOME
    $env:XDG_CONFIG_HOME = (New-Item -ItemType Directory (Join-Path $Sandbox 'config')).FullName
    Push-Location $Here

    $script:History = Join-Path $Sandbox 'history.db'
    $script:ManifestFile = Join-Path $Sandbox 'services.json'
    @{ fuzz = [ordered]@{ hostname = $TestHost.host; type = 'server'; services = @([ordered]@{ name = 'notes'; health_url = $Notes.healthUrl }) } } |
        ConvertTo-Json -Depth 6 | Set-Content $ManifestFile

    # A small infrastructure repository for Get-InfraDeployTarget: two commits, nodes given with -Node.
    $script:Infra = New-Item -ItemType Directory (Join-Path $Sandbox 'infra')
    New-Item -ItemType Directory (Join-Path $Infra 'machines/fuzz') | Out-Null
    & git -C $Infra init -q -b main
    foreach ($step in 'one', 'two') {
        Set-Content (Join-Path $Infra 'machines/fuzz/default.nix') "{ ... }: { } # $step"
        & git -C $Infra add -A
        & git -C $Infra -c user.name=fuzz -c user.email=fuzz@atelier.invalid -c commit.gpgsign=false commit -q -m $step
    }
    $script:InfraFixture = Join-Path $PSScriptRoot 'Fixtures/infra'

    # notes starts (and ends) deployed at origin's head and healthy, so a deploy finds nothing to do.
    $script:Original = (Get-TestDeployState -Service notes).Commit
    Reset-TestOrigin -Service notes -To $Original
    $infraConnection = @{ ComputerName = $TestHost.host; Port = [int]$TestHost.sshPort; IdentityFile = $TestHost.identityFile; KnownHostsFile = $TestHost.knownHosts; User = $TestHost.deployUser }
    $script:Generation = (Get-InfraGeneration -Node fuzz @infraConnection -Current -ErrorAction Stop).Number

    # The valid parameters of each cmdlet (of each parameter set where a cmdlet has two); the fuzzed one replaces its own.
    $deploy = @{ Service = 'notes'; HealthUrl = $Notes.healthUrl; HealthTimeout = 15; HistoryPath = $History } + $Connection
    $script:Base = @{
        'Backup-ServiceDb'         = @{ Service = 'notes'; DbPath = 'data/notes.db'; Keep = 2 } + $Connection
        'Get-AtelierService'       = @{ Manifest = $ManifestFile; Name = 'notes' }
        'Get-AtelierSetting'       = @{ Name = 'keep' }
        'Get-InfraDeployTarget'    = @{ From = 'HEAD~1'; To = 'HEAD'; Path = $Infra.FullName; Node = 'fuzz' }
        'Get-InfraGeneration'      = @{ Node = 'fuzz' } + $infraConnection
        'Get-ServiceDbSnapshot'    = @{ Service = 'notes' } + $Connection
        'Save-ServiceDbSnapshot'   = @{ Service = 'notes'; Path = '/var/lib/notes/.atelier/snapshots/notes.20261201T000000Z.0000000.db'; Destination = $Sandbox.FullName } + $Connection
        'Get-ServiceDeployHistory' = @{ Service = 'notes'; FromHost = $true; Last = 1 } + $Connection
        'Get-ServiceLog'           = @{ Service = 'notes'; Last = 1 } + $Connection
        'Get-ServiceDeployLock'    = @{ Service = 'notes' } + $Connection
        'Lock-ServiceDeploy'       = @{ Service = 'notes'; Message = 'fuzz'; WhatIf = $true } + $Connection
        'Unlock-ServiceDeploy'     = @{ Service = 'notes'; WhatIf = $true } + $Connection
        'Invoke-ServiceCommand'    = @{ Service = 'notes'; Command = 'true'; Confirm = $false } + $Connection
        'Invoke-ServiceCommand -ArgumentList' = @{ Service = 'notes'; ArgumentList = @('true'); Confirm = $false } + $Connection
        'Get-ServiceStatus'        = @{ Service = 'notes'; HealthUrl = $Notes.healthUrl; DbPath = 'data/notes.db' } + $Connection
        'Invoke-InfraDeploy'       = @{ Node = 'fuzz'; DeployCommand = (Join-Path $PSScriptRoot 'Stubs/deploy'); DryActivate = $true; SkipChecks = $true; SshOpts = '-o BatchMode=yes' } + $infraConnection
        'Invoke-ServiceDeploy'     = $deploy
        'New-ServiceModule'        = @{ Name = 'fuzzed'; Machine = 'terebithia'; InfraPath = $InfraFixture; WhatIf = $true }
        'Restore-InfraDeploy'      = @{ Node = 'fuzz'; Generation = $Generation; Confirm = $false } + $infraConnection
        'Restore-ServiceDeploy'    = $deploy + @{ Commit = $Original; SkipDatabase = $true; Runtime = 'custom'; Confirm = $false }
        'Test-AtelierMachine'      = @{ Manifest = $ManifestFile; Name = 'fuzz'; Timeout = 5 }
        'Test-AtelierMachine -Machine'      = @{ Machine = 'fuzz'; ComputerName = $TestHost.host; Port = [int]$TestHost.sshPort; Timeout = 5 }
        'Test-AtelierMachine -ComputerName' = @{ Machine = 'fuzz'; ComputerName = $TestHost.host; Port = [int]$TestHost.sshPort; Timeout = 5 }
        'Test-ServiceHealth'       = @{ Name = 'notes'; HealthUrl = $Notes.healthUrl; Timeout = 10 } + $Connection
        # A body that does not match polls until the deadline: one second of it is enough here.
        'Test-ServiceHealth -ExpectContent' = @{ Name = 'notes'; HealthUrl = $Notes.healthUrl; Timeout = 1 } + $Connection
    }

    # The hostile values. Refused: a value bound for a host must be refused (the others may be accepted there: a path
    # with '..', URLs). Each one that a shell would run touches the canary.
    $url = $Notes.healthUrl
    $script:Payloads = @(
        @{ Name = 'command substitution'; Value = "`$(touch $Canary)"; Refused = $true }
        @{ Name = 'backticks'; Value = "``touch $Canary``"; Refused = $true }
        @{ Name = 'semicolon'; Value = "x; touch $Canary"; Refused = $true }
        @{ Name = 'pipe'; Value = "x | touch $Canary"; Refused = $true }
        @{ Name = 'and'; Value = "x && touch $Canary"; Refused = $true }
        @{ Name = 'newline'; Value = "x`ntouch $Canary"; Refused = $true }
        @{ Name = 'single quote'; Value = "x'; touch $Canary; '"; Refused = $true }
        @{ Name = 'double quote'; Value = "x`"; touch $Canary; `""; Refused = $true }
        @{ Name = 'IFS'; Value = "x;touch`${IFS}$Canary"; Refused = $true }
        @{ Name = 'glob'; Value = 'x*[ab]?{c,d}'; Refused = $true }
        @{ Name = '68 KB'; Value = 'a' * 68000; Refused = $true }
        @{ Name = 'NUL, DEL, C1, ESC'; Value = "x`0`u{7f}`u{85}`u{1b}[2J;touch $Canary"; Refused = $true }
        @{ Name = 'line separators'; Value = "x`u{2028}touch $Canary`u{2029}"; Refused = $true }
        @{ Name = 'leading dash (ssh)'; Value = "-oProxyCommand=touch $Canary"; Refused = $true }
        @{ Name = 'leading dash (git)'; Value = "--output=$Canary"; Refused = $true }
        @{ Name = '~user'; Value = '~nobody/atelier-fuzz'; Refused = $true }
        @{ Name = 'dot-dot path'; Value = '../../../../etc/passwd'; Refused = $false }
        @{ Name = 'URL'; Value = $url; Refused = $false }
        @{ Name = 'URL with shell syntax'; Value = "$url`?q=`$(touch $Canary)&r=``touch $Canary``"; Refused = $false }
        @{ Name = 'YAML'; Value = "key: !!python/object/apply:os.system [`"touch $Canary`"]"; Refused = $true }
        @{ Name = 'JSON and Nix'; Value = "{`"a`": `"`${builtins.readFile /etc/passwd}`", `"b`": `"''; touch $Canary; ''`"}"; Refused = $true }
    )

    $script:RefusalIds = 'InvalidRemoteValue', 'ParameterArgumentValidationError'
    # Exceptions that mean a bug, whatever id they come with.
    $script:BugTypes = 'System.NullReferenceException', 'System.IndexOutOfRangeException', 'System.InvalidCastException',
        'System.Collections.Generic.KeyNotFoundException', 'System.UriFormatException', 'System.ArgumentNullException'
    $script:Stats = @{ Calls = 0; Refused = 0; Accepted = 0; Logins = 0; Watch = [Diagnostics.Stopwatch]::StartNew() }

    function Invoke-Fuzz([string] $Command, [hashtable] $Parameters) {
        # Runs one call; returns its error records (non-terminating and terminating alike).
        $caught = @()
        $thrown = $null
        try {
            $null = & $Command @Parameters -ErrorAction SilentlyContinue -ErrorVariable caught -WarningAction SilentlyContinue -InformationAction Ignore 2>$null 3>$null 4>$null 6>$null
        }
        catch {
            $thrown = $_
        }
        # The error variable holds an exception (not a record) when the cmdlet threw one: its record, or one made for it.
        foreach ($item in @($caught) + @($thrown | Where-Object { $_ -and $_ -notin $caught })) {
            if ($item -is [Management.Automation.ErrorRecord]) { $item }
            elseif ($item -is [Management.Automation.IContainsErrorRecord]) { $item.ErrorRecord }
            else { [Management.Automation.ErrorRecord]::new($item, $item.GetType().FullName, 'NotSpecified', $null) }
        }
    }

    function Test-Canary {
        # True when a canary file exists here or on the host (and removes it, so the next finding is its own).
        $found = Test-Path $Canary
        $onHost = [bool](Invoke-TestHostRoot "test -e $Canary && rm -f $Canary && echo found || true")
        Remove-Item $Canary -Force -ErrorAction Ignore
        $found -or $onHost
    }
}

AfterAll {
    Pop-Location
    $env:XDG_CONFIG_HOME = $SavedConfigHome
    Remove-Item $Sandbox -Recurse -Force -ErrorAction Ignore
    Write-Host ("fuzz: {0} calls ({1} refused, {2} accepted), {3} SSH logins by accepted calls, {4:0} s" -f
        $Stats.Calls, $Stats.Refused, $Stats.Accepted, $Stats.Logins, $Stats.Watch.Elapsed.TotalSeconds)
}

Describe 'Fuzz: <Command> -<Parameter>' -ForEach $Cases {
    It 'runs no payload in a shell, logs in for no refused one, and fails only with stable error ids' {
        $base = $Base["$Command -$Parameter"] ?? $Base[$Command]
        $logsIn = (Get-Command $Command).Parameters.ContainsKey('IdentityFile')
        $findings = [Collections.Generic.List[string]]::new()
        foreach ($payload in $Payloads) {
            $parameters = $base.Clone()
            $parameters[$Parameter] = if ($IsArray) { , @($payload.Value) } else { $payload.Value }
            $before = if ($logsIn) { Get-TestHostLoginCount }
            $records = @(Invoke-Fuzz $Command $parameters)
            $Stats.Calls++
            $ids = @($records | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] })
            $refused = @($ids | Where-Object { $_ -in $RefusalIds }).Count -gt 0
            if ($refused) { $Stats.Refused++ } else { $Stats.Accepted++ }

            foreach ($record in $records) {
                $exception = $record.Exception
                while ($exception -is [Management.Automation.CmdletInvocationException] -and $exception.InnerException) { $exception = $exception.InnerException }
                $type = $exception.GetType().FullName
                $id = ($record.FullyQualifiedErrorId -split ',')[0]
                if ($id -eq 'UnexpectedFailure' -or $id -match 'Exception$|^System\.' -or $type -in $BugTypes -or $record.Exception -is [Management.Automation.CmdletInvocationException]) {
                    $findings.Add("$($payload.Name): unexpected $type ($id): $(($exception.Message -replace '\s+', ' ')[0..150] -join '')")
                }
            }

            if ($logsIn) {
                $logins = (Get-TestHostLoginCount) - $before
                if ($refused -and $logins -gt 0) { $findings.Add("$($payload.Name): refused ($($ids -join ', ')) after $logins SSH login(s)") }
                if (-not $refused) { $Stats.Logins += $logins }
            }

            if (-not $Local -and $payload.Refused -and -not $refused) {
                $findings.Add("$($payload.Name): accepted for a host (errors: $(if ($ids) { $ids -join ', ' } else { 'none' }))")
            }

            if (-not $refused -and (Test-Canary)) { $findings.Add("$($payload.Name): THE CANARY WAS TOUCHED") }
        }

        $findings | Should -BeNullOrEmpty
        Test-Canary | Should -BeFalse
    }
}

Describe 'Limits: an over-long value is refused before connecting, naming its limit' {
    It '<Command> -<Parameter> (<Length> characters)' -ForEach (@(
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'Service'; Value = 'a' * 33; Limit = 'at most 32' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'Branch'; Value = 'b' * 256; Limit = 'at most 255' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'WorkDir'; Value = (@('w' * 200) * 21) -join '/'; Limit = '4096' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'WorkDir'; Value = 'n' * 256; Limit = 'at most 255' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'BuildCommand'; Value = 'x' * 1001; Limit = 'at most 1000' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'InstallCommand'; Value = 'x' * 1001; Limit = 'at most 1000' }
        @{ Command = 'Restore-ServiceDeploy'; Parameter = 'BuildCommand'; Value = 'x' * 1001; Limit = 'at most 1000' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'PreRestartCommand'; Value = 'x' * 1001; Limit = 'at most 1000' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'PostDeployCommand'; Value = 'x' * 1001; Limit = 'at most 1000' }
        @{ Command = 'Backup-ServiceDb'; Parameter = 'DbPath'; Value = 'data/' + ((@('d' * 250) * 17) -join '/'); Limit = 'at most 4096' }
        @{ Command = 'Backup-ServiceDb'; Parameter = 'Service'; Value = 's' * 40; Limit = 'at most 32' }
        @{ Command = 'Test-ServiceHealth'; Parameter = 'HealthUrl'; Value = "http://127.0.0.1:1/?$('q' * 2100)"; Limit = 'at most 2048' }
        @{ Command = 'Get-ServiceDeployHistory'; Parameter = 'Service'; Value = 'h' * 33; Limit = 'at most 32' }
    ) | ForEach-Object { $_.Length = $_.Value.Length; $_ }) {
        $parameters = ($Base["$Command -$Parameter"] ?? $Base[$Command]).Clone()
        $parameters[$Parameter] = $Value
        $before = Get-TestHostLoginCount
        $records = @(Invoke-Fuzz $Command $parameters)
        (Get-TestHostLoginCount) - $before | Should -Be 0 -Because "$Command -$Parameter is refused before it connects"
        $records.Count | Should -BeGreaterThan 0
        ($records[0].FullyQualifiedErrorId -split ',')[0] | Should -BeIn $RefusalIds
        $records[0].Exception.Message | Should -Match ([regex]::Escape($Limit))
        # A long value's message quotes its start, not all of it.
        if ($Value.Length -gt 300) { $records[0].Exception.Message.Length | Should -BeLessThan $Value.Length }
    }
}
