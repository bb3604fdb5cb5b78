#!/usr/bin/env bash
# Times `meditrack db copy` of a database with 100k doses in every direction
# between SQLite, PostgreSQL and MariaDB (the six pairs), and `meditrack
# backup` / `meditrack restore` of it, and prints one line per run: the
# whole command's wall time, and the copy and verification times the
# command reports. The database is generated with SQL on SQLite (DOSES sets
# the number, default 100000) and copied to the servers first. PostgreSQL and
# MariaDB: the servers of MT_TEST_PG_URL / MT_TEST_MYSQL_URL when set, else
# throw-away ones started here with scripts/test-servers.sh (stopped at the
# end). Uses the optimised build (build/meditrack) unless MEDITRACK is set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${MEDITRACK:-$root/build/meditrack}
doses=${DOSES:-100000}
if [[ ! -x $bin ]]; then
    (cd "$root" && make build >/dev/null)
fi
tmp=$(mktemp -d /tmp/meditrack-bench-copy.XXXXXX)
chmod 755 "$tmp"
servers=0
cleanup() {
    if ((servers)); then "$root/scripts/test-servers.sh" stop "$tmp/servers" >/dev/null 2>&1 || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
export LOG_LEVEL=warning
unset BACKUP_SCHEDULE MIGRATIONS_DIR

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    done
}
if [[ -z ${MT_TEST_PG_URL:-} || -z ${MT_TEST_MYSQL_URL:-} ]]; then
    export MT_TEST_PG_PORT=$(free_port) MT_TEST_MY_PORT=$(free_port)
    echo "starting throw-away PostgreSQL and MariaDB under $tmp/servers ..."
    "$root/scripts/test-servers.sh" start "$tmp/servers" >/dev/null
    servers=1
    eval "$("$root/scripts/test-servers.sh" env "$tmp/servers" | sed 's/^/export /')"
fi
export MT_TEST_TMP=$tmp
fresh() { MT_TEST_DIALECT=$1 "$root/tests/lib/fresh-db" "bench_$2"; }

# The database: persons, medications and $doses doses with microsecond
# times, generated with SQL on SQLite.
src="sqlite:///$tmp/src.db"
DATABASE_URL=$src "$bin" db upgrade >/dev/null
sqlite3 "$tmp/src.db" <<EOF
BEGIN;
INSERT INTO persons (id, first_name, last_name, is_default, created_at) VALUES
 (1, 'Zoë', 'Ångström', 1, '2024-01-01 00:00:00'), (2, 'José', NULL, 0, '2024-01-02 00:00:00');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, created_at, person_id)
SELECT i, 'Med ' || i, '1 tab', 'daily', 4, '2024-01-01 08:00:00', 1 + (i % 2) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $doses)
INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id)
SELECT i, 1 + (i % 10), 'Med ' || (1 + (i % 10)),
 strftime('%Y-%m-%d %H:%M:%S', '2020-01-01', '+' || i || ' minutes') || '.' || printf('%06d', (i * 7919) % 1000000),
 1 + ((1 + (i % 10)) % 2) FROM n;
COMMIT;
EOF
declare -A url=([sqlite]=$src)
url[postgresql]=$(fresh postgresql pg)
url[mysql]=$(fresh mysql my)
for d in postgresql mysql; do
    DATABASE_URL=$src "$bin" db copy --to "${url[$d]}" >/dev/null 2>&1
done

echo "meditrack: $bin; $doses doses (+ 2 persons, 10 medications); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
# run LABEL SOURCE ARGS...: one command, its wall time and reported times.
run() {
    local label=$1 source=$2; shift 2
    local a b out
    a=$(date +%s%N)
    if ! out=$(DATABASE_URL=$source "$bin" "$@" 2>"$tmp/err"); then
        printf '%-40s FAILED: %s\n' "$label" "$(tail -n 1 "$tmp/err")"
        return
    fi
    b=$(date +%s%N)
    printf '%-40s %6.2f s  (%s)\n' "$label" "$(echo "($b - $a) / 1000000000" | bc -l)" \
        "$(grep -oE 'copied in [0-9.]+ s, verified in [0-9.]+ s|in [0-9.]+ s$' <<<"$out" | head -n 1)"
}
n=0
for from in sqlite postgresql mysql; do
    for to in sqlite postgresql mysql; do
        [[ $from == "$to" ]] && continue
        n=$((n + 1))
        if [[ $to == sqlite ]]; then target="sqlite:///$tmp/to-$n.db"; else target=$(fresh "$to" "t$n"); fi
        run "db copy $from -> $to" "${url[$from]}" db copy --to "$target"
    done
done
for from in sqlite postgresql mysql; do
    run "backup $from" "${url[$from]}" backup "$tmp/backup-$from.db"
done
for to in sqlite postgresql mysql; do
    if [[ $to == sqlite ]]; then target="sqlite:///$tmp/restored.db"; else target=$(fresh "$to" "r$to"); fi
    run "restore (from postgresql) -> $to" "$target" restore "$tmp/backup-postgresql.db"
done
