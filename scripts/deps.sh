#!/usr/bin/env bash
# Install what mm-inspector needs: Debian packages (as root, or through sudo), the arm64
# busybox-static package (downloaded, extracted later, never installed) and a virtualenv.
# Idempotent and quiet when everything is already there.
set -euo pipefail

VENV=${VENV:-.venv}
PKGS=(
  qemu-system-x86 qemu-system-arm gdb-multiarch
  gcc make flex bison bc libelf-dev libssl-dev cpio xz-utils kmod
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
  busybox-static linux-source-6.12 linux-source-6.1 python3-venv crash
  chromium chromium-driver  # headless, for the tests that open report.html as a reader would
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_arm64=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then need_arm64=1; fi

if [ ${#missing[@]} -gt 0 ] || [ $need_arm64 = 1 ]; then
  echo "deps: installing ${missing[*]:-} (arm64 package index: $need_arm64)" >&2
  if [ $need_arm64 = 1 ]; then $SUDO dpkg --add-architecture arm64; fi
  $SUDO apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi

# The arm64 busybox-static .deb goes into the cache; initramfs.py extracts it.
CACHE=${MMI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mm-inspector}
mkdir -p "$CACHE/debs"
if ! ls "$CACHE"/debs/busybox-static_*_arm64.deb >/dev/null 2>&1; then
  echo "deps: downloading busybox-static:arm64" >&2
  (cd "$CACHE/debs" && apt-get download -qq busybox-static:arm64 2>/dev/null) || {
    $SUDO apt-get update -qq
    (cd "$CACHE/debs" && apt-get download -qq busybox-static:arm64)
  }
fi

PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/mm-inspector" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
  echo "deps: creating virtualenv $VENV" >&2
  "$PY" -m venv "$VENV"
  if ! { "$VENV/bin/pip" install -q --upgrade pip && "$VENV/bin/pip" install -q -e '.[dev]'; } \
      >"$VENV/pip.log" 2>&1; then
    tail -30 "$VENV/pip.log" >&2
    echo "deps: pip failed; full log in $VENV/pip.log" >&2
    exit 1
  fi
  touch "$VENV/.installed"
fi
