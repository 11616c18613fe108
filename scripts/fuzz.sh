#!/usr/bin/env bash
# npm run fuzz: schemathesis (from PyPI, in a virtualenv under the ledgerline cache) against
# /openapi.json of a real API and worker on the local stack, every check, FUZZ_SECONDS
# (default 120). Not part of npm test. Exits non-zero when schemathesis finds a failure.
#
# Environment: LL_PROFILE (stack profile, default dev), FUZZ_SECONDS, FUZZ_SEED,
# LEDGERLINE_CACHE (default ~/.cache/ledgerline). The report (JUnit, HAR) lands in
# schemathesis-report/.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
cache="${LEDGERLINE_CACHE:-$HOME/.cache/ledgerline}"
venv="$cache/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

bash scripts/bootstrap.sh
export LL_PROFILE="${LL_PROFILE:-dev}"
bash infra/local/stack.sh up
eval "$(bash infra/local/stack.sh env)"
SCHEMATHESIS="$venv/bin/schemathesis" exec npx tsx test/fuzz/main.ts
