#!/usr/bin/env bash
# Browser tests of the web UI (issues 8 and 14): for each scenario it migrates
# a fresh database of the current dialect, starts `$MEDITRACK serve` on a
# free port with STATIC_DIR unset (so the browser gets the UI embedded in the
# binary, as an installed server serves it), and runs a test in Debian's
# headless chromium through playwright-core:
#   desktop (1280x800, UTC), phone-kolkata and phone-la (360x740 in
#   Asia/Kolkata and America/Los_Angeles): tests/e2e/ui.test.mjs with AUTH=off;
#   auth-desktop, auth-phone (360x740, Asia/Kolkata): tests/e2e/auth.test.mjs
#   with AUTH=on (first run with the setup token from the server's log,
#   accounts, carer and viewer, tokens); auth-phone by default on SQLite only;
#   dosing-desktop, dosing-phone (360x740, Asia/Kolkata): tests/e2e/dosing.test.mjs
#   with AUTH=on (the dosing rules of issue 15: next dose, refusal and
#   override, corrections, skip, editor, audit history, Idempotency-Key);
#   dosing-phone by default on SQLite only;
#   schedules-desktop, schedules-phone (360x740, Asia/Kolkata):
#   tests/e2e/schedules.test.mjs with AUTH=on, the test clock
#   (ALLOW_TEST_CLOCK=true, TEST_CLOCK_START=$SCHED_CLOCK, the browser's clock
#   set to the same instant), NOTIFY_SECRET_KEY and a local HTTP receiver
#   (tests/lib/notify-receiver.py) for the channels (issue 16: schedule
#   editor, today's slots in due order, channels and their test, reminder
#   settings, the calendar link, adherence); schedules-phone on SQLite only.
# Screenshots go to tests/e2e/screenshots/ (not committed).
# MT_E2E_DIALECTS=sqlite,postgresql,mysql limits the dialects (others print
# SKIP); MT_E2E_SCENARIOS limits the scenarios. Last line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/e2e
dialect=${MT_TEST_DIALECT:-sqlite}
shots=$here/screenshots
passed=0
failed=0

tmp=$(mktemp -d /tmp/meditrack-e2e.XXXXXX)
spid=
rpid=
cleanup() {
    if [[ -n $spid ]] && kill -0 "$spid" 2>/dev/null; then
        kill -TERM "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
    fi
    if [[ -n $rpid ]] && kill -0 "$rpid" 2>/dev/null; then
        kill -TERM "$rpid" 2>/dev/null
        wait "$rpid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

fail() {
    echo "not ok - [$dialect] $*"
    failed=$((failed + 1))
}
finish() {
    echo "$passed passed, $failed failed"
    if ((failed)); then exit 1; fi
    exit 0
}

IFS=, read -r -a dialects <<<"${MT_E2E_DIALECTS:-sqlite,postgresql,mysql}"
run_here=0
for d in "${dialects[@]}"; do [[ $d == "$dialect" ]] && run_here=1; done
if ((!run_here)); then
    echo "SKIP: [$dialect] browser tests not run on this dialect (MT_E2E_DIALECTS=${MT_E2E_DIALECTS:-})"
    finish
fi
# The 360 px pass of the access-control pages checks layout, which the
# database cannot change: by default it runs on SQLite only (auth-desktop,
# with the same flows, runs on every dialect).
default_scenarios=desktop,phone-kolkata,phone-la,auth-desktop,dosing-desktop,schedules-desktop
[[ $dialect == sqlite ]] && default_scenarios+=,auth-phone,dosing-phone,schedules-phone
IFS=, read -r -a scenarios <<<"${MT_E2E_SCENARIOS:-$default_scenarios}"

bin=${MEDITRACK:-$root/build/meditrack}
if [[ ! -x $bin ]]; then
    fail "no meditrack binary at $bin (build first, or set MEDITRACK)"
    finish
fi
bin=$(realpath "$bin")
if ! "$here/setup.sh" >"$tmp/setup.log" 2>&1; then
    fail "tests/e2e/setup.sh failed: $(tail -n 3 "$tmp/setup.log" | tr '\n' ' ')"
    finish
fi
export MT_TEST_TMP=${MT_TEST_TMP:-$tmp}
mkdir -p "$shots"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The schedules scenarios' "now": the server's test clock and the browser's
# clock start at this instant (a Tuesday afternoon in UTC, evening in Kolkata).
SCHED_CLOCK=2026-03-10T14:00:00Z
# A fixed test key for the sealed channel secrets (32 bytes in hex).
SCHED_KEY=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

# Starts the server on $url with AUTH=$3 (on|off) and the settings in the
# array extra_env; sets port and spid. The server runs in $tmp so that no
# .env of the work tree is read. With AUTH=on the test itself may act as a
# trusted single sign-on proxy (Remote-User).
extra_env=()
start_server() {
    local url=$1 log=$2 auth=$3 attempt i proxy=()
    if [[ $auth == on ]]; then proxy=(AUTH_PROXY_HEADER=Remote-User TRUSTED_PROXIES=127.0.0.1/32); fi
    for attempt in 1 2 3; do
        port=$(free_port)
        (cd "$tmp" && exec env -u STATIC_DIR DATABASE_URL="$url" HOST=127.0.0.1 PORT="$port" \
            AUTH="$auth" "${proxy[@]}" "${extra_env[@]}" LOG_LEVEL=info "$bin" serve) >"$log" 2>&1 &
        spid=$!
        for i in $(seq 1 150); do
            if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null; then
                return 0
            fi
            kill -0 "$spid" 2>/dev/null || break
            sleep 0.2
        done
        kill -TERM "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
        spid=
    done
    return 1
}

# Stops the server; 0 when it exited 0 with no sanitizer report.
stop_server() {
    local log=$1 rc i
    kill -TERM "$spid" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$spid" 2>/dev/null; then
        kill -KILL "$spid" 2>/dev/null
        echo "    server did not stop within 20 s of SIGTERM"
    fi
    wait "$spid"
    rc=$?
    spid=
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
        grep -E -A 12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -n 40 | sed 's/^/    /'
        return 1
    fi
    ((rc == 0))
}

# The local HTTP receiver of the channels (tests/lib/notify-receiver.py, as
# t094 uses it); sets rport and rpid.
start_receiver() {
    local i
    rm -f "$tmp/receiver-port"
    python3 "$root/tests/lib/notify-receiver.py" "$tmp/receiver-port" >"$tmp/receiver.log" 2>&1 &
    rpid=$!
    for i in $(seq 1 50); do
        if [[ -s $tmp/receiver-port ]]; then
            rport=$(cat "$tmp/receiver-port")
            return 0
        fi
        sleep 0.1
    done
    return 1
}
stop_receiver() {
    if [[ -n $rpid ]]; then
        kill -TERM "$rpid" 2>/dev/null
        wait "$rpid" 2>/dev/null
        rpid=
    fi
}

for sc in "${scenarios[@]}"; do
    case $sc in
    auth-desktop) auth=on test=auth.test.mjs bsc=desktop ;;
    auth-phone) auth=on test=auth.test.mjs bsc=phone-kolkata ;;
    dosing-desktop) auth=on test=dosing.test.mjs bsc=desktop ;;
    dosing-phone) auth=on test=dosing.test.mjs bsc=phone-kolkata ;;
    schedules-desktop) auth=on test=schedules.test.mjs bsc=desktop ;;
    schedules-phone) auth=on test=schedules.test.mjs bsc=phone-kolkata ;;
    *) auth=off test=ui.test.mjs bsc=$sc ;;
    esac
    extra_env=()
    extra_args=()
    if [[ $test == schedules.test.mjs ]]; then
        extra_env=(ALLOW_TEST_CLOCK=true TEST_CLOCK_START="$SCHED_CLOCK" NOTIFY_SECRET_KEY="$SCHED_KEY" NOTIFY_TIMEOUT=3)
    fi
    slog="$tmp/server-$sc.log"
    rm -f "$shots/$dialect-$sc-"*.png
    if ! url=$("$root/tests/lib/fresh-db" "e2e_${sc//-/_}" 2>"$tmp/fresh.err"); then
        fail "$sc: tests/lib/fresh-db failed: $(cat "$tmp/fresh.err")"
        continue
    fi
    if ! (cd "$tmp" && DATABASE_URL="$url" "$bin" db upgrade head) >"$tmp/upgrade-$sc.log" 2>&1; then
        fail "$sc: meditrack db upgrade head failed: $(tail -n 5 "$tmp/upgrade-$sc.log" | tr '\n' ' ')"
        continue
    fi
    if ! start_server "$url" "$slog" "$auth"; then
        fail "$sc: meditrack serve did not answer GET /health: $(tail -n 5 "$slog" | tr '\n' ' ')"
        continue
    fi
    echo "== [$dialect] $sc (AUTH=$auth) on http://127.0.0.1:$port"
    if [[ $test == schedules.test.mjs ]]; then
        if start_receiver; then
            extra_args=(--clock "$SCHED_CLOCK" --receiver "http://127.0.0.1:$rport")
        else
            fail "$sc: the notification receiver did not start"
        fi
    fi
    out="$tmp/node-$sc.log"
    (cd "$here" && timeout 900 node "$test" --base "http://127.0.0.1:$port" --scenario "$bsc" \
        --label "$dialect" --shots "$shots" --server-log "$slog" "${extra_args[@]}") 2>&1 | tee "$out"
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [[ -z $last ]]; then
        fail "$sc: the browser run ended without a result line"
    else
        passed=$((passed + $(echo "$last" | awk '{print $1}')))
        failed=$((failed + $(echo "$last" | awk '{print $3}')))
    fi
    stop_receiver
    if stop_server "$slog"; then
        echo "ok - [$dialect/$sc] server stopped cleanly, no sanitizer report"
        passed=$((passed + 1))
    else
        fail "$sc: the server did not stop cleanly or reported a sanitizer error (log: tail below)"
        tail -n 15 "$slog" | sed 's/^/    /'
    fi
done
echo "screenshots: $shots"
finish
