#!/usr/bin/env bash
# Bootstrap (quick when already done), then run pytest; "no tests collected" counts as a failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
case " $* " in
  *cacheprovider*) ;;
  *) set -- -p no:cacheprovider "$@" ;;  # default: no .pytest_cache written into a shared tree
esac
# The layering of docs/architecture.md (.importlinter): a domain reaching into another fails here first.
.venv/bin/lint-imports --no-cache
status=0
.venv/bin/pytest -q "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; treating that as a failure" >&2
  exit 1
fi
exit "$status"
