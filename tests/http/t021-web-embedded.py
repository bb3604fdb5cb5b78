#!/usr/bin/env python3
"""The web UI embedded in the binary (issue 13), against the real `meditrack
serve` with STATIC_DIR unset: every file of web/ served byte-identical with
its content type, strong ETags and 304 answers, Cache-Control no-cache, the
server's CSP on the HTML, the SPA fallback, HEAD, API paths kept as JSON 404s;
then STATIC_DIR naming a directory replacing the embedded UI entirely. The
UI does not depend on the database: the other dialects run a smoke check."""

import os
import socket

import apilib
from apilib import check, expect

WEB = os.path.join(apilib.ROOT, "web")

# Independent of the server's own table: what each extension of web/ must
# be served as. A new kind of file in web/ fails here until it is added.
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}
HTML = TYPES[".html"]


def web_files():
    """{url path: bytes} for every file the UI consists of: all of web/ but
    hidden files and web/README.md (documentation)."""
    out = {}
    for here, dirs, names in os.walk(WEB):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            full = os.path.join(here, name)
            rel = os.path.relpath(full, WEB).replace(os.sep, "/")
            if name.startswith(".") or rel == "README.md":
                continue
            with open(full, "rb") as f:
                out["/" + rel] = f.read()
    return out


def raw(port, request):
    """Sends request bytes as they are; returns the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(request)
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def strong_etag(tag):
    return tag.startswith('"') and tag.endswith('"') and len(tag) > 2


def files(s, web):
    check("web/ has the UI's files", "/index.html" in web and "/sw.js" in web and
          "/app.js" in web, sorted(web))
    etags = {}
    for path, data in sorted(web.items()):
        r = s.get(path)
        ext = os.path.splitext(path)[1]
        want = TYPES.get(ext)
        check(f"{path}: 200, byte-identical to web{path}", r.status == 200 and r.body == data,
              f"{r.status}, {len(r.body)} bytes, want {len(data)}")
        check(f"{path}: Content-Type {want}", want and r.headers.get("content-type") == want,
              f"{r.headers.get('content-type')} (extension {ext!r} has no expected type)")
        check(f"{path}: Content-Length", r.headers.get("content-length") == str(len(data)),
              r.headers)
        check(f"{path}: Cache-Control no-cache", r.headers.get("cache-control") == "no-cache",
              r.headers)
        tag = r.headers.get("etag", "")
        check(f"{path}: strong ETag", strong_etag(tag), tag)
        etags.setdefault(tag, []).append(path)
    same = {t: p for t, p in etags.items() if len(p) > 1}
    check("different files have different ETags", not same, same)
    r = s.get("/README.md")
    check("web/README.md is not served (the SPA's index.html instead)",
          r.status == 200 and r.body == web["/index.html"], repr(r))


def root_page(s, web):
    r = s.get("/")
    expect("GET / serves the embedded index.html", r, 200)
    check("/ is web/index.html byte for byte", r.body == web["/index.html"], r.body[:80])
    check("/ is text/html", r.headers.get("content-type") == HTML, r.headers)
    csp = r.headers.get("content-security-policy", "")
    check("/ carries the server's CSP (same-origin scripts only)",
          "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp)
    check("/ carries X-Frame-Options DENY", r.headers.get("x-frame-options") == "DENY", r.headers)
    check("/ must be revalidated: Cache-Control no-cache",
          r.headers.get("cache-control") == "no-cache", r.headers)
    check("/ is not no-store (the JSON default)", "no-store" not in r.headers.get("cache-control", ""),
          r.headers)
    tag = r.headers.get("etag", "")
    r2 = s.get("/index.html")
    check("/ and /index.html share one ETag (it follows the content)",
          strong_etag(tag) and r2.headers.get("etag") == tag, (tag, r2.headers.get("etag")))
    check("embedded files carry no Last-Modified (the ETag is the validator)",
          "last-modified" not in r.headers, r.headers)
    r3 = s.get("/")
    check("the ETag is stable from request to request", r3.headers.get("etag") == tag)


def conditional(s, web):
    for path in ("/", "/app.js", "/sw.js", "/styles.css", "/icons/icon-192.png",
                 "/manifest.webmanifest"):
        r = s.get(path)
        tag = r.headers.get("etag", "")
        r2 = s.get(path, headers={"If-None-Match": tag})
        check(f"{path}: If-None-Match with its ETag: 304 without a body",
              r2.status == 304 and r2.body == b"", repr(r2))
        check(f"{path}: the 304 repeats ETag and Cache-Control",
              r2.headers.get("etag") == tag and r2.headers.get("cache-control") == "no-cache",
              r2.headers)
    tag = s.get("/app.js").headers.get("etag", "")
    r = s.get("/app.js", headers={"If-None-Match": '"other", ' + tag})
    check("ETag in a list: 304", r.status == 304, repr(r))
    r = s.get("/app.js", headers={"If-None-Match": "W/" + tag})
    check("weak form of the ETag: 304 (If-None-Match compares weakly)", r.status == 304, repr(r))
    r = s.get("/app.js", headers={"If-None-Match": "*"})
    check("If-None-Match *: 304", r.status == 304, repr(r))
    r = s.get("/app.js", headers={"If-None-Match": '"other"'})
    check("another ETag: 200 with the file", r.status == 200 and r.body == web["/app.js"],
          repr(r))
    other = s.get("/styles.css").headers.get("etag", "")
    r = s.get("/app.js", headers={"If-None-Match": other})
    check("another file's ETag: 200", r.status == 200 and r.body == web["/app.js"], repr(r))
    r = s.get("/persons/7", headers={"If-None-Match": s.get("/").headers.get("etag", "")})
    check("SPA route with index.html's ETag: 304", r.status == 304, repr(r))


def fallback(s, web):
    for path in ("/persons/3", "/settings", "/some/deep/route", "/missing.js", "/icons/",
                 "/icons", "/icons/missing.png", "/index.html/x", "//", "/?day=2024-01-01"):
        r = s.get(path)
        check(f"SPA fallback {path}: index.html as text/html", r.status == 200 and
              r.body == web["/index.html"] and r.headers.get("content-type") == HTML, repr(r))
    r = s.get("//app.js")
    check("leading slashes are ignored", r.status == 200 and r.body == web["/app.js"], repr(r))
    for path in ("/api/v1/nope", "/api/nope", "/api/", "/api", "/api/v1/persons/999999"):
        r = s.get(path)
        check(f"{path} stays the API: JSON 404, never the UI",
              r.status == 404 and r.headers.get("content-type") == "application/json" and
              r.json() is not None and "detail" in r.json(), repr(r))
    expect("the API's collection without slash is the API", s.get("/api/v1/persons"), 200, [])
    expect("POST to a UI path: 405", s.post("/index.html"), 405,
           {"detail": "Method Not Allowed"})
    for target in (b"/../index.html", b"/%2e%2e/app.js", b"/icons/../app.js",
                   b"/icons/%2e%2e/%2e%2e/etc/passwd", b"/.%2e/sw.js", b"/./app.js"):
        data = raw(s.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check(f"dot segments {target.decode()}: 400 or 404, not a file",
              data[9:12] in (b"400", b"404") and b"root:" not in data, data[:120])
    check("server still answers", s.alive())


def head(s, web):
    for path in ("/", "/app.js", "/icons/icon-512.png", "/persons/1"):
        want = web["/index.html"] if path in ("/", "/persons/1") else web[path]
        g = s.get(path)
        r = s.request("HEAD", path)
        check(f"HEAD {path}: 200, no body, GET's length, type and ETag",
              r.status == 200 and r.body == b"" and
              r.headers.get("content-length") == str(len(want)) and
              r.headers.get("content-type") == g.headers.get("content-type") and
              r.headers.get("etag") == g.headers.get("etag"), (r.status, r.headers, r.body[:60]))
    tag = s.get("/sw.js").headers.get("etag", "")
    r = s.request("HEAD", "/sw.js", headers={"If-None-Match": tag})
    check("HEAD with a matching If-None-Match: 304", r.status == 304 and r.body == b"", repr(r))
    r = s.request("HEAD", "/api/v1/nope")
    check("HEAD /api/v1/nope: 404 without a body", r.status == 404 and r.body == b"", repr(r))


def override(web):
    base = os.path.join(apilib.TMP, f"t021-www-{os.getpid()}")
    os.makedirs(base, exist_ok=True)
    disk = {"index.html": b"<!doctype html><title>dev</title>FROM-DISK",
            "app.js": b"console.log('dev');"}
    for name, data in disk.items():
        with open(os.path.join(base, name), "wb") as f:
            f.write(data)
    s = apilib.Server("t021_override", env={"STATIC_DIR": base})
    try:
        r = s.get("/")
        check("STATIC_DIR set: / is the directory's index.html",
              r.status == 200 and r.body == disk["index.html"] and
              r.headers.get("content-type") == HTML, repr(r))
        check("STATIC_DIR set: files from disk carry Last-Modified",
              r.headers.get("last-modified", "").endswith("GMT"), r.headers)
        r = s.get("/app.js")
        check("STATIC_DIR set: /app.js from disk, not the embedded one",
              r.status == 200 and r.body == disk["app.js"], repr(r))
        r = s.get("/styles.css")
        check("STATIC_DIR set: a file only the embedded UI has is not served from it",
              r.status == 200 and r.body == disk["index.html"] and r.body != web["/styles.css"],
              repr(r))
        r = s.get("/persons/2")
        check("STATIC_DIR set: SPA fallback to the directory's index.html",
              r.status == 200 and r.body == disk["index.html"], repr(r))
        expect("STATIC_DIR set: /api/v1/nope is JSON 404", s.get("/api/v1/nope"), 404,
               {"detail": "Not Found"})
    finally:
        s.stop()


def smoke(web):
    print(f"# {apilib.DIALECT}: the UI does not depend on the database; smoke check only")
    s = apilib.Server("t021_smoke")
    try:
        r = s.get("/")
        check("GET / serves the embedded index.html",
              r.status == 200 and r.body == web["/index.html"] and
              r.headers.get("content-type") == HTML, repr(r))
        expect("/api/v1/nope is JSON 404", s.get("/api/v1/nope"), 404, {"detail": "Not Found"})
    finally:
        s.stop()


def main():
    web = web_files()
    if apilib.DIALECT != "sqlite":
        smoke(web)
        apilib.report()
    s = apilib.Server("t021_embedded")
    try:
        check("the server runs without STATIC_DIR", "STATIC_DIR" not in s.env, s.env.keys())
        root_page(s, web)
        files(s, web)
        conditional(s, web)
        fallback(s, web)
        head(s, web)
    finally:
        s.stop()
    override(web)
    apilib.report()


if __name__ == "__main__":
    main()
