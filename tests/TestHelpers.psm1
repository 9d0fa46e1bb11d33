# Helpers shared by the Pester tests: the sandbox test host (tests/TestHost/testhost.sh) and connection
# parameters for it. Import with: Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force

$script:TestHostScript = Join-Path $PSScriptRoot 'TestHost/testhost.sh'

function Get-TestHost {
    <# The running test host's state (testhost.json): ports, keys, services. #>
    $file = $env:ATELIER_TESTHOST
    if (-not $file) { $file = Join-Path ($env:ATELIER_TESTHOST_STATE ?? '/tmp/atelier-testhost') 'testhost.json' }
    if (-not (Test-Path $file)) { throw "No test host is running ($file is missing): start it with 'bash tests/TestHost/testhost.sh start'." }
    Get-Content -Raw $file | ConvertFrom-Json
}

function Invoke-TestHostRoot {
    <# Runs a command as root inside the test host; returns its output lines; throws on a non-zero exit unless -AllowFailure. #>
    param([Parameter(Mandatory, Position = 0)] [string] $Command, [switch] $AllowFailure)
    $output = & bash $script:TestHostScript exec -- /bin/sh -c $Command 2>&1
    if ($LASTEXITCODE -ne 0 -and -not $AllowFailure) { throw "test host: '$Command' failed ($LASTEXITCODE): $output" }
    $output
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

Export-ModuleMember -Function Get-TestHost, Invoke-TestHostRoot, Get-TestConnection, Get-TestHostLoginCount
