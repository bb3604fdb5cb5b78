#!/usr/bin/env python3
"""Black-box tests of the HTTP core: starts the real `meditrack serve` on free
ports against a fresh database and checks routing (404/405, HEAD, trailing
slash), limits (body, headers, per-IP connections, request deadline), bad
requests, keep-alive, CORS, the access log, graceful shutdown on SIGTERM and
the exit code when the port is taken. Python 3 stdlib only. Last line:
"N passed, N failed"."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.environ.get("MT_TEST_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
MEDITRACK = os.environ.get("MEDITRACK") or os.path.join(ROOT, "build", "meditrack")
TMP = os.environ.get("MT_TEST_TMP") or tempfile.mkdtemp(prefix="t010-")
os.makedirs(TMP, exist_ok=True)

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"FAIL - {name}" + (f": {detail}" if detail else ""))
    return cond


def fresh_db(tag):
    out = subprocess.run([os.path.join(ROOT, "tests", "lib", "fresh-db"), tag],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `meditrack serve` process with its stderr captured in a file."""

    def __init__(self, tag, env=None, port=None):
        self.port = port or free_port()
        self.log_path = os.path.join(TMP, f"t010-{tag}-{self.port}.log")
        e = dict(os.environ)
        for k in list(e):
            if k in ("HOST", "PORT", "CORS_ORIGINS", "MAX_BODY_BYTES", "REQUEST_DEADLINE",
                     "MAX_CONNECTIONS_PER_IP", "SHUTDOWN_GRACE", "LOG_FORMAT", "LOG_LEVEL",
                     "STATIC_DIR"):
                del e[k]
        e.pop("ENV_FILE", None)  # cwd is TMP, which has no .env
        # The HTTP core needs no tables: skip migrations unless a test asks.
        # The open API of the reference (AUTH=off), unless a test asks.
        e.update({"HOST": "127.0.0.1", "PORT": str(self.port), "LOG_LEVEL": "info",
                  "AUTO_MIGRATE": "false", "AUTH": "off"})
        if "DATABASE_URL" not in (env or {}):
            e["DATABASE_URL"] = fresh_db("t010_" + tag)
        e.update(env or {})
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([MEDITRACK, "serve"], env=e, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=TMP)

    def wait_ready(self, timeout=90):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                return False
            try:
                st, _, _ = request(self.port, "GET", "/health", timeout=2)
                if st == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
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
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def request(port, method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def raw(port, data, timeout=5, connect_timeout=5):
    """Sends raw bytes and reads until the server closes or a full response
    (by content-length) has arrived. Returns (status or None, bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout)
    s.settimeout(timeout)
    buf = b""
    try:
        s.sendall(data)
        while True:
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if len(rest) >= length:
                    break
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        pass
    finally:
        s.close()
    status = None
    if buf.startswith(b"HTTP/1."):
        try:
            status = int(buf.split(b" ", 2)[1])
        except ValueError:
            pass
    return status, buf


def is_closed(sock, timeout=5):
    """True when the peer closed (or reset) the connection within timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            d = sock.recv(4096)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def access_lines(text):
    return [ln for ln in text.splitlines() if " access " in ln or "\"access" in ln]


# --------------------------------------------------------------------------


def test_routing(port):
    st, h, body = request(port, "GET", "/health")
    check("GET /health is 200", st == 200, st)
    check("GET /health body", json.loads(body) == {"status": "healthy", "version": "1.0.0"}, body)
    check("GET /health body is compact", body == b'{"status":"healthy","version":"1.0.0"}', body)
    check("GET /health content-type", h.get("content-type") == "application/json", h)
    check("GET /health content-length", h.get("content-length") == "38", h)
    check("no Allow header on 200", "allow" not in h)

    st, h, body = request(port, "GET", "/health?x=1&x=2")
    check("query string is not part of the path", st == 200, st)
    st, h, body = request(port, "GET", "/heal%74h")
    check("path is percent-decoded before routing", st == 200, st)

    for path in ("/nope", "/", "/api/v1/nope", "/health/", "/HEALTH"):
        st, h, body = request(port, "GET", path)
        check(f"GET {path} is 404 JSON",
              st == 404 and body == b'{"detail":"Not Found"}'
              and h.get("content-type") == "application/json", (st, body, h))

    # HEAD answers as GET without the body (issue 11; the reference said 404).
    st, h, body = request(port, "HEAD", "/health")
    check("HEAD /health is GET without a body",
          st == 200 and body == b"" and h.get("content-length") == "38"
          and h.get("content-type") == "application/json", (st, h, body))

    # The reference's 405 body, now with Allow (issue 11).
    for method, path, allow in (("POST", "/health", "GET, HEAD, OPTIONS"),
                                ("PUT", "/health", "GET, HEAD, OPTIONS"),
                                ("DELETE", "/nope", "GET, HEAD, OPTIONS"),
                                ("PATCH", "/health/", "GET, HEAD, OPTIONS"),
                                ("PATCH", "/api/v1/persons/1",
                                 "GET, HEAD, PUT, DELETE, OPTIONS")):
        st, h, body = request(port, method, path)
        check(f"{method} {path} is 405 JSON with Allow",
              st == 405 and body == b'{"detail":"Method Not Allowed"}'
              and h.get("allow") == allow
              and h.get("content-type") == "application/json", (st, body, h))
    st, h, body = request(port, "OPTIONS", "/api/v1/persons/")
    check("OPTIONS without preflight headers is 204 with Allow",
          st == 204 and body == b"" and h.get("allow") == "GET, HEAD, POST, OPTIONS", (st, h))


def test_keepalive(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.connect()
    first = c.sock
    ok = True
    statuses = []
    for i in range(5):
        c.request("GET", "/health")
        r = c.getresponse()
        r.read()
        statuses.append(r.status)
        ok = ok and r.status == 200 and not r.will_close
    # A request with a body must not cost the connection either.
    c.request("POST", "/health", body=b'{"a":1}', headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    statuses.append(r.status)
    ok = ok and r.status == 405 and not r.will_close
    c.request("GET", "/nope")
    r = c.getresponse()
    r.read()
    statuses.append(r.status)
    check("keep-alive: 7 requests on one connection", ok and c.sock is first and statuses[-1] == 404,
          statuses)
    c.close()


def test_body_limit(port, limit):
    # At the limit: accepted (GET /health ignores its body).
    st, h, body = request(port, "GET", "/health", body=b"x" * limit)
    check(f"body of exactly {limit} bytes accepted", st == 200, st)
    st, h, body = request(port, "POST", "/health", body=b"x" * (limit + 1))
    check(f"body of {limit + 1} bytes is 413",
          st == 413 and json.loads(body) == {"detail": "Request body too large"}, (st, body))
    check("413 is JSON", h.get("content-type") == "application/json", h)
    # The whole body was read: the connection stays usable.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("PUT", "/health", body=b"y" * (limit + 100))
    r = c.getresponse()
    r.read()
    c.request("GET", "/health")
    r2 = c.getresponse()
    r2.read()
    check("413 keeps the connection usable", r.status == 413 and r2.status == 200,
          (r.status, r2.status))
    c.close()
    # Chunked bodies are counted too.
    chunk = b"z" * 1000
    n = limit // 1000 + 2
    data = (b"POST /health HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + (b"3e8\r\n" + chunk + b"\r\n") * n + b"0\r\n\r\n")
    st, resp = raw(port, data)
    check("chunked body over the limit is 413", st == 413, resp[:200])
    # Expect: 100-continue with a too large announced length: refused at once.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
              b"Expect: 100-continue\r\n\r\n" % (limit * 10))
    resp = b""
    try:
        while b"\r\n\r\n" not in resp:
            d = s.recv(4096)
            if not d:
                break
            resp += d
    except OSError:
        pass
    s.close()
    check("Expect: 100-continue with a too large body is 413 before the body",
          resp.startswith(b"HTTP/1.1 413"), resp[:100])
    st, _, _ = request(port, "GET", "/health")
    check("server alive after oversized bodies", st == 200, st)


def test_bad_requests(port):
    big = "a" * (64 * 1024)
    st, resp = raw(port, b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + big.encode() +
                   b"\r\nConnection: close\r\n\r\n")
    check("oversized header rejected", st in (400, 413, 431), (st, resp[:120]))
    st, resp = raw(port, b"GET /" + b"a" * (64 * 1024) + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    check("oversized request line rejected", st in (400, 414, 431), (st, resp[:120]))
    st, resp = raw(port, b"THIS IS NOT HTTP\r\n\r\n")
    check("malformed request line is 400", st == 400, resp[:120])
    st, resp = raw(port, b"GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n")
    check("bad Content-Length is 400", st == 400, resp[:120])
    st, _, _ = request(port, "GET", "/health")
    check("server alive after bad requests", st == 200, st)


def test_deadline(port, deadline):
    # Headers trickled a line at a time: never idle, but never complete.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
    t0 = time.time()
    cut_at = None
    s.settimeout(0.3)
    while time.time() - t0 < deadline + 6:
        try:
            s.sendall(b"X-Slow: 1\r\n")
            d = s.recv(4096)
            if not d:
                cut_at = time.time() - t0
                break
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            cut_at = time.time() - t0
            break
    s.close()
    check(f"trickled headers cut by the {deadline} s deadline",
          cut_at is not None and deadline - 0.5 <= cut_at <= deadline + 2, cut_at)

    # A trickled body: the request reached the handler stage but never completes.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
    t0 = time.time()
    cut_at = None
    s.settimeout(0.3)
    while time.time() - t0 < deadline + 6:
        try:
            s.sendall(b"x")
            d = s.recv(4096)
            if not d:
                cut_at = time.time() - t0
                break
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            cut_at = time.time() - t0
            break
    s.close()
    check(f"trickled body cut by the {deadline} s deadline",
          cut_at is not None and deadline - 0.5 <= cut_at <= deadline + 2, cut_at)

    # A kept-alive connection that answered quickly is not cut right after.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/health")
    c.getresponse().read()
    time.sleep(deadline + 0.5)
    c.request("GET", "/health")
    r = c.getresponse()
    r.read()
    check("idle kept-alive connection still usable after the deadline", r.status == 200, r.status)
    c.close()


def test_per_ip_limit(port, limit):
    socks = open_served(port, limit)
    served = len(socks)
    check(f"{limit} kept-alive connections from one address are served", served == limit, served)
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        extra.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    except OSError:
        pass
    check(f"connection {limit + 1} from one address is refused", is_closed(extra, 3))
    extra.close()
    for s in socks:
        s.close()
    ok = False
    for _ in range(50):
        try:
            st, _, _ = request(port, "GET", "/health", timeout=2)
            if st == 200:
                ok = True
                break
        except OSError:
            pass
        time.sleep(0.1)
    check("new connections accepted once the others closed", ok)


def test_cors_any(port):
    st, h, body = request(port, "GET", "/health", headers={"Origin": "http://example.com"})
    check("CORS *: allow-origin * without credentials",
          st == 200 and h.get("access-control-allow-origin") == "*"
          and "access-control-allow-credentials" not in h and "vary" not in h, h)
    st, h, body = request(port, "GET", "/nope", headers={"Origin": "http://example.com"})
    check("CORS headers on a 404 too", st == 404 and h.get("access-control-allow-origin") == "*", h)
    st, h, body = request(port, "OPTIONS", "/api/v1/persons/", headers={
        "Origin": "http://example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    check("CORS preflight 200 OK text/plain",
          st == 200 and body == b"OK" and h.get("content-type") == "text/plain; charset=utf-8",
          (st, body, h))
    check("CORS * preflight: any origin, no credentials",
          h.get("vary") == "Origin"
          and h.get("access-control-allow-methods") == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
          and h.get("access-control-max-age") == "600"
          and "access-control-allow-credentials" not in h
          and h.get("access-control-allow-origin") == "*"
          and h.get("access-control-allow-headers") == "content-type", h)
    st, h, body = request(port, "OPTIONS", "/health", headers={
        "Origin": "http://example.com", "Access-Control-Request-Method": "TRACE"})
    check("CORS preflight with a bad method is 400", st == 400 and body == b"Disallowed CORS method",
          (st, body))


def test_cors_list(port):
    st, h, _ = request(port, "GET", "/health", headers={"Origin": "https://meds.example"})
    check("CORS list: allowed origin echoed with Vary and credentials",
          h.get("access-control-allow-origin") == "https://meds.example" and h.get("vary") == "Origin"
          and h.get("access-control-allow-credentials") == "true", h)
    st, h, _ = request(port, "GET", "/health", headers={"Origin": "http://evil.example"})
    check("CORS list: other origin gets no allow-origin",
          st == 200 and "access-control-allow-origin" not in h, h)
    st, h, body = request(port, "OPTIONS", "/api/v1/persons/", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    check("CORS list: preflight from another origin is 400",
          st == 400 and body == b"Disallowed CORS origin", (st, body))
    st, h, body = request(port, "OPTIONS", "/api/v1/persons/", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "DELETE"})
    check("CORS list: preflight from a listed origin is 200",
          st == 200 and h.get("access-control-allow-origin") == "http://localhost:3000", (st, h))


def test_access_log(srv):
    tags = [uuid.uuid4().hex for _ in range(3)]
    for t in tags:
        request(srv.port, "GET", "/nope-" + t)
    request(srv.port, "POST", "/health", body=b"{}")
    time.sleep(0.3)
    lines = access_lines(srv.log_text())
    ok = all(sum(1 for ln in lines if "/nope-" + t in ln) == 1 for t in tags)
    check("one access-log line per request", ok, [ln for ln in lines if "nope-" in ln][:5])
    sample = next((ln for ln in lines if "/nope-" + tags[0] in ln), "")
    check("access line has method, path, route, status, duration, request id",
          all(k in sample for k in ("method=GET", "path=/nope-", "route=", "status=404", "ms=",
                                    "request_id=")), sample)
    post = [ln for ln in lines if "method=POST" in ln and "path=/health" in ln]
    check("access line for a 405", any("status=405" in ln for ln in post), post[-1:])


def test_shutdown(srv):
    port = srv.port
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    idle.request("GET", "/health")
    idle.getresponse().read()  # an idle kept-alive connection must not delay the exit

    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    body = b'{"slow":"request"}'
    slow.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
                 + body[:5])
    time.sleep(0.5)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    refused = False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        refused = True
    check("after SIGTERM new connections are refused", refused)
    check("after SIGTERM the in-flight request keeps the server up", srv.proc.poll() is None)
    slow.sendall(body[5:])
    slow.settimeout(10)
    resp = b""
    try:
        while b'"healthy"' not in resp:
            d = slow.recv(4096)
            if not d:
                break
            resp += d
    except OSError:
        pass
    slow.close()
    check("the in-flight request completes after SIGTERM",
          resp.startswith(b"HTTP/1.1 200") and b'"status":"healthy"' in resp, resp[:200])
    check("its response says Connection: close", b"connection: close" in resp.lower(), resp[:200])
    t0 = time.time()
    try:
        rc = srv.proc.wait(8)
    except subprocess.TimeoutExpired:
        rc = None
    check("process exits 0 soon after the last request", rc == 0 and time.time() - t0 < 5,
          (rc, time.time() - t0))
    idle.close()
    text = srv.log_text()
    check("shutdown is logged", "SIGTERM" in text, text[-300:])


def open_served(port, n, tries=30):
    """Opens n kept-alive connections, each answered once; refused slots are
    retried since closed connections may count for a moment."""
    socks = []
    for _ in range(n):
        for _attempt in range(tries):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
                if s.recv(4096).startswith(b"HTTP/1.1 200"):
                    socks.append(s)
                    break
            except OSError:
                pass
            s.close()
            time.sleep(0.1)
    return socks


def test_many_idle(port, n):
    """A small fixed cap (libmicrohttpd's was about 1,000) would make a new client wait
    behind that many idle sockets; MAX_CONNECTIONS raises it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 200
    if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    if soft < want:
        print(f"SKIP - {n} idle connections: open-file limit {soft} is too low")
        return
    idle = []
    try:
        for _ in range(n):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.5)
        t0 = time.time()
        try:
            st, _, _ = request(port, "GET", "/health", timeout=5)
        except OSError as e:
            st = e
        took = time.time() - t0
        check(f"a new client is answered at once behind {n} idle connections",
              st == 200 and took < 2, (st, took))
    finally:
        for s in idle:
            s.close()


def test_connection_cap(port, cap):
    """At MAX_CONNECTIONS the server sheds an idle kept-alive connection to
    serve a new client at once (issue 11), instead of letting it wait."""
    socks = open_served(port, cap)
    check(f"{cap} connections served under MAX_CONNECTIONS={cap}", len(socks) == cap, len(socks))
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)
    extra.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    extra.settimeout(1.5)
    try:
        early = extra.recv(4096)
    except OSError as e:
        early = repr(e).encode()
    check(f"connection {cap + 1} is served at once while {cap} idle ones are open",
          early.startswith(b"HTTP/1.1 200"), early[:80])
    closed = sum(1 for s in socks if is_closed(s, timeout=1))
    check("the oldest idle connection was shed to make room", closed >= 1, closed)
    extra.close()
    for s in socks:
        s.close()


def test_grace_expires():
    """A request that never completes is cut when SHUTDOWN_GRACE runs out;
    SIGINT behaves as SIGTERM."""
    srv = Server("grace", {"SHUTDOWN_GRACE": "1", "HTTP_THREADS": "1", "MAX_CONNECTIONS": "4"})
    try:
        if not check("server for the grace test starts", srv.wait_ready(), srv.log_text()[-300:]):
            return
        test_connection_cap(srv.port, 4)
        srv.wait_ready(10)  # until the closed connections no longer count
        stuck = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        stuck.sendall(b"POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        time.sleep(0.5)
        t0 = time.time()
        srv.proc.send_signal(signal.SIGINT)
        try:
            rc = srv.proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.time() - t0
        check("SIGINT with a stuck request: exit 0 after the 1 s grace",
              rc == 0 and 0.8 <= took < 4, (rc, took))
        check("the stuck request's connection is closed", is_closed(stuck, 3))
        stuck.close()
        text = srv.log_text()
        check("the cut request is logged", "still in flight" in text and "aborted=" in text,
              text[-400:])
    finally:
        srv.stop()


def test_port_in_use(port, url):
    srv = Server("busy", {"DATABASE_URL": url}, port=port)
    try:
        rc = srv.proc.wait(30)
    except subprocess.TimeoutExpired:
        rc = None
    srv.stop()
    check("port in use: exit code 8", rc == 8, (rc, srv.log_text()[-300:]))
    check("port in use: says why", "in use" in srv.log_text().lower(), srv.log_text()[-300:])


def test_starting(tmp_url):
    """Nothing listens on the database port: the server answers 503 while the
    start-up sequence waits, then gives up with exit code 4."""
    srv = Server("starting", {"DATABASE_URL": tmp_url, "DB_WAIT_ATTEMPTS": "4",
                              "DB_WAIT_INTERVAL": "1", "AUTO_MIGRATE": "true"})
    got = None
    other = None
    end = time.time() + 20
    while time.time() < end and srv.proc.poll() is None:
        try:
            got = request(srv.port, "GET", "/health", timeout=2)
            other = request(srv.port, "GET", "/api/v1/persons/", timeout=2)
            break
        except OSError:
            time.sleep(0.05)
    ok = got is not None and got[0] == 503
    check("GET /health while starting is 503", ok, got)
    if ok:
        j = json.loads(got[2])
        check("starting body names the step", j.get("status") == "starting" and j.get("step"), j)
        check("other requests while starting are 503",
              other[0] == 503 and json.loads(other[2]) == {"detail": "Service is starting"}, other)
    try:
        rc = srv.proc.wait(60)
    except subprocess.TimeoutExpired:
        rc = None
    srv.stop()
    check("unreachable database: exit code 4", rc == 4, (rc, srv.log_text()[-400:]))


def test_stop_while_starting(tmp_url):
    """SIGTERM while the start-up sequence waits for the database: exit 0 at
    once instead of waiting out the attempts."""
    srv = Server("stopstart", {"DATABASE_URL": tmp_url, "DB_WAIT_ATTEMPTS": "60",
                               "DB_WAIT_INTERVAL": "2", "AUTO_MIGRATE": "true"})
    got = None
    end = time.time() + 20
    while time.time() < end and srv.proc.poll() is None and got is None:
        try:
            got = request(srv.port, "GET", "/health", timeout=2)
        except OSError:
            time.sleep(0.05)
    t0 = time.time()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.time() - t0
    srv.stop()
    check("SIGTERM while starting: exit 0 within a second or two",
          got is not None and got[0] == 503 and rc == 0 and took < 3,
          (got and got[0], rc, took, srv.log_text()[-300:]))


def main():
    if not os.access(MEDITRACK, os.X_OK):
        print(f"meditrack binary not found: {MEDITRACK}")
        print("0 passed, 1 failed")
        return 1

    # Server 1: small limits so that they are cheap to hit, and no web UI
    # (STATIC_DIR=none), so that unknown paths are the router's JSON 404s.
    small = 4096
    deadline = 2
    per_ip = 6
    s1 = Server("core", {"MAX_BODY_BYTES": str(small), "REQUEST_DEADLINE": str(deadline),
                         "MAX_CONNECTIONS_PER_IP": str(per_ip), "CORS_ORIGINS": "*",
                         "STATIC_DIR": "none"})
    try:
        if check("server starts and answers", s1.wait_ready(), s1.log_text()[-500:]):
            test_routing(s1.port)
            test_keepalive(s1.port)
            test_body_limit(s1.port, small)
            test_bad_requests(s1.port)
            test_cors_any(s1.port)
            test_per_ip_limit(s1.port, per_ip)
            test_deadline(s1.port, deadline)
            test_access_log(s1)
            alive = s1.proc.poll() is None
            check("server 1 still running after all of that", alive)
    finally:
        rc = s1.stop()
    check("SIGTERM on an idle server exits 0", rc == 0, rc)

    # Server 2: default limits, a CORS list, then shutdown under load.
    url2 = fresh_db("t010_defaults")
    s2 = Server("defaults", {"DATABASE_URL": url2, "MAX_CONNECTIONS_PER_IP": "5000",
                             "CORS_ORIGINS": '["http://localhost:3000","https://meds.example"]'})
    try:
        if check("server with defaults starts", s2.wait_ready(), s2.log_text()[-500:]):
            st, _, _ = request(s2.port, "POST", "/health", body=b"x" * (1024 * 1024 + 1))
            check("default limit: 1 MiB + 1 is 413", st == 413, st)
            st, _, _ = request(s2.port, "GET", "/health", body=b"x" * (1024 * 1024))
            check("default limit: 1 MiB is accepted", st == 200, st)
            test_cors_list(s2.port)
            test_many_idle(s2.port, 1500)
            test_port_in_use(s2.port, url2)
            test_shutdown(s2)
    finally:
        s2.stop()

    test_grace_expires()
    test_starting("postgresql://nobody:pw@127.0.0.1:1/none")
    test_stop_while_starting("postgresql://nobody:pw@127.0.0.1:1/none")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
