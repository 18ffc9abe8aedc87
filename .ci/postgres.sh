#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite's PostgreSQL lane and bench/workers.py.
#
#   eval "$(.ci/postgres.sh start)"   # installs PostgreSQL if missing, starts (or reuses) the
#                                     # cluster and exports COLLECTOR_TEST_DATABASE_URL
#   .ci/postgres.sh url               # the URL of the running cluster
#   .ci/postgres.sh stop              # stops the cluster and deletes its directory
#
# The cluster lives in $COLLECTOR_PG_DIR (default /tmp/collector-pg-$UID), listens on 127.0.0.1
# only, on a free port, with trust authentication for loopback: it holds test data and nothing
# else. Durability is switched off (fsync, full-page writes) because the data is thrown away.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user
# (created if missing). Only the cluster this script started is ever stopped.
# Everything but the final `export` line goes to stderr, so `eval` sees only that line.
set -euo pipefail

PGDIR="${COLLECTOR_PG_DIR:-/tmp/collector-pg-$(id -u)}"
DATA="$PGDIR/data"
DBUSER="collector"

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir)"
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    fi
    return 1
}

install_server() {
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if command -v apt-get >/dev/null 2>&1; then
        say "installing PostgreSQL with apt-get"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        # postgresql-common would create and start a default cluster on port 5432; this script
        # makes its own, so the package's cluster creation is switched off first.
        $sudo mkdir -p /etc/postgresql-common/createcluster.d
        echo "create_main_cluster = false" \
            | $sudo tee /etc/postgresql-common/createcluster.d/collector-ci.conf >/dev/null
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    elif command -v dnf >/dev/null 2>&1; then
        $sudo dnf install -y -q postgresql-server >&2
    else
        say "no PostgreSQL server binaries and no known package manager"; exit 1
    fi
}

# Run a command as the user that owns the cluster.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

url_of() { echo "postgresql+psycopg://$DBUSER@127.0.0.1:$1/postgres"; }

running_port() {
    # The port of the cluster in $DATA if its postmaster answers, else nothing.
    [ -f "$DATA/postmaster.pid" ] || return 1
    local port
    port="$(sed -n 4p "$DATA/postmaster.pid")"
    [ -n "$port" ] || return 1
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" || return 1
    echo "$port"
}

cmd_start() {
    BIN="$(find_bindir)" || { install_server; BIN="$(find_bindir)"; }
    local port
    if port="$(running_port)"; then
        say "reusing the cluster in $DATA on port $port"
        echo "export COLLECTOR_TEST_DATABASE_URL=$(url_of "$port")"
        return 0
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
    mkdir -p "$PGDIR"
    chmod 755 "$PGDIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PGDIR"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        rm -rf "$DATA"
        as_owner "$BIN/initdb" -D "$DATA" -U "$DBUSER" --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 --no-sync >/dev/null 2>"$PGDIR/initdb.log" \
            || as_owner "$BIN/initdb" -D "$DATA" -U "$DBUSER" --auth=trust --encoding=UTF8 \
                --locale=C --no-sync >/dev/null 2>>"$PGDIR/initdb.log" \
            || { cat "$PGDIR/initdb.log" >&2; exit 1; }
    fi
    port="$(free_port)"
    # Sockets go to the cluster's own directory, so nothing else's /var/run is touched.
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$PGDIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PGDIR -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
-c shared_buffers=128MB" start >&2 \
        || { tail -n 30 "$PGDIR/server.log" >&2; exit 1; }
    say "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') running in $DATA on 127.0.0.1:$port"
    echo "export COLLECTOR_TEST_DATABASE_URL=$(url_of "$port")"
}

cmd_stop() {
    BIN="$(find_bindir)" || { say "no PostgreSQL binaries: nothing to stop"; return 0; }
    if [ -f "$DATA/postmaster.pid" ]; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
    fi
    rm -rf "$PGDIR"
    say "stopped and removed $PGDIR"
}

cmd_url() {
    BIN="$(find_bindir)" || exit 1
    local port
    port="$(running_port)" || { say "no cluster running in $DATA"; exit 1; }
    url_of "$port"
}

case "${1:-start}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    *) echo "usage: $0 [start|stop|url]" >&2; exit 2 ;;
esac
