#!/usr/bin/env bash
# Compares two builds on the schedule endpoints that used to run one query
# per medication: the due view, adherence over 30 and 90 days, the calendar
# feed and the extended medication list, for one person with 20 scheduled
# medications (three times a day) and a dose history of 90 days (most slots
# taken, some late, some skipped, some missed), made through the API.
# MEDITRACK is the build measured (default build/meditrack); MEDITRACK_BASE,
# when set, is the build it is compared with (e.g. one built from the
# parent commit). Both serve the same database in turn; each endpoint is
# loaded with `wrk -t1 -c4 -dDURATION` (default 5s), ROUNDS times (default
# 1, alternating the builds), and the best req/s and its p50 are printed.
# Before the load, every answer of the two builds is compared byte for byte
# (the feed without its DTSTAMP lines, which carry the time of the request).
# SQLite by default; DATABASE_URL names another (empty) database.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
new=${MEDITRACK:-$root/build/meditrack}
base=${MEDITRACK_BASE:-}
duration=${DURATION:-5s}
rounds=${ROUNDS:-1}
command -v wrk >/dev/null || { echo "schedule-queries: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[[ -x $new ]] || { echo "schedule-queries: no build at $new (ninja -C build)" >&2; exit 2; }
[[ -z $base || -x $base ]] || { echo "schedule-queries: MEDITRACK_BASE $base is not executable" >&2; exit 2; }
tmp=$(mktemp -d /tmp/meditrack-sched.XXXXXX)
pid=
stop_server() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null || true
    fi
    pid=
}
cleanup() {
    stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL=${DATABASE_URL:-sqlite:///$tmp/sched.db}
export HOST=127.0.0.1 PORT=$port ENV_FILE=/dev/null SEED_ON_EMPTY=false AUTO_MIGRATE=false
export LOG_LEVEL=${LOG_LEVEL:-warning} AUTH=off
url=http://127.0.0.1:$port

start_server() {
    (cd "$tmp" && exec "$1" serve >>"$tmp/serve.log" 2>&1) &
    pid=$!
    for _ in $(seq 1 300); do
        curl -fs "$url/health" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log"; exit 1; }
        sleep 0.1
    done
    echo "schedule-queries: $1 did not answer" >&2
    exit 1
}

"$new" db upgrade head >"$tmp/migrate.log" 2>&1 || { cat "$tmp/migrate.log"; exit 1; }
start_server "$new"
# The data set, through the API; prints the paths to load, one a line
# ("name path [header]").
python3 - "$url" >"$tmp/paths" <<'EOF'
import datetime, json, sys, urllib.request

base = sys.argv[1]


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


person = call("POST", "/api/v1/persons/", {"first_name": "Sam", "last_name": "Bench"})["id"]
call("PUT", f"/api/v1/persons/{person}", {"timezone": "Europe/Berlin"})
times = ["07:00", "13:00", "21:00"]
meds = []
for i in range(20):
    meds.append(call("POST", "/api/v1/medications/",
                     {"person_id": person, "name": f"Med {i}", "dosage": "10 mg",
                      "frequency": "three times daily", "max_doses_per_day": 20,
                      "schedule": {"times": times}})["id"])
today = datetime.datetime.now(datetime.timezone.utc).date()
# Each slot of the last 90 days: taken near its time, late, skipped or
# missed (no row), by a fixed pattern.
k = 0
for back in range(1, 91):
    day = today - datetime.timedelta(days=back)
    for m in meds:
        for t in times:
            k += 1
            h, mi = int(t[:2]), int(t[3:])
            if k % 11 == 0:
                continue
            if k % 13 == 0:
                at = datetime.datetime(day.year, day.month, day.day, h - 1, mi,
                                       tzinfo=datetime.timezone.utc)
                call("POST", f"/api/v1/doses/medications/{m}/skip",
                     {"reason": "bench", "taken_at": at.isoformat().replace("+00:00", "Z")})
                continue
            at = h * 60 + mi + (100 if k % 7 == 0 else (k * 3) % 20 - 10)
            h, mi = at // 60, at % 60
            call("POST", f"/api/v1/doses/medications/{m}/dose/{day}?time={h:02d}:{mi:02d}")
token = call("POST", f"/api/v1/persons/{person}/calendar-token")["token"]
y = today - datetime.timedelta(days=1)
print(f"due /api/v1/persons/{person}/due/{y}")
print(f"adherence-30d /api/v1/persons/{person}/adherence?from={y - datetime.timedelta(days=29)}&to={y}")
print(f"adherence-90d /api/v1/persons/{person}/adherence?from={y - datetime.timedelta(days=89)}&to={y}")
print(f"calendar.ics /api/v1/persons/{person}/calendar.ics?token={token}")
print(f"meds-extended /api/v1/medications/?person_id={person} X-MediTrack-Fields:extended")
print(f"data set: 1 person, 20 scheduled medications x 3 times a day, {k} slots over 90 days",
      file=sys.stderr)
EOF
stop_server

# The answers of a build, one file per endpoint.
answers() {
    local bin=$1 dir=$2 name path hdr
    mkdir -p "$dir"
    start_server "$bin"
    while read -r name path hdr; do
        curl -fsS ${hdr:+-H "$hdr"} "$url$path" | sed '/^DTSTAMP:/d' >"$dir/$name"
    done <"$tmp/paths"
    stop_server
}
answers "$new" "$tmp/new"
if [[ -n $base ]]; then
    answers "$base" "$tmp/base"
    while read -r name _; do
        if cmp -s "$tmp/base/$name" "$tmp/new/$name"; then
            echo "answers of $name: identical ($(wc -c <"$tmp/new/$name") bytes)"
        else
            echo "answers of $name: DIFFERENT"
        fi
    done <"$tmp/paths"
fi

# The best req/s of ROUNDS runs, with its p50, per build and endpoint.
declare -A best p50
load() {
    local tag=$1 bin=$2 name path hdr out rps lat
    start_server "$bin"
    while read -r name path hdr; do
        out=$(wrk -t1 -c4 -d"$duration" --latency ${hdr:+-H "$hdr"} "$url$path")
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
        lat=$(awk '$1 == "50%" {print $2}' <<<"$out")
        if [[ -z ${best[$tag.$name]:-} ]] || awk -v a="$rps" -v b="${best[$tag.$name]}" 'BEGIN {exit !(a > b)}'; then
            best[$tag.$name]=$rps
            p50[$tag.$name]=$lat
        fi
    done <"$tmp/paths"
    stop_server
}
for _ in $(seq 1 "$rounds"); do
    [[ -n $base ]] && load base "$base"
    load new "$new"
done
printf '\n%-16s %12s %10s %12s %10s\n' "endpoint" "base req/s" "base p50" "new req/s" "new p50"
while read -r name _; do
    printf '%-16s %12s %10s %12s %10s\n' "$name" "${best[base.$name]:--}" "${p50[base.$name]:--}" \
        "${best[new.$name]}" "${p50[new.$name]}"
done <"$tmp/paths"
printf '(wrk -t1 -c4 -d%s, best of %s; database: %s)\n' "$duration" "$rounds" \
    "$(sed -E 's#^([A-Za-z0-9+.-]+://).*@#\1***@#' <<<"$DATABASE_URL" | sed "s#$tmp#<tmp>#")"
