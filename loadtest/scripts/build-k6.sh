#!/usr/bin/env bash
# Builds the real k6 binary (not the npm type stubs) with `go install` and caches it
# outside the repo. Prints the binary path on stdout. Idempotent: a cached build is reused.
#   K6_VERSION        pinned k6 version (default below)
#   LEDGERLINE_CACHE  cache root (default $HOME/.cache/ledgerline)
set -euo pipefail

K6_VERSION="${K6_VERSION:-v1.8.1}"
CACHE_ROOT="${LEDGERLINE_CACHE:-$HOME/.cache/ledgerline}"
DEST_DIR="$CACHE_ROOT/k6-$K6_VERSION"
BIN="$DEST_DIR/k6"

if [[ -x "$BIN" ]] && "$BIN" version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "build-k6: go toolchain not found" >&2; exit 1; }
mkdir -p "$DEST_DIR"
LOCK="$DEST_DIR/.build.lock"
exec 9>"$LOCK"
if ! flock -w 1800 9; then
  echo "build-k6: timed out waiting for another build ($LOCK)" >&2
  exit 1
fi
# Another process may have finished the build while we waited for the lock.
if [[ -x "$BIN" ]] && "$BIN" version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi

echo "build-k6: building go.k6.io/k6@$K6_VERSION into $DEST_DIR (first build takes several minutes)" >&2
TMP_BIN="$DEST_DIR/.tmp-bin"
rm -rf "$TMP_BIN"
mkdir -p "$TMP_BIN"
# GOBIN directs `go install` output; CGO off gives a static binary.
GOBIN="$TMP_BIN" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath" \
  go install "go.k6.io/k6@$K6_VERSION" >&2
mv -f "$TMP_BIN/k6" "$BIN"
rm -rf "$TMP_BIN"
"$BIN" version >&2
echo "$BIN"
