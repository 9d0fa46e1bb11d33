# The built module itself: its layout, its conventions (every cmdlet sealed, typed, documented) and its private
# AssemblyLoadContext.

BeforeDiscovery {
    Import-Module $env:ATELIER_MODULE -Force
    $script:CmdletNames = @(Get-Command -Module Atelier -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
}

BeforeAll {
    $script:ModulePath = $env:ATELIER_MODULE
    Import-Module $ModulePath -Force
    $script:Module = Get-Module Atelier
    $script:Commands = Get-Command -Module Atelier -CommandType Cmdlet
    $script:Common = [Management.Automation.Cmdlet]::CommonParameters
}

Describe 'The built module' {
    It 'holds the manifest, the DLL, the format file, the help files and its Dependencies folder' {
        $folder = Split-Path $ModulePath
        foreach ($file in 'Atelier.psd1', 'Atelier.dll', 'Atelier.format.ps1xml', 'en-US/Atelier.dll-Help.xml', 'en-US/about_Atelier.help.txt',
            'Dependencies/Atelier.Engine.dll', 'Dependencies/Renci.SshNet.dll', 'Dependencies/YamlDotNet.dll',
            'Dependencies/Microsoft.Data.Sqlite.dll', 'Dependencies/runtimes/linux-x64/native/libe_sqlite3.so') {
            Join-Path $folder $file | Should -Exist
        }
    }

    It 'exports exactly the cmdlets its manifest lists' {
        $manifest = Import-PowerShellDataFile $ModulePath
        ($Commands.Name | Sort-Object) | Should -Be ($manifest.CmdletsToExport | Sort-Object)
        $manifest.FunctionsToExport | Should -BeNullOrEmpty
        $manifest.AliasesToExport | Should -BeNullOrEmpty
    }
}

Describe 'Cmdlet conventions: <Name>' -ForEach $CmdletNames {
    BeforeAll {
        $script:Command = Get-Command $Name
        $script:Help = Get-Help $Name -Full
    }

    It 'is a sealed class' {
        $Command.ImplementingType.IsSealed | Should -BeTrue
    }

    It 'declares its output type' {
        $Command.OutputType | Should -Not -BeNullOrEmpty
    }

    It 'has a synopsis and a description' {
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        $Help.Synopsis | Should -Not -Match ([regex]::Escape($Name) + ' \[')
        ($Help.Description.Text -join ' ') | Should -Not -BeNullOrEmpty
    }

    It 'has at least two examples, each with code and an explanation' {
        @($Help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        foreach ($example in $Help.Examples.Example) {
            $example.Code | Should -Not -BeNullOrEmpty
            ($example.Remarks.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'uses in its examples only variables they define (or automatic ones, or $env:)' {
        $automatic = 'true', 'false', 'null', '_', 'PSItem', 'PSScriptRoot', 'PSStyle', 'HOME', 'LASTEXITCODE', 'Matches', 'args'
        foreach ($example in $Help.Examples.Example) {
            $tokens = $errors = $null
            $ast = [Management.Automation.Language.Parser]::ParseInput($example.Code, [ref] $tokens, [ref] $errors)
            $errors | Should -BeNullOrEmpty -Because "$($example.Title) must parse"
            $defined = foreach ($node in $ast.FindAll({ $true }, $true)) {
                $target = switch ($node) {
                    { $_ -is [Management.Automation.Language.AssignmentStatementAst] } { $_.Left }
                    { $_ -is [Management.Automation.Language.ForEachStatementAst] } { $_.Variable }
                    { $_ -is [Management.Automation.Language.ParameterAst] } { $_.Name }
                }
                if ($target) { $target.FindAll({ $args[0] -is [Management.Automation.Language.VariableExpressionAst] }, $true).VariablePath.UserPath }
            }
            $used = $ast.FindAll({ $args[0] -is [Management.Automation.Language.VariableExpressionAst] }, $true).VariablePath |
                Where-Object { -not $_.DriveName } | ForEach-Object UserPath
            $undefined = @($used | Where-Object { $_ -notin $defined -and $_ -notin $automatic } | Sort-Object -Unique)
            $undefined | Should -BeNullOrEmpty -Because "$($example.Title.Trim('- ')) uses `$$($undefined -join ', $') without defining it"
        }
    }

    It 'describes every parameter' {
        $parameters = $Command.Parameters.Values | Where-Object Name -NotIn $Common
        foreach ($parameter in $parameters) {
            $described = $Help.Parameters.Parameter | Where-Object Name -EQ $parameter.Name
            ($described.Description.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty -Because "-$($parameter.Name) needs a description"
        }
    }

    It 'shows each parameter''s position and wildcard support as the cmdlet declares them' {
        foreach ($parameter in $Command.Parameters.Values | Where-Object Name -NotIn $Common) {
            $described = $Help.Parameters.Parameter | Where-Object Name -EQ $parameter.Name
            $positions = @($parameter.ParameterSets.Values.Position | Where-Object { $_ -ge 0 })
            $described.Position | Should -Be $(if ($positions.Count) { "$($positions[0])" } else { 'named' }) -Because "-$($parameter.Name)'s position"
            $wildcards = @($parameter.Attributes | Where-Object { $_ -is [Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0
            $described.Globbing | Should -Be "$wildcards".ToLowerInvariant() -Because "-$($parameter.Name) [SupportsWildcards]"
        }
    }

    It 'validates every service, user, host, path and branch parameter before connecting' {
        # Only the cmdlets that work on a host: a local cmdlet's -Name may be a wildcard pattern.
        $remote = $Command.ImplementingType.IsSubclassOf($Command.ImplementingType.Assembly.GetType('Atelier.Commands.Infrastructure.RemoteCmdlet'))
        $names = if ($remote) { 'Service', 'Name', 'User', 'ComputerName', 'DbPath', 'Branch' } else { 'ComputerName', 'User' }
        foreach ($parameter in $Command.Parameters.Values | Where-Object Name -In $names) {
            $validators = $parameter.Attributes | Where-Object { $_ -is [Management.Automation.ValidateArgumentsAttribute] }
            ($validators | Where-Object { $_.GetType().Namespace -eq 'Atelier.Commands.Infrastructure' }) |
                Should -Not -BeNullOrEmpty -Because "-$($parameter.Name) reaches a remote shell or SSH"
        }
    }

    It 'anchors every ValidatePattern at the very end (\z), so a trailing newline cannot slip through' {
        foreach ($parameter in $Command.Parameters.Values) {
            foreach ($pattern in $parameter.Attributes | Where-Object { $_ -is [Management.Automation.ValidatePatternAttribute] }) {
                $pattern.RegexPattern | Should -Match '\\z\)?$' -Because "-$($parameter.Name)'s pattern '$($pattern.RegexPattern)' must end with \z: '$' also matches before a final newline"
                "x`n" -match $pattern.RegexPattern | Should -BeFalse
            }
        }
    }

    It 'supports -WhatIf exactly when it changes something' {
        # Verbs that change a host or files take -WhatIf/-Confirm; Get-/Test- cmdlets only read and do not offer them.
        $Command.Parameters.ContainsKey('WhatIf') | Should -Be ($Name -match '^(Backup|Invoke|Restore|New|Remove|Set|Save|Lock|Unlock)-')
    }
}

Describe 'What Get-Help shows' {
    It 'the position of a positional parameter: <Command> -<Parameter> is <Position>' -ForEach @(
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'Service'; Position = '0' }
        @{ Command = 'Restore-ServiceDeploy'; Parameter = 'Commit'; Position = '1' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'Branch'; Position = 'named' }
    ) {
        (Get-Help $Command -Parameter $Parameter).Position | Should -Be $Position
        Get-Help $Command -Parameter $Parameter | Out-String | Should -Match "Position\?\s+$Position\b"
    }

    It 'Accept wildcard characters for a [SupportsWildcards] parameter, and not for others' {
        Get-Help Get-AtelierService -Parameter Name | Out-String | Should -Match 'Accept wildcard characters\?\s+true'
        Get-Help Get-AtelierSetting -Parameter Name | Out-String | Should -Match 'Accept wildcard characters\?\s+true'
        Get-Help Invoke-ServiceDeploy -Parameter Service | Out-String | Should -Match 'Accept wildcard characters\?\s+false'
    }

    It 'the default value from the property initialiser: <Command> -<Parameter> is <Default>' -ForEach @(
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'Branch'; Default = 'main' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'HealthTimeout'; Default = '60' }
        @{ Command = 'Invoke-ServiceDeploy'; Parameter = 'GuardTimeout'; Default = '30' }
        @{ Command = 'Restore-ServiceDeploy'; Parameter = 'Runtime'; Default = 'bun' }
        @{ Command = 'Test-ServiceHealth'; Parameter = 'Timeout'; Default = '60' }
    ) {
        (Get-Help $Command -Parameter $Parameter).DefaultValue | Should -Be $Default
        Get-Help $Command -Parameter $Parameter | Out-String | Should -Match "Default value\s+$Default\s"
    }

    It 'no default value where the type''s own default means "not given" (-Port: ~/.ssh/config, else 22)' {
        (Get-Help Invoke-ServiceDeploy -Parameter Port).DefaultValue | Should -BeNullOrEmpty
        (Get-Help Invoke-ServiceDeploy -Parameter Force).DefaultValue | Should -BeNullOrEmpty
    }
}

Describe 'Dependency isolation' {
    It 'loads the ReadyToRun copies the build made for this platform and runtime, else the IL ones' {
        $dependencies = Join-Path (Split-Path $ModulePath) 'Dependencies'
        $platform = "$($IsWindows ? 'win' : $IsMacOS ? 'osx' : 'linux')-$("$([Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture)".ToLowerInvariant())"
        $readyToRun = Join-Path $dependencies "runtimes/$platform/lib/net$([Environment]::Version.Major).0"
        Get-ServiceDbSnapshot startup-check -Local -ErrorAction SilentlyContinue | Out-Null    # any cmdlet run loads the engine
        $ctx = [Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'Atelier'
        $ctx | Should -Not -BeNullOrEmpty
        foreach ($name in 'Atelier.Engine', 'Renci.SshNet', 'BouncyCastle.Cryptography', 'YamlDotNet') {
            $expected = if (Test-Path (Join-Path $readyToRun "$name.dll")) { Join-Path $readyToRun "$name.dll" } else { Join-Path $dependencies "$name.dll" }
            $ctx.LoadFromAssemblyName([Reflection.AssemblyName]$name).Location | Should -Be $expected -Because "$name loads from the module's own folder"
        }
    }

    It 'imports and works in a session that already loaded another YamlDotNet' {
        $packages = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
        $otherYaml = Join-Path $packages 'yamldotnet/16.3.0/lib/net8.0/YamlDotNet.dll'
        $otherYaml | Should -Exist
        $db = Join-Path $TestDrive 'iso.db'
        $script = @'
param($OtherYaml, $ModulePath, $Db, $HomeDir)
$ErrorActionPreference = 'Stop'
$env:HOME = $HomeDir
Add-Type -Path $OtherYaml                                   # another module's YamlDotNet, in the default context
Import-Module $ModulePath
$sqlite = Backup-ServiceDb -Service isolation -DbPath $Db -Local   # Microsoft.Data.Sqlite and native SQLite, from the module
$engine = $sqlite.GetType().Assembly
$ctx = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine)
$ours = $ctx.LoadFromAssemblyName([Reflection.AssemblyName]'YamlDotNet')
$serializer = [Activator]::CreateInstance($ours.GetType('YamlDotNet.Serialization.Serializer'))
$map = [Collections.Generic.Dictionary[string, string]]::new(); $map['atelier'] = 'works'
$yaml = $serializer.Serialize($map)
[pscustomobject]@{
    DefaultYaml   = ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'YamlDotNet' -and [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name -eq 'Default' }).GetName().Version.ToString()
    AtelierYaml   = $ours.GetName().Version.ToString()
    EngineContext = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).Name
    Yaml          = $yaml.Trim()
    Snapshot      = $sqlite.Tool
} | ConvertTo-Json -Compress
'@
        Set-Content (Join-Path $TestDrive 'iso.ps1') $script
        # A real database for the -Local snapshot (sqlite3 is installed by the test setup).
        & sqlite3 $db 'PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);' | Out-Null
        $json = & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $TestDrive 'iso.ps1') $otherYaml $ModulePath $db $TestDrive
        $LASTEXITCODE | Should -Be 0
        $result = $json | ConvertFrom-Json
        $result.DefaultYaml | Should -BeLike '16.*'
        $result.AtelierYaml | Should -BeLike '18.*'
        $result.EngineContext | Should -Be 'Atelier'
        $result.Yaml | Should -Be 'atelier: works'
        $result.Snapshot | Should -Be 'Microsoft.Data.Sqlite'
    }
}
