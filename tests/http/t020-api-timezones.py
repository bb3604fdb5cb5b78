#!/usr/bin/env python3
"""Decision 3 at the day boundaries: for timezone offsets 300 (UTC-5), -330
(UTC+5:30), -600 (UTC+10) and 0, doses recorded at local 00:00 and 23:59 land
in the right local day for the daily summary, the medication list, the doses
of a day and the daily maximum; local "today" decides what is a future date;
TIMEZONE_OFFSET is the fallback when a request gives no offset; every
instant comes back in UTC with a Z."""

import datetime

import apilib
from apilib import check, expect

D = "/api/v1/doses"
OFFSETS = (300, -330, -600, 0)


def utc_of(day, hh, mm, offset):
    """The UTC text of local wall time day hh:mm in the zone offset (JS sign)."""
    local = datetime.datetime.combine(day, datetime.time(hh, mm))
    return (local + datetime.timedelta(minutes=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary_times(s, day, offset, med):
    r = s.get(f"{D}/daily-summary/{day.isoformat()}?timezone_offset={offset}")
    for m in (r.json() or {}).get("medications", []):
        if m["medication_id"] == med:
            return m["dose_times"]
    return None


def boundaries(s, offset):
    tag = f"offset {offset}"
    med = apilib.medication(s, 1, f"Boundary {offset}", 10)["id"]
    day = apilib.local_today(offset) - datetime.timedelta(days=5)
    prev = day - datetime.timedelta(days=1)
    nxt = day + datetime.timedelta(days=1)
    cases = [(prev, 23, 59), (day, 0, 0), (day, 23, 59), (nxt, 0, 0)]
    for d, hh, mm in cases:
        r = s.post(f"{D}/medications/{med}/dose/{d.isoformat()}?time={hh:02d}:{mm:02d}"
                   f"&timezone_offset={offset}")
        check(f"{tag}: record {d} {hh:02d}:{mm:02d}", r.status == 201 and
              r.json()["taken_at"] == utc_of(d, hh, mm, offset), repr(r))
    want = [utc_of(day, 0, 0, offset), utc_of(day, 23, 59, offset)]
    check(f"{tag}: summary of the day holds local 00:00 and 23:59 only",
          summary_times(s, day, offset, med) == want, repr(summary_times(s, day, offset, med)))
    check(f"{tag}: the previous day holds its 23:59",
          summary_times(s, prev, offset, med) == [utc_of(prev, 23, 59, offset)])
    check(f"{tag}: the next day starts at its 00:00 (half-open interval)",
          summary_times(s, nxt, offset, med) == [utc_of(nxt, 0, 0, offset)])
    r = s.get(f"/api/v1/medications/{med}?date={day.isoformat()}&timezone_offset={offset}")
    got = r.json() or {}
    check(f"{tag}: medication counts 2 that day, last at 23:59",
          got.get("doses_taken_today") == 2 and got.get("last_taken_at") == want[1], r.text())
    r = s.get(f"/api/v1/medications/?date={day.isoformat()}&timezone_offset={offset}"
              f"&person_id=1")
    counts = {m["id"]: m["doses_taken_today"] for m in r.json() or []}
    check(f"{tag}: medication list agrees", counts.get(med) == 2, repr(counts))
    r = s.get(f"{D}/medications/{med}/doses/{day.isoformat()}?timezone_offset={offset}")
    check(f"{tag}: doses of the day, oldest first",
          r.status == 200 and [x["taken_at"] for x in r.json()] == want, repr(r))

    # The daily maximum counts the local day.
    cap = apilib.medication(s, 1, f"Cap {offset}", 2)["id"]
    for hh, mm in ((0, 0), (23, 59)):
        r = s.post(f"{D}/medications/{cap}/dose/{day.isoformat()}?time={hh:02d}:{mm:02d}"
                   f"&timezone_offset={offset}")
        check(f"{tag}: cap dose {hh:02d}:{mm:02d}", r.status == 201, repr(r))
    expect(f"{tag}: a third dose that local day is refused",
           s.post(f"{D}/medications/{cap}/dose/{day.isoformat()}?time=12:00"
                  f"&timezone_offset={offset}"), 400,
           {"detail": f"Maximum doses (2) taken for {day.isoformat()}"})
    r = s.post(f"{D}/medications/{cap}/dose/{nxt.isoformat()}?time=00:00"
               f"&timezone_offset={offset}")
    check(f"{tag}: next local day 00:00 is a new day", r.status == 201, repr(r))

    # Local today is not a future date; local tomorrow is.
    today = apilib.local_today(offset)
    now_med = apilib.medication(s, 1, f"Today {offset}", 5)["id"]
    r = s.post(f"{D}/medications/{now_med}/dose/{today.isoformat()}?time=00:00"
               f"&timezone_offset={offset}")
    check(f"{tag}: local today is accepted", r.status == 201, repr(r))
    tomorrow = today + datetime.timedelta(days=1)
    expect(f"{tag}: local tomorrow is a future date",
           s.post(f"{D}/medications/{now_med}/dose/{tomorrow.isoformat()}?time=00:00"
                  f"&timezone_offset={offset}"), 400,
           {"detail": "Cannot record doses for future dates"})
    r = s.post(f"{D}/medications/{now_med}/dose", {"timezone_offset": offset})
    check(f"{tag}: dose now", r.status == 201, repr(r))
    now_ts = (r.json() or {}).get("taken_at")
    r = s.get(f"{D}/daily-summary?timezone_offset={offset}")
    summ = r.json() or {}
    entry = [m for m in summ.get("medications", []) if m["medication_id"] == now_med]
    check(f"{tag}: today's summary is dated local today", summ.get("date") == today.isoformat()
          or summ.get("date") == apilib.local_today(offset).isoformat(), r.text()[:200])
    check(f"{tag}: today's summary holds the dose taken now",
          entry and now_ts in entry[0]["dose_times"], repr(entry))


def fallback():
    """TIMEZONE_OFFSET applies when a request has no timezone_offset."""
    s = apilib.Server("t020_tz_env", env={"TIMEZONE_OFFSET": "-330"})
    try:
        apilib.person(s, "Env")
        med = apilib.medication(s, 1, "EnvMed", 5)["id"]
        day = apilib.local_today(-330) - datetime.timedelta(days=3)
        r = s.post(f"{D}/medications/{med}/dose/{day.isoformat()}?time=00:10")
        check("TIMEZONE_OFFSET=-330: a local time is read in that zone",
              r.status == 201 and r.json()["taken_at"] == utc_of(day, 0, 10, -330), repr(r))
        check("TIMEZONE_OFFSET=-330: summary without offset uses it",
              summary_times(s, day, -330, med) == [utc_of(day, 0, 10, -330)])
        r = s.get(f"{D}/daily-summary/{day.isoformat()}")
        entry = [m for m in (r.json() or {}).get("medications", []) if m["medication_id"] == med]
        check("TIMEZONE_OFFSET=-330: the dose is in its local day without a parameter",
              entry and entry[0]["dose_times"] == [utc_of(day, 0, 10, -330)], r.text())
        r = s.get(f"{D}/daily-summary/{day.isoformat()}?timezone_offset=0")
        entry = [m for m in (r.json() or {}).get("medications", []) if m["medication_id"] == med]
        check("an explicit offset 0 overrides TIMEZONE_OFFSET (the dose is the UTC day before)",
              entry and entry[0]["dose_times"] == [], r.text())
        r = s.get("/api/v1/doses/daily-summary")
        check("today's summary is local today at UTC+5:30",
              (r.json() or {}).get("date") == apilib.local_today(-330).isoformat(), r.text())
    finally:
        s.stop()


def main():
    s = apilib.Server("t020_tz")
    try:
        apilib.person(s, "Zoe")
        for off in OFFSETS:
            boundaries(s, off)
    finally:
        s.stop()
    fallback()
    apilib.report()


if __name__ == "__main__":
    main()
