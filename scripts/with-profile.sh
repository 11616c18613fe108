#!/usr/bin/env bash
# Runs a command against the local stack LL_PROFILE names (npm run ledgerctl, migrate, token).
# The apps' own defaults are the dev stack's addresses; with LL_PROFILE=ws1 (test, ws2...)
# set, each address the caller did not give (KAFKA_BROKERS, the database URLs, REDIS_URL) is
# taken from that profile, so that `LL_PROFILE=ws1 npm run ledgerctl -- buckets move ...`
# acts on ws1's stack, never silently on dev's. An address set explicitly always wins, and
# with LEDGERLINE_ENV=production nothing is filled in (production gives every address).
# A profile stack.sh does not know stops here (its message, exit 2): the command never runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${LL_PROFILE:-}" && "${LEDGERLINE_ENV:-}" != production ]]; then
  # Captured first: a failing `stack.sh env` stops the script (set -e sees this assignment;
  # it would not see the producer of a `< <(...)` loop).
  profile_env="$(bash infra/local/stack.sh env)"
  while IFS= read -r line; do
    [[ "$line" =~ ^export\ ([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
    name="${BASH_REMATCH[1]}"
    [[ -n "${!name:-}" ]] || export "$name=${BASH_REMATCH[2]}"
  done <<<"$profile_env"
fi
exec "$@"
