#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine with python3:
#   bash scripts/dev.sh gui    set everything up, then start the wizard
#   bash scripts/dev.sh test   set everything up, then run ruff, mypy and the whole test suite
#   bash scripts/dev.sh cli …  set everything up, then run the edgecert CLI
# System packages are installed with apt-get when missing and we are root (or have sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="${EDGECERT_VENV:-$ROOT/.venv}"

# What the wizard needs from the system (Qt's xcb/offscreen plugins) and what the tests need
# (a real sshd and sudo for the loopback device, openssl for chain checks, util-linux for unshare).
GUI_DEBS=(python3-venv libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
          libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
          libxcb-render-util0 libxcb-image0)
TEST_DEBS=(openssh-server openssh-client sudo openssl util-linux iproute2 xvfb xdotool binutils nsis
           msitools shellcheck)

need_debs() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "missing system packages: ${missing[*]} (install them as root)" >&2; return 1; fi
  fi
  echo "installing system packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.edgecert-stamp" want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
  fi
}

cmd="${1:-}"; shift || true
case "$cmd" in
  gui)
    command -v dpkg-query >/dev/null && need_debs "${GUI_DEBS[@]}"
    setup_venv
    exec "$VENV/bin/edgecert-gui" "$@" ;;
  cli)
    command -v dpkg-query >/dev/null && need_debs python3-venv
    setup_venv
    exec "$VENV/bin/edgecert" "$@" ;;
  test)
    command -v dpkg-query >/dev/null && need_debs "${GUI_DEBS[@]}" "${TEST_DEBS[@]}"
    setup_venv
    export QT_QPA_PLATFORM=offscreen
    echo "== ruff"; "$VENV/bin/ruff" check .
    echo "== mypy"; "$VENV/bin/mypy"
    echo "== shellcheck"; (cd resources/device && shellcheck -s sh -S warning -x lib.sh receive.sh \
      install.sh restore.sh)
    # -m "": the whole suite, slow tests included (a plain pytest deselects them)
    echo "== pytest"; exec "$VENV/bin/pytest" -m "" "$@" ;;
  *)
    echo "usage: bash scripts/dev.sh gui|test|cli [args]" >&2; exit 2 ;;
esac
