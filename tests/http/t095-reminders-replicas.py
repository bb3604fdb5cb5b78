#!/usr/bin/env python3
"""Exactly-once reminders across replicas (issue 16, docs/reminders.md):
200 reminder slots across 20 persons, each person with a signed webhook to a
real local receiver, on the test clock (ten minutes a second). On
PostgreSQL and MariaDB three replicas of `meditrack serve` share one
database and one of them is killed (SIGKILL) mid-run; on SQLite one
process is killed mid-run and started again. Every reminder must reach the
receiver exactly once (counted at the receiver, by slot), none lost, each
signature valid, and the log must show all 200 as sent. Last line
"N passed, N failed"."""

import datetime
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
import notifylib  # noqa: E402
from apilib import check  # noqa: E402

SPEED = 600
PERSONS, PER_PERSON = 20, 10
KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
SECRET = "replica-hook-secret"
START = datetime.datetime(2026, 5, 4, 7, 58, tzinfo=datetime.timezone.utc)


def times_of(i):
    """Person i's ten daily times, 08:05 to 09:44, ten minutes apart."""
    out = []
    for k in range(PER_PERSON):
        m = 8 * 60 + 5 + k * 10 + (i % 10)
        out.append(f"{m // 60:02d}:{m % 60:02d}")
    return out


def setup(h):
    """Persons, webhooks and schedules, made on a server that sends nothing."""
    s = apilib.Server("t095setup", env={"ALLOW_TEST_CLOCK": "true",
                                         "TEST_CLOCK_START": "2026-05-04T07:00:00Z",
                                         "NOTIFY_SECRET_KEY": KEY, "REMINDERS": "off"})
    for i in range(PERSONS):
        pid = apilib.person(s, f"P{i}")["id"]
        path = f"/p{pid}"
        h.control(secrets={path: SECRET})
        r = s.post(f"/api/v1/persons/{pid}/channels", {"type": "webhook", "url": h.url(path),
                                                       "secret": SECRET})
        if r.status != 201:
            raise RuntimeError(repr(r))
        apilib.medication(s, pid, f"M{i}", max_doses=10,
                          schedule={"times": times_of(i), "days": "daily"})
    s.stop()
    return s.url


def replica(tag, url, start):
    return apilib.Server(tag, migrate=False, env={
        "DATABASE_URL": url, "ALLOW_TEST_CLOCK": "true", "LOG_LEVEL": "info",
        "TEST_CLOCK_START": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "TEST_CLOCK_SPEED": str(SPEED),
        "NOTIFY_SECRET_KEY": KEY, "NOTIFY_TIMEOUT": "2"})


def delivered(h):
    slots = {}
    for r in h.records():
        try:
            doc = json.loads(r["body"])
        except ValueError:
            continue
        slots.setdefault(doc.get("slot_id"), []).append(r)
    return slots


def sent_lines(server):
    return server.log_text().count("reminders: sent delivery=")


def kill(server):
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    server.log.close()


def main():
    total = PERSONS * PER_PERSON
    h = notifylib.HttpReceiver("t095")
    url = setup(h)
    running, killed = [], None
    try:
        t0 = time.time()
        n = 1 if apilib.DIALECT == "sqlite" else 3
        for i in range(n):
            # Each replica's clock starts where the first one's is now, as
            # the clocks of real hosts agree.
            now = START + datetime.timedelta(seconds=(time.time() - t0) * SPEED)
            running.append(replica(f"t095r{i}", url, now))
        print(f"# {n} replica(s) on {apilib.DIALECT}, {total} slots")
        half = notifylib.wait_for(lambda: sum(len(v) for v in delivered(h).values()) >= 80, 60)
        check("the run got under way", half, f"{len(delivered(h))} delivered")
        victim = running[-1] if n > 1 else running[0]
        kill(victim)
        killed = victim
        before_kill = sent_lines(victim)
        print(f"# killed {victim.tag} after it sent {before_kill}")
        running.remove(victim)
        if apilib.DIALECT == "sqlite":
            # Down for a moment, then back, its clock where it would be.
            time.sleep(1.0)
            now = START + datetime.timedelta(seconds=(time.time() - t0) * SPEED)
            running.append(replica("t095restart", url, now))
        done = notifylib.wait_for(lambda: len(delivered(h)) >= total, 90)
        time.sleep(2)  # anything sent twice would arrive by now
        slots = delivered(h)
        records = sum(len(v) for v in slots.values())
        check(f"all {total} reminders reached the receiver (none lost)",
              done and len(slots) == total, f"{len(slots)} slots")
        dup = {k: len(v) for k, v in slots.items() if len(v) > 1}
        check("each exactly once (no slot twice at the receiver)",
              records == total and not dup, f"{records} records, duplicated: {dup}")
        check("every signature valid", all(r["hmac"] == "ok" for v in slots.values() for r in v))
        log = running[0].get("/api/v1/notifications?limit=1000").json()
        statuses = {}
        for d in log:
            statuses[d["status"]] = statuses.get(d["status"], 0) + 1
        check(f"the log shows {total} reminders, all sent", statuses == {"sent": total},
              repr(statuses))
        shares = [sent_lines(s) for s in running] + [before_kill]
        print(f"# sent per replica (the killed one last): {shares}")
        check("the killed process had sent some before it died", before_kill > 0)
        check("the others took over the rest", sum(shares[:-1]) > 0 and
              sum(shares) >= total, repr(shares))
        if apilib.DIALECT != "sqlite":
            check("the replicas shared the work", sum(1 for x in shares if x > 0) >= 2,
                  repr(shares))
    finally:
        for s in running:
            s.stop()
        h.stop()
    apilib.report()


if __name__ == "__main__":
    main()
