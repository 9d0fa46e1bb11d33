#Requires -Version 7.4
<#
.SYNOPSIS
    The main job, run by 'build.ps1 -Task Demo' against the sandbox host: checks the health of the sample
    services (read from a services manifest), snapshots their live databases, lists the snapshots, then deploys a
    good commit (Succeeded) and a broken one (rolled back: code and database restored, healthy again), shows the
    fleet at a glance (Get-ServiceStatus), and adds a service to a copy of the fixture infrastructure repository
    with New-ServiceModule.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestHostFile
)

$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
$env:ATELIER_TESTHOST = $TestHostFile
Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force   # publishes sample commits to the sandbox's origin
Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force      # runs commands as root on the sandbox host
$sandbox = Get-Content -Raw $TestHostFile | ConvertFrom-Json
$connection = @{ Port = [int]$sandbox.sshPort; IdentityFile = $sandbox.identityFile; KnownHostsFile = $sandbox.knownHosts }

# The sandbox's services manifest, shaped like `nix eval --json .#services-manifest`: Get-AtelierService turns it
# into objects whose properties (Name, Host, HealthUrl, DbPath) bind by name into every other cmdlet.
$work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-demo-$([guid]::NewGuid())")
$manifest = Join-Path $work 'services.json'
@{
    sandbox = [ordered]@{
        hostname = 'sandbox'; type = 'server'; tailscale_host = $sandbox.host
        services = @(foreach ($name in 'demo', 'notes') {
            $s = $sandbox.services.$name
            [ordered]@{ name = $name; port = $s.port; runtime = 'bun'; health_url = $s.healthUrl; data = @{ sqlite = $s.dbPath } }
        })
    }
} | ConvertTo-Json -Depth 6 | Set-Content $manifest
$services = Get-AtelierService -Manifest $manifest

Write-Host "`n== The services manifest, and whether its machine answers on SSH" -ForegroundColor Cyan
$services | Format-Table | Out-String -Width 200 | Write-Host
Test-AtelierMachine -Manifest $manifest -Port $sandbox.sshPort | Format-Table | Out-String -Width 200 | Write-Host

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

Write-Host "== Deploy a commit that exits at start: the unit is watched, the crash is noticed at once" -ForegroundColor Cyan
Publish-TestCommit -Service demo -Variant CrashesAtStart | Out-Null
$crashed = Invoke-ServiceDeploy @deploy -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
$crashed | Format-Table | Out-String -Width 200 | Write-Host
Write-Host "Why: $(($crashed.Error -split "`n")[0])" -ForegroundColor Yellow

Write-Host "== A client killed with kill -9 in the middle of its install: the host's guard puts the service back" -ForegroundColor Cyan
$env:ATELIER_MODULE = (Resolve-Path $ModulePath).Path
$before = (Get-TestDeployState -Service demo).Commit
Reset-TestOrigin -Service demo -To $before
Publish-TestCommit -Service demo -Variant Good | Out-Null
Invoke-TestHostRoot 'touch /tmp/atelier-demo-slow-install' | Out-Null
$dying = $deploy.Clone(); $dying.GuardTimeout = 5; $dying.InstallCommand = 'if [ -e /tmp/atelier-demo-slow-install ]; then sleep 60; fi; bun install --frozen-lockfile'
$client = Start-DeployClient -Parameters $dying -Folder $work
if (-not (Wait-TestHostProcess '^sleep 60')) { throw 'the deploy never reached its install step' }
Stop-DeployClient $client
Invoke-TestHostRoot 'rm -f /tmp/atelier-demo-slow-install' | Out-Null
Write-Host "Killed the client at its install step; waiting for the guard (5 s without a heartbeat)..."
$seconds = Wait-DeployLockReleased
$health = Wait-TestHealth -Commit $before
Write-Host ("The guard released the lock after {0:N1} s; /health answers {1} from {2}" -f $seconds, $health.Code, $health.Commit)
Get-ServiceDeployHistory -Service demo -ComputerName $sandbox.host @connection -FromHost -Last 1 | Format-List Status, FailedStep, Error | Out-String -Width 200 | Write-Host

Write-Host "== The deploy history, as the host recorded it" -ForegroundColor Cyan
Get-ServiceDeployHistory -Service demo -ComputerName $sandbox.host @connection -FromHost -Last 5 | Format-Table | Out-String -Width 200 | Write-Host

Write-Host "== The fleet at a glance: deployed commit, origin ahead, unit, health, last deploy, lock, newest snapshot" -ForegroundColor Cyan
Publish-TestCommit -Service notes -Variant Good | Out-Null
$services | Get-ServiceStatus @connection | Format-Table | Out-String -Width 200 | Write-Host

Write-Host "== Add a service to an infrastructure repository (a copy of the test fixture): module, machine block, app workflow" -ForegroundColor Cyan
$infra = Join-Path $work 'infra'
Copy-Item -Recurse (Join-Path $PSScriptRoot 'Fixtures/infra') $infra
$app = New-Item -ItemType Directory (Join-Path $work 'pastebin')
$new = @{ Name = 'pastebin'; Description = 'Pastes, kept a week'; Domain = 'paste.example.org'; HealthUrl = 'https://paste.example.org/health'
    Sqlite = 'data/paste.db'; Secret = 'pastebin'; Machine = 'terebithia'; InfraPath = $infra; AppPath = $app
    WorkflowReference = 'example/dots/.github/workflows/deploy-service.yml@main' }
$written = New-ServiceModule @new
$written | Format-Table | Out-String -Width 200 | Write-Host
Write-Host ($written | Where-Object Kind -EQ Machine).Diff
Write-Host "== The same again changes nothing" -ForegroundColor Cyan
New-ServiceModule @new | Format-Table | Out-String -Width 200 | Write-Host
Remove-Item -Recurse -Force $work
