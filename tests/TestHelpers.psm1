# Helpers shared by the Pester tests: the sandbox test host (tests/TestHost/testhost.sh) and connection
# parameters for it. Import with: Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force

$script:TestHostScript = Join-Path $PSScriptRoot 'TestHost/testhost.sh'

function Get-TestHostStateFile {
    # The main test host's testhost.json: $env:ATELIER_TESTHOST, else the one in $env:ATELIER_TESTHOST_STATE (or the default).
    $file = $env:ATELIER_TESTHOST
    if (-not $file) { $file = Join-Path ($env:ATELIER_TESTHOST_STATE ?? '/tmp/atelier-testhost') 'testhost.json' }
    $file
}

function Get-TestHost {
    <# The running test host's state (testhost.json): ports, keys, services. #>
    $file = Get-TestHostStateFile
    if (-not (Test-Path $file)) { throw "No test host is running ($file is missing): start it with 'bash tests/TestHost/testhost.sh start'." }
    Get-Content -Raw $file | ConvertFrom-Json
}

function Invoke-TestHostRoot {
    <#
    Runs a command as root inside a test host (-Host: a state object from Get-TestHost or Start-ExtraTestHost; default
    the main one); returns its output lines; throws on a non-zero exit unless -AllowFailure.
    #>
    param(
        [Parameter(Mandatory, Position = 0)] [string] $Command,
        [Alias('Host')] [object] $TestHost,
        [switch] $AllowFailure)
    # The state dir of the host: testhost.sh exec finds the container through it.
    $stateDir = if ($TestHost) { $TestHost.stateDir } else { Split-Path (Get-TestHostStateFile) }
    $output = & env "ATELIER_TESTHOST_STATE=$stateDir" bash $script:TestHostScript exec -- /bin/sh -c $Command 2>&1
    if ($LASTEXITCODE -ne 0 -and -not $AllowFailure) { throw "test host: '$Command' failed ($LASTEXITCODE): $output" }
    $output
}

function Invoke-TestHostSsh {
    <#
    Runs a command over real SSH on a test host as -User (default the host's deployUser) with the run's plain key;
    returns its output lines (stderr too); throws on a non-zero exit unless -AllowFailure. -Host as for Invoke-TestHostRoot.
    #>
    param(
        [Parameter(Mandatory, Position = 0)] [string] $Command,
        [Alias('Host')] [object] $TestHost,
        [string] $User,
        [switch] $AllowFailure)
    if (-not $TestHost) { $TestHost = Get-TestHost }
    if (-not $User) { $User = $TestHost.deployUser }
    $output = & ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=10 `
        -o "UserKnownHostsFile=$($TestHost.knownHosts)" -i $TestHost.identityFile -p $TestHost.sshPort "$User@$($TestHost.host)" $Command 2>&1
    if ($LASTEXITCODE -ne 0 -and -not $AllowFailure) { throw "ssh $User@$($TestHost.hostName): '$Command' failed ($LASTEXITCODE): $output" }
    $output | ForEach-Object { "$_" }
}

function Get-ExtraTestHostStateDir([string] $Name) {
    # Beside the main host's state dir and named after it (/tmp/atelier-testhost-<Name> for the default one), so that two
    # runs against two main hosts never start, use or stop each other's extra hosts.
    if ($Name -notmatch '^[a-z0-9][a-z0-9-]{0,30}$') { throw "Invalid extra test host name '$Name': use lower-case letters, digits and '-'." }
    "$((Split-Path (Get-TestHostStateFile)).TrimEnd('/'))-$Name"
}

function Invoke-ExtraTestHostScript([string] $Name, [string] $Action) {
    # Only the state dir chooses this host: port and host-name overrides meant for the main host are dropped.
    $stateDir = Get-ExtraTestHostStateDir $Name
    $output = & env -u ATELIER_TESTHOST_SSH_PORT -u ATELIER_TESTHOST_DEMO_PORT -u ATELIER_TESTHOST_NOTES_PORT `
        -u ATELIER_TESTHOST_HOSTNAME "ATELIER_TESTHOST_STATE=$stateDir" bash $script:TestHostScript $Action 2>&1
    if ($LASTEXITCODE -ne 0) { throw "testhost.sh $Action ($stateDir) failed ($LASTEXITCODE): $($output -join "`n")" }
    $stateDir
}

function Start-ExtraTestHost {
    <#
    Boots a second, independent test host (its own state dir <main state dir>-<Name>, /tmp/atelier-testhost-<Name> beside
    the default one, its own ports, keys, machine name and system profile) next to the main one; returns its testhost.json as an object.
    #>
    param([Parameter(Mandatory)] [string] $Name)
    $stateDir = Invoke-ExtraTestHostScript $Name 'start'
    Get-Content -Raw (Join-Path $stateDir 'testhost.json') | ConvertFrom-Json
}

function Stop-ExtraTestHost {
    <# Powers off the test host Start-ExtraTestHost -Name started and removes its tree (nothing to do when it is not running). #>
    param([Parameter(Mandatory)] [string] $Name)
    Invoke-ExtraTestHostScript $Name 'stop' | Out-Null
}

function Get-TestConnection {
    <# Splattable connection parameters for a test-host service: ComputerName, Port, IdentityFile, KnownHostsFile. #>
    param([string] $Service = 'demo', [switch] $NoIdentity)
    $h = Get-TestHost
    $params = @{ ComputerName = $h.host; Port = [int]$h.sshPort; KnownHostsFile = $h.knownHosts }
    if (-not $NoIdentity) { $params.IdentityFile = $h.identityFile }
    $params
}

function Get-TestHostLoginCount {
    <# How many SSH logins the test host's sshd has accepted: the count shows whether a cmdlet connected at all. #>
    [int](Invoke-TestHostRoot "journalctl -u ssh.service --no-pager -o cat | grep -c 'Accepted ' || true" | Select-Object -Last 1)
}

function New-TestFleet {
    <#
    A new folder with a services manifest of the test host's services (machine 'sandbox': each service's health URL
    and database, plus -Fields per service) and an atelier.yaml that names it with the test host's key and known_hosts
    (plus -Settings lines): a user's fleet, so that a bare name is enough. Returns the folder.
    #>
    param([string[]] $Service = @('demo', 'notes'), [hashtable] $Fields = @{}, [string[]] $Settings = @())
    $h = Get-TestHost
    $folder = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-fleet-$([guid]::NewGuid().ToString('N'))")
    $services = foreach ($name in $Service) {
        $entry = [ordered]@{ name = $name; health_url = $h.services.$name.healthUrl; data = @{ sqlite = $h.services.$name.dbPath } }
        if ($Fields[$name]) { foreach ($key in $Fields[$name].Keys) { $entry[$key] = $Fields[$name][$key] } }
        $entry
    }
    [ordered]@{ sandbox = [ordered]@{ hostname = $h.host; type = 'server'; services = @($services) } } |
        ConvertTo-Json -Depth 6 | Set-Content (Join-Path $folder 'services.json')
    Set-Content (Join-Path $folder 'atelier.yaml') (@('manifest: ./services.json', "identityFile: $($h.identityFile)", "knownHostsFile: $($h.knownHosts)") + $Settings)
    $folder
}

Export-ModuleMember -Function Get-TestHost, Invoke-TestHostRoot, Invoke-TestHostSsh, Get-TestConnection, Get-TestHostLoginCount,
    Start-ExtraTestHost, Stop-ExtraTestHost, New-TestFleet
