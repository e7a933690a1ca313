#!/usr/bin/env bash
# `npm run demo`: set the machine up (idempotent), then bring the demo stack up in the
# foreground with `ckpt up`. Extra arguments go to `ckpt up` (e.g. -d to detach).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec bin/ckpt.js up manifests/demo.yaml "$@"
