#!/usr/bin/env bash
# npm run stop: stops the dev stack's services (the apps stop with Ctrl-C on npm start).
# `bash infra/local/stack.sh reset` also deletes their data.
set -euo pipefail
cd "$(dirname "$0")/.."
LL_PROFILE="${LL_PROFILE:-dev}" bash infra/local/stack.sh down
