#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and demonstrates Atelier.
.DESCRIPTION
    Build  - compiles the solution and lays out a clean out/Atelier/ (manifest, Atelier.dll, Dependencies/ with
             the native SQLite of the five supported runtimes, the format file, the help file, about_Atelier and
             LICENSE); fails when an expected file is missing or the manifest disagrees with Directory.Build.props.
    Package - Build (with ReadyToRun code for linux-x64), then packs out/Atelier/ into out/Atelier.<version>.nupkg
             (Compress-PSResource), the package Install-PSResource installs; fails unless it holds exactly the module
             folder's files.
    Test   - Build, boots the sandbox test host (a Debian container with real systemd), runs every xunit and
             Pester test (with the package: $env:ATELIER_PACKAGE), shuts the host down, and prints one line
             'N passed, N failed'.
    Demo   - Build, boots the sandbox host and runs the main job against its sample service.
    Bench  - Build, boots the sandbox host and prints the benchmark figures.
    Clean  - removes out/ and every bin/ and obj/ folder.
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Package', 'Test', 'Demo', 'Bench', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Keep the test host running after Test, Demo or Bench (for poking at it).
    [switch] $KeepHost
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleOut = Join-Path $out 'Atelier'
$testHostScript = Join-Path $root 'tests/TestHost/testhost.sh'
# The runtimes Atelier supports: the module carries the native SQLite of these and no other.
$runtimes = @{
    'linux-x64' = 'libe_sqlite3.so'; 'linux-arm64' = 'libe_sqlite3.so'
    'osx-x64' = 'libe_sqlite3.dylib'; 'osx-arm64' = 'libe_sqlite3.dylib'
    'win-x64' = 'e_sqlite3.dll'
}

function Invoke-Native {
    param([string] $Command, [string[]] $Arguments)
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Command $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Build {
    # -ReadyToRun: the runtime identifiers (linux-x64, linux-arm64, osx-x64, osx-arm64, win-x64) that get ReadyToRun
    # copies of the engine and its dependencies; by default this machine's, the one the tests, benchmarks and CI use.
    param([string[]] $ReadyToRun = @(($IsWindows ? 'win' : $IsMacOS ? 'osx' : 'linux') + '-' + "$([Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture)".ToLowerInvariant()))
    $sw = [Diagnostics.Stopwatch]::StartNew()
    Invoke-Native dotnet @('build', (Join-Path $root 'Module.sln'), '-c', $Configuration, '-nologo', '-v', 'q', '-clp:ErrorsOnly')
    $staging = Join-Path $out 'staging'
    Remove-Item $staging, $moduleOut -Recurse -Force -ErrorAction Ignore
    Invoke-Native dotnet @('publish', (Join-Path $root 'src/Atelier.Engine/Atelier.Engine.csproj'), '-c', $Configuration,
        '--no-build', '-nologo', '-v', 'q', '-o', (Join-Path $staging 'engine'))
    # Native code for .NET 10 (PowerShell 7.6), per runtime identifier: see src/Atelier.Engine/Atelier.Engine.csproj.
    $readyToRunLib = 'lib/net10.0'
    foreach ($rid in $ReadyToRun) {
        Invoke-Native dotnet @('publish', (Join-Path $root 'src/Atelier.Engine/Atelier.Engine.csproj'), '-c', $Configuration,
            '-r', $rid, '--self-contained', 'false', '-p:PublishReadyToRun=true', '-nologo', '-v', 'q', '-clp:ErrorsOnly',
            '-o', (Join-Path $staging "readytorun/$rid"))
    }

    $deps = New-Item -ItemType Directory -Force (Join-Path $moduleOut 'Dependencies')
    Write-ModuleManifest -Destination (Join-Path $moduleOut 'Atelier.psd1')
    Copy-Item (Join-Path $root 'LICENSE') $moduleOut
    Copy-Item (Join-Path $root "src/Atelier/bin/$Configuration/net8.0/Atelier.dll") $moduleOut
    Get-ChildItem (Join-Path $staging 'engine') -Filter *.dll | Copy-Item -Destination $deps
    foreach ($rid in $ReadyToRun) {
        $target = New-Item -ItemType Directory -Force (Join-Path $deps "runtimes/$rid/$readyToRunLib")
        Get-ChildItem (Join-Path $staging "readytorun/$rid") -Filter *.dll | Copy-Item -Destination $target
    }
    # Native SQLite for the supported runtimes only (ModuleInitializer loads runtimes/<os>-<arch>/native/).
    foreach ($rid in $runtimes.Keys) {
        $native = Join-Path $staging "engine/runtimes/$rid/native/$($runtimes[$rid])"
        if (Test-Path $native) {
            $target = New-Item -ItemType Directory -Force (Join-Path $deps "runtimes/$rid/native")
            Copy-Item $native $target
        }
    }

    Merge-FormatFile -Source (Join-Path $root 'src/Atelier/Formats') -Destination (Join-Path $moduleOut 'Atelier.format.ps1xml')
    $helpOut = New-Item -ItemType Directory -Force (Join-Path $moduleOut 'en-US')
    Invoke-Native dotnet @('pwsh', '-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'src/Atelier/Help/New-MamlHelp.ps1'),
        '-ModulePath', (Join-Path $moduleOut 'Atelier.psd1'), '-SourcePath', (Join-Path $root 'src/Atelier/Help'),
        '-OutFile', (Join-Path $helpOut 'Atelier.dll-Help.xml'))
    Copy-Item (Join-Path $root 'src/Atelier/Help/about_Atelier.help.txt') $helpOut
    Remove-Item $staging -Recurse -Force

    $expected = @(
        'Atelier.psd1', 'Atelier.dll', 'Atelier.format.ps1xml', 'en-US/Atelier.dll-Help.xml', 'en-US/about_Atelier.help.txt', 'LICENSE',
        'Dependencies/Atelier.Engine.dll', 'Dependencies/Renci.SshNet.dll', 'Dependencies/YamlDotNet.dll',
        'Dependencies/Microsoft.Data.Sqlite.dll', 'Dependencies/SQLitePCLRaw.core.dll',
        'Dependencies/SQLitePCLRaw.provider.e_sqlite3.dll', 'Dependencies/SQLitePCLRaw.batteries_v2.dll'
    ) + @($runtimes.Keys | ForEach-Object { "Dependencies/runtimes/$_/native/$($runtimes[$_])" }) + @($ReadyToRun | ForEach-Object { "Dependencies/runtimes/$_/$readyToRunLib/Atelier.Engine.dll" })
    $missing = $expected | Where-Object { -not (Test-Path (Join-Path $moduleOut $_)) }
    if ($missing) { throw "The build is missing: $($missing -join ', ')" }
    Test-ModuleManifest (Join-Path $moduleOut 'Atelier.psd1') | Out-Null
    Write-Host "Built $moduleOut in $([int]$sw.Elapsed.TotalSeconds) s"
}

function Get-ProjectProperty {
    # A property of Directory.Build.props: the one place of the version (Version) and the project's URL (RepositoryUrl).
    param([string] $Name)
    $node = ([xml](Get-Content -Raw (Join-Path $root 'Directory.Build.props'))).SelectSingleNode("/Project/PropertyGroup/$Name")
    if (-not $node -or -not $node.InnerText.Trim()) { throw "Directory.Build.props has no $Name." }
    $node.InnerText.Trim()
}

function Get-ReleaseNote {
    # The body of CHANGELOG.md's '## [<Version>]' section, up to the next '## ' heading.
    param([string] $Version)
    $changelog = Get-Content -Raw (Join-Path $root 'CHANGELOG.md')
    $section = [regex]::Match($changelog, "(?ms)^## \[$([regex]::Escape($Version))\][^\n]*\n(.*?)(?=^## |\z)")
    if (-not $section.Success -or -not $section.Groups[1].Value.Trim()) {
        throw "CHANGELOG.md has no section '## [$Version]' (the Version in Directory.Build.props): add one."
    }
    $section.Groups[1].Value.Trim() -replace '\r\n', "`n"
}

function Write-ModuleManifest {
    # Copies Atelier.psd1 into the module after checking it against Directory.Build.props, with CHANGELOG.md's
    # section for the version as its ReleaseNotes.
    param([string] $Destination)
    $source = Join-Path $root 'Atelier.psd1'
    $manifest = Import-PowerShellDataFile $source
    $version = Get-ProjectProperty 'Version'
    $url = Get-ProjectProperty 'RepositoryUrl'
    $wanted = [ordered]@{
        ModuleVersion = @($manifest.ModuleVersion, $version)
        ProjectUri    = @($manifest.PrivateData.PSData.ProjectUri, $url)
        LicenseUri    = @($manifest.PrivateData.PSData.LicenseUri, "$url/blob/main/LICENSE")
    }
    foreach ($key in $wanted.Keys) {
        $has, $should = $wanted[$key]
        if ($has -ne $should) {
            throw "Atelier.psd1 has $key '$has' but Directory.Build.props makes it '$should': change Atelier.psd1."
        }
    }

    $notes = Get-ReleaseNote $version
    $quoted = "'" + [Management.Automation.Language.CodeGeneration]::EscapeSingleQuotedStringContent($notes) + "'"
    $text = Get-Content -Raw $source
    $stamped = [regex]::Replace($text, "(?m)^(\s*ReleaseNotes\s*=\s*)''", { param($m) $m.Groups[1].Value + $quoted })
    if ($stamped -eq $text) { throw "Atelier.psd1 has no line ReleaseNotes = '' for the build to fill." }
    Set-Content -LiteralPath $Destination -Value $stamped -NoNewline
    if ((Import-PowerShellDataFile $Destination).PrivateData.PSData.ReleaseNotes -cne $notes) {
        throw "The built manifest's ReleaseNotes do not read back as CHANGELOG.md's section for $version."
    }
}

function New-ModulePackage {
    # Packs out/Atelier/ as out/Atelier.<version>.nupkg: exactly the module folder, plus NuGet's own metadata.
    $version = Get-ProjectProperty 'Version'
    Get-ChildItem $out -Filter 'Atelier.*.nupkg' | Remove-Item -Force
    Compress-PSResource -Path $moduleOut -DestinationPath $out | Out-Null
    $package = Join-Path $out "Atelier.$version.nupkg"
    if (-not (Test-Path $package)) { throw "Compress-PSResource did not write $package." }

    $nugetOwn = '^(\[Content_Types\]\.xml|_rels/\.rels|Atelier\.nuspec|package/services/metadata/core-properties/[^/]+\.psmdcp)$'
    $zip = [IO.Compression.ZipFile]::OpenRead($package)
    try { $entries = @($zip.Entries | ForEach-Object FullName | Where-Object { $_ -notmatch $nugetOwn } | Sort-Object) }
    finally { $zip.Dispose() }
    $files = @(Get-ChildItem $moduleOut -Recurse -File | ForEach-Object {
            [IO.Path]::GetRelativePath($moduleOut, $_.FullName).Replace('\', '/') } | Sort-Object)
    $difference = Compare-Object $files $entries
    if ($difference) {
        throw "The package differs from out/Atelier/: $(($difference | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }) -join ', ')"
    }
    $size = (Get-Item $package).Length
    $unpacked = (Get-ChildItem $moduleOut -Recurse -File | Measure-Object Length -Sum).Sum
    Write-Host ('Packed {0}: {1:N1} MB ({2} files, {3:N1} MB unpacked)' -f $package, ($size / 1MB), $files.Count, ($unpacked / 1MB))
    $package
}

function Merge-FormatFile {
    param([string] $Source, [string] $Destination)
    $merged = [xml]'<?xml version="1.0" encoding="utf-8"?><Configuration><ViewDefinitions/></Configuration>'
    $views = $merged.Configuration.SelectSingleNode('ViewDefinitions')
    foreach ($file in Get-ChildItem $Source -Filter *.format.ps1xml | Sort-Object Name) {
        $doc = [xml](Get-Content -Raw $file.FullName)
        foreach ($view in $doc.Configuration.ViewDefinitions.View) {
            [void] $views.AppendChild($merged.ImportNode($view, $true))
        }
    }
    $merged.Save($Destination)
}

function Install-TestPrerequisite {
    # The tests read databases and keys on this machine with the real sqlite3 and ssh-keygen, and check generated
    # Nix with the real nix-instantiate.
    $packages = @{ 'sqlite3' = 'sqlite3'; 'ssh-keygen' = 'openssh-client'; 'nix-instantiate' = 'nix-bin' }
    $missing = @($packages.Keys | Where-Object { -not (Get-Command $_ -ErrorAction Ignore) })
    # Generated workflows are also read back with a second YAML parser, PyYAML.
    $pyyaml = (Get-Command python3 -ErrorAction Ignore) -and $(& python3 -c 'import yaml' 2>$null; $LASTEXITCODE -eq 0)
    if (-not $pyyaml) {
        $missing += 'python3-yaml'; $packages['python3-yaml'] = 'python3-yaml'
    }
    if ($missing) {
        Invoke-Native apt-get @('update', '-qq')
        Invoke-Native apt-get (@('install', '-y', '-qq') + @($missing | ForEach-Object { $packages[$_] }))
    }
}

function Start-TestHost {
    Invoke-Native bash @($testHostScript, 'start')
    $state = Join-Path ($env:ATELIER_TESTHOST_STATE ?? '/tmp/atelier-testhost') 'testhost.json'
    $env:ATELIER_TESTHOST = $state
    Get-Content -Raw $state | ConvertFrom-Json
}

function Stop-TestHost {
    if (-not $KeepHost) { & bash $testHostScript stop }
}

function Invoke-Test {
    try { Invoke-Build -ReadyToRun linux-x64; $env:ATELIER_PACKAGE = New-ModulePackage; Install-TestPrerequisite }
    catch {
        Write-Warning "The build failed: $_"
        '0 passed, 1 failed'
        exit 1
    }
    $results = Join-Path $out 'test-results'
    Remove-Item $results -Recurse -Force -ErrorAction Ignore
    New-Item -ItemType Directory $results | Out-Null
    $passed = 0; $failed = 0

    # The sandbox host first: most xunit tests need none, but those that watch a real unit use it (ATELIER_TESTHOST).
    $hostUp = $false
    try { Start-TestHost | Out-Null; $hostUp = $true }
    catch { Write-Warning "The test host did not start: $_" }
    try {
        # Unit tests (xunit).
        & dotnet test (Join-Path $root 'tests/Atelier.Engine.Tests') -c $Configuration --no-build -nologo `
            --logger "trx;LogFileName=xunit.trx" --results-directory $results
        $trx = Get-ChildItem $results -Recurse -Filter xunit.trx | Select-Object -First 1
        if ($trx) {
            $counters = ([xml](Get-Content -Raw $trx.FullName)).TestRun.ResultSummary.Counters
            $passed += [int]$counters.passed
            $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        }
        else {
            Write-Warning 'xunit wrote no results: counting the unit tests as one failure.'
            $failed += 1
        }

        # Pester: in a fresh pwsh, against the real test host.
        if (-not $hostUp) { throw 'there is no test host.' }
        $pesterJson = Join-Path $results 'pester.json'
        & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $root 'tests/Invoke-Pester.ps1') `
            -ModulePath (Join-Path $moduleOut 'Atelier.psd1') -ResultFile $pesterJson
        if (Test-Path $pesterJson) {
            $pester = Get-Content -Raw $pesterJson | ConvertFrom-Json
            $passed += $pester.Passed
            $failed += $pester.Failed
        }
        else {
            Write-Warning 'Pester wrote no results: counting the Pester run as one failure.'
            $failed += 1
        }
    }
    catch {
        Write-Warning "The Pester run could not complete: $_"
        $failed += 1
    }
    finally {
        Stop-TestHost
    }

    "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

switch ($Task) {
    'Build' { Invoke-Build }
    # The package carries ReadyToRun code for linux-x64 (GitHub's runners and most hosts), whatever builds it.
    'Package' { Invoke-Build -ReadyToRun linux-x64; New-ModulePackage | Out-Null }
    'Test' { Invoke-Test }
    'Demo' {
        Invoke-Build
        try {
            $testHost = Start-TestHost
            & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $root 'tests/Demo.ps1') -ModulePath (Join-Path $moduleOut 'Atelier.psd1') -TestHostFile $env:ATELIER_TESTHOST
            if ($LASTEXITCODE -ne 0) { throw "The demo failed (exit code $LASTEXITCODE)." }
        }
        finally { Stop-TestHost }
    }
    'Bench' {
        Invoke-Build
        try {
            Start-TestHost | Out-Null
            & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $root 'tests/Benchmarks.ps1') -ModulePath (Join-Path $moduleOut 'Atelier.psd1') -TestHostFile $env:ATELIER_TESTHOST
        }
        finally { Stop-TestHost }
    }
    'Clean' {
        Remove-Item $out -Recurse -Force -ErrorAction Ignore
        Get-ChildItem $root -Recurse -Directory -Include bin, obj | Remove-Item -Recurse -Force
    }
}
