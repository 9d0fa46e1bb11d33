@{
    RootModule           = 'Atelier.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '5b0f3c8e-2a4d-4c1e-9a57-7e3f5d1c9b20'
    Author               = 'Atelier contributors'
    CompanyName          = 'Atelier'
    Copyright            = '(c) Atelier contributors. MIT License.'
    Description          = 'Deploys and looks after self-hosted services on NixOS machines over SSH: safe deploys with rollback, online SQLite snapshots, health checks.'
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('Atelier.format.ps1xml')
    CmdletsToExport      = @(
        'Backup-ServiceDb'
        'Get-AtelierService'
        'Get-AtelierSetting'
        'Get-InfraDeployTarget'
        'Get-InfraGeneration'
        'Get-ServiceDbSnapshot'
        'Get-ServiceDeployLock'
        'Get-ServiceDeployHistory'
        'Get-ServiceLog'
        'Get-ServiceStatus'
        'Invoke-InfraDeploy'
        'Invoke-ServiceCommand'
        'Invoke-ServiceDeploy'
        'Lock-ServiceDeploy'
        'New-ServiceModule'
        'Restore-InfraDeploy'
        'Restore-ServiceDeploy'
        'Save-ServiceDbSnapshot'
        'Test-AtelierMachine'
        'Test-ServiceHealth'
        'Unlock-ServiceDeploy'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    # ModuleVersion, ProjectUri and LicenseUri follow Directory.Build.props (Version, RepositoryUrl): build.ps1 fails
    # when they differ. It writes CHANGELOG.md's section for ModuleVersion into the built copy's ReleaseNotes.
    PrivateData          = @{
        PSData = @{
            Tags         = @('NixOS', 'Deploy', 'SSH', 'SQLite', 'systemd', 'Linux', 'Rollback', 'GitHubActions', 'PSEdition_Core')
            ProjectUri   = 'https://github.com/atelier/atelier'
            LicenseUri   = 'https://github.com/atelier/atelier/blob/main/LICENSE'
            ReleaseNotes = ''
        }
    }
}
