#!/usr/bin/env bash
# npm run k6 -- <scenario> [k6 run options...]
#   scenario: steady | ramp | hot-account | retry-storm | read-heavy | batch (loadtest/k6/<scenario>.js)
#
# Runs a scenario with the real k6 (built and cached by build-k6.sh) against BASE_URL
# (default http://127.0.0.1:8080, i.e. `npm start`). Without FIXTURE the scenario's setup()
# opens and funds its own accounts through the API. Examples:
#   npm run k6 -- steady -e RATE=500 -e DURATION=30s
#   BASE_URL=http://127.0.0.1:18080 npm run k6 -- ramp -e START_RATE=1000 -e STEP_RATE=1000
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

scenario="${1:-}"
case "$scenario" in
  steady | ramp | hot-account | retry-storm | read-heavy | batch) shift ;;
  *)
    echo "usage: npm run k6 -- <steady|ramp|hot-account|retry-storm|read-heavy|batch> [k6 run options]" >&2
    exit 2
    ;;
esac

K6_BIN="$(bash loadtest/scripts/build-k6.sh)"
exec "$K6_BIN" run --no-usage-report \
  -e "BASE_URL=${BASE_URL:-http://127.0.0.1:8080}" \
  -e "JWT_SECRET=${JWT_SECRET:-dev-secret-change-me}" \
  "$@" "loadtest/k6/$scenario.js"
