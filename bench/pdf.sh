#!/usr/bin/env bash
# Time to generate the printable tracking form for 7 days and 20 medications
# (target: under 50 ms). Two measurements, each the median of repeated runs
# after a warm-up:
#   1. in-process: bench_pdf renders the form (blank and prefilled with 3
#      doses per medication per day) and prints wall and CPU time;
#   2. over HTTP: `meditrack serve` on a fresh SQLite database, filled through
#      the API (1 person, 20 medications, 420 doses), answers
#      GET /api/v1/reports/medications/pdf/{date}?days=7 (blank and
#      prefill=true); the time is the client's, from connect to last byte.
#      The process's first PDF request, which opens the PDF module
#      (meditrack-pdf.so: cairo, pango, fontconfig) and the fonts, is timed
#      on its own and left out of the medians.
# Uses the optimised build in $BUILD (default build/, built when missing)
# unless MEDITRACK names another binary. RUNS sets the repetitions (default 31).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
runs=${RUNS:-31}
if [[ ! -x $build/bench/bench_pdf || ! -x ${MEDITRACK:-$build/meditrack} ]]; then
    (cd "$root" && make build BUILD="$build" >/dev/null)
fi
bin=${MEDITRACK:-$build/meditrack}
tmp=$(mktemp -d /tmp/meditrack-bench-pdf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "== in-process render (src/report/pdf.c), 7 days x 20 medications"
"$build/bench/bench_pdf" "$runs"

echo "== over HTTP (meditrack serve, SQLite), 7 days x 20 medications"
python3 - "$bin" "$tmp" "$runs" <<'EOF'
import datetime, http.client, json, os, signal, socket, statistics, subprocess, sys, time

binary, tmp, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
env = dict(os.environ, DATABASE_URL="sqlite:///" + os.path.join(tmp, "bench.db"),
           PORT=str(port), HOST="127.0.0.1", LOG_LEVEL="warning", ENV_FILE="/dev/null",
           SEED_ON_EMPTY="false", AUTH="off")
subprocess.run([binary, "db", "upgrade", "head"], env=env, check=True, capture_output=True)
log = open(os.path.join(tmp, "serve.log"), "wb")
proc = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)


def call(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"} if body is not None else {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


try:
    for _ in range(300):
        try:
            if call("GET", "/health")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)
    st, b = call("POST", "/api/v1/persons/", {"first_name": "Ελένη", "last_name": "山田"})
    pid = json.loads(b)["id"]
    first = datetime.date.today() - datetime.timedelta(days=8)
    for m in range(20):
        st, b = call("POST", "/api/v1/medications/", {
            "person_id": pid, "name": f"Medication {m + 1:02d}", "dosage": "250 mg",
            "frequency": "Three times daily", "max_doses_per_day": 3,
            "instructions": "Take with a full glass of water, after meals. Do not crush."})
        mid = json.loads(b)["id"]
        for d in range(7):
            day = (first + datetime.timedelta(days=d)).isoformat()
            for hhmm in ("07:30", "13:30", "21:00"):
                st, _ = call("POST", f"/api/v1/doses/medications/{mid}/dose/{day}?time={hhmm}")
                assert st == 201, st
    for label, extra in (("blank", ""), ("prefilled", "&prefill=true")):
        path = f"/api/v1/reports/medications/pdf/{first.isoformat()}?person_id={pid}&days=7{extra}"
        t0 = time.perf_counter()
        st, body = call("GET", path)  # warm-up: the first also loads the module and fonts
        first_ms = (time.perf_counter() - t0) * 1000
        assert st == 200 and body.startswith(b"%PDF"), st
        if extra == "":
            print(f"GET pdf days=7, 20 meds, first request of the process (loads meditrack-pdf.so,"
                  f" cairo, pango, fonts): {first_ms:.2f} ms")
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            st, body = call("GET", path)
            times.append((time.perf_counter() - t0) * 1000)
            assert st == 200
        times.sort()
        print(f"GET pdf days=7, 20 meds, {label:<10} median {statistics.median(times):6.2f} ms"
              f"  min {times[0]:6.2f}  max {times[-1]:6.2f} | {runs} runs, {len(body)} bytes")
finally:
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)
EOF
echo "(target: under 50 ms; load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
