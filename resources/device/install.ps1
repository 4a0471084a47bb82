# edgecert bundle installer for IoT Edge for Linux on Windows (EFLOW).
# Run in an elevated PowerShell on the Windows host, in this folder:  .\install.ps1
# It copies the bundle into a private directory in the EFLOW VM with Copy-EflowVmFile and runs
# install.sh there with Invoke-EflowVmCommand (same steps, backup and rollback as a deploy).
$ErrorActionPreference = "Stop"
Import-Module AzureEFLOW
$here = Split-Path -Parent $MyInvocation.MyCommand.Path
$made = Invoke-EflowVmCommand "mktemp -d /tmp/edgecert-bundle.XXXXXXXX"
$stage = ($made | Select-Object -Last 1).Trim()
if ($stage -notmatch '^/tmp/edgecert-bundle\.[A-Za-z0-9]+$') {
    throw "unexpected staging path: $stage"
}
foreach ($name in @(__NAMES__)) {
    Copy-EflowVmFile -fromFile (Join-Path $here $name) -toFile "$stage/$name" -pushFile
}
$run = "chmod 600 $stage/*; sudo sh $stage/install.sh; rc=`$?; rm -rf $stage; echo rc=`$rc"
$out = Invoke-EflowVmCommand $run -ignoreError
$out | Write-Output
$last = ($out | Select-Object -Last 1)
if ($last -match '^rc=(\d+)$') { exit [int]$Matches[1] }
exit 3
