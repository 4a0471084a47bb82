# Install, upgrade and uninstall the built installer silently on a Windows machine, the way IT
# deploys it, and check each promise of the installer. Run by the release workflow:
#   powershell -File installer\smoke-test.ps1 -Installer dist\edgecert-setup-X.exe -Version X
# Per-machine mode needs an elevated shell (GitHub's Windows runners are).
param(
    [Parameter(Mandatory = $true)][string]$Installer,
    [Parameter(Mandatory = $true)][string]$Version
)
$ErrorActionPreference = 'Stop'
$Installer = (Resolve-Path $Installer).Path
$UpgradeCode = '{5B0C6E29-8A4D-4F1B-9C3E-7D2A61F4E8B0}'
$Key = "Software\Microsoft\Windows\CurrentVersion\Uninstall\$UpgradeCode"

function Check([bool]$Condition, [string]$What) {
    if (-not $Condition) { throw "smoke test failed: $What" }
    Write-Host "ok: $What"
}

function Run([string]$Exe, $Arguments) {
    $p = Start-Process -FilePath $Exe -ArgumentList $Arguments -Wait -PassThru
    return $p.ExitCode
}

function Uninstall([string]$Dir) {
    # _?= runs the uninstaller in place, so -Wait really waits for it. It must be the last
    # argument and unquoted even with spaces ("C:\Program Files\..."): one verbatim string.
    $code = Run "$Dir\uninstall.exe" "/S _?=$Dir"
    Check ($code -eq 0) "uninstaller exit code 0 ($code)"
    Remove-Item "$Dir\uninstall.exe" -ErrorAction SilentlyContinue
    if (-not (Get-ChildItem -Force $Dir)) { Remove-Item $Dir }  # only if empty, like RMDir
}

function Test-Mode([string]$Mode, [string]$Hive, [string]$Dir, [string]$StartMenu, [string[]]$Flags) {
    Write-Host "== $Mode"
    $code = Run $Installer (@('/S') + $Flags)
    Check ($code -eq 0) "$Mode install exit code 0 ($code)"
    Check (Test-Path "$Dir\edgecert-gui.exe") "$Mode installs edgecert-gui.exe into $Dir"
    Check (Test-Path "$Dir\edgecert.exe") "$Mode installs edgecert.exe"
    Check (Test-Path "$StartMenu\edgecert.lnk") "$Mode creates the Start-menu shortcut"
    $entry = Get-ItemProperty "Registry::$Hive\$Key"
    Check ($entry.DisplayVersion -eq $Version) "$Mode registers version $Version"
    Check ($entry.InstallLocation -eq $Dir) "$Mode registers the install folder"

    $report = Join-Path $env:TEMP "edgecert-selftest-$Mode.txt"
    $code = Run "$Dir\edgecert-gui.exe" @('--self-test', '--self-test-report', "`"$report`"")
    Get-Content $report | Write-Host
    Check ($code -eq 0) "$Mode installed app passes its self-test"

    # A technician's chain in the wizard's default output folder (%USERPROFILE%\edgecert\<device>)
    # and one saved inside the program folder.
    $home_chain = New-Item -ItemType Directory -Force "$env:USERPROFILE\edgecert\smoke-$Mode\private"
    Set-Content "$home_chain\iot-edge-device-ca-x.key.pem" 'not a real key'
    $mine = New-Item -ItemType Directory -Force "$Dir\my-chains"
    Set-Content "$mine\iot-edge-device-ca-x.key.pem" 'not a real key'

    # Upgrade: the same installer again replaces the install in place.
    $code = Run $Installer (@('/S') + $Flags)
    Check ($code -eq 0) "$Mode upgrade exit code 0 ($code)"
    $entries = @(Get-ChildItem "Registry::$Hive\Software\Microsoft\Windows\CurrentVersion\Uninstall" |
        Where-Object { (Get-ItemProperty $_.PSPath).DisplayName -eq 'edgecert' })
    Check ($entries.Count -eq 1) "$Mode upgrade leaves one entry in Apps & features"
    Check (Test-Path "$Dir\edgecert-gui.exe") "$Mode upgrade keeps the app in $Dir"
    Check (Test-Path "$mine\iot-edge-device-ca-x.key.pem") "$Mode upgrade keeps the user's key"

    Uninstall $Dir
    Check (-not (Test-Path "$Dir\edgecert-gui.exe")) "$Mode uninstall removes the program files"
    Check (-not (Test-Path "$Dir\_internal")) "$Mode uninstall removes _internal entirely"
    Check (-not (Test-Path "$StartMenu\edgecert.lnk")) "$Mode uninstall removes the shortcut"
    Check (-not (Test-Path "Registry::$Hive\$Key")) "$Mode uninstall removes the registry entry"
    Check (Test-Path "$mine\iot-edge-device-ca-x.key.pem") "$Mode uninstall keeps the user's key"
    Check (Test-Path "$home_chain\iot-edge-device-ca-x.key.pem") "$Mode uninstall keeps the output folder"
    Remove-Item -Recurse -Force "$env:USERPROFILE\edgecert\smoke-$Mode"
    Remove-Item -Recurse -Force $Dir
}

$userStart = [Environment]::GetFolderPath('Programs')
$commonStart = [Environment]::GetFolderPath('CommonPrograms')
Test-Mode 'per-user' 'HKEY_CURRENT_USER' "$env:LOCALAPPDATA\Programs\edgecert" $userStart @()
Test-Mode 'per-machine' 'HKEY_LOCAL_MACHINE' "$env:ProgramFiles\edgecert" $commonStart @('/ALLUSERS')
Write-Host "smoke test passed"
