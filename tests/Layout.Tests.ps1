# The README's Layout table against the tree it describes: every path it names exists, every tracked top-level
# entry and every folder of the two projects is named, and every file the table names is where the table says.

BeforeAll {
    $script:Root = Split-Path $PSScriptRoot
    $readme = Get-Content -Raw (Join-Path $Root 'README.md')
    $layout = [regex]::Match($readme, '(?ms)^## Layout\s*$(.*?)(?=^## |\z)').Groups[1].Value
    # | `path` | description |
    $script:Rows = @([regex]::Matches($layout, '(?m)^\|\s*(?<paths>`[^|]+)\|\s*(?<text>[^|]*)\|\s*$') | ForEach-Object {
            [pscustomobject]@{
                Paths = @([regex]::Matches($_.Groups['paths'].Value, '`([^`]+)`') | ForEach-Object { $_.Groups[1].Value })
                Text  = $_.Groups['text'].Value
            }
        })
    $script:Named = @($Rows.Paths | ForEach-Object { $_.TrimEnd('/') })
    $script:Tracked = @(git -C $Root ls-files | ForEach-Object { ($_ -split '/')[0] } | Sort-Object -Unique)

    # The names in backticks in one row's description: folders end in '/', files have an extension.
    function Get-Mentioned([string] $Project, [string] $Pattern) {
        $row = $Rows | Where-Object { $_.Paths -contains $Project }
        @([regex]::Matches($row.Text, '`([^`]+)`') | ForEach-Object { $_.Groups[1].Value } | Where-Object { $_ -match $Pattern })
    }
}

Describe 'The README''s Layout table' {
    It 'has a row for each part of the tree' {
        $Rows.Count | Should -BeGreaterThan 5
    }

    It 'names only paths that exist' {
        foreach ($path in $Named) { Join-Path $Root $path | Should -Exist -Because "the Layout table names $path" }
    }

    It 'names every top-level entry the repository tracks' {
        $tops = @($Named | ForEach-Object { ($_ -split '/')[0] })
        $missing = @($Tracked | Where-Object { $_ -notin $tops })
        $missing | Should -BeNullOrEmpty -Because 'each top-level file and folder has a row'
    }

    It 'names every folder of <_> and only folders it has' -ForEach 'src/Atelier.Engine/', 'src/Atelier/' {
        $project = Join-Path $Root $_
        $folders = @(Get-ChildItem $project -Directory | Where-Object Name -NotIn 'bin', 'obj' | ForEach-Object { $_.Name + '/' })
        $mentioned = @(Get-Mentioned $_ '^[A-Z][A-Za-z]*/$')
        @($folders | Where-Object { $_ -notin $mentioned }) | Should -BeNullOrEmpty -Because "every folder of $_ is described"
        @($mentioned | Where-Object { $_ -notin $folders }) | Should -BeNullOrEmpty -Because "the row for $_ names only its folders"
    }

    It 'names files of <_> that exist in it' -ForEach 'src/Atelier.Engine/', 'src/Atelier/' {
        $project = Join-Path $Root $_
        $files = @(Get-ChildItem $project -Recurse -File -Filter *.cs | Where-Object FullName -NotMatch '/(bin|obj)/' | ForEach-Object Name)
        foreach ($file in Get-Mentioned $_ '\.cs$') {
            $file | Should -BeIn $files -Because "the row for $_ names $file"
        }
    }
}
