#!/usr/bin/env python3
"""SQLite behaviour of the real server over HTTP (issue 12):
sqlite:///:memory: is one database for the whole process (start-up
migrations and every pooled connection see the same data, also with
AUTO_MIGRATE=false); GET /api/v1/health fails on a database without
MediTrack's schema instead of calling it healthy (503 with Retry-After);
SQLITE_BUSY_TIMEOUT bounds how long a write waits for a lock held by another
process (JSON 503 with Retry-After once it passed), while reads go on, and a
shorter DB_LOCK_TIMEOUT wins over it; and many concurrent writers, which
queue inside the process, all succeed. SQLite only; other dialects print a skip. Last line "N passed, N
failed"."""

import os
import sqlite3
import subprocess
import threading
import time

import apilib
from apilib import check, expect

D = "/api/v1/doses"


def head_revision():
    out = subprocess.run([apilib.MEDITRACK, "db", "heads"], capture_output=True, text=True,
                         env=dict(os.environ, DATABASE_URL="sqlite:///:memory:",
                                  ENV_FILE="/dev/null"))
    words = out.stdout.split()
    return words[0] if words else None


def parallel(n, fn):
    """Runs fn(i) in n threads at once; returns their results in order."""
    results = [None] * n
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def memory_database():
    head = head_revision()
    check("the binary names its head revision", head is not None)
    for auto in ("true", "false"):
        tag = f"memory_auto_{auto}"
        s = apilib.Server(tag, env={"DATABASE_URL": "sqlite:///:memory:", "AUTO_MIGRATE": auto,
                                    "SEED_ON_EMPTY": "true"}, migrate=False)
        try:
            r = s.get("/api/v1/health")
            expect(f"{tag}: /api/v1/health", r, 200)
            db = (r.json() or {}).get("components", [{}])[0].get("details", {})
            check(f"{tag}: the health check sees the migrated schema",
                  db.get("revision") == head and db.get("up_to_date") is True, r.text())
            p = apilib.person(s, "Mem", last_name="Ory")
            # More requests at once than pooled connections: each connection
            # must see the person written through another one.
            lists = parallel(16, lambda i: s.get("/api/v1/persons/"))
            seen = [isinstance(x, apilib.Response) and x.status == 200 and
                    any(q["id"] == p["id"] for q in x.json()) for x in lists]
            check(f"{tag}: 16 concurrent reads all see the new person", all(seen),
                  str([x for x in lists if not isinstance(x, apilib.Response)][:2]))
            check(f"{tag}: the seeded default person is there too",
                  any(q["is_default"] for q in lists[0].json())
                  if isinstance(lists[0], apilib.Response) else False)
            m = apilib.medication(s, p["id"], "Memo", max_doses=20)
            now = {"timezone_offset": 0}
            doses = parallel(8, lambda i: s.post(f"{D}/medications/{m['id']}/dose", now))
            check(f"{tag}: 8 concurrent doses recorded",
                  all(isinstance(x, apilib.Response) and x.status == 201 for x in doses),
                  str(doses[:2]))
            r = s.get(f"{D}/medications/{m['id']}/doses")
            check(f"{tag}: the history lists all 8", r.status == 200 and len(r.json()) == 8,
                  repr(r))
        finally:
            s.stop()
        check(f"{tag}: no file was made for :memory:",
              not any(n.startswith("meditrack-memory") for n in os.listdir("/")))


def unmigrated_health():
    # AUTO_MIGRATE=false on a database nobody migrated: the server runs, but
    # the health check must say what every request would meet.
    s = apilib.Server("unmigrated", migrate=False)
    try:
        r = s.get("/api/v1/health")
        expect("unmigrated database: /api/v1/health is not healthy", r, 503)
        check("unmigrated database: the detail says the check failed",
              "Health check failed" in r.text(), r.text())
        check("unmigrated database: the database is reported unhealthy, with Retry-After",
              r.headers.get("retry-after") == "1" and r.json().get("status") == "unhealthy",
              f"{r.headers.get('retry-after')!r} {r.text()[:200]}")
        r = s.get("/api/v1/persons/")
        check("unmigrated database: requests fail too (the check matches them)",
              r.status >= 500, repr(r))
    finally:
        s.stop()


def busy_503(what, r):
    """A lock wait that used up its limit: JSON 503 with Retry-After."""
    ok = r.status == 503 and r.headers.get("retry-after") == "1"
    try:
        ok = ok and "database is busy" in r.json().get("detail", "")
    except ValueError:
        ok = False
    check(f"{what}: JSON 503 'database is busy' with Retry-After", ok,
          f"{r!r} retry-after={r.headers.get('retry-after')!r}")


def busy_timeout():
    s = apilib.Server("busy", env={"SQLITE_BUSY_TIMEOUT": "400"})
    path = s.url.split("sqlite:///", 1)[1]
    try:
        p = apilib.person(s, "Busy")
        m = apilib.medication(s, p["id"], "Lock", max_doses=10)
        d = s.post(f"{D}/medications/{m['id']}/dose", {"timezone_offset": 0}).json()
        # Another process takes the write lock and keeps it.
        holder = sqlite3.connect(path, timeout=5, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE persons SET notes = 'held' WHERE id = ?", (p["id"],))
        try:
            t0 = time.monotonic()
            r = s.post("/api/v1/persons/", {"first_name": "Blocked"})
            took = time.monotonic() - t0
            busy_503("write during another process's lock", r)
            check(f"write during another process's lock: waited the busy timeout ({took:.2f} s)",
                  0.35 <= took < 2.5, f"{took:.3f} s")
            t0 = time.monotonic()
            r = s.delete(f"{D}/{d['id']}")
            took = time.monotonic() - t0
            busy_503("delete outside a transaction", r)
            check("delete outside a transaction: bounded the same way",
                  0.35 <= took < 2.5, f"{r!r} after {took:.3f} s")
            t0 = time.monotonic()
            r = s.get("/api/v1/persons/")
            took = time.monotonic() - t0
            check(f"reads go on meanwhile ({took * 1000:.0f} ms)",
                  r.status == 200 and took < 0.35, repr(r))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        r = s.post("/api/v1/persons/", {"first_name": "Free"})
        expect("once the lock is gone the write succeeds", r, 201)
        r = s.delete(f"{D}/{d['id']}")
        expect("and so does the delete", r, 204)
        check("the busy write left no error behind", s.alive())
    finally:
        s.stop()
    out = subprocess.run([apilib.MEDITRACK, "db", "current"], capture_output=True, text=True,
                         env=dict(os.environ, DATABASE_URL=s.url, ENV_FILE="/dev/null",
                                  SQLITE_BUSY_TIMEOUT="0"))
    check("SQLITE_BUSY_TIMEOUT=0 is refused (exit 3)",
          out.returncode == 3 and "SQLITE_BUSY_TIMEOUT" in out.stderr, out.stderr[-300:])


def lock_timeout_wins():
    # SQLITE_BUSY_TIMEOUT stays at its 5 s; the request limit is shorter and
    # wins on the server's connections.
    s = apilib.Server("locklimit", env={"DB_LOCK_TIMEOUT": "300"})
    path = s.url.split("sqlite:///", 1)[1]
    try:
        apilib.person(s, "Limit")
        holder = sqlite3.connect(path, timeout=5, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            t0 = time.monotonic()
            r = s.post("/api/v1/persons/", {"first_name": "Blocked"})
            took = time.monotonic() - t0
            busy_503("DB_LOCK_TIMEOUT=300 with SQLITE_BUSY_TIMEOUT=5000", r)
            check(f"the shorter DB_LOCK_TIMEOUT applies ({took:.2f} s)", 0.25 <= took < 2.0,
                  f"{took:.3f} s")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        r = s.post("/api/v1/persons/", {"first_name": "Free"})
        expect("DB_LOCK_TIMEOUT=300: the write succeeds once the lock is gone", r, 201)
    finally:
        s.stop()


def many_writers():
    s = apilib.Server("writers", env={"HTTP_THREADS": "8", "DB_POOL_SIZE": "8"})
    try:
        p = apilib.person(s, "Writer")
        # Eight medications, so that the doses in flight stay far below the
        # daily maximum of each.
        meds = [apilib.medication(s, p["id"], f"W{i}", max_doses=20)["id"] for i in range(8)]
        rounds = 12

        def writer(i):
            statuses = []
            for k in range(rounds):
                r = s.post(f"{D}/medications/{meds[(i + k) % 8]}/dose", {"timezone_offset": 0})
                statuses.append(r.status)
                if r.status == 201:
                    statuses.append(s.delete(f"{D}/{r.json()['id']}").status)
                # A reader beside the writers.
                statuses.append(s.get(f"{D}/medications/{meds[i % 8]}/doses").status)
            return statuses

        results = parallel(24, writer)
        flat = [x for r in results if isinstance(r, list) for x in r]
        errors = [r for r in results if not isinstance(r, list)]
        check("24 clients writing and reading at once: no exception", not errors, str(errors[:2]))
        check("every record, delete and read succeeded",
              len(flat) == 24 * rounds * 3 and all(x in (200, 201, 204) for x in flat),
              str(sorted(set(flat))))
        left = sum(len(s.get(f"{D}/medications/{m}/doses").json()) for m in meds)
        check("every recorded dose was deleted again", left == 0, f"{left} left")
    finally:
        s.stop()


def main():
    if apilib.DIALECT != "sqlite":
        print(f"skip: SQLite only (MT_TEST_DIALECT={apilib.DIALECT})")
        apilib.report()
    memory_database()
    unmigrated_health()
    busy_timeout()
    lock_timeout_wins()
    many_writers()
    apilib.report()


if __name__ == "__main__":
    main()
