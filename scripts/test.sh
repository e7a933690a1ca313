#!/usr/bin/env bash
# The whole test suite (what `npm test` runs): set the machine up, then unit, integration and
# end-to-end tests. Extra arguments go to tap (e.g. a single test file).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ $# -gt 0 ]; then
  exec npx tap "$@"
fi
exec npx tap test/unit test/integration test/e2e
