'''The device-side shell library: the one implementation of backup, install, check and restore.

Both ``deploy`` (over any Target) and the export bundle's ``install.sh`` run these functions, so
a bundle installed from a USB stick does exactly what a deploy does. Everything is POSIX sh and
coreutils (``install``, ``stat``, ``sha256sum``, ``mktemp``), present on every IoT Edge Linux
device, EFLOW's CBL-Mariner included.

The library reads a *steps file* (``core.deploy.steps.render_steps``): one tab-separated line per
step, paths last. It never builds a command line from text: every value reaches a command as a
quoted positional argument.

Exit codes of ``ec_stage_apply`` (also used by install.sh):
    0 installed; 10 drift (nothing touched); 11 failed before any change (nothing touched);
    12 failed and restored; 13 failed and the restore failed too.
'''

from __future__ import annotations

EXIT_OK = 0
EXIT_DRIFT = 10
EXIT_UNTOUCHED = 11
EXIT_RESTORED = 12
EXIT_RESTORE_FAILED = 13

BACKUP_ROOT = "/var/backups/edgecert"
"""Root-only (0700) directory holding one timestamped backup per deploy."""

LIBRARY = r"""
umask 077
TAB=$(printf '\t')
NL='
'
ec_out() { printf '%s\n' "$*" 2>/dev/null || :; }

ec_sha() {
  if [ -f "$1" ]; then set -- "$(sha256sum < "$1")"; ec_out "${1%% *}"; else ec_out absent; fi
}

# ec_stat PATH -> "file MODE UID GID USER GROUP SIZE SHA256"
#                | "dir MODE UID GID USER GROUP" | "absent"
ec_stat() {
  if [ -f "$1" ]; then
    set -- "$1" "$(stat -c '%a %u %g %U %G %s' -- "$1")"
    ec_out "file $2 $(ec_sha "$1")"
  elif [ -d "$1" ]; then
    ec_out "dir $(stat -c '%a %u %g %U %G' -- "$1")"
  else
    ec_out absent
  fi
}

# ec_state BACKUP_ROOT PATH... : version line, one "stat<TAB>PATH<TAB>..." line per path, backups.
ec_state() {
  _root=$1; shift
  v=
  if command -v iotedge >/dev/null 2>&1; then v=$(iotedge version 2>&1 | head -n 1) || v=; fi
  ec_out "version$TAB$v"
  for p in "$@"; do ec_out "stat$TAB$p$TAB$(ec_stat "$p")"; done
  if [ -d "$_root" ]; then
    for b in "$_root"/*/; do
      [ -f "${b}manifest" ] || continue
      s=$(cat "${b}status" 2>/dev/null) || s=unknown
      ec_out "backup$TAB${b%/}$TAB$s"
    done
  fi
}

# ec_readable USER PATH : the iotedge check rule (check_readable): PATH and every parent up to /
# must be readable by USER as owner, by primary group (supplementary groups do not count) or by
# world; r for files, r+x for directories. Prints one "unreadable" line per failing component.
ec_readable() {
  _u=$1; _p=$2; _rc=0
  _uid=$(id -u -- "$_u" 2>/dev/null) && _gid=$(id -g -- "$_u" 2>/dev/null) || {
    ec_out "unreadable$TAB$_u$TAB-$TAB$_p$TABno such user"; return 1; }
  while :; do
    if [ ! -e "$_p" ]; then
      ec_out "unreadable$TAB$_u$TAB$_uid:$_gid$TAB$_p${TAB}missing"; _rc=1
    else
      set -- $(stat -L -c '%a %u %g' -- "$_p")
      _m=$((0$1)); _need=4; [ -d "$_p" ] && _need=5
      if [ $((_m & _need)) -eq $_need ]; then :
      elif [ "$3" = "$_gid" ] && [ $(((_m >> 3) & _need)) -eq $_need ]; then :
      elif [ "$2" = "$_uid" ] && [ $(((_m >> 6) & _need)) -eq $_need ]; then :
      else ec_out "unreadable$TAB$_u$TAB$_uid:$_gid$TAB$_p${TAB}mode $1 owner $2:$3"; _rc=1
      fi
    fi
    [ "$_p" = / ] && break
    _p=$(dirname -- "$_p")
  done
  return $_rc
}

# ec_steps STAGE KIND : print the fields after KIND of each matching steps line, tab-separated.
ec_steps() { sed -n "s/^$2$TAB//p" "$1/steps"; }

# ec_backup STAGE : create a timestamped root-only backup dir with a manifest; print its path.
ec_backup() {
  _root=$(sed -n "s/^backup-root$TAB//p" "$1/steps")
  mkdir -p -m 700 -- "${_root:=/var/backups/edgecert}" || return 1
  _b=$(mktemp -d "$_root/$(date -u +%Y%m%dT%H%M%SZ)-XXXXXX") || return 1
  {
    ec_out "edgecert-backup${TAB}1"
    ec_out "created$TAB$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    sed -n "s/^release$TAB/release$TAB/p" "$1/steps"
  } > "$_b/manifest.tmp" || { rm -rf -- "$_b"; return 1; }
  _i=0
  _list=$(
    ec_steps "$1" dir | sed "s/^[^$TAB]*$TAB[^$TAB]*$TAB[^$TAB]*$TAB/d$TAB/"
    ec_steps "$1" file | sed "s/^[^$TAB]*$TAB[^$TAB]*$TAB[^$TAB]*$TAB[^$TAB]*$TAB/f$TAB/"
    ec_steps "$1" config | sed "s/^[^$TAB]*$TAB[^$TAB]*$TAB[^$TAB]*$TAB[^$TAB]*$TAB/f$TAB/"
    ec_steps "$1" clear | sed "s/^/f$TAB/"
    ec_steps "$1" clear-contents | sed "s/^/c$TAB/"
  )
  _ifs=$IFS; IFS=$NL; set -f
  for _line in $_list; do
    IFS=$_ifs; _k=${_line%%"$TAB"*}; _p=${_line#*"$TAB"}; _i=$((_i + 1))
    case $_k in
      d) if [ -d "$_p" ]; then _s=$(stat -c '%a:%u:%g' -- "$_p") || _s=err; else _s=absent; fi
         _e="dir$TAB$_i$TAB$_s$TAB$_p" ;;
      f) if [ -e "$_p" ]; then
           cp -p -- "$_p" "$_b/$_i" && _s=$(stat -c '%a:%u:%g' -- "$_p") || _s=err
         else _s=absent; fi
         _e="file$TAB$_i$TAB$_s$TAB$_p" ;;
      c) if [ -d "$_p" ]; then
           mkdir -- "$_b/$_i" && cp -a -- "$_p/." "$_b/$_i/" && _s=present || _s=err
         else _s=absent; fi
         _e="contents$TAB$_i$TAB$_s$TAB$_p" ;;
    esac
    if [ "$_s" = err ] || ! ec_out "$_e" >> "$_b/manifest.tmp"; then
      rm -rf -- "$_b"; IFS=$_ifs; set +f; return 1
    fi
    IFS=$NL
  done
  IFS=$_ifs; set +f
  cp -- "$1/lib.sh" "$_b/lib.sh" && ec_restore_script > "$_b/restore.sh" \
    && mv -f -- "$_b/manifest.tmp" "$_b/manifest" \
    && ec_out started > "$_b/status" || { rm -rf -- "$_b"; return 1; }
  ec_out "$_b"
}

# ec_put_back SRC DST : restore one file, atomically when the disk allows it, in place otherwise.
ec_put_back() {
  _t="$(dirname -- "$2")/.edgecert-restore.$$"
  if cp -p -- "$1" "$_t" 2>/dev/null && mv -f -- "$_t" "$2"; then return 0; fi
  rm -f -- "$_t"
  cp -p -- "$1" "$2"
}

# ec_restore BACKUP : put back everything the manifest lists. Prints one line per problem.
ec_restore() {
  [ -f "$1/manifest" ] || { ec_out "restore-failed$TAB$1${TAB}no manifest"; return 1; }
  _rc=0
  while IFS=$TAB read -r _k _i _s _p; do
    case $_k in
      file)
        if [ "$_s" = absent ]; then
          rm -f -- "$_p" || { _rc=1; ec_out "restore-failed$TAB$_p${TAB}remove"; }
        elif ec_put_back "$1/$_i" "$_p"; then :
        else _rc=1; ec_out "restore-failed$TAB$_p${TAB}copy back from $1/$_i"; fi ;;
      contents)
        if [ -d "$_p" ]; then find "$_p" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + || _rc=1; fi
        if [ "$_s" = present ]; then
          cp -a -- "$1/$_i/." "$_p/" \
            || { _rc=1; ec_out "restore-failed$TAB$_p${TAB}copy back from $1/$_i"; }
        fi ;;
    esac
  done < "$1/manifest"
  # directories last, deepest (listed last) first
  sed -n '1!G;h;$p' "$1/manifest" | while IFS=$TAB read -r _k _i _s _p; do
    [ "$_k" = dir ] || continue
    if [ "$_s" = absent ]; then
      [ -d "$_p" ] && { rmdir -- "$_p" 2>/dev/null || ec_out "left$TAB$_p${TAB}not empty"; }
    else
      _m=${_s%%:*}; _o=${_s#*:}
      chmod "$_m" -- "$_p" && chown "$_o" -- "$_p" || ec_out "restore-failed$TAB$_p${TAB}mode/owner"
    fi
  done | {
    _f=0
    while IFS= read -r _l; do ec_out "$_l"; case $_l in restore-failed*) _f=1;; esac; done
    exit $_f
  } || _rc=1
  if [ $_rc -eq 0 ]; then _st=rolled-back; else _st=rollback-failed; fi
  ec_out $_st > "$1/status"
  return $_rc
}

# ec_install STAGE : directories, then files, with owner and mode in one step (install -m -o -g)
# to a temporary name in the destination directory, then rename over the old file.
ec_install_one() { # KIND NAME MODE OWNER GROUP PATH
  _t="$(dirname -- "$6")/.edgecert-new.$(basename -- "$6")"
  if install -m "$3" -o "$4" -g "$5" -- "$STAGE/$2" "$_t" && mv -f -- "$_t" "$6"; then
    ec_out "installed$TAB$6"; return 0
  fi
  rm -f -- "$_t"; ec_out "fail${TAB}install$TAB$6${TAB}cannot install $6 (disk full or read-only?)"
  return 1
}

ec_install() { # STAGE KIND (file|config)
  _rc=0
  while IFS=$TAB read -r _n _m _o _g _p; do
    [ -n "$_p" ] || continue
    ec_install_one "$2" "$_n" "$_m" "$_o" "$_g" "$_p" || { _rc=1; break; }
  done <<EOS
$(ec_steps "$1" "$2")
EOS
  return $_rc
}

ec_dirs() {
  while IFS=$TAB read -r _m _o _g _p; do
    [ -n "$_p" ] || continue
    install -d -m "$_m" -o "$_o" -g "$_g" -- "$_p" \
      || { ec_out "fail${TAB}dirs$TAB$_p${TAB}cannot create $_p"; return 1; }
  done <<EOS
$(ec_steps "$1" dir)
EOS
}

ec_check_readable() {
  _rc=0
  while IFS=$TAB read -r _u _p; do
    [ -n "$_p" ] || continue
    ec_readable "$_u" "$_p" || _rc=1
  done <<EOS
$(ec_steps "$1" readable)
EOS
  [ $_rc -eq 0 ] \
    || ec_out "fail${TAB}readable$TAB-${TAB}some paths are not readable by the service users"
  return $_rc
}

ec_clear() {
  while IFS= read -r _p; do
    [ -n "$_p" ] && { rm -f -- "$_p" || return 1; }
  done <<EOS
$(ec_steps "$1" clear)
EOS
  while IFS= read -r _p; do
    [ -n "$_p" ] && [ -d "$_p" ] \
      && { find "$_p" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + || return 1; }
  done <<EOS
$(ec_steps "$1" clear-contents)
EOS
  return 0
}

# ec_stage_apply STAGE : drift check, backup, dirs, files, readability, config, clear.
# Survives a dropped connection (HUP/PIPE ignored); restores the backup itself on any failure.
ec_stage_apply() {
  trap '' HUP PIPE
  STAGE=$1
  [ -f "$STAGE/steps" ] || { ec_out "fail${TAB}stage$TAB$STAGE${TAB}no steps file"; return 11; }
  while IFS=$TAB read -r _sha _p; do
    [ -n "$_p" ] || continue
    _now=$(ec_sha "$_p")
    [ "$_now" = "$_sha" ] || { ec_out "drift$TAB$_p$TAB$_sha$TAB$_now"; return 10; }
  done <<EOS
$(ec_steps "$STAGE" expect)
EOS
  ec_out "step${TAB}backup"
  BACKUP=$(ec_backup "$STAGE") || {
    ec_out "fail${TAB}backup$TAB-${TAB}cannot write the backup (disk full?)"
    return 11
  }
  ec_out "backup$TAB$BACKUP"
  ec_out "step${TAB}install"
  if ec_dirs "$STAGE" && ec_install "$STAGE" file && ec_check_readable "$STAGE" \
     && { ec_out "step${TAB}config"; ec_install "$STAGE" config; } \
     && { ec_out "step${TAB}clear"; ec_clear "$STAGE" \
          || { ec_out "fail${TAB}clear$TAB-${TAB}cannot clear the runtime state"; false; }; }
  then
    ec_out installed > "$BACKUP/status"
    ec_out "step${TAB}installed"
    return 0
  fi
  ec_out "step${TAB}restore"
  if ec_restore "$BACKUP"; then ec_out "restored$TAB$BACKUP"; return 12; fi
  return 13
}

# ec_check_result ID FILE : the result word of check ID in iotedge check JSON output, or missing.
ec_check_result() {
  _j=$(tr -d '\n\r' < "$2"); _w='[[:space:]]*'; _v='"\([a-z]*\)"'
  _r=$(printf '%s' "$_j" | sed -n "s/.*\"$1\"$_w:$_w{[^}]*\"result\"$_w:$_w$_v.*/\1/p")
  [ -n "$_r" ] \
    || _r=$(printf '%s' "$_j" | sed -n "s/.*\"id\"$_w:$_w\"$1\"[^}]*\"result\"$_w:$_w$_v.*/\1/p")
  ec_out "${_r:-missing}"
}

# ec_run_kind STAGE KIND [OUTFILE] : run the KIND (apply|check) commands as root, in order;
# apply stops at the first failure; check output goes to OUTFILE. They run with root's usual
# umask 022, not the library's 077, so they create files as they would from a root shell.
ec_run_kind() {
  _rc=0; _out=${3:-}
  [ -z "$_out" ] || : > "$_out"
  while IFS= read -r _l; do
    [ -n "$_l" ] || continue
    if [ -n "$_out" ]; then
      # shellcheck disable=SC2086
      ( umask 022; IFS=$TAB; set -f; set -- $_l; "$@" ) >> "$_out" < /dev/null || _rc=$?
    else
      # shellcheck disable=SC2086
      ( umask 022; IFS=$TAB; set -f; set -- $_l; "$@" ) < /dev/null || { _rc=$?; break; }
    fi
  done <<EOS
$(ec_steps "$1" "$2")
EOS
  return $_rc
}

# ec_install_bundle DIR : what install.sh runs: copy the bundle to a private staging dir, then
# the same steps as a deploy: drift check, backup, install, config, clear, apply, check, and
# restore + re-apply on any failure. Exit: 0 done, 1 rolled back, 2 untouched, 3 restore failed.
ec_install_bundle() {
  trap '' HUP PIPE
  _stg=$(mktemp -d /tmp/edgecert-stage.XXXXXXXX) || { ec_out "no staging dir"; return 2; }
  for _f in "$1"/*; do [ -f "$_f" ] && cp -- "$_f" "$_stg/"; done
  ec_stage_apply "$_stg"; _st=$?
  case $_st in
    0) ;;
    10|11) rm -rf -- "$_stg"; ec_out "nothing was changed"; return 2 ;;
    12) rm -rf -- "$_stg"; ec_out "failed; everything was put back"; return 1 ;;
    *) rm -rf -- "$_stg"; ec_out "FAILED and the restore failed: see $BACKUP"; return 3 ;;
  esac
  ec_out "step${TAB}apply"
  _why=
  if ! ec_run_kind "$_stg" apply; then
    _why="apply failed"
  else
    ec_out "step${TAB}check"
    ec_run_kind "$_stg" check "$_stg/check.out" || :
    while IFS= read -r _id; do
      [ -n "$_id" ] || continue
      _res=$(ec_check_result "$_id" "$_stg/check.out")
      ec_out "check$TAB$_id$TAB$_res"
      case $_res in error|fatal) _why="iotedge check: $_id $_res";; esac
    done <<EOS
$(ec_steps "$_stg" check-id)
EOS
  fi
  if [ -z "$_why" ]; then
    ec_out deployed > "$BACKUP/status"; rm -rf -- "$_stg"; ec_out "deployed; backup in $BACKUP"
    return 0
  fi
  ec_out "fail${TAB}$_why"
  if ec_restore "$BACKUP" && ec_run_kind "$_stg" apply; then
    rm -rf -- "$_stg"; ec_out "$_why; everything was put back from $BACKUP"; return 1
  fi
  rm -rf -- "$_stg"; ec_out "$_why; the restore FAILED: see $BACKUP (sudo sh $BACKUP/restore.sh)"
  return 3
}

# ec_restore_script : a restore.sh for the backup dir, so a technician can roll back by hand.
ec_restore_script() {
  ec_out '#!/bin/sh'
  ec_out '# edgecert backup: run "sudo sh restore.sh" in this directory to put everything back.'
  ec_out 'set -u'
  ec_out '_d=$(cd -- "$(dirname -- "$0")" && pwd) || exit 1'
  ec_out '. "$_d/lib.sh"'
  ec_out 'ec_restore "$_d"'
}
"""
