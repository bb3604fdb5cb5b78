#!/usr/bin/env python3
"""Dates at the ends of the calendar (issue 12, finding 8), on the dialect in
MT_TEST_DIALECT: every endpoint that takes a local day (doses of a day, the
daily summary, a medication and the medication list with doses_taken_today,
recording a dose for a date, the CSV and JSON exports, the PDF form) is
called with 0001-01-01 and 9999-12-31 and timezone offsets up to +-1439
minutes. None may answer 500, and each must return exactly the doses of the
local day, clamped to the instants a database can hold
(0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z). Doses are recorded
through the API at the very first instants of year 1. Python 3 stdlib only;
last line "N passed, N failed"."""

import csv
import datetime
import io
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
from apilib import check  # noqa: E402

D = "/api/v1/doses"
EPOCH_ORD = datetime.date(1970, 1, 1).toordinal()
MIN_S = (datetime.date(1, 1, 1).toordinal() - EPOCH_ORD) * 86400  # 0001-01-01T00:00:00Z
END_S = (datetime.date(9999, 12, 31).toordinal() + 1 - EPOCH_ORD) * 86400  # just past 9999
FIRST = datetime.date(1, 1, 1)
LAST = datetime.date(9999, 12, 31)
OFFSETS = (-1439, -600, -1, 0, 1, 600, 1439)


def iso_of(sec):
    """API text of an instant given in seconds since the epoch (any year 1-9999)."""
    days, sod = divmod(sec, 86400)
    d = datetime.date.fromordinal(days + EPOCH_ORD)
    return f"{d.isoformat()}T{sod // 3600:02d}:{sod // 60 % 60:02d}:{sod % 60:02d}Z"


def window(first, last, tz):
    """[start, end) of local days first..last in zone tz (JS sign), clamped."""
    start = (first.toordinal() - EPOCH_ORD) * 86400 + tz * 60
    end = (last.toordinal() + 1 - EPOCH_ORD) * 86400 + tz * 60
    return max(start, MIN_S), min(end, END_S)


def q(**params):
    return urllib.parse.urlencode(params)


def no_500(name, r):
    return check(f"{name}: not a server error", r.status < 500, repr(r))


def main():
    s = apilib.Server("calendar")
    try:
        pid = apilib.person(s, "Edge")["id"]
        med = apilib.medication(s, pid, "Edge pills", 20)["id"]
        doses = []  # (seconds since the epoch, API text) of every recorded dose

        # Recording at the first instants of year 1.
        for day, hhmm, tz, want in [(FIRST, "10:00", -600, MIN_S),
                                    (FIRST, "23:59", 0, MIN_S + 86340),
                                    (datetime.date(1, 1, 2), "00:00", 0, MIN_S + 86400),
                                    (FIRST, "00:30", 1439, MIN_S + 30 * 60 + 1439 * 60)]:
            r = s.post(f"{D}/medications/{med}/dose/{day.isoformat()}?"
                       + q(time=hhmm, timezone_offset=tz))
            ok = check(f"record {day} {hhmm} at offset {tz}: 201 at {iso_of(want)}",
                       r.status == 201 and (r.json() or {}).get("taken_at") == iso_of(want),
                       repr(r))
            if ok:
                doses.append((want, iso_of(want)))
        # Local midnight of 0001-01-01 east of UTC is in year 0: refused, not 500.
        for tz, hhmm in [(-1, "00:00"), (-600, "09:59"), (-1439, "00:00"), (-1439, "23:58")]:
            r = s.post(f"{D}/medications/{med}/dose/0001-01-01?" + q(time=hhmm, timezone_offset=tz))
            check(f"record 0001-01-01 {hhmm} at offset {tz} (year 0 in UTC): 400",
                  r.status == 400 and "0001-01-01T00:00:00Z" in r.text(), repr(r))
        r = s.post(f"{D}/medications/{med}/dose/0001-01-01?" + q(time="23:59", timezone_offset=-1439))
        check("record 0001-01-01 23:59 at offset -1439 (the first minute of year 1): 201",
              r.status == 201 and (r.json() or {}).get("taken_at") == iso_of(MIN_S), repr(r))
        if r.status == 201:
            doses.append((MIN_S, iso_of(MIN_S)))
        for tz in (-1439, 0, 1439):
            r = s.post(f"{D}/medications/{med}/dose/9999-12-31?" + q(time="23:59", timezone_offset=tz))
            check(f"record 9999-12-31 at offset {tz}: 400 future date",
                  r.status == 400 and r.json() == {"detail": "Cannot record doses for future dates"},
                  repr(r))
        r = s.post(f"{D}/medications/{med}/dose", {"timezone_offset": 0})
        check("record now: 201", r.status == 201, repr(r))
        if r.status == 201:
            text = r.json()["taken_at"]
            t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
            doses.append((int(t.timestamp()), text))
        doses.sort()

        for day in (FIRST, LAST):
            for tz in OFFSETS:
                start, end = window(day, day, tz)
                want = [text for t, text in doses if start <= t < end]
                tag = f"{day} at offset {tz}"
                ds = day.isoformat()

                r = s.get(f"{D}/medications/{med}/doses/{ds}?" + q(timezone_offset=tz))
                if no_500(f"doses of {tag}", r):
                    check(f"doses of {tag}: {len(want)} dose(s)",
                          r.status == 200 and [d["taken_at"] for d in r.json()] == want, repr(r))

                r = s.get(f"{D}/daily-summary/{ds}?" + q(timezone_offset=tz))
                if no_500(f"daily summary of {tag}", r):
                    body = r.json() or {}
                    times = [sorted(m["dose_times"]) for m in body.get("medications", [])
                             if m["medication_id"] == med]
                    check(f"daily summary of {tag}: date and times",
                          r.status == 200 and body.get("date") == ds and times == [want], repr(r))

                r = s.get(f"{D}/daily-summary/{ds}?" + q(timezone_offset=tz, person_id=pid))
                if no_500(f"person's daily summary of {tag}", r):
                    times = [sorted(m["dose_times"])
                             for m in (r.json() or {}).get("medications", [])
                             if m["medication_id"] == med]
                    check(f"person's daily summary of {tag}", r.status == 200 and times == [want],
                          repr(r))

                r = s.get(f"/api/v1/medications/{med}?" + q(date=ds, timezone_offset=tz))
                if no_500(f"medication on {tag}", r):
                    body = r.json() or {}
                    check(f"medication on {tag}: doses_taken_today {len(want)}",
                          r.status == 200 and body.get("doses_taken_today") == len(want) and
                          body.get("last_taken_at") == (want[-1] if want else None), repr(r))

                r = s.get("/api/v1/medications/?" + q(date=ds, timezone_offset=tz, person_id=pid))
                if no_500(f"medication list on {tag}", r):
                    counts = {m["id"]: m["doses_taken_today"] for m in r.json() or []}
                    check(f"medication list on {tag}", r.status == 200 and
                          counts.get(med) == len(want), repr(r))

                r = s.get("/api/v1/reports/doses.csv?"
                          + q(person_id=pid, timezone_offset=tz, **{"from": ds, "to": ds}))
                if no_500(f"CSV export of {tag}", r):
                    rows = list(csv.DictReader(io.StringIO(r.text())))
                    check(f"CSV export of {tag}: {len(want)} row(s)",
                          r.status == 200 and [row["taken_at_utc"] for row in rows] == want,
                          repr(r))

                r = s.get("/api/v1/reports/doses.json?"
                          + q(person_id=pid, timezone_offset=tz, **{"from": ds, "to": ds}))
                if no_500(f"JSON export of {tag}", r):
                    body = r.json() or {}
                    check(f"JSON export of {tag}",
                          r.status == 200 and [d["taken_at"] for d in body.get("doses", [])] == want
                          and body.get("from") == ds and body.get("to") == ds, repr(r))

                r = s.get(f"/api/v1/reports/medications/pdf/{ds}?"
                          + q(timezone_offset=tz, person_id=pid, days=7, prefill="true"))
                if no_500(f"PDF form from {tag}", r):
                    check(f"PDF form from {tag}: 200 PDF",
                          r.status == 200 and r.body.startswith(b"%PDF-"), repr(r)[:200])

        # The whole calendar in one export, at both extreme offsets.
        for tz in (-1439, 1439):
            start, end = window(FIRST, LAST, tz)
            want = [text for t, text in doses if start <= t < end]
            r = s.get("/api/v1/reports/doses.json?"
                      + q(person_id=pid, timezone_offset=tz,
                          **{"from": "0001-01-01", "to": "9999-12-31"}))
            if no_500(f"JSON export of all days at offset {tz}", r):
                got = [d["taken_at"] for d in (r.json() or {}).get("doses", [])]
                check(f"JSON export of all days at offset {tz}: {len(want)} doses",
                      r.status == 200 and got == want, repr(r))
        check("the edge doses were all recorded", len(doses) == 6, repr(doses))
    finally:
        s.stop()
    apilib.report()


main()
