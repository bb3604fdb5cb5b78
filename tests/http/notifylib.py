"""Helpers of the reminder suites (t094, t095): start and stop the real
local receivers of tests/lib (notify-receiver.py for ntfy, Gotify and
webhooks; smtp-receiver.py, on Debian's python3-aiosmtpd, for e-mail), read
what they recorded, and wait for conditions. Python 3 stdlib only; the SMTP
receiver runs under /usr/bin/python3, where python3-aiosmtpd is installed."""

import json
import os
import subprocess
import time
import urllib.request

import apilib

LIB = os.path.join(apilib.ROOT, "tests", "lib")
SYSTEM_PYTHON = "/usr/bin/python3"


def _wait_file(path, proc, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            with open(path) as f:
                return int(f.read().strip())
        if proc.poll() is not None:
            raise RuntimeError(f"receiver exited with {proc.returncode}")
        time.sleep(0.05)
    raise RuntimeError("receiver did not start")


class HttpReceiver:
    """tests/lib/notify-receiver.py in a process of its own."""

    def __init__(self, tag):
        self.tag = tag
        self.port = 0
        self.proc = None
        self.start()

    def start(self):
        pf = os.path.join(apilib.TMP, f"{self.tag}-{os.getpid()}-{time.time_ns()}.port")
        args = ["python3", os.path.join(LIB, "notify-receiver.py"), pf]
        if self.port:
            args.append(str(self.port))
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = _wait_file(pf, self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def records(self, path=None):
        recs = self._call("GET", "/_records")["records"]
        return [r for r in recs if path is None or r["path"] == path]

    def control(self, **kw):
        self._call("POST", "/_control", kw)

    def reset(self):
        self._call("POST", "/_reset", {})


class SmtpReceiver:
    """tests/lib/smtp-receiver.py (aiosmtpd); user and password make it
    require AUTH."""

    def __init__(self, tag, user=None, password=None):
        base = os.path.join(apilib.TMP, f"{tag}-{os.getpid()}")
        self.records_path = base + ".mails"
        self.mode_path = base + ".mode"
        pf = base + ".smtpport"
        for p in (self.records_path, pf):
            if os.path.exists(p):
                os.unlink(p)
        self.set_mode("ok")
        args = [SYSTEM_PYTHON, os.path.join(LIB, "smtp-receiver.py"), pf, self.records_path,
                self.mode_path]
        if user:
            args += [user, password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = _wait_file(pf, self.proc)

    def set_mode(self, mode):
        with open(self.mode_path, "w") as f:
            f.write(mode)

    def messages(self):
        if not os.path.exists(self.records_path):
            return []
        with open(self.records_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_for(cond, timeout=20, step=0.1):
    """Polls cond() until it is truthy; returns its last value."""
    end = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() > end:
            return v
        time.sleep(step)
