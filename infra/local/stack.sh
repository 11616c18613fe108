#!/usr/bin/env bash
# ledgerline local service stack, without Docker: Kafka (KRaft, jars from Maven Central),
# PostgreSQL 15, PgBouncer, Redis, each as a plain process with its data, config, logs and pid
# file in one runtime directory per profile.
#
#   LL_PROFILE=dev|test|ws1..ws4 bash infra/local/stack.sh <command> [service]
#
#   up                    install what is missing (as root), start what is not running, wait
#                         until every service really answers, print a summary
#   down                  stop what this script started (by recorded pid: TERM, wait, KILL);
#                         exit 3 naming a service whose port answers with no pid recorded
#                         here (a stack started with another LL_STACK_DIR?)
#   status                running/stopped, pid, port per service (exit 0 only if all run)
#   env                   `export ...` lines for the apps: eval "$(stack.sh env)"
#   logs [service] [-f]   tail the logs (all services, or one; -f follows)
#   reset                 down, then delete the runtime dir (all data); next `up` re-inits
#   start-service <svc>   start one service and wait for it to answer
#   stop-service <svc>    stop one service gracefully
#   kill-service <svc>    SIGKILL one service (chaos testing: crash, not shutdown)
#   restart-service <svc> stop-service + start-service
#   pause-service <svc>   SIGSTOP one service (chaos testing: a hung process, sockets stay open;
#                         Postgres with its backends)
#   resume-service <svc>  SIGCONT a paused service
#
# services: kafka postgres pgbouncer redis
#
# Environment:
#   LL_PROFILE        dev (default; npm start), test (npm test) or ws1..ws4 (spare port sets for
#                     parallel checkouts): picks the ports in ports.env
#   LL_STACK_DIR      runtime dir, default /var/tmp/ledgerline/$LL_PROFILE (outside the repo,
#                     so git clean / fresh clones don't touch data; must be traversable by the
#                     postgres user when running as root)
#   LEDGERLINE_CACHE  jar cache, default $HOME/.cache/ledgerline (shared by clones and profiles)
#   PG_BIN            PostgreSQL binaries, default /usr/lib/postgresql/15/bin
#   LL_FETCH_ATTEMPTS, LL_FETCH_BACKOFF_S
#                     retries of apt-get and of the Maven fetch: 4 attempts, 2/4/8 s apart
#                     (infra/local/install.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/infra/local"
SERVICES=(kafka postgres pgbouncer redis)

# ---------------------------------------------------------------------------------------------
# Profile and paths
# ---------------------------------------------------------------------------------------------
PROFILE="${LL_PROFILE:-dev}"
# dev and test are the two everyday profiles; ws1..ws4 are spare sets of ports for working on
# several checkouts at once (each with its own stack), e.g. LL_PROFILE=ws1 npm test.
case "$PROFILE" in
  dev | test | ws[1-4]) ;;
  *) echo "stack.sh: LL_PROFILE must be dev, test or ws1..ws4 (got '$PROFILE')" >&2; exit 2 ;;
esac

# ports.env is the single source of truth for ports (docker-compose.yml reads it too).
# shellcheck source-path=SCRIPTDIR source=ports.env
. "$HERE/ports.env"
# shellcheck source-path=SCRIPTDIR source=install.sh
. "$HERE/install.sh"
profile_var() { local name="${PROFILE^^}_$1"; printf '%s' "${!name:?$name missing from ports.env}"; }
KAFKA_PORT="$(profile_var KAFKA_PORT)"
KAFKA_CONTROLLER_PORT="$(profile_var KAFKA_CONTROLLER_PORT)"
POSTGRES_PORT="$(profile_var POSTGRES_PORT)"
PGBOUNCER_PORT="$(profile_var PGBOUNCER_PORT)"
REDIS_PORT="$(profile_var REDIS_PORT)"

STACK_DIR="${LL_STACK_DIR:-/var/tmp/ledgerline/$PROFILE}"
STACK_DIR="${STACK_DIR%/}"
STACK_MARKER="$STACK_DIR/.ledgerline-stack"   # proves a dir is ours before `reset` deletes it

KAFKA_DIR="$STACK_DIR/kafka"
PG_DIR="$STACK_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"        # unix socket dir: per profile, so two clusters never share /var/run
PGB_DIR="$STACK_DIR/pgbouncer"
REDIS_DIR="$STACK_DIR/redis"

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
DB_USER=ledgerline          # superuser: CREATE/DROP DATABASE (tests, chaos, bench), never an app
DB_PASSWORD=ledgerline
DB_NAME=ledgerline
# The apps' least-privileged roles (packages/postgres/migrations/privileges.sql says what each
# may do). Local passwords are the role names; LEDGERLINE_ENV=production refuses them.
APP_ROLES=(ledgerline_owner ledgerline_worker ledgerline_api)

# The Kafka version lives in the pom only; the cache dir is named after it.
KAFKA_POM="$HERE/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")"
CACHE_DIR="${LEDGERLINE_CACHE:-${HOME:-/root}/.cache/ledgerline}"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_LIBS_MARKER="$KAFKA_HOME/.complete"     # written only after the jars are all in place

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

# Set by with_lock for the locked re-run; kept as a shell variable but not exported further, so
# the daemons started below don't carry it.
LL_STACK_LOCKED="${LL_STACK_LOCKED:-}"
export -n LL_STACK_LOCKED

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
say() { printf '%s\n' "$*"; }
warn() { printf 'stack.sh: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }

# PostgreSQL refuses to run as root and PgBouncer too: as root, run them as `postgres`.
as_pg() {
  if [ "$IS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# Files the postgres user must own (its data dir, pgbouncer's config/pid/log dir).
pg_own() {
  if [ "$IS_ROOT" = 1 ]; then chown -R postgres:postgres "$@"; fi
}

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no nc needed).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

is_service() {
  local s
  for s in "${SERVICES[@]}"; do [ "$s" = "${1:-}" ] && return 0; done
  return 1
}

service_port() {
  case "$1" in
    kafka) echo "$KAFKA_PORT" ;;
    postgres) echo "$POSTGRES_PORT" ;;
    pgbouncer) echo "$PGBOUNCER_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
  esac
}

pid_file() {
  case "$1" in
    kafka) echo "$KAFKA_DIR/kafka.pid" ;;
    postgres) echo "$PG_DATA/postmaster.pid" ;;   # postgres writes it; first line is the pid
    pgbouncer) echo "$PGB_DIR/pgbouncer.pid" ;;
    redis) echo "$REDIS_DIR/redis.pid" ;;
  esac
}

# A string that must appear in the process's command line for a recorded pid to count as
# ours: guards against pid reuse after a reboot or a crash (we never signal a stranger).
cmdline_marker() {
  case "$1" in
    kafka) echo "$KAFKA_DIR/server.properties" ;;
    postgres) echo "$PG_DATA" ;;
    pgbouncer) echo "$PGB_DIR/pgbouncer.ini" ;;
    redis) echo "redis-server 127.0.0.1:$REDIS_PORT" ;;   # redis rewrites its title to this
  esac
}

log_files() {
  case "$1" in
    kafka) echo "$KAFKA_DIR/logs/server.log $KAFKA_DIR/stdout.log" ;;
    postgres) echo "$PG_DIR/postgres.log" ;;
    pgbouncer) echo "$PGB_DIR/pgbouncer.log" ;;
    redis) echo "$REDIS_DIR/redis.log" ;;
  esac
}

recorded_pid() {
  local f
  f="$(pid_file "$1")"
  [ -r "$f" ] || return 1
  local pid
  pid="$(head -n 1 "$f" 2>/dev/null | tr -dc '0-9')"
  [ -n "$pid" ] && echo "$pid"
}

pid_is() {   # pid_is <pid> <marker>: alive, not a zombie, and its cmdline contains marker
  local pid="$1" marker="$2" cmd
  kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"$marker"* ]]
}

# Prints the pid and succeeds when the service is running and is ours.
live_pid() {
  local pid
  pid="$(recorded_pid "$1")" || return 1
  pid_is "$pid" "$(cmdline_marker "$1")" || return 1
  echo "$pid"
}

running() { live_pid "$1" >/dev/null; }

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# PgBouncer (max_client_conn=2000) and Kafka want more than the usual 1024 fds; daemons inherit
# the soft limit from here. Raise it to the hard limit (capped), never fail over it.
raise_fd_limit() {
  local hard
  hard="$(ulimit -Hn)"
  [ "$hard" = unlimited ] && hard=65536
  [ "$hard" -gt 65536 ] && hard=65536
  ulimit -Sn "$hard" 2>/dev/null || true
}

show_log_tail() {
  local f
  for f in $(log_files "$1"); do
    [ -s "$f" ] || continue
    printf -- '----- tail of %s -----\n' "$f" >&2
    tail -n "${2:-30}" "$f" >&2
  done
}

fail_service() {   # fail_service <svc> <message>
  warn "$1 did not come up: $2"
  show_log_tail "$1" 40
  exit 1
}

# A foreign process on our port would make readiness checks pass against the wrong server.
require_port_free() {
  local svc="$1" port="$2"
  if port_open "$port"; then
    warn "$svc: port $port is already in use by a process this stack did not start:"
    ss -ltnp "sport = :$port" >&2 2>/dev/null || true
    die "free port $port or change it in infra/local/ports.env"
  fi
}

# Polls <check...> every 0.2 s until it succeeds; fails fast if the service's process died.
wait_until() {   # wait_until <svc> <timeout-s> <what> <check command...>
  local svc="$1" timeout="$2" what="$3"
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    running "$svc" || fail_service "$svc" "process exited while waiting for $what"
    [ "$SECONDS" -lt "$deadline" ] || fail_service "$svc" "no $what within ${timeout}s"
    sleep 0.2
  done
}

# Waits up to <timeout> s for a pid to exit. A zombie (dead, not yet reaped by pid 1, which can
# take a couple of seconds in some containers) counts as exited, except with "strict": postgres
# checks a crashed postmaster's pid with kill(pid, 0) and refuses to start while it exists.
wait_gone() {   # wait_gone <pid> <timeout-s> [strict]
  local pid="$1" deadline=$((SECONDS + $2)) strict="${3:-}" zombie
  while kill -0 "$pid" 2>/dev/null; do
    zombie=0
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && zombie=1
    [ "$zombie" = 1 ] && [ -z "$strict" ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      [ "$zombie" = 1 ] && return 0
      return 1
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------
# Prerequisites: packages, runtime dir, Kafka jars, kafkajs
# ---------------------------------------------------------------------------------------------
pgbouncer_bin() { command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; }; }

kafka_jars_cached() {
  [ -f "$KAFKA_LIBS_MARKER" ] && [ -d "$KAFKA_LIBS" ] &&
    [ "$(cat "$KAFKA_LIBS_MARKER")" = "$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)" ]
}

# apt-get only when something is missing, and only as root (apt-get update first, since a
# fresh machine's package lists may be empty).
ensure_packages() {
  local missing=()
  [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/psql" ] || missing+=(postgresql-15)
  pgbouncer_bin >/dev/null || missing+=(pgbouncer)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  if ! kafka_jars_cached && ! command -v mvn >/dev/null 2>&1; then missing+=(maven); fi
  [ "${#missing[@]}" -eq 0 ] && return 0

  if [ "$IS_ROOT" != 1 ]; then
    die "missing packages: ${missing[*]}; install them (sudo apt-get install -y ${missing[*]}) or run as root"
  fi
  say "installing missing packages: ${missing[*]}"
  apt_install "${missing[@]}" || die "could not install ${missing[*]} (apt-get output above)"
}

ensure_runtime_dir() {
  if [ -d "$STACK_DIR" ] && [ ! -f "$STACK_MARKER" ] && [ -n "$(ls -A "$STACK_DIR" 2>/dev/null)" ]; then
    die "$STACK_DIR exists, is not empty and was not created by this script; set LL_STACK_DIR elsewhere"
  fi
  mkdir -p "$STACK_DIR"
  touch "$STACK_MARKER"
  # postgres (the user) needs to traverse every level down to its data dir.
  chmod 755 "$STACK_DIR"
  if [ "$IS_ROOT" = 1 ] && [ "$STACK_DIR" = "/var/tmp/ledgerline/$PROFILE" ]; then chmod 755 /var/tmp/ledgerline; fi
  if [ "$IS_ROOT" = 1 ] && ! runuser -u postgres -- test -x "$STACK_DIR"; then
    die "the postgres user cannot enter $STACK_DIR (a parent dir is not world-traversable); set LL_STACK_DIR elsewhere"
  fi
}

# Fetches the broker jars once per machine (not per clone, not per profile). Maven writes to a
# temp dir; the marker (the pom's sha256) is written last, so an interrupted download is never
# mistaken for a complete one. flock: dev and test `up` may race on a fresh machine.
ensure_kafka_jars() {
  kafka_jars_cached && return 0
  mkdir -p "$KAFKA_HOME"
  (
    flock 9
    kafka_jars_cached && exit 0
    say "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS (once per machine)"
    rm -rf "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
    # Retried: one 502 or 429 from Central on any of ~90 jars would fail a fresh machine's npm test.
    # What an attempt downloaded stays in ~/.m2, so the next one fetches only the rest.
    with_retries "maven's fetch of the Kafka $KAFKA_VERSION jars" \
      mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS.tmp" ||
      die "maven could not fetch the Kafka jars from Maven Central (see output above)"
    [ -f "$KAFKA_LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
    mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
    sha256sum "$KAFKA_POM" | cut -d' ' -f1 >"$KAFKA_LIBS_MARKER"
  ) 9>"$KAFKA_HOME/.lock"
}

# wait-kafka.mjs needs kafkajs from the repo's node_modules.
ensure_kafkajs() {
  command -v node >/dev/null 2>&1 || die "node not found; install Node.js >= 20"
  [ -f "$ROOT/node_modules/kafkajs/package.json" ] && return 0
  say "kafkajs not installed yet: running scripts/bootstrap.sh"
  bash "$ROOT/scripts/bootstrap.sh"
}

# ---------------------------------------------------------------------------------------------
# Kafka (KRaft, single node acting as broker and controller)
# ---------------------------------------------------------------------------------------------
kafka_java() {   # the broker and StorageTool share classpath and logging
  java -Dlog4j.configuration="file:$HERE/kafka/log4j.properties" -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    -cp "$KAFKA_LIBS/*" "$@"
}

kafka_prepare() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  # Rewritten on every start so edits here apply without a reset; ports come from the profile.
  cat >"$KAFKA_DIR/server.properties" <<EOF
# generated by infra/local/stack.sh (profile $PROFILE); edits are overwritten on start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data

# Topics are created explicitly (ledgerctl migrate, tests), never by a typo'd producer.
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=8
default.replication.factor=1
min.insync.replicas=1

# Single node: internal topics at RF 1. Few partitions: created on first use, faster.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4

# A transaction left open on a partition hides every later record of it from the workers'
# read_committed consumers until it ends: the broker aborts it at its timeout, which a client
# may set up to this bound (Kafka's default: 15 min). ledgerline writes no transactions; 60 s
# bounds how long another client's can stop a partition (docs/security.md, "Commands on Kafka").
transaction.max.timeout.ms=60000

# Consumer groups start at once instead of waiting 3 s for more members (tests, restarts).
group.initial.rebalance.delay.ms=0

# After a crash (kill-service kafka) the restarted node cannot re-register until the controller
# expires the dead incarnation's session (default 9 s, then registration backoff: ~16 s restarts).
# 5 s with a 1 s heartbeat still tolerates 4 missed heartbeats (GC, a busy 2-core box).
broker.session.timeout.ms=5000
broker.heartbeat.interval.ms=1000

# Two cores: modest thread pools.
num.network.threads=3
num.io.threads=4
num.recovery.threads.per.data.dir=2
EOF
  # Format the storage once; meta.properties marks a formatted log dir.
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    if [ ! -s "$KAFKA_DIR/cluster.id" ]; then
      kafka_java kafka.tools.StorageTool random-uuid 2>>"$KAFKA_DIR/format.log" | tr -d '[:space:]' >"$KAFKA_DIR/cluster.id"
      [ -s "$KAFKA_DIR/cluster.id" ] || { cat "$KAFKA_DIR/format.log" >&2; die "kafka: could not generate a cluster id"; }
    fi
    kafka_java kafka.tools.StorageTool format -t "$(cat "$KAFKA_DIR/cluster.id")" \
      -c "$KAFKA_DIR/server.properties" >>"$KAFKA_DIR/format.log" 2>&1 ||
      { cat "$KAFKA_DIR/format.log" >&2; die "kafka: storage format failed"; }
  fi
}

# Launches the JVM in the background and returns at once (readiness: kafka_wait), so the JVM
# warms up while Postgres, PgBouncer and Redis start.
kafka_launch() {
  require_port_free kafka "$KAFKA_PORT"
  require_port_free kafka "$KAFKA_CONTROLLER_PORT"
  kafka_prepare
  local pidf="$KAFKA_DIR/kafka.pid"
  rm -f "$pidf"
  # setsid: its own session, so Ctrl-C on `npm start` (which only stops the apps) or a closing
  # terminal does not reach the broker. The wrapper shell records its own pid and then execs
  # java, so the recorded pid IS the JVM whether or not setsid had to fork.
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" \
    java -server -Xms256m -Xmx768m \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$HERE/kafka/log4j.properties" -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
    >"$KAFKA_DIR/stdout.log" 2>&1 </dev/null &
  local i
  for i in $(seq 50); do [ -s "$pidf" ] && break; sleep 0.1; done
  running kafka || fail_service kafka "the JVM exited right after launch"
}

kafka_wait() {
  # Phase 1 in bash: until the port listens, checking the JVM is alive (fails in a second on a
  # config error instead of after the whole timeout). Phase 2: real metadata via kafkajs.
  local deadline=$((SECONDS + 90))
  wait_until kafka 90 "listener on port $KAFKA_PORT" port_open "$KAFKA_PORT"
  local left=$((deadline - SECONDS))
  [ "$left" -ge 10 ] || left=10
  node "$HERE/wait-kafka.mjs" "$KAFKA_PORT" "$left" ||
    fail_service kafka "no metadata answer from 127.0.0.1:$KAFKA_PORT"
}

kafka_start() { kafka_launch; kafka_wait; }

# ---------------------------------------------------------------------------------------------
# PostgreSQL 15
# ---------------------------------------------------------------------------------------------
# Memory and WAL sizing. The test profiles keep 256MB of shared buffers and 2GB of WAL
# between checkpoints: their ledgers are small, and several stacks may share one machine.
# The dev profile (npm start, npm run bench) sizes Postgres like a server: shared buffers a
# quarter of the machine's memory, at most 4GB (the usual starting point), and 16GB of WAL
# between checkpoints. At 256MB/2GB, the bench's 1,000,000-command drains were Postgres-bound
# on reading and evicting index pages (after three drains: 17.8M buffers written by backends,
# 43 checkpoints forced by WAL volume against 2 timed): a memory-starved database, not the
# pipeline. LL_PG_SHARED_BUFFERS and
# LL_PG_MAX_WAL_SIZE override either (e.g. LL_PG_SHARED_BUFFERS=256MB to measure the old
# setting).
pg_memory() {
  local shared=256MB wal=2GB
  if [ "$PROFILE" = dev ]; then
    local mem_kb quarter_mb
    mem_kb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
    quarter_mb=$((mem_kb / 4096))
    if [ "$quarter_mb" -gt 4096 ]; then quarter_mb=4096; fi
    if [ "$quarter_mb" -lt 256 ]; then quarter_mb=256; fi
    shared="${quarter_mb}MB"
    wal=16GB
  fi
  shared="${LL_PG_SHARED_BUFFERS:-$shared}"
  wal="${LL_PG_MAX_WAL_SIZE:-$wal}"
  # Written into postgresql's config: a size and nothing else (e.g. 512MB, 4GB).
  local size='^[1-9][0-9]{0,6}(kB|MB|GB|TB)$'
  [[ "$shared" =~ $size ]] || die "LL_PG_SHARED_BUFFERS must be a size such as 512MB or 4GB (got '$shared')"
  [[ "$wal" =~ $size ]] || die "LL_PG_MAX_WAL_SIZE must be a size such as 2GB or 16GB (got '$wal')"
  printf '%s %s\n' "$shared" "$wal"
}

pg_prepare() {
  mkdir -p "$PG_DIR" "$PG_RUN"
  pg_own "$PG_DIR"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    say "postgres: initdb $PG_DATA"
    # cd: initdb as postgres must not start in a cwd it cannot read (e.g. /root/...).
    (cd "$PG_DIR" && as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1) ||
      { cat "$PG_DIR/initdb.log" >&2; die "postgres: initdb failed"; }
  fi
  # Our settings live in their own file, included once from postgresql.conf and rewritten on
  # every start (ports follow the profile; edits here apply without a reset).
  local sizes shared_buffers max_wal_size
  sizes="$(pg_memory)" || exit 1
  read -r shared_buffers max_wal_size <<<"$sizes"
  cat >"$PG_DATA/ledgerline.conf" <<EOF
# generated by infra/local/stack.sh (profile $PROFILE); edits are overwritten on start
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 300
shared_buffers = $shared_buffers
wal_buffers = 16MB
max_wal_size = $max_wal_size
checkpoint_timeout = 15min
# durable like production: the ledger's fencing/ordering tests mean nothing without it
fsync = on
synchronous_commit = on
shared_preload_libraries = 'pg_stat_statements'
# Room for the statements of every test database of one run (each test file has its own), so a
# test that counts its own statements never sees them evicted (the default keeps 5,000).
pg_stat_statements.max = 20000
# A statement whose client gave up (the apps' statement deadlines close the connection, and
# PgBouncer then drops its server connection) stops within 2 s instead of running on.
client_connection_check_interval = 2s
password_encryption = scram-sha-256
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
EOF
  cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# generated by infra/local/stack.sh; edits are overwritten on start
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
local   replication  all                  trust
host    all          all   127.0.0.1/32   scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
EOF
  grep -q "^include_if_exists = 'ledgerline.conf'" "$PG_DATA/postgresql.conf" ||
    printf "\n# ledgerline local stack settings\ninclude_if_exists = 'ledgerline.conf'\n" >>"$PG_DATA/postgresql.conf"
  pg_own "$PG_DATA/ledgerline.conf" "$PG_DATA/pg_hba.conf" "$PG_DATA/postgresql.conf"
  # A postmaster.pid whose pid now belongs to some other process (pid reuse after a crash or
  # reboot) would make postgres refuse to start; only then is it safe to drop.
  local pid
  if pid="$(recorded_pid postgres)" && kill -0 "$pid" 2>/dev/null && ! running postgres; then
    rm -f "$PG_DATA/postmaster.pid"
  fi
}

pg_psql_admin() {   # superuser over the unix socket (trust), no password needed; no NOTICEs
  PGOPTIONS='-c client_min_messages=warning' "$PG_BIN/psql" -h "$PG_RUN" -p "$POSTGRES_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

postgres_start() {
  require_port_free postgres "$POSTGRES_PORT"
  pg_prepare
  # pg_ctl's chatter (e.g. "another server might be running" after a crash) only on failure.
  local out
  out="$(cd "$PG_DIR" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 start 2>&1)" ||
    { printf '%s\n' "$out" >&2; fail_service postgres "pg_ctl start failed"; }
  pg_bootstrap
}

# Roles, database and extension: idempotent, so it also repairs a half-initialised cluster and
# upgrades one initialised before the app roles existed (cmd_up runs it on a running one too).
# The database belongs to ledgerline_owner, which thereby may create the schema's objects:
# `ledgerctl migrate` runs as that role, like in production. Objects an earlier version
# created as the superuser are handed to it here (the next migrate's privileges step would
# refuse to run otherwise).
pg_bootstrap() {
  local role roles_sql=""
  for role in "${APP_ROLES[@]}"; do
    roles_sql+="  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN CREATE ROLE $role LOGIN; END IF;
  ALTER ROLE $role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$role';
"
  done
  pg_psql_admin -d postgres <<EOF >/dev/null || fail_service postgres "could not create roles/database $DB_NAME"
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN SUPERUSER CREATEDB PASSWORD '$DB_PASSWORD';
  END IF;
$roles_sql
END
\$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER ledgerline_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')\gexec
ALTER DATABASE $DB_NAME OWNER TO ledgerline_owner;
EOF
  pg_psql_admin -d "$DB_NAME" <<'EOF' >/dev/null || fail_service postgres "could not prepare database $DB_NAME"
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
DO $$
DECLARE
  stmt text;
BEGIN
  FOR stmt IN
    SELECT format('ALTER %s %s OWNER TO ledgerline_owner', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, c.oid::regclass)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
       AND pg_get_userbyid(c.relowner) <> 'ledgerline_owner'
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO ledgerline_owner', p.oid::regprocedure)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'ledgerline_owner'
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE stmt;
  END LOOP;
END
$$;
EOF
}

postgres_check() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -d "$DB_NAME" -t 2
}

# ---------------------------------------------------------------------------------------------
# PgBouncer 1.18 (transaction pooling in front of Postgres)
# ---------------------------------------------------------------------------------------------
pgbouncer_prepare() {
  mkdir -p "$PGB_DIR"
  cat >"$PGB_DIR/pgbouncer.ini" <<EOF
; generated by infra/local/stack.sh (profile $PROFILE); edits are overwritten on start
[databases]
; wildcard: tests create per-test databases with arbitrary names and reach them through here
* = host=127.0.0.1 port=$POSTGRES_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir = $PGB_DIR
pidfile = $PGB_DIR/pgbouncer.pid
logfile = $PGB_DIR/pgbouncer.log

auth_type = scram-sha-256
auth_file = $PGB_DIR/userlist.txt
admin_users = $DB_USER
stats_users = $DB_USER

pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
; in transaction mode there is no session to reset
server_reset_query =
; node-postgres / JDBC send these at startup; PgBouncer would reject the connection otherwise
ignore_startup_parameters = extra_float_digits,options
; release idle server connections of dropped per-test databases soon
server_idle_timeout = 60
; after Postgres restarts (chaos runs), retry logins after 1 s instead of failing clients for 15 s
server_login_retry = 1
log_connections = 0
log_disconnections = 0
EOF
  pgbouncer_userlist
  pg_own "$PGB_DIR"
  # A stale pid file from a crash would make PgBouncer think it is already running.
  running pgbouncer || rm -f "$PGB_DIR/pgbouncer.pid"
}

# Plain-text passwords: let PgBouncer do SCRAM both to clients and to Postgres. Every app
# role logs in through PgBouncer as itself (its own pool per database and role).
pgbouncer_userlist() {
  local role
  {
    printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD"
    for role in "${APP_ROLES[@]}"; do printf '"%s" "%s"\n' "$role" "$role"; done
  } >"$PGB_DIR/userlist.txt.tmp"
  chmod 600 "$PGB_DIR/userlist.txt.tmp"
  mv "$PGB_DIR/userlist.txt.tmp" "$PGB_DIR/userlist.txt"
  pg_own "$PGB_DIR/userlist.txt"
}

pgbouncer_start() {
  require_port_free pgbouncer "$PGBOUNCER_PORT"
  pgbouncer_prepare
  local bin
  bin="$(pgbouncer_bin)"
  # PgBouncer refuses to run as root. -d daemonizes (its own session) and writes the pid file.
  # runuser's PAM session resets the fd limit to 1024 (soft): raise it again inside, for
  # max_client_conn=2000.
  # shellcheck disable=SC2016  # expanded by the inner shell
  (cd "$PGB_DIR" && as_pg bash -c 'ulimit -Sn "$(ulimit -Hn)" 2>/dev/null; exec "$@"' pgbouncer \
    "$bin" -d -q "$PGB_DIR/pgbouncer.ini") ||
    fail_service pgbouncer "pgbouncer -d exited with an error"
  local i
  for i in $(seq 50); do running pgbouncer && break; sleep 0.1; done
  running pgbouncer || fail_service pgbouncer "no live pid in $PGB_DIR/pgbouncer.pid"
  pgbouncer_wait
}

# Real readiness: pg_isready through the pooler, then an authenticated query to Postgres.
pgbouncer_query() {
  PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -Atq \
    "postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PGBOUNCER_PORT/$DB_NAME" -c 'select 1' | grep -qx 1
}
pgbouncer_check() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGBOUNCER_PORT" -d "$DB_NAME" -U "$DB_USER" -t 2 && pgbouncer_query
}
pgbouncer_wait() {
  wait_until pgbouncer 30 "pg_isready on port $PGBOUNCER_PORT" \
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGBOUNCER_PORT" -d "$DB_NAME" -U "$DB_USER" -t 2
  running postgres || fail_service pgbouncer "postgres (port $POSTGRES_PORT) is not running behind it"
  wait_until pgbouncer 30 "a 'select 1' through port $PGBOUNCER_PORT" pgbouncer_query
}

# ---------------------------------------------------------------------------------------------
# Redis 7 (a cache: no persistence, so a restart comes back empty)
# ---------------------------------------------------------------------------------------------
redis_start() {
  require_port_free redis "$REDIS_PORT"
  mkdir -p "$REDIS_DIR"
  cat >"$REDIS_DIR/redis.conf" <<EOF
# generated by infra/local/stack.sh (profile $PROFILE); edits are overwritten on start
port $REDIS_PORT
bind 127.0.0.1
protected-mode no
daemonize yes
pidfile $REDIS_DIR/redis.pid
logfile $REDIS_DIR/redis.log
dir $REDIS_DIR
save ""
appendonly no
loglevel notice
EOF
  running redis || rm -f "$REDIS_DIR/redis.pid"
  rm -f "$REDIS_DIR/dump.rdb"   # never resurrect old keys
  redis-server "$REDIS_DIR/redis.conf" || fail_service redis "redis-server exited with an error"
  local i
  for i in $(seq 50); do running redis && break; sleep 0.1; done
  running redis || fail_service redis "no live pid in $REDIS_DIR/redis.pid"
  wait_until redis 15 "PONG on port $REDIS_PORT" redis_check
}

redis_check() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

# ---------------------------------------------------------------------------------------------
# Generic service operations
# ---------------------------------------------------------------------------------------------
check_service() {   # does an already running service answer?
  case "$1" in
    kafka) node "$HERE/wait-kafka.mjs" "$KAFKA_PORT" 60 || fail_service kafka "running but no metadata answer" ;;
    postgres) wait_until postgres 30 "pg_isready on port $POSTGRES_PORT" postgres_check ;;
    pgbouncer) pgbouncer_wait ;;
    redis) wait_until redis 15 "PONG on port $REDIS_PORT" redis_check ;;
  esac
}

start_service() {
  local svc="$1" pid
  if pid="$(live_pid "$svc")"; then
    check_service "$svc"
    say "$svc: already running (pid $pid)"
    return 0
  fi
  case "$svc" in
    kafka) ensure_kafka_jars; ensure_kafkajs; kafka_start ;;
    postgres) postgres_start ;;
    pgbouncer) pgbouncer_start ;;
    redis) redis_start ;;
  esac
  say "$svc: started (pid $(live_pid "$svc"), port $(service_port "$svc"))"
}

# Graceful signal per service: postgres gets SIGINT ("fast" shutdown: aborts open sessions;
# its SIGTERM would wait for every client to disconnect), the others SIGTERM.
stop_signal() { if [ "$1" = postgres ]; then echo INT; else echo TERM; fi; }

signal_service() {   # signal_service <svc> <signal>; prints the pid it signalled
  local pid
  pid="$(live_pid "$1")" || return 1
  kill -s "$2" "$pid" 2>/dev/null || true
  echo "$pid"
}

# Waits for a signalled service to exit; escalates (postgres: QUIT = immediate shutdown) then
# KILL. Kafka gets longer: its controlled shutdown flushes and closes every partition.
reap_service() {   # reap_service <svc> <pid>
  local svc="$1" pid="$2" grace=15 strict=""
  [ "$svc" = kafka ] && grace=30
  [ "$svc" = postgres ] && strict=strict
  if ! wait_gone "$pid" "$grace" $strict; then
    if [ "$svc" = postgres ]; then
      warn "postgres did not stop in ${grace}s: immediate shutdown"
      kill -s QUIT "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 strict && { cleanup_pidfile "$svc"; return 0; }
    fi
    warn "$svc (pid $pid) did not stop in time: SIGKILL"
    kill -s KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || warn "$svc (pid $pid) still alive after SIGKILL"
  fi
  cleanup_pidfile "$svc"
}

# postgres manages (and checks) its own postmaster.pid; the others we tidy up ourselves.
cleanup_pidfile() { [ "$1" = postgres ] || rm -f "$(pid_file "$1")"; }

# Stops only what this runtime dir's pid files name. A service that is not ours but whose port
# answers is not "not running": most often it is this profile's stack started with another
# LL_STACK_DIR (its pid files are there, not here), as `status` says too. It is left alone, named,
# and the command fails (exit 3), rather than report a stack stopped that still runs.
stop_services() {   # stop_services <svc>...: signal all first, then wait (stops in parallel)
  local svc pid
  local -a svcs=() pids=() foreign=()
  for svc in "$@"; do
    if pid="$(signal_service "$svc" "$(stop_signal "$svc")")"; then
      svcs+=("$svc")
      pids+=("$pid")
    elif port_open "$(service_port "$svc")"; then
      say "$svc: not stopped: port $(service_port "$svc") is in use by another process (a stack with another LL_STACK_DIR?)"
      foreign+=("$svc")
    else
      say "$svc: not running"
    fi
  done
  local i
  for i in "${!svcs[@]}"; do
    reap_service "${svcs[$i]}" "${pids[$i]}"
    say "${svcs[$i]}: stopped (was pid ${pids[$i]})"
  done
  if [ "${#foreign[@]}" -gt 0 ]; then
    warn "not stopped: ${foreign[*]} (profile $PROFILE's ports answer, but runtime dir $STACK_DIR has no pid of theirs); a stack started with LL_STACK_DIR set is stopped with the same LL_STACK_DIR"
    return 3
  fi
}

kill_service() {
  local svc="$1" pid
  pid="$(live_pid "$svc")" || { say "$svc: not running"; return 0; }
  local -a children=()
  # A SIGKILLed postmaster leaves its backends running (attached to shared memory, which would
  # block the next start): kill the children it has right now, by parent pid.
  [ "$svc" = postgres ] && mapfile -t children < <(pgrep -P "$pid" || true)
  kill -s KILL "$pid" "${children[@]}" 2>/dev/null || true
  local strict=""
  [ "$svc" = postgres ] && strict=strict
  wait_gone "$pid" 10 $strict || warn "$svc (pid $pid) still alive after SIGKILL"
  local c
  for c in "${children[@]}"; do wait_gone "$c" 10 || true; done
  cleanup_pidfile "$svc"
  say "$svc: killed (was pid $pid)"
}

restart_service() { stop_services "$1"; start_service "$1"; }

# SIGSTOP/SIGCONT by recorded pid: the process and its sockets stay, it just stops answering
# (a GC pause, a hung disk, a VM freeze), which is not what a crash looks like to its clients.
freeze_service() {   # freeze_service <svc> STOP|CONT <verb>
  local svc="$1" signal="$2" verb="$3" pid children
  pid="$(live_pid "$svc")" || die "$svc: not running"
  # Postgres serves each connection from a backend of its own: stopping the postmaster alone
  # leaves every open connection answering (a 'pause' that paused nothing; found by an outside
  # fault review). Its children are frozen with it (and thawed first on resume).
  children=""
  if [ "$svc" = postgres ]; then children="$(pgrep -P "$pid" | tr '\n' ' ')"; fi
  if [ "$signal" = STOP ]; then
    kill -s STOP "$pid"
    [ -z "$children" ] || kill -s STOP $children 2>/dev/null || true
  else
    [ -z "$children" ] || kill -s CONT $children 2>/dev/null || true
    kill -s CONT "$pid"
  fi
  say "$svc: $verb (pid $pid${children:+ and its backends})"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
url_env() {
  # LL_PROFILE too: the tests that stop and start a service (test/support/stack.ts) must drive
  # this stack, not the test profile's, which another checkout may be using.
  cat <<EOF
export LL_PROFILE=$PROFILE
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export API_DATABASE_URL=postgres://ledgerline_api:ledgerline_api@127.0.0.1:$PGBOUNCER_PORT/$DB_NAME
export WORKER_DATABASE_URL=postgres://ledgerline_worker:ledgerline_worker@127.0.0.1:$PGBOUNCER_PORT/$DB_NAME
export OWNER_DATABASE_URL=postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:$PGBOUNCER_PORT/$DB_NAME
export DATABASE_DIRECT_URL=postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$POSTGRES_PORT/$DB_NAME
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
EOF
}

# cmd_up's state for its EXIT trap, which runs after cmd_up's locals are gone.
UP_KAFKA_LAUNCH=""     # pid of the background Kafka launch, once forked
UP_RUNNING_BEFORE=""   # the services that ran before this `up`: " kafka redis "

# cmd_up's EXIT trap: `up` launches Kafka in the background while it starts the others. When one
# of them failed, the script exited with that launch still under way: a caller's `down` (the
# EXIT trap of scripts/test.sh) found no pid file yet ("kafka: not running"), and the broker
# came up afterwards and ran on, orphaned (found by an outside review). So on any exit before
# `up` is done (die, a signal): wait for the launch to end (it is bounded: storage format, JVM
# start, 5 s for its pid file), then stop every service that runs now and did not run before,
# so a failed `up` leaves nothing running that it started. The exit status is kept.
up_failed() {
  local rc=$?
  trap - EXIT
  [ -z "$UP_KAFKA_LAUNCH" ] || wait "$UP_KAFKA_LAUNCH" 2>/dev/null || true
  local svc started=()
  for svc in "${SERVICES[@]}"; do
    [[ "$UP_RUNNING_BEFORE" == *" $svc "* ]] && continue
    running "$svc" && started+=("$svc")
  done
  if [ "${#started[@]}" -gt 0 ]; then
    warn "up failed: stopping what it started: ${started[*]}"
    stop_services "${started[@]}" >&2 || true
  fi
  exit "$rc"
}

cmd_up() {
  local t0="$EPOCHREALTIME" svc
  UP_RUNNING_BEFORE=" "
  for svc in "${SERVICES[@]}"; do running "$svc" && UP_RUNNING_BEFORE+="$svc "; done
  trap up_failed EXIT
  ensure_packages
  ensure_runtime_dir
  ensure_kafka_jars
  ensure_kafkajs
  raise_fd_limit

  # Kafka is the slowest (storage format + JVM start): launch it in the background first, start
  # the others meanwhile, and wait for it last.
  local kafka_bg="" pid
  if pid="$(live_pid kafka)"; then
    say "kafka: already running (pid $pid)"
  else
    kafka_launch &
    kafka_bg=$!
    UP_KAFKA_LAUNCH=$kafka_bg
  fi
  start_service postgres
  # Already running from an older checkout: roles, database owner, PgBouncer's user list.
  pg_bootstrap
  start_service pgbouncer
  if [ -f "$PGB_DIR/pgbouncer.ini" ] && pid="$(live_pid pgbouncer)"; then
    pgbouncer_userlist
    kill -s HUP "$pid" 2>/dev/null || true   # PgBouncer re-reads its auth_file on SIGHUP
  fi
  start_service redis
  if [ -n "$kafka_bg" ]; then
    wait "$kafka_bg" || exit 1   # kafka_launch already said why
  fi
  kafka_wait
  [ -n "$kafka_bg" ] && say "kafka: started (pid $(live_pid kafka), port $KAFKA_PORT)"
  trap - EXIT   # up is done: everything answers

  say ""
  say "ledgerline stack up (profile $PROFILE, ${LL_STACK_DIR:+LL_STACK_DIR=}$STACK_DIR) in $(elapsed "$t0")s:"
  say "  kafka      127.0.0.1:$KAFKA_PORT  (controller $KAFKA_CONTROLLER_PORT)"
  say "  postgres   127.0.0.1:$POSTGRES_PORT  (direct; superuser/password/db $DB_USER; app roles ${APP_ROLES[*]})"
  say "  pgbouncer  127.0.0.1:$PGBOUNCER_PORT  (transaction pooling -> postgres)"
  say "  redis      127.0.0.1:$REDIS_PORT"
  say "  env:       eval \"\$(LL_PROFILE=$PROFILE ${LL_STACK_DIR:+LL_STACK_DIR=$LL_STACK_DIR }bash infra/local/stack.sh env)\""
}

cmd_down() {
  # pgbouncer and redis first in the list only for the messages' order; all stop in parallel.
  stop_services pgbouncer redis kafka postgres
}

cmd_status() {
  local svc pid n=0 extra
  say "profile $PROFILE, runtime dir $STACK_DIR"
  for svc in "${SERVICES[@]}"; do
    extra=""
    [ "$svc" = kafka ] && extra=" (controller $KAFKA_CONTROLLER_PORT)"
    if pid="$(live_pid "$svc")"; then
      printf '  %-10s running  pid %-8s port %s%s\n' "$svc" "$pid" "$(service_port "$svc")" "$extra"
      n=$((n + 1))
    elif port_open "$(service_port "$svc")"; then
      # Not ours, yet something answers there: most often this profile's stack started with
      # another LL_STACK_DIR (its pid files are there, not here).
      printf '  %-10s stopped  %-12s port %s%s: in use by another process (a stack with another LL_STACK_DIR?)\n' "$svc" "" "$(service_port "$svc")" "$extra"
    else
      printf '  %-10s stopped  %-12s port %s%s\n' "$svc" "" "$(service_port "$svc")" "$extra"
    fi
  done
  # Exit 0 only when everything runs: scripts/test.sh uses this to know whether it owns the stack.
  [ "$n" -eq "${#SERVICES[@]}" ] || return 3
}

cmd_logs() {
  local svc="" follow=0 arg
  for arg in "$@"; do
    case "$arg" in
      -f | --follow) follow=1 ;;
      *) is_service "$arg" || die "unknown service '$arg' (one of: ${SERVICES[*]})"; svc="$arg" ;;
    esac
  done
  local files=() f s
  for s in ${svc:-${SERVICES[*]}}; do
    for f in $(log_files "$s"); do [ -f "$f" ] && files+=("$f"); done
  done
  [ "${#files[@]}" -gt 0 ] || die "no logs yet in $STACK_DIR"
  if [ "$follow" = 1 ]; then
    exec tail -n 50 -F "${files[@]}"
  fi
  local lines=40
  [ -n "$svc" ] && lines=200
  tail -n "$lines" "${files[@]}"
}

cmd_reset() {
  cmd_down
  if [ -d "$STACK_DIR" ]; then
    [ -f "$STACK_MARKER" ] || die "refusing to delete $STACK_DIR: no $STACK_MARKER in it"
    rm -rf "$STACK_DIR"
    say "deleted $STACK_DIR"
  fi
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

# Mutating commands hold a per-profile lock, so `npm start` and a concurrent `stack.sh up` of the
# same profile don't both start a Kafka. The lock is held by flock(1) around a re-run of this
# script; `flock -o` keeps the lock fd out of the re-run, so the daemons it starts never inherit
# (and keep holding) the lock. The lock file sits beside the runtime dir (reset deletes the dir).
LOCK_FILE="$STACK_DIR.stacklock"
with_lock() {
  if [ "${LL_STACK_LOCKED:-}" = "$LOCK_FILE" ]; then "$@"; return; fi
  # A command that only stops or deletes needs no lock where none was ever taken: every command
  # that starts a service takes it first, so nothing this runtime dir's stack started can run,
  # and creating the file (and its parent dir) would leave a stray one behind, as a `down`
  # with a mistyped or forgotten LL_STACK_DIR did.
  if [ "$1" = run_locked ] && ! starts_services "$2" && [ ! -e "$LOCK_FILE" ]; then "$@"; return; fi
  mkdir -p "$(dirname "$STACK_DIR")"
  local rc=0
  LL_STACK_LOCKED="$LOCK_FILE" flock -o -w 300 -E 75 "$LOCK_FILE" bash "$HERE/stack.sh" "${ARGS[@]}" || rc=$?
  [ "$rc" != 75 ] || die "waited 300s for $LOCK_FILE: another stack.sh $PROFILE command is still running"
  exit "$rc"
}
need_service() {
  local IFS='|'
  is_service "${1:-}" || die "usage: stack.sh $2 <${SERVICES[*]}>"
}

starts_services() { case "$1" in up | start-service | restart-service) return 0 ;; *) return 1 ;; esac; }

# Everything that starts or stops something runs here, inside the profile lock.
run_locked() {
  local cmd="$1"
  shift
  case "$cmd" in
    up) cmd_up ;;
    down | stop) cmd_down ;;
    reset) cmd_reset ;;
    start-service)
      ensure_packages
      ensure_runtime_dir
      raise_fd_limit
      start_service "$1"
      ;;
    stop-service) stop_services "$1" ;;
    kill-service) kill_service "$1" ;;
    pause-service) freeze_service "$1" STOP paused ;;
    resume-service) freeze_service "$1" CONT resumed ;;
    restart-service)
      ensure_packages
      ensure_runtime_dir
      raise_fd_limit
      restart_service "$1"
      ;;
  esac
}

# A word past what a command takes is refused before anything runs (exit 2): `down kafka`
# stopped the whole stack and said so with exit 0, an operator's natural way to stop one
# service (found by an outside review).
refuse_extra() {
  local cmd="$1" takes="$2"
  shift 2
  [ "$#" -gt 0 ] || return 0
  local hint=""
  case "$cmd" in
    up) hint="; one service: stack.sh start-service <svc>" ;;
    down | stop) hint="; one service: stack.sh stop-service <svc>" ;;
  esac
  warn "$cmd takes $takes; unexpected: $*$hint"
  exit 2
}

main() {
  ARGS=("$@")
  local cmd="${1:-help}"
  shift || true
  case "$cmd" in
    up | down | stop | reset)
      refuse_extra "$cmd" "no argument" "$@"
      with_lock run_locked "$cmd"
      ;;
    start-service | stop-service | kill-service | restart-service | pause-service | resume-service)
      need_service "${1:-}" "$cmd"
      refuse_extra "$cmd" "one service" "${@:2}"
      with_lock run_locked "$cmd" "$1"
      ;;
    status) refuse_extra "$cmd" "no argument" "$@"; cmd_status ;;
    env) refuse_extra "$cmd" "no argument" "$@"; url_env ;;
    logs) cmd_logs "$@" ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
