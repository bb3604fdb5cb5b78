#!/usr/bin/env bash
# Load test of the HTTP API (issue 6): starts the optimised build
# (build/meditrack, built when missing; MEDITRACK names another binary) on a
# new database (SQLite by default; DATABASE_URL for another), creates 2
# persons, 20 medications and 1000 doses over the last 30 days through the
# API, then runs `wrk -t2 -c32 -d10s` (keep-alive) against: the persons list,
# one person's medications, the daily summary, one medication's dose history,
# and record-then-delete of a dose. Prints req/s, p50, p99 and non-2xx per
# endpoint, and the server's resident memory idle and after the load (from
# /proc). DURATION, THREADS and CONNECTIONS change the wrk settings.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${MEDITRACK:-$root/build/meditrack}
duration=${DURATION:-10s}
threads=${THREADS:-2}
conns=${CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "api-load: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
if [[ ! -x $bin ]]; then
    (cd "$root" && make build >/dev/null)
fi
tmp=$(mktemp -d /tmp/meditrack-load.XXXXXX)
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL=${DATABASE_URL:-sqlite:///$tmp/load.db}
export HOST=127.0.0.1 PORT=$port ENV_FILE=/dev/null SEED_ON_EMPTY=false AUTO_MIGRATE=false
export LOG_LEVEL=${LOG_LEVEL:-info}
base=http://127.0.0.1:$port

"$bin" db upgrade head >"$tmp/migrate.log" 2>&1 || { cat "$tmp/migrate.log"; exit 1; }
(cd "$tmp" && exec "$bin" serve >"$tmp/serve.log" 2>&1) &
pid=$!
for _ in $(seq 1 300); do
    curl -fs "$base/health" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log"; exit 1; }
    sleep 0.1
done
# The subshell execs the server, so $pid is the server process itself.

# The data set, through the API.
python3 - "$base" <<'EOF'
import datetime, json, sys, urllib.request

base = sys.argv[1]

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")

persons = [call("POST", "/api/v1/persons/", {"first_name": n, "last_name": "Load"})["id"]
           for n in ("Ada", "Ben")]
meds = []
for i in range(20):
    meds.append(call("POST", "/api/v1/medications/",
                     {"person_id": persons[i % 2], "name": f"Med {i}", "dosage": "10 mg",
                      "frequency": "twice daily", "max_doses_per_day": 20,
                      "instructions": "with water"})["id"])
today = datetime.datetime.now(datetime.timezone.utc).date()
n = 0
for k in range(1000):
    day = today - datetime.timedelta(days=1 + k % 30)
    med = meds[k % 20]
    minute = (k * 7) % (24 * 60)
    call("POST", f"/api/v1/doses/medications/{med}/dose/{day}?time={minute // 60:02d}:{minute % 60:02d}")
    n += 1
print(f"data set: {len(persons)} persons, {len(meds)} medications, {n} doses over 30 days")
EOF

# Resident memory, and how much of it is the process's own (anonymous) pages
# rather than pages of shared libraries.
rss() {
    awk '/^VmRSS/ {t = $2} /^RssAnon/ {a = $2} END {print t " kB (own " a " kB)"}' \
        "/proc/$pid/status"
}
idle=$(rss)

# Record-then-delete: each connection alternates POST dose / DELETE that dose,
# spread over four medications so that in-flight doses stay under the daily
# maximum of 20.
cat >"$tmp/record.lua" <<'EOF'
local pending = {}
local n = 0
request = function()
    local id = table.remove(pending)
    if id then
        return wrk.format("DELETE", "/api/v1/doses/" .. id)
    end
    n = n + 1
    return wrk.format("POST", "/api/v1/doses/medications/" .. (17 + n % 4) .. "/dose",
                      {["Content-Type"] = "application/json"}, '{"timezone_offset":0}')
end
response = function(status, headers, body)
    if status == 201 then
        local id = string.match(body, '"id":(%d+)')
        if id then table.insert(pending, id) end
    end
end
EOF

printf '\n%-36s %10s %9s %9s %9s\n' "endpoint (wrk -t$threads -c$conns -d$duration)" "req/s" "p50" "p99" "non-2xx"
run() {
    local label=$1 path=$2 script=${3:-}
    local out
    if [[ -n $script ]]; then
        out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$script" "$base$path")
    else
        out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "$base$path")
    fi
    local rps p50 p99 non2xx
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
    printf '%-36s %10s %9s %9s %9s\n' "$label" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
run "GET persons list" /api/v1/persons/
run "GET medications of a person" "/api/v1/medications/?person_id=1"
run "GET daily summary" /api/v1/doses/daily-summary
run "GET dose history" /api/v1/doses/medications/1/doses
run "POST dose + DELETE dose" /api/v1/doses "$tmp/record.lua"

after=$(rss)
printf '\nserver memory (VmRSS): idle %s, after load %s\n' "$idle" "$after"
# Masks the user-info up to the last '@', as the URL parser reads it (a '/'
# or '@' in the password must not end the mask early).
printf 'database: %s\n' "$(sed -E 's#^([A-Za-z0-9+.-]+://).*@#\1***@#' <<<"$DATABASE_URL" | sed "s#$tmp#<tmp>#")"
