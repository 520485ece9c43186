#!/usr/bin/env bash
# Set up (quick when already done) and run the platform on its embedded default:
# SQLite + SpatiaLite under instance/, a local Mosquitto, a seeded demo city and the terminal simulator.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
exec .venv/bin/equipment demo --host "${EQUIPMENT_HOST:-127.0.0.1}" --port "${EQUIPMENT_PORT:-5000}" "$@"
