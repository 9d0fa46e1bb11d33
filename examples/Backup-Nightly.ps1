<#
.SYNOPSIS
    The nightly job: a snapshot of every database of the manifest, downloaded here, checked, and both copies pruned.
.DESCRIPTION
    For every service of the services manifest (the settings file's, or -Manifest; only -Machine's with -Machine)
    that has a database, Backup-ServiceDb takes an online snapshot on its host, keeps the newest -Keep there, and
    downloads it into -Destination (Atelier verifies the copy's integrity before it renames it into place). This
    script then checks the local copy once more (present, the size the host reported, a SQLite header) and keeps the
    newest -Keep local copies of that database, removing older ones. One service's failure never stops the others;
    it is an error record, and $LASTEXITCODE is 1 at the end. Writes one summary object per service.
.EXAMPLE
    ./Backup-Nightly.ps1 -Destination /srv/backups/atelier -Keep 14
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Destination,
    [ValidateRange(1, 1000)] [int] $Keep = 7,
    [string] $Manifest,
    [string] $Machine
)

$lookup = @{ ErrorAction = 'Stop' }
if ($Manifest) { $lookup.Manifest = $Manifest }
if ($Machine) { $lookup.Machine = $Machine }
$services = @(Get-AtelierService @lookup | Where-Object DbPath)
New-Item -ItemType Directory -Force $Destination | Out-Null
$folder = (Resolve-Path $Destination).ProviderPath

$failures = 0
foreach ($service in $services) {
    $snapshot = $service | Backup-ServiceDb -Keep $Keep -Destination $folder -ErrorAction SilentlyContinue -ErrorVariable failed
    if (-not $snapshot) {
        $failures++
        Write-Error "$($service.Name): no snapshot: $failed" -ErrorId SnapshotFailed -TargetObject $service.Name
        continue
    }

    # The copy, checked again here: it is where the host said, as long as it said, and a SQLite database.
    $file = Get-Item -LiteralPath $snapshot.LocalPath -ErrorAction SilentlyContinue
    $header = if ($file) { [Text.Encoding]::ASCII.GetString([IO.File]::ReadAllBytes($file.FullName)[0..15]) }
    $verified = $file -and $file.Length -eq $snapshot.SizeBytes -and $header -eq "SQLite format 3`0"
    if (-not $verified) {
        $failures++
        Write-Error "$($service.Name): the copy $($snapshot.LocalPath) is missing or not the database the host wrote" -ErrorId SnapshotCopyInvalid -TargetObject $snapshot.LocalPath
    }

    # Local copies of this database are named as on the host: <name>.<time>...db, so names sort by time.
    $prefix = ($file ?? (Get-Item -LiteralPath $folder)).Name.Split('.')[0]
    $copies = @(Get-ChildItem -LiteralPath $folder -File -Filter "$prefix.*.db" | Sort-Object Name -Descending)
    $removed = @($copies | Select-Object -Skip $Keep)
    $removed | Remove-Item -Force

    [pscustomobject]@{
        Service     = $service.Name
        Database    = $snapshot.Database
        LocalPath   = $snapshot.LocalPath
        SizeBytes   = $snapshot.SizeBytes
        Verified    = [bool]$verified
        LocalKept   = $copies.Count - $removed.Count
        LocalPruned = $removed.Count
    }
}

$global:LASTEXITCODE = if ($failures) { 1 } else { 0 }
