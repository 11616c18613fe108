#!/usr/bin/env bash
# npm start: the local stack (dev profile), migrations and topics, then the ingest API and
# the partition workers in the foreground. Ctrl-C, SIGTERM or SIGHUP stops the apps; `npm run
# stop` stops the services too.
#
# npm passes SIGTERM and SIGINT to the one process it started, the shell of its script, and
# dash does not exec a -c command's last program: so package.json's start is `exec bash ...`
# and this script execs node on the launcher itself (not `npx tsx`, two more processes that
# would stand between them), so the launcher, scripts/run-local.ts, is that process.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
# PORT, WORKERS, WORKERS_NICE, WORKERS_OPS_PORT_BASE: refused here, before the stack starts.
npx tsx scripts/run-local.ts --check-settings
export LL_PROFILE="${LL_PROFILE:-dev}"
# The local stack's defaults (dev secret, local role passwords) are accepted only outside production.
export LEDGERLINE_ENV="${LEDGERLINE_ENV:-development}"
bash infra/local/stack.sh up
eval "$(bash infra/local/stack.sh env)"
npx tsx apps/ledgerctl/src/main.ts migrate
exec node --import tsx scripts/run-local.ts
