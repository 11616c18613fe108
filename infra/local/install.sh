# shellcheck shell=bash
# Sourced by infra/local/stack.sh and scripts/fuzz.sh: fetching from the network with bounded
# retries, and installing Debian packages that are missing.
#
# A fresh machine's `npm test` (CI) downloads ~90 jars from Maven Central and a few Debian
# packages: one 502 or 429 from a registry must not fail the whole run, while a registry that
# stays down must still fail it, loudly. Maven retries I/O errors but not a 5xx answer, and apt's
# own retries do not cover a lock held by another apt (found by an outside review).
#
# Environment:
#   LL_FETCH_ATTEMPTS    attempts per download, default 4
#   LL_FETCH_BACKOFF_S   wait before the 2nd attempt, doubled before each later one: default 2
#                        (2, 4, 8 s); the unit tests set 0

# with_retries <what> <command...>: runs the command until it succeeds, at most LL_FETCH_ATTEMPTS
# times; between attempts says what failed and waits. Returns the last attempt's non-zero
# status after a message naming <what>, so the caller's `|| die ...` / set -e stops the script.
with_retries() {
  local what="$1"
  shift
  local attempts="${LL_FETCH_ATTEMPTS:-4}" delay="${LL_FETCH_BACKOFF_S:-2}" attempt=1 rc
  [[ "$attempts" =~ ^[1-9][0-9]*$ ]] || { printf 'LL_FETCH_ATTEMPTS must be a positive integer (got %s)\n' "$attempts" >&2; return 2; }
  [[ "$delay" =~ ^[0-9]+$ ]] || { printf 'LL_FETCH_BACKOFF_S must be a whole number of seconds (got %s)\n' "$delay" >&2; return 2; }
  while :; do
    rc=0
    "$@" || rc=$?
    [ "$rc" = 0 ] && return 0
    if [ "$attempt" -ge "$attempts" ]; then
      printf '%s failed (exit %s) on each of %s attempts; giving up\n' "$what" "$rc" "$attempts" >&2
      return "$rc"
    fi
    printf '%s failed (exit %s, attempt %s of %s); retrying in %ss\n' "$what" "$rc" "$attempt" "$attempts" "$delay" >&2
    sleep "$delay"
    delay=$((delay * 2))
    attempt=$((attempt + 1))
  done
}

# apt_install <package...>: apt-get update, then install the packages, each step retried. The
# caller decides that they are missing and that it may (root). flock: two scripts (the dev and
# test stacks, or a stack and the fuzzer) may install on a fresh machine at once, and apt
# refuses the second while the first holds its lock.
apt_install() {
  (
    export DEBIAN_FRONTEND=noninteractive
    flock 7
    with_retries "apt-get update" apt-get update -q || exit
    # --no-upgrade: install what is absent, never upgrade a present package as a side effect.
    with_retries "apt-get install $*" apt-get install -y -q --no-install-recommends --no-upgrade "$@" || exit
  ) 7>/var/lock/ledgerline-apt.lock
}
