#!/usr/bin/env bash
# Starts or stops throw-away PostgreSQL and MariaDB servers on loopback for the
# test suites. Data lives under a temporary directory; nothing touches the
# system clusters.  Usage: test-servers.sh start DIR | stop DIR | restart DIR | env DIR
# An optional third argument, pg or my, starts, stops or restarts only that
# server. Starting again on a stopped DIR starts the servers with their data;
# restart stops running servers first (the fault tests use it while an API
# server keeps running).
set -euo pipefail

cmd=${1:?usage: test-servers.sh start|stop|restart|env DIR}
dir=${2:?usage: test-servers.sh start|stop|restart|env DIR}
PG_PORT=${MT_TEST_PG_PORT:-55432}
MY_PORT=${MT_TEST_MY_PORT:-53306}

pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$d" ]] || { echo "test-servers: PostgreSQL server binaries not found" >&2; exit 1; }
    echo "$d"
}

# The servers refuse to run as root, so they run as an unprivileged user.
RUN_AS=${MT_TEST_RUN_AS:-}
if [[ -z "$RUN_AS" && $(id -u) -eq 0 ]]; then RUN_AS=nobody; fi
as_user() { if [[ -n "$RUN_AS" ]]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi; }

start_pg() {
    local bin; bin=$(pg_bin)
    mkdir -p "$dir/pg"
    [[ -n "$RUN_AS" ]] && chown "$RUN_AS" "$dir" "$dir/pg"
    if [[ ! -f "$dir/pg/data/PG_VERSION" ]]; then
        as_user "$bin/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 ||
            { cat "$dir/pg/initdb.log" >&2; exit 1; }
    fi
    as_user "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$dir/pg -c fsync=off -c max_connections=200" start >/dev/null ||
        { cat "$dir/pg/server.log" >&2; exit 1; }
    # The password for the meditrack role lets tests exercise authentication failures.
    as_user "$bin/psql" -h "$dir/pg" -p "$PG_PORT" -U postgres -qAt -v ON_ERROR_STOP=1 -c \
        "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='meditrack') THEN CREATE ROLE meditrack LOGIN SUPERUSER PASSWORD 'meditrack-test-pw'; END IF; END\$\$;" >/dev/null
    as_user "$bin/psql" -h "$dir/pg" -p "$PG_PORT" -U postgres -qAt -c "CREATE DATABASE meditrack_test OWNER meditrack" >/dev/null 2>&1 || true
    # Switch to password authentication now that the role exists.
    # (TCP only: the admin commands above use the socket in $dir/pg, so a
    # restart on the same DIR still works.)
    sed -i '/^host/ s/ trust$/ scram-sha-256/' "$dir/pg/data/pg_hba.conf"
    as_user "$bin/pg_ctl" -D "$dir/pg/data" reload >/dev/null
}

stop_pg() {
    local bin; bin=$(pg_bin)
    [[ -f "$dir/pg/data/postmaster.pid" ]] && as_user "$bin/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
}

start_my() {
    mkdir -p "$dir/my"
    local user=${RUN_AS:-$(id -un)}
    chown "$user" "$dir/my" 2>/dev/null || true
    if [[ ! -d "$dir/my/data/mysql" ]]; then
        mariadb-install-db --no-defaults --datadir="$dir/my/data" --user="$user" --auth-root-authentication-method=normal \
            --skip-test-db >"$dir/my/install.log" 2>&1 || { cat "$dir/my/install.log" >&2; exit 1; }
    fi
    # A private tmpdir: temporary tables of this server must not share /tmp
    # with other servers and tests that clean it.
    mkdir -p "$dir/my/tmp"
    chown "$user" "$dir/my/tmp" 2>/dev/null || true
    as_user mariadbd --no-defaults --datadir="$dir/my/data" --bind-address=127.0.0.1 --port="$MY_PORT" \
        --tmpdir="$dir/my/tmp" --socket="$dir/my/mysqld.sock" --pid-file="$dir/my/mysqld.pid" --skip-log-bin --innodb-flush-log-at-trx-commit=0 \
        --max-connections=300 --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --log-error="$dir/my/server.log" >/dev/null 2>&1 &
    for _ in $(seq 1 120); do
        mariadb-admin --no-defaults -uroot --socket="$dir/my/mysqld.sock" ping >/dev/null 2>&1 && break
        sleep 0.5
    done
    mariadb --no-defaults -uroot --socket="$dir/my/mysqld.sock" -e \
        "CREATE USER IF NOT EXISTS 'meditrack'@'127.0.0.1' IDENTIFIED BY 'meditrack-test-pw';
         CREATE USER IF NOT EXISTS 'meditrack'@'localhost' IDENTIFIED BY 'meditrack-test-pw';
         GRANT ALL ON *.* TO 'meditrack'@'127.0.0.1' WITH GRANT OPTION;
         GRANT ALL ON *.* TO 'meditrack'@'localhost' WITH GRANT OPTION;
         CREATE DATABASE IF NOT EXISTS meditrack_test CHARACTER SET utf8mb4;" ||
        { cat "$dir/my/server.log" >&2; exit 1; }
}

stop_my() {
    if [[ -f "$dir/my/mysqld.pid" ]]; then
        kill "$(cat "$dir/my/mysqld.pid")" 2>/dev/null || true
        for _ in $(seq 1 60); do [[ -f "$dir/my/mysqld.pid" ]] || break; sleep 0.25; done
    fi
}

case "$cmd" in
start) mkdir -p "$dir"; [[ ${3:-} == my ]] || start_pg; [[ ${3:-} == pg ]] || start_my ;;
stop) [[ ${3:-} == my ]] || stop_pg; [[ ${3:-} == pg ]] || stop_my ;;
restart)
    [[ ${3:-} == my ]] || { stop_pg; start_pg; }
    [[ ${3:-} == pg ]] || { stop_my; start_my; }
    ;;
env)
    echo "MT_TEST_PG_URL=postgresql://meditrack:meditrack-test-pw@127.0.0.1:$PG_PORT/meditrack_test"
    echo "MT_TEST_MYSQL_URL=mysql://meditrack:meditrack-test-pw@127.0.0.1:$MY_PORT/meditrack_test"
    ;;
*) echo "usage: test-servers.sh start|stop|restart|env DIR" >&2; exit 2 ;;
esac
