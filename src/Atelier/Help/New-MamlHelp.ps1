#Requires -Version 7.4
<#
.SYNOPSIS
    Writes the module's MAML help file from one Markdown file per cmdlet (Help/<Verb-Noun>.md).
.DESCRIPTION
    The Markdown holds what people write (synopsis, description, examples, one paragraph per parameter); the
    parameter facts (type, position, pipeline input, parameter sets, wildcards, default values) come from the built
    cmdlets themselves, so they cannot drift. A default value is what a new instance of the cmdlet holds (its property
    initialiser) when that differs from the type's own default (null, 0, false, empty). Fails when a cmdlet has no help file, a parameter has no description, or a cmdlet has
    fewer than two examples.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SourcePath,
    [Parameter(Mandatory)] [string] $OutFile
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Read-HelpMarkdown([string] $Path) {
    $help = [ordered]@{ Synopsis = ''; Description = ''; Examples = [Collections.Generic.List[object]]::new(); Parameters = @{}; Inputs = ''; Outputs = ''; Notes = '' }
    $section = $null; $item = $null; $buffer = [Collections.Generic.List[string]]::new(); $inCode = $false; $code = $null
    $flush = {
        $text = ($buffer -join "`n").Trim()
        switch ($section) {
            'SYNOPSIS' { $help.Synopsis = $text }
            'DESCRIPTION' { $help.Description = $text }
            'INPUTS' { $help.Inputs = $text }
            'OUTPUTS' { $help.Outputs = $text }
            'NOTES' { $help.Notes = $text }
            'PARAMETERS' { if ($item) { $help.Parameters[$item] = $text } }
            'EXAMPLES' { if ($item) { $help.Examples.Add([pscustomobject]@{ Title = $item; Code = $code; Remarks = $text }) } }
        }
        $buffer.Clear()
    }
    foreach ($line in Get-Content $Path) {
        if ($line -match '^```') {
            if ($inCode) { $inCode = $false; if ($section -eq 'EXAMPLES' -and $null -eq $code) { $code = ($buffer -join "`n"); $buffer.Clear() } else { $buffer.Add($line) } }
            else { $inCode = $true; if ($section -ne 'EXAMPLES' -or $null -ne $code) { $buffer.Add($line) } }
            continue
        }
        if (-not $inCode -and $line -match '^## (.+)$') { & $flush; $section = $Matches[1].Trim().ToUpperInvariant(); $item = $null; continue }
        if (-not $inCode -and $line -match '^### (.+)$') { & $flush; $item = $Matches[1].Trim().TrimStart('-'); $code = $null; continue }
        if (-not $inCode -and $line -match '^# ') { continue }
        $buffer.Add($line)
    }
    & $flush
    $help
}

function Add-Element($Parent, [string] $Name, [string] $Text) {
    $prefix, $local = $Name.Split(':')
    $ns = @{ maml = 'http://schemas.microsoft.com/maml/2004/10'; command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'; dev = 'http://schemas.microsoft.com/maml/dev/2004/10' }[$prefix]
    $element = $Parent.OwnerDocument.CreateElement($prefix, $local, $ns)
    if ($PSBoundParameters.ContainsKey('Text')) { $element.InnerText = $Text }
    [void] $Parent.AppendChild($element)
    $element
}

function Add-Paragraphs($Parent, [string] $Text) {
    $description = Add-Element $Parent 'maml:description'
    foreach ($para in ($Text -split "\n\s*\n")) {
        if ($para.Trim()) { [void] (Add-Element $description 'maml:para' ($para.Trim() -replace '\s*\n\s*', ' ')) }
    }
    $description
}

function Get-PipelineInput($Parameter) {
    $byValue = $Parameter.ParameterSets.Values.ValueFromPipeline -contains $true
    $byName = $Parameter.ParameterSets.Values.ValueFromPipelineByPropertyName -contains $true
    if ($byValue -and $byName) { 'True (ByValue, ByPropertyName)' } elseif ($byValue) { 'True (ByValue)' } elseif ($byName) { 'True (ByPropertyName)' } else { 'False' }
}

function Get-Position($Parameter) {
    # @(): a lone position 0 is falsy.
    $positions = @($Parameter.ParameterSets.Values.Position | Where-Object { $_ -ge 0 })
    if ($positions.Count) { [string]$positions[0] } else { 'named' }
}

function Get-Globbing($Parameter) {
    "$(@($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0)".ToLowerInvariant()
}

function Get-DefaultValue($Cmdlet, [string] $Name) {
    # What the property initialiser left on a new instance, when it is more than the type's own default.
    $property = $Cmdlet.GetType().GetProperty($Name)
    if (-not $property) { return $null }
    # A value that is "not given" on the instance (it then comes from the settings or the manifest) states its default.
    $stated = $property.GetCustomAttributes([Management.Automation.PSDefaultValueAttribute], $true) | Select-Object -First 1
    if ($stated) { return [string]$stated.Value }
    $value = $property.GetValue($Cmdlet)
    if ($value -is [Array]) { return $(if ($value.Length) { ($value | ForEach-Object { [string]$_ }) -join ', ' } else { $null }) }
    $type = $property.PropertyType
    $none = if ($type.IsValueType) { [Activator]::CreateInstance($type) } else { $null }
    if ($null -eq $value -or $value.Equals($none) -or "$value" -eq '' -or ($value -is [Management.Automation.SwitchParameter] -and -not $value.IsPresent)) { return $null }
    [string]$value
}

Import-Module $ModulePath -Force
$moduleName = [IO.Path]::GetFileNameWithoutExtension($ModulePath)
$common = [Management.Automation.Cmdlet]::CommonParameters
$doc = [xml]'<?xml version="1.0" encoding="utf-8"?><helpItems schema="maml" xmlns="http://msh" />'
$problems = [Collections.Generic.List[string]]::new()
# Parameters that many cmdlets share (the connection parameters) are described once, in _Shared.md; a cmdlet's
# own file may still describe one of them differently.
$shared = (Read-HelpMarkdown (Join-Path $SourcePath '_Shared.md')).Parameters

foreach ($cmd in Get-Command -Module $moduleName -CommandType Cmdlet | Sort-Object Name) {
    $source = Join-Path $SourcePath "$($cmd.Name).md"
    if (-not (Test-Path $source)) { $problems.Add("$($cmd.Name): no help file $source"); continue }
    $help = Read-HelpMarkdown $source
    $parameters = $cmd.Parameters.Values | Where-Object { $_.Name -notin $common }
    foreach ($p in $parameters) { if (-not $help.Parameters[$p.Name] -and $shared[$p.Name]) { $help.Parameters[$p.Name] = $shared[$p.Name] } }

    if (-not $help.Synopsis) { $problems.Add("$($cmd.Name): no SYNOPSIS") }
    if (-not $help.Description) { $problems.Add("$($cmd.Name): no DESCRIPTION") }
    if ($help.Examples.Count -lt 2) { $problems.Add("$($cmd.Name): fewer than two examples") }
    foreach ($p in $parameters) { if (-not $help.Parameters[$p.Name]) { $problems.Add("$($cmd.Name): no description of -$($p.Name)") } }
    foreach ($name in $help.Parameters.Keys) { if ($name -notin $parameters.Name) { $problems.Add("$($cmd.Name): help describes -$name, which the cmdlet does not have") } }

    $instance = [Activator]::CreateInstance($cmd.ImplementingType)

    $command = Add-Element $doc.DocumentElement 'command:command'
    $details = Add-Element $command 'command:details'
    [void] (Add-Element $details 'command:name' $cmd.Name)
    [void] (Add-Element $details 'command:verb' $cmd.Verb)
    [void] (Add-Element $details 'command:noun' $cmd.Noun)
    [void] (Add-Paragraphs $details $help.Synopsis)
    [void] (Add-Paragraphs $command $help.Description)

    $syntax = Add-Element $command 'command:syntax'
    foreach ($set in $cmd.ParameterSets) {
        $syntaxItem = Add-Element $syntax 'command:syntaxItem'
        [void] (Add-Element $syntaxItem 'maml:name' $cmd.Name)
        foreach ($p in $set.Parameters | Where-Object { $_.Name -notin $common }) {
            $node = Add-Element $syntaxItem 'command:parameter'
            $node.SetAttribute('required', "$($p.IsMandatory)".ToLowerInvariant())
            $node.SetAttribute('position', $(if ($p.Position -ge 0) { "$($p.Position)" } else { 'named' }))
            $node.SetAttribute('pipelineInput', $(if ($p.ValueFromPipeline) { 'True (ByValue)' } elseif ($p.ValueFromPipelineByPropertyName) { 'True (ByPropertyName)' } else { 'False' }))
            $node.SetAttribute('globbing', (Get-Globbing $cmd.Parameters[$p.Name]))
            [void] (Add-Element $node 'maml:name' $p.Name)
            if ($p.ParameterType -ne [Management.Automation.SwitchParameter]) {
                $value = Add-Element $node 'command:parameterValue' $p.ParameterType.Name
                $value.SetAttribute('required', 'true')
            }
        }
    }

    $parametersNode = Add-Element $command 'command:parameters'
    foreach ($p in $parameters | Sort-Object Name) {
        $node = Add-Element $parametersNode 'command:parameter'
        $node.SetAttribute('required', "$(@($p.ParameterSets.Values.IsMandatory) -contains $true)".ToLowerInvariant())
        $node.SetAttribute('position', (Get-Position $p))
        $node.SetAttribute('pipelineInput', (Get-PipelineInput $p))
        $node.SetAttribute('globbing', (Get-Globbing $p))
        $node.SetAttribute('aliases', $(if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }))
        [void] (Add-Element $node 'maml:name' $p.Name)
        [void] (Add-Paragraphs $node ($help.Parameters[$p.Name] ?? ''))
        if ($p.ParameterType -ne [Management.Automation.SwitchParameter]) {
            $value = Add-Element $node 'command:parameterValue' $p.ParameterType.Name
            $value.SetAttribute('required', 'true')
        }
        $type = Add-Element $node 'dev:type'
        [void] (Add-Element $type 'maml:name' $p.ParameterType.FullName)
        if ($null -ne ($default = Get-DefaultValue $instance $p.Name)) { [void] (Add-Element $node 'dev:defaultValue' $default) }
    }
    if ($instance -is [IDisposable]) { $instance.Dispose() }

    $inputs = Add-Element $command 'command:inputTypes'
    $inputType = Add-Element $inputs 'command:inputType'
    $typeNode = Add-Element $inputType 'dev:type'
    [void] (Add-Element $typeNode 'maml:name' $(if ($help.Inputs) { ($help.Inputs -split "`n")[0].Trim('#', ' ') } else { 'None' }))
    [void] (Add-Paragraphs $inputType (($help.Inputs -split "`n" | Select-Object -Skip 1) -join "`n"))

    $returns = Add-Element $command 'command:returnValues'
    foreach ($t in $cmd.OutputType) {
        $returnValue = Add-Element $returns 'command:returnValue'
        $typeNode = Add-Element $returnValue 'dev:type'
        [void] (Add-Element $typeNode 'maml:name' $t.Name)
        [void] (Add-Paragraphs $returnValue $help.Outputs)
    }

    if ($help.Notes) {
        $alerts = Add-Element $command 'maml:alertSet'
        $alert = Add-Element $alerts 'maml:alert'
        foreach ($para in ($help.Notes -split "\n\s*\n")) { [void] (Add-Element $alert 'maml:para' ($para.Trim() -replace '\s*\n\s*', ' ')) }
    }

    $examples = Add-Element $command 'command:examples'
    foreach ($example in $help.Examples) {
        $node = Add-Element $examples 'command:example'
        [void] (Add-Element $node 'maml:title' "-------------------------- $($example.Title) --------------------------")
        [void] (Add-Element $node 'dev:code' $example.Code)
        $remarks = Add-Element $node 'dev:remarks'
        foreach ($para in ($example.Remarks -split "\n\s*\n")) { if ($para.Trim()) { [void] (Add-Element $remarks 'maml:para' ($para.Trim() -replace '\s*\n\s*', ' ')) } }
    }
}

if ($problems.Count) {
    $problems | ForEach-Object { Write-Error -Message $_ -ErrorAction Continue }
    throw "The help is incomplete ($($problems.Count) problems)."
}

$doc.Save($OutFile)
