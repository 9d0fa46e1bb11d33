#Requires -Version 7.4
<#
.SYNOPSIS
    The main job, run by 'build.ps1 -Task Demo' against the sandbox host: checks the health of the sample
    services, snapshots their live databases, lists the snapshots, then deploys a good commit (Succeeded) and a
    broken one (rolled back: code and database restored, healthy again).
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestHostFile
)

$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
$env:ATELIER_TESTHOST = $TestHostFile
Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force   # publishes sample commits to the sandbox's origin
$sandbox = Get-Content -Raw $TestHostFile | ConvertFrom-Json
$connection = @{ Port = [int]$sandbox.sshPort; IdentityFile = $sandbox.identityFile; KnownHostsFile = $sandbox.knownHosts }

# What a services manifest would hold: one object per service, whose properties bind by name.
$services = foreach ($name in 'demo', 'notes') {
    $s = $sandbox.services.$name
    [pscustomobject]@{ Name = $name; ComputerName = $sandbox.host; HealthUrl = $s.healthUrl; DbPath = $s.dbPath }
}

Write-Host "`n== Health over HTTP (both services at once)" -ForegroundColor Cyan
$services | Test-ServiceHealth @connection | Format-Table | Out-String -Width 200 | Write-Host

Write-Host "== Health of the systemd unit, over SSH" -ForegroundColor Cyan
Test-ServiceHealth -Name demo -ComputerName $sandbox.host @connection | Format-Table | Out-String -Width 200 | Write-Host

Write-Host "== Online snapshots of the live databases (the apps keep writing)" -ForegroundColor Cyan
$services | Backup-ServiceDb @connection -Keep 3 | Format-Table | Out-String -Width 200 | Write-Host

Write-Host "== Snapshots kept for demo, newest first" -ForegroundColor Cyan
Get-ServiceDbSnapshot demo -ComputerName $sandbox.host @connection | Format-Table | Out-String -Width 200 | Write-Host

$deploy = @{ Service = 'demo'; ComputerName = $sandbox.host; HealthUrl = $sandbox.services.demo.healthUrl; DbPath = 'data/demo.db'; BuildCommand = 'bun run build'; HealthTimeout = 8 } + $connection
Write-Host "== Deploy a good commit" -ForegroundColor Cyan
Publish-TestCommit -Service demo -Variant Good | Out-Null
Invoke-ServiceDeploy @deploy | Format-Table | Out-String -Width 200 | Write-Host

Write-Host "== Deploy a commit whose /health answers 500: it is rolled back, code and database" -ForegroundColor Cyan
Publish-TestCommit -Service demo -Variant HealthFails | Out-Null
$rolledBack = Invoke-ServiceDeploy @deploy -ErrorAction SilentlyContinue -ErrorVariable deployError
$rolledBack | Format-Table | Out-String -Width 200 | Write-Host
$rolledBack.Steps | Format-Table Name, @{ n = 'ms'; e = { [int]$_.Duration.TotalMilliseconds } }, ExitCode | Out-String -Width 200 | Write-Host
Write-Host "The error a workflow would fail on: $($deployError[0])" -ForegroundColor Yellow

Write-Host "== The deploy history, as the host recorded it" -ForegroundColor Cyan
Get-ServiceDeployHistory -Service demo -ComputerName $sandbox.host @connection -FromHost -Last 5 | Format-Table | Out-String -Width 200 | Write-Host
