#!/usr/bin/env bash
# Install everything the platform and its tests need, on a fresh Debian 12 machine or this one.
# Idempotent and quick on re-runs: apt only when a package is missing, pip only when pyproject.toml changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  postgresql-15 postgresql-15-postgis-3   # tests and production store
  libsqlite3-mod-spatialite               # the embedded store
  mosquitto mosquitto-clients             # local broker for `equipment serve` and tests
  zbar-tools                              # decodes printed QR tags in tests
  chromium                                # browser tests
  poppler-utils                           # renders label PDFs in tests
  fonts-noto-cjk                          # Chinese text in pages the browser tests screenshot
  python3-venv python3-dev gcc libgeos-dev  # the venv, and wheels that may need compiling
)
VENV="$ROOT/.venv"
# the venv must use Debian's python: pyenv builds cannot load SQLite extensions (SpatiaLite)
PYTHON=/usr/bin/python3
STAMP="$VENV/.equipment-install-stamp"

say() { printf 'bootstrap: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -E "$@"
  else say "need root for: $*"; return 1
  fi
}

# two runs at once (parallel CI jobs) would fight over apt and pip in the same venv
LOCK="${TMPDIR:-/tmp}/equipment-bootstrap-$(id -u).lock"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$LOCK"
  flock -w 900 9 || { say "another bootstrap holds $LOCK"; exit 1; }
fi

missing_packages() {
  local installed
  installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null \
               | awk '$2 == "installed" {print $1}' || true)"
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    grep -qxF "$pkg" <<<"$installed" || printf '%s\n' "$pkg"
  done
}

stop_system_services() {
  # Debian starts these on install; we run our own instances on our own ports and dirs.
  # The init scripts stop by pidfile / pg_ctlcluster, so our own brokers and clusters are not touched.
  [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1 || return 0
  local svc
  for svc in postgresql mosquitto; do
    as_root service "$svc" stop >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then
      as_root systemctl disable "$svc" >/dev/null 2>&1 || true
    fi
  done
}

mapfile -t MISSING < <(missing_packages)
if [ "${#MISSING[@]}" -gt 0 ]; then
  say "installing ${MISSING[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
  mapfile -t STILL < <(missing_packages)
  if [ "${#STILL[@]}" -gt 0 ]; then
    say "still missing after apt-get: ${STILL[*]}"
    exit 1
  fi
else
  say "system packages present"
fi
stop_system_services

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV from $PYTHON"
  "$PYTHON" -m venv "$VENV"
  rm -f "$STAMP"
fi

WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  say "pip install -e '.[test,bench]' (pyproject.toml changed)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test,bench]'
  printf '%s\n' "$WANT" >"$STAMP"
else
  say "python packages up to date"
fi
say "ready"
