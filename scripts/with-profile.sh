#!/usr/bin/env bash
# Runs a command against the local stack LL_PROFILE names (npm run ledgerctl, migrate, token).
# The apps' own defaults are the dev stack's addresses; with LL_PROFILE=ws1 (test, ws2...)
# set, each address the caller did not give (KAFKA_BROKERS, the database URLs, REDIS_URL) is
# taken from that profile, so that `LL_PROFILE=ws1 npm run ledgerctl -- buckets move ...`
# acts on ws1's stack, never silently on dev's. An address set explicitly always wins, and
# with LEDGERLINE_ENV=production nothing is filled in (production gives every address).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${LL_PROFILE:-}" && "${LEDGERLINE_ENV:-}" != production ]]; then
  while IFS= read -r line; do
    [[ "$line" =~ ^export\ ([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
    name="${BASH_REMATCH[1]}"
    [[ -n "${!name:-}" ]] || export "$name=${BASH_REMATCH[2]}"
  done < <(bash infra/local/stack.sh env)
fi
exec "$@"
