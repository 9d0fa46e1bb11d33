# Fixtures for the deploy tests: commits published to a test-host service's origin (as the service's user, so the
# bare repository stays writable by it), and the service's state as a deploy leaves it.
# Import after TestHelpers.psm1: Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force

Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')
$script:TestHostScript = Join-Path $PSScriptRoot 'TestHost/testhost.sh'

# Runs as the service's user on the host: makes one commit of a kind on origin/main and prints its id.
$script:FixtureVersion = '# atelier-fixture 2'
$script:FixtureScript = @'
#!/bin/sh
# atelier-fixture 2
set -eu
svc=$1 variant=$2
message="fixture: $variant"
dir=/var/lib/$svc/.fixture
rm -rf "$dir"
git clone -q "/srv/git/$svc.git" "$dir"
cd "$dir"
git config user.email fixture@atelier.test
git config user.name "Atelier Fixture"
changed() { if git diff --quiet; then echo "fixture $variant changed nothing" >&2; exit 1; fi; }
case $variant in
  Good)
    date -u +%Y-%m-%dT%H:%M:%S.%NZ >> CHANGES.txt
    git add CHANGES.txt ;;
  BuildFails)
    sed -i 's|"build": "[^"]*"|"build": "echo build broke on purpose >\&2; exit 1"|' package.json; changed ;;
  CrashesAtStart)
    sed -i '1i throw new Error("crash at start on purpose");' src/index.ts; changed ;;
  HealthFails)
    sed -i 's|return json({ status: "ok", commit, maxId: n });|return json({ status: "failing on purpose", commit, maxId: n }, 500);|' src/index.ts; changed ;;
  InstallFails)
    # A lockfile made for one local dependency, then a second one added: bun install --frozen-lockfile refuses.
    for d in fixture-dep fixture-dep2; do mkdir -p $d; printf '{"name":"%s","version":"1.0.0"}\n' $d > $d/package.json; done
    sed -i 's|  "name": "sample-app",|  "name": "sample-app",\n  "dependencies": { "fixture-dep": "file:./fixture-dep" },|' package.json
    bun install >/dev/null 2>&1
    sed -i 's|"fixture-dep": "file:./fixture-dep"|"fixture-dep": "file:./fixture-dep", "fixture-dep2": "file:./fixture-dep2"|' package.json
    rm -rf node_modules
    git add -A ;;
  NoisyBuildFails)
    # A build that prints workflow commands, terminal escapes and secrets, then fails.
    cat > noisy-build.sh <<'SH'
printf '::error::x\n::set-output name=a::b\n::add-mask::x\n::stop-commands::abc\n::warning::after a stop of its own\n'
printf '##[error]the old form\n'
printf '\033[31mred\033[0m \033]8;;http://evil\007link\033]8;;\007 \033]0;a title\007bell\007\n'
printf 'API_TOKEN=hunter2secret\nexport DB_PASSWORD="hunter2 secret"\n'
printf 'the site value site-secret-value-42 and site-other-77 are here\n' >&2
printf -- '-----BEGIN PRIVATE KEY-----\nMIIEvQfakekeybodyline1\nfakekeybodyline2==\n-----END PRIVATE KEY-----\n'
printf '::abc::\n'
printf 'build broke on purpose\n' >&2
exit 1
SH
    git add noisy-build.sh
    sed -i 's|"build": "[^"]*"|"build": "sh noisy-build.sh"|' package.json; changed ;;
  EscapedSubject)
    # A good commit whose subject carries terminal escapes, backticks, HTML, a link and a secret.
    date -u +%Y-%m-%dT%H:%M:%S.%NZ >> CHANGES.txt
    git add CHANGES.txt
    message=$(printf 'fixture: `code` ``` <b>bold</b> <img src=x onerror=alert(1)> [link](http://evil.example) | pipe \033]8;;http://evil\007osc link\033]8;;\007 \033[31mred\033[0m \007bell API_TOKEN=hunter2secret ##[error]v1 ::error::x') ;;
  *) echo "unknown fixture $variant" >&2; exit 2 ;;
esac
git commit -qam "$message"
git push -q origin HEAD:main
git rev-parse HEAD
cd /
rm -rf "$dir"
'@

function Install-DeployFixture {
    # Puts the fixture script on the test host (once per host).
    # Installed again when the host has an older version of it.
    if (-not (Invoke-TestHostRoot "grep -qxF '$script:FixtureVersion' /usr/local/bin/atelier-fixture 2>/dev/null && echo yes || true")) {
        # The same host Invoke-TestHostRoot reaches ($env:ATELIER_TESTHOST), not testhost.sh's default state dir.
        $script:FixtureScript | & env "ATELIER_TESTHOST_STATE=$((Get-TestHost).stateDir)" bash $script:TestHostScript exec -- sh -c 'cat > /usr/local/bin/atelier-fixture && chmod 755 /usr/local/bin/atelier-fixture'
        if ($LASTEXITCODE -ne 0) { throw 'could not install the deploy fixture on the test host' }
    }
}

function Publish-TestCommit {
    # Publishes one commit of a kind on origin/main; returns its id. NoisyBuildFails: a build that prints workflow commands,
    # terminal escapes and secrets (API_TOKEN=hunter2secret, site-secret-value-42, site-other-77, a private key), then
    # fails. EscapedSubject: a good commit whose subject carries escapes, backticks, HTML and API_TOKEN=hunter2secret.
    param([string] $Service = 'demo', [Parameter(Mandatory)] [ValidateSet('Good', 'BuildFails', 'CrashesAtStart', 'HealthFails', 'InstallFails', 'NoisyBuildFails', 'EscapedSubject')] [string] $Variant)
    Install-DeployFixture
    @(Invoke-TestHostRoot "runuser -u $Service -- /usr/local/bin/atelier-fixture $Service $Variant")[-1]
}

function Reset-TestOrigin {
    # Moves origin/main back to a commit (as the service's user).
    param([string] $Service = 'demo', [Parameter(Mandatory)] [string] $To)
    Invoke-TestHostRoot "runuser -u $Service -- git -C /srv/git/$Service.git update-ref refs/heads/main $To" | Out-Null
}

function Get-TestDeployState {
    # The deployed commit, origin's, the unit's state and start time, the health code, the row count and the files.
    param([string] $Service = 'demo')
    $testHost = Get-TestHost
    $lines = Invoke-TestHostRoot (
        "runuser -u $Service -- git -C /var/lib/$Service/app rev-parse HEAD 2>/dev/null; " +
        "runuser -u $Service -- git -C /srv/git/$Service.git rev-parse main 2>/dev/null; " +
        "systemctl show $Service.service -p ActiveState -p SubState -p NRestarts -p ActiveEnterTimestampMonotonic; " +
        "runuser -u $Service -- sqlite3 /var/lib/$Service/data/$Service.db 'SELECT count(*) FROM events'; " +
        "ls -la --time-style=+%s.%N /var/lib/$Service/app /var/lib/$Service/data | grep -v ' \.\.\?$' | grep -v 'demo.db' | grep -v 'notes.db'")
    $show = @{}
    foreach ($line in $lines) { if ($line -match '^(\w+)=(.*)$') { $show[$Matches[1]] = $Matches[2] } }
    $code = try { (Invoke-WebRequest $testHost.services.$Service.healthUrl -SkipHttpErrorCheck -TimeoutSec 5).StatusCode } catch { 0 }
    [pscustomobject]@{
        Commit                        = $lines[0]
        OriginMain                    = $lines[1]
        ActiveState                   = $show.ActiveState
        SubState                      = $show.SubState
        NRestarts                     = [int]$show.NRestarts
        ActiveEnterTimestampMonotonic = $show.ActiveEnterTimestampMonotonic
        Health                        = $code
        RowCount                      = [long]($lines | Where-Object { $_ -match '^\d+$' } | Select-Object -Last 1)
        Files                         = @($lines | Where-Object { $_ -match '^[-dl][rwx-]{9}' } | Sort-Object)
    }
}

function Get-TestHealth {
    # The service's /health answer as an object (status code, and the commit its process started from), or code 0.
    param([string] $Service = 'demo')
    $url = (Get-TestHost).services.$Service.healthUrl
    try {
        $response = Invoke-WebRequest $url -SkipHttpErrorCheck -TimeoutSec 5
        [pscustomobject]@{ Code = [int]$response.StatusCode; Commit = ($response.Content | ConvertFrom-Json).commit }
    }
    catch { [pscustomobject]@{ Code = 0; Commit = $null } }
}

function Wait-TestHealth {
    # Waits until /health answers 200 from a process of -Commit (at most -Seconds); returns the last answer.
    param([string] $Service = 'demo', [Parameter(Mandatory)] [string] $Commit, [int] $Seconds = 15)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    do {
        $health = Get-TestHealth -Service $Service
        if ($health.Code -eq 200 -and $health.Commit -eq $Commit) { return $health }
        Start-Sleep -Milliseconds 200
    } while ([DateTime]::UtcNow -lt $deadline)
    $health
}

function Get-TestMaxRowId {
    # The newest row id of the service's live database, or of a snapshot file on the host.
    param([string] $Service = 'demo', [string] $Path = "/var/lib/$Service/data/$Service.db")
    [long]@(Invoke-TestHostRoot "runuser -u $Service -- sqlite3 '$Path' 'SELECT coalesce(max(id), 0) FROM events'")[-1]
}

function Assert-ServiceBack {
    <#
    What must hold after any fault, once the guard or the client has put the service back: the unit runs -Commit and
    /health answers 200 from it; after a `systemctl restart` it still does; the live database passes integrity_check and
    holds every row up to -RowsUpTo (the snapshot's newest row); the deploy lock is released.
    #>
    param([string] $Service = 'demo', [Parameter(Mandatory)] [string] $Commit, [long] $RowsUpTo, [string] $Because = 'the service must be back')
    $state = Get-TestDeployState -Service $Service
    $state.Commit | Should -Be $Commit -Because "~/app is on the previous commit: $Because"
    $state.ActiveState | Should -Be 'active' -Because $Because
    (Wait-TestHealth -Service $Service -Commit $Commit).Code | Should -Be 200 -Because "the previous commit answers /health: $Because"
    Invoke-TestHostRoot "systemctl restart $Service.service" | Out-Null
    (Wait-TestHealth -Service $Service -Commit $Commit).Code | Should -Be 200 -Because "a restart still comes up healthy on the previous commit: $Because"
    @(Invoke-TestHostRoot "runuser -u $Service -- sqlite3 /var/lib/$Service/data/$Service.db 'PRAGMA integrity_check'")[-1] | Should -Be 'ok' -Because $Because
    if ($RowsUpTo -gt 0) {
        [long]@(Invoke-TestHostRoot "runuser -u $Service -- sqlite3 /var/lib/$Service/data/$Service.db 'SELECT count(*) FROM events WHERE id <= $RowsUpTo'")[-1] |
            Should -Be $RowsUpTo -Because "every row committed before the snapshot is there: $Because"
    }
    Invoke-TestHostRoot "test -e /var/lib/$Service/.atelier/deploy-$Service.lock && echo held || true" | Should -BeNullOrEmpty -Because "the deploy lock is released: $Because"
}

function Start-DeployClient {
    <#
    Runs a cmdlet (Invoke-ServiceDeploy by default) in a separate pwsh, in a process group of its own so that it can be
    killed whole like a cancelled CI runner. The cmdlet's result goes to <Out> as JSON. Returns the client (Pid, Out, Log).
    #>
    param([Parameter(Mandatory)] [hashtable] $Parameters, [string] $Command = 'Invoke-ServiceDeploy', [string] $Folder = [IO.Path]::GetTempPath())
    $id = [guid]::NewGuid().ToString('N')
    $script = Join-Path $Folder "client-$id.ps1"
    $out = Join-Path $Folder "client-$id.json"
    $log = Join-Path $Folder "client-$id.log"
    Set-Content $script @'
param($Module, $Command, $Json, $Out)
Import-Module $Module
$p = $Json | ConvertFrom-Json -AsHashtable
$r = & $Command @p -ErrorAction SilentlyContinue -WarningAction Continue
$r | Select-Object Status, FailedStep, Error, PreviousCommit, NewCommit, SnapshotPath, Notice | ConvertTo-Json | Set-Content $Out
'@
    $json = $Parameters | ConvertTo-Json -Compress
    $pwsh = Join-Path $PSHOME 'pwsh.dll'
    $clientPid = & bash -c 'setsid dotnet "$1" -NoProfile -NonInteractive -File "$2" "$3" "$4" "$5" "$6" > "$7" 2>&1 < /dev/null & echo $!' bash $pwsh $script $env:ATELIER_MODULE $Command $json $out $log
    [pscustomobject]@{ Pid = [int]$clientPid; Out = $out; Log = $log }
}

function Stop-DeployClient {
    # kill -9 of the client's whole process group: what a cancelled runner or a closed laptop does.
    param([Parameter(Mandatory)] $Client)
    & bash -c "kill -9 -- -$($Client.Pid) 2>/dev/null; true"
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ((Test-Path "/proc/$($Client.Pid)") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
}

function Wait-DeployClient {
    # Waits for a client to end (at most -Seconds) and returns its result.
    param([Parameter(Mandatory)] $Client, [int] $Seconds = 120)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while ((Test-Path "/proc/$($Client.Pid)") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
    if (-not (Test-Path $Client.Out)) { throw "the client wrote no result: $(Get-Content -Raw $Client.Log -ErrorAction Ignore)" }
    Get-Content -Raw $Client.Out | ConvertFrom-Json
}

function Wait-TestHostProcess {
    # Waits until a process of -User whose whole command line matches -Pattern (pgrep -f) runs on the host; true when it does.
    param([Parameter(Mandatory)] [string] $Pattern, [string] $User = 'demo', [int] $Seconds = 60)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    do {
        if (Invoke-TestHostRoot "pgrep -u $User -f '$Pattern' || true") { return $true }
        Start-Sleep -Milliseconds 100
    } while ([DateTime]::UtcNow -lt $deadline)
    $false
}

function Wait-DeployLockReleased {
    # Waits until the service's deploy lock is gone (at most -Seconds); returns how long it took, in seconds.
    param([string] $Service = 'demo', [int] $Seconds = 90)
    $stopwatch = [Diagnostics.Stopwatch]::StartNew()
    while ((Invoke-TestHostRoot "test -e /var/lib/$Service/.atelier/deploy-$Service.lock && echo held || true") -and $stopwatch.Elapsed.TotalSeconds -lt $Seconds) {
        Start-Sleep -Milliseconds 200
    }
    $stopwatch.Elapsed.TotalSeconds
}

function Get-TestHostRecord {
    # The host history's record of a deploy as it stands (the last line with its id), or the newest record.
    param([string] $Service = 'demo', [string] $Id)
    $records = @(Invoke-TestHostRoot "cat /var/lib/$Service/.atelier/deploys.jsonl" | Where-Object { $_ } | ForEach-Object { $_ | ConvertFrom-Json })
    if ($Id) { $records | Where-Object id -EQ $Id | Select-Object -Last 1 } else { $records[-1] }
}

Export-ModuleMember -Function Publish-TestCommit, Reset-TestOrigin, Get-TestDeployState, Get-TestHealth, Wait-TestHealth, Get-TestMaxRowId,
    Assert-ServiceBack, Start-DeployClient, Stop-DeployClient, Wait-DeployClient, Wait-TestHostProcess, Wait-DeployLockReleased, Get-TestHostRecord
