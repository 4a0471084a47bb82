#!/bin/sh
# edgecert bundle installer: run on the device as root:  sudo sh install.sh
# It runs the same transaction as a deploy (lock, checks, backup, install, apply, check, roll
# back on failure), detached from this terminal, and prints its journal as it goes; Ctrl-C asks
# it to roll back. Exit status: 0 done; 1 failed and everything was put back; 2 nothing was
# changed (another deploy holds the device, the device differs from the one this bundle was
# made for, a symbolic link on a path, or no space for a backup); 3 failed and the restore
# failed (the output names the backup folder and its restore.sh).
set -u
here=$(cd -- "$(dirname -- "$0")" && pwd) || exit 2
if [ "$(id -u)" != 0 ]; then
  exec sudo sh "$here/install.sh" "$@"
fi
# shellcheck source=lib.sh
. "$here/lib.sh"
ec_install_bundle "$here"
