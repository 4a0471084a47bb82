#!/bin/sh
# edgecert backup: run "sudo sh restore.sh" in this folder to put the device back as it was
# before this deploy and apply that configuration again (1.1: restart iotedge). It says what it
# did. It refuses to go back over a newer deploy unless given --force; --no-apply only puts the
# files back. Exit: 0 done; 2 refused, nothing changed; 3 the restore or the apply failed.
set -u
_d=$(cd -- "$(dirname -- "$0")" && pwd) || exit 2
if [ "$(id -u)" != 0 ]; then
  exec sudo sh "$_d/restore.sh" "$@"
fi
# shellcheck source=lib.sh
. "$_d/lib.sh"
ec_restore_main "$_d" "$@"
