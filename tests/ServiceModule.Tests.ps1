# New-ServiceModule against a copy of the fixture infrastructure repository (laid out like the anchor's), checked
# with the real nix-instantiate (Debian nix-bin) and a second YAML parser (PyYAML).

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    $script:Fixture = Join-Path $PSScriptRoot 'Fixtures/infra'

    function New-InfraCopy {
        $root = Join-Path $TestDrive "infra-$([guid]::NewGuid())"
        Copy-Item -Recurse $Fixture $root
        & git -C $root init -q
        & git -C $root remote add origin 'https://github.com/example/dots.git'
        $root
    }

    function Test-NixParse([string] $Path) {
        $out = & nix-instantiate --parse $Path 2>&1
        if ($LASTEXITCODE -ne 0) { throw "nix-instantiate --parse $Path failed: $out" }
        $true
    }

    function Invoke-NixEval([string] $Expression, [hashtable] $ArgStr = @{}) {
        $arguments = @('--eval', '--strict', '--json')
        foreach ($k in $ArgStr.Keys) { $arguments += @('--argstr', $k, $ArgStr[$k]) }
        $out = & nix-instantiate @arguments -E $Expression 2>&1
        if ($LASTEXITCODE -ne 0) { throw "nix-instantiate could not evaluate: $out" }
        ($out -join "`n") | ConvertFrom-Json -AsHashtable
    }

    function Get-ModuleArgs([string] $File) {
        Invoke-NixEval '{ file }: let m = scopedImport { import = _: (args: args); } file; in m // (if m ? extraConfig then { extraConfig = m.extraConfig { dataDir = "/var/lib/x"; }; } else { })' @{ file = $File }
    }

    function Get-MachineService([string] $File, [string] $Name, [string[]] $Secrets) {
        Invoke-NixEval ('{ file, name, secrets }: let names = builtins.fromJSON secrets; cfg = import file { config = { age.secrets = builtins.listToAttrs (map (n: { name = n; value = { path = "/run/agenix/" + n; }; }) names); }; lib = { }; pkgs = { }; inputs = { }; }; in cfg.atelier.services.${name} // { secretNames = builtins.attrNames cfg.age.secrets; }') @{ file = $File; name = $Name; secrets = (ConvertTo-Json -Compress @($Secrets)) }
    }

    function Read-Yaml([string] $Path) {
        # PyYAML reads YAML 1.1, where a bare key `on` is the boolean true; GitHub reads it as the string "on".
        $json = & python3 -c 'import json, sys, yaml; d = yaml.safe_load(open(sys.argv[1], encoding="utf-8")); d["on"] = d.pop(True, d.get("on")); print(json.dumps(d))' $Path
        if ($LASTEXITCODE -ne 0) { throw "PyYAML could not read $Path" }
        $json | ConvertFrom-Json -AsHashtable
    }

    $script:Cachet2 = @{
        Name        = 'pastebin'
        Description = 'Pastes, kept a week'
        Domain      = 'paste.example.org'
        Repository  = 'https://github.com/example/pastebin'
        HealthUrl   = 'https://paste.example.org/health'
        Sqlite      = 'data/paste.db'
        Secret      = 'pastebin'
        Environment = @{ MAX_SIZE = '1048576' }
        Machine     = 'terebithia'
    }
}

Describe 'New-ServiceModule' {
    It 'gives the machine block the app''s origin as its repository, and warns when there is none' {
        $infra = New-InfraCopy
        $app = New-Item -ItemType Directory (Join-Path $TestDrive "app-$([guid]::NewGuid())")
        & git -C $app init -q
        & git -C $app remote add origin https://github.com/example/pastebin.git
        $noRepository = $Cachet2.Clone(); $noRepository.Remove('Repository')
        New-ServiceModule @noRepository -InfraPath $infra -AppPath $app -ErrorAction Stop -WarningVariable warnings -WarningAction SilentlyContinue | Out-Null
        $warnings | Should -BeNullOrEmpty
        (Get-MachineService (Join-Path $infra 'machines/terebithia/default.nix') 'pastebin' @('cachet', 'bore/auth-token', 'cloudflare', 'pastebin')).repository |
            Should -Be 'https://github.com/example/pastebin.git' -Because "mkService clones ~/app from it on the first start"

        $bare = New-Item -ItemType Directory (Join-Path $TestDrive "app-$([guid]::NewGuid())")
        New-ServiceModule @noRepository -InfraPath (New-InfraCopy) -AppPath $bare -ErrorAction Stop -WarningVariable warnings -WarningAction SilentlyContinue | Out-Null
        ($warnings -join ' ') | Should -Match 'gets no repository\b.*~/app must be cloned on the host by hand.*Give -Repository, or -AppPath'
    }

    It 'writes the module, the machine block and the app workflow; the Nix parses and the machine file only gains the block' {
        $infra = New-InfraCopy
        $app = New-Item -ItemType Directory (Join-Path $TestDrive "app-$([guid]::NewGuid())")
        $machineFile = Join-Path $infra 'machines/terebithia/default.nix'
        $original = Get-Content -Raw $machineFile

        $files = New-ServiceModule @Cachet2 -InfraPath $infra -AppPath $app -BuildCommand 'bun run build' -ErrorAction Stop

        $files | Should -HaveCount 3
        $files.Action | Should -Be @('Created', 'Changed', 'Created')
        $files.Kind | Should -Be @('Module', 'Machine', 'Workflow')
        $module = Join-Path $infra 'modules/nixos/services/pastebin.nix'
        $files[0].Path | Should -Be $module
        Test-NixParse $module | Should -BeTrue
        Test-NixParse $machineFile | Should -BeTrue

        # The edited machine file is the original with one block inserted: same head, same tail, nothing else.
        $edited = Get-Content -Raw $machineFile
        $head = 0; while ($head -lt $original.Length -and $original[$head] -eq $edited[$head]) { $head++ }
        $tail = 0; while ($tail -lt $original.Length - $head -and $original[$original.Length - 1 - $tail] -eq $edited[$edited.Length - 1 - $tail]) { $tail++ }
        ($head + $tail) | Should -Be $original.Length
        $inserted = $edited.Substring($head, $edited.Length - $original.Length)
        $inserted | Should -Match 'atelier\.services\.pastebin = \{'
        $inserted | Should -Match 'age\.secrets\.pastebin = \{'
        $original.Substring($head) | Should -Match '^\s*\}\s*$' -Because 'the block goes just before the closing brace of the top-level set'

        $args = Get-ModuleArgs $module
        $args.name | Should -Be 'pastebin'
        $args.defaultPort | Should -Be 3001 -Because 'cachet holds 3000, l4 3003 and 3004; 3001 is the lowest free port'
        $args.extraConfig.atelier.services.pastebin.data.sqlite | Should -Be '/var/lib/x/data/paste.db'
        $service = Get-MachineService $machineFile 'pastebin' @('cachet', 'bore/auth-token', 'cloudflare', 'pastebin')
        $service.enable | Should -BeTrue
        $service.domain | Should -Be 'paste.example.org'
        $service.secretsFile | Should -Be '/run/agenix/pastebin'
        $service.environment.MAX_SIZE | Should -Be '1048576'
        $service.secretNames | Should -Contain 'pastebin'

        $workflow = Read-Yaml (Join-Path $app '.github/workflows/deploy.yaml')
        $workflow.on.push.branches | Should -Be @('main')
        $workflow.jobs.deploy.uses | Should -Be 'example/dots/.github/workflows/deploy-service.yml@main'
        $workflow.jobs.deploy.with.service | Should -Be 'pastebin'
        $workflow.jobs.deploy.with.host | Should -Be 'terebithia'
        $workflow.jobs.deploy.with.health_url | Should -Be 'https://paste.example.org/health'
        $workflow.jobs.deploy.with.db_path | Should -Be '/var/lib/pastebin/data/paste.db' -Because 'the reusable workflow it calls may read a relative path from ~/app, not from the home'
        $workflow.jobs.deploy.with.build_command | Should -Be 'bun run build'
        $workflow.jobs.deploy.secrets.Keys | Should -Contain 'TS_OAUTH_CLIENT_ID'
    }

    It 'changes nothing when run again with the same values' {
        $infra = New-InfraCopy
        $app = New-Item -ItemType Directory (Join-Path $TestDrive "app-$([guid]::NewGuid())")
        New-ServiceModule @Cachet2 -InfraPath $infra -AppPath $app -IncludeReusableWorkflow -ErrorAction Stop | Out-Null
        $before = Get-ChildItem -Recurse -File $infra, $app | ForEach-Object { '{0} {1} {2}' -f $_.FullName, $_.LastWriteTimeUtc.Ticks, (Get-FileHash $_.FullName).Hash }
        Start-Sleep -Milliseconds 20

        $again = New-ServiceModule @Cachet2 -InfraPath $infra -AppPath $app -IncludeReusableWorkflow -ErrorAction Stop

        $again.Action | Should -Be @('Unchanged', 'Unchanged', 'Unchanged', 'Unchanged')
        $after = Get-ChildItem -Recurse -File $infra, $app | ForEach-Object { '{0} {1} {2}' -f $_.FullName, $_.LastWriteTimeUtc.Ticks, (Get-FileHash $_.FullName).Hash }
        $after | Should -Be $before
    }

    It 'refuses a different existing module unless -Force, and writes nothing when it refuses' {
        $infra = New-InfraCopy
        New-ServiceModule @Cachet2 -InfraPath $infra -ErrorAction Stop | Out-Null
        $machineFile = Join-Path $infra 'machines/terebithia/default.nix'
        $machineBefore = Get-Content -Raw $machineFile

        $err = { New-ServiceModule @Cachet2 -Description 'Pastes, kept a month' -Domain paste2.example.org -InfraPath $infra } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'ServiceModuleExists,Atelier.Commands.NewServiceModuleCommand'
        "$err" | Should -Match '-Force replaces it'
        $err.Exception.Message | Should -Match '\+  description = "Pastes, kept a month";'
        Get-Content -Raw $machineFile | Should -Be $machineBefore

        $forced = New-ServiceModule @Cachet2 -Description 'Pastes, kept a month' -Domain paste2.example.org -InfraPath $infra -Force -ErrorAction Stop
        $forced.Action | Should -Be @('Changed', 'Changed')
        (Get-ModuleArgs (Join-Path $infra 'modules/nixos/services/pastebin.nix')).description | Should -Be 'Pastes, kept a month'
        (Get-MachineService $machineFile 'pastebin' @('cachet', 'bore/auth-token', 'cloudflare', 'pastebin')).domain | Should -Be 'paste2.example.org'
        Test-NixParse $machineFile | Should -BeTrue
        ([regex]::Matches((Get-Content -Raw $machineFile), 'atelier\.services\.pastebin = ')).Count | Should -Be 1
    }

    It 'refuses a taken port naming the service that holds it, and -Port Auto picks the next free one' {
        $infra = New-InfraCopy
        $err = { New-ServiceModule -Name newsvc -Port 3004 -Machine terebithia -InfraPath $infra } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'PortTaken,Atelier.Commands.NewServiceModuleCommand'
        $err.Exception.Message | Should -Match "Port 3004 is taken by the service 'l4' \(machines/terebithia/default.nix:\d+"
        { New-ServiceModule -Name newsvc -Port 3000 -Machine prattle -InfraPath $infra } | Should -Throw "*taken by the service 'cachet'*"
        Join-Path $infra 'modules/nixos/services/newsvc.nix' | Should -Not -Exist

        New-ServiceModule -Name first -Port Auto -Machine terebithia -InfraPath $infra -ErrorAction Stop | Out-Null
        New-ServiceModule -Name second -Machine terebithia -InfraPath $infra -ErrorAction Stop | Out-Null
        (Get-ModuleArgs (Join-Path $infra 'modules/nixos/services/first.nix')).defaultPort | Should -Be 3001
        (Get-ModuleArgs (Join-Path $infra 'modules/nixos/services/second.nix')).defaultPort | Should -Be 3002
        # Auto again keeps the port the service already has.
        (New-ServiceModule -Name first -Machine terebithia -InfraPath $infra -ErrorAction Stop).Action | Should -Be @('Unchanged', 'Unchanged')
    }

    It 'keeps hostile values plain strings in Nix and YAML: <Label>' -ForEach @(
        @{ Label = 'quotes and ${'; Value = 'say "hi" ${builtins.currentTime} $${x} end$' }
        @{ Label = 'backslashes and newlines'; Value = "C:\new\table\\`n second line`r`n`tthird" }
        @{ Label = 'YAML-looking'; Value = 'yes: no # not a comment' }
        @{ Label = 'unicode and quotes'; Value = "naïve — 'single' `"double`" ''two'' `${x}" }
    ) {
        $infra = New-InfraCopy
        $app = New-Item -ItemType Directory (Join-Path $TestDrive "app-$([guid]::NewGuid())")
        $url = 'https://h.example.org/health?q=' + [uri]::EscapeDataString($Value)
        New-ServiceModule -Name hostile -Description $Value -Domain $Value -Repository $Value -HealthUrl $url `
            -Environment @{ VALUE = $Value } -Sqlite 'data/h.db' -Postgres $Value -DataFiles $Value -StartCommand $Value `
            -EntryPoint $Value -BuildCommand $Value -WorkDir $Value -Machine terebithia -InfraPath $infra -AppPath $app -ErrorAction Stop | Out-Null

        $module = Join-Path $infra 'modules/nixos/services/hostile.nix'
        $machineFile = Join-Path $infra 'machines/terebithia/default.nix'
        Test-NixParse $module | Should -BeTrue
        Test-NixParse $machineFile | Should -BeTrue
        $args = Get-ModuleArgs $module
        $args.description | Should -BeExactly $Value
        $args.entryPoint | Should -BeExactly $Value
        $args.startCommand | Should -BeExactly $Value
        $args.extraConfig.atelier.services.hostile.data.postgres | Should -BeExactly $Value
        $args.extraConfig.atelier.services.hostile.data.files | Should -Be @("/var/lib/x/$Value")
        $service = Get-MachineService $machineFile 'hostile' @('cachet', 'bore/auth-token', 'cloudflare')
        $service.domain | Should -BeExactly $Value
        $service.repository | Should -BeExactly $Value
        $service.healthUrl | Should -BeExactly $url
        $service.environment.VALUE | Should -BeExactly $Value

        $with = (Read-Yaml (Join-Path $app '.github/workflows/deploy.yaml')).jobs.deploy.with
        $with.build_command | Should -BeExactly $Value
        $with.work_dir | Should -BeExactly $Value
        $with.health_url | Should -BeExactly $url
    }

    It 'refuses a value GitHub would evaluate, and a bad name, before writing anything' {
        $infra = New-InfraCopy
        $app = New-Item -ItemType Directory (Join-Path $TestDrive "app-$([guid]::NewGuid())")
        { New-ServiceModule -Name ok -BuildCommand 'echo ${{ secrets.TS_OAUTH_SECRET }}' -Machine terebithia -InfraPath $infra -AppPath $app } |
            Should -Throw -ErrorId 'WorkflowExpressionRefused,Atelier.Commands.NewServiceModuleCommand'
        { New-ServiceModule -Name 'Bad Name' -Machine terebithia -InfraPath $infra } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Atelier.Commands.NewServiceModuleCommand'
        { New-ServiceModule -Name ok -Secret '../x' -Machine terebithia -InfraPath $infra } | Should -Throw -ErrorId 'InvalidRemoteValue,Atelier.Commands.NewServiceModuleCommand'
        Get-ChildItem -Recurse -File $app | Should -BeNullOrEmpty
        Join-Path $infra 'modules/nixos/services/ok.nix' | Should -Not -Exist
    }

    It 'shows each change as a diff with -WhatIf and writes nothing' {
        $infra = New-InfraCopy
        $app = New-Item -ItemType Directory (Join-Path $TestDrive "app-$([guid]::NewGuid())")
        $before = Get-ChildItem -Recurse -File $infra | ForEach-Object { (Get-FileHash $_.FullName).Hash }
        $script = Join-Path $TestDrive 'whatif.ps1'
        Set-Content $script 'param($Module, $Infra, $App) Import-Module $Module; New-ServiceModule -Name pastebin -Domain paste.example.org -Sqlite data/paste.db -Machine terebithia -InfraPath $Infra -AppPath $App -WhatIf'
        $printed = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $script $env:ATELIER_MODULE $infra $app.FullName | Out-String

        $printed | Should -Match ([regex]::Escape("What if: Create $infra/modules/nixos/services/pastebin.nix"))
        $printed | Should -Match '\+\+\+ b/modules/nixos/services/pastebin.nix'
        $printed | Should -Match '\+  name = "pastebin";'
        $printed | Should -Match ([regex]::Escape("What if: Change $infra/machines/terebithia/default.nix"))
        $printed | Should -Match '@@ -\d+,\d+ \+\d+,\d+ @@'
        $printed | Should -Match '\+  atelier\.services\.pastebin = \{'
        $printed | Should -Match '\+\+\+ b/\.github/workflows/deploy\.yaml'
        (Get-ChildItem -Recurse -File $infra | ForEach-Object { (Get-FileHash $_.FullName).Hash }) | Should -Be $before
        Get-ChildItem -Recurse -File $app | Should -BeNullOrEmpty
    }

    It 'takes the machine from the settings file, and needs one from somewhere' {
        $infra = New-InfraCopy
        Push-Location $infra
        try {
            { New-ServiceModule -Name frommachine } | Should -Throw -ErrorId 'MachineRequired,Atelier.Commands.NewServiceModuleCommand'
            Set-Content atelier.yaml 'machine: prattle'
            $files = New-ServiceModule -Name frommachine -ErrorAction Stop
            $files[1].Path | Should -Be (Join-Path $infra 'machines/prattle/default.nix')
            { New-ServiceModule -Name other -Machine nowhere } | Should -Throw "*no machines/nowhere/default.nix*Machines: prattle, terebithia*"
        }
        finally { Pop-Location }
    }

    It 'writes an Atelier reusable workflow with the anchor inputs and secrets with -IncludeReusableWorkflow' {
        $infra = New-InfraCopy
        $app = New-Item -ItemType Directory (Join-Path $TestDrive "app-$([guid]::NewGuid())")
        New-ServiceModule @Cachet2 -InfraPath $infra -AppPath $app -IncludeReusableWorkflow -ErrorAction Stop | Out-Null
        $reusable = Read-Yaml (Join-Path $infra '.github/workflows/deploy-service.yml')
        $call = $reusable.on.workflow_call
        foreach ($input in 'service', 'host', 'health_url', 'branch', 'db_path', 'work_dir', 'build_command') { $call.inputs.Keys | Should -Contain $input }
        $call.inputs.service.required | Should -BeTrue
        $call.inputs.host.default | Should -Be 'terebithia'
        $call.secrets.Keys | Should -Contain 'TS_OAUTH_CLIENT_ID'
        $call.secrets.Keys | Should -Contain 'TS_OAUTH_SECRET'
        $steps = $reusable.jobs.Values[0].steps
        ($steps | Where-Object { $_.name -eq 'Deploy' }).run | Should -Match 'Invoke-ServiceDeploy @deploy'
        ($steps | Where-Object { $_.name -eq 'Install Atelier' }).run | Should -Match 'Install-PSResource -Name Atelier'
        (Read-Yaml (Join-Path $app '.github/workflows/deploy.yaml')).jobs.deploy.with.commit | Should -Be '${{ github.sha }}' -Because 'a caller of Atelier''s workflow deploys the push''s exact commit'
    }
}
