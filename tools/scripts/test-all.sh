#!/usr/bin/env bash
# `npm test`: every check CI runs, in order, stopping at the first failure. Needs PostgreSQL and Redis on
# 127.0.0.1 (started here when installed but stopped). Each Jest project prints its own summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false FORCE_COLOR=0

section() { printf '\n==== %s ====\n' "$*"; }

section "services"
bash tools/scripts/ensure-services.sh
bash tools/scripts/ensure-chromium.sh
bash tools/scripts/ensure-docker-compose.sh
bash tools/scripts/ensure-lavapipe.sh

section "database: schema and migrations agree"
node tools/scripts/db.mjs diff

section "format: prettier --check (with import order)"
npx prettier --check . --log-level warn

section "lint and typecheck"
npx nx run-many -t lint typecheck --parallel=2 --outputStyle=static

section "build"
npx nx run-many -t build --parallel=1 --outputStyle=static

section "tests"
# A bounded run: a leaked handle must fail CI, not hang it.
timeout 2400 npx nx run-many -t test --parallel=2 --outputStyle=static

section "all checks passed"
