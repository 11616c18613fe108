#!/usr/bin/env bash
# Installs the node packages when (and only when) they are missing or stale, so every entry
# point (npm start, npm test, npm run migrate, infra/local/stack.sh) can call it first and pay
# nothing on the second run.
#
# "Stale" = node_modules/.package-lock.json (npm's record of what it installed) is missing or
# older than package-lock.json. Without a lockfile, fall back to `npm install`, using
# package.json as the reference instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."   # repo root, whatever the caller's cwd

if ! command -v npm >/dev/null 2>&1; then
  echo "bootstrap: npm not found; install Node.js >= 20 first" >&2
  exit 1
fi

installed=node_modules/.package-lock.json

if [ -f package-lock.json ]; then
  if [ -f "$installed" ] && [ ! package-lock.json -nt "$installed" ]; then
    exit 0
  fi
  echo "bootstrap: node_modules missing or older than package-lock.json: npm ci"
  npm ci --no-audit --no-fund
else
  if [ -f "$installed" ] && [ ! package.json -nt "$installed" ]; then
    exit 0
  fi
  echo "bootstrap: no package-lock.json: npm install"
  npm install --no-audit --no-fund
fi

# npm may write package-lock.json after its hidden lockfile; mark the install as at least as
# new as the lockfile so the next run is a no-op rather than another full install. (npm writes
# no hidden lockfile when there is nothing to install.)
if [ -f "$installed" ]; then touch "$installed"; fi
