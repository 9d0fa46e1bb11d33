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
    It 'holds the manifest, the DLL, the format file, the help file and its Dependencies folder' {
        $folder = Split-Path $ModulePath
        foreach ($file in 'Atelier.psd1', 'Atelier.dll', 'Atelier.format.ps1xml', 'en-US/Atelier.dll-Help.xml',
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

    It 'describes every parameter' {
        $parameters = $Command.Parameters.Values | Where-Object Name -NotIn $Common
        foreach ($parameter in $parameters) {
            $described = $Help.Parameters.Parameter | Where-Object Name -EQ $parameter.Name
            ($described.Description.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty -Because "-$($parameter.Name) needs a description"
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
        $Command.Parameters.ContainsKey('WhatIf') | Should -Be ($Name -match '^(Backup|Invoke|Restore|New|Remove|Set)-')
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
