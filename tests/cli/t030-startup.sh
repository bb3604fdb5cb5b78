#!/usr/bin/env bash
# The start-up sequence (`meditrack init`, `meditrack serve`) on the dialect in
# MT_TEST_DIALECT: fresh database; database at every reference revision;
# untracked database; database server started 10 s after us (SQLite: the
# directory and file cases instead); server never started; wrong password
# and malformed URL; a failing revision; 8 instances at once on one fresh
# database; SIGTERM while a request is in flight. Run by scripts/run-tests.sh
# with MEDITRACK, MT_TEST_* set; last line "N passed, N failed".
set -uo pipefail

: "${MEDITRACK:?MEDITRACK is not set (run through scripts/run-tests.sh)}"
root=${MT_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
dialect=${MT_TEST_DIALECT:-sqlite}
tmp=$(mktemp -d "${MT_TEST_TMP:-/tmp}/t030.XXXXXX")
chmod 755 "$tmp"
export MT_TEST_TMP=$tmp
fresh_db() { "$root/tests/lib/fresh-db" "$1"; }

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

bg_pids=()
servers_dir=""
cleanup() {
    for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if [[ -n $servers_dir ]]; then
        MT_TEST_PG_PORT=$alt_pg_port MT_TEST_MY_PORT=$alt_my_port \
            "$root/scripts/test-servers.sh" stop "$servers_dir" >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

# Settings every run gets: quick waits, no .env from the working directory.
export ENV_FILE=/dev/null LOG_FORMAT=text LOG_LEVEL=info
export DB_WAIT_ATTEMPTS=30 DB_WAIT_INTERVAL=1

# run_init NAME URL [VAR=VALUE...]: `meditrack init` with DATABASE_URL=URL;
# output in $tmp/NAME.log, exit status in $rc, duration in $ms.
run_init() {
    local name=$1 url=$2; shift 2
    local t0
    t0=$(now_ms)
    env "$@" DATABASE_URL="$url" "$MEDITRACK" init >"$tmp/$name.log" 2>&1
    rc=$?
    ms=$(($(now_ms) - t0))
    log="$tmp/$name.log"
}

# in_order LOG LINE...: each line occurs in LOG, in this order.
in_order() {
    python3 - "$@" <<'EOF'
import sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
pos = 0
for want in sys.argv[2:]:
    for i in range(pos, len(lines)):
        if want in lines[i]:
            pos = i + 1
            break
    else:
        print(f"  missing, in this order: {want!r}")
        sys.exit(1)
EOF
}
show_log() { sed 's/^/    | /' "$1" | tail -n 25; }

# sql URL QUERY: one query through the dialect's own client (not through
# meditrack), rows as tab-separated text.
sql() {
    local url=$1 q=$2
    case $dialect in
    sqlite) sqlite3 -separator $'\t' "${url#sqlite:///}" "$q" ;;
    postgresql) psql "$url" -qAt -F $'\t' -c "$q" ;;
    mysql)
        local rest=${url#mysql://} cred hp
        cred=${rest%%@*}; hp=${rest#*@}
        MYSQL_PWD=${cred#*:} mariadb --no-defaults -N -B -h "${hp%%:*}" -P "$(cut -d/ -f1 <<<"${hp#*:}")" \
            -u "${cred%%:*}" "${hp#*/}" -e "$q" ;;
    esac
}
current_rev() { DATABASE_URL=$1 "$MEDITRACK" db current 2>/dev/null | grep -oE '^[0-9a-zA-Z_]+' | head -n 1; }

head_rev=$("$MEDITRACK" db heads 2>/dev/null | grep -oE '^[0-9a-f]{12}' | head -n 1)
reference_revs=(f4162eb18a25 588f4ae43933 35bddb769482 03586fa62d43 d9c3da4e9c05)
check "the binary knows its head revision ($head_rev)" test -n "$head_rev"

all_lines=("=== MediTrack Backend Initialization ===" "Waiting for database to be ready..."
    "Database is ready!" "Running database migrations..." "Current migration status:"
    "Applying migrations..." "Migrations completed successfully!"
    "Checking if initial data seeding is needed..." "Initial data seeding completed (if needed)"
    "=== Initialization Complete ===")

# ---------------------------------------------------------------------------
echo "# fresh database"
url=$(fresh_db t030_fresh)
run_init fresh "$url"
check "fresh: init exits 0" test "$rc" = 0 || show_log "$log"
check "fresh: every step logged in order" in_order "$log" "${all_lines[@]}"
check "fresh: whole chain applied" in_order "$log" "Current migration status: base" \
    "Running upgrade  -> f4162eb18a25" "-> $head_rev" "Migrations completed successfully!"
check "fresh: at head afterwards" test "$(current_rev "$url")" = "$head_rev"
check "fresh: the default person was seeded" \
    test "$(sql "$url" 'SELECT COUNT(*) FROM persons'):$(sql "$url" 'SELECT COUNT(*) FROM persons WHERE is_default')" = "1:1"
check "fresh: no demo medications unless asked" test "$(sql "$url" 'SELECT COUNT(*) FROM medications')" = 0
check "fresh: text lines carry time and duration" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z INFO Database is ready! .*duration_ms=[0-9]+' "$log"
run_init fresh-again "$url"
check "fresh, second run: exits 0" test "$rc" = 0
check "fresh, second run: nothing to apply" bash -c "! grep -q 'Running upgrade' '$log'"
check "fresh, second run: nothing seeded" in_order "$log" "Nothing to seed"
check "fresh, second run: still one person" test "$(sql "$url" 'SELECT COUNT(*) FROM persons')" = 1
run_init fresh-json "$url" LOG_FORMAT=json
check "LOG_FORMAT=json: one JSON object per line, same steps" python3 - "$log" <<'EOF'
import json, sys
msgs = []
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert {"time", "level", "msg"} <= o.keys(), o
    msgs.append(o["msg"])
for want in ("=== MediTrack Backend Initialization ===", "Database is ready!",
             "Current migration status: ", "=== Initialization Complete ==="):
    assert any(m.startswith(want) for m in msgs), want
ready = [json.loads(l) for l in open(sys.argv[1]) if "Database is ready!" in l][0]
assert isinstance(ready.get("duration_ms"), int), ready
EOF

url=$(fresh_db t030_demo)
run_init demo "$url" SEED_DEMO_DATA=true
check "SEED_DEMO_DATA=true: four demo medications for the default person" \
    test "$rc:$(sql "$url" 'SELECT COUNT(*) FROM medications m JOIN persons p ON p.id = m.person_id')" = "0:4"
# The migrations create the default person; SEED_ON_EMPTY matters for a
# database without any person (e.g. one the reference made with create_all).
url=$(fresh_db t030_noseed)
DATABASE_URL=$url "$MEDITRACK" db upgrade head >/dev/null 2>&1
sql "$url" "DELETE FROM persons" >/dev/null
run_init noseed "$url" SEED_ON_EMPTY=false
check "SEED_ON_EMPTY=false: no person created" test "$rc:$(sql "$url" 'SELECT COUNT(*) FROM persons')" = "0:0"
run_init seedempty "$url"
check "SEED_ON_EMPTY=true: the default person is created when there is none" \
    test "$rc:$(sql "$url" 'SELECT COUNT(*) FROM persons WHERE is_default')" = "0:1"
run_init nodemo "$url" SEED_DEMO_DATA=true
check "SEED_DEMO_DATA=true on an existing database: ignored" \
    test "$rc:$(sql "$url" 'SELECT COUNT(*) FROM medications')" = "0:0"
sql "$url" "DELETE FROM persons" >/dev/null
out=$(DATABASE_URL=$url "$MEDITRACK" seed 2>&1)
check "meditrack seed by hand creates the default person" \
    test "$?:$(sql "$url" 'SELECT COUNT(*) FROM persons')" = "0:1"
out=$(DATABASE_URL=$url "$MEDITRACK" seed --demo 2>&1)
check "meditrack seed --demo adds the demo medications to a database without any" \
    test "$?:$(sql "$url" 'SELECT COUNT(*) FROM medications')" = "0:4"
out=$(DATABASE_URL=$url "$MEDITRACK" seed --demo 2>&1)
check "meditrack seed --demo leaves a database with data alone" \
    test "$?:$(sql "$url" 'SELECT COUNT(*) FROM medications')" = "0:4"
check "meditrack seed says why" grep -q 'already has data' <<<"$out"

# ---------------------------------------------------------------------------
echo "# database at every reference revision"
for rev in "${reference_revs[@]}"; do
    url=$(fresh_db "t030_at_$rev")
    if ! DATABASE_URL=$url "$MEDITRACK" db upgrade "$rev" >"$tmp/prep-$rev.log" 2>&1; then
        bad "at $rev: could not prepare the database"; show_log "$tmp/prep-$rev.log"; continue
    fi
    run_init "at-$rev" "$url"
    check "at $rev: init exits 0" test "$rc" = 0 || show_log "$log"
    check "at $rev: reported and upgraded from there" in_order "$log" \
        "Current migration status: $rev" "Applying migrations..." "Migrations completed successfully!"
    if [[ $rev != "$head_rev" ]]; then
        check "at $rev: first step starts at $rev" grep -q "Running upgrade $rev -> " "$log"
    fi
    check "at $rev: at head afterwards" test "$(current_rev "$url")" = "$head_rev"
done

# ---------------------------------------------------------------------------
echo "# untracked database"
url=$(fresh_db t030_untracked)
DATABASE_URL=$url "$MEDITRACK" db upgrade 35bddb769482 >/dev/null 2>&1
sql "$url" "INSERT INTO persons (id, name, is_default) VALUES (7, 'Zoë Untracked', 0)" >/dev/null 2>&1 ||
    sql "$url" "INSERT INTO persons (id, name, is_default) VALUES (7, 'Zoë Untracked', false)" >/dev/null
sql "$url" "DROP TABLE alembic_version" >/dev/null
sql "$url" "DROP TABLE meditrack_migration_log" >/dev/null 2>&1
before=$(sql "$url" "SELECT COUNT(*) FROM medications")
run_init untracked "$url"
check "untracked: init exits 0" test "$rc" = 0 || show_log "$log"
check "untracked: found as 35bddb769482, then upgraded from there" in_order "$log" \
    "Current migration status: base" "35bddb769482" "Running upgrade 35bddb769482 -> " \
    "Migrations completed successfully!"
check "untracked: at head afterwards" test "$(current_rev "$url")" = "$head_rev"
kept=$(sql "$url" "SELECT first_name FROM persons WHERE id = 7"):$(sql "$url" "SELECT COUNT(*) FROM medications")
check "untracked: rows kept ($kept)" test "${kept#Zoë}" != "$kept" -a "${kept##*:}" = "$before"

url=$(fresh_db t030_alien)
sql "$url" "CREATE TABLE medications (id INTEGER PRIMARY KEY, label VARCHAR(20))" >/dev/null
sql "$url" "INSERT INTO medications (id, label) VALUES (1, 'not ours')" >/dev/null
run_init alien "$url"
check "unmatched tables: exit $rc (MT_EXIT_ADOPT = 7)" test "$rc" = 7 || show_log "$log"
check "unmatched tables: says what it found and how to fix it by hand" \
    grep -q 'meditrack db' "$log"
check "unmatched tables: nothing touched" test "$(sql "$url" "SELECT label FROM medications")" = "not ours"

# ---------------------------------------------------------------------------
if [[ $dialect == sqlite ]]; then
    echo "# SQLite file and directory"
    run_init mkdir "sqlite:///$tmp/new/sub/dir/meditrack.db"
    check "missing directories are created, then migrated" test "$rc:$(current_rev "sqlite:///$tmp/new/sub/dir/meditrack.db")" = "0:$head_rev"
    echo "not a directory" >"$tmp/plainfile"
    run_init notdir "sqlite:///$tmp/plainfile/meditrack.db" DB_WAIT_ATTEMPTS=3 DB_WAIT_INTERVAL=1
    check "unusable path: exit $rc after 3 attempts (MT_EXIT_DB_UNREACHABLE = 4)" \
        test "$rc:$(grep -c 'Database not ready (attempt' "$log")" = "4:3"
    check "unusable path: the reason is given" in_order "$log" "Database not ready (attempt 1/3): " \
        "Database did not become ready after 3 attempts"
    run_init malformed "sqlite:/nowhere"
    check "malformed URL: exit $rc at once (MT_EXIT_CONFIG = 3)" test "$rc" = 3
else
    echo "# database server started 10 s after meditrack"
    alt_pg_port=$(free_port)
    alt_my_port=$(free_port)
    servers_dir="$tmp/servers"
    which=pg; [[ $dialect == mysql ]] && which=my
    export MT_TEST_PG_PORT=$alt_pg_port MT_TEST_MY_PORT=$alt_my_port
    # Prepared once and stopped, so that the late start is a plain server start
    # (users and databases exist: no window where the server answers without them).
    if "$root/scripts/test-servers.sh" start "$servers_dir" "$which" >"$tmp/servers.log" 2>&1 &&
        "$root/scripts/test-servers.sh" stop "$servers_dir" "$which" >>"$tmp/servers.log" 2>&1; then
        late_url=$("$root/scripts/test-servers.sh" env "$servers_dir" | grep -E "^MT_TEST_$( [[ $which == pg ]] && echo PG || echo MYSQL)_URL=" | cut -d= -f2-)
        t0=$(now_ms)
        env DATABASE_URL="$late_url" DB_WAIT_ATTEMPTS=30 DB_WAIT_INTERVAL=2 "$MEDITRACK" init >"$tmp/late.log" 2>&1 &
        late_pid=$!
        bg_pids+=("$late_pid")
        sleep 10
        "$root/scripts/test-servers.sh" start "$servers_dir" "$which" >>"$tmp/servers.log" 2>&1
        wait "$late_pid"
        rc=$?
        ms=$(($(now_ms) - t0))
        check "late server: init waited, then exit $rc after ${ms} ms" test "$rc" = 0 -a "$ms" -ge 10000 || show_log "$tmp/late.log"
        check "late server: refused attempts were logged with a reason" \
            test "$(grep -c 'Database not ready (attempt [0-9]*/30): ' "$tmp/late.log")" -ge 3
        check "late server: then ready, migrated, seeded" in_order "$tmp/late.log" "Database not ready" \
            "Database is ready!" "Migrations completed successfully!" "=== Initialization Complete ==="
        check "late server: password never printed" bash -c "! grep -q meditrack-test-pw '$tmp/late.log'"
        "$root/scripts/test-servers.sh" stop "$servers_dir" "$which" >/dev/null 2>&1
    else
        bad "late server: could not prepare the throw-away server"; show_log "$tmp/servers.log"
    fi
    unset MT_TEST_PG_PORT MT_TEST_MY_PORT

    echo "# server never started"
    dead_port=$(free_port)
    case $dialect in
    postgresql) dead_url="postgresql://meditrack:meditrack-test-pw@127.0.0.1:$dead_port/meditrack_test" ;;
    mysql) dead_url="mysql://meditrack:meditrack-test-pw@127.0.0.1:$dead_port/meditrack_test" ;;
    esac
    run_init never "$dead_url" DB_WAIT_ATTEMPTS=3 DB_WAIT_INTERVAL=1
    check "never started: exit $rc (MT_EXIT_DB_UNREACHABLE = 4) after exactly 3 attempts" \
        test "$rc:$(grep -c 'Database not ready (attempt' "$log")" = "4:3" || show_log "$log"
    check "never started: gave up within the bound (${ms} ms)" test "$ms" -lt 6000
    check "never started: password masked" bash -c "! grep -q meditrack-test-pw '$log' && grep -q '\*\*\*' '$log'"

    echo "# wrong password, malformed URL, missing database"
    good_url=$(fresh_db t030_auth)
    wrong_url=$(sed 's/:meditrack-test-pw@/:Wr0ng-s3cret-pw@/' <<<"$good_url")
    run_init wrongpw "$wrong_url" DB_WAIT_ATTEMPTS=5 DB_WAIT_INTERVAL=2
    check "wrong password: exit $rc at once (MT_EXIT_DB_AUTH = 5) in ${ms} ms" \
        test "$rc" = 5 -a "$ms" -lt 3000 || show_log "$log"
    check "wrong password: one attempt, reason given" \
        test "$(grep -c 'Database not ready (attempt' "$log")" = 0 -a "$(grep -ci 'auth\|denied\|password' "$log")" -ge 1
    check "wrong password: the password is not in the output" bash -c "! grep -q 'Wr0ng-s3cret-pw' '$log'"
    run_init malformed "${good_url%%://*}://meditrack@127.0.0.1:notaport/x"
    check "malformed URL: exit $rc at once (MT_EXIT_CONFIG = 3)" test "$rc" = 3
    missing_url="${good_url%/*}/t030_missing_$$"
    run_init nodb "$missing_url"
    check "missing database: exit $rc at once (MT_EXIT_DB_AUTH = 5), says so" \
        test "$rc" = 5 -a "$ms" -lt 3000
    check "missing database: suggests DB_CREATE" grep -q 'DB_CREATE' "$log"
    run_init dbcreate "$missing_url" DB_CREATE=true
    check "DB_CREATE=true: database created and migrated" \
        test "$rc:$(current_rev "$missing_url")" = "0:$head_rev" || show_log "$log"
    check "DB_CREATE=true: creation logged" grep -q 'Created database' "$log"
fi

# ---------------------------------------------------------------------------
echo "# a failing revision"
migs="$tmp/migrations"
cp -r "$root/migrations" "$migs"
MIGRATIONS_DIR=$migs DATABASE_URL="sqlite:///$tmp/scaffold.db" "$MEDITRACK" db revision -m "broken on purpose" >"$tmp/scaffold.log" 2>&1
broken_dir=$(find "$migs" -maxdepth 1 -type d -name '*broken_on_purpose*' | head -n 1)
if [[ -n $broken_dir ]]; then
    broken=$(basename "$broken_dir"); broken=${broken%%_*}
    for d in sqlite postgresql mysql; do
        echo "INSERT INTO no_such_table_t030 (id) VALUES (1);" >"$broken_dir/up.$d.sql"
    done
    url=$(fresh_db t030_broken)
    run_init broken "$url" MIGRATIONS_DIR="$migs"
    check "failing revision: exit $rc (MT_EXIT_MIGRATE = 6)" test "$rc" = 6 || show_log "$log"
    check "failing revision: the error and the failing revision are printed" \
        grep -q "Migration failed: .*revision=$broken" "$log"
    check "failing revision: database stays at the last good revision" \
        test "$(current_rev "$url")" = "$head_rev"
    check "failing revision: the sequence stopped before seeding" \
        bash -c "! grep -q 'Checking if initial data seeding' '$log'"
    run_init broken-again "$url" MIGRATIONS_DIR="$migs"
    check "failing revision: a rerun fails the same way, nothing half-applied" \
        test "$rc:$(current_rev "$url")" = "6:$head_rev"
else
    bad "failing revision: meditrack db revision did not scaffold"; show_log "$tmp/scaffold.log"
fi

# ---------------------------------------------------------------------------
echo "# 8 instances at once on one fresh database"
url=$(fresh_db t030_eight)
pids=()
for i in 1 2 3 4 5 6 7 8; do
    env DATABASE_URL="$url" "$MEDITRACK" init >"$tmp/eight-$i.log" 2>&1 &
    pids+=($!)
done
codes=""
for p in "${pids[@]}"; do wait "$p"; codes+="$?"; done
check "8 at once: all exit 0 ($codes)" test "$codes" = 00000000
applied=$(grep -h 'Running upgrade' "$tmp"/eight-*.log | grep -oE -- '-> [0-9a-zA-Z_]+' | sort | uniq -d)
check "8 at once: no revision applied twice (logs)" test -z "$applied"
dups=$(sql "$url" "SELECT revision, COUNT(*) FROM meditrack_migration_log WHERE direction = 'upgrade' AND success = 1 GROUP BY revision HAVING COUNT(*) <> 1")
n_applied=$(sql "$url" "SELECT COUNT(DISTINCT revision) FROM meditrack_migration_log WHERE direction = 'upgrade' AND success = 1")
n_chain=$("$MEDITRACK" db history 2>/dev/null | grep -cE -- '->')
check "8 at once: the audit table shows each revision applied exactly once ($n_applied of $n_chain)" \
    test -z "$dups" -a "$n_applied" = "$n_chain"
check "8 at once: at head, one default person" \
    test "$(current_rev "$url"):$(sql "$url" 'SELECT COUNT(*) FROM persons')" = "$head_rev:1"

# ---------------------------------------------------------------------------
echo "# SIGTERM while serving"
url=$(fresh_db t030_serve)
port=$(free_port)
env DATABASE_URL="$url" PORT="$port" HOST=127.0.0.1 SHUTDOWN_GRACE=10 AUTH=off "$MEDITRACK" serve >"$tmp/serve.log" 2>&1 &
serve_pid=$!
bg_pids+=("$serve_pid")
check "serve: in-flight request finishes after SIGTERM, new ones are refused" \
    python3 - "$port" "$serve_pid" "$url" <<'EOF'
import json, os, signal, socket, sys, time, urllib.request
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.time() + 60
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            if r.status == 200:
                break
    except Exception:
        pass
    if time.time() > deadline:
        sys.exit("never healthy")
    time.sleep(0.05)
body = json.dumps({"first_name": "In", "last_name": "Flight"}).encode()
s = socket.create_connection(("127.0.0.1", port), timeout=15)
s.sendall(b"POST /api/v1/persons/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
try:
    c = socket.create_connection(("127.0.0.1", port), timeout=2)
    c.sendall(b"GET /health HTTP/1.0\r\n\r\n")
    if c.recv(100):
        sys.exit("a new request was served after SIGTERM")
except OSError:
    pass
s.sendall(body[10:])
reply = b""
while not reply.endswith(b"}"):
    chunk = s.recv(4096)
    if not chunk:
        break
    reply += chunk
status = reply.split(b"\r\n", 1)[0]
if b" 201 " not in status + b" ":
    sys.exit("in-flight request: %r" % reply[:200])
EOF
wait "$serve_pid"
rc=$?
check "serve: exit 0 after SIGTERM (got $rc)" test "$rc" = 0
check "serve: the in-flight person was stored" test "$(sql "$url" "SELECT COUNT(*) FROM persons WHERE last_name = 'Flight'")" = 1
check "serve: start-up lines before serving" in_order "$tmp/serve.log" "${all_lines[@]}" "Starting application server..."

echo "$passed passed, $failed failed"
((failed == 0))
