#!/usr/bin/env python3
"""The binary's loadable modules (src/core/module.h), on the dialect in
MT_TEST_DIALECT: the binary itself links none of the large libraries
(cairo, pango, glib, fontconfig, libpq, libmariadb, libmicrohttpd, GnuTLS,
OpenSSL; checked with ldd); a copy of the binary in an install-like tree
(bin/meditrack, lib/meditrack/*.so) finds its modules through its real path,
also when started through a symlink; without the PDF module the server
serves everything else and answers PDF requests 503 with a log line naming
the module and the directories searched; without a driver module a command
fails at once (exit 3, no waiting) saying which module is missing; without
the HTTP module `serve` exits 8. Python 3 stdlib only. Last line:
"N passed, N failed"."""

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
import apilib  # noqa: E402
from apilib import check  # noqa: E402

BINARY = os.path.realpath(apilib.MEDITRACK)
BUILD = os.path.dirname(BINARY)
MODULES = ["meditrack-http.so", "meditrack-pdf.so", "meditrack-postgresql.so",
           "meditrack-mysql.so"]
HEAVY = ["libcairo", "libpango", "libglib", "libgobject", "libfontconfig", "libpq",
         "libmariadb", "libmicrohttpd", "libgnutls", "libssl", "libcrypto", "libharfbuzz",
         "libfreetype", "libX11"]
WORK = tempfile.mkdtemp(prefix="t040-", dir=apilib.TMP)


def tree(name, modules):
    """An install-like tree WORK/name/{bin/meditrack, lib/meditrack/<modules>}."""
    root = os.path.join(WORK, name)
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "lib", "meditrack"))
    shutil.copy2(BINARY, os.path.join(root, "bin", "meditrack"))
    for m in modules:
        shutil.copy2(os.path.join(BUILD, m), os.path.join(root, "lib", "meditrack", m))
    return root


def run(binary, args, env_extra, timeout=60):
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")}
    env.update({"ENV_FILE": "/dev/null", "LOG_LEVEL": "info"})
    env.update(env_extra)
    t0 = time.monotonic()
    p = subprocess.run([binary] + args, env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=WORK)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


def test_binary_links_no_heavy_library():
    ldd = subprocess.run(["ldd", BINARY], capture_output=True, text=True)
    check("ldd reads the binary", ldd.returncode == 0, ldd.stderr)
    found = [lib for lib in HEAVY if lib in ldd.stdout]
    check("the binary loads none of cairo, pango, glib, fontconfig, libpq, libmariadb, "
          "libmicrohttpd, GnuTLS, OpenSSL at start-up", not found, ", ".join(found))
    for m in MODULES:
        check(f"{m} is built next to the binary", os.path.isfile(os.path.join(BUILD, m)))


def add_data(srv):
    r = srv.post("/api/v1/persons/", {"first_name": "Mod", "last_name": "Ule"})
    check("person created", r.status == 201, repr(r))
    pid = r.json()["id"] if r.status == 201 else 1
    r = srv.post("/api/v1/medications/", {"person_id": pid, "name": "Ibuprofen",
                                          "dosage": "200 mg", "frequency": "Three times daily",
                                          "max_doses_per_day": 3})
    check("medication created", r.status == 201, repr(r))
    return pid


def test_without_pdf_module():
    root = tree("nopdf", [m for m in MODULES if m != "meditrack-pdf.so"])
    binary = os.path.join(root, "bin", "meditrack")
    apilib.MEDITRACK = binary
    srv = apilib.Server("t040-nopdf")
    try:
        check("serve finds meditrack-http.so (and its driver) in ../lib/meditrack",
              srv.alive())
        pid = add_data(srv)
        today = apilib.utc_today().isoformat()
        pdf = f"/api/v1/reports/medications/pdf/{today}?person_id={pid}&days=1"
        for attempt in (1, 2):
            r = srv.get(pdf)
            j = r.json() or {}
            check(f"PDF without the module: 503 (request {attempt})", r.status == 503, repr(r))
            check(f"PDF without the module: the detail says so (request {attempt})",
                  j.get("detail") == "PDF reports are not available on this server", repr(r))
        log = srv.log_text()
        check("the log names the missing module",
              "PDF forms are unavailable: module meditrack-pdf.so is not installed" in log,
              log[-1500:])
        check("the log lists the directories searched",
              os.path.join(root, "bin") in log and os.path.join(root, "lib", "meditrack") in log,
              log[-1500:])
        week = (apilib.utc_today() - datetime.timedelta(days=6)).isoformat()
        r = srv.get(f"/api/v1/reports/doses.csv?person_id={pid}&from={week}&to={today}")
        check("the CSV export works without the PDF module", r.status == 200, repr(r))
        r = srv.get(f"/api/v1/reports/doses.json?person_id={pid}&from={week}&to={today}")
        check("the JSON export works without the PDF module", r.status == 200, repr(r))
        check("the server is still healthy", srv.alive())
    finally:
        srv.stop()
    check("the server stopped cleanly", srv.proc.returncode == 0, str(srv.proc.returncode))
    log = srv.log_text()
    check("no sanitizer report", "Sanitizer" not in log and "runtime error" not in log,
          log[-2000:])

    # The PDF module added to the same tree, the binary started through a
    # symlink elsewhere: the module is found from the binary's real path.
    shutil.copy2(os.path.join(BUILD, "meditrack-pdf.so"),
                 os.path.join(root, "lib", "meditrack", "meditrack-pdf.so"))
    links = os.path.join(WORK, "links")
    os.makedirs(links)
    os.symlink(binary, os.path.join(links, "meditrack"))
    apilib.MEDITRACK = os.path.join(links, "meditrack")
    srv = apilib.Server("t040-pdf")
    try:
        pid = add_data(srv)
        r = srv.get(f"/api/v1/reports/medications/pdf/{today}?person_id={pid}&days=1")
        check("PDF with the module in ../lib/meditrack, through a symlink: 200",
              r.status == 200 and r.body.startswith(b"%PDF-"), repr(r)[:300])
    finally:
        srv.stop()
    check("that server stopped cleanly", srv.proc.returncode == 0, str(srv.proc.returncode))


def test_without_any_module():
    root = tree("bare", [])
    binary = os.path.join(root, "bin", "meditrack")
    for dialect, module in (("postgresql", "meditrack-postgresql.so"),
                            ("mysql", "meditrack-mysql.so")):
        url = f"{dialect}://nobody:secret-pw@127.0.0.1:9/none"
        rc, out, secs = run(binary, ["db", "current"], {"DATABASE_URL": url})
        check(f"db current on {dialect} without its module: exit 3", rc == 3, f"{rc}: {out}")
        check(f"db current on {dialect} without its module: says which module",
              f"{dialect} is not supported by this installation: module {module} is not "
              "installed" in out, out)
        rc, out, secs = run(binary, ["init"], {"DATABASE_URL": url, "DB_WAIT_ATTEMPTS": "5",
                                               "DB_WAIT_INTERVAL": "1"})
        check(f"init on {dialect} without its module: exit 3 at once, no waiting",
              rc == 3 and "attempt 2/5" not in out and secs < 4, f"{rc} after {secs:.1f} s: {out}")
        check(f"init on {dialect} without its module: no password in the output",
              "secret-pw" not in out, out)
    db = os.path.join(WORK, "bare.db")
    env = {"DATABASE_URL": f"sqlite:///{db}", "BACKUP_BEFORE_MIGRATE": "false"}
    rc, out, _ = run(binary, ["db", "upgrade", "head"], env)
    check("db upgrade head on SQLite needs no module", rc == 0, out)
    rc, out, _ = run(binary, ["serve"], dict(env, HOST="127.0.0.1",
                                            PORT=str(apilib.free_port())))
    check("serve without meditrack-http.so: exit 8", rc == 8, f"{rc}: {out}")
    check("serve without meditrack-http.so: says so",
          "cannot start the HTTP server: module meditrack-http.so is not installed" in out, out)


def main():
    try:
        test_binary_links_no_heavy_library()
        test_without_pdf_module()
        test_without_any_module()
    finally:
        if apilib.failed == 0:
            shutil.rmtree(WORK, ignore_errors=True)
    apilib.report()


if __name__ == "__main__":
    main()
