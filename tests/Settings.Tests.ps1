# The YAML settings file against the real test host: its defaults reach the cmdlets, parameters override them, and a
# broken file stops every cmdlet before it connects, naming file, line and key.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:DbPath = $TestHost.services.demo.dbPath
    # Only what the settings file cannot give: the host and its SSH port.
    $script:Where = @{ ComputerName = $TestHost.host; Port = [int]$TestHost.sshPort }
    $script:SavedXdg = $env:XDG_CONFIG_HOME

    function New-SettingsFolder([string] $Yaml) {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid()))
        Set-Content -LiteralPath (Join-Path $folder 'atelier.yaml') -Value $Yaml
        $folder.FullName
    }

    function Get-DemoSnapshotCount {
        [int](Invoke-TestHostRoot 'ls /var/lib/demo/.atelier/snapshots | grep -c "^demo\." || true' | Select-Object -Last 1)
    }
}

Describe 'Settings from ./atelier.yaml' {
    AfterEach {
        Pop-Location -ErrorAction Ignore
        $env:XDG_CONFIG_HOME = $SavedXdg
    }

    It 'supplies the identity file, known_hosts and snapshot count, and a parameter overrides them' {
        Push-Location (New-SettingsFolder @"
identityFile: $($TestHost.identityFile)
knownHostsFile: $($TestHost.knownHosts)
keep: 2
"@)
        1..3 | ForEach-Object { Backup-ServiceDb demo $DbPath @Where -ErrorAction Stop } | Out-Null
        Get-DemoSnapshotCount | Should -Be 2
        1..3 | ForEach-Object { Backup-ServiceDb demo $DbPath @Where -Keep 3 -ErrorAction Stop } | Out-Null
        Get-DemoSnapshotCount | Should -Be 3
    }

    It 'connects as the configured user instead of the service user unless -User is given' {
        Push-Location (New-SettingsFolder @"
user: notes
identityFile: $($TestHost.identityFile)
knownHostsFile: $($TestHost.knownHosts)
"@)
        $notes = { [int](Invoke-TestHostRoot "journalctl -u ssh.service --no-pager -o cat | grep -c 'Accepted [a-z]* for notes ' || true" | Select-Object -Last 1) }
        $demo = { [int](Invoke-TestHostRoot "journalctl -u ssh.service --no-pager -o cat | grep -c 'Accepted [a-z]* for demo ' || true" | Select-Object -Last 1) }
        $beforeNotes = & $notes; $beforeDemo = & $demo
        Get-ServiceDbSnapshot demo @Where -ErrorAction Stop | Out-Null
        (& $notes) | Should -Be ($beforeNotes + 1)
        (& $demo) | Should -Be $beforeDemo
        Get-ServiceDbSnapshot demo @Where -User demo -ErrorAction Stop | Should -Not -BeNullOrEmpty
        (& $demo) | Should -Be ($beforeDemo + 1)
    }

    It 'sends deploys through the configured systemctl and records them in the configured history' {
        $history = Join-Path $TestDrive "history-$([guid]::NewGuid()).db"
        Push-Location (New-SettingsFolder @"
identityFile: $($TestHost.identityFile)
knownHostsFile: $($TestHost.knownHosts)
systemctlPath: /opt/atelier-test/systemctl
historyPath: $history
"@)
        # -WhatIf prints to the host: run it in a child pwsh started in this folder.
        $script = Join-Path $TestDrive 'whatif.ps1'
        Set-Content $script 'param($Module, $Where) Set-Location $Where; Import-Module $Module; Invoke-ServiceDeploy demo -ComputerName 127.0.0.1 -Port $env:ATELIER_TEST_PORT -WhatIf'
        $env:ATELIER_TEST_PORT = $TestHost.sshPort
        $plan = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $script $env:ATELIER_MODULE (Get-Location).Path | Out-String
        $plan | Should -Match "if \[ -x /opt/atelier-test/systemctl \]; then exec sudo -n /opt/atelier-test/systemctl restart demo.service"

        # A real deploy (of what is live, or of origin's main): recorded in the configured history only.
        $result = Invoke-ServiceDeploy demo @Where -HealthUrl $TestHost.services.demo.healthUrl -ErrorAction Stop
        $result.Status | Should -BeIn @('Unchanged', 'Succeeded')
        $history | Should -Exist
        $record = Get-ServiceDeployHistory -Service demo -Last 1
        $record.Status | Should -Be $result.Status
        { Get-ServiceDeployHistory -Service demo -HistoryPath (Join-Path $TestDrive 'other.db') -ErrorAction Stop } | Should -Throw -ErrorId 'HistoryNotFound,*'
    }

    It 'falls back to $XDG_CONFIG_HOME/atelier/config.yaml, and Get-AtelierSetting names each source' {
        $xdg = Join-Path $TestDrive "xdg-$([guid]::NewGuid())"
        New-Item -ItemType Directory (Join-Path $xdg 'atelier') | Out-Null
        $file = Join-Path $xdg 'atelier/config.yaml'
        Set-Content $file "# user defaults`nmachine: terebithia`nkeep: 4"
        $env:XDG_CONFIG_HOME = $xdg
        Push-Location (New-Item -ItemType Directory (Join-Path $TestDrive "plain-$([guid]::NewGuid())"))
        $settings = Get-AtelierSetting
        ($settings | Where-Object Name -EQ machine).Value | Should -Be 'terebithia'
        ($settings | Where-Object Name -EQ machine).Source | Should -Be "${file}:2"
        ($settings | Where-Object Name -EQ keep).Value | Should -Be 4
        ($settings | Where-Object Name -EQ systemctlPath).Source | Should -Be 'default'
        (Get-AtelierSetting sys*).Name | Should -Be 'systemctlPath'
        { Get-AtelierSetting nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'SettingNotFound,Atelier.Commands.GetAtelierSettingCommand'

        # A project file wins over the user's.
        Set-Content atelier.yaml 'keep: 9'
        (Get-AtelierSetting keep).Value | Should -Be 9
        (Get-AtelierSetting keep).Source | Should -Be "$((Get-Location).Path)/atelier.yaml:1"
    }

    It 'shows the redact: list without its values, and -Redact refuses a value too short to hide' {
        Push-Location (New-SettingsFolder "redact:`n  - demo-token-1`n  - '/tok-[0-9]+/i'")
        $redact = Get-AtelierSetting redact
        $redact.Value | Should -Be @('***', '/tok-[0-9]+/i')
        $redact.Source | Should -Be "$((Get-Location).Path)/atelier.yaml:1"
        ($redact | Out-String) | Should -Not -Match 'demo-token-1'
        $err = { Get-ServiceDbSnapshot demo @Where -Redact 'ab' } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError,*'
        $err.Exception.Message | Should -Match 'a value to hide needs at least 3'
        { Get-ServiceDbSnapshot demo @Where -Redact '/[/' } | Should -Throw '*is not a valid regular expression*'
    }

    It 'stops every cmdlet before it connects when the file is broken, naming file, line and key' {
        $folder = New-SettingsFolder "identityFile: $($TestHost.identityFile)`nkeep: lots"
        Push-Location $folder
        $logins = Get-TestHostLoginCount
        $err = { Backup-ServiceDb demo $DbPath @Where } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'SettingsInvalid,Atelier.Commands.BackupServiceDbCommand'
        $err.Exception.Message | Should -Be "$folder/atelier.yaml:2: 'keep' must be a whole number from 1 to 10000 (it is 'lots')."
        { Get-AtelierSetting } | Should -Throw -ErrorId 'SettingsInvalid,Atelier.Commands.GetAtelierSettingCommand'
        Set-Content atelier.yaml "kepe: 3"
        { Get-ServiceDbSnapshot demo @Where } | Should -Throw "*atelier.yaml:1: 'kepe' is not a setting (did you mean 'keep'?)*"
        Get-TestHostLoginCount | Should -Be $logins
    }
}
