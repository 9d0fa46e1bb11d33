# The package build.ps1 -Task Package writes (out/Atelier.<version>.nupkg, $env:ATELIER_PACKAGE), the one place of
# the version and the project's URL, and the install a user does: a folder repository, Publish-PSResource,
# Install-PSResource, then Import-Module Atelier by name in a fresh pwsh and real cmdlets against the test host.
# Every PSResourceGet step runs in a child pwsh whose HOME, XDG folders and PSModulePath are a TestDrive folder.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Root = Split-Path $PSScriptRoot
    $script:ModuleFolder = Split-Path $env:ATELIER_MODULE
    $props = [xml](Get-Content -Raw (Join-Path $Root 'Directory.Build.props'))
    $script:Version = $props.SelectSingleNode('/Project/PropertyGroup/Version').InnerText.Trim()
    $script:Url = $props.SelectSingleNode('/Project/PropertyGroup/RepositoryUrl').InnerText.Trim()
    $script:Package = $env:ATELIER_PACKAGE
    if (-not $Package) { $script:Package = Join-Path (Split-Path $ModuleFolder) "Atelier.$Version.nupkg" }
    if (-not (Test-Path $Package)) { throw "No package at $Package`: run 'build.ps1 -Task Package' first." }

    # NuGet's own parts of any .nupkg; everything else in it is the module.
    $script:NuGetOwn = '^(\[Content_Types\]\.xml|_rels/\.rels|Atelier\.nuspec|package/services/metadata/core-properties/[^/]+\.psmdcp)$'

    function Get-PackageEntry {
        param([string] $Path = $Package)
        $zip = [IO.Compression.ZipFile]::OpenRead($Path)
        try { @($zip.Entries | ForEach-Object FullName | Sort-Object) } finally { $zip.Dispose() }
    }

    function Get-PackageText([string] $Entry) {
        $zip = [IO.Compression.ZipFile]::OpenRead($Package)
        try {
            $reader = [IO.StreamReader]::new($zip.GetEntry($Entry).Open())
            try { $reader.ReadToEnd() } finally { $reader.Dispose() }
        }
        finally { $zip.Dispose() }
    }

    function Get-RelativeFile([string] $Folder) {
        @(Get-ChildItem $Folder -Recurse -File | ForEach-Object { [IO.Path]::GetRelativePath($Folder, $_.FullName).Replace('\', '/') } | Sort-Object)
    }

    function Get-ChangelogSection([string] $Heading) {
        $changelog = Get-Content -Raw (Join-Path $Root 'CHANGELOG.md')
        $section = [regex]::Match($changelog, "(?ms)^## \[$([regex]::Escape($Heading))\][^\n]*\n(.*?)(?=^## |\z)")
        if ($section.Success) { $section.Groups[1].Value.Trim() -replace '\r\n', "`n" }
    }
}

Describe 'The package' {
    BeforeAll {
        $script:Entries = Get-PackageEntry
        $script:ModuleEntries = @($Entries | Where-Object { $_ -notmatch $NuGetOwn })
    }

    It 'is out/Atelier.<version>.nupkg with the version of Directory.Build.props' {
        Split-Path -Leaf $Package | Should -BeExactly "Atelier.$Version.nupkg"
        $size = (Get-Item $Package).Length
        Write-Host ('    {0}: {1:N0} bytes ({2:N1} MiB), {3} module files' -f (Split-Path -Leaf $Package), $size, ($size / 1MB), $ModuleEntries.Count)
        $size | Should -BeLessThan 20MB -Because 'the module is about 15 MiB packed (7.5 MiB of it the linux-x64 ReadyToRun copies); much more means something slipped in'
    }

    It 'holds exactly the files of the built module folder' {
        $ModuleEntries | Should -Be (Get-RelativeFile $ModuleFolder)
    }

    It 'holds the manifest, the DLLs, the format and help files, LICENSE and the native SQLite of the five runtimes, nothing else' {
        $expected = @(
            'Atelier.dll', 'Atelier.format.ps1xml', 'Atelier.psd1', 'LICENSE', 'en-US/Atelier.dll-Help.xml', 'en-US/about_Atelier.help.txt'
            'Dependencies/Atelier.Engine.dll', 'Dependencies/BouncyCastle.Cryptography.dll', 'Dependencies/Microsoft.Data.Sqlite.dll'
            'Dependencies/Microsoft.Extensions.DependencyInjection.Abstractions.dll', 'Dependencies/Microsoft.Extensions.Logging.Abstractions.dll'
            'Dependencies/Renci.SshNet.dll', 'Dependencies/SQLitePCLRaw.batteries_v2.dll', 'Dependencies/SQLitePCLRaw.core.dll'
            'Dependencies/SQLitePCLRaw.provider.e_sqlite3.dll', 'Dependencies/YamlDotNet.dll'
            'Dependencies/runtimes/linux-arm64/native/libe_sqlite3.so', 'Dependencies/runtimes/linux-x64/native/libe_sqlite3.so'
            'Dependencies/runtimes/osx-arm64/native/libe_sqlite3.dylib', 'Dependencies/runtimes/osx-x64/native/libe_sqlite3.dylib'
            'Dependencies/runtimes/win-x64/native/e_sqlite3.dll'
        )
        # ReadyToRun copies for .NET 10 (PowerShell 7.6) on linux-x64; every other platform loads the IL above.
        $readyToRun = 'Atelier.Engine', 'BouncyCastle.Cryptography', 'Microsoft.Data.Sqlite', 'Microsoft.Extensions.DependencyInjection.Abstractions',
            'Microsoft.Extensions.Logging.Abstractions', 'Renci.SshNet', 'SQLitePCLRaw.batteries_v2', 'SQLitePCLRaw.core',
            'SQLitePCLRaw.provider.e_sqlite3', 'YamlDotNet'
        $expected += $readyToRun | ForEach-Object { "Dependencies/runtimes/linux-x64/lib/net10.0/$_.dll" }
        $ModuleEntries | Should -Be ($expected | Sort-Object)
        $ModuleEntries | Where-Object { $_ -match '(^|/)(bin|obj)/|\.pdb$|\.deps\.json$' } | Should -BeNullOrEmpty
        ($ModuleEntries | Where-Object { $_ -like 'Dependencies/runtimes/*' } | ForEach-Object { $_.Split('/')[2] } | Sort-Object) |
            Select-Object -Unique | Should -Be @('linux-arm64', 'linux-x64', 'osx-arm64', 'osx-x64', 'win-x64')
    }

    It 'describes Atelier for the gallery in its nuspec: id, version, URLs, release notes and tags' {
        $nuspec = ([xml](Get-PackageText 'Atelier.nuspec')).package.metadata
        $nuspec.id | Should -BeExactly 'Atelier'
        $nuspec.version | Should -BeExactly $Version
        $nuspec.projectUrl | Should -BeExactly $Url
        $nuspec.licenseUrl | Should -BeExactly "$Url/blob/main/LICENSE"
        $nuspec.releaseNotes -replace '\r\n', "`n" | Should -BeExactly (Get-ChangelogSection $Version)
        $nuspec.tags -split ' ' | Should -Contain 'PSModule'
        $nuspec.tags -split ' ' | Should -Contain 'NixOS'
    }
}

Describe 'One version and one project URL (Directory.Build.props)' {
    BeforeAll {
        $script:RootManifest = Import-PowerShellDataFile (Join-Path $Root 'Atelier.psd1')
        $script:BuiltManifest = Import-PowerShellDataFile $env:ATELIER_MODULE
    }

    It 'gives the root and the built manifest their ModuleVersion, and the DLLs their version' {
        $RootManifest.ModuleVersion | Should -BeExactly $Version
        $BuiltManifest.ModuleVersion | Should -BeExactly $Version
        foreach ($dll in 'Atelier.dll', 'Dependencies/Atelier.Engine.dll') {
            [Reflection.AssemblyName]::GetAssemblyName((Join-Path $ModuleFolder $dll)).Version | Should -Be ([version]"$Version.0")
        }
    }

    It 'gives both manifests their ProjectUri and LicenseUri' {
        foreach ($manifest in $RootManifest, $BuiltManifest) {
            $manifest.PrivateData.PSData.ProjectUri | Should -BeExactly $Url
            $manifest.PrivateData.PSData.LicenseUri | Should -BeExactly "$Url/blob/main/LICENSE"
        }
    }

    It 'gives the built manifest the CHANGELOG section of its version as ReleaseNotes' {
        $notes = Get-ChangelogSection $Version
        $notes | Should -Match 'Invoke-ServiceDeploy'
        $BuiltManifest.PrivateData.PSData.ReleaseNotes | Should -BeExactly $notes
        $RootManifest.PrivateData.PSData.ReleaseNotes | Should -BeExactly '' -Because 'the build fills it from CHANGELOG.md'
    }

    It 'keeps an Unreleased section first in the CHANGELOG' {
        $headings = @(Select-String -Path (Join-Path $Root 'CHANGELOG.md') -Pattern '^## \[([^\]]+)\]' | ForEach-Object { $_.Matches[0].Groups[1].Value })
        $headings[0] | Should -BeExactly 'Unreleased'
        $headings | Should -Contain $Version
    }

    It 'is the URL the README clones, and the only Atelier repository URL in the README, manifest and CHANGELOG' {
        $readme = Get-Content -Raw (Join-Path $Root 'README.md')
        $readme | Should -Match ([regex]::Escape("git clone $Url.git"))
        foreach ($file in 'README.md', 'Atelier.psd1', 'CHANGELOG.md') {
            # Examples of a user's own app (https://github.com/you/pastebin) are not the project's URL.
            $urls = [regex]::Matches((Get-Content -Raw (Join-Path $Root $file)), 'https://github\.com/[\w.-]+/atelier(\.git)?\b') | ForEach-Object Value
            $urls | Where-Object { $_ -ne $Url -and $_ -ne "$Url.git" } | Should -BeNullOrEmpty -Because "$file names the project by its one URL"
        }
    }

    It 'puts Install-PSResource first in the README''s install section' {
        $install = [regex]::Match((Get-Content -Raw (Join-Path $Root 'README.md')), '(?ms)^## Install\s*\n(.*?)(?=^## )').Groups[1].Value
        $first = [regex]::Match($install, '(?ms)```(?:powershell|sh)\s*\n(.*?)```').Groups[1].Value.Trim()
        $first | Should -BeExactly 'Install-PSResource Atelier'
    }

    It 'ships an MIT LICENSE for Atelier contributors, 2026' {
        $license = Get-Content -Raw (Join-Path $Root 'LICENSE')
        $license | Should -Match '^MIT License'
        $license | Should -Match 'Copyright \(c\) 2026 Atelier contributors'
        Get-FileHash (Join-Path $ModuleFolder 'LICENSE') | ForEach-Object Hash | Should -Be (Get-FileHash (Join-Path $Root 'LICENSE')).Hash
    }
}

Describe 'Installing the package from a folder repository, in an isolated home' {
    BeforeAll {
        $script:UserHome = New-Item -ItemType Directory (Join-Path $TestDrive 'home')
        $script:Repository = New-Item -ItemType Directory (Join-Path $TestDrive 'repository')
        $script:UserModules = Join-Path $UserHome '.local/share/powershell/Modules'
        $script:TestHost = Get-TestHost
        $script:Step = 0

        function Invoke-UserPwsh {
            <#
            Runs -Script (with param($Data, $Result)) in a fresh 'pwsh -NoProfile' whose HOME is the isolated home:
            no XDG folder of this machine, PSModulePath only that home's modules and $PSHOME's. -Data goes in as
            JSON; returns what the script wrote to $Result (JSON) and its output lines, and fails on a non-zero exit.
            #>
            param([string] $Script, [hashtable] $Data = @{})
            $script:Step++
            $file = Join-Path $TestDrive "step$Step.ps1"
            $in = Join-Path $TestDrive "step$Step.in.json"
            $out = Join-Path $TestDrive "step$Step.out.json"
            Set-Content $file "param(`$Data, `$Result)`n`$ErrorActionPreference = 'Stop'`n`$Data = Get-Content -Raw `$Data | ConvertFrom-Json`n$Script"
            $Data | ConvertTo-Json -Depth 5 | Set-Content $in
            $modulePath = $UserModules + [IO.Path]::PathSeparator + (Join-Path $PSHOME 'Modules')
            # The process starts in that home too: Publish-PSResource (NuGet) writes NuGet/NuGet.Config into the
            # current directory when ~/.config does not exist.
            $lines = & env -C $UserHome -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_CACHE_HOME -u XDG_STATE_HOME -u ATELIER_MODULE `
                "HOME=$UserHome" "PSModulePath=$modulePath" `
                dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $file $in $out 2>&1 | ForEach-Object { "$_" }
            if ($LASTEXITCODE -ne 0) { throw "The child pwsh failed ($LASTEXITCODE): $($lines -join "`n")" }
            [pscustomobject]@{
                Result = if (Test-Path $out) { Get-Content -Raw $out | ConvertFrom-Json } else { $null }
                Output = $lines
            }
        }
    }

    It 'registers the folder as a trusted repository in the isolated home only' {
        $r = Invoke-UserPwsh -Data @{ Uri = "$Repository" } -Script @'
Register-PSResourceRepository -Name AtelierTest -Uri $Data.Uri -Trusted
Get-PSResourceRepository AtelierTest | Select-Object Name, @{ n = 'Uri'; e = { $_.Uri.LocalPath } }, Trusted |
    ConvertTo-Json | Set-Content $Result
'@
        $r.Result.Uri | Should -Be "$Repository"
        $r.Result.Trusted | Should -BeTrue
        Join-Path $UserHome '.local/share/PSResourceGet/PSResourceRepository.xml' | Should -Exist
    }

    It 'publishes the package into it unchanged (Publish-PSResource -NupkgPath)' {
        $r = Invoke-UserPwsh -Data @{ Package = $Package } -Script @'
Publish-PSResource -NupkgPath $Data.Package -Repository AtelierTest
Find-PSResource Atelier -Repository AtelierTest | Select-Object Name, @{ n = 'Version'; e = { "$($_.Version)" } },
    @{ n = 'ProjectUri'; e = { "$($_.ProjectUri)" } }, @{ n = 'LicenseUri'; e = { "$($_.LicenseUri)" } }, ReleaseNotes |
    ConvertTo-Json | Set-Content $Result
'@
        $published = Join-Path $Repository "Atelier.$Version.nupkg"
        $published | Should -Exist
        (Get-FileHash $published).Hash | Should -Be (Get-FileHash $Package).Hash
        $r.Result.Name | Should -BeExactly 'Atelier'
        $r.Result.Version | Should -BeExactly $Version
        $r.Result.ProjectUri | Should -BeExactly $Url
        $r.Result.LicenseUri | Should -BeExactly "$Url/blob/main/LICENSE"
        $r.Result.ReleaseNotes | Should -Match 'Invoke-ServiceDeploy'
    }

    It 'installs Atelier for the current user: the package''s files under the isolated home''s modules' {
        $r = Invoke-UserPwsh -Script @'
Install-PSResource Atelier -Repository AtelierTest -Scope CurrentUser
Get-InstalledPSResource Atelier -Scope CurrentUser | Select-Object Name, @{ n = 'Version'; e = { "$($_.Version)" } }, InstalledLocation |
    ConvertTo-Json | Set-Content $Result
'@
        $r.Result.Name | Should -BeExactly 'Atelier'
        $r.Result.Version | Should -BeExactly $Version
        $installed = Join-Path $UserModules "Atelier/$Version"
        $installed | Should -Exist
        # PSResourceGet adds its own record of the install, PSGetModuleInfo.xml.
        Get-RelativeFile $installed | Should -Be (@((Get-PackageEntry) | Where-Object { $_ -notmatch $NuGetOwn }) + 'PSGetModuleInfo.xml' | Sort-Object)
    }

    Context 'Import-Module Atelier by name in a fresh pwsh' {
        BeforeAll {
            $demo = Get-TestConnection -Service demo
            $script:Run = Invoke-UserPwsh -Data @{ Connection = $demo; HealthUrl = $TestHost.services.demo.healthUrl } -Script @'
$connection = @{}
$Data.Connection.PSObject.Properties | ForEach-Object { $connection[$_.Name] = $_.Value }
Import-Module Atelier
$module = Get-Module Atelier
$http = Test-ServiceHealth -Name demo -HealthUrl $Data.HealthUrl
$systemd = Test-ServiceHealth -Name demo @connection
# A real deploy (Unchanged when origin is what runs) writes this machine's history with the installed native SQLite.
$deploy = Invoke-ServiceDeploy demo -HealthUrl $Data.HealthUrl @connection
$history = @(Get-ServiceDeployHistory demo)
[pscustomobject]@{
    ModuleBase    = $module.ModuleBase
    Version       = "$($module.Version)"
    Cmdlets       = @($module.ExportedCmdlets.Keys | Sort-Object)
    PSModulePath  = $env:PSModulePath
    Engine        = ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Atelier.Engine' }).Location
    NativeSqlite  = @(Get-Content /proc/self/maps | Where-Object { $_ -match 'libe_sqlite3' } | ForEach-Object { ($_ -split '\s+', 6)[5] } | Sort-Object -Unique)
    Http          = $http | Select-Object Status, Healthy, StatusCode, Method
    Systemd       = $systemd | Select-Object Status, Healthy, Method, ActiveState, ComputerName
    Deploy        = $deploy.Status
    History       = $history.Count
    HistoryFile   = Test-Path (Join-Path $HOME '.local/state/atelier/history.db')
} | ConvertTo-Json -Depth 4 -EnumsAsStrings | Set-Content $Result
'@
            $script:Installed = Join-Path $UserModules "Atelier/$Version"
        }

        It 'loads the installed module, and only the isolated home''s modules are on its path' {
            $Run.Result.ModuleBase | Should -Be $Installed
            $Run.Result.Version | Should -BeExactly $Version
            $Run.Result.Cmdlets | Should -Be ((Import-PowerShellDataFile $env:ATELIER_MODULE).CmdletsToExport | Sort-Object)
            $Run.Result.PSModulePath -split [IO.Path]::PathSeparator | Should -Not -Contain (Join-Path ([Environment]::GetFolderPath('UserProfile')) '.local/share/powershell/Modules')
            # PowerShell 7.6 on linux-x64 loads the engine's ReadyToRun copy; elsewhere the IL.
            $engine = [Environment]::Version.Major -ge 10 -and [Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier -like 'linux-x64*' ?
                'Dependencies/runtimes/linux-x64/lib/net10.0/Atelier.Engine.dll' : 'Dependencies/Atelier.Engine.dll'
            $Run.Result.Engine | Should -Be (Join-Path $Installed $engine)
        }

        It 'checks the demo service over HTTP' {
            $Run.Result.Http.Method | Should -Be 'http'
            $Run.Result.Http.Status | Should -Be 'Up'
            $Run.Result.Http.Healthy | Should -BeTrue
            $Run.Result.Http.StatusCode | Should -Be 200
        }

        It 'checks the demo unit over SSH' {
            $Run.Result.Systemd.Method | Should -Be 'systemd'
            $Run.Result.Systemd.Status | Should -Be 'Up'
            $Run.Result.Systemd.ActiveState | Should -Be 'active'
            $Run.Result.Systemd.ComputerName | Should -Be $TestHost.host
        }

        It 'deploys, and writes and reads its local SQLite history with the installed native SQLite' {
            $Run.Result.Deploy | Should -BeIn @('Succeeded', 'Unchanged')
            $Run.Result.History | Should -Be 1
            $Run.Result.HistoryFile | Should -BeTrue
            $rid = 'linux-' + [Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()
            $Run.Result.NativeSqlite | Should -Be @(Join-Path $Installed "Dependencies/runtimes/$rid/native/libe_sqlite3.so")
        }
    }
}
