#!/usr/bin/env bash
# Install what mm-inspector needs: `mm-inspector deps` (Debian packages as root or through
# sudo, the arm64 busybox-static package downloaded into the cache), then the virtualenv.
# Idempotent and quiet when everything is already there.
set -euo pipefail

VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
# The Debian packages and the arm64 busybox: the package's own `mm-inspector deps`, run with the
# system Python from this checkout (it needs only the standard library), before the virtualenv.
"$PY" -m inspector.deps

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
