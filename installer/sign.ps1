# Sign one file with the release certificate (Authenticode, SHA-256, RFC 3161 timestamp).
# Used by the release workflow for the executables and, through makensis !finalize and
# !uninstfinalize, for the installer and its uninstaller.
# The certificate comes from the environment, never from the command line, so it is not
# echoed in build logs:
#   EDGECERT_SIGN_PFX       path of the PFX file (written from a repository secret)
#   EDGECERT_SIGN_PASSWORD  its password
#   EDGECERT_SIGN_TIMESTAMP optional timestamp server (default http://timestamp.digicert.com)
param([Parameter(Mandatory = $true)][string]$File)
$ErrorActionPreference = 'Stop'

if (-not $env:EDGECERT_SIGN_PFX -or -not (Test-Path $env:EDGECERT_SIGN_PFX)) {
    throw "EDGECERT_SIGN_PFX is not set or the file is missing"
}
$timestamp = if ($env:EDGECERT_SIGN_TIMESTAMP) { $env:EDGECERT_SIGN_TIMESTAMP } else { 'http://timestamp.digicert.com' }
$kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\bin'
$signtool = Get-ChildItem $kits -Recurse -Filter signtool.exe |
    Where-Object { $_.FullName -match '\\x64\\' } | Sort-Object FullName | Select-Object -Last 1
if (-not $signtool) { throw "signtool.exe not found below $kits" }

& $signtool.FullName sign /q /fd sha256 /td sha256 /tr $timestamp `
    /f $env:EDGECERT_SIGN_PFX /p $env:EDGECERT_SIGN_PASSWORD $File
if ($LASTEXITCODE -ne 0) { throw "signtool failed on $File (exit $LASTEXITCODE)" }
& $signtool.FullName verify /q /pa $File
if ($LASTEXITCODE -ne 0) { throw "signature of $File does not verify" }
