#!/usr/bin/env bash
# npm run stop: stops the dev stack's services (the apps stop with Ctrl-C on npm start), or
# LL_PROFILE's, from the runtime dir LL_STACK_DIR names (the one the stack was started with:
# another dir has none of its pids, and stack.sh then exits 3 naming each service whose port
# still answers). `bash infra/local/stack.sh reset` also deletes their data.
set -euo pipefail
cd "$(dirname "$0")/.."
LL_PROFILE="${LL_PROFILE:-dev}" bash infra/local/stack.sh down
