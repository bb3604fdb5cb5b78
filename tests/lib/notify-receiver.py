#!/usr/bin/env python3
"""A real HTTP receiver for the reminder tests (tests/http/t094-*.py,
t095-*.py): it records every POST that ntfy, Gotify and webhook channels make,
checks webhook signatures (X-MediTrack-Signature: sha256=HMAC of the body
under the path's secret, and X-MediTrack-Timestamp equal to the body's
"timestamp" and within 5 minutes of now), and can be told to answer 500 or
to be slow. Python 3 stdlib only.

Usage: notify-receiver.py PORT_FILE [PORT]
It binds 127.0.0.1 on PORT (default: a free one; given again after a stop,
the receiver comes back where the channels point), writes the port to
PORT_FILE, and serves:
  POST <any path>          recorded; answered per the current mode
  GET  /_records           {"records": [...]} in arrival order
  POST /_control           {"mode": "ok"|"fail"|"slow", "delay": seconds,
                            "fail_next": N, "secrets": {"/path": "secret"},
                            "path": "/p"}: with "path", mode, delay and
                            fail_next apply to that path only
  POST /_reset             forgets the records
Each record: {"path", "query", "headers" (lower-case names), "body" (text),
"status" (what was answered), "hmac": "ok"|"bad"|"none", "at" (time)}.
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
records = []
state = {"mode": "ok", "delay": 0.0, "fail_next": 0, "secrets": {}}
paths = {}  # path -> {"mode", "delay", "fail_next"}, overriding state


def check_hmac(path, headers, body):
    secret = state["secrets"].get(path)
    sig = headers.get("x-meditrack-signature")
    if secret is None or sig is None:
        return "none"
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return "bad"
    try:
        ts = int(headers.get("x-meditrack-timestamp", ""))
        doc = json.loads(body)
    except ValueError:
        return "bad"
    if doc.get("timestamp") != ts or abs(time.time() - ts) > 300:
        return "bad"
    return "ok"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path == "/_records":
            with lock:
                self.reply(200, {"records": list(records)})
        else:
            self.reply(404, {"detail": "not found"})

    def do_POST(self):
        body = self.read_body()
        if self.path == "/_control":
            doc = json.loads(body or b"{}")
            with lock:
                target = state
                if "path" in doc:
                    target = paths.setdefault(doc["path"], {"mode": "ok", "delay": 0.0,
                                                           "fail_next": 0})
                for k in ("mode", "delay", "fail_next"):
                    if k in doc:
                        target[k] = doc[k]
                state["secrets"].update(doc.get("secrets", {}))
            self.reply(200, {"ok": True})
            return
        if self.path == "/_reset":
            with lock:
                records.clear()
            self.reply(200, {"ok": True})
            return
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            st = paths.get(path, state)
            mode, delay = st["mode"], float(st["delay"])
            status = 200
            if st["fail_next"] > 0:
                st["fail_next"] -= 1
                status = 500
            elif mode == "fail":
                status = 500
            verdict = check_hmac(path, headers, body)
        if mode == "slow":
            time.sleep(delay)
        rec = {"path": path, "query": query, "headers": headers,
               "body": body.decode("utf-8", "replace"), "status": status,
               "hmac": verdict, "at": time.time()}
        with lock:
            records.append(rec)
        self.reply(status, {"id": len(records)} if status == 200 else {"error": "told to fail"})


def main():
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
