# Fixtures for the deploy tests: commits published to a test-host service's origin (as the service's user, so the
# bare repository stays writable by it), and the service's state as a deploy leaves it.
# Import after TestHelpers.psm1: Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force

Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')
$script:TestHostScript = Join-Path $PSScriptRoot 'TestHost/testhost.sh'

# Runs as the service's user on the host: makes one commit of a kind on origin/main and prints its id.
$script:FixtureScript = @'
#!/bin/sh
set -eu
svc=$1 variant=$2
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
  *) echo "unknown fixture $variant" >&2; exit 2 ;;
esac
git commit -qam "fixture: $variant"
git push -q origin HEAD:main
git rev-parse HEAD
cd /
rm -rf "$dir"
'@

function Install-DeployFixture {
    # Puts the fixture script on the test host (once per host).
    if (-not (Invoke-TestHostRoot 'test -x /usr/local/bin/atelier-fixture && echo yes || true')) {
        # On the host the tests use (ATELIER_TESTHOST), as Invoke-TestHostRoot does: not on the default one.
        $stateDir = (Get-TestHost).stateDir
        $script:FixtureScript | & env "ATELIER_TESTHOST_STATE=$stateDir" bash $script:TestHostScript exec -- sh -c 'cat > /usr/local/bin/atelier-fixture && chmod 755 /usr/local/bin/atelier-fixture'
        if ($LASTEXITCODE -ne 0) { throw 'could not install the deploy fixture on the test host' }
    }
}

function Publish-TestCommit {
    # Publishes one commit of a kind (Good, BuildFails, CrashesAtStart, HealthFails, InstallFails) on origin/main; returns its id.
    param([string] $Service = 'demo', [Parameter(Mandatory)] [ValidateSet('Good', 'BuildFails', 'CrashesAtStart', 'HealthFails', 'InstallFails')] [string] $Variant)
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

Export-ModuleMember -Function Publish-TestCommit, Reset-TestOrigin, Get-TestDeployState
