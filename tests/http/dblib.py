"""Helpers of the database fault suites (t070-t072): run SQL on the test
database through the real command-line clients (psql, mariadb), hold a
lock from a second session for as long as a test needs, send requests
concurrently and time them, and check that a fault was answered the way
clients expect (JSON {"detail": ...}, Retry-After). Python 3 stdlib only."""

import json
import os
import subprocess
import threading
import time
import urllib.parse

import apilib


def _mariadb_args(url):
    u = urllib.parse.urlsplit(url)
    args = ["mariadb", "--no-defaults", "-h", u.hostname or "127.0.0.1",
            "-P", str(u.port or 3306), "-u", urllib.parse.unquote(u.username or ""),
            u.path.lstrip("/")]
    env = dict(os.environ, MYSQL_PWD=urllib.parse.unquote(u.password or ""))
    return args, env


def client(url):
    """The command line and environment of the dialect's client for url."""
    if apilib.DIALECT == "postgresql":
        return ["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1"], dict(os.environ)
    args, env = _mariadb_args(url)
    return args + ["-N", "-B"], env


def sql(url, statement, check=True):
    """Runs statement in its own session; returns its output, stripped."""
    args, env = client(url)
    r = subprocess.run(args + ["-c" if apilib.DIALECT == "postgresql" else "-e", statement],
                       env=env, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{statement!r} failed: {r.stderr.strip()}")
    return r.stdout.strip()


class Holder:
    """A second session that runs `take` (which takes a lock) and keeps its
    transaction open until release() sends `release_sql`. held_query, run
    in sessions of its own, says when the lock is held: its last output
    line is not 0, or (held_when_fails) it fails with that text in its
    error, as a NOWAIT probe does."""

    def __init__(self, url, take, release_sql, held_query, held_when_fails=None):
        self.held_when_fails = held_when_fails
        args, env = client(url)
        self.url = url
        self.proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.release_sql = release_sql
        self.proc.stdin.write(take + "\n")
        self.proc.stdin.flush()
        self.held = self._wait(held_query)

    def _wait(self, held_query, timeout=10):
        end = time.time() + timeout
        self.last = ""
        while time.time() < end:
            if self.proc.poll() is not None:
                self.last = f"the session ended: {self.proc.stderr.read()}"
                return False
            args, env = client(self.url)
            r = subprocess.run(args + ["-c" if apilib.DIALECT == "postgresql" else "-e",
                                       held_query], env=env, capture_output=True, text=True,
                               timeout=60)
            out = r.stdout.strip()
            self.last = out + r.stderr.strip()
            if self.held_when_fails:
                if r.returncode != 0 and self.held_when_fails in r.stderr:
                    return True
            elif out and out.splitlines()[-1].strip() not in ("", "0"):
                return True
            time.sleep(0.05)
        return False

    def release(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(self.release_sql + "\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read()


class Timed:
    """One request sent on its own thread; .resp and .took once joined."""

    def __init__(self, server, method, path, body=None, timeout=30):
        self.resp = None
        self.error = None
        self.took = None
        self.t = threading.Thread(target=self._run, args=(server, method, path, body, timeout))
        self.t.start()

    def _run(self, server, method, path, body, timeout):
        t0 = time.monotonic()
        try:
            self.resp = server.request(method, path, body, timeout=timeout)
        except OSError as e:
            self.error = e
        self.took = time.monotonic() - t0

    def join(self):
        self.t.join()
        return self


def is_fault_reply(resp, status=503):
    """A fault as clients expect it: the status, JSON {"detail": text} and a
    Retry-After of whole seconds."""
    if resp is None or resp.status != status:
        return False
    if not (resp.headers.get("content-type") or "").startswith("application/json"):
        return False
    body = resp.json()
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return False
    ra = resp.headers.get("retry-after", "")
    return ra.isdigit() and int(ra) >= 1


def describe(resp):
    if resp is None:
        return "no response"
    return f"{resp.status} {resp.headers.get('content-type')} retry-after=" \
           f"{resp.headers.get('retry-after')} {resp.text()[:200]}"


def health_status(resp):
    """(top-level status, database component status) of /api/v1/health."""
    body = resp.json() if resp is not None else None
    if not isinstance(body, dict):
        return None, None
    comps = body.get("components") or []
    db = next((c for c in comps if isinstance(c, dict) and c.get("component") == "database"), {})
    return body.get("status"), db.get("status")


def skip_suite(why):
    print(f"SKIP ({apilib.DIALECT}): {why}")
    print("0 passed, 0 failed")
    raise SystemExit(0)


def dumps(obj):
    return json.dumps(obj)[:300]
