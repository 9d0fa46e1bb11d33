#Requires -Version 7.4
<#
.SYNOPSIS
    Runs every Pester test under tests/ and examples/ against a built module and writes the counts as JSON.
.DESCRIPTION
    Pester comes from its NuGet package (restored with the test project, like any package). Tests import the
    module named by $env:ATELIER_MODULE and find the test host through $env:ATELIER_TESTHOST.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $ResultFile,
    [string[]] $Path = @((Join-Path $PSScriptRoot '*.Tests.ps1'), (Join-Path $PSScriptRoot '../examples/*.Tests.ps1')),
    [string[]] $FullNameFilter
)

$ErrorActionPreference = 'Stop'
$packages = (& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', ''
$pester = Get-ChildItem (Join-Path $packages.Trim() 'pester') -Directory | Sort-Object { [version]$_.Name } -Descending |
    ForEach-Object { Join-Path $_.FullName 'tools/Pester.psd1' } | Where-Object { Test-Path $_ } | Select-Object -First 1
if (-not $pester) { throw "Pester is not restored: run 'dotnet restore tests/Atelier.Engine.Tests' first." }
Import-Module $pester -Force

$env:ATELIER_MODULE = (Resolve-Path $ModulePath).Path
$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
if ($FullNameFilter) { $configuration.Filter.FullName = $FullNameFilter }
$result = Invoke-Pester -Configuration $configuration
[pscustomobject]@{
    Passed  = $result.PassedCount
    Failed  = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Skipped = $result.SkippedCount
} | ConvertTo-Json | Set-Content $ResultFile
