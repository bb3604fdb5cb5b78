"""Shared helpers of the t020-api-*.py suites: start the real `meditrack
serve` on a free port against a fresh database migrated with `meditrack db
upgrade head`, send requests (one connection each, as the reference samples
were captured), and count checks. Python 3 stdlib only. Every suite ends with
report(), whose last line is "N passed, N failed"."""

import datetime
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("MT_TEST_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
MEDITRACK = os.environ.get("MEDITRACK") or os.path.join(ROOT, "build", "meditrack")
TMP = os.environ.get("MT_TEST_TMP") or tempfile.mkdtemp(prefix="t020-")
os.makedirs(TMP, exist_ok=True)
DIALECT = os.environ.get("MT_TEST_DIALECT", "sqlite")

passed = 0
failed = 0

# Timestamps the API writes: UTC with a Z, microseconds only when not zero.
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")
TS_SECONDS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

PERSON_KEYS = ["first_name", "last_name", "date_of_birth", "notes", "id", "is_default",
               "created_at", "updated_at", "name"]
PERSON_STATS_KEYS = PERSON_KEYS[:-1] + ["medication_count", "name"]
MED_KEYS = ["name", "dosage", "frequency", "max_doses_per_day", "instructions", "id",
            "person_id", "created_at", "updated_at"]
MED_DAY_KEYS = MED_KEYS + ["doses_taken_today", "last_taken_at"]
DOSE_KEYS = ["medication_id", "medication_name", "id", "taken_at"]
SUMMARY_KEYS = ["medication_id", "medication_name", "doses_taken", "max_doses", "dose_times"]


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"FAIL - {name}" + (f": {detail}" if detail else ""))
    sys.stdout.flush()
    return bool(cond)


def report():
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def fresh_db(tag):
    out = subprocess.run([os.path.join(ROOT, "tests", "lib", "fresh-db"), tag],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def local_today(offset):
    """Today in the zone of a JavaScript-style offset (300 = UTC-5)."""
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=offset)
    return now.date()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"), object_pairs_hook=_pairs)
        except (ValueError, UnicodeDecodeError):
            return None

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class _Obj(dict):
    """A dict that remembers the key order it was read in (dicts do)."""


def _pairs(pairs):
    d = _Obj()
    for k, v in pairs:
        d[k] = v
    return d


class Server:
    """One `meditrack serve` on a fresh, migrated database. The suites
    written for the reference's open API run it with AUTH=off; a suite
    about access control passes env={"AUTH": "on", ...}."""

    def __init__(self, tag, env=None, migrate=True):
        self.tag = tag
        self.port = free_port()
        self.log_path = os.path.join(TMP, f"{tag}-{DIALECT}-{self.port}.log")
        self.url = fresh_db(tag)
        e = {k: v for k, v in os.environ.items()
             if k not in ("HOST", "PORT", "CORS_ORIGINS", "MAX_BODY_BYTES", "TIMEZONE_OFFSET",
                          "STATIC_DIR", "LOG_LEVEL", "LOG_FORMAT", "ENV_FILE", "SEED_ON_EMPTY",
                          "SEED_DEMO_DATA", "AUTO_MIGRATE", "AUTH", "TRUSTED_PROXIES",
                          "AUTH_PROXY_HEADER", "AUTH_PROXY_GROUPS_HEADER", "TIMEZONE", "TZ",
                          "ALLOW_TEST_CLOCK", "TEST_CLOCK_START", "TEST_CLOCK_SPEED")}
        e.update({"DATABASE_URL": self.url, "HOST": "127.0.0.1", "PORT": str(self.port),
                  "LOG_LEVEL": "warning", "SEED_ON_EMPTY": "false", "AUTO_MIGRATE": "false",
                  "HTTP_THREADS": "8", "DB_POOL_SIZE": "8", "AUTH": "off"})
        e.update(env or {})
        self.env = e
        if migrate:
            mig = subprocess.run([MEDITRACK, "db", "upgrade", "head"], env=e, cwd=TMP,
                                 capture_output=True, text=True)
            if mig.returncode != 0:
                print(mig.stdout + mig.stderr)
                raise RuntimeError("meditrack db upgrade head failed")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([MEDITRACK, "serve"], env=e, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=TMP)
        if not self.wait_ready():
            self.stop()
            print(self.log_text()[-3000:])
            raise RuntimeError("the server did not become ready")

    def wait_ready(self, timeout=90):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                return False
            try:
                if self.get("/health", timeout=2).status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def request(self, method, path, body=None, headers=None, timeout=30):
        """body: bytes/str sent as is; dict/list sent as JSON with its content type."""
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def alive(self):
        try:
            return self.get("/health", timeout=5).status == 200
        except OSError:
            return False

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        log = self.log_text()
        bad = [line for line in log.splitlines()
               if "Sanitizer" in line or "runtime error:" in line or "LeakSanitizer" in line]
        check(f"{self.tag}: server stopped cleanly (exit {self.proc.returncode})",
              self.proc.returncode == 0 and not bad, "\n".join(bad[:10]))
        return self.proc.returncode


def keys_of(obj):
    return list(obj.keys()) if isinstance(obj, dict) else None


def expect(name, resp, status, body=None, keys=None):
    """Checks a response: status, and optionally the exact JSON body (compared
    with key order) or the key order of an object."""
    ok = check(f"{name}: status {status}", resp.status == status, repr(resp))
    if body is not None:
        got = resp.json()
        same = got == body and json.dumps(got) == json.dumps(body)
        check(f"{name}: body", same, f"got {resp.text()[:600]}\nwant {json.dumps(body)[:600]}")
    if keys is not None:
        got = resp.json()
        check(f"{name}: key order", keys_of(got) == keys, f"got {keys_of(got)}")
    return ok


def person(server, first, **fields):
    body = {"first_name": first}
    body.update(fields)
    r = server.post("/api/v1/persons/", body)
    if r.status != 201:
        raise RuntimeError(f"creating person {first}: {r!r}")
    return r.json()


def medication(server, person_id, name, max_doses=2, **fields):
    body = {"person_id": person_id, "name": name, "dosage": "1 tab", "frequency": "daily",
            "max_doses_per_day": max_doses}
    body.update(fields)
    r = server.post("/api/v1/medications/", body)
    if r.status != 201:
        raise RuntimeError(f"creating medication {name}: {r!r}")
    return r.json()


def detail_422(errors):
    return {"detail": errors}
