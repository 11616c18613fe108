#!/usr/bin/env bash
# npm run bench [-- --quick] [--repeat N] [--only phases] ...  (see loadtest/README.md)
#
# One command: builds k6 if needed (cached outside the repo), brings the dev-profile stack up,
# runs every measurement (loadtest/bench/main.ts) against the bench's own database, topics
# and Redis prefix, writes loadtest/results/latest.{json,md,svg}, and leaves the stack as it
# found it: services this script started are stopped again (LL_BENCH_KEEP_STACK=1 keeps them).
set -euo pipefail

# All in one function: bash parses it whole before running, so editing this file while a
# bench runs cannot garble the run.
main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."

  for arg in "$@"; do
    if [ "$arg" = --help ] || [ "$arg" = -h ]; then exec npx tsx loadtest/bench/main.ts --help; fi
  done

  export LL_PROFILE=dev
  CACHE_ROOT="${LEDGERLINE_CACHE:-$HOME/.cache/ledgerline}"
  mkdir -p "$CACHE_ROOT"

  # One bench at a time on a machine: two would measure each other.
  exec 7>"$CACHE_ROOT/bench.lock"
  if ! flock -n 7; then
    echo "bench: another bench run holds $CACHE_ROOT/bench.lock" >&2
    exit 1
  fi

  bash scripts/bootstrap.sh

  K6_BIN="$(bash loadtest/scripts/build-k6.sh)"
  export K6_BIN

  # Which services run already? Those are left running afterwards; the others are stopped.
  SERVICES=(kafka postgres pgbouncer redis)
  started_by_us=()
  status="$(bash infra/local/stack.sh status 2>/dev/null || true)"
  for svc in "${SERVICES[@]}"; do
    if ! grep -Eq "^[[:space:]]+$svc[[:space:]]+running" <<<"$status"; then started_by_us+=("$svc"); fi
  done

  restore_stack() {
    local code=$?
    if [ "${LL_BENCH_KEEP_STACK:-0}" != 1 ] && [ "${#started_by_us[@]}" -gt 0 ]; then
      echo "bench: stopping the services it started: ${started_by_us[*]}"
      for svc in "${started_by_us[@]}"; do bash infra/local/stack.sh stop-service "$svc" >/dev/null || true; done
    fi
    exit "$code"
  }
  trap restore_stack EXIT

  # 7>&-: the services outlive this script with LL_BENCH_KEEP_STACK=1, and must not hold the lock.
  bash infra/local/stack.sh up 7>&-
  eval "$(bash infra/local/stack.sh env)"

  npx tsx loadtest/bench/main.ts "$@"
}

main "$@"
