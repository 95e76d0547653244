#!/usr/bin/env bash
# Installs what Kilowatch needs from the OS on Debian/Ubuntu: PostgreSQL + PostGIS,
# Redis, Chromium (browser tests), the Python venv module. Skips what is present.
set -euo pipefail

missing=()
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "Kilowatch needs Python >= 3.11 (python3 is $(python3 --version 2>&1))"; exit 1; }
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
command -v make >/dev/null || missing+=(make)
# WeasyPrint (invoice PDFs) loads Pango at run time
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so.0' || missing+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || missing+=(libpangoft2-1.0-0)

postgis_missing() {
  local major
  major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  [ -z "$major" ] || [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]
}

if [ ${#missing[@]} -eq 0 ] && ! postgis_missing; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "Missing system packages: ${missing[*]} (and PostGIS). Run as root:"
    echo "  apt-get update && apt-get install -y ${missing[*]} && apt-get install -y postgresql-\$(ls /usr/lib/postgresql | sort -n | tail -1)-postgis-3"
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "Installing system packages: ${missing[*]} postgis ..."
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if postgis_missing; then
  major=$(ls /usr/lib/postgresql | sort -n | tail -1)
  $SUDO apt-get install -y -qq --no-install-recommends "postgresql-${major}-postgis-3"
fi
# Debian starts the packaged cluster and Redis as services; Kilowatch uses its own
# project-local cluster and, in tests, a private Redis, so those are left as they are.
