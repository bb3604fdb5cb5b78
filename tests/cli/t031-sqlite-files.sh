#!/usr/bin/env bash
# SQLite files at start-up (issue 12): eight processes opening one brand-new
# file at once, fifty rounds in a row, must all succeed (the switch to WAL is
# retried within the busy timeout); and a database file, its -wal file or its
# directory that the server's user may not write must stop `meditrack serve`
# (and `init`) within a second with exit status 3 and a message naming the
# file and the problem. The permission cases run the server as an
# unprivileged user (nobody, through setpriv) when the suite runs as root,
# since root bypasses file permissions. SQLite only: other dialects print a
# skip. Last line "N passed, N failed".
set -uo pipefail

: "${MEDITRACK:?MEDITRACK is not set (run through scripts/run-tests.sh)}"
dialect=${MT_TEST_DIALECT:-sqlite}
if [[ $dialect != sqlite ]]; then
    echo "skip: SQLite files only (MT_TEST_DIALECT=$dialect)"
    echo "0 passed, 0 failed"
    exit 0
fi
# Under /tmp rather than MT_TEST_TMP: the unprivileged user must be able to
# reach the directories (a mktemp -d parent is private to its owner).
tmp=$(mktemp -d /tmp/t031.XXXXXX)
chmod 755 "$tmp"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

bg_pids=()
cleanup() {
    for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    chmod -R u+rwX "$tmp" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

export ENV_FILE=/dev/null LOG_FORMAT=text LOG_LEVEL=info SEED_ON_EMPTY=false
export DB_WAIT_ATTEMPTS=30 DB_WAIT_INTERVAL=2
now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
show_log() { sed 's/^/    | /' "$1" | tail -n 8; }

# ---------------------------------------------------------------------------
echo "# eight processes open one brand-new file at once, 50 rounds"
# `db current` is the cheapest command that opens (and so switches to WAL)
# the database; each round starts eight of them on a file nobody made yet.
# The leak check at exit, half of each short process's time under ASan, is
# left to the suites that run `db current` once; here only the race counts.
race_asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
race_failures=0
race_rounds=0
for round in $(seq 1 50); do
    dir="$tmp/race$round"
    mkdir "$dir"
    pids=()
    for i in 1 2 3 4 5 6 7 8; do
        ASAN_OPTIONS=$race_asan DATABASE_URL="sqlite:///$dir/new.db" "$MEDITRACK" db current \
            >"$dir/out$i" 2>&1 &
        pids+=($!)
    done
    round_ok=1
    for i in 1 2 3 4 5 6 7 8; do
        if ! wait "${pids[$((i - 1))]}"; then
            round_ok=0
            race_failures=$((race_failures + 1))
            echo "    round $round, process $i: $(tail -n 1 "$dir/out$i")"
        fi
    done
    ((round_ok)) && race_rounds=$((race_rounds + 1))
    rm -rf "$dir"
done
check "50 rounds of 8 processes on a new file: $race_rounds rounds without a failure" \
    test "$race_failures:$race_rounds" = "0:50"

# ---------------------------------------------------------------------------
echo "# files and directories the server may not write"
if [[ $(id -u) == 0 ]]; then
    runas=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    who="nobody"
else
    runas=()
    who="$(id -un) (not root: permissions are its own)"
fi
echo "    the server runs as $who"

# make_db PATH: a migrated database at PATH, made by the suite's own user.
make_db() { DATABASE_URL="sqlite:///$1" "$MEDITRACK" db upgrade head >/dev/null 2>&1; }

# serve_as NAME PATH [COMMAND]: runs `meditrack COMMAND` (serve) as the
# unprivileged user on sqlite:///PATH; exit status in $rc, wall time in $ms,
# output in $log. A server that starts after all is stopped after 3 s.
serve_as() {
    local name=$1 path=$2 cmd=${3:-serve} t0
    log="$tmp/$name.log"
    t0=$(now_ms)
    timeout -s TERM 3 "${runas[@]}" env DATABASE_URL="sqlite:///$path" PORT="$(free_port)" \
        "$MEDITRACK" "$cmd" >"$log" 2>&1
    rc=$?
    ms=$(($(now_ms) - t0))
}

# expect_refused NAME WHAT TEXT...: exit 3 at once, and the log names the
# file and the problem (each TEXT occurs in one error line). "At once" is
# proven by the absence of the retry loop, which would take 54 s; the time is
# printed (a few tens of ms on a quiet machine) and bounded loosely, so that
# a loaded machine running the sanitizer build does not fail the check.
expect_refused() {
    local name=$1 what=$2; shift 2
    check "$what: exit 3 (got $rc)" test "$rc" = 3 || show_log "$log"
    check "$what: stopped at once (${ms} ms)" test "$ms" -lt 5000
    local t
    for t in "$@"; do
        check "$what: the message says '$t'" grep -qF -- "$t" <(grep ERROR "$log") || show_log "$log"
    done
    check "$what: no retry loop" bash -c "! grep -q 'Database not ready (attempt' '$log'"
}

# 1. A database file owned by another user, mode 0644, in a directory that
#    anybody may write.
mkdir "$tmp/open"
make_db "$tmp/open/owned.db"
rm -f "$tmp/open/owned.db-wal" "$tmp/open/owned.db-shm"
chmod 0777 "$tmp/open"
if ((${#runas[@]})); then chmod 0644 "$tmp/open/owned.db"; else chmod 0444 "$tmp/open/owned.db"; fi
serve_as owned "$tmp/open/owned.db"
expect_refused owned "read-only database file" "\"$tmp/open/owned.db\"" "not writable" \
    "permission denied"
serve_as owned-init "$tmp/open/owned.db" init
expect_refused owned-init "read-only database file (init)" "\"$tmp/open/owned.db\"" \
    "not writable"

# 2. A new database in a directory the server may not write.
mkdir "$tmp/rodir"
chmod 0755 "$tmp/rodir"
((${#runas[@]})) || chmod 0555 "$tmp/rodir"
serve_as rodir-new "$tmp/rodir/new.db"
expect_refused rodir-new "new database in a read-only directory" "\"$tmp/rodir/new.db\"" \
    "directory \"$tmp/rodir\" is not writable"
check "new database in a read-only directory: no file was made" test ! -e "$tmp/rodir/new.db"

# 3. A writable database file in a read-only directory: SQLite could not
#    create its -wal and -shm files next to it.
mkdir "$tmp/rodir2"
make_db "$tmp/rodir2/file.db"
rm -f "$tmp/rodir2/file.db-wal" "$tmp/rodir2/file.db-shm" "$tmp/rodir2/file.db-migrate.lock"
chmod 0666 "$tmp/rodir2/file.db"
if ((${#runas[@]})); then chmod 0755 "$tmp/rodir2"; else chmod 0555 "$tmp/rodir2"; fi
serve_as rodir-file "$tmp/rodir2/file.db"
expect_refused rodir-file "writable file in a read-only directory" "\"$tmp/rodir2/file.db\"" \
    "directory \"$tmp/rodir2\" is not writable" "-wal and -shm"

# 4. The write-ahead log left by another user, read-only to the server.
mkdir "$tmp/wal"
make_db "$tmp/wal/w.db"
check "the migrated database keeps its -wal file" test -e "$tmp/wal/w.db-wal"
chmod 0777 "$tmp/wal"
chmod 0666 "$tmp/wal/w.db" "$tmp/wal/w.db-shm" "$tmp/wal/w.db-migrate.lock" 2>/dev/null
chmod 0444 "$tmp/wal/w.db-wal"
serve_as wal "$tmp/wal/w.db"
expect_refused wal "read-only -wal file" "\"$tmp/wal/w.db-wal\"" "write-ahead log" "not writable"

# 5. The same user on a database it may write starts normally: the cases
#    above fail for their permissions, not for the way the server is run.
mkdir "$tmp/fine"
chmod 0777 "$tmp/fine"
port=$(free_port)
"${runas[@]}" env DATABASE_URL="sqlite:///$tmp/fine/fine.db" PORT="$port" "$MEDITRACK" serve \
    >"$tmp/fine.log" 2>&1 &
fine_pid=$!
bg_pids+=("$fine_pid")
up=0
for _ in $(seq 1 100); do
    if curl -fs "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1; then up=1; break; fi
    kill -0 "$fine_pid" 2>/dev/null || break
    sleep 0.1
done
check "a writable database in a writable directory: the same user serves it" test "$up" = 1 ||
    show_log "$tmp/fine.log"
kill -TERM "$fine_pid" 2>/dev/null
wait "$fine_pid"
fine_rc=$?
check "that server stops cleanly on SIGTERM (exit $fine_rc)" test "$fine_rc" = 0

echo "$passed passed, $failed failed"
((failed == 0))
