# The about_Atelier topic: shipped with the module, complete about the settings and the manifest, and its examples
# real: the manifest example is a manifest Get-AtelierService reads, and the Pester recipe runs and passes as written.

BeforeAll {
    Import-Module $env:ATELIER_MODULE -Force
    $script:TopicFile = Join-Path (Split-Path $env:ATELIER_MODULE) 'en-US/about_Atelier.help.txt'
    $script:Topic = Get-Content $TopicFile

    function Get-TopicBlock([string] $After) {
        # The indented block that follows the first line ending with $After, as it would be typed: its lines up to the
        # first one indented less than the block's first line, with that indentation removed.
        $start = [Array]::FindIndex($Topic, [Predicate[string]] { param($line) $line.TrimEnd().EndsWith($After) })
        if ($start -lt 0) { throw "about_Atelier has no line ending with '$After'" }
        $first = $start + 1
        while ($first -lt $Topic.Count -and -not $Topic[$first].Trim()) { $first++ }
        $indent = $Topic[$first].Length - $Topic[$first].TrimStart().Length
        $lines = for ($i = $first; $i -lt $Topic.Count; $i++) {
            $line = $Topic[$i]
            if ($line.Trim() -and -not $line.StartsWith(' ' * $indent)) { break }
            if ($line.Length -ge $indent) { $line.Substring($indent) } else { '' }
        }
        ($lines -join "`n").TrimEnd()
    }
}

Describe 'about_Atelier' {
    It 'ships in the module and Get-Help shows it' {
        $TopicFile | Should -Exist
        $help = Get-Help about_Atelier | Out-String
        $help | Should -Match 'TOPIC\s+about_Atelier'
        foreach ($section in 'SETTINGS', 'THE SERVICES MANIFEST', 'WHAT A HOST NEEDS', 'HOST OUTPUT AND SECRETS', 'FILES ON THIS MACHINE',
            'SSH', 'ERRORS AND EXIT CODES',
            'WHEN THINGS GO WRONG: THE GUARD AND FAULTS', 'STOPPING', 'TESTING SCRIPTS THAT CALL ATELIER \(PESTER\)') {
            $help | Should -Match "(?m)^$section\s*$"
        }
    }

    It 'describes every settings key Get-AtelierSetting knows' {
        Push-Location $TestDrive
        try { $keys = (Get-AtelierSetting).Name }
        finally { Pop-Location }
        $keys | Should -Not -BeNullOrEmpty
        $settings = ($Topic -join "`n") -replace '(?s)^.*\nSETTINGS\n(.*?)\nTHE SERVICES MANIFEST\n.*$', '$1'
        foreach ($key in $keys) { $settings | Should -Match "(?m)^\s+$key\s" -Because "the settings table must describe '$key'" }
    }

    It 'shows a services manifest that Get-AtelierService reads' {
        $manifest = Join-Path $TestDrive 'services.json'
        Set-Content $manifest (Get-TopicBlock 'Its shape, keyed by machine name:')
        $service = Get-AtelierService -Manifest $manifest -ErrorAction Stop
        $service.Name | Should -Be 'cachet'
        $service.Machine | Should -Be 'terebithia'
        $service.Host | Should -Be 'terebithia'
        $service.HealthUrl | Should -Be 'https://cachet.dunkirk.sh/health'
        $service.DbPath | Should -Be 'data/cachet.db'
        $service.Port | Should -Be 3000
    }

    It 'shows the sudo rule the test host grants, as mkService does' {
        Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
        $rule = Get-TopicBlock 'a NOPASSWD sudo rule for exactly these commands, and nothing else:'
        $granted = (Invoke-TestHostRoot 'cat /etc/sudoers.d/demo' | Select-Object -Last 1).Trim()
        $rule | Should -Be ($granted -replace '\bdemo\b', '<name>')
    }

    It 'builds fake results as its recipe writes them, of the types the cmdlets return' {
        $fakes = @(& ([scriptblock]::Create(((Get-TopicBlock 'its binding by property name into the next cmdlet:') -join "`n"))))
        $fakes | Should -HaveCount 2
        $fakes[0].GetType() | Should -Be ((Get-Command Invoke-ServiceDeploy).OutputType.Type | Select-Object -First 1)
        $fakes[0].Status | Should -Be 'RolledBack'
        $fakes[1].Name | Should -Be 'build'
    }

    It 'has a Pester recipe that mocks Invoke-ServiceDeploy, and it passes as written' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'recipe')
        Set-Content (Join-Path $folder 'Deploy-Cachet.ps1') (Get-TopicBlock 'and reports what runs, Deploy-Cachet.ps1:')
        Set-Content (Join-Path $folder 'Deploy-Cachet.Tests.ps1') (Get-TopicBlock 'Its test, Deploy-Cachet.Tests.ps1, next to it:')
        Get-Content (Join-Path $folder 'Deploy-Cachet.Tests.ps1') -Raw | Should -Match '\[Atelier\.Deploy\.ServiceDeployResult\]@\{ Service = ''cachet'''

        # In a fresh pwsh where the module is found by name, as a user's would be, with this run's Pester.
        $run = @'
param($ModuleFolder, $Pester, $Folder)
$env:PSModulePath = $ModuleFolder + [IO.Path]::PathSeparator + $env:PSModulePath
Import-Module $Pester
$result = Invoke-Pester -Path $Folder -PassThru -Output None
"passed=$($result.PassedCount) failed=$($result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount)"
$result.Failed | ForEach-Object { "failure: $($_.ExpandedName): $($_.ErrorRecord)" }
'@
        Set-Content (Join-Path $TestDrive 'run-recipe.ps1') $run
        $pester = (Get-Module Pester).Path
        $output = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File (Join-Path $TestDrive 'run-recipe.ps1') `
            (Split-Path (Split-Path $env:ATELIER_MODULE)) $pester $folder.FullName 2>&1 | ForEach-Object { "$_" }
        ($output -join "`n") | Should -Match 'passed=3 failed=0'
    }
}

Describe 'The README walkthrough "Deploy your own service"' {
    BeforeAll {
        $readme = Get-Content -Raw (Join-Path $PSScriptRoot '../README.md')
        $script:Walkthrough = [regex]::Match($readme, '(?s)\n## Deploy your own service\n(.*?)\n## ').Groups[1].Value
        function Get-ReadmeBlock([string] $Language) { [regex]::Match($Walkthrough, "(?s)``````$Language\n(.*?)\n``````").Groups[1].Value }
    }

    It 'follows "Two commands"' {
        $Walkthrough | Should -Not -BeNullOrEmpty
        (Get-Content -Raw (Join-Path $PSScriptRoot '../README.md')) | Should -Match '(?s)\n## Two commands\n.*\n## Deploy your own service\n'
    }

    It 'has a services.json that Get-AtelierService reads, and an atelier.yaml that Get-AtelierSetting accepts' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'walkthrough')
        Set-Content (Join-Path $folder 'services.json') (Get-ReadmeBlock 'json')
        Set-Content (Join-Path $folder 'atelier.yaml') (Get-ReadmeBlock 'yaml')
        Push-Location $folder
        try {
            $service = Get-AtelierService pastebin -ErrorAction Stop
            $service.Host | Should -Be 'terebithia'
            $service.HealthUrl | Should -Be 'https://paste.dunkirk.sh/health'
            $service.DbPath | Should -Be 'data/paste.db'
            (Get-AtelierSetting keep -ErrorAction Stop).Value | Should -Be 10
        }
        finally { Pop-Location }
    }
}
