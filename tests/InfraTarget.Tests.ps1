# Get-InfraDeployTarget over a fixture infrastructure repository with a real git history (one commit per case of the
# anchor's rule), with node names from -Node and from the real `nix eval` of the repository's flake (two deploy nodes).

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    $script:Repo = Join-Path ([IO.Path]::GetTempPath()) "atelier-infratarget-$([guid]::NewGuid())"
    $script:Commits = @{}
    $script:Nodes = 'moonlark', 'terebithia'

    function Invoke-Git {
        $output = & git -C $Repo -c user.name='Atelier Test' -c user.email=test@atelier.invalid -c commit.gpgsign=false @args 2>&1
        if ($LASTEXITCODE -ne 0) { throw "git $args failed: $output" }
        $output
    }

    function Add-Commit([string] $Name, [hashtable] $Files = @{}) {
        foreach ($path in $Files.Keys) {
            $full = Join-Path $Repo $path
            New-Item -ItemType Directory -Force (Split-Path $full) | Out-Null
            Set-Content -Path $full -Value $Files[$path] -NoNewline
        }
        Invoke-Git add -A | Out-Null
        Invoke-Git commit -q -m $Name | Out-Null
        $script:Commits[$Name] = (Invoke-Git rev-parse HEAD).Trim()
    }

    function Get-Target([string] $Name, [string[]] $Node) {
        # The change of one commit, from its parent.
        $params = @{ From = "$($Commits[$Name])~1"; To = $Commits[$Name]; Path = $Repo }
        if ($Node) { $params.Node = $Node }
        Get-InfraDeployTarget @params -ErrorAction Stop
    }

    New-Item -ItemType Directory $Repo | Out-Null
    Invoke-Git init -q -b main | Out-Null
    $flake = @'
{
  outputs = { self }: {
    deploy.nodes = {
      terebithia = { hostname = "terebithia"; profiles.system.user = "root"; };
      moonlark = { hostname = "moonlark"; profiles.system.user = "root"; };
    };
  };
}
'@
    Add-Commit 'initial' @{
        'flake.nix' = $flake; 'flake.lock' = '{ "nodes": { "root": {} }, "root": "root", "version": 7 }'
        'modules/base.nix' = '{ ... }: { }'; 'lib/default.nix' = '{ }'; 'secrets/wifi.age' = 'age'; 'packages/tool/default.nix' = '{ }'
        'machines/terebithia/configuration.nix' = '{ }'; 'machines/moonlark/configuration.nix' = '{ }'
        'machines/moonlark/hardware.nix' = '{ boot.loader.grub.enable = true; }'; 'README.md' = '# dots'
    }
    Add-Commit 'flake.nix' @{ 'flake.nix' = $flake + "`n" }
    Add-Commit 'flake.lock' @{ 'flake.lock' = '{ "nodes": { "root": {} }, "root": "root", "version": 7 }' + "`n" }
    Add-Commit 'modules' @{ 'modules/caddy.nix' = '{ }' }
    Add-Commit 'lib' @{ 'lib/default.nix' = '{ mkService = x: x; }' }
    Add-Commit 'secrets' @{ 'secrets/wifi.age' = 'age rotated' }
    Add-Commit 'packages' @{ 'packages/tool/patch.diff' = '+' }
    Add-Commit 'one machine' @{ 'machines/terebithia/configuration.nix' = '{ time.timeZone = "UTC"; }' }
    Add-Commit 'two machines' @{ 'machines/terebithia/caddy.nix' = '{ }'; 'machines/moonlark/configuration.nix' = '{ time.timeZone = "UTC"; }' }
    Invoke-Git mv machines/moonlark/hardware.nix machines/terebithia/hardware.nix | Out-Null
    Add-Commit 'rename'
    Add-Commit 'readme' @{ 'README.md' = "# dots`n`nHow to deploy."; 'machines/README.md' = 'One folder per machine.' }
    Add-Commit 'no such node' @{ 'machines/oldbox/configuration.nix' = '{ }' }
    Add-Commit 'deploy workflow' @{ '.github/workflows/deploy.yaml' = 'name: Deploy' }
    Add-Commit 'overlays' @{ 'overlays/default.nix' = 'final: prev: { }' }
}

AfterAll {
    Remove-Item $Repo -Recurse -Force -ErrorAction Ignore
}

Describe 'Get-InfraDeployTarget with -Node' {
    It 'selects every node when <Case> changes' -ForEach @(
        @{ Case = 'flake.nix'; Reason = 'flake.nix changed'; Path = 'flake.nix' }
        @{ Case = 'flake.lock'; Reason = 'flake.lock changed'; Path = 'flake.lock' }
        @{ Case = 'modules'; Reason = 'modules/ changed'; Path = 'modules/caddy.nix' }
        @{ Case = 'lib'; Reason = 'lib/ changed'; Path = 'lib/default.nix' }
        @{ Case = 'secrets'; Reason = 'secrets/ changed'; Path = 'secrets/wifi.age' }
        @{ Case = 'packages'; Reason = 'packages/ changed'; Path = 'packages/tool/patch.diff' }
    ) {
        $targets = @(Get-Target $Case -Node $Nodes)
        $targets.Node | Should -Be $Nodes
        $targets | ForEach-Object {
            $_.GetType().FullName | Should -Be 'Atelier.Infra.DeployTarget'
            $_.Reason | Should -Be $Reason
            $_.Paths | Should -Be @($Path)
        }
    }

    It 'selects every node when only the deploy workflow changed, as the real workflow does' {
        $targets = @(Get-Target 'deploy workflow' -Node $Nodes)
        $targets.Node | Should -Be $Nodes
        $targets[0].Reason | Should -Be '.github/workflows/deploy.yaml changed'
    }

    It 'takes its shared paths from -SharedPath, else from sharedPaths: in the settings file' {
        $params = @{ From = "$($Commits['overlays'])~1"; To = $Commits['overlays']; Path = $Repo; Node = $Nodes }
        Get-InfraDeployTarget @params | Should -BeNullOrEmpty
        @(Get-InfraDeployTarget @params -SharedPath 'overlays/').Reason | Should -Be @('overlays/ changed', 'overlays/ changed')
        Get-InfraDeployTarget @params -SharedPath @() | Should -BeNullOrEmpty
        { Get-InfraDeployTarget @params -SharedPath '../x' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidSharedPath,Atelier.Commands.GetInfraDeployTargetCommand'

        $folder = Join-Path TestDrive: 'shared'
        New-Item -ItemType Directory $folder | Out-Null
        Set-Content (Join-Path $folder 'atelier.yaml') "sharedPaths:`n  - overlays/`n"
        Push-Location $folder
        try {
            @(Get-InfraDeployTarget @params).Node | Should -Be $Nodes
            (Get-AtelierSetting sharedPaths).Value | Should -Be @('overlays/')
        }
        finally { Pop-Location }
    }

    It 'selects the one node whose machine folder changed' {
        $target = Get-Target 'one machine' -Node $Nodes
        $target.Node | Should -Be 'terebithia'
        $target.Reason | Should -Be 'machines/terebithia/ changed'
        $target.Paths | Should -Be @('machines/terebithia/configuration.nix')
    }

    It 'selects both nodes when two machine folders changed' {
        $targets = @(Get-Target 'two machines' -Node $Nodes)
        $targets.Node | Should -Be @('moonlark', 'terebithia')
        $targets[0].Paths | Should -Be @('machines/moonlark/configuration.nix')
        $targets[1].Paths | Should -Be @('machines/terebithia/caddy.nix')
    }

    It 'counts a rename out of one machine folder into another for both' {
        $targets = @(Get-Target 'rename' -Node $Nodes)
        $targets.Node | Should -Be @('moonlark', 'terebithia')
        $targets[0].Paths | Should -Be @('machines/moonlark/hardware.nix')
        $targets[1].Paths | Should -Be @('machines/terebithia/hardware.nix')
    }

    It 'selects nothing for a README' {
        Get-Target 'readme' -Node $Nodes | Should -BeNullOrEmpty
    }

    It 'warns about a machine folder without a node instead of dropping it silently' {
        $targets = Get-InfraDeployTarget -From "$($Commits['no such node'])~1" -To $Commits['no such node'] -Path $Repo -Node $Nodes -WarningVariable warnings -WarningAction SilentlyContinue
        $targets | Should -BeNullOrEmpty
        $warnings | Should -HaveCount 1
        "$warnings" | Should -Match "machines/oldbox/ changed, but there is no deploy node 'oldbox'"
    }

    It 'selects every node for the all-zero commit of a new branch, and To defaults to HEAD, Path to the current location' {
        Push-Location $Repo
        try { $targets = @(Get-InfraDeployTarget ('0' * 40) -Node $Nodes -ErrorAction Stop) }
        finally { Pop-Location }
        $targets.Node | Should -Be $Nodes
        $targets.Reason | Sort-Object -Unique | Should -Be 'new branch: no previous commit'
        $targets[0].Paths | Should -HaveCount 0
    }

    It 'gives the union of the nodes over a range of commits' {
        $targets = @(Get-InfraDeployTarget -From $Commits['packages'] -To $Commits['two machines'] -Path $Repo -Node $Nodes)
        $targets.Node | Should -Be @('moonlark', 'terebithia')
        $targets[1].Paths | Should -Be @('machines/terebithia/caddy.nix', 'machines/terebithia/configuration.nix')
    }

    It 'stops with RevisionNotFound for a commit the clone does not have' {
        { Get-InfraDeployTarget -From ('1' * 40) -Path $Repo -Node $Nodes -ErrorAction Stop } |
            Should -Throw -ErrorId 'RevisionNotFound,Atelier.Commands.GetInfraDeployTargetCommand'
    }

    It 'binds Node by property name into a -Node parameter, like Invoke-InfraDeploy''s' {
        function Receive-Node {
            param([Parameter(Mandatory, ValueFromPipelineByPropertyName)] [string[]] $Node)
            process { $Node }
        }
        Get-Target 'flake.lock' -Node $Nodes | Receive-Node | Should -Be $Nodes
    }

    It 'shows a table of Node, Reason and Paths' {
        $text = Get-Target 'two machines' -Node $Nodes | Format-Table | Out-String -Width 200
        $text | Should -Match 'Node\s+Reason\s+Paths'
        $text | Should -Match 'terebithia\s+machines/terebithia/ changed\s+machines/terebithia/caddy.nix'
    }
}

Describe 'Get-InfraDeployTarget without -Node' {
    It 'reads the nodes from the flake''s deploy.nodes with the real nix eval' {
        Get-Command nix -ErrorAction Stop | Out-Null
        $targets = @(Get-Target 'flake.lock')
        $targets.Node | Should -Be @('moonlark', 'terebithia')
        (Invoke-Git status --porcelain) | Should -BeNullOrEmpty -Because 'nix must not write a lock file into the repository'
    }

    It 'reads the nodes of a flake given by -Flake' {
        $other = Join-Path TestDrive: 'other'
        New-Item -ItemType Directory $other | Out-Null
        Set-Content (Join-Path $other 'flake.nix') '{ outputs = { self }: { deploy.nodes = { beta = { }; alpha = { }; }; }; }'
        $targets = @(Get-InfraDeployTarget -From "$($Commits['modules'])~1" -To $Commits['modules'] -Path $Repo -Flake $other -ErrorAction Stop)
        $targets.Node | Should -Be @('alpha', 'beta')
    }

    It 'stops with NixNotInstalled, naming -Node, when nix is not on PATH' {
        $bin = Join-Path TestDrive: 'bin'
        New-Item -ItemType Directory $bin | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $bin 'git') -Target (Get-Command git).Source | Out-Null
        $path = $env:PATH
        try {
            $env:PATH = (Resolve-Path $bin).ProviderPath
            $err = $null
            try { Get-Target 'flake.lock' } catch { $err = $_ }
            # A README-only change needs no node list at all, so it works without nix.
            Get-Target 'readme' | Should -BeNullOrEmpty
        }
        finally { $env:PATH = $path }
        $err.FullyQualifiedErrorId | Should -Be 'NixNotInstalled,Atelier.Commands.GetInfraDeployTargetCommand'
        $err.CategoryInfo.Category | Should -Be 'NotInstalled'
        "$err" | Should -Match '-Node'
    }
}
