<#
.SYNOPSIS
    Deploys every service of one machine, one after another, and stops at the first that did not succeed.
.DESCRIPTION
    Reads the services of -Machine from the services manifest (the settings file's, or -Manifest) and deploys each
    with Invoke-ServiceDeploy, in the manifest's order. A deploy that did not succeed has already put its service back
    (RolledBack) or says why it could not (RollbackFailed, Failed); the services after it are not deployed and are
    reported as Skipped. Writes one result per service (the deploy results, then a Skipped record for each service not
    deployed), prints a summary, and sets $LASTEXITCODE to 1 when a service did not succeed.
.EXAMPLE
    ./Deploy-Machine.ps1 -Machine terebithia
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Machine,
    [string] $Manifest
)

$lookup = @{ Machine = $Machine; ErrorAction = 'Stop' }
if ($Manifest) { $lookup.Manifest = $Manifest }
$services = @(Get-AtelierService @lookup)
if ($services.Count -eq 0) { throw "The services manifest lists no service on $Machine." }

$results = [Collections.Generic.List[object]]::new()
$stopped = $false
foreach ($service in $services) {
    if ($stopped) {
        $results.Add([pscustomobject]@{ Service = $service.Name; ComputerName = $service.Host; Status = 'Skipped'; NewCommit = $null; FailedStep = $null })
        continue
    }

    # The service's manifest entry binds by name: its host, health URL, database and deploy fields.
    $result = $service | Invoke-ServiceDeploy -ErrorAction SilentlyContinue -ErrorVariable failed
    if (-not $result) {
        # Refused before it ran (a bad value, no host): no result object, only the error.
        $result = [pscustomobject]@{ Service = $service.Name; ComputerName = $service.Host; Status = 'Failed'; NewCommit = $null; FailedStep = $null; Error = "$failed" }
    }

    $results.Add($result)
    $stopped = $result.Status -notin 'Succeeded', 'Unchanged'
}

$results | Format-Table Service, ComputerName, Status, NewCommit, FailedStep -AutoSize | Out-String -Width 200 | Write-Host
$results
$global:LASTEXITCODE = if ($stopped) { 1 } else { 0 }
