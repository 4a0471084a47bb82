; Windows installer of edgecert (NSIS 3). Built by installer/build.py, which passes:
;   VERSION     version from pyproject.toml, e.g. 0.1.0
;   VERSION4    the same as four numbers for the file properties, e.g. 0.1.0.0
;   PAYLOAD     the frozen onedir folder (dist/edgecert)
;   FILES_NSH   generated: SetOutPath/File lines for every payload file
;   UNFILES_NSH generated: Delete/RMDir lines for exactly those files, deepest folders first
;   OUTFILE     the installer to write
;   GUI_EXE, CLI_EXE  executable names inside PAYLOAD (edgecert-gui.exe, edgecert.exe)
;   SIZE_KB     payload size for "Apps & features"
;   COMPRESSOR  optional, default "/SOLID lzma"
;   SIGN_CMD    optional, a command that signs the file whose path is appended to it
;   NSIS_TARGET optional, e.g. amd64-unicode for a 64-bit installer (default x86-unicode)
;
; Install modes
;   Just for me (default, no administrator rights): %LOCALAPPDATA%\Programs\edgecert, HKCU.
;   For all users (/ALLUSERS, needs an elevated installer): %ProgramFiles%\edgecert, HKLM.
; Silent, for IT:
;   edgecert-setup-X.exe /S                 per user
;   edgecert-setup-X.exe /S /ALLUSERS       per machine (run elevated; exit code 740 otherwise)
;   "<install dir>\uninstall.exe" /S        remove (the QuietUninstallString in the registry)
;   /D=<dir> (last argument) chooses the folder.
; Upgrades: the uninstall key is named after a fixed upgrade code. A newer (or older) installer
; finds the previous install there, removes the previous version's files and installs into the
; same folder: one entry in "Apps & features", never two side by side.
; Uninstall deletes only the files this installer put there (generated list, no wildcards, no
; recursive delete), so keys and chains a technician saved anywhere, even inside the program
; folder, stay where they are.

!ifdef NSIS_TARGET
  Target ${NSIS_TARGET}  ; e.g. amd64-unicode where that stub is installed (Debian's nsis has it)
!else
  Unicode true
!endif
ManifestDPIAware true
RequestExecutionLevel user

!macro _Require name
  !ifndef ${name}
    !error "${name} is not defined: build with installer/build.py"
  !endif
!macroend
!insertmacro _Require VERSION
!insertmacro _Require VERSION4
!insertmacro _Require PAYLOAD
!insertmacro _Require FILES_NSH
!insertmacro _Require UNFILES_NSH
!insertmacro _Require OUTFILE
!insertmacro _Require GUI_EXE
!insertmacro _Require CLI_EXE
!ifndef SIZE_KB
  !define SIZE_KB 0
!endif
!ifndef COMPRESSOR
  !define COMPRESSOR "/SOLID lzma"
!endif

; The upgrade code: NEVER change it, or upgrades install side by side.
!define UPGRADE_CODE "{5B0C6E29-8A4D-4F1B-9C3E-7D2A61F4E8B0}"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${UPGRADE_CODE}"
!define APP_NAME "edgecert"
!define PUBLISHER "edgecert"
!define SHORTCUT "$SMPROGRAMS\edgecert.lnk"
!define ERROR_ELEVATION_REQUIRED 740

SetCompressor ${COMPRESSOR}
Name "${APP_NAME} ${VERSION}"
OutFile "${OUTFILE}"
; Code signing (release workflow, when the certificate secrets exist): makensis runs SIGN_CMD on
; the finished uninstaller before packing it and on the finished installer.
!ifdef SIGN_CMD
  !uninstfinalize '${SIGN_CMD} "%1"' = 0
  !finalize '${SIGN_CMD} "%1"' = 0
!endif
; No InstallDir: $INSTDIR stays empty unless /D= is given; ApplyMode picks the folder.
BrandingText "${APP_NAME} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${VERSION4}"
VIAddVersionKey "ProductName" "${APP_NAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP_NAME} installer"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "LegalCopyright" "MIT License"

!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include nsDialogs.nsh
!include x64.nsh

Var AllUsers        ; "1" per machine, "0" per user
Var DirChosen       ; "1" when /D= was given
Var RadioUser
Var RadioAll
Var Upgrading       ; uninstaller: "1" when called by a newer installer

!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${GUI_EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start edgecert"

Page custom ModePageShow ModePageLeave
!define MUI_PAGE_CUSTOMFUNCTION_PRE DirectoryPre
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; ---- install mode -------------------------------------------------------------------------------

!macro _IsAdmin result
  UserInfo::GetAccountType
  Pop ${result}
!macroend

Function ApplyMode
  SetRegView 64  ; the app is 64-bit only (.onInit refuses 32-bit Windows)
  ${If} $AllUsers == "1"
    SetShellVarContext all
  ${Else}
    SetShellVarContext current
  ${EndIf}
  ${If} $DirChosen != "1"
    ${If} $AllUsers == "1"
      StrCpy $INSTDIR "$PROGRAMFILES64\${APP_NAME}"
    ${Else}
      StrCpy $INSTDIR "$LOCALAPPDATA\Programs\${APP_NAME}"
    ${EndIf}
    ; An earlier version installed in this mode: upgrade it where it is.
    ReadRegStr $0 SHCTX "${UNINST_KEY}" "InstallLocation"
    ${If} $0 != ""
      StrCpy $INSTDIR $0
    ${EndIf}
  ${EndIf}
FunctionEnd

Function .onInit
  !if ${NSIS_PTR_SIZE} <= 4
    ; A 32-bit installer stub: make sure Windows is 64-bit (PySide6 ships 64-bit only).
    ${IfNot} ${RunningX64}
      ${IfNot} ${Silent}
        MessageBox MB_ICONSTOP|MB_OK "edgecert needs 64-bit Windows."
      ${EndIf}
      SetErrorLevel 1
      Quit
    ${EndIf}
  !endif
  StrCpy $AllUsers "0"
  StrCpy $DirChosen "0"
  ${If} $INSTDIR != ""  ; /D= was given (there is no InstallDir default)
    StrCpy $DirChosen "1"
  ${EndIf}
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/ALLUSERS" $R1
  ${IfNot} ${Errors}
    StrCpy $AllUsers "1"
  ${EndIf}
  ${If} $AllUsers == "1"
    !insertmacro _IsAdmin $R2
    ${If} $R2 != "Admin"
    ${AndIf} ${Silent}
      ; IT tools read the exit code: "the requested operation requires elevation".
      SetErrorLevel ${ERROR_ELEVATION_REQUIRED}
      Quit
    ${EndIf}
  ${EndIf}
  Call ApplyMode
FunctionEnd

Function ModePageShow
  !insertmacro MUI_HEADER_TEXT "Install for" "Choose who can use edgecert on this computer."
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateRadioButton} 0 10u 100% 12u "Just for &me (no administrator rights needed)"
  Pop $RadioUser
  ${NSD_CreateRadioButton} 0 30u 100% 12u "For &all users of this computer (needs administrator rights)"
  Pop $RadioAll
  ${NSD_CreateLabel} 0 55u 100% 36u "Keys and chains you generate are stored where you save them \
    and are never removed by an uninstall or an upgrade."
  Pop $0
  ${If} $AllUsers == "1"
    ${NSD_Check} $RadioAll
  ${Else}
    ${NSD_Check} $RadioUser
  ${EndIf}
  nsDialogs::Show
FunctionEnd

Function ModePageLeave
  ${NSD_GetState} $RadioAll $0
  ${If} $0 == ${BST_CHECKED}
    !insertmacro _IsAdmin $R2
    ${If} $R2 != "Admin"
      MessageBox MB_ICONEXCLAMATION|MB_OK "Installing for all users needs administrator rights.$\r$\n\
        Close this installer and start it again with 'Run as administrator', or choose 'Just for me'."
      Abort
    ${EndIf}
    StrCpy $AllUsers "1"
  ${Else}
    StrCpy $AllUsers "0"
  ${EndIf}
  Call ApplyMode
FunctionEnd

Function DirectoryPre
  ; Upgrades go where the previous version is: no folder to choose.
  ReadRegStr $0 SHCTX "${UNINST_KEY}" "InstallLocation"
  ${If} $0 != ""
    Abort
  ${EndIf}
FunctionEnd

; ---- install ------------------------------------------------------------------------------------

Section "edgecert" SecMain
  SectionIn RO
  ; Upgrade in place: the previous version's uninstaller removes exactly its own files.
  ReadRegStr $0 SHCTX "${UNINST_KEY}" "InstallLocation"
  ${If} $0 != ""
  ${AndIf} ${FileExists} "$0\uninstall.exe"
    DetailPrint "Removing the previous version from $0"
    ExecWait '"$0\uninstall.exe" /S /UPGRADE _?=$0' $1
    Delete "$0\uninstall.exe"
  ${EndIf}

  !include "${FILES_NSH}"

  SetOutPath "$INSTDIR"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortCut "${SHORTCUT}" "$INSTDIR\${GUI_EXE}" "" "$INSTDIR\${GUI_EXE}" 0 \
    SW_SHOWNORMAL "" "Put an Azure IoT Edge device on your own certificate chain"

  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${GUI_EXE}"
  WriteRegStr SHCTX "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr SHCTX "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoRepair" 1
  WriteRegDWORD SHCTX "${UNINST_KEY}" "EstimatedSize" ${SIZE_KB}
SectionEnd

; ---- uninstall ----------------------------------------------------------------------------------

Function un.onInit
  SetRegView 64
  StrCpy $Upgrading "0"
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/UPGRADE" $R1
  ${IfNot} ${Errors}
    StrCpy $Upgrading "1"
  ${EndIf}
  ; Per machine when HKLM registers this folder, else per user.
  StrCpy $AllUsers "0"
  ReadRegStr $0 HKLM "${UNINST_KEY}" "InstallLocation"
  ${If} $0 == $INSTDIR
    StrCpy $AllUsers "1"
    !insertmacro _IsAdmin $R2
    ${If} $R2 != "Admin"
      ${IfNot} ${Silent}
        MessageBox MB_ICONEXCLAMATION|MB_OK "edgecert was installed for all users: removing it \
          needs administrator rights."
      ${EndIf}
      SetErrorLevel ${ERROR_ELEVATION_REQUIRED}
      Quit
    ${EndIf}
    SetShellVarContext all
  ${Else}
    SetShellVarContext current
  ${EndIf}
FunctionEnd

Section "Uninstall"
  !include "${UNFILES_NSH}"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"  ; not /r: only when nothing else is left in it
  Delete "${SHORTCUT}"
  ${If} $Upgrading != "1"
    DeleteRegKey SHCTX "${UNINST_KEY}"
  ${EndIf}
SectionEnd
