#!/usr/bin/env bash
# Load test of the HTTP API (issue 6): starts the optimised build
# (build/meditrack, built when missing; MEDITRACK names another binary) on a
# new database (SQLite by default; DATABASE_URL for another), creates 2
# persons, 20 medications and 1000 doses over the last 30 days through the
# API, then runs `wrk -t2 -c32 -d10s` (keep-alive) against: the persons list,
# one person's medications, the daily summary, one medication's dose history,
# and record-then-delete of a dose. Prints req/s, p50, p99 and non-2xx per
# endpoint, the CPU time the server process used per request (user + system,
# from /proc; the database server's own time is not in it), and the
# server's resident memory idle and after the load (from /proc). DURATION,
# THREADS and CONNECTIONS change the wrk settings.
#
# --doses N loads N doses instead, straight into the database with one SQL
# statement (SQLite through Python's sqlite3 module, PostgreSQL through psql,
# MariaDB through the mysql client), spread evenly over the 20 medications
# and over the days before today, so that a history of 1,000,000 doses takes
# seconds to build rather than an hour of API calls. Today stays empty, so
# record + delete still meets the daily maximum only through its own doses.
#
# The server runs with AUTH=off (the open API) by default. --auth runs it
# with AUTH=on instead: an administrator and an API token are created with
# `meditrack user add` and `meditrack token create`, and every request
# (data set and load) carries `Authorization: Bearer <token>`, so that the
# figures show what authentication costs (docs/auth.md).
#
# --only NAME runs one endpoint's load instead of all five (persons,
# medications, summary, history or record), for comparisons that repeat one
# endpoint many times (bench/write-compare.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
doses=
auth=off
only=
usage="usage: bench/api-load.sh [--doses N] [--auth] [--only persons|medications|summary|history|record]"
while [[ $# -gt 0 ]]; do
    case $1 in
    --auth)
        auth=on
        shift
        ;;
    --doses)
        [[ $# -ge 2 && $2 =~ ^[0-9]+$ && $2 -ge 1 ]] || { echo "api-load: --doses takes a positive number" >&2; exit 2; }
        doses=$2
        shift 2
        ;;
    --doses=*)
        doses=${1#--doses=}
        [[ $doses =~ ^[0-9]+$ && $doses -ge 1 ]] || { echo "api-load: --doses takes a positive number" >&2; exit 2; }
        shift
        ;;
    --only)
        [[ $# -ge 2 && $2 =~ ^(persons|medications|summary|history|record)$ ]] ||
            { echo "api-load: --only takes persons, medications, summary, history or record" >&2; exit 2; }
        only=$2
        shift 2
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        echo "$usage"
        exit 0
        ;;
    *)
        echo "api-load: unknown argument '$1' ($usage)" >&2
        exit 2
        ;;
    esac
done
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
export LOG_LEVEL=${LOG_LEVEL:-info} AUTH=$auth
base=http://127.0.0.1:$port

"$bin" db upgrade head >"$tmp/migrate.log" 2>&1 || { cat "$tmp/migrate.log"; exit 1; }
# With --auth: an administrator and a token of its, made with the CLI as an
# operator would (the token reaches wrk as a -H header: a bench, not a deployment).
token=
if [[ $auth == on ]]; then
    printf 'bench-password-%s\n' "$RANDOM$RANDOM" | "$bin" user add bench --role admin --password-stdin \
        >"$tmp/user.log" 2>&1 || { cat "$tmp/user.log"; exit 1; }
    token=$("$bin" token create --user bench --scope admin --name api-load 2>"$tmp/token.log") ||
        { cat "$tmp/token.log"; exit 1; }
fi
printf '%s' "$token" >"$tmp/token"
auth_header=()
[[ -n $token ]] && auth_header=(-H "Authorization: Bearer $token")
(cd "$tmp" && exec "$bin" serve >"$tmp/serve.log" 2>&1) &
pid=$!
for _ in $(seq 1 300); do
    curl -fs "$base/health" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log"; exit 1; }
    sleep 0.1
done
# The subshell execs the server, so $pid is the server process itself.

# The data set, through the API (the doses directly with --doses N).
python3 - "$base" "${doses:-}" "$DATABASE_URL" "$tmp/token" <<'EOF'
import datetime, json, subprocess, sys, time, urllib.parse, urllib.request

base, bulk, url = sys.argv[1], sys.argv[2], sys.argv[3]
token = open(sys.argv[4]).read().strip()
headers = {"Content-Type": "application/json"}
if token:
    headers["Authorization"] = "Bearer " + token

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
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


def bulk_load(n):
    """Inserts n doses with one INSERT ... SELECT over a generated series:
    dose i belongs to medication i % 20 and is taken 97 s * (i + 1) before
    the start of today (UTC), so every dose lies before today. Where the
    schema has doses.person_id, it is filled from the medication."""
    idx = ", ".join(f"({i}, {m})" for i, m in enumerate(meds))
    start = int(datetime.datetime.combine(today, datetime.time(),
                                          datetime.timezone.utc).timestamp())
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        import sqlite3
        path = url.split("://", 1)[1][1:].split("?", 1)[0]
        db = sqlite3.connect(path, timeout=30)
        db.execute(f"CREATE TEMP TABLE bench_meds (k INTEGER PRIMARY KEY, id INTEGER)")
        db.execute(f"INSERT INTO bench_meds VALUES {idx}")
        db.execute(
            "INSERT INTO doses (medication_id, medication_name, taken_at) "
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?) "
            "SELECT m.id, NULL, strftime('%Y-%m-%d %H:%M:%S', ? - 97 * (s.i + 1), 'unixepoch') "
            "FROM s JOIN bench_meds m ON m.k = s.i % 20", (n, start))
        cols = [r[1] for r in db.execute("PRAGMA table_info(doses)")]
        if "person_id" in cols:
            db.execute("UPDATE doses SET person_id = (SELECT person_id FROM medications m "
                       "WHERE m.id = doses.medication_id) WHERE person_id IS NULL")
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return
    u = urllib.parse.urlsplit(url)
    user = urllib.parse.unquote(u.username or "")
    password = urllib.parse.unquote(u.password or "")
    dbname = u.path.lstrip("/")
    if scheme in ("postgresql", "postgres"):
        sql = (f"INSERT INTO doses (medication_id, taken_at) "
               f"SELECT m.id, to_timestamp({start} - 97 * (s.i + 1)) AT TIME ZONE 'UTC' "
               f"FROM generate_series(0, {n - 1}) AS s(i) "
               f"JOIN (VALUES {idx}) AS m(k, id) ON m.k = s.i % 20;\n"
               "DO $$ BEGIN IF EXISTS (SELECT 1 FROM information_schema.columns WHERE "
               "table_name = 'doses' AND column_name = 'person_id' AND table_schema = "
               "current_schema()) THEN UPDATE doses d SET person_id = m.person_id FROM "
               "medications m WHERE m.id = d.medication_id AND d.person_id IS NULL; END IF; "
               "END $$;\nANALYZE doses;\n")
        env = {"PGPASSWORD": password, "PATH": "/usr/bin:/bin"}
        args = ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", u.hostname or "127.0.0.1",
                "-p", str(u.port or 5432), "-U", user, "-d", dbname]
    elif scheme in ("mysql", "mariadb"):
        derived = " UNION ALL ".join(f"SELECT {i} AS k, {m} AS id" for i, m in enumerate(meds))
        env = {"MYSQL_PWD": password, "PATH": "/usr/bin:/bin"}
        args = ["mysql", "-N", "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306),
                "-u", user, "--init-command=SET time_zone = '+00:00'", dbname]
        has_person = subprocess.run(
            args, input=b"SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = "
            b"DATABASE() AND table_name = 'doses' AND column_name = 'person_id';\n",
            env=env, check=True, capture_output=True).stdout.strip() != b"0"
        sql = (f"SET SESSION max_recursive_iterations = {n + 1};\n"
               f"INSERT INTO doses (medication_id, taken_at) "
               f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < {n}) "
               f"SELECT m.id, FROM_UNIXTIME({start} - 97 * (s.i + 1)) "
               f"FROM s JOIN ({derived}) m ON m.k = s.i % 20;\n")
        if has_person:
            sql += ("UPDATE doses d JOIN medications m ON m.id = d.medication_id "
                    "SET d.person_id = m.person_id WHERE d.person_id IS NULL;\n")
        sql += "ANALYZE TABLE doses;\n"
    else:
        sys.exit(f"api-load: --doses does not know {scheme}")
    subprocess.run(args, input=sql.encode(), env=env, check=True, stdout=subprocess.DEVNULL)


if bulk:
    t = time.monotonic()
    bulk_load(int(bulk))
    print(f"data set: {len(persons)} persons, {len(meds)} medications, {int(bulk)} doses "
          f"loaded directly in {time.monotonic() - t:.1f} s")
    sys.exit(0)
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
# The headers given with -H (the token, with --auth) are wrk.headers; a
# request that names its own headers must copy them.
cat >"$tmp/record.lua" <<'EOF'
local pending = {}
local n = 0
local post_headers = {}
init = function()
    for k, v in pairs(wrk.headers) do post_headers[k] = v end
    post_headers["Content-Type"] = "application/json"
end
request = function()
    local id = table.remove(pending)
    if id then
        return wrk.format("DELETE", "/api/v1/doses/" .. id)
    end
    n = n + 1
    return wrk.format("POST", "/api/v1/doses/medications/" .. (17 + n % 4) .. "/dose",
                      post_headers, '{"timezone_offset":0}')
end
response = function(status, headers, body)
    if status == 201 then
        local id = string.match(body, '"id":(%d+)')
        if id then table.insert(pending, id) end
    end
end
EOF

printf '\nAUTH=%s%s\n' "$auth" "$([[ $auth == on ]] && echo ' (every request with a bearer token)')"
printf '%-36s %10s %9s %9s %9s %9s\n' "endpoint (wrk -t$threads -c$conns -d$duration)" "req/s" "p50" "p99" "non-2xx" "cpu/req"
# The server's CPU time so far, in clock ticks (utime + stime; the fields
# after the parenthesised name, which may itself contain blanks).
cpu_ticks() {
    sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}'
}
tick_hz=$(getconf CLK_TCK)
run() {
    local name=$1 label=$2 path=$3 script=${4:-}
    local out
    [[ -z $only || $only == "$name" ]] || return 0
    local cpu0
    cpu0=$(cpu_ticks)
    if [[ -n $script ]]; then
        out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "${auth_header[@]}" -s "$script" "$base$path")
    else
        out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "${auth_header[@]}" "$base$path")
    fi
    local rps p50 p99 non2xx requests cpu
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    requests=$(awk '/ requests in / {print $1}' <<<"$out")
    cpu=$(awk -v t="$(($(cpu_ticks) - cpu0))" -v n="${requests:-0}" -v hz="$tick_hz" \
        'BEGIN {if (n > 0) printf "%.0fus", t * 1e6 / hz / n; else print "-"}')
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
    printf '%-36s %10s %9s %9s %9s %9s\n' "$label" "$rps" "$p50" "$p99" "${non2xx:-0}" "$cpu"
}
run persons "GET persons list" /api/v1/persons/
run medications "GET medications of a person" "/api/v1/medications/?person_id=1"
run summary "GET daily summary" /api/v1/doses/daily-summary
run history "GET dose history" /api/v1/doses/medications/1/doses
run record "POST dose + DELETE dose" /api/v1/doses "$tmp/record.lua"

after=$(rss)
printf '\nserver memory (VmRSS): idle %s, after load %s\n' "$idle" "$after"
# Masks the user-info up to the last '@', as the URL parser reads it (a '/'
# or '@' in the password must not end the mask early).
printf 'database: %s\n' "$(sed -E 's#^([A-Za-z0-9+.-]+://).*@#\1***@#' <<<"$DATABASE_URL" | sed "s#$tmp#<tmp>#")"
