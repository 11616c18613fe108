#!/usr/bin/env bash
# npm run fuzz: schemathesis (from PyPI, in a virtualenv under the ledgerline cache) against
# /openapi.json of a real API and worker on the local stack, every check, FUZZ_SECONDS
# (default 120). Not part of npm test. Exits non-zero when schemathesis finds a failure.
#
# Needs python3 with its venv module (Debian: python3, python3-venv): installed with apt-get
# when missing, as root, like the stack's own packages. The stack's services that did not run
# before are stopped afterwards; those that did are left running.
#
# Environment: LL_PROFILE (stack profile, default dev), FUZZ_SECONDS, FUZZ_SEED,
# LEDGERLINE_CACHE (default ~/.cache/ledgerline). The report (JUnit, HAR) lands in
# schemathesis-report/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR/.. source=infra/local/install.sh
. infra/local/install.sh

# `python3 -m venv` needs ensurepip, which Debian ships apart from python3 (python3-venv);
# a fresh Debian has neither (found by an outside review).
ensure_python_venv() {
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && return 0
  local packages=(python3 python3-venv)
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "fuzz: needs python3 with its venv module: install them (sudo apt-get install -y ${packages[*]}) or run as root" >&2
    exit 1
  fi
  echo "fuzz: installing missing packages: ${packages[*]}"
  apt_install "${packages[@]}" || { echo "fuzz: could not install ${packages[*]} (apt-get output above)" >&2; exit 1; }
}

SCHEMATHESIS_VERSION=4.32.5
cache="${LEDGERLINE_CACHE:-$HOME/.cache/ledgerline}"
venv="$cache/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$venv/bin/schemathesis" ]; then
  ensure_python_venv
  echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

bash scripts/bootstrap.sh
export LL_PROFILE="${LL_PROFILE:-dev}"

# Which services run already? Those are left running afterwards; the others, which this run
# starts, are stopped by recorded pid (stack.sh stop-service), as loadtest/bench.sh does. It
# left the whole stack running (found by an outside review).
SERVICES=(kafka postgres pgbouncer redis)
started_by_us=()
status="$(bash infra/local/stack.sh status 2>/dev/null || true)"
for svc in "${SERVICES[@]}"; do
  if ! grep -Eq "^[[:space:]]+${svc}[[:space:]]+running" <<<"$status"; then started_by_us+=("$svc"); fi
done

# The exit code stays the fuzzer's (or up's): stopping is reported, never counted over it.
stop_started() {
  local code=$?
  if [ "${#started_by_us[@]}" -gt 0 ]; then
    echo "fuzz: stopping the services it started: ${started_by_us[*]}"
    for svc in "${started_by_us[@]}"; do
      bash infra/local/stack.sh stop-service "$svc" >/dev/null || echo "fuzz: could not stop $svc (stack.sh stop-service $svc)" >&2
    done
  fi
  exit "$code"
}
trap stop_started EXIT

bash infra/local/stack.sh up
eval "$(bash infra/local/stack.sh env)"
SCHEMATHESIS="$venv/bin/schemathesis" npx tsx test/fuzz/main.ts
