# shellcheck shell=sh
# edgecert device library: the one implementation of state, backup, install, apply, check,
# restore and the device-side transaction. deploy (over SSH, EFLOW or this computer), the export
# bundle's install.sh and every backup's restore.sh run these functions.
#
# POSIX sh and coreutils only (install, stat, sha256sum, readlink, find; flock and setsid when
# present, with fallbacks), so it runs on every IoT Edge Linux device, CBL-Mariner included.
#
# It reads a *steps file* (core.deploy.steps.render_steps): one tab-separated line per step,
# paths last. It never builds a command line from text: every value reaches a command as a
# quoted positional argument.
#
# The transaction folder T (<backup root>/<time>-<id>, root only) holds:
#   stage/    the uploaded files (removed on every path)
#   journal   one line per step: STATE<TAB>TIME<TAB>DETAIL...
#             started, backing-up, backed-up, installing, installed, applying, applied,
#             checking, checked, then deployed | rolling-back, rolled-back | rollback-failed,
#             or refused (nothing was touched: locked, link, drift, space, cancelled)
#   manifest  the backup: what each path was (type, mode, owner, link target) and its copy
#   status    started | installed | deployed | rolled-back | rollback-failed
#   cancel    created by edgecert to ask the transaction to stop and roll back
#   out, failure, check.out   what the steps printed, why it failed, iotedge check's output

umask 077
TAB=$(printf '\t')
NL='
'
ec_out() { printf '%s\n' "$*" 2>/dev/null || :; }
ec_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

ec_sha() {
  if [ -f "$1" ] && [ ! -L "$1" ]; then
    set -- "$(sha256sum < "$1")"; ec_out "${1%% *}"
  else ec_out absent; fi
}

# ec_fp PATH : what is at PATH: absent | file:SHA256 | dir | link:TARGET | other
ec_fp() {
  if [ -L "$1" ]; then ec_out "link:$(readlink -- "$1")"
  elif [ -f "$1" ]; then ec_out "file:$(ec_sha "$1")"
  elif [ -d "$1" ]; then ec_out dir
  elif [ -e "$1" ]; then ec_out other
  else ec_out absent; fi
}

# ec_stat PATH -> "file MODE UID GID USER GROUP SIZE SHA256" | "dir MODE UID GID USER GROUP"
#                | "link UID GID USER GROUP TARGET" | "other" | "absent"
ec_stat() {
  if [ -L "$1" ]; then
    ec_out "link $(stat -c '%u %g %U %G' -- "$1") $(readlink -- "$1")"
  elif [ -f "$1" ]; then
    set -- "$1" "$(stat -c '%a %u %g %U %G %s' -- "$1")"
    ec_out "file $2 $(ec_sha "$1")"
  elif [ -d "$1" ]; then
    ec_out "dir $(stat -c '%a %u %g %U %G' -- "$1")"
  elif [ -e "$1" ]; then
    ec_out other
  else
    ec_out absent
  fi
}

# ec_last T : the last journal line of transaction folder T (empty when there is none)
ec_last() { [ -f "$1/journal" ] && tail -n 1 -- "$1/journal" 2>/dev/null; }

# ec_live T : whether the transaction process of T still runs
ec_live() {
  [ -f "$1/pid" ] || return 1
  _lp=$(cat -- "$1/pid" 2>/dev/null) || return 1
  [ -n "$_lp" ] && kill -0 "$_lp" 2>/dev/null
}

# ec_sweep ROOT [OWN] : remove what ended transactions left: their staging folders at once,
# folders of transactions that touched nothing (no manifest) when they are no longer running.
# Only while no transaction holds the lock (never waits for it).
ec_sweep() {
  [ -d "$1" ] && [ ! -L "$1" ] || return 0
  if command -v flock >/dev/null 2>&1 && [ -z "${2:-}" ]; then
    (
      flock -n 8 || exit 0
      ec_sweep_locked "$1" ""
    ) 8>>"$1/.lock"
  else
    ec_sweep_locked "$1" "${2:-}"
  fi
}

ec_sweep_locked() {
  for _t in "$1"/*/; do
    _t=${_t%/}
    [ -d "$_t" ] && [ "$_t" != "${2:-}" ] || continue
    ec_live "$_t" && continue
    if [ ! -f "$_t/pid" ] && [ -n "$(find "$_t" -maxdepth 0 -mmin -10 2>/dev/null)" ]; then
      continue # an upload may still be unpacking there
    fi
    [ -d "$_t/stage" ] && rm -rf -- "$_t/stage"
    if [ ! -f "$_t/manifest" ]; then
      case $(ec_last "$_t" | cut -f1) in
        refused) [ -n "$(find "$_t" -maxdepth 0 -mmin -1440 2>/dev/null)" ] || rm -rf -- "$_t" ;;
        *) rm -rf -- "$_t" ;;
      esac
    fi
  done
  find "$1" -maxdepth 1 -name '.cancel-*' -mmin +1440 -exec rm -f {} + 2>/dev/null
  return 0
}

# ec_state BACKUP_ROOT PATH... : version line, one "stat<TAB>PATH<TAB>..." line per path, one
# "backup<TAB>DIR<TAB>STATUS<TAB>LIVE<TAB>LAST JOURNAL LINE" line per transaction folder.
ec_state() {
  _root=$1; shift
  ec_sweep "$_root"
  v=
  if command -v iotedge >/dev/null 2>&1; then v=$(iotedge version 2>&1 | head -n 1) || v=; fi
  ec_out "version$TAB$v"
  for p in "$@"; do ec_out "stat$TAB$p$TAB$(ec_stat "$p")"; done
  if [ -d "$_root" ] && [ ! -L "$_root" ]; then
    for b in "$_root"/*/; do
      b=${b%/}
      [ -f "$b/manifest" ] || [ -f "$b/journal" ] || continue
      s=$(cat -- "$b/status" 2>/dev/null) || s=
      [ -n "$s" ] || s=$(ec_last "$b" | cut -f1)
      _l=ended
      case $(ec_last "$b" | cut -f1) in
        deployed|rolled-back|rollback-failed|refused) ;;
        *) ec_live "$b" && _l=live ;;
      esac
      ec_out "backup$TAB$b$TAB${s:-unknown}$TAB$_l$TAB$(ec_last "$b")"
    done
  fi
}

# ec_readable USER PATH : the iotedge check rule (check_readable): PATH and every parent up to /
# must be readable by USER as owner, by primary group (supplementary groups do not count) or by
# world; r for files, r+x for directories. Prints one "unreadable" line per failing component.
ec_readable() {
  _u=$1; _p=$2; _rc=0
  _uid=$(id -u -- "$_u" 2>/dev/null) && _gid=$(id -g -- "$_u" 2>/dev/null) || {
    ec_out "unreadable$TAB$_u$TAB-$TAB$_p${TAB}no such user"; return 1; }
  while :; do
    if [ ! -e "$_p" ]; then
      ec_out "unreadable$TAB$_u$TAB$_uid:$_gid$TAB$_p${TAB}missing"; _rc=1
    else
      # shellcheck disable=SC2046
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

# ec_paths STAGE : every device path the steps touch, one per line
ec_paths() {
  ec_steps "$1" dir | cut -f4
  ec_steps "$1" file | cut -f5
  ec_steps "$1" config | cut -f5
  ec_steps "$1" clear
  ec_steps "$1" clear-contents
}

# ec_allowed STAGE PATH : whether the user allowed the symbolic link PATH (allow-link lines)
ec_allowed() {
  while IFS= read -r _a; do
    [ -n "$_a" ] && [ "$_a" = "$2" ] && return 0
  done <<EOS
$(ec_steps "$1" allow-link)
EOS
  return 1
}

# ec_link_free STAGE PATH : PATH and every parent up to / must not be a symbolic link unless
# allowed. Sets _why and fails on the first one that is.
ec_link_free() {
  _c=$2
  while [ -n "$_c" ] && [ "$_c" != / ]; do
    if [ -L "$_c" ] && ! ec_allowed "$1" "$_c"; then
      _why="$_c is a symbolic link to $(readlink -- "$_c")"
      ec_out "link$TAB$_c$TAB$(readlink -- "$_c")"
      return 1
    fi
    _c=$(dirname -- "$_c")
  done
  return 0
}

# ec_links STAGE T : refuse symbolic links (not allowed) on every path, the backup root and T,
# and paths where a file goes that are directories or special files.
ec_links() {
  _ifs=$IFS; IFS=$NL; set -f
  for _p in $(ec_paths "$1") "$2"; do
    IFS=$_ifs
    ec_link_free "$1" "$_p" || { set +f; return 1; }
  done
  set +f; IFS=$_ifs
  while IFS=$TAB read -r _n _m _o _g _p; do
    [ -n "$_p" ] || continue
    if { [ -d "$_p" ] || [ -e "$_p" ]; } && [ ! -f "$_p" ] && [ ! -L "$_p" ]; then
      _why="$_p is not a regular file ($(stat -c %F -- "$_p"))"
      ec_out "other$TAB$_p"; return 1
    fi
  done <<EOS
$(ec_steps "$1" file; ec_steps "$1" config)
EOS
  return 0
}

# ec_drift STAGE : every path the plan replaces must be what the preview saw (expect lines)
ec_drift() {
  while IFS=$TAB read -r _fp _p; do
    [ -n "$_p" ] || continue
    _now=$(ec_fp "$_p")
    if [ "$_now" != "$_fp" ]; then
      ec_out "drift$TAB$_p$TAB$_fp$TAB$_now"
      _why="$_p changed since the preview (then ${_fp%%:*}, now ${_now%%:*})"
      return 1
    fi
  done <<EOS
$(ec_steps "$1" expect)
EOS
  return 0
}

# ec_meta PATH : MODE:UID:GID
ec_meta() { stat -c '%a:%u:%g' -- "$1"; }

# ec_backup STAGE B : the manifest and copies in folder B (exists, root only). Each entry:
# KIND<TAB>N<TAB>TYPE<TAB>META<TAB>PATH, KIND dir|file|contents, TYPE dir|file|link|absent|
# present, META MODE:UID:GID (a link's UID:GID; its target is in B/N.link).
ec_backup() {
  {
    ec_out "edgecert-backup${TAB}2"
    ec_out "created$TAB$(ec_now)"
    sed -n "s/^release$TAB/release$TAB/p" "$1/steps"
  } > "$2/manifest.tmp" || return 1
  _i=0
  _list=$(
    ec_steps "$1" dir | cut -f4 | sed "s/^/d$TAB/"
    ec_steps "$1" file | cut -f5 | sed "s/^/f$TAB/"
    ec_steps "$1" config | cut -f5 | sed "s/^/f$TAB/"
    ec_steps "$1" clear | sed "s/^/f$TAB/"
    ec_steps "$1" clear-contents | sed "s/^/c$TAB/"
  )
  _ifs=$IFS; IFS=$NL; set -f
  for _line in $_list; do
    IFS=$_ifs; _k=${_line%%"$TAB"*}; _p=${_line#*"$TAB"}; _i=$((_i + 1)); _ok=1
    if [ -L "$_p" ]; then
      _ty='link'; _s=$(stat -c '%u:%g' -- "$_p") && readlink -- "$_p" > "$2/$_i.link" || _ok=
    elif [ ! -e "$_p" ]; then _ty=absent; _s=-
    else
      case $_k in
        d) _ty='dir'; _s=$(ec_meta "$_p") || _ok= ;;
        f) _ty='file'; cp -p -- "$_p" "$2/$_i" && _s=$(ec_meta "$_p") || _ok= ;;
        c) _ty=present; _s=-
           mkdir -- "$2/$_i" && cp -a -- "$_p/." "$2/$_i/" || _ok= ;;
      esac
    fi
    case $_k in d) _e='dir' ;; f) _e='file' ;; *) _e=contents ;; esac
    if [ -z "$_ok" ] || ! ec_out "$_e$TAB$_i$TAB$_ty$TAB$_s$TAB$_p" >> "$2/manifest.tmp"; then
      IFS=$_ifs; set +f; return 1
    fi
    IFS=$NL
  done
  IFS=$_ifs; set +f
  cp -- "$1/lib.sh" "$2/lib.sh" && cp -- "$1/steps" "$2/steps" \
    && cp -- "$1/restore.sh" "$2/restore.sh" \
    && mv -f -- "$2/manifest.tmp" "$2/manifest" \
    && ec_out started > "$2/status"
}

# ec_put_back SRC DST META : restore one file (mode and owner exactly), atomically when the
# disk allows it, in place otherwise.
ec_put_back() {
  _t="$(dirname -- "$2")/.edgecert-restore.$$"
  rm -f -- "$_t"
  if cp -p -- "$1" "$_t" 2>/dev/null && chown "${3#*:}" -- "$_t" && chmod "${3%%:*}" -- "$_t" \
     && mv -f -- "$_t" "$2"; then return 0; fi
  rm -f -- "$_t"
  [ -L "$2" ] && rm -f -- "$2"
  cp -p -- "$1" "$2" && chown "${3#*:}" -- "$2" && chmod "${3%%:*}" -- "$2"
}

# ec_restore B : put back everything the manifest of B lists: files, links as links, modes and
# owners exactly. Prints "restored"/"removed" per path and one line per problem.
ec_restore() {
  [ -f "$1/manifest" ] || { ec_out "restore-failed$TAB$1${TAB}no manifest"; return 1; }
  _rc=0
  while IFS=$TAB read -r _k _i _ty _s _p; do
    case $_k in
      file)
        case $_ty in
          absent)
            if [ -e "$_p" ] || [ -L "$_p" ]; then
              rm -f -- "$_p" && ec_out "removed$TAB$_p" \
                || { _rc=1; ec_out "restore-failed$TAB$_p${TAB}remove"; }
            fi ;;
          file)
            if ec_put_back "$1/$_i" "$_p" "$_s"; then ec_out "restored$TAB$_p"
            else _rc=1; ec_out "restore-failed$TAB$_p${TAB}copy back from $1/$_i"; fi ;;
          link)
            _t="$(dirname -- "$_p")/.edgecert-restore.$$"
            rm -f -- "$_t"
            if ln -s -- "$(cat -- "$1/$_i.link")" "$_t" && chown -h "$_s" -- "$_t" \
               && mv -f -- "$_t" "$_p"; then ec_out "restored$TAB$_p"
            else rm -f -- "$_t"; _rc=1; ec_out "restore-failed$TAB$_p${TAB}link"; fi ;;
        esac ;;
      contents)
        if [ -d "$_p" ] && [ ! -L "$_p" ]; then
          find "$_p" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + || _rc=1
        fi
        if [ "$_ty" = present ]; then
          cp -a -- "$1/$_i/." "$_p/" && ec_out "restored$TAB$_p" \
            || { _rc=1; ec_out "restore-failed$TAB$_p${TAB}copy back from $1/$_i"; }
        fi ;;
    esac
  done < "$1/manifest"
  # directories last, deepest (listed last) first
  sed -n '1!G;h;$p' "$1/manifest" | while IFS=$TAB read -r _k _i _ty _s _p; do
    [ "$_k" = dir ] || continue
    case $_ty in
      absent)
        if [ -d "$_p" ] && [ ! -L "$_p" ]; then
          rmdir -- "$_p" 2>/dev/null && ec_out "removed$TAB$_p" || ec_out "left$TAB$_p${TAB}not empty"
        fi ;;
      dir)
        if [ -L "$_p" ] || [ ! -d "$_p" ]; then
          ec_out "restore-failed$TAB$_p${TAB}no longer a directory"
        elif chown "${_s#*:}" -- "$_p" && chmod "${_s%%:*}" -- "$_p"; then :
        else ec_out "restore-failed$TAB$_p${TAB}mode/owner"; fi ;;
    esac
  done | {
    _f=0
    while IFS= read -r _l; do ec_out "$_l"; case $_l in restore-failed*) _f=1;; esac; done
    exit $_f
  } || _rc=1
  if [ $_rc -eq 0 ]; then _st=rolled-back; else _st=rollback-failed; fi
  ec_out $_st > "$1/status"
  return $_rc
}

# ec_install_one NAME MODE OWNER GROUP PATH : owner and mode in one step (install -m -o -g) to
# a temporary name in the destination folder, then renamed over the old file (a link there is
# replaced, never followed).
ec_install_one() {
  _t="$(dirname -- "$5")/.edgecert-new.$(basename -- "$5")"
  rm -f -- "$_t"
  if install -m "$2" -o "$3" -g "$4" -- "$STAGE/$1" "$_t" && mv -f -- "$_t" "$5"; then
    ec_out "installed$TAB$5"; return 0
  fi
  rm -f -- "$_t"; ec_out "fail${TAB}install$TAB$5${TAB}cannot install $5 (disk full or read-only?)"
  _why="cannot install $5 (disk full or read-only?)"
  return 1
}

ec_install() { # STAGE KIND (file|config)
  _rc=0
  while IFS=$TAB read -r _n _m _o _g _p; do
    [ -n "$_p" ] || continue
    ec_install_one "$_n" "$_m" "$_o" "$_g" "$_p" || { _rc=1; break; }
  done <<EOS
$(ec_steps "$1" "$2")
EOS
  return $_rc
}

# ec_dirs STAGE : create the folders with owner and mode; an allowed link keeps its target's
# owner and mode (nothing outside the target folders changes).
ec_dirs() {
  while IFS=$TAB read -r _m _o _g _p; do
    [ -n "$_p" ] || continue
    if [ -L "$_p" ]; then
      [ -d "$_p" ] && continue
      ec_out "fail${TAB}dirs$TAB$_p${TAB}$_p is a link to a missing folder"
      _why="$_p is a link to a missing folder"; return 1
    fi
    install -d -m "$_m" -o "$_o" -g "$_g" -- "$_p" \
      || { ec_out "fail${TAB}dirs$TAB$_p${TAB}cannot create $_p"; _why="cannot create $_p"
           return 1; }
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
  [ $_rc -eq 0 ] || {
    ec_out "fail${TAB}readable$TAB-${TAB}some paths are not readable by the service users"
    _why="some paths are not readable by the service users: $(grep "^unreadable$TAB" \
      "$T/out" 2>/dev/null | cut -f2,4,5 | tr '\t\n' ' ;' | cut -c1-600)"
  }
  return $_rc
}

ec_clear() {
  while IFS= read -r _p; do
    [ -n "$_p" ] && { rm -f -- "$_p" || return 1; }
  done <<EOS
$(ec_steps "$1" clear)
EOS
  while IFS= read -r _p; do
    [ -n "$_p" ] && [ -d "$_p" ] && [ ! -L "$_p" ] \
      && { find "$_p" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + || return 1; }
  done <<EOS
$(ec_steps "$1" clear-contents)
EOS
  return 0
}

# ec_check_result ID FILE : the result word of check ID in iotedge check JSON output, or missing.
ec_check_result() {
  _j=$(tr -d '\n\r' < "$2"); _w='[[:space:]]*'; _v='"\([a-z]*\)"'
  _r=$(printf '%s' "$_j" | sed -n "s/.*\"$1\"$_w:$_w{[^}]*\"result\"$_w:$_w$_v.*/\1/p")
  [ -n "$_r" ] \
    || _r=$(printf '%s' "$_j" | sed -n "s/.*\"id\"$_w:$_w\"$1\"[^}]*\"result\"$_w:$_w$_v.*/\1/p")
  ec_out "${_r:-missing}"
}

# ec_run_kind STAGE KIND OUTFILE : run the KIND (apply|check) commands as root, in order, each
# within a time limit, output to OUTFILE; apply stops at the first failure (and names it in
# _why). They run with root's usual umask 022, not the library's 077.
ec_run_kind() {
  _rc=0; _out=$3
  : > "$_out"
  _lim=
  command -v timeout >/dev/null 2>&1 && _lim=$(ec_steps "$1" time-limit | head -n 1)
  while IFS= read -r _l; do
    [ -n "$_l" ] || continue
    # shellcheck disable=SC2086
    ( umask 022; IFS=$TAB; set -f; set -- $_l
      if [ -n "$_lim" ]; then exec timeout "$_lim" "$@"; else exec "$@"; fi
    ) >> "$_out" 2>&1 < /dev/null 9>&- || {
      _rc=$?
      if [ "$2" = apply ]; then
        _why="$(printf '%s' "$_l" | tr '\t' ' ') exited with $_rc: $(tail -c 800 "$_out")"
        [ $_rc -eq 124 ] && [ -n "$_lim" ] && _why="$(printf '%s' "$_l" | tr '\t' ' ') did not \
finish within $_lim s"
        break
      fi
    }
  done <<EOS
$(ec_steps "$1" "$2")
EOS
  return $_rc
}

# ---- the transaction ----------------------------------------------------------------------------

# ec_j STATE [DETAIL...] : one journal line
ec_j() {
  _st=$1; shift
  { printf '%s\t%s' "$_st" "$(ec_now)"; for _f; do printf '\t%s' "$_f"; done; printf '\n'; } \
    >> "$T/journal" 2>/dev/null || :
}

# ec_end STATE [DETAIL...] : the transaction's last journal line, written by ec_txn once the
# staging folder is gone (so whoever reads it sees the final device state)
ec_end() {
  _st=$1; shift
  _endline=$(printf '%s\t%s' "$_st" "$(ec_now)"; for _f; do printf '\t%s' "$_f"; done)
}

# a cancel: T/cancel (install.sh's Ctrl-C) or ROOT/.cancel-ID (edgecert; it may come before T
# exists)
ec_cancelled() { [ -e "$T/cancel" ] || [ -e "${T%/*}/.cancel-${T##*-}" ]; }

# ec_lock ROOT SECONDS : one transaction at a time per device (flock on ROOT/.lock, or a mkdir
# lock ROOT/.lock.d where flock is missing). On refusal _why names the holder and since when.
ec_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>>"$1/.lock" || { _why="cannot open the lock file $1/.lock"; return 1; }
    flock -w "$2" 9 || { ec_holder "$1"; return 1; }
  else
    _w=0
    until mkdir -- "$1/.lock.d" 2>/dev/null; do
      _hp=$(cat -- "$1/.lock.d/pid" 2>/dev/null) || _hp=
      if [ -n "$_hp" ] && ! kill -0 "$_hp" 2>/dev/null; then rm -rf -- "$1/.lock.d"; continue; fi
      [ "$_w" -ge "$2" ] && { ec_holder "$1"; return 1; }
      sleep 1; _w=$((_w + 1))
    done
    ec_out "$$" > "$1/.lock.d/pid"
    _mklock="$1/.lock.d"
    trap 'rm -rf -- "$_mklock"' EXIT
  fi
  { printf '%s\t%s\t%s\n' "${T##*/}" "$(cat -- "$T/who" 2>/dev/null)" "$(ec_now)"; } \
    > "$1/.holder" 2>/dev/null
  return 0
}

ec_holder() {
  _h=$(cat -- "$1/.holder" 2>/dev/null) || _h=
  _hid=$(printf '%s' "$_h" | cut -f1); _hwho=$(printf '%s' "$_h" | cut -f2)
  _hsince=$(printf '%s' "$_h" | cut -f3)
  _why="another deploy holds the device lock: ${_hwho:-unknown} (transaction ${_hid:-?}) since ${_hsince:-?}"
}

ec_unlock() {
  rm -f -- "$_root/.holder"
  if [ -n "${_mklock:-}" ]; then rm -rf -- "$_mklock"; _mklock=; fi
  exec 9>&-
}

# ec_refuse KIND : nothing on the device was touched; keep only the journal
ec_refuse() {
  find "$T" -mindepth 1 -maxdepth 1 ! -name journal ! -name who ! -name pid ! -name out \
    -exec rm -rf -- {} + 2>/dev/null
  printf '%s\n' "$_why" > "$T/failure"
  ec_end refused "$1" "$(printf '%s' "$_why" | tr '\t\n' '  ')"
}

# ec_rollback WHY APPLIED : put the backup back; re-apply the old config when apply had run
ec_rollback() {
  printf '%s\n' "$1" > "$T/failure"
  ec_j rolling-back "$(printf '%s' "$1" | tr '\t\n' '  ' | cut -c1-300)"
  if ec_restore "$T"; then
    if [ "$2" = 1 ] && ! ec_run_kind "$T" apply "$T/reapply.out"; then
      ec_out "reapply-failed$TAB$(tail -c 400 "$T/reapply.out" | tr '\t\n' '  ')"
      ec_out rollback-failed > "$T/status"
      ec_end rollback-failed "re-applying the previous configuration failed"
      return 3
    fi
    ec_end rolled-back
    return 1
  fi
  ec_end rollback-failed "some files could not be put back"
  return 3
}

# ec_txn T : the whole change, run detached from the connection (ec_start): lock, checks,
# backup, install, apply, check; on any failure or a cancel it restores the backup and
# re-applies the previous configuration. Exit: 0 deployed, 1 rolled back, 2 refused (nothing
# touched), 3 rollback failed. Hangups and interrupts are ignored: it always ends.
ec_txn() {
  trap '' HUP PIPE INT TERM
  T=$1; STAGE=$T/stage; _root=${T%/*}; _why=
  ec_out "$$" > "$T/pid"
  ec_j started "$(cat -- "$T/who" 2>/dev/null)"
  _endline=
  ec_txn_body; _rc=$?
  rm -rf -- "$STAGE"
  [ -n "$_endline" ] || _endline=$(printf 'rollback-failed\t%s\tinternal error' "$(ec_now)")
  printf '%s\n' "$_endline" >> "$T/journal"
  ec_unlock
  return $_rc
}

ec_txn_body() {
  _wait=$(ec_steps "$STAGE" lock-wait | head -n 1)
  ec_j waiting
  ec_lock "$_root" "${_wait:-10}" || { ec_refuse locked; return 2; }
  ec_sweep "$_root" "$T"
  ec_cancelled && { _why="cancelled before the install"; ec_refuse cancelled; return 2; }
  ec_links "$STAGE" "$T" || { ec_refuse link; return 2; }
  ec_drift "$STAGE" || { ec_refuse drift; return 2; }
  ec_j backing-up
  ec_backup "$STAGE" "$T" || {
    _why="cannot write the backup in $_root (disk full?)"; ec_refuse space; return 2; }
  ec_j backed-up "$T"
  ec_cancelled && { _why="cancelled before the install"; ec_refuse cancelled; return 2; }
  ec_j installing
  if ! { ec_dirs "$STAGE" && ec_install "$STAGE" file && ec_check_readable "$STAGE" \
         && ec_install "$STAGE" config \
         && { ec_clear "$STAGE" || { _why="cannot clear the runtime state"; false; }; }; }; then
    ec_rollback "$_why" 0; return $?
  fi
  ec_out installed > "$T/status"
  ec_j installed
  ec_cancelled && { ec_rollback "cancelled by the user" 0; return $?; }
  ec_j applying
  if ! ec_run_kind "$STAGE" apply "$T/apply.out"; then ec_rollback "$_why" 1; return $?; fi
  ec_j applied
  ec_cancelled && { ec_rollback "cancelled by the user" 1; return $?; }
  ec_j checking
  ec_run_kind "$STAGE" check "$T/check.out" || :
  _bad=
  while IFS= read -r _id; do
    [ -n "$_id" ] || continue
    _res=$(ec_check_result "$_id" "$T/check.out")
    ec_out "check$TAB$_id$TAB$_res"
    case $_res in error|fatal) _bad="$_bad $_id ($_res)";; esac
  done <<EOS
$(ec_steps "$STAGE" check-id)
EOS
  if [ -n "$_bad" ]; then ec_rollback "iotedge check failed:$_bad" 1; return $?; fi
  ec_j checked
  ec_cancelled && { ec_rollback "cancelled by the user" 1; return $?; }
  ec_out deployed > "$T/status"
  ec_end deployed
  return 0
}

# ec_start T : start ec_txn for T detached from this session (own session, no terminal, stdin
# from /dev/null, output to T/out), so a dropped connection or a killed edgecert cannot stop it.
ec_start() {
  if command -v setsid >/dev/null 2>&1; then
    setsid nohup sh -c '. "$1/lib.sh" && ec_txn "$1"' ec-txn "$1" < /dev/null > "$1/out" 2>&1 &
  else
    nohup sh -c '. "$1/lib.sh" && ec_txn "$1"' ec-txn "$1" < /dev/null > "$1/out" 2>&1 &
  fi
}

# ec_follow T : print the journal of T as it grows until the transaction ends; exit status as
# ec_txn. An interrupt asks the transaction to roll back (cancel file) and keeps following.
ec_follow() {
  trap ': > "$1/cancel"; ec_out "cancelling: the device rolls back at the next step"' INT TERM
  trap '' HUP PIPE
  _seen=0
  while :; do
    _n=0
    [ -f "$1/journal" ] && { _n=$(wc -l < "$1/journal") || _n=0; }
    if [ "$_n" -gt "$_seen" ]; then
      sed -n "$((_seen + 1)),${_n}p" "$1/journal" | while IFS=$TAB read -r _s _t _d; do
        ec_out "$_t $_s${_d:+: $(printf '%s' "$_d" | tr '\t' ' ')}"
      done
      _seen=$_n
    fi
    case $(ec_last "$1" | cut -f1) in
      deployed) return 0 ;;
      rolled-back) return 1 ;;
      refused) return 2 ;;
      rollback-failed) return 3 ;;
    esac
    if [ "$_n" -eq 0 ] && [ ! -d "$1" ]; then return 2; fi
    sleep 0.2 2>/dev/null || sleep 1
  done
}

# ec_install_bundle DIR : what install.sh runs: the bundle's files into a new root-only
# transaction folder, then the same transaction as a deploy, followed to its end.
# Exit: 0 done, 1 rolled back, 2 nothing was changed, 3 the restore failed.
ec_install_bundle() {
  _root=$(sed -n "s/^backup-root$TAB//p" "$1/steps")
  _root=${_root:-/var/backups/edgecert}
  # shellcheck disable=SC2174
  mkdir -p -m 700 -- "$_root" || { ec_out "cannot create $_root"; return 2; }
  T=$(mktemp -d "$_root/$(date -u +%Y%m%dT%H%M%SZ)-XXXXXX") || { ec_out "no space"; return 2; }
  mkdir -m 700 -- "$T/stage" || { rm -rf -- "$T"; ec_out "no space"; return 2; }
  for _f in "$1"/*; do
    [ -f "$_f" ] && { cp -- "$_f" "$T/stage/" || { rm -rf -- "$T"; ec_out "no space"; return 2; }; }
  done
  # a bundle pushed into the EFLOW VM's /tmp by install.ps1 is not left there (keys, config)
  case $1 in /tmp/edgecert-bundle.*) rm -rf -- "$1" ;; esac
  ec_out "install.sh by ${SUDO_USER:-root} on $(hostname 2>/dev/null || ec_out device)" > "$T/who"
  cp -- "$T/stage/lib.sh" "$T/lib.sh" || { rm -rf -- "$T"; return 2; }
  ec_out "transaction $T"
  ec_start "$T"
  ec_follow "$T"; _rc=$?
  grep "^check$TAB" "$T/out" 2>/dev/null
  case $_rc in
    0) ec_out "deployed; backup in $T (undo: sudo sh $T/restore.sh)" ;;
    1) ec_out "failed: $(cat -- "$T/failure" 2>/dev/null); everything was put back from $T" ;;
    2) ec_out "nothing was changed: $(cat -- "$T/failure" 2>/dev/null)" ;;
    *) ec_out "FAILED and the restore FAILED: $(cat -- "$T/failure" 2>/dev/null)"
       grep -e "^restore-failed$TAB" -e "^reapply-failed$TAB" "$T/out" 2>/dev/null | tr '\t' ' '
       ec_out "see $T (sudo sh $T/restore.sh)" ;;
  esac
  return $_rc
}

# ec_restore_main B [--force] [--no-apply] : what a backup's restore.sh runs. Refuses (exit 2)
# to roll back over a newer deploy unless --force; restores, re-applies the configuration the
# backup holds (its steps' apply commands), says what it did. Exit 0 done, 2 refused, 3 failed.
ec_restore_main() {
  T=$1; shift
  _force=; _apply=1
  for _a; do
    case $_a in
      --force) _force=1 ;;
      --no-apply) _apply= ;;
      *) ec_out "usage: sh restore.sh [--force] [--no-apply]"; return 2 ;;
    esac
  done
  _root=${T%/*}; _why=
  [ -f "$T/manifest" ] || { ec_out "no manifest in $T: nothing to restore"; return 2; }
  if [ -z "$_force" ]; then
    _newer=; _after=
    for _b in "$_root"/*/; do
      _b=${_b%/}
      if [ "$_b" = "$T" ]; then _after=1; continue; fi
      [ -n "$_after" ] && [ -f "$_b/manifest" ] || continue
      case $(cat -- "$_b/status" 2>/dev/null) in
        deployed|installed|started) _newer="$_newer ${_b##*/}" ;;
      esac
    done
    if [ -n "$_newer" ]; then
      ec_out "refused: a newer deploy changed the device after this backup:$_newer"
      ec_out "restore that backup first, or run again with --force to go back to this one"
      return 2
    fi
  fi
  ec_lock "$_root" 10 || { ec_out "refused: $_why"; return 2; }
  ec_out "restoring the device from $T"
  if ! ec_restore "$T" | tr '\t' ' '; then :; fi
  if [ "$(cat -- "$T/status" 2>/dev/null)" != rolled-back ]; then
    ec_unlock; ec_out "the restore FAILED for the paths above; the backup copies are in $T"
    return 3
  fi
  if [ -n "$_apply" ] && [ -f "$T/steps" ]; then
    ec_steps "$T" apply | tr '\t' ' ' | sed 's/^/applying: /'
    if ! ec_run_kind "$T" apply "$T/reapply.out"; then
      tail -c 800 "$T/reapply.out"
      ec_out rollback-failed > "$T/status"; ec_unlock
      ec_out "the files are back, but applying the previous configuration FAILED: $_why"
      return 3
    fi
    ec_out "applied the previous configuration"
  fi
  ec_unlock
  ec_out "done: the device is as it was before the deploy of ${T##*/}"
  return 0
}
