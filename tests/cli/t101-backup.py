#!/usr/bin/env python3
"""`meditrack backup` and `meditrack restore` on the dialect in MT_TEST_DIALECT.
A server takes doses from 8 clients writing as fast as they can; while they
write, `meditrack backup` runs. Every dose acknowledged (201) before the
backup started must be in the backup file, whose manifest must match its
contents. The file is then restored into a fresh database of each engine
(SQLite, PostgreSQL, MariaDB; one whose server is not available is skipped):
every row as in the file, the target at head, `db check` clean. Refusals: an
existing backup file, a non-empty target, a damaged file, a file that is no
backup, a backup at a revision this program does not know. A backup taken
below head is upgraded on restore. Python 3 stdlib. Last line
"N passed, N failed, N skipped"."""

import datetime
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
import apilib  # noqa: E402
from apilib import check  # noqa: E402

ROOT = apilib.ROOT
MEDITRACK = apilib.MEDITRACK
BUILD = os.environ.get("MT_TEST_BUILD_DIR") or os.path.dirname(MEDITRACK)
DUMP = os.path.join(BUILD, "tests", "migrate", "mig-dump")
WORK = tempfile.mkdtemp(prefix="t101-", dir=apilib.TMP)
DIALECT = apilib.DIALECT
skipped = 0


def skip(name, why):
    global skipped
    skipped += 1
    print(f"SKIP - {name}: {why}")


def have(dialect):
    return {"sqlite": True, "postgresql": bool(os.environ.get("MT_TEST_PG_URL")),
            "mysql": bool(os.environ.get("MT_TEST_MYSQL_URL"))}[dialect]


def fresh(dialect, tag):
    env = dict(os.environ, MT_TEST_DIALECT=dialect)
    out = subprocess.run([os.path.join(ROOT, "tests", "lib", "fresh-db"), tag], env=env,
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def mt(url, *args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("BACKUP_DIR", "BACKUP_SCHEDULE", "MIGRATIONS_DIR")}
    env.update({"DATABASE_URL": url, "LOG_LEVEL": "warning"})
    return subprocess.run([MEDITRACK, *args], env=env, cwd=WORK, capture_output=True, text=True)


def rows(url):
    out = subprocess.run([DUMP, url, "rows"], capture_output=True, text=True)
    return sorted(out.stdout.splitlines()) if out.returncode == 0 else None


def sqlite_url(path):
    return "sqlite:///" + path


def readonly_copy(path):
    """mig-dump opens with the db layer, which may set WAL mode on the file:
    it reads a copy, so the backup stays as written."""
    p = os.path.join(WORK, f"view-{time.monotonic_ns()}.db")
    shutil.copyfile(path, p)
    return p


def head_revision():
    out = mt("sqlite:///:memory:", "db", "heads")
    return out.stdout.split()[0]


HEAD = head_revision()


def writers_and_backup(srv):
    """8 clients write doses; the backup starts while they write."""
    p = apilib.person(srv, "Backup Båck")
    meds = [apilib.medication(srv, p["id"], f"Med {i} ✓", max_doses=20)["id"] for i in range(8)]
    acked = []  # (monotonic time of the 201, dose id)
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def writer(k, med):
        n = 0
        day0 = datetime.date(2024, 1, 1)
        while not stop.is_set():
            day = day0 + datetime.timedelta(days=n // 20)
            path = (f"/api/v1/doses/medications/{med}/dose/{day.isoformat()}"
                    f"?time={n % 20:02d}:{(7 * k) % 60:02d}&timezone_offset=0")
            try:
                r = srv.post(path, timeout=30)
            except OSError as e:
                errors.append(repr(e))
                return
            t = time.monotonic()
            if r.status == 201:
                with lock:
                    acked.append((t, r.json()["id"]))
            else:
                errors.append(f"{r.status} {r.text()[:200]}")
                return
            n += 1

    threads = [threading.Thread(target=writer, args=(k, m)) for k, m in enumerate(meds)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    started = time.monotonic()
    path = os.path.join(WORK, "live.db")
    b = mt(srv.url, "backup", path)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    check("8 clients wrote without an error", not errors, "; ".join(errors[:3]))
    check("backup while writing: exit 0", b.returncode == 0, b.stdout + b.stderr)
    check("backup: says where it wrote", f"Backup written to {path}" in b.stdout, b.stdout)
    before = {i for t, i in acked if t < started}
    after = {i for t, i in acked if t >= started}
    print(f"# {len(before)} doses acknowledged before the backup started, {len(after)} after")
    check("clients wrote before and after the backup started", len(before) > 50 and after,
          f"{len(before)} before, {len(after)} after")
    if b.returncode != 0:
        return None
    con = sqlite3.connect(f"file:{readonly_copy(path)}?mode=ro", uri=True)
    ids = {r[0] for r in con.execute("SELECT id FROM doses")}
    manifest = con.execute("SELECT revision, manifest FROM meditrack_backup_manifest").fetchone()
    con.close()
    missing = before - ids
    check("every dose acknowledged before the backup started is in it", not missing,
          f"{len(missing)} missing, e.g. {sorted(missing)[:5]}")
    check("the backup holds no dose that was never acknowledged",
          ids <= before | after, f"{len(ids - before - after)} unknown")
    check("the manifest names the head revision", manifest and manifest[0] == HEAD, repr(manifest))
    check("the manifest counts the doses in the file",
          manifest and f'"rows": {len(ids)},' in manifest[1], manifest[1][:400] if manifest else "")
    # Every dose recorded appended an audit row: the chain's head is past them.
    head = re.search(r'"audit_hash": "([0-9a-f]{64})",\s*"audit_seq": (\d+)',
                     manifest[1]) if manifest else None
    check("the manifest has the audit chain's head, past every dose in the file",
          head is not None and int(head.group(2)) >= len(ids), manifest[1][-600:] if manifest else "")
    # The file is one SQLite database: nothing beside it.
    check("the backup is one file (no -wal, no .partial)",
          not [f for f in os.listdir(WORK) if f.startswith("live.db") and f != "live.db"],
          repr(os.listdir(WORK)))
    return path


def restore_everywhere(path):
    want = rows(sqlite_url(readonly_copy(path)))
    check("the backup file reads back", want is not None and len(want) > 50)
    for d in ("sqlite", "postgresql", "mysql"):
        if not have(d):
            skip(f"restore into {d}", "no server (run through make test)")
            continue
        url = fresh(d, f"t101r{d[:2]}")
        r = mt(url, "restore", path)
        check(f"restore into {d}: exit 0", r.returncode == 0, r.stdout + r.stderr[-800:])
        check(f"restore into {d}: verified", "every table matches" in r.stdout, r.stdout)
        cur = mt(url, "db", "current")
        check(f"restore into {d}: at head", cur.stdout.strip() == f"{HEAD} (head)", cur.stdout)
        chk = mt(url, "db", "check")
        check(f"restore into {d}: db check clean", chk.returncode == 0, chk.stdout + chk.stderr)
        check(f"restore into {d}: every row as in the backup", rows(url) == want)
        if d == DIALECT:
            again = mt(url, "restore", path)
            check("restore into a non-empty database is refused (exit 1)",
                  again.returncode == 1 and "not empty" in again.stderr, again.stderr)


def refusals(srv, path):
    r = mt(srv.url, "backup", path)
    check("backup onto an existing file is refused (exit 1)",
          r.returncode == 1 and "exists" in r.stderr, r.stderr)
    r = mt("nosuch://x", "backup", os.path.join(WORK, "never.db"))
    check("backup with a bad DATABASE_URL: exit 3", r.returncode == 3, r.stderr)
    r = mt(sqlite_url(os.path.join(WORK, "t.db")), "restore")
    check("restore without a file: exit 2", r.returncode == 2, r.stderr)
    target = sqlite_url(os.path.join(WORK, "refused.db"))
    r = mt(target, "restore", os.path.join(WORK, "no-such-file.db"))
    check("restore of a missing file: exit 1", r.returncode == 1 and "no-such-file" in r.stderr,
          r.stderr)

    bad = os.path.join(WORK, "damaged.db")
    shutil.copyfile(path, bad)
    con = sqlite3.connect(bad)
    con.execute("UPDATE doses SET medication_name = 'tampered' WHERE id = (SELECT MIN(id) FROM doses)")
    con.commit()
    con.close()
    r = mt(target, "restore", bad)
    check("a damaged backup is refused (exit 1)",
          r.returncode == 1 and "is damaged: table doses" in r.stderr, r.stderr)

    plain = os.path.join(WORK, "plain.db")
    con = sqlite3.connect(plain)
    con.execute("CREATE TABLE t (x INTEGER)")
    con.commit()
    con.close()
    r = mt(target, "restore", plain)
    check("a SQLite file that is no backup is refused (exit 1)",
          r.returncode == 1 and "not a meditrack backup" in r.stderr, r.stderr)

    newer = os.path.join(WORK, "newer.db")
    shutil.copyfile(path, newer)
    con = sqlite3.connect(newer)
    con.execute("UPDATE alembic_version SET version_num = 'fff000fff000'")
    con.execute("UPDATE meditrack_backup_manifest SET revision = 'fff000fff000', manifest = "
                "replace(manifest, ?, 'fff000fff000')", (HEAD,))
    con.commit()
    con.close()
    r = mt(target, "restore", newer)
    check("a backup at an unknown revision is refused (exit 1)",
          r.returncode == 1 and "does not know" in r.stderr, r.stderr)
    check("nothing was restored by the refusals", rows(target) in ([], None))


def older_revision():
    """A backup below head is taken as it is and brought to head on restore."""
    url = fresh(DIALECT, "t101old")
    r = mt(url, "db", "upgrade", "44fcd0160844")
    check("an old database at 44fcd0160844", r.returncode == 0, r.stderr)
    mt(url, "db", "upgrade", "2574915efc76")
    ins = subprocess.run([DUMP, url, "exec",
                          "INSERT INTO persons (id, first_name, is_default) VALUES (1, 'Old Ölaf', "
                          "TRUE); INSERT INTO medications (id, name, dosage, frequency, "
                          "max_doses_per_day, person_id) VALUES (1, 'Aspirin', '1', 'daily', 2, 1);"
                          "INSERT INTO doses (id, medication_id, medication_name, taken_at) VALUES "
                          "(1, 1, 'Aspirin', '2024-03-04 05:06:07.000008')"],
                         capture_output=True, text=True)
    check("rows in the old database", ins.returncode == 0, ins.stderr)
    path = os.path.join(WORK, "old.db")
    b = mt(url, "backup", path)
    check("backup of a database below head: exit 0", b.returncode == 0, b.stderr)
    check("... at its own revision", "revision 2574915efc76" in b.stdout, b.stdout)
    target = sqlite_url(os.path.join(WORK, "from-old.db"))
    r = mt(target, "restore", path)
    check("restore of the old backup: exit 0, upgraded on the way",
          r.returncode == 0 and "upgraded to head" in r.stdout, r.stdout + r.stderr[-600:])
    got = rows(target) or []
    check("the old backup's dose got its person on the way to head",
          any(line.startswith("doses|") and "|person_id=1|" in line and
              "taken_at=2024-03-04 05:06:07.000008" in line for line in got), repr(got))


def audit_hash():
    """The manifest carries the head of the audit chain (SEQ and hash, as
    `meditrack audit head` prints it), restore refuses a file whose chain
    head is not the manifest's, and the restored chain verifies, also
    against the manifest's head as an anchor."""
    db = os.path.join(WORK, "audited.db")
    url = sqlite_url(db)
    mt(url, "db", "upgrade")
    for login in ("carer-a", "carer-b", "carer-c"):
        r = mt(url, "user", "add", login, "--role", "carer", "--no-password")
        check(f"user add {login} (an audited change)", r.returncode == 0, r.stderr)
    head = mt(url, "audit", "head").stdout.strip()
    check("the chain has three rows", head.startswith("3:") and len(head) == 66, head)
    path = os.path.join(WORK, "audited-backup.db")
    b = mt(url, "backup", path)
    check("backup of a database with an audit chain names its head",
          b.returncode == 0 and f"audit head {head}" in b.stdout, b.stdout + b.stderr)
    con = sqlite3.connect(readonly_copy(path))
    m = con.execute("SELECT manifest FROM meditrack_backup_manifest").fetchone()[0]
    con.close()
    seq, hsh = head.split(":")
    check("the manifest has the chain's head and where it is from",
          f'"audit_hash": "{hsh}"' in m and f'"audit_seq": {seq}' in m and
          '"table": "audit_log"' in m, m)
    bad = os.path.join(WORK, "audited-bad.db")
    shutil.copyfile(path, bad)
    con = sqlite3.connect(bad)
    con.execute("UPDATE meditrack_backup_manifest SET manifest = replace(manifest, ?, ?)",
                (f'"audit_seq": {seq}', '"audit_seq": 2'))
    con.commit()
    con.close()
    r = mt(sqlite_url(os.path.join(WORK, "audited-target.db")), "restore", bad)
    check("a backup whose chain head is not the manifest's is refused",
          r.returncode == 1 and "audit chain's head" in r.stderr, r.stderr)
    target = sqlite_url(os.path.join(WORK, "audited-good.db"))
    r = mt(target, "restore", path)
    check("the backup restores and its audit chain verifies on the target",
          r.returncode == 0 and f"Audit trail verified on the target: 3 rows, head {head}" in r.stdout,
          r.stdout + r.stderr)
    v = mt(target, "audit", "verify", "--anchor", head)
    check("audit verify --anchor with the manifest's head holds on the restored database",
          v.returncode == 0, v.stdout + v.stderr)


def main():
    srv = apilib.Server("t081")
    try:
        path = writers_and_backup(srv)
        if path:
            restore_everywhere(path)
            refusals(srv, path)
    finally:
        srv.stop()
    older_revision()
    if DIALECT == "sqlite":
        audit_hash()
    print(f"{apilib.passed} passed, {apilib.failed} failed, {skipped} skipped")
    sys.exit(1 if apilib.failed else 0)


if __name__ == "__main__":
    main()
