#!/usr/bin/env python3
"""The binary's loadable modules (src/core/module.h), on the dialect in
MT_TEST_DIALECT: the binary itself links none of the large libraries
(cairo, pango, glib, fontconfig, libpq, libmariadb, GnuTLS, OpenSSL, libcurl; checked
with ldd), and the commands that need none of them load none of them
(`--help`, `db current` on SQLite, and a server on SQLite until its first PDF
request, which loads cairo; checked in the dynamic linker's trace and in
/proc/<pid>/maps); a copy of the binary in an install-like tree
(bin/meditrack, lib/meditrack/*.so) finds its modules through its real path,
also when started through a symlink; without the PDF module the server
serves everything else and answers PDF requests 503 with a log line naming
the module and the directories searched; without a driver module, or with
another module in its place, a command fails at once (exit 3, no waiting)
saying which module is wrong; `serve` on SQLite needs no module at all, and
`serve` with TLS_CERT_FILE set but without the TLS module exits 3 saying so.
Python 3 stdlib only. Last line: "N passed, N failed"."""

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
MODULES = ["meditrack-pdf.so", "meditrack-postgresql.so", "meditrack-mysql.so",
           "meditrack-tls.so", "meditrack-notify.so"]
HEAVY = ["libcairo", "libpango", "libglib", "libgobject", "libfontconfig", "libpq",
         "libmariadb", "libgnutls", "libssl", "libcrypto", "libharfbuzz", "libfreetype",
         "libX11", "libcurl"]
PDF_LIBS = ["libcairo", "libpango", "libfontconfig"]
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


def heavy_in(text, names=HEAVY):
    return [lib for lib in names if lib in text]


def test_binary_links_no_heavy_library():
    ldd = subprocess.run(["ldd", BINARY], capture_output=True, text=True)
    check("ldd reads the binary", ldd.returncode == 0, ldd.stderr)
    found = heavy_in(ldd.stdout)
    check("the binary links none of cairo, pango, glib, fontconfig, libpq, libmariadb, "
          "GnuTLS, OpenSSL", not found, ", ".join(found))
    check("the HTTP server is part of the binary, not a module",
          not os.path.exists(os.path.join(BUILD, "meditrack-http.so")))
    for m in MODULES:
        check(f"{m} is built next to the binary", os.path.isfile(os.path.join(BUILD, m)))


def test_commands_load_no_heavy_library():
    """What the dynamic linker really loads (also by dlopen), from its trace."""
    db = os.path.join(WORK, "loads.db")
    env = {"DATABASE_URL": f"sqlite:///{db}", "BACKUP_BEFORE_MIGRATE": "false"}
    rc, out, _ = run(BINARY, ["db", "upgrade", "head"], env)
    check("db upgrade head on SQLite", rc == 0, out)
    for args in (["--help"], ["db", "current"]):
        rc, out, _ = run(BINARY, args, dict(env, LD_DEBUG="files"))
        name = " ".join(args)
        check(f"{name}: exit 0", rc == 0, out[-1500:])
        check(f"{name}: the linker trace is there", "file=" in out, out[-500:])
        found = heavy_in(out)
        check(f"{name} on SQLite loads none of cairo, pango, glib, fontconfig, libpq, "
              "libmariadb, GnuTLS, OpenSSL", not found, ", ".join(found))


def mapped(pid):
    with open(f"/proc/{pid}/maps") as f:
        return f.read()


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
        check("serve starts (finding its driver, if any, in ../lib/meditrack)", srv.alive())
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
        # Until the first PDF request, the server has mapped none of the PDF
        # stack (on SQLite: none of the large libraries at all).
        sqlite = os.environ.get("MT_TEST_DIALECT", "sqlite") == "sqlite"
        found = heavy_in(mapped(srv.proc.pid), HEAVY if sqlite else PDF_LIBS)
        check("a server that has made no PDF has not loaded "
              + ("any large library" if sqlite else "cairo, pango or fontconfig"),
              not found, ", ".join(found))
        r = srv.get(f"/api/v1/reports/medications/pdf/{today}?person_id={pid}&days=1")
        check("PDF with the module in ../lib/meditrack, through a symlink: 200",
              r.status == 200 and r.body.startswith(b"%PDF-"), repr(r)[:300])
        maps = mapped(srv.proc.pid)
        check("the first PDF loaded meditrack-pdf.so and cairo",
              "meditrack-pdf.so" in maps and "libcairo" in maps)
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
    apilib.MEDITRACK = binary
    srv = apilib.Server("t040-bare", env={"DATABASE_URL": f"sqlite:///{db}"}, migrate=False)
    try:
        check("serve on SQLite needs no module", srv.alive())
        r = srv.get("/api/v1/persons/")
        check("serve on SQLite without modules answers the API", r.status == 200, repr(r))
    finally:
        srv.stop()
    check("that server stopped cleanly", srv.proc.returncode == 0, str(srv.proc.returncode))
    # The module is looked for before the files are read, so any paths do.
    rc, out, secs = run(binary, ["serve"], {"DATABASE_URL": f"sqlite:///{db}",
                                            "PORT": str(apilib.free_port()),
                                            "TLS_CERT_FILE": "/nonexistent/cert.pem",
                                            "TLS_KEY_FILE": "/nonexistent/key.pem"})
    check("serve with TLS_CERT_FILE without the TLS module: exit 3", rc == 3, f"{rc}: {out}")
    check("serve with TLS_CERT_FILE without the TLS module: says which module",
          "TLS is not available: module meditrack-tls.so is not installed" in out, out)


def test_wrong_module():
    """Another module under a driver's name: refused by name, at once."""
    root = tree("swapped", [])
    shutil.copy2(os.path.join(BUILD, "meditrack-mysql.so"),
                 os.path.join(root, "lib", "meditrack", "meditrack-postgresql.so"))
    rc, out, secs = run(os.path.join(root, "bin", "meditrack"), ["db", "current"],
                        {"DATABASE_URL": "postgresql://nobody:secret-pw@127.0.0.1:9/none"})
    check("db current with the MariaDB module as meditrack-postgresql.so: exit 3",
          rc == 3, f"{rc}: {out}")
    check("db current with the MariaDB module as meditrack-postgresql.so: says so",
          "postgresql is not supported by this installation: "
          + os.path.join(root, "lib", "meditrack", "meditrack-postgresql.so")
          + " holds the module meditrack-mysql.so, not meditrack-postgresql.so" in out, out)


def main():
    try:
        test_binary_links_no_heavy_library()
        test_commands_load_no_heavy_library()
        test_without_pdf_module()
        test_without_any_module()
        test_wrong_module()
    finally:
        if apilib.failed == 0:
            shutil.rmtree(WORK, ignore_errors=True)
    apilib.report()


if __name__ == "__main__":
    main()
