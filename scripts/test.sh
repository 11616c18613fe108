#!/usr/bin/env bash
# npm test: everything the suite needs, from a fresh clone.
#   1. install node packages (scripts/bootstrap.sh)
#   2. static checks: types, lint, layer boundaries, dead code and dependencies (knip)
#   3. unit tests (pure code, no services)
#   4. bring up the TEST stack (its own ports and data dir: infra/local/ports.env, profile
#      test), so a running `npm start` stack is left alone
#   5. integration tests against real Kafka, Postgres-through-PgBouncer and Redis
#   6. stop what this script started
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
export LL_PROFILE="${LL_PROFILE:-test}"   # ws1..ws4 run a second checkout's suite on its own stack
export LEDGERLINE_ENV="${LEDGERLINE_ENV:-test}"

echo "== static checks"
npx tsc -p tsconfig.json --noEmit
npx eslint .
npx depcruise --config .dependency-cruiser.cjs apps packages test loadtest
npx knip

echo "== unit tests"
npx jest --selectProjects unit

was_running=0
if bash infra/local/stack.sh status >/dev/null 2>&1; then was_running=1; fi
teardown() {
  if [ "$was_running" = 0 ] && [ "${LL_KEEP_STACK:-0}" != 1 ]; then
    bash infra/local/stack.sh down || true
  fi
}
trap teardown EXIT

echo "== test stack"
bash infra/local/stack.sh up
eval "$(bash infra/local/stack.sh env)"

echo "== integration tests"
# No --forceExit: every test file closes its own pools, consumers, producers and servers in
# afterAll, and --detectOpenHandles names anything left open instead of hiding it.
npx jest --selectProjects integration --runInBand --detectOpenHandles "$@"
