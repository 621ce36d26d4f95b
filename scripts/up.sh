#!/usr/bin/env bash
# `npm run up`: installs from the lockfile when needed, then starts a local Gantry cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
exec node --import tsx scripts/up/main.ts "$@"
