#!/usr/bin/env bash
# The whole test run behind `make test`: starts throw-away PostgreSQL and
# MariaDB servers, runs the unit suite once and every database suite once per
# dialect (sqlite, postgresql, mysql), stops the servers (also on failure or
# Ctrl-C), and ends with the line "N passed, N failed, N skipped".
# MEDITRACK_TEST_DIALECTS=sqlite,postgresql,mysql selects dialects; a dialect
# left out is reported as SKIP and its suites are counted as skipped.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
all_dialects=(sqlite postgresql mysql)
IFS=, read -r -a dialects <<<"${MEDITRACK_TEST_DIALECTS:-sqlite,postgresql,mysql}"
build=${MT_TEST_BUILD:-build-asan}

tmp=$(mktemp -d /tmp/meditrack-test.XXXXXX)
chmod 755 "$tmp"
servers_started=0
cleanup() {
    if ((servers_started)); then scripts/test-servers.sh stop "$tmp/servers" >/dev/null 2>&1; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
export MEDITRACK="$root/$build/meditrack"
export MT_TEST_ROOT="$root"
export MT_TEST_BUILD_DIR="$root/$build"

passed=0
failed=0
skipped=0
failures=()

wanted() { local d; for d in "${dialects[@]}"; do [[ $d == "$1" ]] && return 0; done; return 1; }

# Runs one meson suite and adds its counts.
meson_suite() {
    local suite=$1 label=$2 out ok fail
    out=$(meson test -C "$build" --suite "$suite" --print-errorlogs --num-processes 2 2>&1)
    echo "$out" | grep -E '^ *[0-9]+/[0-9]+ ' | sed "s|^|  [$label] |"
    ok=$(echo "$out" | awk '/^Ok:/ {print $2}')
    fail=$(echo "$out" | awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $NF} END {print s+0}')
    ok=${ok:-0}
    if echo "$out" | grep -q "No suitable tests defined"; then return; fi
    if [[ -z $(echo "$out" | awk '/^Ok:/') ]]; then
        echo "$out" | tail -n 30
        fail=$((fail + 1))
    fi
    if ((fail)); then
        echo "$out" | sed -n '/^=* *[0-9]*\/[0-9]* *=*$/,$p' | head -n 200
        failures+=("$label")
    fi
    passed=$((passed + ok))
    failed=$((failed + fail))
}

# Runs one script suite (tests/*/tNNN-*.sh|.py) and adds the counts from its
# last line "N passed, N failed" (optionally ", N skipped").
script_suite() {
    local script=$1 label=$2 log last p f s rc
    log="$tmp/$(basename "$script").$label.log"
    "$script" >"$log" 2>&1
    rc=$?
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
    p=$(echo "$last" | awk '{print $1+0}')
    f=$(echo "$last" | awk '{print $3+0}')
    s=$(echo "$last" | awk '{print $5+0}')
    if [[ -z $last ]] || ((rc != 0 && f == 0)); then f=$((f + 1)); fi
    printf '  [%s] %-40s %s\n' "$label" "$(basename "$script")" "${last:-no result line (exit $rc)}"
    if ((f)); then
        grep -E 'FAIL|not ok|Error|error|ERROR|Sanitizer|runtime error' "$log" | head -n 40 | sed 's/^/      /'
        echo "      (full log: last 30 lines)"; tail -n 30 "$log" | sed 's/^/      /'
        failures+=("$label/$(basename "$script")")
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
}

# Picks a loopback TCP port nobody listens on, so that a developer's own
# servers (or a second test run) never collide with this run's servers.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    done
}

if wanted postgresql || wanted mysql; then
    # A port found free may be taken by someone else before the server binds
    # it; then the start is tried again on other ports (ports given by the
    # caller are used as they are).
    fixed_ports=${MT_TEST_PG_PORT:+1}${MT_TEST_MY_PORT:+1}
    for attempt in 1 2 3; do
        export MT_TEST_PG_PORT=${MT_TEST_PG_PORT:-$(free_port)}
        export MT_TEST_MY_PORT=${MT_TEST_MY_PORT:-$(free_port)}
        echo "== starting throw-away PostgreSQL and MariaDB servers under $tmp/servers"
        if scripts/test-servers.sh start "$tmp/servers"; then
            servers_started=1
            break
        fi
        scripts/test-servers.sh stop "$tmp/servers" >/dev/null 2>&1 || true
        rm -rf "$tmp/servers"
        [[ -z $fixed_ports ]] || break
        unset MT_TEST_PG_PORT MT_TEST_MY_PORT
    done
    if ((servers_started)); then
        eval "$(scripts/test-servers.sh env "$tmp/servers" | sed 's/^/export /')"
        # The restart suite (tests/http/t071-db-restart.py) restarts them.
        export MT_TEST_SERVERS="$tmp/servers"
    else
        echo "could not start the database servers"
        failed=$((failed + 1))
    fi
fi

echo "== unit suite"
meson_suite unit unit

scripts=$(ls tests/*/t[0-9]*-*.sh tests/*/t[0-9]*-*.py 2>/dev/null | sort)
for d in "${all_dialects[@]}"; do
    if ! wanted "$d"; then
        # Its two meson suites (db, migrate) and every script suite.
        n=$((2 + $(echo "$scripts" | wc -w)))
        echo "== SKIP dialect $d (not in MEDITRACK_TEST_DIALECTS): $n suites skipped"
        skipped=$((skipped + n))
        continue
    fi
    echo "== dialect $d"
    export MT_TEST_DIALECT=$d MT_TEST_TMP="$tmp/$d"
    mkdir -p "$MT_TEST_TMP"
    export MT_TEST_DATABASE_URL
    MT_TEST_DATABASE_URL=$(tests/lib/fresh-db suite) || { failed=$((failed + 1)); continue; }
    for suite in db migrate; do meson_suite "$suite" "$d/$suite"; done
    for s in $scripts; do script_suite "$s" "$d"; done
done

if ((${#failures[@]})); then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
