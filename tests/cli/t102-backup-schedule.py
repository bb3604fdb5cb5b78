#!/usr/bin/env python3
"""BACKUP_SCHEDULE on the dialect in MT_TEST_DIALECT: two replicas of
`meditrack serve` on one database, both scheduled a few seconds ahead (in a
TIMEZONE_OFFSET zone, as a local time), race for the slot: exactly one writes
the backup (one file, one row in meditrack_backup_log), both report the slot
in GET /api/v1/health (the writer with its file and duration, the other as
taken), the winner prunes its directory to BACKUP_KEEP, and the backup
restores. In an IANA zone (TIMEZONE=America/New_York, on the test clock)
the next run keeps its wall time across the spring change of clocks. A bad
BACKUP_SCHEDULE stops serve with exit 3. On PostgreSQL and
MariaDB a server stopped while a scheduled backup of 100k doses runs cancels
it cleanly: exit 0, no partial file, the slot recorded as failed. Python 3
stdlib. Last line "N passed, N failed, N skipped"."""

import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
import apilib  # noqa: E402
from apilib import check  # noqa: E402

MEDITRACK = apilib.MEDITRACK
BUILD = os.environ.get("MT_TEST_BUILD_DIR") or os.path.dirname(MEDITRACK)
DUMP = os.path.join(BUILD, "tests", "migrate", "mig-dump")
WORK = tempfile.mkdtemp(prefix="t082-", dir=apilib.TMP)
DIALECT = apilib.DIALECT
TZ = -90  # UTC+01:30, JavaScript sign


def query(url, sql):
    out = subprocess.run([DUMP, url, "query", sql], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else f"error: {out.stderr.strip()}"


def schedule_in(seconds):
    """(slot instant in UTC, BACKUP_SCHEDULE text in the TZ zone)."""
    slot = (datetime.datetime.now(datetime.timezone.utc) +
            datetime.timedelta(seconds=seconds)).replace(microsecond=0)
    local = slot - datetime.timedelta(minutes=TZ)
    return slot, "daily@" + local.strftime("%H:%M:%S")


def backup_of(srv):
    r = srv.get("/api/v1/health")
    body = r.json() or {}
    return body.get("backup") or {}


def wait_slot(servers, slot_iso, timeout):
    end = time.time() + timeout
    while time.time() < end:
        reps = [backup_of(s) for s in servers]
        if all((b.get("last_slot") or {}).get("at") == slot_iso and not b.get("running")
               for b in reps):
            return reps
        time.sleep(0.1)
    return [backup_of(s) for s in servers]


def two_replicas():
    url = apilib.fresh_db("t082")
    dirs = [os.path.join(WORK, "r1"), os.path.join(WORK, "r2")]
    for d in dirs:
        os.makedirs(d)
        # Older backups the winner must prune to BACKUP_KEEP=2.
        for day in (1, 2, 3):
            open(os.path.join(d, f"meditrack-backup-2020010{day}T030000.000Z.db"), "w").close()
        open(os.path.join(d, "unrelated.db"), "w").close()
    slot, sched = schedule_in(7)
    env = {"DATABASE_URL": url, "BACKUP_SCHEDULE": sched, "TIMEZONE_OFFSET": str(TZ),
           "BACKUP_KEEP": "2", "LOG_LEVEL": "info"}
    servers = [None, None]
    errors = []

    def start(i):
        try:
            servers[i] = apilib.Server(f"t082r{i}", env=dict(env, BACKUP_DIR=dirs[i]))
        except RuntimeError as e:
            errors.append(str(e))

    # Both start at once, so that both are up well before the slot.
    threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        if errors or None in servers:
            check("both replicas start", False, "; ".join(errors))
            return
        ready = datetime.datetime.now(datetime.timezone.utc)
        check("both replicas are up before the slot", ready < slot, f"{ready} vs {slot}")
        first = backup_of(servers[0])
        check("health reports the schedule before it runs", first.get("schedule") == sched and
              first.get("next_run_at") == slot.strftime("%Y-%m-%dT%H:%M:%SZ") and
              first.get("last_slot") is None, json.dumps(first))
        slot_iso = slot.strftime("%Y-%m-%dT%H:%M:%SZ")
        reps = wait_slot(servers, slot_iso, 25)
        outcomes = sorted((b.get("last_slot") or {}).get("outcome", "") for b in reps)
        check("both replicas saw the slot; one wrote it, the other found it taken",
              outcomes[0] == "done" and outcomes[1].startswith("taken by "), json.dumps(reps))
        files = [os.path.join(d, f) for d in dirs for f in os.listdir(d)
                 if f.startswith("meditrack-backup-") and not f.startswith("meditrack-backup-2020")]
        check("exactly one backup file across the replicas", len(files) == 1, repr(files))
        rows = query(url, "SELECT slot, success, file FROM meditrack_backup_log")
        check("one lease row for the slot, successful",
              len(rows.splitlines()) == 1 and rows.startswith(slot_iso + "|1|"), rows)
        winner = next((b for b in reps if (b.get("last_slot") or {}).get("outcome") == "done"), {})
        check("the writer's health names its file, time and duration",
              files and winner.get("last_file") == files[0] and winner.get("last_success_at")
              and isinstance(winner.get("last_duration_ms"), int) and
              winner.get("last_error") is None, json.dumps(winner))
        check("the next run is a day later",
              all(b.get("next_run_at") == (slot + datetime.timedelta(days=1)).strftime(
                  "%Y-%m-%dT%H:%M:%SZ") for b in reps), json.dumps(reps))
        if files:
            wdir = os.path.dirname(files[0])
            kept = sorted(f for f in os.listdir(wdir) if f.startswith("meditrack-backup-"))
            check("the writer kept BACKUP_KEEP=2 backups (the newest old one and the new one)",
                  kept == ["meditrack-backup-20200103T030000.000Z.db",
                           os.path.basename(files[0])], repr(kept))
            check("files that are not backups are left alone",
                  os.path.exists(os.path.join(wdir, "unrelated.db")))
            other = [d for d in dirs if d != wdir][0]
            check("the other replica pruned nothing", len(os.listdir(other)) == 4,
                  repr(os.listdir(other)))
            con = sqlite3.connect(files[0])
            rev = con.execute("SELECT revision FROM meditrack_backup_manifest").fetchone()
            con.close()
            check("the scheduled backup has a manifest", rev is not None)
            target = "sqlite:///" + os.path.join(WORK, "restored.db")
            r = subprocess.run([MEDITRACK, "restore", files[0]], capture_output=True, text=True,
                               env=dict(os.environ, DATABASE_URL=target, LOG_LEVEL="warning"))
            check("the scheduled backup restores", r.returncode == 0, r.stdout + r.stderr)
        logs = "".join(s.log_text() for s in servers)
        check("the log says who wrote it and that the other found it taken",
              "backup: wrote " in logs and "is taken by" in logs, logs[-1500:])
    finally:
        for s in servers:
            if s:
                s.stop()


def dst_zone():
    """Backups on the New York wall clock, seen from 2025-03-08 12:00Z (the
    clocks spring forward on 2025-03-09 at 07:00Z): the next 03:00 is 03:00
    EDT (07:00Z), not 08:00Z as a fixed offset would have it; 02:30, which
    the clocks skip that night, runs at the offset before the change (07:30Z,
    03:30 EDT)."""
    url = apilib.fresh_db("t102dst")
    for sched, want in (("daily@03:00", "2025-03-09T07:00:00Z"),
                        ("daily@02:30", "2025-03-09T07:30:00Z"),
                        ("weekly@mon@03:00", "2025-03-10T07:00:00Z")):
        srv = apilib.Server("t102dst", env={
            "DATABASE_URL": url, "BACKUP_SCHEDULE": sched, "TIMEZONE": "America/New_York",
            "ALLOW_TEST_CLOCK": "true", "TEST_CLOCK_START": "2025-03-08T12:00:00Z",
            "TEST_CLOCK_SPEED": "1", "BACKUP_DIR": os.path.join(WORK, "dst")})
        try:
            got = backup_of(srv).get("next_run_at")
            check(f"{sched} in America/New_York follows the spring change", got == want,
                  f"{got} (want {want})")
        finally:
            srv.stop()


def bad_schedule():
    r = subprocess.run([MEDITRACK, "serve"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, DATABASE_URL="sqlite:///" + os.path.join(WORK, "b.db"),
                                BACKUP_SCHEDULE="daily@25:00", PORT=str(apilib.free_port())))
    check("a bad BACKUP_SCHEDULE stops serve with exit 3",
          r.returncode == 3 and "BACKUP_SCHEDULE" in r.stderr, f"{r.returncode} {r.stderr[-400:]}")


GEN = {
    "postgresql": """INSERT INTO persons (id, first_name, is_default) VALUES (1, 'Big', TRUE);
INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, person_id)
VALUES (1, 'Med', '1', 'daily', 4, 1);
INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id)
SELECT i, 1, 'Med', timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute', 1
FROM generate_series(1, 100000) i""",
    "mysql": """INSERT INTO persons (id, first_name, is_default) VALUES (1, 'Big', TRUE);
INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, person_id)
VALUES (1, 'Med', '1', 'daily', 4, 1);
INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id)
SELECT seq, 1, 'Med', TIMESTAMPADD(MINUTE, seq, '2020-01-01'), 1 FROM seq_1_to_100000""",
}


skipped = 0


def cancelled_on_stop():
    global skipped
    if DIALECT not in GEN:
        print("SKIP - cancelling a running backup: SQLite's online backup is one step, "
              "which stopping waits for")
        skipped += 1
        return
    url = apilib.fresh_db("t082big")
    subprocess.run([MEDITRACK, "db", "upgrade"], capture_output=True,
                   env=dict(os.environ, DATABASE_URL=url, LOG_LEVEL="warning"))
    gen = subprocess.run([DUMP, url, "exec", GEN[DIALECT]], capture_output=True, text=True)
    check("100k doses generated", gen.returncode == 0, gen.stderr)
    d = os.path.join(WORK, "big")
    slot, sched = schedule_in(4)
    # The copy writes 100k doses in batches of 5000 rows; the stop comes
    # between two of them.
    srv = apilib.Server("t082big", env={"DATABASE_URL": url, "BACKUP_SCHEDULE": sched,
                                         "TIMEZONE_OFFSET": str(TZ), "BACKUP_DIR": d,
                                         "LOG_LEVEL": "info"})
    stopped = False
    try:
        end = time.time() + 20
        while time.time() < end and not backup_of(srv).get("running"):
            time.sleep(0.02)
        running = backup_of(srv).get("running")
        check("the scheduled backup of 100k doses is running", running)
        time.sleep(0.2)
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.proc.wait(30)
        took = time.monotonic() - t0
        stopped = True
        check("the server stops with exit 0 while the backup runs", rc == 0, str(rc))
        check(f"... promptly ({took:.2f} s)", took < 10)
        left = os.listdir(d) if os.path.isdir(d) else []
        check("no backup file or partial file is left", not left, repr(left))
        row = query(url, "SELECT success, error FROM meditrack_backup_log")
        check("the slot is recorded as failed: cancelled",
              row.startswith("0|") and "cancelled" in row, row)
        log = srv.log_text()
        check("the log says the backup was cancelled", "cancelled" in log, log[-800:])
        check("no sanitizer report", "Sanitizer" not in log and "runtime error:" not in log,
              log[-1500:])
    finally:
        if not stopped:
            srv.stop()
        else:
            srv.log.close()


def main():
    two_replicas()
    dst_zone()
    bad_schedule()
    cancelled_on_stop()
    print(f"{apilib.passed} passed, {apilib.failed} failed, {skipped} skipped")
    sys.exit(1 if apilib.failed else 0)


if __name__ == "__main__":
    main()
