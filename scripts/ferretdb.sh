#!/usr/bin/env bash
# FerretDB (MongoDB wire protocol on top of SQLite) for local development and tests.
#
#   scripts/ferretdb.sh build    build .cache/bin/ferretdb from the version pinned in tools/ferretdb/go.mod
#   scripts/ferretdb.sh start    build if needed, start on 127.0.0.1:27017 in the background (idempotent)
#   scripts/ferretdb.sh stop     stop the instance started by this script (idempotent)
#   scripts/ferretdb.sh status   print "running ..." (exit 0) / "not running" (exit 1)
#
# Everything lives under the repo's .cache/ (git-ignored):
#   .cache/bin/ferretdb            the binary            .cache/bin/ferretdb.stamp  hash of go.mod+go.sum it was built from
#   .cache/ferretdb-data/          SQLite files (one per database)
#   .cache/ferretdb-state/         FerretDB state.json (instance UUID, telemetry choice)
#   .cache/ferretdb.log            server log           .cache/ferretdb.pid        pid of the server we started
#
# Backend choice: SQLite (--handler=sqlite). It is a supported, non-experimental backend in
# FerretDB v1.x, needs no other service, keeps its data in plain files under .cache/, and does
# not take any of PostgreSQL's connections (the PostgreSQL backend opens a pool of its own).
# Measured on this machine: insert+findOne round trip p50 well under 1 ms (see docs/ferretdb.md).
#
# Environment overrides: FERRETDB_PORT (default 27017), FERRETDB_START_TIMEOUT (seconds, default 30),
# GOTOOLCHAIN (default "local": use the installed Go, which must be >= 1.24).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd -P)"
MOD_DIR="$REPO_ROOT/tools/ferretdb"
CACHE_DIR="$REPO_ROOT/.cache"
BIN="$CACHE_DIR/bin/ferretdb"
STAMP="$CACHE_DIR/bin/ferretdb.stamp"
DATA_DIR="$CACHE_DIR/ferretdb-data"
STATE_DIR="$CACHE_DIR/ferretdb-state"
LOG_FILE="$CACHE_DIR/ferretdb.log"
PID_FILE="$CACHE_DIR/ferretdb.pid"
HOST=127.0.0.1
PORT="${FERRETDB_PORT:-27017}"
START_TIMEOUT="${FERRETDB_START_TIMEOUT:-30}"
MODULE=github.com/FerretDB/FerretDB
# Bump when the build recipe below changes, so that existing binaries get rebuilt.
RECIPE=1

log() { printf 'ferretdb: %s\n' "$*"; }
die() { printf 'ferretdb: error: %s\n' "$*" >&2; exit 1; }

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
  [ -n "$version" ] || die "cannot find $MODULE in $MOD_DIR/go.mod"
  if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log "FerretDB $version already built: ${BIN#"$REPO_ROOT"/}"
    return 0
  fi
  find_go
  log "building FerretDB $version into ${BIN#"$REPO_ROOT"/} (first build takes ~2 min) ..."

  # Download the pinned module; `go mod download` checks it against tools/ferretdb/go.sum.
  local src
  src="$(cd "$MOD_DIR" && GOFLAGS=-mod=mod "$GO" mod download -json "$MODULE" |
         sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$src" ] && [ -f "$src/go.mod" ] || die "go mod download $MODULE@$version failed"

  # FerretDB's cmd/ferretdb panics at start-up unless build/version/version.txt exists, and that
  # generated file is not part of the published module (so `go install ...@v1.24.2` or
  # `go build` of cmd/ferretdb from tools/ferretdb give a binary that cannot start). The module
  # cache is read-only and `go build -overlay` refuses to touch it, so build from a writable copy
  # of the verified module source with version.txt added. That copy's own go.mod/go.sum pin the
  # dependencies (identical versions to tools/ferretdb/go.mod).
  local work
  mkdir -p "$CACHE_DIR/bin"
  work="$(mktemp -d "$CACHE_DIR/ferretdb-src.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  cp -R "$src/." "$work/"
  chmod -R u+w "$work"
  printf '%s\n' "$version" > "$work/build/version/version.txt"
  (cd "$work" && GOFLAGS="-buildvcs=false -mod=readonly" \
     "$GO" build -trimpath -o "$BIN.tmp" ./cmd/ferretdb) || die "go build failed"
  mv -f "$BIN.tmp" "$BIN"
  printf '%s\n' "$want" > "$STAMP"
  rm -rf "$work"
  trap - EXIT
}

port_answers() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null
}

# Prints the pid from the pid file if that process is alive and is our binary.
our_pid() {
  local pid exe
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  case "$exe" in "$BIN"|"$BIN (deleted)") ;; *) return 1 ;; esac
  echo "$pid"
}

cmd_start() {
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
  printf '\n==== %s start\n' "$(date -u +%FT%TZ)" >> "$LOG_FILE"
  # setsid: own session, so the server survives the shell/job that started it.
  setsid "$BIN" \
    --listen-addr="$HOST:$PORT" \
    --handler=sqlite \
    --sqlite-url="file:$DATA_DIR/" \
    --state-dir="$STATE_DIR" \
    --telemetry=disable \
    --debug-addr=- \
    --log-level=info \
    </dev/null >>"$LOG_FILE" 2>&1 &
  local pid=$!
  echo "$pid" > "$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  while ! port_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      printf 'ferretdb: error: FerretDB exited during start-up; last lines of %s:\n' "$LOG_FILE" >&2
      tail -n 20 "$LOG_FILE" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      printf 'ferretdb: error: %s:%s did not answer within %ss; last lines of %s:\n' \
        "$HOST" "$PORT" "$START_TIMEOUT" "$LOG_FILE" >&2
      tail -n 20 "$LOG_FILE" >&2
      exit 1
    fi
    sleep 0.2
  done
  log "started (pid $pid) on mongodb://$HOST:$PORT, data in ${DATA_DIR#"$REPO_ROOT"/}, log in ${LOG_FILE#"$REPO_ROOT"/}"
}

cmd_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    log "not running (no live pid file)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not exit after 10 s of SIGTERM; sending SIGKILL"
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
    echo "running: $HOST:$PORT answers, but not started by this script"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  build)  cmd_build ;;
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {build|start|stop|status}" >&2; exit 2 ;;
esac
