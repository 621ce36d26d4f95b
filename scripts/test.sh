#!/usr/bin/env bash
# `npm test`: everything CI checks, in order, failing on the first error.
#   dependencies from the lockfile → services up → tools → lint → typecheck → contract drift →
#   schema drift → unit and integration tests of every project.
set -euo pipefail
cd "$(dirname "$0")/.."

export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false CI="${CI:-true}"

# Each step's heading says when it starts, in seconds since the start: CI has a time limit, and
# these show where a slow run spent it.
step() { printf '\n\033[1m== %s\033[0m  (at %d s)\n' "$*" "$SECONDS"; }

step "dependencies (npm ci when node_modules is missing or older than the lockfile)"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  echo "node_modules is current"
fi

step "services"
bash scripts/ensure-services.sh

step "tools (kubectl with kustomize and promtool for the deploy checks, Chromium for the console test)"
bash scripts/ensure-tools.sh

step "lint (every package, one typed program)"
npm run --silent lint

step "typecheck (every package, one program: tsconfig.json)"
npm run --silent typecheck

step "contract drift (docs/contracts vs a fresh export)"
npm run --silent contracts:export -- --check

step "schema drift (libs/store/schema.snapshot vs a freshly migrated database)"
npm run --silent schema:check

step "config docs drift (README configuration tables vs the services' schemas)"
npm run --silent docs:config -- --check

step "tests (unit and integration, real PostgreSQL and NATS)"
npx nx run-many -t test --parallel=2 --output-style=stream-without-prefixes

step "all checks passed"
