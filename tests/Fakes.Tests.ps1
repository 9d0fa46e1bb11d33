# Results a runbook's test can build: every output type of every cmdlet is named after Import-Module Atelier, a fake
# formats as a real object does, binds by property name into the next cmdlet as a real one does, and the names go at
# Remove-Module. No host is needed.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    $script:Accelerators = [psobject].Assembly.GetType('System.Management.Automation.TypeAccelerators')

    function Invoke-Child([string] $Script, [string[]] $Arguments = @()) {
        # -WhatIf writes to the host: a child pwsh's output holds it.
        $file = Join-Path $TestDrive "child-$([guid]::NewGuid().ToString('N')).ps1"
        Set-Content $file $Script
        & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $file $env:ATELIER_MODULE @Arguments 2>&1 | ForEach-Object { "$_" }
    }
}

Describe 'Output types, named for scripts' {
    It 'names every [OutputType] of every exported cmdlet that comes from the engine, by its full name' {
        $declared = Get-Command -Module Atelier -CommandType Cmdlet | ForEach-Object { $_.OutputType.Type } |
            Where-Object { $_ -and $_.Assembly.GetName().Name -eq 'Atelier.Engine' } | Sort-Object FullName -Unique
        $declared.Count | Should -BeGreaterThan 8
        foreach ($type in $declared) {
            ($type.FullName -as [type]) | Should -Be $type -Because "[$($type.FullName)] must name the type the cmdlets return"
        }
    }

    It 'names the types those expose (a deploy''s steps, a record''s steps, health) and builds them' {
        $step = [Atelier.Deploy.DeployStep]::new('build', [timespan]::FromSeconds(3), 1, 'error: x')
        $step.Succeeded | Should -BeFalse
        $result = [Atelier.Deploy.ServiceDeployResult]@{ Service = 'cachet'; ComputerName = 'terebithia'; Status = 'RolledBack'; FailedStep = 'build' }
        $result.Steps.Add($step)
        $result.Succeeded | Should -BeFalse
        $result.Operation | Should -Be 'Deploy' -Because 'what is not given defaults as in a real result'
        ([Atelier.Health.ServiceHealth] -as [type]).Assembly.GetName().Name | Should -Be 'Atelier.Engine'
        ([Atelier.History.DeployRecordStep] -as [type]) | Should -Not -BeNullOrEmpty
    }

    It 'builds a fake of every output type, and formats each with its table view where it has one' {
        $declared = Get-Command -Module Atelier -CommandType Cmdlet | ForEach-Object { $_.OutputType.Type } |
            Where-Object { $_ -and $_.Assembly.GetName().Name -eq 'Atelier.Engine' } | Sort-Object FullName -Unique
        foreach ($type in $declared) {
            $named = $type.FullName -as [type]
            $constructor = $named.GetConstructors() | Sort-Object { $_.GetParameters().Count } | Select-Object -First 1
            if (-not $constructor) {
                # A planned file is made by its factory, which reads what is there now.
                $fake = $named::For((Join-Path $TestDrive 'planned.nix'), 'planned.nix', 'module', '{ }')
            }
            else {
                # A default for each constructor argument (records), then a value for each required property.
                $arguments = @(foreach ($p in $constructor.GetParameters()) { if ($p.ParameterType -eq [string]) { 'x' } elseif ($p.ParameterType.IsValueType) { [Activator]::CreateInstance($p.ParameterType) } else { $null } })
                $fake = $constructor.Invoke([object[]]$arguments)
            }
            foreach ($property in $named.GetProperties() | Where-Object { $_.CanWrite -and $_.PropertyType -eq [string] -and $null -eq $_.GetValue($fake) }) { $property.SetValue($fake, 'x') }
            $fake.GetType() | Should -Be $type
            $table = $fake | Format-Table | Out-String
            $table | Should -Not -BeNullOrEmpty -Because "$($type.Name) formats"
            $view = Get-FormatData -TypeName $type.FullName -ErrorAction Ignore
            if ($view) {
                $labels = @($view.FormatViewDefinition | Where-Object { $_.Control -is [Management.Automation.TableControl] } | Select-Object -First 1 |
                    ForEach-Object { $_.Control.Headers.Label } | Where-Object { $_ })
                if ($labels) { $table | Should -Match ([regex]::Escape($labels[0])) -Because "$($type.Name) uses its table view" }
            }
        }
    }

    It 'formats a fake with the same table view as a real object' {
        $real = Get-AtelierSetting -Name keep
        $fake = [Atelier.Settings.AtelierSetting]::new($real.Name, $real.Value, $real.Source, $real.Description)
        ($fake | Format-Table | Out-String) | Should -Be ($real | Format-Table | Out-String)
        ($fake | Format-Table | Out-String) | Should -Not -Match 'Description' -Because 'the table view, not every property, is used'
        $deploy = [Atelier.Deploy.ServiceDeployResult]@{ Service = 'cachet'; ComputerName = 'terebithia'; Status = 'RolledBack' }
        ($deploy | Format-Table | Out-String) | Should -Match '(?m)^Service\s+Host\s+Status\b'
    }

    It 'binds a fake by property name into the next cmdlet exactly as a real object' {
        $manifest = Join-Path $TestDrive 'services.json'
        '{ "terebithia": { "hostname": "127.0.0.1", "services": [ { "name": "cachet", "health_url": "http://127.0.0.1:9/health", "data": { "sqlite": "data/cachet.db" } } ] } }' |
            Set-Content $manifest
        $script = @'
param($Module, $Manifest)
Import-Module $Module
$real = Get-AtelierService -Manifest $Manifest -Name cachet
$fake = [Atelier.Manifest.AtelierService]@{ Name = 'cachet'; Machine = 'terebithia'; Host = '127.0.0.1'; HealthUrl = 'http://127.0.0.1:9/health'; DbPath = 'data/cachet.db'; Runtime = 'bun' }
'real:'; $real | Invoke-ServiceDeploy -WhatIf
'fake:'; $fake | Invoke-ServiceDeploy -WhatIf
'@
        $output = (Invoke-Child $script $manifest) -join "`n"
        $real = [regex]::Match($output, '(?s)real:\n(.*)\nfake:').Groups[1].Value
        $fake = [regex]::Match($output, '(?s)fake:\n(.*)$').Groups[1].Value
        $real | Should -Match 'Deploy cachet \(origin/main\) to 127\.0\.0\.1'
        $real | Should -Match 'data/cachet\.db'
        $fake | Should -Be $real
    }

    It 'removes the names at Remove-Module, and names them again at the next import' {
        $script = @'
param($Module)
Import-Module $Module
$accelerators = [psobject].Assembly.GetType('System.Management.Automation.TypeAccelerators')
"before=$(@($accelerators::Get.Keys -like 'Atelier.*').Count)"
Remove-Module Atelier
"after=$(@($accelerators::Get.Keys -like 'Atelier.*').Count)"
# A name not looked up before (PowerShell remembers the names it has resolved) no longer resolves.
"resolves=$($null -ne ('Atelier.Infra.SystemGeneration' -as [type]))"
Import-Module $Module
"again=$(@($accelerators::Get.Keys -like 'Atelier.*').Count)"
'@
        $output = Invoke-Child $script
        $before = [int]((@($output -match '^before=')[0]) -replace 'before=')
        $before | Should -BeGreaterThan 8
        $output | Should -Contain 'after=0'
        $output | Should -Contain 'resolves=False'
        $output | Should -Contain "again=$before"
    }
}
