#!/usr/bin/env bash
# FerretDB v1 (MongoDB wire protocol) for local development and tests. See docs/ferretdb.md.
#
#   scripts/ferretdb.sh build    build .cache/bin/ferretdb from the version pinned in tools/ferretdb/go.mod
#                                (no-op when already built from the same go.mod/go.sum)
#   scripts/ferretdb.sh start    build if needed, start on 127.0.0.1:27017 in the background (idempotent)
#   scripts/ferretdb.sh stop     stop the instance started by this script (idempotent)
#   scripts/ferretdb.sh status   print "running ..." (exit 0) or "not running" (exit 1)
#
# Everything lives under the repo's .cache/ (git-ignored):
#   .cache/bin/ferretdb        binary          .cache/bin/ferretdb.stamp  hash of go.mod+go.sum+recipe
#   .cache/ferretdb-data/      SQLite files    .cache/ferretdb-state/     state.json (instance UUID)
#   .cache/ferretdb.log        server log      .cache/ferretdb.pid        pid of the server we started
#   .cache/ferretdb-build.log  output of the last go build
#
# Backend: SQLite by default (FERRETDB_HANDLER=sqlite). Why, measured on FerretDB v1.24.2:
#  - it needs no other service and takes none of PostgreSQL's connections (the postgresql
#    handler opens a pool of up to 50 connections unless pool_max_conns is set);
#  - it gave correct results in every check we ran, whereas the postgresql handler silently
#    matches nothing for update/findAndModify/delete filters on a field inside an array of
#    sub-documents (e.g. {"items.sku": "x"}) although find() with that filter matches, and it
#    hangs when its pool runs out (each in-flight update holds two connections: with
#    pool_max_conns=8, 8 concurrent findOneAndUpdate never returned);
#  - on small collections it is faster (insert+findOne p50 ~2.5 ms vs ~4.5 ms).
# Its weakness: every query, even by _id, is a full table scan (its _id index is never used),
# so latency grows linearly with collection size (findOne by _id ~30 ms at 5,000 documents).
# Fine for tests and local runs that keep collections small. For bulk data,
# FERRETDB_HANDLER=postgresql uses database "ferretdb" on 127.0.0.1:5432 (created if missing)
# with a pool of FERRETDB_PG_POOL (default 40) connections.
#
# Environment: FERRETDB_PORT (27017; another port gets ferretdb-data-PORT, ferretdb-PORT.pid, ...),
# FERRETDB_START_TIMEOUT (30 s), FERRETDB_HANDLER (sqlite),
# FERRETDB_PG_URL (postgres://postgres@127.0.0.1:5432/ferretdb), FERRETDB_PG_POOL (40),
# GOTOOLCHAIN (default "local": the installed Go, which must be >= 1.24).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
MOD_DIR="$REPO_ROOT/tools/ferretdb"
CACHE_DIR="$REPO_ROOT/.cache"
BIN="$CACHE_DIR/bin/ferretdb"
STAMP="$CACHE_DIR/bin/ferretdb.stamp"
BUILD_LOG="$CACHE_DIR/ferretdb-build.log"
HOST=127.0.0.1
PORT="${FERRETDB_PORT:-27017}"
# A second instance on another port gets its own data, state, log and pid files.
SUFFIX=""; [ "$PORT" = 27017 ] || SUFFIX="-$PORT"
DATA_DIR="$CACHE_DIR/ferretdb-data$SUFFIX"
STATE_DIR="$CACHE_DIR/ferretdb-state$SUFFIX"
LOG_FILE="$CACHE_DIR/ferretdb$SUFFIX.log"
PID_FILE="$CACHE_DIR/ferretdb$SUFFIX.pid"
START_TIMEOUT="${FERRETDB_START_TIMEOUT:-30}"
HANDLER="${FERRETDB_HANDLER:-sqlite}"
PG_URL="${FERRETDB_PG_URL:-postgres://postgres@127.0.0.1:5432/ferretdb}"
PG_POOL="${FERRETDB_PG_POOL:-40}"
MODULE=github.com/FerretDB/FerretDB
# Bump when the build recipe below changes, so that existing binaries get rebuilt.
RECIPE=2
LOCK_FILE="$CACHE_DIR/ferretdb.lock"

# Serialise build/start/stop between concurrent invocations (e.g. CI and `npm test` both
# calling build). The lock is held by fd 9 until the script exits.
take_lock() {
  mkdir -p "$CACHE_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK_FILE"
    if ! flock -n 9; then
      log "waiting for another scripts/ferretdb.sh to finish ..."
      flock 9
    fi
  fi
}

log() { printf 'ferretdb: %s\n' "$*"; }
die() { printf 'ferretdb: error: %s\n' "$*" >&2; exit 1; }
rel() { printf '%s' "${1#"$REPO_ROOT"/}"; }

find_go() {
  if command -v go >/dev/null 2>&1; then
    GO="$(command -v go)"
  elif [ -x /usr/local/go/bin/go ]; then
    GO=/usr/local/go/bin/go
  else
    die "Go (>= 1.24) not found in PATH or /usr/local/go/bin"
  fi
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOWORK=off
}

stamp_value() {
  { echo "recipe=$RECIPE"; cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum"; } | sha256sum | cut -d' ' -f1
}

pinned_version() {
  awk -v m="$MODULE" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$MOD_DIR/go.mod"
}

cmd_build() {
  local want version
  want="$(stamp_value)"
  version="$(pinned_version)"
  [ -n "$version" ] || die "cannot find $MODULE in $(rel "$MOD_DIR")/go.mod"
  if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log "FerretDB $version already built: $(rel "$BIN")"
    return 0
  fi
  find_go
  mkdir -p "$CACHE_DIR/bin"
  log "building FerretDB $version into $(rel "$BIN") (~2-3 min the first time, output in $(rel "$BUILD_LOG")) ..."
  : > "$BUILD_LOG"

  # Download the pinned module; `go mod download` verifies it against tools/ferretdb/go.sum.
  local src
  src="$(cd "$MOD_DIR" && GOFLAGS= "$GO" mod download -json "$MODULE" 2>>"$BUILD_LOG" |
         sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || true
  if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
    tail -n 20 "$BUILD_LOG" >&2
    die "go mod download $MODULE@$version failed"
  fi

  # Upstream cmd/ferretdb panics at start-up ("Invalid build/version/version.txt file content")
  # unless build/version/version.txt exists, and that generated file is not in the published
  # module: `go install .../cmd/ferretdb@v1.24.2`, or `go build` of it from tools/ferretdb, gives
  # a binary that cannot start. The module cache is read-only and `go build -overlay` refuses
  # to replace files in it, so build from a writable copy of the verified module source with
  # version.txt added. The copy's own go.mod/go.sum pin the dependencies (same versions as
  # tools/ferretdb/go.mod). CGO_ENABLED=0: static binary, no C compiler needed (SQLite is the
  # pure-Go modernc.org/sqlite).
  local work
  rm -rf "$CACHE_DIR"/ferretdb-src.* # left over by an interrupted build (we hold the lock)
  work="$(mktemp -d "$CACHE_DIR/ferretdb-src.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  cp -R "$src/." "$work/"
  chmod -R u+w "$work"
  printf '%s\n' "$version" > "$work/build/version/version.txt"
  if ! (cd "$work" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" \
          "$GO" build -trimpath -o "$BIN.tmp.$$" ./cmd/ferretdb) >>"$BUILD_LOG" 2>&1; then
    rm -f "$BIN.tmp.$$"
    tail -n 30 "$BUILD_LOG" >&2
    die "go build failed (full output in $(rel "$BUILD_LOG"))"
  fi
  mv -f "$BIN.tmp.$$" "$BIN"
  printf '%s\n' "$want" > "$STAMP"
  rm -rf "$work"
  trap - EXIT
}

port_answers() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null
}

# A process that exited but was not reaped yet (a zombie: some container inits never reap) is gone.
alive() {
  kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"
}

# Prints the pid from the pid file if that process is alive and runs our binary.
our_pid() {
  local pid exe
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  case "$exe" in "$BIN" | "$BIN (deleted)") ;; *) return 1 ;; esac
  echo "$pid"
}

# Creates the PostgreSQL database named in PG_URL if it does not exist (postgresql handler only).
ensure_pg_database() {
  local db base
  db="${PG_URL##*/}"; db="${db%%\?*}"
  base="${PG_URL%/*}/postgres"
  command -v psql >/dev/null 2>&1 || die "psql not found (needed to create database '$db')"
  [[ "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "unexpected database name in FERRETDB_PG_URL: '$db'"
  if [ "$(psql "$base" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    psql "$base" -qc "CREATE DATABASE \"$db\"" >/dev/null
    log "created PostgreSQL database $db"
  fi
}

cmd_start() {
  local pid
  if port_answers; then
    if pid="$(our_pid)"; then
      log "already running (pid $pid) on $HOST:$PORT"
    else
      log "something already answers on $HOST:$PORT; not starting another FerretDB"
    fi
    return 0
  fi
  our_pid >/dev/null || rm -f "$PID_FILE"
  cmd_build
  mkdir -p "$DATA_DIR" "$STATE_DIR"

  local backend_args where
  case "$HANDLER" in
    sqlite)
      backend_args=(--handler=sqlite "--sqlite-url=file:$DATA_DIR/")
      where="data in $(rel "$DATA_DIR")" ;;
    postgresql)
      ensure_pg_database
      local sep='?'; [[ "$PG_URL" == *\?* ]] && sep='&'
      local url="$PG_URL"
      [[ "$PG_URL" == *pool_max_conns=* ]] || url="$PG_URL${sep}pool_max_conns=$PG_POOL"
      backend_args=(--handler=postgresql "--postgresql-url=$url")
      where="data in PostgreSQL ${PG_URL##*/}" ;;
    *) die "FERRETDB_HANDLER must be sqlite or postgresql, not '$HANDLER'" ;;
  esac

  printf '\n==== %s start (%s)\n' "$(date -u +%FT%TZ)" "$HANDLER" >> "$LOG_FILE"
  # setsid: own session, so the server outlives the shell/job that started it.
  setsid "$BIN" \
    --listen-addr="$HOST:$PORT" \
    "${backend_args[@]}" \
    --state-dir="$STATE_DIR" \
    --telemetry=disable \
    --debug-addr=- \
    --log-level=info \
    </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" > "$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  while ! port_answers; do
    if ! alive "$pid"; then
      rm -f "$PID_FILE"
      printf 'ferretdb: error: FerretDB exited during start-up; last lines of %s:\n' "$(rel "$LOG_FILE")" >&2
      tail -n 20 "$LOG_FILE" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      printf 'ferretdb: error: %s:%s did not answer within %ss; last lines of %s:\n' \
        "$HOST" "$PORT" "$START_TIMEOUT" "$(rel "$LOG_FILE")" >&2
      tail -n 20 "$LOG_FILE" >&2
      exit 1
    fi
    sleep 0.2
  done
  log "started (pid $pid, $HANDLER) on mongodb://$HOST:$PORT, $where, log in $(rel "$LOG_FILE")"
}

cmd_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    log "not running (no live process from $(rel "$PID_FILE"))"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "pid $pid still alive 10 s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid="$(our_pid)"; then
    if port_answers; then
      echo "running (pid $pid) on $HOST:$PORT"
    else
      echo "running (pid $pid) but $HOST:$PORT does not answer"
    fi
  elif port_answers; then
    echo "running: $HOST:$PORT answers, but not a process started by this script"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  build) take_lock; cmd_build ;;
  start) take_lock; cmd_start ;;
  stop) take_lock; cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {build|start|stop|status}" >&2; exit 2 ;;
esac
