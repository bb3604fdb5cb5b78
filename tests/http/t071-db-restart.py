#!/usr/bin/env python3
"""Connections that heal, against the real binary and real servers: the
PostgreSQL or MariaDB server of the test run is restarted
(scripts/test-servers.sh restart) while `meditrack serve` keeps running.
Under a steady load of reads and writes, at most one request may fail once
the restart has returned, and every failure at any time is a JSON 503 with
Retry-After, never a plain-text 500. Restarted while the pool is idle, the
next burst of requests all succeed (dead pooled connections are found
before use). Needs MT_TEST_SERVERS (the directory scripts/run-tests.sh
started the servers in); skipped on SQLite, which has no server."""

import os
import subprocess
import threading
import time

import apilib
import dblib
from apilib import check

SERVERS = os.environ.get("MT_TEST_SERVERS", "")
WHICH = {"postgresql": "pg", "mysql": "my"}


def restart():
    """Restarts this dialect's server; returns when it accepts connections."""
    r = subprocess.run([os.path.join(apilib.ROOT, "scripts", "test-servers.sh"), "restart",
                        SERVERS, WHICH[apilib.DIALECT]], capture_output=True, text=True,
                       timeout=180)
    return r.returncode == 0, r.stdout + r.stderr


class Load:
    """Alternating GET persons, POST persons and GET /api/v1/health every
    20 ms on one thread, recording (start time, response)."""

    def __init__(self, s):
        self.s = s
        self.results = []
        self.stop = False
        self.t = threading.Thread(target=self._run)
        self.t.start()

    def _run(self):
        i = 0
        while not self.stop:
            t0 = time.monotonic()
            try:
                if i % 3 == 0:
                    r = self.s.get("/api/v1/persons/", timeout=20)
                elif i % 3 == 1:
                    r = self.s.post("/api/v1/persons/", {"first_name": f"Load {i}"}, timeout=20)
                else:
                    r = self.s.get("/api/v1/health", timeout=20)
            except OSError as e:
                r = e
            self.results.append((t0, r))
            i += 1
            time.sleep(0.02)

    def finish(self):
        self.stop = True
        self.t.join()
        return self.results


def ok(r):
    return isinstance(r, apilib.Response) and r.status in (200, 201)


def fault_ok(r):
    """A failure during the restart: JSON 503 with Retry-After."""
    return isinstance(r, apilib.Response) and dblib.is_fault_reply(r)


def under_load(s):
    # Fill the pool with several connections first.
    burst = [dblib.Timed(s, "GET", "/api/v1/persons/") for _ in range(6)]
    for t in burst:
        t.join()
    load = Load(s)
    time.sleep(0.5)
    done, out = restart()
    back = time.monotonic()
    check("restart under load: the server restarted", done, out[-2000:])
    time.sleep(2.0)
    results = load.finish()
    after = [(t, r) for t, r in results if t >= back]
    failed_after = [r for _, r in after if not ok(r)]
    failed_all = [r for _, r in results if not ok(r)]
    print(f"# {len(results)} requests, {len(failed_all)} failed while the database was down "
          f"or coming back, {len(failed_after)} of the {len(after)} sent after it was back")
    check("restart under load: requests ran after the restart", len(after) >= 20, len(after))
    check("restart under load: at most one request failed after the database was back",
          len(failed_after) <= 1, [dblib.describe(r) if isinstance(r, apilib.Response)
                                   else repr(r) for r in failed_after])
    bad = [r for r in failed_all if not fault_ok(r)]
    check("restart under load: every failure was a JSON 503 with Retry-After", not bad,
          [dblib.describe(r) if isinstance(r, apilib.Response) else repr(r) for r in bad[:5]])
    check("restart under load: no 500 of any kind",
          not any(isinstance(r, apilib.Response) and r.status == 500 for r in failed_all))


def idle_pool(s):
    burst = [dblib.Timed(s, "GET", "/api/v1/persons/") for _ in range(6)]
    for t in burst:
        t.join()
    done, out = restart()
    check("restart while idle: the server restarted", done, out[-2000:])
    burst = [dblib.Timed(s, "POST", "/api/v1/persons/", {"first_name": f"After {i}"})
             for i in range(4)]
    burst += [dblib.Timed(s, "GET", "/api/v1/persons/") for _ in range(4)]
    burst.append(dblib.Timed(s, "GET", "/api/v1/health"))
    for t in burst:
        t.join()
    bad = [dblib.describe(t.resp) for t in burst if not ok(t.resp)]
    check("restart while idle: every request after it succeeded", not bad, bad)


def main():
    if apilib.DIALECT == "sqlite":
        dblib.skip_suite("SQLite has no server to restart")
    if not SERVERS:
        dblib.skip_suite("MT_TEST_SERVERS is not set (run through scripts/run-tests.sh)")
    s = apilib.Server("t071_restart", env={"DB_POOL_SIZE": "4", "HTTP_THREADS": "4",
                                            "DB_STATEMENT_TIMEOUT": "3000"})
    try:
        under_load(s)
        idle_pool(s)
        check("the server kept running", s.proc.poll() is None)
    finally:
        s.stop()
    apilib.report()


if __name__ == "__main__":
    main()
