# The generated workflows, run: the app's deploy.yaml (from New-ServiceModule) calls the Atelier-based reusable
# deploy-service.yml; this file plays the runner for the reusable workflow's own steps (the key step with bash, the
# install and deploy steps with pwsh), feeding them the caller's `with` values the way Actions would, in a runner home
# of their own: Atelier is installed from a folder repository holding the package (not built), and deploys the test
# host's demo service for real. The steps that need GitHub (tailscale, the cache) are the only ones not run.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DeployFixtures.psm1') -Force
    $script:TestHost = Get-TestHost
    $script:Original = (Get-TestDeployState -Service demo).Commit
    Reset-TestOrigin -Service demo -To $Original

    function Read-Yaml([string] $Path) {
        # PyYAML reads YAML 1.1, where a bare key `on` is the boolean true; GitHub reads it as the string "on".
        $json = & python3 -c 'import json, sys, yaml; d = yaml.safe_load(open(sys.argv[1], encoding="utf-8")); d["on"] = d.pop(True, d.get("on")); print(json.dumps(d))' $Path
        if ($LASTEXITCODE -ne 0) { throw "PyYAML could not read $Path" }
        $json | ConvertFrom-Json -AsHashtable
    }

    function Resolve-Expression([string] $Text, [hashtable] $Inputs, [hashtable] $Secrets, [hashtable] $GitHub = @{}) {
        # The expression forms the generated files use, as Actions evaluates them.
        [regex]::Replace($Text, '\$\{\{ (inputs|secrets|github)\.([A-Za-z0-9_]+) \}\}', {
                param($m)
                $value = switch ($m.Groups[1].Value) { 'inputs' { $Inputs[$m.Groups[2].Value] } 'secrets' { $Secrets[$m.Groups[2].Value] } default { $GitHub[$m.Groups[2].Value] } }
                if ($null -eq $value) { '' } else { "$value" }
            })
    }

    # The package, in a folder repository the install step registers (as a user's own feed would be).
    $script:Version = ([xml](Get-Content -Raw (Join-Path (Split-Path $PSScriptRoot) 'Directory.Build.props'))).SelectSingleNode('/Project/PropertyGroup/Version').InnerText.Trim()
    $package = $env:ATELIER_PACKAGE
    if (-not $package) { $package = Join-Path (Split-Path (Split-Path $env:ATELIER_MODULE)) "Atelier.$Version.nupkg" }
    if (-not (Test-Path $package)) { throw "No package at $package`: run 'build.ps1 -Task Package' first." }
    $script:FeedFolder = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "atelier-feed-$([guid]::NewGuid())")
    Copy-Item $package $FeedFolder

    function Invoke-ReusableWorkflow([string] $CallerPath, [string] $ReusablePath, [hashtable] $Secrets, [string] $Workspace, [hashtable] $GitHub = @{}, [hashtable] $With = @{}) {
        <#
        Runs the reusable workflow's `run:` steps for the call in $CallerPath (github.* from $GitHub; $With as if the
        caller had more `with` values); returns exit codes, output and files.
        #>
        $caller = Read-Yaml $CallerPath
        $reusable = Read-Yaml $ReusablePath
        # Inputs: the caller's `with`, else each input's default.
        $inputs = @{}
        foreach ($entry in $reusable.on.workflow_call.inputs.GetEnumerator()) {
            if ($entry.Value.Contains('default')) { $inputs[$entry.Key] = $entry.Value.default }
        }
        foreach ($entry in $caller.jobs.deploy.with.GetEnumerator()) { $inputs[$entry.Key] = Resolve-Expression "$($entry.Value)" @{} @{} $GitHub }
        # Atelier comes from the folder repository: the install step registers it.
        $inputs.atelier_repository_uri = $FeedFolder.FullName
        foreach ($entry in $With.GetEnumerator()) { $inputs[$entry.Key] = $entry.Value }

        $runnerTemp = New-Item -ItemType Directory (Join-Path $Workspace 'runner-temp') -Force
        $files = @{ GITHUB_ENV = 'env'; GITHUB_OUTPUT = 'output'; GITHUB_STEP_SUMMARY = 'summary' }
        $environment = @{ GITHUB_ACTIONS = 'true'; GITHUB_WORKSPACE = $Workspace; RUNNER_TEMP = $runnerTemp.FullName }
        foreach ($f in $files.GetEnumerator()) { $environment[$f.Key] = Join-Path $runnerTemp $f.Value; Set-Content $environment[$f.Key] $null }

        $results = foreach ($step in $reusable.jobs.deploy.steps | Where-Object { $_.Contains('run') }) {
            $stepEnvironment = @{} + $environment
            # What earlier steps appended to $GITHUB_ENV applies to the later ones.
            foreach ($line in Get-Content $environment.GITHUB_ENV) { if ($line -match '^([A-Za-z_][A-Za-z0-9_]*)=(.*)$') { $stepEnvironment[$Matches[1]] = $Matches[2] } }
            foreach ($entry in ($step.env ?? @{}).GetEnumerator()) { $stepEnvironment[$entry.Key] = Resolve-Expression $entry.Value $inputs $Secrets $GitHub }
            $saved = @{}
            foreach ($k in $stepEnvironment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $stepEnvironment[$k]) }
            try {
                $output = if ($step.shell -eq 'pwsh') {
                    & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $step.run 2>&1
                }
                else { & bash -c $step.run 2>&1 }
                [pscustomobject]@{ Name = $step.name; ExitCode = $LASTEXITCODE; Output = ($output | Out-String) }
            }
            finally { foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) } }
        }
        [pscustomobject]@{ Steps = $results; Summary = Get-Content -Raw $environment.GITHUB_STEP_SUMMARY; Outputs = Get-Content $environment.GITHUB_OUTPUT; Env = Get-Content $environment.GITHUB_ENV }
    }

    function New-WorkflowRun {
        # The infrastructure repo (fixture copy) with the reusable workflow, the app repo with its deploy.yaml, a
        # runner workspace, and a runner home where nothing of Atelier is installed yet.
        $root = New-Item -ItemType Directory (Join-Path $TestDrive "run-$([guid]::NewGuid())")
        $infra = Join-Path $root 'infra'
        Copy-Item -Recurse (Join-Path $PSScriptRoot 'Fixtures/infra') $infra
        $app = New-Item -ItemType Directory (Join-Path $root 'app')
        New-ServiceModule -Name demo -Machine terebithia -InfraPath $infra -AppPath $app -IncludeReusableWorkflow `
            -HealthUrl $TestHost.services.demo.healthUrl -Sqlite data/demo.db -BuildCommand 'bun run build' `
            -WorkflowReference 'example/dots/.github/workflows/deploy-service.yml@main' -ErrorAction Stop | Out-Null
        $workspace = New-Item -ItemType Directory (Join-Path $root 'workspace')
        # The runner's home: an ssh config naming the machine (as Tailscale's MagicDNS would), no known_hosts yet.
        $runnerHome = New-Item -ItemType Directory (Join-Path $root 'home')
        New-Item -ItemType Directory (Join-Path $runnerHome '.ssh') | Out-Null
        Set-Content (Join-Path $runnerHome '.ssh/config') "Host terebithia`n  HostName $($TestHost.host)`n  Port $($TestHost.sshPort)`n"
        [pscustomobject]@{
            Caller = Join-Path $app '.github/workflows/deploy.yaml'
            Reusable = Join-Path $infra '.github/workflows/deploy-service.yml'
            Workspace = $workspace.FullName
            Home = $runnerHome.FullName
            Secrets = @{ TS_OAUTH_CLIENT_ID = 'unused-here'; TS_OAUTH_SECRET = 'unused-here'; SSH_PRIVATE_KEY = (Get-Content -Raw $TestHost.identityFile) }
        }
    }
}

AfterAll {
    Reset-TestOrigin -Service demo -To $Original
    Remove-Item $FeedFolder -Recurse -Force -ErrorAction Ignore
}

Describe 'The generated workflows, run as Actions would' {
    BeforeEach { $script:SavedHome = $env:HOME }
    AfterEach { $env:HOME = $SavedHome; Reset-TestOrigin -Service demo -To (Get-TestDeployState -Service demo).Commit }

    It 'installs the pinned package, deploys exactly the pushed commit while the branch moved past it, and warns of a key trusted on first use' {
        $run = New-WorkflowRun
        $commit = Publish-TestCommit -Service demo -Variant Good
        $later = Publish-TestCommit -Service demo -Variant Good
        $env:HOME = $run.Home
        $result = Invoke-ReusableWorkflow $run.Caller $run.Reusable $run.Secrets $run.Workspace -GitHub @{ sha = $commit }

        $result.Steps.Name | Should -Be @("Write the SSH key and the host's key", 'Install Atelier', 'Deploy')
        $result.Steps[0].ExitCode | Should -Be 0
        $key = Join-Path $run.Workspace 'runner-temp/atelier-ssh-key'
        (Get-Item $key).UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
        $result.Env | Should -Contain "ATELIER_IDENTITY_FILE=$key"
        $result.Steps[0].Output | Should -Not -Match 'PRIVATE KEY' -Because 'the key is never echoed'
        $result.Steps[1].ExitCode | Should -Be 0 -Because $result.Steps[1].Output
        $result.Steps[1].Output | Should -Match "Installed Atelier $([regex]::Escape($Version)) from atelier"
        Test-Path (Join-Path $run.Home ".local/share/powershell/Modules/Atelier/$Version/Atelier.psd1") | Should -BeTrue -Because 'the module is installed in the runner home, not built'
        $result.Steps[2].ExitCode | Should -Be 0 -Because $result.Steps[2].Output
        (Get-TestDeployState -Service demo).Commit | Should -Be $commit -Because 'the commit the push was for, not the later head of main'
        (Get-TestDeployState -Service demo).OriginMain | Should -Be $later
        $result.Summary | Should -Match 'demo'
        $result.Summary | Should -Match 'Succeeded'
        $result.Outputs | Should -Contain "new_commit=$commit"
        $result.Outputs | Should -Contain 'status=Succeeded'
        Get-Content (Join-Path $run.Home '.ssh/known_hosts') | Should -Match '^\[127\.0\.0\.1\]:\d+ ssh-ed25519 ' -Because 'accept-new recorded the host key'
        $result.Steps[2].Output | Should -Match '::warning title=Host key trusted on first use::No SSH_KNOWN_HOSTS secret or known_hosts input'

        # Run again: the module installed before is used (as from the cache), and the commit is Unchanged.
        $again = Invoke-ReusableWorkflow $run.Caller $run.Reusable $run.Secrets $run.Workspace -GitHub @{ sha = $commit }
        $again.Steps[1].Output | Should -Match "Atelier $([regex]::Escape($Version)) is installed"
        $again.Outputs | Should -Contain 'status=Unchanged'
    }

    It 'checks the host key against the known_hosts given: the right key deploys without a warning, another is refused' {
        $run = New-WorkflowRun
        $commit = Publish-TestCommit -Service demo -Variant Good
        $env:HOME = $run.Home
        $pinned = (Get-Content $TestHost.knownHosts) -join "`n"
        $result = Invoke-ReusableWorkflow $run.Caller $run.Reusable $run.Secrets $run.Workspace -GitHub @{ sha = $commit } -With @{ known_hosts = $pinned }
        $result.Steps[2].ExitCode | Should -Be 0 -Because $result.Steps[2].Output
        $result.Steps[2].Output | Should -Not -Match 'trusted on first use'
        (Get-TestDeployState -Service demo).Commit | Should -Be $commit

        # Another host's key for this address, as the SSH_KNOWN_HOSTS secret: the connection is refused, nothing moves.
        $other = Join-Path $run.Home 'other'
        & ssh-keygen -q -t ed25519 -N '' -f $other
        $wrong = "[$($TestHost.host)]:$($TestHost.sshPort) $((Get-Content "$other.pub").Split(' ')[0..1] -join ' ')"
        $next = Publish-TestCommit -Service demo -Variant Good
        $secrets = $run.Secrets.Clone(); $secrets.SSH_KNOWN_HOSTS = $wrong
        $refused = Invoke-ReusableWorkflow $run.Caller $run.Reusable $secrets $run.Workspace -GitHub @{ sha = $next }
        $refused.Steps[2].ExitCode | Should -Not -Be 0
        $refused.Steps[2].Output | Should -Match 'HAS CHANGED'
        (Get-TestDeployState -Service demo).Commit | Should -Be $commit -Because 'nothing was deployed to a host whose key did not match'
    }

    It 'fails the job when the deploy is rolled back, with the service healthy on the old commit' {
        $run = New-WorkflowRun
        $before = (Get-TestDeployState -Service demo).Commit
        Publish-TestCommit -Service demo -Variant BuildFails | Out-Null
        $env:HOME = $run.Home
        $result = Invoke-ReusableWorkflow $run.Caller $run.Reusable $run.Secrets $run.Workspace -GitHub @{ sha = (Get-TestDeployState -Service demo).OriginMain }

        $result.Steps[2].ExitCode | Should -Not -Be 0
        $result.Steps[2].Output | Should -Match '::error'
        $state = Get-TestDeployState -Service demo
        $state.Commit | Should -Be $before
        $state.Health | Should -Be 200
        $result.Summary | Should -Match 'RolledBack'
    }
}
