#!/usr/bin/env bash
# Run the test suite against PostgreSQL (Debian/Ubuntu). Installs the server if missing,
# starts a throwaway cluster on 127.0.0.1 on a free port, runs `python -m pytest -q` with
# WORKBENCH_TEST_DATABASE_URL set (each test gets its own database, see tests/conftest.py;
# tests that never open a database, no `data_dir` fixture, are left to the default suite),
# then stops the cluster and deletes it. .ci/run runs it beside the default suite.
#
#   bash scripts/test_postgres.sh                  # the whole suite
#   bash scripts/test_postgres.sh tests/test_usage.py -x   # arguments go to pytest
#
# WORKBENCH_PG_TEST_TIMEOUT_S bounds the pytest run (default 1800 s).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "== installing the PostgreSQL server (apt)"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi
python -c "import psycopg" 2>/dev/null || python -m pip install -q "$(grep '^psycopg' requirements.txt)"

BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d /tmp/workbench-pg.XXXXXX)
PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" -eq 0 ]; then  # initdb refuses to run as root
    chown postgres "$WORK"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

cleanup() {
    as_pg "$BIN/pg_ctl" -D "$WORK/data" -m immediate -t 30 stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== throwaway cluster: $BIN on 127.0.0.1:$PORT in $WORK"
as_pg "$BIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --no-sync >"$WORK/initdb.log" \
    || { cat "$WORK/initdb.log"; exit 1; }
# Durability off: the cluster is deleted afterwards and speed is all that matters.
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK -c max_connections=200 -c fsync=off \
     -c synchronous_commit=off -c full_page_writes=off" >/dev/null \
    || { tail -20 "$WORK/server.log"; exit 1; }

export WORKBENCH_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
echo "== python -m pytest -q $* (WORKBENCH_TEST_DATABASE_URL=$WORKBENCH_TEST_DATABASE_URL)"
started=$(date +%s)
status=0
# In the background so Ctrl-C or a TERM stops it at once (timeout leads its own process
# group: killing the group also ends the app processes some tests start).
timeout "${WORKBENCH_PG_TEST_TIMEOUT_S:-1800}" python -m pytest -q "$@" &
tests=$!
trap 'kill -TERM -- "-$tests" 2>/dev/null; exit 130' INT TERM
wait "$tests" || status=$?
echo "== PostgreSQL run: exit $status in $(( $(date +%s) - started )) s"
if [ "$status" -ne 0 ] && grep -q "ERROR" "$WORK/server.log"; then
    echo "== server errors (last 20):"; grep "ERROR" "$WORK/server.log" | tail -20
fi
exit "$status"
