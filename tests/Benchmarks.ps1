#Requires -Version 7.4
<#
.SYNOPSIS
    Prints Atelier's performance figures against the sandbox host (run by 'build.ps1 -Task Bench').
.DESCRIPTION
    1. Module import time in a fresh 'pwsh -NoProfile', beyond pwsh's own start (goal: under 300 ms).
    2. Snapshot of a 1 GiB WAL database on the host while the app writes: Backup-ServiceDb against 'cp' of the
       same file (the physical floor) and 'sqlite3 .backup' (goal: within 1.5x of cp).
    3. Time from the unit becoming ready to Test-ServiceHealth reporting it up (goal: under 300 ms).
    4. Tab completion from a 100-service manifest (first and cached) and New-ServiceModule's planning time.
    5. Faults: a commit that exits at start, from the deploy's start to RolledBack and healthy, beside the anchor's bash
       sequence against the same host; a client killed with kill -9 in its install step, from the kill to the previous
       commit healthy again and the lock released, with the default guard timeout and with a short one.
    6. The reusable workflow's Atelier steps from a clean HOME, as a fresh runner does them: before (a clone, the tool
       restore and a build from source, as the old workflow did) and after (Install-PSResource from a folder repository
       holding the package, then Import-Module). Goal: install plus import within 10 s.
    7. Start-up, each a median over fresh processes: pwsh's own start, the import beyond it, then in one process the
       first connecting cmdlet and a second one (goal: the first no more than 150 ms beyond the second), the methods
       the first one JIT-compiles, which copy of the engine loaded (ReadyToRun or IL) and the module's size on disk.
    8. Deploy, whole process: Invoke-ServiceDeploy of a good commit in a fresh pwsh beside the anchor's bash sequence
       (ssh heredocs, then a curl health loop) with its 5 s sleeps and with 1 s sleeps, on the same host, each a
       median of -Runs.
    9. Parallel deploys: four services on two hosts (the sandbox host and an extra one booted here, two services each)
       in one Invoke-ServiceDeploy, against one service on one host, a good commit each, alternating, medians of -Runs
       (goal: four at most 1.3x one).
    10. Status: Get-ServiceStatus of every service on two hosts (the sandbox and an extra one it boots, two services
        each), whole process in a fresh pwsh against pwsh's own start (goal: under 1.5 s beyond it), with the fetch and
       with -NoFetch, and a second call in one process.
    Figures, not pass/fail: nothing here asserts a time. -Section picks some of them.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestHostFile,
    [int] $Runs = 5,
    [int] $DatabaseMiB = 1024,
    # Some of: import, snapshot, health, interactive, faults, workflow, startup, deploy, parallel, status (a comma-separated list works with -File too).
    [string[]] $Section = @('import', 'snapshot', 'health', 'interactive', 'faults', 'workflow', 'startup', 'deploy', 'parallel', 'status')
)

$ErrorActionPreference = 'Stop'
$Section = @($Section -split ',' | ForEach-Object Trim | Where-Object { $_ })
$unknown = @($Section | Where-Object { $_ -notin 'import', 'snapshot', 'health', 'interactive', 'faults', 'workflow', 'startup', 'deploy', 'parallel', 'status' })
if ($unknown) { throw "Unknown -Section: $($unknown -join ', ') (use import, snapshot, health, interactive, faults, startup, deploy, parallel, status)." }
Import-Module $ModulePath -Force
Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
$env:ATELIER_TESTHOST = $TestHostFile
$sandbox = Get-TestHost
$connection = Get-TestConnection -Service demo

function Get-Median([double[]] $Values) {
    $sorted = $Values | Sort-Object
    $sorted[[int][math]::Floor($sorted.Count / 2)]
}

function Measure-Run([scriptblock] $Script, [int] $Count = $Runs) {
    Get-Median @(1..$Count | ForEach-Object { (Measure-Command $Script).TotalMilliseconds })
}

# 1. Import time.
if ('import' -in $Section) {
# pwsh runs here as a .NET tool (the process is 'dotnet'): start the same pwsh.dll the same way, fresh each time.
$pwsh = Join-Path $PSHOME 'pwsh.dll'
$bare = Measure-Run { & dotnet $pwsh -NoProfile -NonInteractive -Command 'exit 0' }
$import = Measure-Run { & dotnet $pwsh -NoProfile -NonInteractive -Command "Import-Module '$ModulePath'; exit 0" }
$firstUse = Measure-Run { & dotnet $pwsh -NoProfile -NonInteractive -Command "Import-Module '$ModulePath'; Get-ServiceDbSnapshot x -Local | Out-Null; exit 0" }
'{0,-58} {1,8:N0} ms' -f 'pwsh -NoProfile start (median)', $bare
'{0,-58} {1,8:N0} ms' -f 'Import-Module Atelier beyond pwsh start (goal < 300)', ($import - $bare)
'{0,-58} {1,8:N0} ms' -f 'Import and first cmdlet run (engine load) beyond start', ($firstUse - $bare)

}

# 2. Snapshot of a large live WAL database.
if ('snapshot' -in $Section) {
$db = '/var/lib/demo/data/demo.db'
Write-Host "Growing $db to $DatabaseMiB MiB (as the demo user, while the app writes)..."
Invoke-TestHostRoot "runuser -u demo -- sqlite3 $db 'PRAGMA busy_timeout=60000; CREATE TABLE IF NOT EXISTS ballast(b BLOB); INSERT INTO ballast SELECT randomblob(65536) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < $($DatabaseMiB * 16)) SELECT x FROM c);'" | Out-Null
# Right after the bulk load the new pages sit in a 1 GiB WAL, and every reader goes through it: checkpoint first,
# so the figures are those of a database in its steady state.
Invoke-TestHostRoot "runuser -u demo -- sqlite3 $db '.timeout 60000' 'PRAGMA wal_checkpoint(TRUNCATE)'" | Out-Null
$size = [long]@(Invoke-TestHostRoot "stat -c %s $db")[-1]
'{0,-58} {1,8:N0} MiB' -f 'Database size', ($size / 1MB)
# cp and Backup-ServiceDb alternate, so both see the same page-cache and write-back conditions.
$cpRuns = [Collections.Generic.List[double]]::new(); $atelierRuns = [Collections.Generic.List[double]]::new()
foreach ($i in 1..3) {
    $cpRuns.Add((Measure-Command { Invoke-TestHostRoot "runuser -u demo -- sh -c 'cp $db /var/lib/demo/data/copy.db && rm /var/lib/demo/data/copy.db'" | Out-Null }).TotalMilliseconds)
    $atelierRuns.Add((Measure-Command { Backup-ServiceDb demo $db @connection -Keep 1 | Out-Null }).TotalMilliseconds)
}
$cp = Get-Median $cpRuns
$atelier = Get-Median $atelierRuns
'{0,-58} {1,8:N2} s  (runs: {2})' -f 'cp of the live file (physical floor, median of 3)', ($cp / 1000), (($cpRuns | ForEach-Object { '{0:N2}' -f ($_ / 1000) }) -join ', ')
'{0,-58} {1,8:N2} s  ({2:N2}x cp, goal <= 1.5x; runs: {3})' -f 'Backup-ServiceDb over SSH, with integrity_check (median)', ($atelier / 1000), ($atelier / $cp), (($atelierRuns | ForEach-Object { '{0:N2}' -f ($_ / 1000) }) -join ', ')
# The online backup API restarts whenever another connection writes, so under the app's steady writes it may
# never finish: bound it, and report a run that was cut off as such.
$backupLimit = 60
$backupRuns = foreach ($i in 1..3) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $out = Invoke-TestHostRoot "runuser -u demo -- sh -c 'timeout $backupLimit sqlite3 $db "".backup /var/lib/demo/data/backup.db""; echo exit=`$?; rm -f /var/lib/demo/data/backup.db'"
    [pscustomobject]@{ Ms = $sw.Elapsed.TotalMilliseconds; Finished = ($out -join ' ') -match 'exit=0' }
}
$backup = Get-Median $backupRuns.Ms
'{0,-58} {1,8:N2} s  ({2} of 3 finished within {3} s)' -f 'sqlite3 .backup (median of 3)', ($backup / 1000), @($backupRuns | Where-Object Finished).Count, $backupLimit
Invoke-TestHostRoot "runuser -u demo -- sqlite3 $db 'PRAGMA busy_timeout=60000; DROP TABLE ballast; VACUUM;'" | Out-Null

}

# 3. Unit ready -> Test-ServiceHealth says Up. A tight 5 ms probe loop marks when the app really answers.
if ('health' -in $Section) {
$url = $sandbox.services.demo.healthUrl
$gaps = foreach ($i in 1..$Runs) {
    Invoke-TestHostRoot 'systemctl stop demo.service' | Out-Null
    $ready = Start-ThreadJob -ArgumentList $url {
        param($url)
        $client = [System.Net.Http.HttpClient]::new(); $client.Timeout = [TimeSpan]::FromSeconds(1)
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ([DateTime]::UtcNow -lt $deadline) {
            try { if ($client.GetAsync($url).GetAwaiter().GetResult().IsSuccessStatusCode) { return [DateTime]::UtcNow } } catch { }
            [System.Threading.Thread]::Sleep(5)
        }
        [DateTime]::MinValue
    }
    Start-Sleep -Milliseconds 200
    Invoke-TestHostRoot 'systemctl start demo.service' | Out-Null
    $result = Test-ServiceHealth -Name demo -HealthUrl $url -Timeout 60
    $reported = [DateTime]::UtcNow
    $up = $ready | Receive-Job -Wait -AutoRemoveJob
    if ($result.Healthy -and $up -ne [DateTime]::MinValue) { ($reported - $up).TotalMilliseconds }
}
'{0,-58} {1,8:N0} ms (max {2:N0}, {3} runs)' -f 'Unit ready -> Test-ServiceHealth Up (median, goal < 300)', (Get-Median $gaps), ($gaps | Measure-Object -Maximum).Maximum, @($gaps).Count

}

# 4. Interactive use: tab completion from a manifest, and planning a new service.
if ('interactive' -in $Section) {
$work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-bench-$([guid]::NewGuid())")
try {
    $manifest = Join-Path $work 'services.json'
    $fleet = [ordered]@{}
    foreach ($m in 1..5) {
        $fleet["machine$m"] = [ordered]@{ hostname = "machine$m"; type = 'server'; tailscale_host = "machine$m"
            services = @(foreach ($s in 1..20) { [ordered]@{ name = "svc$m-$s"; port = 3000 + $s; runtime = 'bun' } }) }
    }
    $fleet | ConvertTo-Json -Depth 6 | Set-Content $manifest
    $line = "Get-AtelierService -Manifest '$manifest'; Invoke-ServiceDeploy -Service svc3-1"
    $cold = (Measure-Command { TabExpansion2 -inputScript $line -cursorColumn $line.Length | Out-Null }).TotalMilliseconds
    $warm = Measure-Run { TabExpansion2 -inputScript $line -cursorColumn $line.Length | Out-Null } -Count 20
    '{0,-58} {1,8:N0} ms' -f 'Tab completion, 100-service manifest, first (reads it)', $cold
    '{0,-58} {1,8:N0} ms' -f 'Tab completion, cached manifest (median of 20)', $warm

    $infra = Join-Path $work 'infra'
    Copy-Item -Recurse (Join-Path $PSScriptRoot 'Fixtures/infra') $infra
    $new = @{ Name = 'benchsvc'; Machine = 'terebithia'; InfraPath = $infra; Sqlite = 'data/b.db'; Domain = 'b.example.org' }
    $first = (Measure-Command { New-ServiceModule @new | Out-Null }).TotalMilliseconds
    # Again with the same values: the whole plan (scan every module and machine, render, compare), nothing to write.
    $again = Measure-Run { New-ServiceModule @new | Out-Null } -Count 10
    '{0,-58} {1,8:N0} ms' -f 'New-ServiceModule on the fixture repo, first (writes)', $first
    '{0,-58} {1,8:N0} ms' -f 'New-ServiceModule again, all Unchanged (median of 10)', $again
}
finally { Remove-Item -Recurse -Force $work }
}

# 5. Faults: a crash at start, and a client that dies.
if ('faults' -in $Section) {
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $env:ATELIER_MODULE = (Resolve-Path $ModulePath).Path
    $work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-bench-$([guid]::NewGuid())")
    try {
        $url = $sandbox.services.demo.healthUrl
        $deploy = @{ Service = 'demo'; HealthUrl = $url; DbPath = 'data/demo.db'; BuildCommand = 'bun run build'; HistoryPath = (Join-Path $work 'h.db') } + $connection
        $start = (Get-TestDeployState -Service demo).Commit
        Reset-TestOrigin -Service demo -To $start

        # A commit that exits at start, deployed by Atelier (the unit is watched from the restart on).
        $crash = foreach ($i in 1..3) {
            Reset-TestOrigin -Service demo -To $start
            Publish-TestCommit -Service demo -Variant CrashesAtStart | Out-Null
            $r = Invoke-ServiceDeploy @deploy -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
            if ($r.Status -eq 'RolledBack' -and $r.Health.Healthy) {
                [pscustomobject]@{ Total = $r.Duration.TotalSeconds; Health = ($r.Steps | Where-Object Name -EQ 'health').Duration.TotalSeconds }
            }
        }
        '{0,-58} {1,8:N1} s  (the health step: {2:N1} s; {3} runs)' -f 'Crash-at-start deploy -> RolledBack, healthy (median)', (Get-Median $crash.Total), (Get-Median $crash.Health), @($crash).Count

        # The anchor's bash sequence (seed/deployment.txt) on the same host: 12 curl tries 5 s apart, then its rollback.
        Reset-TestOrigin -Service demo -To $start
        Publish-TestCommit -Service demo -Variant CrashesAtStart | Out-Null
        $ssh = "ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile=$($sandbox.knownHosts) -i $($sandbox.identityFile) -p $($sandbox.sshPort) demo@$($sandbox.host)"
        $anchor = @"
set -eu
$ssh 'cd ~/app && git fetch --all -q && git rev-parse HEAD > /tmp/demo-prev-commit && cp ~/data/demo.db ~/data/demo.db.pre-deploy && git reset -q --hard origin/main'
$ssh 'cd ~/app && bun install --frozen-lockfile >/dev/null 2>&1; bun run build >/dev/null 2>&1; sudo /run/current-system/sw/bin/systemctl restart demo.service'
ok=0; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do if curl -sf $url >/dev/null; then ok=1; break; fi; sleep 5; done
if [ `$ok = 0 ]; then
  $ssh 'sudo /run/current-system/sw/bin/systemctl stop demo.service; cp ~/data/demo.db.pre-deploy ~/data/demo.db; cd ~/app && git reset -q --hard `$(cat /tmp/demo-prev-commit) && bun install >/dev/null 2>&1; bun run build >/dev/null 2>&1; sudo /run/current-system/sw/bin/systemctl restart demo.service'
fi
"@
        $anchorLog = Join-Path $work 'anchor.log'
        Set-Content (Join-Path $work 'anchor.sh') $anchor
        $bash = Measure-Command { & bash (Join-Path $work 'anchor.sh') > $anchorLog 2>&1 }
        if ($LASTEXITCODE -ne 0) { Write-Warning "the anchor's sequence failed: $(Get-Content -Raw $anchorLog)" }
        '{0,-58} {1,8:N1} s' -f 'The anchor''s bash sequence, same commit, same host', $bash.TotalSeconds
        # Its cp of the live WAL database left the host broken: put it back to a healthy state with Atelier.
        Invoke-TestHostRoot 'rm -f /var/lib/demo/data/demo.db.pre-deploy' | Out-Null
        Restore-ServiceDeploy demo -Commit $start -SkipDatabase -HealthUrl $url -BuildCommand 'bun run build' -HistoryPath (Join-Path $work 'h.db') @connection -Confirm:$false -ErrorAction SilentlyContinue | Out-Null

        # A client killed in its install step: from the kill to the previous commit healthy and the lock released.
        foreach ($timeout in 30, 5) {
            Reset-TestOrigin -Service demo -To $start
            Publish-TestCommit -Service demo -Variant Good | Out-Null
            Invoke-TestHostRoot 'touch /tmp/atelier-slow-install' | Out-Null
            $p = $deploy.Clone(); $p.GuardTimeout = $timeout; $p.InstallCommand = 'if [ -e /tmp/atelier-slow-install ]; then sleep 60; fi; bun install --frozen-lockfile'
            $client = Start-DeployClient -Parameters $p -Folder $work
            Wait-TestHostProcess '^sleep 60' | Out-Null
            Stop-DeployClient $client
            $killed = [Diagnostics.Stopwatch]::StartNew()
            Invoke-TestHostRoot 'rm -f /tmp/atelier-slow-install' | Out-Null
            $released = Wait-DeployLockReleased -Seconds ($timeout + 120)
            $healthy = Wait-TestHealth -Commit $start -Seconds 60
            '{0,-58} {1,8:N1} s  (lock released after {2:N1} s; {3})' -f "Client killed in install -> healthy on the old commit (guard $timeout s)", $killed.Elapsed.TotalSeconds, $released, ($healthy.Code -eq 200 ? 'old commit answers 200' : 'NOT healthy')
        }
        Reset-TestOrigin -Service demo -To $start
    }
    finally { Remove-Item -Recurse -Force $work }
}

# 6. The workflow's Atelier steps on a fresh runner: build from source (before) against installing the package (after).
if ('workflow' -in $Section) {
    $root = Split-Path $PSScriptRoot
    $version = ([xml](Get-Content -Raw (Join-Path $root 'Directory.Build.props'))).SelectSingleNode('/Project/PropertyGroup/Version').InnerText.Trim()
    $package = Join-Path $root "out/Atelier.$version.nupkg"
    if (-not (Test-Path $package)) { Write-Warning "No package at $package (build.ps1 -Task Package): the workflow figures are skipped." }
    else {
        $work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-bench-$([guid]::NewGuid())")
        try {
            $pwshDll = Join-Path $PSHOME 'pwsh.dll'
            # Before: what the old workflow's steps did, in a home with nothing in it (no NuGet cache, no tools).
            $before = New-Item -ItemType Directory (Join-Path $work 'home-before')
            & git clone -q $root (Join-Path $work 'atelier')
            $build = Measure-Command {
                & env "HOME=$before" "DOTNET_CLI_HOME=$before" bash -c 'cd "$1" && dotnet tool restore >/dev/null && dotnet pwsh -NoProfile -File ./build.ps1 -Task Build >/dev/null' bash (Join-Path $work 'atelier')
            }
            $built = Test-Path (Join-Path $work 'atelier/out/Atelier/Atelier.psd1')
            '{0,-58} {1,8:N1} s  ({2})' -f 'Before: clone, tool restore, build from source (clean HOME)', $build.TotalSeconds, ($built ? 'built' : 'FAILED')

            # After: register the folder repository, install the package, import it by name, in a fresh home each run.
            $feed = New-Item -ItemType Directory (Join-Path $work 'feed')
            Copy-Item $package $feed
            $installs = foreach ($i in 1..3) {
                $after = New-Item -ItemType Directory (Join-Path $work "home-after-$i")
                $script = "Register-PSResourceRepository -Name atelier -Uri '$feed' -Trusted; Install-PSResource -Name Atelier -Version $version -Repository atelier -TrustRepository -Scope CurrentUser -Quiet; Import-Module Atelier -RequiredVersion $version; (Get-Module Atelier).Version.ToString()"
                $out = $null
                $time = Measure-Command { $out = & env "HOME=$after" dotnet $pwshDll -NoProfile -NonInteractive -Command $script }
                [pscustomobject]@{ Seconds = $time.TotalSeconds; Imported = "$out".Trim() -eq $version }
            }
            '{0,-58} {1,8:N1} s  (goal <= 10 s; runs: {2}; {3})' -f 'After: Install-PSResource and Import-Module (clean HOME)', (Get-Median $installs.Seconds),
                (($installs | ForEach-Object { '{0:N1}' -f $_.Seconds }) -join ', '), ((@($installs | Where-Object Imported).Count -eq 3) ? 'imported' : 'NOT imported')
        }
        finally { Remove-Item -Recurse -Force $work -ErrorAction Ignore }
    }
}

# 7. Start-up: pwsh, the import, and the first and second connecting cmdlet, each in fresh processes.
if ('startup' -in $Section) {
    $pwsh = Join-Path $PSHOME 'pwsh.dll'
    $module = (Resolve-Path $ModulePath).Path
    $work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-bench-$([guid]::NewGuid())")
    try {
        # Runs in the fresh process: times the import and two connecting cmdlets with a stopwatch, counts the methods the
        # first one JIT-compiles, and says where the engine was loaded from.
        $probe = Join-Path $work 'startup.ps1'
        Set-Content $probe @'
param($ModulePath, $ComputerName, $Port, $IdentityFile, $KnownHostsFile)
$ErrorActionPreference = 'Stop'
$connection = @{ ComputerName = $ComputerName; Port = $Port; IdentityFile = $IdentityFile; KnownHostsFile = $KnownHostsFile }
$sw = [Diagnostics.Stopwatch]::StartNew()
Import-Module $ModulePath
$import = $sw.Elapsed.TotalMilliseconds
$jitted = [System.Runtime.JitInfo]::GetCompiledMethodCount($false)
$sw.Restart(); Get-ServiceDbSnapshot demo @connection | Out-Null; $first = $sw.Elapsed.TotalMilliseconds
$jitted = [System.Runtime.JitInfo]::GetCompiledMethodCount($false) - $jitted
$sw.Restart(); Get-ServiceDbSnapshot demo @connection | Out-Null; $second = $sw.Elapsed.TotalMilliseconds
$engine = ([System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'Atelier').Assemblies | Where-Object { $_.GetName().Name -eq 'Atelier.Engine' }
[pscustomobject]@{ Import = $import; First = $first; Second = $second; Jitted = $jitted; Engine = $engine.Location } | ConvertTo-Json -Compress
'@
        $bare = [Collections.Generic.List[double]]::new(); $imported = [Collections.Generic.List[double]]::new()
        $whole = [Collections.Generic.List[double]]::new(); $probes = [Collections.Generic.List[object]]::new()
        # The three kinds of process alternate, so each sees the same load on the machine.
        foreach ($i in 1..$Runs) {
            $bare.Add((Measure-Command { & dotnet $pwsh -NoProfile -NonInteractive -Command 'exit 0' }).TotalMilliseconds)
            $imported.Add((Measure-Command { & dotnet $pwsh -NoProfile -NonInteractive -Command "Import-Module '$module'; exit 0" }).TotalMilliseconds)
            $json = $null
            $whole.Add((Measure-Command {
                        $json = & dotnet $pwsh -NoProfile -NonInteractive -File $probe $module $sandbox.host $sandbox.sshPort $sandbox.identityFile $sandbox.knownHosts
                    }).TotalMilliseconds)
            if ($LASTEXITCODE -ne 0) { Write-Warning "the start-up probe failed: $json"; continue }
            $probes.Add(($json | Select-Object -Last 1 | ConvertFrom-Json))
        }
        $start = Get-Median $bare
        $engine = ($probes.Engine | Select-Object -Unique) -join ', '
        $copy = if ($engine -match '[\\/]runtimes[\\/]([^\\/]+)[\\/]lib[\\/]') { "ReadyToRun copy for $($Matches[1])" } else { 'IL' }
        '{0,-58} {1,8:N0} ms' -f "pwsh -NoProfile start (median of $Runs)", $start
        $beyond = Get-Median @(0..($bare.Count - 1) | ForEach-Object { $imported[$_] - $bare[$_] })
        '{0,-58} {1,8:N0} ms  (in the process: {2:N0} ms)' -f 'Import-Module Atelier beyond pwsh start (median of pairs)', $beyond, (Get-Median $probes.Import)
        '{0,-58} {1,8:N0} ms  ({2:N0} methods JIT-compiled; engine: {3})' -f 'First connecting cmdlet (Get-ServiceDbSnapshot over SSH)', (Get-Median $probes.First), (Get-Median $probes.Jitted), $copy
        '{0,-58} {1,8:N0} ms' -f 'Second connecting cmdlet, same process', (Get-Median $probes.Second)
        '{0,-58} {1,8:N0} ms  (runs: {2})' -f 'First beyond second (median of each process''s, goal <= 150)', (Get-Median @($probes | ForEach-Object { $_.First - $_.Second })), (($probes | ForEach-Object { '{0:N0}' -f ($_.First - $_.Second) }) -join ', ')
        '{0,-58} {1,8:N0} ms' -f 'Whole process: start, import, the two cmdlets', (Get-Median $whole)
        $folder = Split-Path $module
        $size = (Get-ChildItem $folder -Recurse -File | Measure-Object Length -Sum).Sum
        $readyToRun = @(Get-ChildItem (Join-Path $folder 'Dependencies/runtimes') -Directory -ErrorAction Ignore | Where-Object { Test-Path (Join-Path $_.FullName 'lib') })
        $r2rSize = ($readyToRun | ForEach-Object { Get-ChildItem (Join-Path $_.FullName 'lib') -Recurse -File } | Measure-Object Length -Sum).Sum
        '{0,-58} {1,8:N1} MiB (ReadyToRun copies: {2:N1} MiB for {3})' -f 'The module on disk', ($size / 1MB), ($r2rSize / 1MB), ($readyToRun.Count ? ($readyToRun.Name -join ', ') : 'no runtime')
    }
    finally { Remove-Item -Recurse -Force $work }
}

# 8. A good deploy, whole process: Atelier in a fresh pwsh beside the anchor's bash sequence, on the same host.
if ('deploy' -in $Section) {
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $pwsh = Join-Path $PSHOME 'pwsh.dll'
    $module = (Resolve-Path $ModulePath).Path
    $work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-bench-$([guid]::NewGuid())")
    try {
        $url = $sandbox.services.demo.healthUrl
        Reset-TestOrigin -Service demo -To (Get-TestDeployState -Service demo).Commit
        $history = Join-Path $work 'h.db'
        $atelier = "`$ErrorActionPreference = 'Stop'; Import-Module '$module'; " +
            "`$r = Invoke-ServiceDeploy -Service demo -ComputerName '$($sandbox.host)' -Port $($sandbox.sshPort) -IdentityFile '$($sandbox.identityFile)' " +
            "-KnownHostsFile '$($sandbox.knownHosts)' -HealthUrl '$url' -DbPath data/demo.db -BuildCommand 'bun run build' -HistoryPath '$history'; " +
            "'status={0} ms={1}' -f `$r.Status, `$r.Duration.TotalMilliseconds; if (-not `$r.Succeeded) { exit 1 }"

        # The anchor's sequence (reference/anchor-system.md section 1): one ssh heredoc fetches, keeps the previous commit,
        # copies the database and resets; a second installs, builds and restarts; then curl tries /health 12 times,
        # sleeping between tries. bash runs it from a file: a script piped into bash on stdin would be eaten by ssh.
        $ssh = "ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile=$($sandbox.knownHosts) -i $($sandbox.identityFile) -p $($sandbox.sshPort) demo@$($sandbox.host)"
        $anchor = @'
set -eu
@ssh@ << 'EOF'
  set -e
  cd ~/app
  git fetch --all -q
  git rev-parse HEAD > /tmp/demo-prev-commit
  DB_PATH="$HOME/data/demo.db"
  if [ -n "$DB_PATH" ] && [ -f "$DB_PATH" ]; then
    echo ":: snapshotting $DB_PATH"
    cp "$DB_PATH" "$DB_PATH.pre-deploy"
  fi
  git reset -q --hard origin/main
  PREV=$(cat /tmp/demo-prev-commit); NEW=$(git rev-parse HEAD)
  echo ":: $PREV -> $NEW"; git log --oneline "$PREV..$NEW"
EOF
@ssh@ << 'EOF'
  set -e
  cd ~/app/.
  bun install --frozen-lockfile
  bun run build
  sudo /run/current-system/sw/bin/systemctl restart demo.service
EOF
for i in $(seq 1 12); do
  HTTP_CODE=$(curl -sf -o /dev/null -w "%{http_code}" "@url@" 2>/dev/null || echo "000")
  if [ "$HTTP_CODE" = "200" ]; then echo "healthy after $i tries"; exit 0; fi
  [ $i -lt 12 ] && sleep @sleep@
done
echo ":: health check failed"; exit 1
'@.Replace('@ssh@', $ssh).Replace('@url@', $url)
        foreach ($sleep in 5, 1) { Set-Content (Join-Path $work "anchor-$sleep.sh") $anchor.Replace('@sleep@', $sleep) }

        $figures = [ordered]@{ Atelier = [Collections.Generic.List[double]]::new(); Own = [Collections.Generic.List[double]]::new()
            Bash5 = [Collections.Generic.List[double]]::new(); Bash1 = [Collections.Generic.List[double]]::new()
            Tries5 = [Collections.Generic.List[int]]::new(); Tries1 = [Collections.Generic.List[int]]::new() }
        # The three alternate, each deploying a commit of its own, so they see the same host and the same load.
        foreach ($i in 1..$Runs) {
            Publish-TestCommit -Service demo -Variant Good | Out-Null
            $out = $null
            $ms = (Measure-Command { $out = & dotnet $pwsh -NoProfile -NonInteractive -Command $atelier 2>&1 }).TotalMilliseconds
            if ($LASTEXITCODE -eq 0 -and "$out" -match 'status=\w+ ms=([\d.]+)') { $figures.Atelier.Add($ms); $figures.Own.Add([double]$Matches[1]) }
            else { Write-Warning "Invoke-ServiceDeploy did not succeed: $out" }
            foreach ($sleep in 5, 1) {
                Publish-TestCommit -Service demo -Variant Good | Out-Null
                $ms = (Measure-Command { $out = & bash (Join-Path $work "anchor-$sleep.sh") 2>&1 }).TotalMilliseconds
                if ($LASTEXITCODE -eq 0 -and "$out" -match 'healthy after (\d+) tries') { $figures["Bash$sleep"].Add($ms); $figures["Tries$sleep"].Add([int]$Matches[1]) }
                else { Write-Warning "the anchor's sequence failed: $out" }
                Invoke-TestHostRoot 'rm -f /var/lib/demo/data/demo.db.pre-deploy' | Out-Null
            }
        }
        $list = { param($values) ($values | ForEach-Object { '{0:N2}' -f ($_ / 1000) }) -join ', ' }
        # The mean shows what the median hides: a first curl try that misses costs the anchor a whole sleep.
        $mean = { param($values) ($values | Measure-Object -Average).Average / 1000 }
        '{0,-58} {1,8:N2} s  (mean {2:N2} s; its own Duration: {3:N2} s; runs: {4})' -f "Invoke-ServiceDeploy, good commit, fresh pwsh (median of $($figures.Atelier.Count))", ((Get-Median $figures.Atelier) / 1000), (& $mean $figures.Atelier), ((Get-Median $figures.Own) / 1000), (& $list $figures.Atelier)
        foreach ($sleep in 5, 1) {
            $tries = $figures["Tries$sleep"]
            '{0,-58} {1,8:N2} s  (mean {2:N2} s; curl tries: {3}; runs: {4})' -f "The anchor's bash sequence, $sleep s sleeps (median of $($figures["Bash$sleep"].Count))", ((Get-Median $figures["Bash$sleep"]) / 1000), (& $mean $figures["Bash$sleep"]), ($tries -join ', '), (& $list $figures["Bash$sleep"])
        }
    }
    finally { Remove-Item -Recurse -Force $work }
}

# 9. Parallel deploys: four services on two hosts in one run, against one service on one host.
if ('parallel' -in $Section) {
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $second = Start-ExtraTestHost -Name 'pabench'
    $hosts = [ordered]@{ 'bench-a' = $sandbox; 'bench-b' = $second }
    $savedHome = $env:HOME
    $work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-bench-$([guid]::NewGuid())")
    try {
        # Both hosts as ~/.ssh/config aliases, each with its own port and key; each service reached as its own user.
        New-Item -ItemType Directory (Join-Path $work '.ssh') | Out-Null
        Set-Content (Join-Path $work '.ssh/config') @(foreach ($alias in $hosts.Keys) {
                "Host $alias", "    HostName $($hosts[$alias].host)", "    Port $($hosts[$alias].sshPort)", "    IdentityFile $($hosts[$alias].identityFile)", "    UserKnownHostsFile $($hosts[$alias].knownHosts)", ''
            })
        $env:HOME = $work.FullName
        $history = Join-Path $work 'h.db'
        $four = foreach ($alias in $hosts.Keys) {
            foreach ($name in 'demo', 'notes') {
                [pscustomobject]@{ Name = $name; ComputerName = $alias; HealthUrl = $hosts[$alias].services.$name.healthUrl; DbPath = $hosts[$alias].services.$name.dbPath; BuildCommand = 'bun run build' }
            }
        }
        function Publish-On([string] $Alias, [string] $Service) {
            $env:ATELIER_TESTHOST = Join-Path $hosts[$Alias].stateDir 'testhost.json'
            try {
                Reset-TestOrigin -Service $Service -To (Get-TestDeployState -Service $Service).Commit
                Publish-TestCommit -Service $Service -Variant Good | Out-Null
            }
            finally { $env:ATELIER_TESTHOST = $TestHostFile }
        }
        # The whole machine's busy CPU time (this client, both containers and anything else running), in seconds.
        $busy = { $f = (Get-Content /proc/stat -TotalCount 1) -split '\s+'; ([long]$f[1] + [long]$f[2] + [long]$f[3] + [long]$f[6] + [long]$f[7]) / 100.0 }
        $self = [Diagnostics.Process]::GetCurrentProcess()
        # Twice: as the sample app deploys (bun install and build, CPU-bound: the containers share this machine's cores),
        # and with the deploy's own steps only (no install or build), which shows what running at once saves.
        $variants = [ordered]@{
            'install and build' = $four
            'no install or build' = @($four | ForEach-Object { [pscustomobject]@{ Name = $_.Name; ComputerName = $_.ComputerName; HealthUrl = $_.HealthUrl; DbPath = $_.DbPath; Runtime = 'custom' } })
        }
        foreach ($variant in $variants.Keys) {
            $four = $variants[$variant]
            $one = [Collections.Generic.List[double]]::new(); $all = [Collections.Generic.List[double]]::new()
            $oneCores = [Collections.Generic.List[double]]::new(); $allCores = [Collections.Generic.List[double]]::new()
            $oneCpu = [Collections.Generic.List[double]]::new(); $allCpu = [Collections.Generic.List[double]]::new(); $allClient = [Collections.Generic.List[double]]::new()
            foreach ($i in 1..$Runs) {
                Publish-On 'bench-a' 'demo'
                $r = $null
                $cpu = & $busy
                $ms = (Measure-Command { $r = $four[0] | Invoke-ServiceDeploy -HistoryPath $history -ErrorAction SilentlyContinue }).TotalMilliseconds
                if ($r.Status -eq 'Succeeded') { $one.Add($ms); $oneCpu.Add((& $busy) - $cpu); $oneCores.Add($oneCpu[-1] / ($ms / 1000)) } else { Write-Warning "one service: $($r.Status) $($r.Error)" }
                foreach ($s in $four) { Publish-On $s.ComputerName $s.Name }
                $rs = $null
                $cpu = & $busy
                $self.Refresh(); $client = $self.TotalProcessorTime.TotalSeconds
                $ms = (Measure-Command { $rs = $four | Invoke-ServiceDeploy -HistoryPath $history -ErrorAction SilentlyContinue }).TotalMilliseconds
                $self.Refresh()
                if (@($rs | Where-Object Status -EQ 'Succeeded').Count -eq 4) { $all.Add($ms); $allCpu.Add((& $busy) - $cpu); $allCores.Add($allCpu[-1] / ($ms / 1000)); $allClient.Add($self.TotalProcessorTime.TotalSeconds - $client) }
                else { Write-Warning "four services: $(($rs | ForEach-Object { "$($_.Service)@$($_.ComputerName) $($_.Status)" }) -join ', ')" }
            }
            $list = { param($values) ($values | ForEach-Object { '{0:N2}' -f ($_ / 1000) }) -join ', ' }
            $cores = [Environment]::ProcessorCount
            '{0,-58} {1,8:N2} s  (machine busy {2:N1} of {3} cores; runs: {4})' -f "One service on one host, good commit, $variant (median of $($one.Count))", ((Get-Median $one) / 1000), (Get-Median $oneCores), $cores, (& $list $one)
            '{0,-58} {1,8:N2} s  ({2:N2}x one, goal <= 1.3x; machine busy {3:N1} of {4} cores; runs: {5})' -f "Four services on two hosts at once, $variant (median of $($all.Count))", ((Get-Median $all) / 1000), ((Get-Median $all) / (Get-Median $one)), (Get-Median $allCores), $cores, (& $list $all)
            # The hosts are containers on this machine: the CPU time the four deploys need, spread over its cores, is the
            # least time they could take here however well they overlap (this client's own share beside it). The busy time
            # is the whole machine's, so the figure means something only when nothing else runs.
            $floor = [math]::Max((Get-Median $one) / 1000, (Get-Median $allCpu) / $cores)
            '{0,-58} {1,8:N2} s  ({2:N2}x one: {3:N1} CPU-seconds on {4} cores, of which this client {5:N2}; one deploy used {6:N2})' -f "  least time possible on this machine's cores", $floor, ($floor * 1000 / (Get-Median $one)), (Get-Median $allCpu), $cores, (Get-Median $allClient), (Get-Median $oneCpu)
        }
    }
    finally {
        $env:HOME = $savedHome
        $env:ATELIER_TESTHOST = $TestHostFile
        Remove-Item -Recurse -Force $work -ErrorAction Ignore
        Stop-ExtraTestHost -Name 'pabench'
    }
}

# 10. Status of the fleet: every service on two hosts, whole process, beside pwsh's own start.
if ('status' -in $Section) {
    $pwsh = Join-Path $PSHOME 'pwsh.dll'
    $module = (Resolve-Path $ModulePath).Path
    $work = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-bench-$([guid]::NewGuid())")
    $second = Start-ExtraTestHost -Name 'stbench'
    try {
        # Each host an alias in the fresh process's ~/.ssh/config; both in one services manifest, with the settings beside it.
        $hosts = [ordered]@{ alpha = $sandbox; beta = $second }
        New-Item -ItemType Directory (Join-Path $work 'home/.ssh') | Out-Null
        Set-Content (Join-Path $work 'home/.ssh/config') @(foreach ($machine in $hosts.Keys) {
                $h = $hosts[$machine]
                "Host bench-$machine", "    HostName $($h.host)", "    Port $($h.sshPort)", "    IdentityFile $($h.identityFile)", "    UserKnownHostsFile $($h.knownHosts)", ''
            })
        $manifest = [ordered]@{}
        foreach ($machine in $hosts.Keys) {
            $h = $hosts[$machine]
            $manifest[$machine] = @{ hostname = "bench-$machine"; services = @(foreach ($service in 'demo', 'notes') {
                        [ordered]@{ name = $service; health_url = $h.services.$service.healthUrl; data = @{ sqlite = $h.services.$service.dbPath } } }) }
        }
        $manifest | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $work 'services.json')
        Set-Content (Join-Path $work 'atelier.yaml') "manifest: ./services.json"
        $statusHome = Join-Path $work 'home'
        $probe = Join-Path $work 'status.ps1'
        Set-Content $probe @'
param($ModulePath, $Work, $NoFetch)
$ErrorActionPreference = 'Stop'
$env:HOME = Join-Path $Work 'home'
Set-Location $Work
Import-Module $ModulePath
$sw = [Diagnostics.Stopwatch]::StartNew()
$status = @(Get-ServiceStatus -NoFetch:($NoFetch -eq 'yes'))
$first = $sw.Elapsed.TotalMilliseconds
$sw.Restart(); $null = Get-ServiceStatus -NoFetch:($NoFetch -eq 'yes'); $again = $sw.Elapsed.TotalMilliseconds
if ($status.Count -ne 4 -or @($status | Where-Object { $_.Health.Status -ne 'Up' }).Count) { throw "expected 4 healthy services: $($status | Out-String)" }
[pscustomobject]@{ First = $first; Again = $again } | ConvertTo-Json -Compress
'@
        $oneCall = "Import-Module '$module'; `$env:HOME = '$statusHome'; Set-Location '$work'; "
        $figures = @{ Bare = [Collections.Generic.List[double]]::new() }
        foreach ($kind in 'fetch', 'nofetch') { $figures["Whole-$kind"] = [Collections.Generic.List[double]]::new(); $figures["In-$kind"] = [Collections.Generic.List[double]]::new(); $figures["Again-$kind"] = [Collections.Generic.List[double]]::new() }
        # Warm the hosts' and this machine's caches once, then alternate the kinds of process.
        & dotnet $pwsh -NoProfile -NonInteractive -File $probe $module $work no | Out-Null
        foreach ($i in 1..$Runs) {
            $figures.Bare.Add((Measure-Command { & dotnet $pwsh -NoProfile -NonInteractive -Command 'exit 0' }).TotalMilliseconds)
            foreach ($kind in 'fetch', 'nofetch') {
                $json = $null
                $flag = if ($kind -eq 'nofetch') { ' -NoFetch' } else { '' }
                $figures["Whole-$kind"].Add((Measure-Command { & dotnet $pwsh -NoProfile -NonInteractive -Command ($oneCall + "Get-ServiceStatus$flag | Out-Null; exit 0") }).TotalMilliseconds)
                if ($LASTEXITCODE -ne 0) { Write-Warning "Get-ServiceStatus failed ($kind)" }
                $json = & dotnet $pwsh -NoProfile -NonInteractive -File $probe $module $work ($kind -eq 'nofetch' ? 'yes' : 'no')
                if ($LASTEXITCODE -ne 0) { Write-Warning "the status probe failed: $json"; continue }
                $times = $json | Select-Object -Last 1 | ConvertFrom-Json
                $figures["In-$kind"].Add($times.First); $figures["Again-$kind"].Add($times.Again)
            }
        }
        $start = Get-Median $figures.Bare
        '{0,-58} {1,8:N0} ms' -f "pwsh -NoProfile start (median of $Runs)", $start
        foreach ($kind in 'fetch', 'nofetch') {
            $label = if ($kind -eq 'fetch') { 'fetching origin' } else { '-NoFetch' }
            $whole = Get-Median $figures["Whole-$kind"]
            '{0,-58} {1,8:N0} ms  (beyond pwsh start: {2:N0} ms, goal < 1500; runs: {3})' -f "Get-ServiceStatus, 4 services on 2 hosts, $label, whole process", $whole, ($whole - $start), (($figures["Whole-$kind"] | ForEach-Object { '{0:N0}' -f $_ }) -join ', ')
            '{0,-58} {1,8:N0} ms  (a second call in the same process: {2:N0} ms)' -f "  the cmdlet itself, first call after Import-Module", (Get-Median $figures["In-$kind"]), (Get-Median $figures["Again-$kind"])
        }
    }
    finally {
        Stop-ExtraTestHost -Name 'stbench'
        Remove-Item -Recurse -Force $work
    }
}
