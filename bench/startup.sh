#!/usr/bin/env bash
# Start-up time of `meditrack serve`: the median, over repeated runs, of the
# time from process start to the first 200 on GET /health, for a new SQLite
# database (wait, the whole migration chain, seeding) and for one already at
# head. Uses the optimised build (build/meditrack, built when missing) unless
# MEDITRACK names another binary. RUNS sets the repetitions (default 21).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${MEDITRACK:-$root/build/meditrack}
runs=${RUNS:-21}
if [[ ! -x $bin ]]; then
    (cd "$root" && make build >/dev/null)
fi
tmp=$(mktemp -d /tmp/meditrack-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

python3 - "$bin" "$tmp" "$runs" <<'EOF'
import os, signal, socket, statistics, subprocess, sys, time

binary, tmp, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

def health_ok(port):
    """One GET /health over a fresh connection; True on 200."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200") or False
    except OSError:
        return False

def one_run(db_path):
    port = free_port()
    env = dict(os.environ, DATABASE_URL="sqlite:///" + db_path, PORT=str(port),
               HOST="127.0.0.1", LOG_LEVEL="error", ENV_FILE="/dev/null",
               BACKUP_BEFORE_MIGRATE="false", AUTH="off")
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        while not health_ok(port):
            if p.poll() is not None:
                sys.exit("meditrack serve exited with %d" % p.returncode)
            if time.perf_counter() - t0 > 30:
                sys.exit("no 200 on GET /health within 30 s")
            time.sleep(0.0002)
        return (time.perf_counter() - t0) * 1000
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)

def report(label, samples):
    samples.sort()
    print("%-44s median %7.2f ms   min %7.2f   max %7.2f   (%d runs)" % (
        label, statistics.median(samples), samples[0], samples[-1], len(samples)))

fresh = []
for i in range(runs):
    fresh.append(one_run(os.path.join(tmp, "fresh-%d.db" % i)))
at_head_db = os.path.join(tmp, "at-head.db")
one_run(at_head_db)  # migrates it once
at_head = [one_run(at_head_db) for _ in range(runs)]

# For scale: what starting any process costs on this machine right now.
baseline = []
for _ in range(runs):
    t0 = time.perf_counter()
    subprocess.run(["/bin/true"], check=True)
    baseline.append((time.perf_counter() - t0) * 1000)

print("meditrack start-up: process start -> first 200 on GET /health")
report("new SQLite database (whole chain, seeding)", fresh)
report("SQLite database already at head", at_head)
report("baseline: spawn and reap /bin/true", baseline)
print("load average: %.2f %.2f %.2f" % os.getloadavg())
EOF
