# Get-AtelierService and Test-AtelierMachine against a services manifest whose machines point at the real test host:
# its services' health over HTTP, its sshd's identification line, binding by property name into the other cmdlets
# (nulls included), wildcard filters, errors, and tab completion through TabExpansion2.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:SshPort = [int]$TestHost.sshPort

    function Get-ClosedPort {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $port
    }

    # Three machines: alpha reaches the test host through its tailscale_host, beta through its hostname, gamma
    # through an address the test host's sshd (bound to 127.0.0.1 only) does not listen on.
    $script:ManifestJson = @{
        alpha = [ordered]@{
            hostname = 'alpha'; type = 'server'; tailscale_host = $TestHost.host
            services = @(
                [ordered]@{ name = 'demo'; description = 'Demo app'; domain = 'demo.example.org'; port = $TestHost.services.demo.port
                    runtime = 'bun'; repository = $TestHost.services.demo.origin; health_url = $TestHost.services.demo.healthUrl
                    data = @{ sqlite = $TestHost.services.demo.dbPath; postgres = $null; files = @() } }
                [ordered]@{ name = 'notes'; description = 'Notes app'; domain = 'notes.example.org'; port = $TestHost.services.notes.port
                    runtime = 'node'; repository = $null; health_url = $TestHost.services.notes.healthUrl
                    data = @{ sqlite = $null; postgres = $null; files = @('/var/lib/notes/uploads') } }
            )
        }
        beta = [ordered]@{
            hostname = $TestHost.host; type = 'client'; tailscale_host = $null
            services = @(
                [ordered]@{ name = 'dash'; port = 4000; runtime = 'custom'; health_url = $null; data = @{ sqlite = $null; postgres = 'dash'; files = @() } }
                [ordered]@{ name = 'docs'; port = 4001; runtime = 'go'; health_url = $null }
            )
        }
        gamma = [ordered]@{
            hostname = 'gamma'; type = 'server'; tailscale_host = '127.0.0.2'
            services = @([ordered]@{ name = 'gallery'; port = 4002 })
        }
    } | ConvertTo-Json -Depth 8
    $script:Manifest = Join-Path $TestDrive 'services.json'
    Set-Content -Path $Manifest -Value $ManifestJson
    $script:Keys = @{ IdentityFile = $TestHost.identityFile; KnownHostsFile = $TestHost.knownHosts }
}

Describe 'Get-AtelierService' {
    It 'writes every service of every machine, with the host each one is reached at' {
        $services = Get-AtelierService -Manifest $Manifest -ErrorAction Stop
        $services | Should -HaveCount 5
        $services[0].GetType().FullName | Should -Be 'Atelier.Manifest.AtelierService'
        ($services.Name | Sort-Object) | Should -Be @('dash', 'demo', 'docs', 'gallery', 'notes')
        $demo = $services | Where-Object Name -EQ 'demo'
        $demo.Machine | Should -Be 'alpha'
        $demo.Host | Should -Be $TestHost.host
        $demo.Port | Should -Be $TestHost.services.demo.port
        $demo.HealthUrl | Should -Be $TestHost.services.demo.healthUrl
        $demo.DbPath | Should -Be $TestHost.services.demo.dbPath
        $demo.Runtime | Should -Be 'bun'
        ($services | Where-Object Name -EQ 'dash').Host | Should -Be $TestHost.host -Because 'beta has no tailscale_host, so its hostname is used'
        ($services | Where-Object Name -EQ 'dash').Postgres | Should -Be 'dash'
        ($services | Where-Object Name -EQ 'gallery').Host | Should -Be '127.0.0.2'
        ($services | Where-Object Name -EQ 'notes').Files | Should -Be @('/var/lib/notes/uploads')
    }

    It 'leaves missing values $null, never empty strings' {
        $notes = Get-AtelierService -Manifest $Manifest -Name notes -ErrorAction Stop
        $null -eq $notes.DbPath | Should -BeTrue
        $null -eq $notes.Repository | Should -BeTrue
        $docs = Get-AtelierService -Manifest $Manifest -Name docs -ErrorAction Stop
        $null -eq $docs.HealthUrl | Should -BeTrue
        $null -eq $docs.Domain | Should -BeTrue
    }

    It 'filters by service name <Name> and machine <Machine>' -ForEach @(
        @{ Name = 'd*'; Machine = $null; Expected = @('dash', 'demo', 'docs') }
        @{ Name = $null; Machine = 'b*'; Expected = @('dash', 'docs') }
        @{ Name = 'D*'; Machine = 'alpha'; Expected = @('demo') }
        @{ Name = 'no*'; Machine = 'alpha', 'gamma'; Expected = @('notes') }
        @{ Name = '*'; Machine = 'g?mma'; Expected = @('gallery') }
    ) {
        $filter = @{}
        if ($Name) { $filter.Name = $Name }
        if ($Machine) { $filter.Machine = $Machine }
        $found = Get-AtelierService -Manifest $Manifest @filter -ErrorAction Stop
        ($found.Name | Sort-Object) | Should -Be $Expected
    }

    It 'writes ServiceNotFound and MachineNotFound for names without wildcards that match nothing, and the rest' {
        $found = Get-AtelierService -Manifest $Manifest -Name demo, nothing, 'zz*' -ErrorVariable failures -ErrorAction SilentlyContinue
        $found.Name | Should -Be 'demo'
        $failures | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'ServiceNotFound,Atelier.Commands.GetAtelierServiceCommand'
        $failures[0].TargetObject | Should -Be 'nothing'

        Get-AtelierService -Manifest $Manifest -Machine delta -ErrorVariable missing -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $missing[0].FullyQualifiedErrorId | Should -Be 'MachineNotFound,Atelier.Commands.GetAtelierServiceCommand'
    }

    It 'resolves a relative -Manifest against the current location, and a folder to its services.json' {
        Push-Location $TestDrive
        try {
            (Get-AtelierService -Manifest ./services.json -ErrorAction Stop) | Should -HaveCount 5
            (Get-AtelierService -Manifest . -ErrorAction Stop) | Should -HaveCount 5
        }
        finally { Pop-Location }
    }

    It 'fails with <Id> for <Case>' -ForEach @(
        @{ Case = 'no manifest and no default'; Id = 'ManifestNotConfigured'; Arguments = @{} }
        @{ Case = 'a file that does not exist'; Id = 'ManifestNotFound'; Arguments = @{ Manifest = 'TestDrive:/missing.json' } }
        @{ Case = 'a manifest of the wrong shape'; Id = 'ManifestInvalid'; Json = '{ "alpha": { "services": [ { "name": "demo", "port": "3000" } ] } }' }
        @{ Case = 'text that is not JSON'; Id = 'ManifestInvalid'; Json = '{ "alpha": ' }
    ) {
        if ($Json) {
            $bad = Join-Path $TestDrive 'bad.json'
            Set-Content $bad $Json
            $Arguments = @{ Manifest = $bad }
        }
        $thrown = { Get-AtelierService @Arguments } | Should -Throw -PassThru
        $thrown.FullyQualifiedErrorId | Should -Be "$Id,Atelier.Commands.GetAtelierServiceCommand"
        if ($Id -eq 'ManifestNotConfigured') { $thrown.Exception.Message | Should -Match "pass -Manifest .* or set 'manifest:' in atelier.yaml" }
        if ($Json -match '"3000"') { $thrown.Exception.Message | Should -Match ([regex]::Escape('$.alpha.services[0].port must be a port number, not the string "3000"')) }
    }

    It 'shows a table grouped by machine' {
        $table = Get-AtelierService -Manifest $Manifest | Out-String -Width 200
        $table | Should -Match 'Machine: alpha'
        $table | Should -Match 'Machine: beta'
        $table | Should -Match 'Name\s+Host\s+Port\s+Runtime\s+Data\s+HealthUrl'
        $table | Should -Match ('demo\s+{0}\s+{1}\s+bun\s+sqlite' -f [regex]::Escape($TestHost.host), $TestHost.services.demo.port)
    }
}

Describe 'Services piped into the other cmdlets' {
    It 'Test-ServiceHealth reports the test host''s services Up, binding Name, Host and HealthUrl' {
        $results = Get-AtelierService -Manifest $Manifest | Where-Object HealthUrl | Test-ServiceHealth -Timeout 10 -ErrorAction Stop
        $results | Should -HaveCount 2
        foreach ($r in $results) {
            $r.Status | Should -Be 'Up'
            $r.Healthy | Should -BeTrue
            $r.ComputerName | Should -Be $TestHost.host
        }
        ($results.Service | Sort-Object) | Should -Be @('demo', 'notes')
        ($results | Where-Object Service -EQ 'notes').HealthUrl | Should -Be $TestHost.services.notes.healthUrl
    }

    It 'Invoke-ServiceDeploy -WhatIf binds services whose health URL and database are $null without a validation error' {
        $services = Get-AtelierService -Manifest $Manifest -Name demo, notes, dash -ErrorAction Stop
        $null = $services | Invoke-ServiceDeploy -WhatIf -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures | Should -BeNullOrEmpty
    }

    It 'the same object with empty strings instead of $null would be refused (the check above can fail)' {
        $emptied = Get-AtelierService -Manifest $Manifest -Name notes | Select-Object Name, Host, Runtime, @{ n = 'DbPath'; e = { '' } }, @{ n = 'HealthUrl'; e = { '' } }
        $null = $emptied | Invoke-ServiceDeploy -WhatIf -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -Match '^ParameterArgumentValidationError'
    }

    It 'a runtime the deployer does not know (go) is refused when bound, and -Runtime custom on the command wins' {
        $docs = Get-AtelierService -Manifest $Manifest -Name docs
        $null = $docs | Invoke-ServiceDeploy -WhatIf -ErrorVariable refused -ErrorAction SilentlyContinue
        "$($refused[0])" | Should -Match 'Runtime'
        $null = $docs | Invoke-ServiceDeploy -WhatIf -Runtime custom -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures | Should -BeNullOrEmpty
    }

    It 'the service''s Port does not bind to the SSH -Port of any cmdlet' {
        foreach ($name in 'Invoke-ServiceDeploy', 'Restore-ServiceDeploy', 'Backup-ServiceDb', 'Get-ServiceDbSnapshot', 'Get-ServiceDeployHistory', 'Test-ServiceHealth', 'Test-AtelierMachine') {
            $port = (Get-Command $name).Parameters['Port']
            @($port.Attributes | Where-Object { $_ -is [Management.Automation.ParameterAttribute] -and $_.ValueFromPipelineByPropertyName }) |
                Should -BeNullOrEmpty -Because "$name -Port is the SSH port"
        }
        # Seen on a real connection: without -Port the SSH connection goes to port 22, not to demo's HTTP port.
        $null = Get-AtelierService -Manifest $Manifest -Name demo | Get-ServiceDbSnapshot @Keys -ErrorVariable failures -ErrorAction SilentlyContinue
        "$($failures[0])" | Should -Match ([regex]::Escape("$($TestHost.host):22"))
        "$($failures[0])" | Should -Not -Match ([regex]::Escape(":$($TestHost.services.demo.port)"))
    }

    It 'Backup-ServiceDb takes demo''s database from the manifest over SSH' {
        $snapshot = Get-AtelierService -Manifest $Manifest -Name demo | Backup-ServiceDb -Port $SshPort @Keys -Keep 25 -Confirm:$false -ErrorAction Stop
        $snapshot.Service | Should -Be 'demo'
        $snapshot.SourcePath | Should -Be $TestHost.services.demo.dbPath
    }
}

Describe 'Test-AtelierMachine' {
    It 'says a machine with the real sshd is Online with its SSH-2.0 line, and one on a closed address Offline' {
        $results = Test-AtelierMachine -Manifest $Manifest -Port $SshPort -Timeout 5 -ErrorAction Stop
        $results | Should -HaveCount 3
        $results[0].GetType().FullName | Should -Be 'Atelier.Manifest.MachineStatus'
        foreach ($name in 'alpha', 'beta') {
            $r = $results | Where-Object Machine -EQ $name
            $r.Online | Should -BeTrue
            $r.Banner | Should -Match '^SSH-2\.0-OpenSSH'
            $r.Host | Should -Be $TestHost.host
            $r.Port | Should -Be $SshPort
            $r.LatencyMs | Should -BeLessThan 5000
            $r.Error | Should -BeNullOrEmpty
        }
        $gamma = $results | Where-Object Machine -EQ 'gamma'
        $gamma.Online | Should -BeFalse
        $gamma.Banner | Should -BeNullOrEmpty
        $gamma.Error | Should -Be "connection refused by 127.0.0.2:$SshPort"
    }

    It 'says a machine is Offline when nothing listens on -Port' {
        $closed = Get-ClosedPort
        $r = Test-AtelierMachine -Manifest $Manifest -Name alpha -Port $closed -ErrorAction Stop
        $r | Should -HaveCount 1
        $r.Online | Should -BeFalse
        $r.Error | Should -Be "connection refused by $($TestHost.host):$closed"
    }

    It 'probes each machine of piped services once' {
        $results = Get-AtelierService -Manifest $Manifest | Test-AtelierMachine -Port $SshPort -ErrorAction Stop
        ($results.Machine | Sort-Object) | Should -Be @('alpha', 'beta', 'gamma')
        ($results | Where-Object Online).Machine | Sort-Object | Should -Be @('alpha', 'beta')
    }

    It 'probes a machine given by -Machine and -ComputerName, without a manifest' {
        $r = Test-AtelierMachine -Machine builder -ComputerName $TestHost.host -Port $SshPort -ErrorAction Stop
        $r.Machine | Should -Be 'builder'
        $r.Online | Should -BeTrue
    }

    It 'reaches an alias through ~/.ssh/config (HostName and Port) when -Port is not given' {
        $sshHome = New-Item -ItemType Directory (Join-Path $TestDrive "home-$([guid]::NewGuid())")
        New-Item -ItemType Directory (Join-Path $sshHome '.ssh') | Out-Null
        Set-Content (Join-Path $sshHome '.ssh/config') "Host sandbox-alias`n  HostName $($TestHost.host)`n  Port $SshPort`n"
        $saved = $env:HOME
        try {
            $env:HOME = $sshHome.FullName
            $r = Test-AtelierMachine -Machine sandbox -ComputerName sandbox-alias -ErrorAction Stop
        }
        finally { $env:HOME = $saved }
        $r.Online | Should -BeTrue
        $r.Host | Should -Be $TestHost.host
        $r.Port | Should -Be $SshPort
        $r.Banner | Should -Match '^SSH-2\.0-'
    }

    It 'writes MachineNotFound for a machine name that is not in the manifest' {
        $r = Test-AtelierMachine -Manifest $Manifest -Name delta -Port $SshPort -ErrorVariable failures -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -Be 'MachineNotFound,Atelier.Commands.TestAtelierMachineCommand'
    }

    It 'shows a table with the identification line or the reason' {
        $table = Test-AtelierMachine -Manifest $Manifest -Port $SshPort | Sort-Object Machine | Out-String -Width 200
        $table | Should -Match 'Machine\s+Host\s+Port\s+Online\s+Latency\s+Banner / Error'
        $table | Should -Match 'alpha\s+\S+\s+\d+\s+True\s+\d+ ms SSH-2\.0-'
        $table | Should -Match 'gamma\s+127\.0\.0\.2\s+\d+\s+False\s+connection refused'
    }
}

Describe 'Tab completion from the manifest' {
    BeforeAll {
        function Complete([string] $Line) { (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches }
    }

    It 'completes Invoke-ServiceDeploy -Service d<Tab> with the services of the -Manifest given earlier on the line' {
        $found = Complete "Get-AtelierService -Manifest '$Manifest' | Invoke-ServiceDeploy -Service d"
        $found.CompletionText | Should -Be @('dash', 'demo', 'docs')
        ($found | Where-Object CompletionText -EQ 'demo').ToolTip | Should -Be 'demo on alpha: Demo app (demo.example.org)'
    }

    It 'completes <Line>' -ForEach @(
        @{ Line = 'Get-AtelierService -Manifest ''{0}'' -Name n'; Expected = @('notes') }
        @{ Line = 'Get-AtelierService -Manifest ''{0}'' -Machine alpha -Name '; Expected = @('demo', 'notes') }
        @{ Line = 'Get-AtelierService -Manifest ''{0}'' -Machine '; Expected = @('alpha', 'beta', 'gamma') }
        @{ Line = 'Test-AtelierMachine -Manifest ''{0}'' g'; Expected = @('gamma') }
        @{ Line = 'Get-AtelierService -Manifest ''{0}''; Test-ServiceHealth -ComputerName 127'; Expected = @('127.0.0.1', '127.0.0.2') }
        @{ Line = 'Get-AtelierService -Manifest ''{0}''; Backup-ServiceDb -Service '; Expected = @('dash', 'demo', 'docs', 'gallery', 'notes') }
        @{ Line = 'Get-AtelierService -Manifest ''{0}''; New-ServiceModule -Name x -Machine '; Expected = @('alpha', 'beta', 'gamma') }
    ) {
        (Complete ($Line -f $Manifest)).CompletionText | Should -Be $Expected
    }

    It 'resolves a relative -Manifest against the current location' {
        Push-Location $TestDrive
        try { (Complete 'Get-AtelierService -Manifest ./services.json -Name g').CompletionText | Should -Be 'gallery' }
        finally { Pop-Location }
    }

    It 'offers nothing, and throws nothing, when the manifest is missing or broken' {
        Set-Content (Join-Path $TestDrive 'broken.json') '{ "alpha": '
        foreach ($location in (Join-Path $TestDrive 'nope.json'), (Join-Path $TestDrive 'broken.json')) {
            (Complete "Get-AtelierService -Manifest '$location' -Name ") | Should -BeNullOrEmpty
        }
        (Complete 'Invoke-ServiceDeploy -Service ') | Should -BeNullOrEmpty -Because 'no manifest is given or configured'
    }
}

Describe 'The manifest named by the settings file' {
    It 'is read by Get-AtelierService and Test-AtelierMachine and completes names when -Manifest is not given' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive "configured-$([guid]::NewGuid())")
        Copy-Item $Manifest (Join-Path $folder 'fleet.json')
        Set-Content (Join-Path $folder 'atelier.yaml') 'manifest: fleet.json'
        Push-Location $folder
        try {
            (Get-AtelierService -ErrorAction Stop) | Should -HaveCount 5
            (Get-AtelierService -Machine alpha -ErrorAction Stop).Name | Should -Be @('demo', 'notes')
            (Test-AtelierMachine -Name alpha -Port $SshPort -ErrorAction Stop).Online | Should -BeTrue
            $line = 'Invoke-ServiceDeploy -Service n'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('notes')
        }
        finally { Pop-Location }
    }
}

Describe 'Services without a database piped into Get-ServiceDbSnapshot' {
    It 'lists their snapshots instead of refusing the $null DbPath' {
        $notes = Get-AtelierService -Manifest $Manifest -Name notes
        $notes.DbPath | Should -BeNullOrEmpty
        { $notes | Get-ServiceDbSnapshot -Port $SshPort @Keys -ErrorAction Stop } | Should -Not -Throw
    }
}
