#!/usr/bin/env python3
"""The web front end from STATIC_DIR (content types, ETag / Last-Modified,
304 answers, directory index, SPA fallback, no way out of the directory by
`..`, encoded dots or symlinks), the JSON 404 with STATIC_DIR=none, a pure
API as the reference was without a UI build (samples #6, #7), and the
documentation routes: /openapi.json (OpenAPI 3.1, every operation answered
by the server) and /docs. The UI embedded in the binary (STATIC_DIR unset)
is t021-web-embedded.py's."""

import os
import shutil
import socket

import apilib
from apilib import check, expect

SECRET = "TOP-SECRET-DO-NOT-SERVE"


def make_tree():
    base = os.path.join(apilib.TMP, f"static-{apilib.DIALECT}-{os.getpid()}")
    shutil.rmtree(base, ignore_errors=True)
    root = os.path.join(base, "www")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(os.path.join(root, "assets"))
    files = {
        "index.html": "<!doctype html><title>MediTrack</title>INDEX",
        "app.js": "console.log('app');",
        "style.css": "body{}",
        "logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "data.json": '{"a":1}',
        "manifest.webmanifest": "{}",
        ".gitkeep": "",
        "noext": "plain",
        "sub/index.html": "SUB-INDEX",
        "assets/font.woff2": "wOF2",
        "assets/icon.png": "\x89PNG",
    }
    for name, text in files.items():
        with open(os.path.join(root, name), "w", encoding="latin-1") as f:
            f.write(text)
    with open(os.path.join(base, "secret.txt"), "w") as f:
        f.write(SECRET)
    os.symlink(os.path.join(base, "secret.txt"), os.path.join(root, "escape"))
    os.symlink("../secret.txt", os.path.join(root, "escape-rel"))
    os.symlink(base, os.path.join(root, "updir"))
    os.symlink("app.js", os.path.join(root, "inner"))
    return root


def raw_get(port, target):
    """Sends the request line exactly as given (no client-side normalising)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def static_files(s, root):
    r = s.get("/")
    expect("GET / serves index.html", r, 200)
    check("index content", b"INDEX" in r.body, r.body[:80])
    check("index content type", r.headers.get("content-type") == "text/html; charset=utf-8",
          r.headers)
    etag = r.headers.get("etag", "")
    check("ETag present and quoted", etag.startswith('"') and etag.endswith('"'), etag)
    check("Last-Modified present", r.headers.get("last-modified", "").endswith("GMT"), r.headers)
    types = {"/app.js": "text/javascript; charset=utf-8", "/style.css": "text/css; charset=utf-8",
             "/logo.svg": "image/svg+xml", "/data.json": "application/json",
             "/manifest.webmanifest": "application/manifest+json",
             "/.gitkeep": "text/plain; charset=utf-8", "/noext": "text/plain; charset=utf-8",
             "/assets/font.woff2": "font/woff2", "/assets/icon.png": "image/png",
             "/index.html": "text/html; charset=utf-8"}
    for path, ctype in types.items():
        r = s.get(path)
        check(f"{path}: 200 {ctype}", r.status == 200 and r.headers.get("content-type") == ctype,
              f"{r.status} {r.headers.get('content-type')}")
    r = s.get("/.gitkeep")
    check("empty file: empty body, content-length 0",
          r.body == b"" and r.headers.get("content-length") == "0", r.headers)
    r = s.get("/app.js")
    tag = r.headers.get("etag")
    r2 = s.get("/app.js", headers={"If-None-Match": tag})
    check("If-None-Match with the ETag: 304 without a body", r2.status == 304 and r2.body == b"",
          repr(r2))
    check("304 repeats the ETag", r2.headers.get("etag") == tag, r2.headers)
    r2 = s.get("/app.js", headers={"If-None-Match": '"other", ' + tag})
    check("ETag in a list: 304", r2.status == 304, repr(r2))
    r2 = s.get("/app.js", headers={"If-None-Match": '"other"'})
    check("another ETag: 200", r2.status == 200 and r2.body == b"console.log('app');", repr(r2))
    r2 = s.get("/app.js", headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    check("If-Modified-Since in the future: 304", r2.status == 304, repr(r2))
    r2 = s.get("/app.js", headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    check("If-Modified-Since long ago: 200", r2.status == 200, repr(r2))
    r = s.request("HEAD", "/app.js")
    check("HEAD: 200, no body, length of the file", r.status == 200 and r.body == b"" and
          r.headers.get("content-length") == str(len("console.log('app');")), repr(r))
    r = s.get("/sub/")
    check("directory: its index.html", r.status == 200 and r.body == b"SUB-INDEX", repr(r))
    r = s.get("/sub")
    check("directory without slash: its index.html", r.status == 200 and r.body == b"SUB-INDEX",
          repr(r))
    r = s.get("/inner")
    check("symlink inside the directory is served", r.status == 200 and
          r.body == b"console.log('app');", repr(r))
    for path in ("/persons/3", "/settings", "/some/deep/route", "/missing.js"):
        r = s.get(path)
        check(f"SPA fallback {path}: index.html", r.status == 200 and b"INDEX" in r.body and
              r.headers.get("content-type") == "text/html; charset=utf-8", repr(r))
    expect("unknown API path stays a JSON 404", s.get("/api/v1/nope"), 404,
           {"detail": "Not Found"})
    expect("API collection without slash is the API", s.get("/api/v1/persons"), 200, [])
    expect("POST to a static path: 405", s.post("/index.html"), 405,
           {"detail": "Method Not Allowed"})


def traversal(s):
    targets = [b"/../secret.txt", b"/%2e%2e/secret.txt", b"/%2E%2E/secret.txt",
               b"/sub/../../secret.txt", b"/sub/%2e%2e/%2e%2e/secret.txt", b"/..%2fsecret.txt",
               b"/%2e%2e%2fsecret.txt", b"/.%2e/secret.txt", b"/escape", b"/escape-rel",
               b"/updir/secret.txt", b"/sub/..%2f..%2fsecret.txt", b"//../secret.txt",
               b"/%252e%252e/secret.txt", b"/..\\secret.txt", b"/.%00./secret.txt",
               b"/" + b"../" * 20 + b"etc/passwd", b"/%2e%2e/%2e%2e/%2e%2e/etc/passwd"]
    for t in targets:
        data = raw_get(s.port, t)
        status = data[9:12]
        check(f"traversal {t.decode(errors='replace')}: nothing from outside",
              SECRET.encode() not in data and b"root:" not in data, data[:200])
        check(f"traversal {t.decode(errors='replace')}: 200 index / 400 / 404",
              status in (b"200", b"400", b"404"), data[:120])
    check("server answers after traversal attempts", s.alive())


def docs(s):
    r = s.get("/openapi.json")
    expect("/openapi.json", r, 200)
    doc = r.json() or {}
    check("OpenAPI 3.1", doc.get("openapi", "").startswith("3.1"), doc.get("openapi"))
    check("title MediTrack", doc.get("info", {}).get("title") == "MediTrack")
    paths = doc.get("paths", {})
    reference = ["/health", "/api/v1/health", "/api/v1/persons/", "/api/v1/persons/{person_id}",
                 "/api/v1/persons/{person_id}/set-default", "/api/v1/medications/",
                 "/api/v1/medications/{medication_id}",
                 "/api/v1/doses/medications/{medication_id}/dose",
                 "/api/v1/doses/medications/{medication_id}/dose/{date}",
                 "/api/v1/doses/medications/{medication_id}/doses",
                 "/api/v1/doses/medications/{medication_id}/doses/{date}",
                 "/api/v1/doses/daily-summary", "/api/v1/doses/daily-summary/{date}",
                 "/api/v1/doses/deleted-medications/by-name/{medication_name}/doses",
                 "/api/v1/doses/{dose_id}", "/api/v1/reports/medications/pdf/{date}"]
    check("the reference's 16 paths are described", all(p in paths for p in reference),
          sorted(set(reference) - set(paths)))
    fill = {"{person_id}": "999", "{medication_id}": "999", "{dose_id}": "999",
            "{date}": "2020-01-01", "{medication_name}": "none"}
    for path, item in paths.items():
        for method, op in item.items():
            url = path
            for k, v in fill.items():
                url = url.replace(k, v)
            if "time" in [p["name"] for p in op.get("parameters", [])]:
                url += "?time=08:00"
            r = s.request(method.upper(), url, {} if op.get("requestBody") else None)
            check(f"documented {method.upper()} {path} is served",
                  r.status not in (405,) and r.json() != {"detail": "Not Found"}, repr(r))
            check(f"{method.upper()} {path}: documented status or error",
                  str(r.status) in op.get("responses", {}) or r.status == 422, repr(r))
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("PersonCreate", "PersonUpdate", "PersonInDB", "PersonWithStats",
                 "MedicationCreate", "MedicationUpdate", "MedicationInDB", "MedicationWithDoses",
                 "DoseCreateWithTimezone", "DoseInDB", "DailySummary", "HTTPValidationError"):
        check(f"schema {name}", name in schemas)
    r = s.get("/docs")
    check("/docs is an HTML page", r.status == 200 and
          r.headers.get("content-type", "").startswith("text/html") and b"openapi.json" in r.body,
          repr(r))
    check("/docs needs nothing external", b"http://" not in r.body and b"https://" not in r.body)


def main():
    root = make_tree()
    s = apilib.Server("t020_static", env={"STATIC_DIR": root})
    try:
        static_files(s, root)
        traversal(s)
        docs(s)
    finally:
        s.stop()
    plain = apilib.Server("t020_nostatic", env={"STATIC_DIR": "none"})
    try:
        expect("#6 root with STATIC_DIR=none (no UI)", plain.get("/"), 404,
               {"detail": "Not Found"})
        expect("#7 unknown path", plain.get("/nope"), 404, {"detail": "Not Found"})
        expect("STATIC_DIR=none: no embedded UI file either", plain.get("/app.js"), 404,
               {"detail": "Not Found"})
        r = plain.request("HEAD", "/")
        check("STATIC_DIR=none: HEAD / is 404 without a body", r.status == 404 and r.body == b"",
              repr(r))
        expect("#8 unknown API path", plain.get("/api/v1/nope"), 404, {"detail": "Not Found"})
        expect("#3 POST on a GET-only route", plain.post("/health"), 405,
               {"detail": "Method Not Allowed"})
        expect("#0 app-level health", plain.get("/health"), 200,
               {"status": "healthy", "version": "1.0.0"})
        r = plain.get("/api/v1/health")
        expect("#1 router health", r, 200, keys=["status", "version", "components"])
        comp = (r.json() or {}).get("components", [])
        check("#1 components database then api",
              [c.get("component") for c in comp] == ["database", "api"], r.text())
        check("#1 database healthy, revision at head", comp and comp[0]["status"] == "healthy"
              and comp[0]["details"].get("up_to_date") is True, r.text())
        check("#1 api timestamp in UTC with Z",
              len(comp) == 2 and apilib.TS_RE.match(comp[1]["details"].get("timestamp", "")),
              r.text())
        check("#1 environment", len(comp) == 2 and
              comp[1]["details"].get("environment") == "production", r.text())
    finally:
        plain.stop()
    apilib.report()


if __name__ == "__main__":
    main()
