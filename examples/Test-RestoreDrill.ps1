<#
.SYNOPSIS
    A restore drill: the newest snapshot of a service, opened here, its tables' row counts against the live database's.
.DESCRIPTION
    Takes a fresh online snapshot of the live database and copies it here (Backup-ServiceDb -Destination: the live data
    as of now, consistent, without stopping the service; it counts as one of the host's kept snapshots), copies the
    newest earlier snapshot of that database here too (Get-ServiceDbSnapshot | Save-ServiceDbSnapshot, verified on the
    way), opens both with sqlite3, and compares each table's row count. A table whose
    counts differ by more than -Tolerance (a fraction of the live count; 0.1 allows 10 %) fails the drill, as does a
    table the snapshot lacks. A snapshot that cannot be read fails loudly: the drill throws. Writes one object per table
    of the live database and sets $LASTEXITCODE to 1 when any is out of tolerance. Needs sqlite3 on PATH here.
.EXAMPLE
    ./Test-RestoreDrill.ps1 -Service cachet -Tolerance 0.05
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Service,
    [ValidateRange(0, 1)] [double] $Tolerance = 0.1,
    [string] $DbPath,
    [string] $WorkFolder = (Join-Path ([IO.Path]::GetTempPath()) "atelier-drill-$([guid]::NewGuid().ToString('N'))")
)

$ErrorActionPreference = 'Stop'
if (-not (Get-Command sqlite3 -CommandType Application -ErrorAction SilentlyContinue)) { throw 'The restore drill opens the copies with sqlite3: install it (apt-get install sqlite3).' }

function Get-RowCount([string] $Path) {
    # Each table's row count, read-only; any failure to read the file is the drill's failure.
    $tables = & sqlite3 -readonly -batch $Path "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name" 2>&1
    if ($LASTEXITCODE -ne 0) { throw "Cannot read ${Path}: $tables" }
    $counts = [ordered]@{}
    foreach ($table in @($tables)) {
        $count = & sqlite3 -readonly -batch $Path "SELECT count(*) FROM `"$($table -replace '"', '""')`"" 2>&1
        if ($LASTEXITCODE -ne 0) { throw "Cannot count the rows of $table in ${Path}: $count" }
        $counts["$table"] = [long]"$count"
    }
    $counts
}

New-Item -ItemType Directory -Force $WorkFolder | Out-Null
# The live data as of now: an online snapshot (the database from -DbPath, else the services manifest), copied here.
$backup = @{}
if ($DbPath) { $backup.DbPath = $DbPath }
$live = Backup-ServiceDb $Service @backup -Destination (Join-Path $WorkFolder 'live.db')
# The snapshot a restore would use: the newest one of that database before this drill's.
$newest = Get-ServiceDbSnapshot $Service -Database $live.Database | Where-Object Path -NE $live.Path | Select-Object -First 1
if (-not $newest) { throw "$Service has no snapshot of $($live.Database) to drill with." }
$saved = $newest | Save-ServiceDbSnapshot -Destination $WorkFolder

$snapshotRows = Get-RowCount $saved.LocalPath
$liveRows = Get-RowCount $live.LocalPath
$outside = 0
foreach ($table in $liveRows.Keys) {
    $now = $liveRows[$table]
    $then = if ($snapshotRows.Contains($table)) { $snapshotRows[$table] } else { $null }
    $allowed = [math]::Ceiling($now * $Tolerance)
    $within = $null -ne $then -and [math]::Abs($now - $then) -le $allowed
    if (-not $within) { $outside++ }
    [pscustomobject]@{
        Table           = $table
        SnapshotRows    = $then
        LiveRows        = $now
        Difference      = if ($null -ne $then) { $now - $then }
        WithinTolerance = $within
        Snapshot        = $newest.Path
    }
}

Remove-Item -LiteralPath $WorkFolder -Recurse -Force -ErrorAction SilentlyContinue
$global:LASTEXITCODE = if ($outside) { 1 } else { 0 }
