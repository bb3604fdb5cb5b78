#!/usr/bin/env python3
"""TIMEZONE (issue 16) and the test clock: with TIMEZONE=America/New_York and
the server's "now" set by TEST_CLOCK_START, a dose recorded "now" carries the
test clock's time, "today" (what is a future date) is the zone's today, and
the day of the spring change has 23 hours: local 01:30 is EST, 03:30 EDT,
and the daily summary without timezone_offset holds exactly the doses of
that local day; the CSV export gives each dose the local time of its own
offset. In Europe/Berlin the autumn day has 25 hours. An explicit
timezone_offset still wins. At start-up the test clock is refused unless
ALLOW_TEST_CLOCK=true, and an unknown TIMEZONE is refused."""

import os
import subprocess

import apilib
from apilib import check

D = "/api/v1/doses"


def record(s, med, day, hhmm, extra=""):
    return s.post(f"{D}/medications/{med}/dose/{day}?time={hhmm}{extra}")


def summary_times(s, day, extra=""):
    r = s.get(f"{D}/daily-summary/{day}{extra}")
    out = []
    for m in (r.json() or {}).get("medications", []):
        out.extend(m["dose_times"])
    return sorted(out)


def new_york():
    s = apilib.Server("t090_ny", env={"TIMEZONE": "America/New_York", "ALLOW_TEST_CLOCK": "true",
                                      "TEST_CLOCK_START": "2026-03-08T16:00:00Z"})
    try:
        check("the start-up log warns about the test clock",
              "test clock: now is 2026-03-08T16:00:00Z" in s.log_text(), s.log_text()[-800:])
        p = apilib.person(s, "Zoe")["id"]
        med = apilib.medication(s, p, "Spring", 20)["id"]
        r = s.post(f"{D}/medications/{med}/dose")
        taken = (r.json() or {}).get("taken_at", "")
        check("a dose recorded now has the test clock's time",
              r.status == 201 and taken.startswith("2026-03-08T16:0"), repr(r))
        want = {"01:30": "2026-03-08T06:30:00Z", "03:30": "2026-03-08T07:30:00Z",
                "00:00": "2026-03-08T05:00:00Z", "23:59": "2026-03-09T03:59:00Z"}
        for hhmm, utc in want.items():
            r = record(s, med, "2026-03-08", hhmm)
            check(f"2026-03-08 {hhmm} New York is {utc}",
                  r.status == 201 and r.json()["taken_at"] == utc, repr(r))
        r = record(s, med, "2026-03-07", "23:59")
        check("2026-03-07 23:59 EST is 04:59Z", r.status == 201 and
              r.json()["taken_at"] == "2026-03-08T04:59:00Z", repr(r))
        r = record(s, med, "2026-03-09", "08:00")
        check("2026-03-09 is a future date in New York at the test clock's now",
              r.status == 400 and "future" in r.text(), repr(r))
        got = summary_times(s, "2026-03-08")
        check("the 23-hour day holds its doses, not the day before's",
              got == sorted(list(want.values()) + [taken]), repr(got))
        got = summary_times(s, "2026-03-07")
        check("the day before holds its 23:59", got == ["2026-03-08T04:59:00Z"], repr(got))
        got = summary_times(s, "2026-03-08", "?timezone_offset=0")
        check("timezone_offset=0 still wins (UTC day)",
              got == sorted(["2026-03-08T04:59:00Z", "2026-03-08T05:00:00Z",
                             "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z", taken]), repr(got))
        r = s.get(f"{D}/daily-summary")
        check("today (no date) is the zone's 2026-03-08",
              r.status == 200 and r.json().get("date") == "2026-03-08", r.text()[:300])
        r = s.get(f"/api/v1/reports/doses.csv?person_id={p}&from=2026-03-07&to=2026-03-08")
        lines = [ln.split(",")[:3] for ln in r.text().splitlines()[1:]]
        want_rows = [["2026-03-07", "23:59:00", "2026-03-08T04:59:00Z"],
                     ["2026-03-08", "00:00:00", "2026-03-08T05:00:00Z"],
                     ["2026-03-08", "01:30:00", "2026-03-08T06:30:00Z"],
                     ["2026-03-08", "03:30:00", "2026-03-08T07:30:00Z"]]
        check("the CSV export puts each dose at the offset of its own time (EST before the "
              "change, EDT after)", r.status == 200 and all(w in lines for w in want_rows),
              r.text()[:600])
    finally:
        s.stop()


def berlin():
    s = apilib.Server("t090_be", env={"TIMEZONE": "Europe/Berlin", "ALLOW_TEST_CLOCK": "true",
                                      "TEST_CLOCK_START": "2026-10-26T09:00:00Z",
                                      "TEST_CLOCK_SPEED": "60"})
    try:
        p = apilib.person(s, "Berta")["id"]
        med = apilib.medication(s, p, "Autumn", 20)["id"]
        want = {"00:00": "2026-10-24T22:00:00Z", "02:30": "2026-10-25T00:30:00Z",
                "03:30": "2026-10-25T02:30:00Z", "23:59": "2026-10-25T22:59:00Z"}
        for hhmm, utc in want.items():
            r = record(s, med, "2026-10-25", hhmm)
            check(f"2026-10-25 {hhmm} Berlin is {utc}",
                  r.status == 201 and r.json()["taken_at"] == utc, repr(r))
        record(s, med, "2026-10-26", "00:00")
        got = summary_times(s, "2026-10-25")
        check("the 25-hour day holds exactly its doses", got == sorted(want.values()), repr(got))
        r = s.post(f"{D}/medications/{med}/dose")
        taken = (r.json() or {}).get("taken_at", "")
        # At 60 times real time the clock has moved on, but by minutes only.
        check("now runs at TEST_CLOCK_SPEED", r.status == 201 and
              "2026-10-26T09:00:00Z" < taken < "2026-10-26T11:00:00Z", repr(r))
    finally:
        s.stop()


def refusals():
    base = {k: v for k, v in os.environ.items()
            if k not in ("TIMEZONE", "TZ", "ALLOW_TEST_CLOCK", "TEST_CLOCK_START",
                         "TEST_CLOCK_SPEED", "TIMEZONE_OFFSET")}
    base.update({"DATABASE_URL": apilib.fresh_db("t090_refuse"), "AUTO_MIGRATE": "false",
                 "PORT": str(apilib.free_port()), "AUTH": "off"})
    cases = [({"TEST_CLOCK_START": "2026-03-08T06:00:00Z"},
              "TEST_CLOCK_START is set but ALLOW_TEST_CLOCK is not true"),
             ({"TEST_CLOCK_SPEED": "3600"},
              "TEST_CLOCK_SPEED is set but ALLOW_TEST_CLOCK is not true"),
             ({"TIMEZONE": "Mars/Olympus_Mons"}, "unknown time zone \"Mars/Olympus_Mons\""),
             ({"TIMEZONE": "../../etc/passwd"}, "unknown time zone"),
             ({"TIMEZONE": "Europe/Berlin", "TIMEZONE_OFFSET": "-60"},
              "TIMEZONE and TIMEZONE_OFFSET are both set")]
    for env, msg in cases:
        e = dict(base)
        e.update(env)
        r = subprocess.run([apilib.MEDITRACK, "serve"], env=e, capture_output=True, text=True,
                           timeout=60, cwd=apilib.TMP)
        check(f"serve refuses {env}", r.returncode != 0 and msg in r.stderr,
              f"rc={r.returncode} {r.stderr[-400:]}")


new_york()
berlin()
refusals()
apilib.report()
