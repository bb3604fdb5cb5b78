#!/usr/bin/env python3
"""Disk full against the real binary: the storage of the doses table lives
on a small tmpfs (SQLite: the whole database file; PostgreSQL: a
tablespace; MariaDB: a table with DATA DIRECTORY), which a filler file then
fills. Recording a dose must answer JSON 507 with a clear detail, reads keep
working, /api/v1/health reports the database as degraded (503), and once the
filler is gone the server recovers by itself: health is healthy again and
writes succeed. Needs root (mount); skipped with a note otherwise."""

import errno
import os
import pwd
import subprocess
import time
import urllib.parse

import apilib
import dblib
from apilib import check

D = "/api/v1/doses"


def server_user():
    """The account the test database servers run as (scripts/test-servers.sh)."""
    name = os.environ.get("MT_TEST_RUN_AS") or ("nobody" if os.geteuid() == 0 else None)
    return pwd.getpwnam(name).pw_uid if name else os.geteuid()


class Tmpfs:
    def __init__(self, path, size_kib, uid):
        self.path = path
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700,uid={uid}",
                            "tmpfs", path], capture_output=True, text=True)
        self.mounted = r.returncode == 0
        self.why = r.stderr.strip()

    def fill(self):
        """Writes zeros until the file system is full; returns the bytes written."""
        n = 0
        fd = os.open(os.path.join(self.path, "filler"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        chunk = b"\0" * 4096
        try:
            while True:
                n += os.write(fd, chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        finally:
            os.close(fd)
        return n

    def free(self):
        os.unlink(os.path.join(self.path, "filler"))

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def unmount(self):
        if self.mounted:
            r = subprocess.run(["umount", self.path], capture_output=True, text=True)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", self.path], capture_output=True)


def move_doses(s, fs, tag):
    """Puts the doses table's storage on fs (servers); returns a cleanup."""
    if apilib.DIALECT == "postgresql":
        ts = f"t072_{tag}_{os.getpid()}"
        dblib.sql(s.url, f"CREATE TABLESPACE {ts} LOCATION '{fs.path}'")
        dblib.sql(s.url, f"ALTER TABLE doses SET TABLESPACE {ts}")

        def undo():
            dblib.sql(s.url, "ALTER TABLE doses SET TABLESPACE pg_default", check=False)
            dblib.sql(s.url, f"DROP TABLESPACE IF EXISTS {ts}", check=False)
        return undo
    # MariaDB cannot move a table's files with ALTER TABLE; a copy with the
    # same columns, checks and indexes (whatever the head revision has;
    # the foreign keys are left out) is made on fs and takes the name.
    dblib.sql(s.url, "RENAME TABLE doses TO doses_before_t072")
    shown = dblib.sql(s.url, "SHOW CREATE TABLE doses_before_t072")
    ddl = shown.split("\t", 1)[1].replace("\\n", "\n")
    lines = [ln for ln in ddl.split("\n") if "FOREIGN KEY" not in ln]
    body = "\n".join(lines[1:-1]).rstrip().rstrip(",")
    dblib.sql(s.url, "CREATE TABLE doses (\n" + body + "\n) ENGINE=InnoDB"
                     f" DATA DIRECTORY='{fs.path}'")

    def undo():
        dblib.sql(s.url, "DROP TABLE IF EXISTS doses", check=False)
        dblib.sql(s.url, "RENAME TABLE doses_before_t072 TO doses", check=False)
    return undo


def fill_table(s):
    """The table's file keeps free room (InnoDB's free pages, the rest of
    PostgreSQL's last page), so rows without a medication are added, in
    smaller and smaller batches, until the file would have to grow."""
    if apilib.DIALECT == "postgresql":
        rows = "SELECT now() FROM generate_series(1, {n})"
        args, env = ["psql", s.url, "-qAtX"], dict(os.environ)
    else:
        rows = "SELECT NOW() FROM seq_1_to_{n}"
        args, env = dblib.client(s.url)
        args = args + ["--force"]
    stmts = [f"INSERT INTO doses (taken_at) {rows.format(n=n)};"
             for n in (1000, 100, 10, 1) for _ in range(12)]
    subprocess.run(args, input="\n".join(stmts) + "\n", env=env, capture_output=True,
                   text=True, timeout=120)


def run(s, fs):
    apilib.person(s, "Alice")
    med = apilib.medication(s, 1, "Aspirin", 20)["id"]
    r = s.post(f"{D}/medications/{med}/dose")
    check("a dose is recorded while there is space", r.status == 201, dblib.describe(r))

    written = fs.fill()
    if apilib.DIALECT != "sqlite":
        fill_table(s)
    print(f"# filled the tmpfs with {written} bytes; {fs.free_bytes()} bytes free")
    for i in range(2):
        r = s.post(f"{D}/medications/{med}/dose")
        check(f"disk full: POST dose {i} is 507", r.status == 507, dblib.describe(r))
        check(f"disk full: POST dose {i} is JSON with a clear detail",
              dblib.is_fault_reply(r, 507) and "disk is full" in r.json()["detail"],
              dblib.describe(r))
    r = s.get(f"{D}/medications/{med}/doses")
    check("disk full: reads still work", r.status == 200 and len(r.json() or []) == 1,
          dblib.describe(r))
    r = s.get("/api/v1/health")
    top, dbs = dblib.health_status(r)
    check("disk full: /api/v1/health reports the database degraded",
          r.status == 503 and top == "degraded" and dbs == "degraded", dblib.describe(r))
    details = ((r.json() or {}).get("components") or [{}])[0].get("details", {})
    check("disk full: health says the storage is full", details.get("storage") == "full",
          dblib.describe(r))
    check("disk full: the server logged it as storage full",
          "request failed (storage full)" in s.log_text())

    fs.free()
    if apilib.DIALECT == "sqlite":
        # The file system has room again: known without a write.
        r = s.get("/api/v1/health")
        check("space back: /api/v1/health healthy before any write", r.status == 200
              and dblib.health_status(r) == ("healthy", "healthy"), dblib.describe(r))
    r = s.post(f"{D}/medications/{med}/dose")
    check("space back: POST dose works again", r.status == 201, dblib.describe(r))
    r = s.get("/api/v1/health")
    check("space back: /api/v1/health healthy", r.status == 200
          and dblib.health_status(r) == ("healthy", "healthy"), dblib.describe(r))
    r = s.get(f"{D}/medications/{med}/doses")
    check("space back: exactly the two recorded doses are there",
          r.status == 200 and len(r.json() or []) == 2, dblib.describe(r))


def main():
    if os.geteuid() != 0:
        dblib.skip_suite("mounting a small tmpfs needs root")
    tmp = os.path.join(apilib.TMP, f"t072-{apilib.DIALECT}-{os.getpid()}")
    if apilib.DIALECT == "sqlite":
        fs = Tmpfs(tmp, 4096, os.geteuid())
    else:
        fs = Tmpfs(tmp, 2048, server_user())
    if not fs.mounted:
        dblib.skip_suite(f"cannot mount a tmpfs: {fs.why}")
    s = None
    undo = None
    try:
        env = {"DB_STATEMENT_TIMEOUT": "5000"}
        if apilib.DIALECT == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{fs.path}/t072.db"
            env["BACKUP_BEFORE_MIGRATE"] = "false"
        s = apilib.Server("t072_diskfull", env=env)
        if apilib.DIALECT != "sqlite":
            undo = move_doses(s, fs, apilib.DIALECT)
        run(s, fs)
    finally:
        if s:
            s.stop()
            if undo:
                undo()
        fs.unmount()
        try:
            os.rmdir(tmp)
        except OSError:
            pass
    apilib.report()


if __name__ == "__main__":
    main()
