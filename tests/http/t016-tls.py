#!/usr/bin/env python3
"""HTTPS served by `meditrack serve` itself (TLS_CERT_FILE / TLS_KEY_FILE,
issue 14 item 8), against the real binary with Python's ssl module: requests
and API calls over TLS, keep-alive and pipelining (including more pipelined
bytes than the server's input buffer holds, so that decrypted bytes wait
inside the TLS session), request bodies (plain, chunked, one too large with
its lingering close), streamed CSV exports on HTTP/1.1 and HTTP/1.0,
HEAD_TIMEOUT on stalled handshakes, plain HTTP on the TLS port, TLS 1.1
refused and 1.2 accepted, SIGHUP reloading a renewed certificate (new
connections see its fingerprint, open ones keep theirs) or keeping the old one
when the new files are broken, configuration errors (both or neither,
unreadable or unusable files: exit 3, never a key's content in the output),
and `meditrack healthcheck` over HTTPS.

Certificates are made at test time with `openssl req` (or GnuTLS's certtool).
The TLS layer does not depend on the database, so the suite runs once, on
sqlite; for the other dialects it says so and ends "0 passed, 0 failed".
Python 3 stdlib only; every socket read has a timeout."""

import datetime
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings

import apilib
from apilib import check, report

TMP = apilib.TMP
MEDITRACK = apilib.MEDITRACK


# -- certificates ----------------------------------------------------------------


def make_cert(name, cn="localhost"):
    """A self-signed EC certificate for localhost and 127.0.0.1; returns
    (cert path, key path)."""
    cert = os.path.join(TMP, f"{name}.crt")
    key = os.path.join(TMP, f"{name}.key")
    if shutil.which("openssl"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", f"/CN={cn}",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
    elif shutil.which("certtool"):
        tmpl = os.path.join(TMP, f"{name}.tmpl")
        with open(tmpl, "w") as f:
            f.write(f'cn = "{cn}"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n'
                    "expiration_days = 2\ntls_www_server\n")
        subprocess.run(["certtool", "--generate-privkey", "--key-type", "ecdsa",
                        "--outfile", key], check=True, capture_output=True)
        subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", key,
                        "--template", tmpl, "--outfile", cert], check=True, capture_output=True)
    else:
        raise RuntimeError("neither openssl nor certtool is installed: cannot make a certificate")
    os.chmod(key, 0o600)
    return cert, key


def der_sha256(cert_path):
    with open(cert_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def key_lines(key_path):
    """The base64 lines of a PEM key: none may ever appear in any output."""
    with open(key_path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("-----")]


def replace_file(src, dst):
    """Puts src's content at dst atomically, as a certificate renewal does."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


# -- clients -----------------------------------------------------------------------


def verifying_ctx(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cert)
    return ctx


def any_cert_ctx(version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version
            ctx.maximum_version = version
        # OpenSSL 3 offers TLS 1.1 only at security level 0.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


class TlsServer(apilib.Server):
    """apilib's server, spoken to over HTTPS (its readiness probe too)."""

    def __init__(self, tag, env, ctx):
        self.ctx = ctx
        super().__init__(tag, env=env)

    def request(self, method, path, body=None, headers=None, timeout=30):
        import http.client
        import json
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                        timeout=timeout)
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return apilib.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            c.close()

    def tls(self, ctx=None, timeout=5.0):
        """A new TLS connection (handshake done)."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return (ctx or self.ctx).wrap_socket(raw, server_hostname="localhost")

    def wait_log(self, text, count, timeout=5.0):
        """Waits until text appears count times in the server's log."""
        end = time.time() + timeout
        while time.time() < end:
            if self.log_text().count(text) >= count:
                return True
            time.sleep(0.05)
        return False


class Reader:
    """Reads HTTP/1.x responses one after another from a socket (TLS or not),
    keeping bytes that belong to the next one."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _more(self):
        try:
            d = self.sock.recv(65536)
        except (ssl.SSLError, ConnectionError):
            d = b""
        if not d:
            self.eof = True
        self.buf += d
        return bool(d)

    def _line(self):
        while b"\r\n" not in self.buf:
            if not self._more():
                return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            if not self._more():
                return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, head_only=False):
        """(status, {lower-case header: value}, body) or None."""
        try:
            status_line = self._line()
            if not status_line:
                return None
            parts = status_line.split(b" ", 2)
            version, status = parts[0], int(parts[1])
            headers = {}
            while True:
                line = self._line()
                if line is None:
                    return None
                if line == b"":
                    break
                k, v = line.split(b":", 1)
                headers[k.decode().strip().lower()] = v.decode().strip()
            if head_only or status in (204, 304):
                return status, headers, b""
            if headers.get("transfer-encoding") == "chunked":
                body = b""
                while True:
                    size = int(self._line().split(b";")[0], 16)
                    if size == 0:
                        while self._line() not in (b"", None):
                            pass
                        return status, headers, body
                    body += self._take(size)
                    self._line()
            if "content-length" in headers:
                return status, headers, self._take(int(headers["content-length"]))
            while self._more():
                pass
            return status, headers, self.buf
        except (socket.timeout, ValueError, AttributeError, TypeError):
            return None

    def closed(self, timeout=3.0):
        """True when the peer ends the connection within timeout."""
        end = time.time() + timeout
        while not self.eof and time.time() < end:
            try:
                self.sock.settimeout(max(0.05, end - time.time()))
                self._more()
            except socket.timeout:
                pass
        return self.eof


def get(path, host="localhost", version="HTTP/1.1", extra=""):
    return f"GET {path} {version}\r\nHost: {host}\r\n{extra}\r\n".encode()


def post_json(path, body, extra=""):
    return (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def closed_within(sock, seconds):
    """Waits for the peer to close sock (plain TCP); returns the time taken or None."""
    t0 = time.time()
    sock.settimeout(seconds)
    try:
        while True:
            d = sock.recv(4096)
            if not d:
                return time.time() - t0
    except ConnectionResetError:
        return time.time() - t0
    except socket.timeout:
        return None


# -- the checks ----------------------------------------------------------------------


def basics(srv, cert):
    r = srv.get("/health")
    check("GET /health over TLS: 200", r.status == 200 and b'"status"' in r.body, repr(r))
    with srv.tls() as s:
        check("default protocol is TLS 1.3", s.version() == "TLSv1.3", s.version())
        check("the configured certificate is served",
              hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest() == der_sha256(cert))

    # TLS 1.3 ends with the client's Finished; unless the server acknowledges
    # it at once, a client's Nagle algorithm holds the first request for the
    # server's delayed ACK (40 ms).
    waits = []
    for _ in range(5):
        with srv.tls() as s:
            t0 = time.perf_counter()
            s.sendall(get("/health", extra="Connection: close\r\n"))
            g = Reader(s).response()
            waits.append((time.perf_counter() - t0) * 1000)
    check("the first request after a TLS 1.3 handshake is not held for a delayed ACK",
          min(waits) < 20, ", ".join("%.1f ms" % w for w in waits))

    p = apilib.person(srv, "Tls", last_name="Person", notes="over https")
    check("POST person over TLS: created", p.get("first_name") == "Tls", repr(p))
    r = srv.get(f"/api/v1/persons/{p['id']}")
    check("GET person over TLS: 200 and the stored data",
          r.status == 200 and r.json().get("notes") == "over https", repr(r))
    m = apilib.medication(srv, p["id"], "Tlsamol", max_doses=5)
    for i in range(3):
        r = srv.post(f"/api/v1/doses/medications/{m['id']}/dose")
        check(f"record dose {i + 1} over TLS: 201", r.status == 201, repr(r))
    r = srv.request("PUT", f"/api/v1/persons/{p['id']}", {"first_name": "Tls2"})
    check("PUT over TLS: 200", r.status == 200 and r.json().get("first_name") == "Tls2", repr(r))
    r = srv.get("/api/v1/persons/99999")
    check("JSON 404 over TLS", r.status == 404 and r.json() == {"detail": "Person not found"},
          repr(r))
    r = srv.request("HEAD", "/health")
    check("HEAD over TLS: 200 without a body", r.status == 200 and r.body == b"", repr(r))
    return p, m


def keep_alive_and_pipelining(srv):
    import http.client
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx, timeout=10)
    statuses, socks = [], set()
    for _ in range(5):
        c.request("GET", "/health")
        r = c.getresponse()
        r.read()
        statuses.append(r.status)
        socks.add(id(c.sock))
    c.close()
    check("keep-alive: five requests on one TLS connection",
          statuses == [200] * 5 and len(socks) == 1, f"{statuses} {len(socks)} sockets")

    with srv.tls() as s:
        body = b'{"first_name":"Piped"}'
        s.sendall(get("/health") + get("/api/v1/persons/") + post_json("/api/v1/persons/", body)
                  + get("/health", extra="Connection: close\r\n"))
        rd = Reader(s)
        got = [rd.response() for _ in range(4)]
        st = [g[0] if g else None for g in got]
        check("pipelining: four requests in one TLS write, answered in order",
              st == [200, 200, 201, 200], repr(st))
        check("pipelining: Connection: close ends the connection", rd.closed())

    # More pipelined bytes than the server's input buffer (about 100 KiB): the
    # rest waits decrypted inside the TLS session, which epoll cannot see.
    n = 2500
    with srv.tls(timeout=20) as s:
        counts = {"ok": 0, "other": 0}

        def read_all():
            rd = Reader(s)
            for _ in range(n):
                g = rd.response()
                if g is None:
                    break
                counts["ok" if g[0] == 200 else "other"] += 1

        t = threading.Thread(target=read_all)
        t.start()
        reqs = get("/health") * n
        s.sendall(reqs)
        t.join(60)
        check(f"pipelining: {n} requests ({len(reqs) // 1024} KiB) in one burst, all answered",
              counts == {"ok": n, "other": 0}, repr(counts))


def bodies(srv):
    import http.client
    # A body larger than one TLS record, on a kept-alive connection that must
    # then be in step for the next request.
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx, timeout=20)
    big = b'{"first_name":"Big","notes":"' + b"n" * 600000 + b'"}'
    c.request("POST", "/api/v1/persons/", body=big, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    check("POST 600 KB body over TLS: answered (201 or 422), not cut",
          r.status in (201, 422) and data.startswith(b"{"), f"{r.status} {data[:200]!r}")
    c.request("GET", "/health")
    r2 = c.getresponse()
    r2.read()
    check("then the same connection serves the next request", r2.status == 200, r2.status)
    c.close()

    # A chunked body sent in pieces, each its own TLS record.
    with srv.tls() as s:
        s.sendall(b"POST /api/v1/persons/ HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b'{"first_name":', b'"Chunk', b'y"}'):
            s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.05)
        s.sendall(b"0\r\n\r\n")
        g = Reader(s).response()
        check("chunked POST body in pieces over TLS: 201",
              g is not None and g[0] == 201 and b'"Chunky"' in g[2], repr(g))

    # Over MAX_BODY_BYTES: the 413 is read, not lost to a reset, while the
    # client is still sending (the lingering close works through TLS).
    with srv.tls(timeout=10) as s:
        size = 3 * 1024 * 1024
        s.sendall(b"POST /api/v1/persons/ HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size)
        sent_ok = True
        try:
            chunk = b"x" * 65536
            for _ in range(size // len(chunk)):
                s.sendall(chunk)
        except (OSError, ssl.SSLError):
            sent_ok = False
        g = Reader(s).response()
        check("body over MAX_BODY_BYTES over TLS: 413 received",
              g is not None and g[0] == 413 and g[1].get("connection") == "close",
              f"{g!r} (send completed: {sent_ok})")


def exports(srv, person, med):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    q = (f"/api/v1/reports/doses.csv?person_id={person['id']}"
         f"&from={today - datetime.timedelta(days=1)}&to={today + datetime.timedelta(days=1)}"
         "&timezone_offset=0")
    with srv.tls() as s:
        s.sendall(get(q))
        g = Reader(s).response()
        ok = g is not None and g[0] == 200
        check("CSV export over TLS (HTTP/1.1): 200, chunked",
              ok and g[1].get("transfer-encoding") == "chunked", repr(g)[:300])
        check("CSV export over TLS: a header line and the three doses",
              ok and g[2].count(b"\r\n") == 1 + 3 and b"Tlsamol" in g[2], repr(g)[:400])
    with srv.tls() as s:
        s.sendall(get(q, version="HTTP/1.0"))
        rd = Reader(s)
        g = rd.response()
        ok = g is not None and g[0] == 200
        check("CSV export over TLS (HTTP/1.0): body until the end of the connection",
              ok and "transfer-encoding" not in g[1] and g[2].count(b"\r\n") == 1 + 3
              and rd.eof, repr(g)[:300])


def plain_http(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(get("/health"))
        rd = Reader(s)
        g = rd.response()
        check("plain HTTP on the TLS port: a plain 400 that says why",
              g is not None and g[0] == 400 and b"https://" in g[2]
              and g[1].get("connection") == "close", repr(g))
        check("plain HTTP on the TLS port: then closed", rd.closed())
    check("after plain HTTP, TLS clients are still served", srv.alive())


def versions(srv):
    before = srv.log_text().count("TLS handshake failed")
    try:
        with srv.tls(any_cert_ctx(ssl.TLSVersion.TLSv1_1)) as s:
            got = s.version()
    except (ssl.SSLError, OSError) as e:
        got = repr(e)
    check("TLS 1.1 is refused (protocol_version alert)", "PROTOCOL_VERSION" in got.upper(), got)
    check("the refused handshake is logged",
          srv.wait_log("TLS handshake failed", before + 1), srv.log_text()[-500:])
    with srv.tls(any_cert_ctx(ssl.TLSVersion.TLSv1_2)) as s:
        v = s.version()
        s.sendall(get("/health", extra="Connection: close\r\n"))
        g = Reader(s).response()
    check("TLS 1.2 is accepted", v == "TLSv1.2" and g is not None and g[0] == 200, f"{v} {g!r}")


def reload(srv, paths, cert_a, cert_b, key_b):
    """paths: the configured (cert, key) that the test rewrites."""
    cfg_cert, cfg_key = paths
    fp_a, fp_b = der_sha256(cert_a), der_sha256(cert_b)

    def served():
        with srv.tls(any_cert_ctx()) as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()

    check("before SIGHUP: certificate A", served() == fp_a)
    old = srv.tls(any_cert_ctx())
    old.sendall(get("/health"))
    old_rd = Reader(old)
    g = old_rd.response()
    check("a kept-alive connection on certificate A", g is not None and g[0] == 200, repr(g))

    replace_file(cert_b, cfg_cert)
    replace_file(key_b, cfg_key)
    srv.proc.send_signal(__import__("signal").SIGHUP)
    check("SIGHUP: reload logged", srv.wait_log("TLS certificate reloaded", 1),
          srv.log_text()[-800:])
    check("after SIGHUP: new connections get certificate B", served() == fp_b)
    old.sendall(get("/health"))
    g = old_rd.response()
    check("after SIGHUP: the open connection still works, on certificate A",
          g is not None and g[0] == 200
          and hashlib.sha256(old.getpeercert(binary_form=True)).hexdigest() == fp_a, repr(g))
    old.close()

    failures = 0
    for label, action in (
            ("a certificate file that is not PEM",
             lambda: open(cfg_cert, "w").write("not a certificate\n")),
            ("a key that belongs to another certificate",
             lambda: (replace_file(cert_a, cfg_cert), replace_file(key_b, cfg_key))),
            ("a missing key file", lambda: os.remove(cfg_key))):
        action()
        srv.proc.send_signal(__import__("signal").SIGHUP)
        failures += 1
        check(f"SIGHUP with {label}: the failure is logged",
              srv.wait_log("TLS reload failed", failures), srv.log_text()[-800:])
        check(f"SIGHUP with {label}: still serving certificate B", served() == fp_b)
    with srv.tls(any_cert_ctx()) as s:
        s.sendall(get("/health", extra="Connection: close\r\n"))
        g = Reader(s).response()
    check("the server survived every reload", g is not None and g[0] == 200, repr(g))


def stalled_handshakes(cert, key):
    srv = TlsServer("t016_head", {"TLS_CERT_FILE": cert, "TLS_KEY_FILE": key,
                                  "HEAD_TIMEOUT": "1", "REQUEST_DEADLINE": "2",
                                  "LOG_LEVEL": "info"}, verifying_ctx(cert))
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            took = closed_within(s, 4)
        check("a connection that never starts its handshake is closed after HEAD_TIMEOUT",
              took is not None and 0.7 <= took <= 2.5, repr(took))
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello that stops after a byte
            took = closed_within(s, 4)
        check("a handshake that stalls half-way is closed after HEAD_TIMEOUT",
              took is not None and 0.7 <= took <= 2.5, repr(took))
        check("the stalled handshake is logged",
              srv.wait_log("TLS handshake not completed in time", 1), srv.log_text()[-600:])
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            t0 = time.time()
            s.sendall(b"\x16")  # trickled one byte a time: the deadline counts from accept
            for _ in range(10):
                time.sleep(0.3)
                try:
                    s.sendall(b"\x03")
                except OSError:
                    break
            took = closed_within(s, 4)
            took = time.time() - t0 if took is not None else None
        check("a trickled handshake gets no more time than HEAD_TIMEOUT",
              took is not None and took <= 2.5, repr(took))
        # Handshake done, then half a request head: 408, through TLS.
        with srv.tls() as s:
            t0 = time.time()
            s.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
            rd = Reader(s)
            g = rd.response()
            took = time.time() - t0
        check("half a head after the handshake: 408 over TLS within ~2 s",
              g is not None and g[0] == 408 and took <= 2.5, f"{g!r} after {took:.2f} s")
        t0 = time.time()
        ok = srv.alive()
        check("then a normal client is served at once", ok and time.time() - t0 < 1.0)
    finally:
        srv.stop()


def config_errors(cert, key, other_key):
    base = {k: v for k, v in os.environ.items()
            if k not in ("TLS_CERT_FILE", "TLS_KEY_FILE", "ENV_FILE", "PORT", "HOST")}
    base.update({"DATABASE_URL": "sqlite:///:memory:", "ENV_FILE": "/dev/null",
                 "PORT": str(apilib.free_port()), "HOST": "127.0.0.1", "LOG_LEVEL": "info"})
    secrets = key_lines(key) + key_lines(other_key)

    def serve(extra, as_nobody=False):
        env = dict(base, **extra)
        kw = {}
        if as_nobody:
            kw["preexec_fn"] = lambda: (os.setgroups([]), os.setgid(65534), os.setuid(65534))
        try:
            p = subprocess.run([MEDITRACK, "serve"], env=env, capture_output=True, text=True,
                               timeout=30, cwd="/", **kw)
        except subprocess.TimeoutExpired:
            return None, "(still running after 30 s)"
        return p.returncode, p.stdout + p.stderr

    def case(label, extra, expect_in, as_nobody=False):
        rc, out = serve(extra, as_nobody)
        check(f"{label}: exit 3", rc == 3, f"exit {rc}: {out[-600:]}")
        check(f"{label}: the message names the problem", expect_in in out, out[-600:])
        leaked = [s for s in secrets if s in out]
        check(f"{label}: no key material in the output", not leaked)

    case("TLS_CERT_FILE without TLS_KEY_FILE", {"TLS_CERT_FILE": cert},
         "TLS_CERT_FILE is set but TLS_KEY_FILE is not")
    case("TLS_KEY_FILE without TLS_CERT_FILE", {"TLS_KEY_FILE": key},
         "TLS_KEY_FILE is set but TLS_CERT_FILE is not")
    missing = os.path.join(TMP, "no-such.key")
    case("a key file that does not exist", {"TLS_CERT_FILE": cert, "TLS_KEY_FILE": missing},
         f"cannot read TLS_KEY_FILE {missing}")
    case("a key path that is a directory", {"TLS_CERT_FILE": cert, "TLS_KEY_FILE": TMP},
         "cannot read TLS_KEY_FILE")
    # Unreadable for the user the server runs as: as root, run it as nobody.
    locked = os.path.join(TMP, "locked.key")
    shutil.copyfile(key, locked)
    os.chmod(locked, 0o600 if os.geteuid() == 0 else 0o000)
    readable_cert = os.path.join(TMP, "public.crt")
    shutil.copyfile(cert, readable_cert)
    os.chmod(readable_cert, 0o644)
    case("an unreadable key file", {"TLS_CERT_FILE": readable_cert, "TLS_KEY_FILE": locked},
         "Permission denied", as_nobody=os.geteuid() == 0)
    garbage = os.path.join(TMP, "garbage.key")
    with open(garbage, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nU0VDUkVULUtFWS1NQVJLRVI=\n-----END PRIVATE KEY-----\n")
    secrets.append("U0VDUkVULUtFWS1NQVJLRVI=")
    case("a key file that is not a key", {"TLS_CERT_FILE": cert, "TLS_KEY_FILE": garbage},
         "holds no usable PEM private key")
    case("a certificate file that is not a certificate",
         {"TLS_CERT_FILE": garbage, "TLS_KEY_FILE": key}, "holds no usable PEM certificate")
    case("a key of another certificate", {"TLS_CERT_FILE": cert, "TLS_KEY_FILE": other_key},
         "does not belong to the certificate")


def healthcheck(srv, cert, key):
    env = {k: v for k, v in srv.env.items()}
    p = subprocess.run([MEDITRACK, "healthcheck"], env=env, capture_output=True, text=True,
                       timeout=30)
    check("meditrack healthcheck over HTTPS: exit 0",
          p.returncode == 0 and "https://" in p.stdout, p.stdout + p.stderr)


def main():
    if apilib.DIALECT != "sqlite":
        print(f"skip: TLS does not depend on the database; this suite runs on sqlite only "
              f"(dialect {apilib.DIALECT})")
        report()
    cert_a, key_a = make_cert("tls-a")
    cert_b, key_b = make_cert("tls-b")
    # The configured files, which the reload checks rewrite.
    cfg_cert, cfg_key = os.path.join(TMP, "server.crt"), os.path.join(TMP, "server.key")
    shutil.copyfile(cert_a, cfg_cert)
    shutil.copyfile(key_a, cfg_key)
    os.chmod(cfg_key, 0o600)

    srv = TlsServer("t016_tls", {"TLS_CERT_FILE": cfg_cert, "TLS_KEY_FILE": cfg_key,
                                 "LOG_LEVEL": "info"}, verifying_ctx(cert_a))
    try:
        person, med = basics(srv, cert_a)
        keep_alive_and_pipelining(srv)
        bodies(srv)
        exports(srv, person, med)
        plain_http(srv)
        versions(srv)
        healthcheck(srv, cfg_cert, cfg_key)
        reload(srv, (cfg_cert, cfg_key), cert_a, cert_b, key_b)
    finally:
        srv.stop()
    log = srv.log_text()
    leaked = [s for s in key_lines(key_a) + key_lines(key_b) if s in log]
    check("the server log holds no key material", not leaked and "PRIVATE KEY" not in log)
    check("the server log names the TLS certificate by serial and fingerprint",
          "TLS certificate file=" in log and "sha256=" in log)

    stalled_handshakes(cert_a, key_a)
    config_errors(cert_a, key_a, key_b)
    report()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
