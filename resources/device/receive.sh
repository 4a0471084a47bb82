# shellcheck shell=sh
# edgecert receive: what a deploy runs first, as root: sh -c "$(cat receive.sh)" edgecert-receive
# ROOT TOKEN WHO [ALLOWED LINK...]. A tar archive of the staged files on stdin goes into a new
# root-only transaction folder ROOT/<time>-TOKEN/stage (created 0700 under umask 077, checked
# against its SHA256SUMS), then the transaction (lib.sh's ec_txn) starts detached.
# Prints "txn<TAB>T" once the folder exists and "started<TAB>T" at the end.
# Exit 0 started; 11 not started, nothing left behind; 12 a symbolic link on the way to ROOT.
umask 077
trap '' PIPE
TAB=$(printf '\t')
_root=$1; _tok=$2; _who=$3; shift 3
say() { printf '%s\n' "$*" 2>/dev/null || :; }
_c=$_root
while [ -n "$_c" ] && [ "$_c" != / ]; do
  if [ -L "$_c" ]; then
    _ok=
    for _a; do [ "$_a" = "$_c" ] && _ok=1; done
    [ -n "$_ok" ] || { say "link$TAB$_c$TAB$(readlink -- "$_c")"; exit 12; }
  fi
  _c=$(dirname -- "$_c")
done
# the highest folder of ROOT that does not exist yet: removed again if nothing starts
_top=; _c=$_root
while [ -n "$_c" ] && [ "$_c" != / ] && [ ! -e "$_c" ]; do _top=$_c; _c=$(dirname -- "$_c"); done
clean() {
  [ -n "${T:-}" ] && rm -rf -- "$T"
  if [ -n "$_top" ]; then
    _d=$_root
    while rmdir -- "$_d" 2>/dev/null && [ "$_d" != "$_top" ]; do _d=$(dirname -- "$_d"); done
  fi
}
# shellcheck disable=SC2174
mkdir -p -m 700 -- "$_root" 2>/dev/null \
  || { say "fail${TAB}receive$TAB-${TAB}cannot create $_root"; exit 11; }
T="$_root/$(date -u +%Y%m%dT%H%M%SZ)-$_tok"
mkdir -m 700 -- "$T" 2>/dev/null \
  || { T=; clean; say "fail${TAB}receive$TAB-${TAB}cannot create a folder in $_root (disk full?)"; exit 11; }
trap 'clean; exit 11' HUP INT TERM
say "txn$TAB$T"
if ! { mkdir -m 700 -- "$T/stage" && tar -x -o -f - -C "$T/stage" 2>/dev/null \
       && ( cd -- "$T/stage" && sha256sum -c SHA256SUMS ) >/dev/null 2>&1; }; then
  clean
  say "fail${TAB}receive$TAB-${TAB}the upload did not arrive complete (disk full or connection lost)"
  exit 11
fi
# shellcheck source=lib.sh
. "$T/stage/lib.sh"
if ec_cancelled; then clean; say "cancelled"; exit 11; fi
if ! { say "$_who" > "$T/who" && cp -- "$T/stage/lib.sh" "$T/lib.sh"; }; then
  clean; say "fail${TAB}receive$TAB-${TAB}no space in $_root"; exit 11
fi
ec_start "$T"
say "started$TAB$T"
exit 0
