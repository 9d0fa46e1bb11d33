# The generated workflows, run: the app's deploy.yaml (from New-ServiceModule) calls the Atelier-based reusable
# deploy-service.yml; this file plays the runner for the reusable workflow's own steps (the SSH key step with bash,
# the deploy step with pwsh), feeding them the caller's `with` values the way Actions would, and deploys the test
# host's demo service for real. The steps that need GitHub (tailscale, setup-dotnet, checkout) are the only ones not run.

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

    function Resolve-Expression([string] $Text, [hashtable] $Inputs, [hashtable] $Secrets) {
        # The two expression forms the generated env: blocks use, as Actions evaluates them.
        [regex]::Replace($Text, '\$\{\{ (inputs|secrets)\.([A-Za-z0-9_]+) \}\}', {
                param($m)
                $value = if ($m.Groups[1].Value -eq 'inputs') { $Inputs[$m.Groups[2].Value] } else { $Secrets[$m.Groups[2].Value] }
                if ($null -eq $value) { '' } else { "$value" }
            })
    }

    function Invoke-ReusableWorkflow([string] $CallerPath, [string] $ReusablePath, [hashtable] $Secrets, [string] $Workspace) {
        <# Runs the reusable workflow's `run:` steps for the call in $CallerPath; returns exit codes, output and files. #>
        $caller = Read-Yaml $CallerPath
        $reusable = Read-Yaml $ReusablePath
        # Inputs: the caller's `with`, else each input's default.
        $inputs = @{}
        foreach ($entry in $reusable.on.workflow_call.inputs.GetEnumerator()) {
            if ($entry.Value.Contains('default')) { $inputs[$entry.Key] = $entry.Value.default }
        }
        foreach ($entry in $caller.jobs.deploy.with.GetEnumerator()) { $inputs[$entry.Key] = $entry.Value }

        $runnerTemp = New-Item -ItemType Directory (Join-Path $Workspace 'runner-temp') -Force
        $files = @{ GITHUB_ENV = 'env'; GITHUB_OUTPUT = 'output'; GITHUB_STEP_SUMMARY = 'summary' }
        $environment = @{ GITHUB_ACTIONS = 'true'; GITHUB_WORKSPACE = $Workspace; RUNNER_TEMP = $runnerTemp.FullName }
        foreach ($f in $files.GetEnumerator()) { $environment[$f.Key] = Join-Path $runnerTemp $f.Value; Set-Content $environment[$f.Key] $null }

        $results = foreach ($step in $reusable.jobs.deploy.steps | Where-Object { $_.Contains('run') }) {
            $stepEnvironment = @{} + $environment
            # What earlier steps appended to $GITHUB_ENV applies to the later ones.
            foreach ($line in Get-Content $environment.GITHUB_ENV) { if ($line -match '^([A-Za-z_][A-Za-z0-9_]*)=(.*)$') { $stepEnvironment[$Matches[1]] = $Matches[2] } }
            foreach ($entry in ($step.env ?? @{}).GetEnumerator()) { $stepEnvironment[$entry.Key] = Resolve-Expression $entry.Value $inputs $Secrets }
            if ($step.name -eq 'Build Atelier') { continue }   # the module under test is already built
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
        # The infrastructure repo (fixture copy) with the reusable workflow, the app repo with its deploy.yaml, and a
        # runner workspace whose _atelier/out/Atelier holds the module under test.
        $root = New-Item -ItemType Directory (Join-Path $TestDrive "run-$([guid]::NewGuid())")
        $infra = Join-Path $root 'infra'
        Copy-Item -Recurse (Join-Path $PSScriptRoot 'Fixtures/infra') $infra
        $app = New-Item -ItemType Directory (Join-Path $root 'app')
        New-ServiceModule -Name demo -Machine terebithia -InfraPath $infra -AppPath $app -IncludeReusableWorkflow `
            -HealthUrl $TestHost.services.demo.healthUrl -Sqlite data/demo.db -BuildCommand 'bun run build' `
            -WorkflowReference 'example/dots/.github/workflows/deploy-service.yml@main' -ErrorAction Stop | Out-Null
        $workspace = New-Item -ItemType Directory (Join-Path $root 'workspace')
        New-Item -ItemType Directory (Join-Path $workspace '_atelier/out') | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $workspace '_atelier/out/Atelier') -Target (Split-Path $env:ATELIER_MODULE) | Out-Null
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
}

Describe 'The generated workflows, run as Actions would' {
    BeforeEach { $script:SavedHome = $env:HOME }
    AfterEach { $env:HOME = $SavedHome; Reset-TestOrigin -Service demo -To (Get-TestDeployState -Service demo).Commit }

    It 'deploys a good commit: the key step writes a 0600 key, the pwsh step deploys it, the summary says so' {
        $run = New-WorkflowRun
        $commit = Publish-TestCommit -Service demo -Variant Good
        $env:HOME = $run.Home
        $result = Invoke-ReusableWorkflow $run.Caller $run.Reusable $run.Secrets $run.Workspace

        $result.Steps.Name | Should -Be @('Write the SSH key', 'Deploy')
        $result.Steps[0].ExitCode | Should -Be 0
        $key = Join-Path $run.Workspace 'runner-temp/atelier-ssh-key'
        (Get-Item $key).UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
        $result.Env | Should -Contain "ATELIER_IDENTITY_FILE=$key"
        $result.Steps[0].Output | Should -Not -Match 'PRIVATE KEY' -Because 'the key is never echoed'
        $result.Steps[1].ExitCode | Should -Be 0 -Because $result.Steps[1].Output
        (Get-TestDeployState -Service demo).Commit | Should -Be $commit
        $result.Summary | Should -Match 'demo'
        $result.Summary | Should -Match 'Succeeded'
        $result.Outputs | Should -Contain "new_commit=$commit"
        $result.Outputs | Should -Contain 'status=Succeeded'
        Get-Content (Join-Path $run.Home '.ssh/known_hosts') | Should -Match '^\[127\.0\.0\.1\]:\d+ ssh-ed25519 ' -Because 'accept-new recorded the host key'
    }

    It 'fails the job when the deploy is rolled back, with the service healthy on the old commit' {
        $run = New-WorkflowRun
        $before = (Get-TestDeployState -Service demo).Commit
        Publish-TestCommit -Service demo -Variant BuildFails | Out-Null
        $env:HOME = $run.Home
        $result = Invoke-ReusableWorkflow $run.Caller $run.Reusable $run.Secrets $run.Workspace

        $result.Steps[1].ExitCode | Should -Not -Be 0
        $result.Steps[1].Output | Should -Match '::error'
        $state = Get-TestDeployState -Service demo
        $state.Commit | Should -Be $before
        $state.Health | Should -Be 200
        $result.Summary | Should -Match 'RolledBack'
    }
}
