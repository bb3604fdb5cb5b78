#!/usr/bin/env python3
"""Schedules, due slots, adherence and the calendar feed (issue 16,
docs/schedules.md) over real HTTP on the dialect in MT_TEST_DIALECT, with
the test clock at 2026-11-03T13:30Z and the server's zone UTC:

- persons in America/New_York and Europe/Berlin (their own `timezone`) with
  schedules; the due view of both changes of daylight saving time in each
  zone (days of 23 and 25 hours, a skipped local time at its mapped instant,
  a repeated one once);
- every status at its boundaries: a dose exactly SLOT_WINDOW before and
  after the slot is on time, one minute more is late (or nothing, before
  the slot), a dose just before the late end is late and one at the late end
  satisfies nothing, a skip row, a slot of today still pending;
- adherence counts, percentages and streaks over a range with a late and a
  missed day, a pending today and a day before the schedule's start;
- the new fields only with X-MediTrack-Fields: extended; 422 for a bad zone
  or schedule and for a bad adherence range;
- the iCalendar feed: CRLF, no line over 75 octets, folding inside a long
  name without splitting a UTF-8 character, one VALARM per VEVENT; a bad
  token, another person's token, a replaced one and a revoked one are 404;
- with AUTH=on: a viewer reads due slots but cannot change a schedule or
  make a calendar token, a carer can for the person granted, and a person
  not granted is 404."""

import json
import os
import shutil
import subprocess

import apilib
import authlib
from apilib import check, expect

D = "/api/v1/doses"
X = {"X-MediTrack-Fields": "extended"}
NOW = "2026-11-03T13:30:00Z"
HOUR = 3600


def hours_between(a, b):
    import datetime
    fa = datetime.datetime.fromisoformat(a.replace("Z", "+00:00"))
    fb = datetime.datetime.fromisoformat(b.replace("Z", "+00:00"))
    return (fb - fa).total_seconds() / HOUR


def record(s, med, day, hhmm):
    r = s.post(f"{D}/medications/{med}/dose/{day}?time={hhmm}")
    if r.status != 201:
        raise RuntimeError(f"recording {day} {hhmm}: {r!r}")
    return r.json()


def skip(s, med, at):
    r = s.post(f"{D}/medications/{med}/skip", {"reason": "felt sick", "taken_at": at})
    if r.status != 201:
        raise RuntimeError(f"skipping {at}: {r!r}")
    return r.json()


def due(s, person, day):
    r = s.get(f"/api/v1/persons/{person}/due/{day}")
    if r.status != 200:
        raise RuntimeError(f"due {day}: {r!r}")
    return r.json()


def slots_of(body, med):
    return [sl for sl in body["slots"] if sl["medication_id"] == med]


def statuses(body, med):
    return [(sl["local_time"], sl["status"]) for sl in slots_of(body, med)]


def med(s, person, name, schedule, **extra):
    return apilib.medication(s, person, name, 20, schedule=schedule, **extra)["id"]


def fields_and_refusals(s, ny, be):
    r = s.get(f"/api/v1/persons/{ny}")
    check("without the header a person keeps the reference's keys",
          apilib.keys_of(r.json()) == apilib.PERSON_STATS_KEYS, r.text()[:300])
    r = s.get(f"/api/v1/persons/{ny}", headers=X)
    check("with the header a person shows its timezone",
          r.json().get("timezone") == "America/New_York", r.text()[:300])
    r = s.put(f"/api/v1/persons/{be}", {"timezone": "Mars/Olympus_Mons"})
    check("an unknown zone is a 422 naming the field",
          r.status == 422 and r.json()["detail"][0]["loc"] == ["body", "timezone"], repr(r))
    r = s.put(f"/api/v1/persons/{be}", {"timezone": "../../etc/passwd"})
    check("a path as a zone is a 422", r.status == 422, repr(r))
    r = s.post("/api/v1/persons/", {"first_name": "Nobody", "timezone": "Europe/Atlantis"})
    check("creating a person with an unknown zone is a 422", r.status == 422, repr(r))
    p = apilib.person(s, "Noel")["id"]
    m = apilib.medication(s, p, "Plain", 3)
    check("without the header a medication keeps the reference's keys",
          apilib.keys_of(m) == apilib.MED_KEYS, repr(m))
    r = s.get(f"/api/v1/medications/{m['id']}", headers=X)
    check("as needed: schedule null", r.status == 200 and r.json().get("schedule") is None,
          r.text()[:400])
    for bad, where in (({"times": ["24:00"]}, "times[0]"), ({"times": []}, "at least one"),
                       ({"times": ["08:00"], "days": ["mon", "funday"]}, "days[1]"),
                       ({"times": ["08:00"], "days": {"every_n_days": 2}}, "start_date"),
                       ({"times": ["08:00", "08:00"]}, "twice"), ("daily", "expected an object")):
        r = s.put(f"/api/v1/medications/{m['id']}", {"schedule": bad})
        body = r.json() or {}
        det = (body.get("detail") or [{}])[0] if isinstance(body.get("detail"), list) else {}
        check(f"schedule {json.dumps(bad)} is a 422 ({where})",
              r.status == 422 and det.get("loc") == ["body", "schedule"] and
              where in det.get("msg", ""), repr(r))
    sched = {"times": ["20:00", "08:00"], "days": ["fri", "mon"], "start_date": "2026-11-02",
             "end_date": None}
    r = s.put(f"/api/v1/medications/{m['id']}", {"schedule": sched}, headers=X)
    check("a schedule is stored and shown canonically",
          r.status == 200 and r.json().get("schedule") ==
          {"times": ["08:00", "20:00"], "days": ["mon", "fri"], "start_date": "2026-11-02",
           "end_date": None}, r.text()[:500])
    check("changing the schedule changes updated_at",
          r.json().get("updated_at") is not None and
          r.json().get("updated_at") != m.get("updated_at"), r.text()[:300])
    r = s.put(f"/api/v1/medications/{m['id']}", {"schedule": None}, headers=X)
    check("schedule null makes it as needed again",
          r.status == 200 and r.json().get("schedule") is None, r.text()[:300])
    r = s.get(f"/api/v1/persons/{p}/adherence?from=2026-11-03&to=2026-11-01")
    check("adherence with to before from is a 422", r.status == 422, repr(r))
    r = s.get(f"/api/v1/persons/{p}/adherence?from=2025-01-01&to=2026-01-02")
    check("adherence over more than 366 days is a 422", r.status == 422, repr(r))
    r = s.get(f"/api/v1/persons/{p}/adherence?from=2026-11-01")
    check("adherence without to is a 422", r.status == 422, repr(r))
    r = s.get("/api/v1/persons/999999/due/2026-11-03")
    check("due of a person that does not exist is a 404", r.status == 404, repr(r))
    r = s.get(f"/api/v1/persons/{p}/due/2026-02-30")
    check("due of an impossible date is a 422", r.status == 422, repr(r))


def new_york(s, ny):
    """The DST days of New York and every status at its boundaries."""
    # Created "now" (November), in force since January: the days of March
    # and November are scheduled days.
    a = med(s, ny, "Around the clock", {"times": ["01:30", "02:30", "08:00", "20:00"],
                                        "start_date": "2026-01-01"})
    body = due(s, ny, "2026-03-08")
    check("spring day in New York: 23 hours",
          hours_between(body["day_start"], body["day_end"]) == 23, repr(body)[:300])
    check("the due view names the person's zone", body["timezone"] == "America/New_York")
    got = [(sl["local_time"], sl["slot_at"]) for sl in slots_of(body, a)]
    check("spring: 02:30 does not exist and fires at 03:30 EDT; order by instant",
          got == [("01:30", "2026-03-08T06:30:00Z"), ("02:30", "2026-03-08T07:30:00Z"),
                  ("08:00", "2026-03-08T12:00:00Z"), ("20:00", "2026-03-09T00:00:00Z")],
          repr(got))
    check("spring: all missed, nothing taken",
          [st for _, st in statuses(body, a)] == ["missed"] * 4, repr(statuses(body, a)))
    body = due(s, ny, "2026-11-01")
    check("autumn day in New York: 25 hours",
          hours_between(body["day_start"], body["day_end"]) == 25, repr(body)[:300])
    got = [(sl["local_time"], sl["slot_at"]) for sl in slots_of(body, a)]
    check("autumn: 01:30 exists twice and fires once, at 01:30 EDT",
          got == [("01:30", "2026-11-01T05:30:00Z"), ("02:30", "2026-11-01T07:30:00Z"),
                  ("08:00", "2026-11-01T13:00:00Z"), ("20:00", "2026-11-02T01:00:00Z")],
          repr(got))

    # Boundaries: slots 08:00 and 20:00 local; window 60, late max 240.
    b = med(s, ny, "Edges", {"times": ["08:00", "20:00"], "start_date": "2026-10-04",
                             "end_date": "2026-10-07"})
    on_late = record(s, b, "2026-10-04", "09:00")   # exactly +60: on time
    late = record(s, b, "2026-10-04", "21:01")      # +61: late
    record(s, b, "2026-10-05", "00:00")             # the late end of 10-04 20:00: nothing
    early = record(s, b, "2026-10-05", "06:59")     # -61: nothing
    record(s, b, "2026-10-05", "13:00")             # 08:00's late end (12:00) has passed
    skipped = skip(s, b, "2026-10-06T00:00:00Z")    # 20:00 EDT of 10-05
    on_early = record(s, b, "2026-10-06", "07:00")  # exactly -60: on time
    late_end = record(s, b, "2026-10-06", "23:59")  # just before 20:00's late end
    body = due(s, ny, "2026-10-04")
    check("10-04: on time at +60, late at +61",
          statuses(body, b) == [("08:00", "taken"), ("20:00", "late")], repr(body))
    sl = slots_of(body, b)
    check("the satisfying doses are named", sl[0]["dose_id"] == on_late["id"] and
          sl[0]["taken_at"] == on_late["taken_at"] and sl[1]["dose_id"] == late["id"], repr(sl))
    check("a late window ends at the next slot or 4 hours after",
          sl[0]["late_until"] == "2026-10-04T16:00:00Z" and
          sl[1]["late_until"] == "2026-10-05T04:00:00Z", repr(sl))
    body = due(s, ny, "2026-10-05")
    check("10-05: a dose at the late end, one 61 minutes early and one after the late end "
          "satisfy nothing; a skip row is skipped",
          statuses(body, b) == [("08:00", "missed"), ("20:00", "skipped")], repr(body))
    check("the skip row is named", slots_of(body, b)[1]["dose_id"] == skipped["id"], repr(body))
    check("the early dose stays unmatched", early["id"] not in
          [x["dose_id"] for x in slots_of(body, b)], repr(body))
    body = due(s, ny, "2026-10-06")
    check("10-06: on time at -60, late just before the late end",
          statuses(body, b) == [("08:00", "taken"), ("20:00", "late")] and
          slots_of(body, b)[0]["dose_id"] == on_early["id"] and
          slots_of(body, b)[1]["dose_id"] == late_end["id"], repr(body))
    body = due(s, ny, "2026-10-08")
    check("after end_date: no slots", slots_of(body, b) == [], repr(body))
    body = due(s, ny, "2026-10-03")
    check("before start_date: no slots", slots_of(body, b) == [], repr(body))

    # Today (2026-11-03, 08:30 EST now): 08:00 waits until 12:00, 20:00 later.
    c = med(s, ny, "Today", {"times": ["06:00", "08:00", "20:00"], "start_date": "2026-11-03"})
    body = due(s, ny, "2026-11-03")
    check("today at 08:30: 06:00 missed (its late window ended at 08:00), 08:00 and 20:00 "
          "pending",
          statuses(body, c) == [("06:00", "missed"), ("08:00", "pending"),
                                ("20:00", "pending")], repr(body))
    now = s.post(f"{D}/medications/{c}/dose").json()
    body = due(s, ny, "2026-11-03")
    check("a dose now takes 08:00 on time",
          statuses(body, c) == [("06:00", "missed"), ("08:00", "taken"), ("20:00", "pending")]
          and slots_of(body, c)[1]["dose_id"] == now["id"], repr(body))
    return a, b, c


def berlin(s, be):
    m = med(s, be, "Berlin", {"times": ["00:00", "02:30", "08:00", "20:00"],
                              "start_date": "2026-01-01"})
    body = due(s, be, "2026-03-29")
    check("spring day in Berlin: 23 hours",
          hours_between(body["day_start"], body["day_end"]) == 23, repr(body)[:300])
    got = [(sl["local_time"], sl["slot_at"]) for sl in slots_of(body, m)]
    check("Berlin spring: 02:30 fires at 03:30 CEST",
          got == [("00:00", "2026-03-28T23:00:00Z"), ("02:30", "2026-03-29T01:30:00Z"),
                  ("08:00", "2026-03-29T06:00:00Z"), ("20:00", "2026-03-29T18:00:00Z")],
          repr(got))
    record(s, m, "2026-10-25", "02:30")   # the first 02:30 (CEST, 00:30Z)
    record(s, m, "2026-10-25", "09:30")   # 90 minutes after 08:00: late
    skip(s, m, "2026-10-24T22:00:00Z")    # 00:00
    body = due(s, be, "2026-10-25")
    check("autumn day in Berlin: 25 hours",
          hours_between(body["day_start"], body["day_end"]) == 25, repr(body)[:300])
    got = [(sl["local_time"], sl["slot_at"], sl["status"]) for sl in slots_of(body, m)]
    check("Berlin autumn: 02:30 once (CEST); skipped, taken, late, missed",
          got == [("00:00", "2026-10-24T22:00:00Z", "skipped"),
                  ("02:30", "2026-10-25T00:30:00Z", "taken"),
                  ("08:00", "2026-10-25T07:00:00Z", "late"),
                  ("20:00", "2026-10-25T19:00:00Z", "missed")], repr(got))
    r = s.get(f"{D}/daily-summary/2026-10-25?person_id={be}")
    times = [t for e in r.json()["medications"] for t in e["dose_times"]]
    check("the person's daily summary uses the person's zone (25-hour day)",
          sorted(times) == ["2026-10-25T00:30:00Z", "2026-10-25T08:30:00Z"], repr(times))
    return m


def adherence(s, ny):
    p = apilib.person(s, "Streaky", timezone="America/New_York")["id"]
    m = med(s, p, "Daily", {"times": ["08:00"], "start_date": "2026-10-25"})
    for day in ("2026-10-25", "2026-10-26", "2026-10-29", "2026-10-30", "2026-10-31",
                "2026-11-01", "2026-11-02"):
        record(s, m, day, "08:05")
    record(s, m, "2026-10-27", "10:00")  # late
    # 2026-10-28: nothing (missed); 2026-11-03: today, pending until 12:00.
    r = s.get(f"/api/v1/persons/{p}/adherence?from=2026-10-24&to=2026-11-03")
    a = r.json()
    check("adherence: 200", r.status == 200, repr(r))
    want = {"slots": 10, "taken": 7, "late": 1, "missed": 1, "skipped": 0, "pending": 1,
            "due": 9, "taken_pct": 77.8, "late_pct": 11.1, "missed_pct": 11.1,
            "skipped_pct": 0.0, "adherence_pct": 88.9, "current_streak": 5,
            "longest_streak": 5}
    got = {k: a["totals"].get(k) for k in want}
    check("adherence totals: counts, percentages of due slots, streaks", got == want, repr(got))
    permed = a["medications"][0]
    check("adherence per medication", permed["medication_id"] == m and
          {k: permed.get(k) for k in want} == want, repr(permed))
    days = {d["date"]: d for d in a["days"]}
    check("the per-day series: 11 days, none before the start, the late and missed days",
          len(a["days"]) == 11 and days["2026-10-24"]["slots"] == 0 and
          days["2026-10-27"]["late"] == 1 and days["2026-10-28"]["missed"] == 1 and
          days["2026-11-03"]["pending"] == 1, repr(a["days"])[:600])
    r = s.get(f"/api/v1/persons/{p}/adherence?from=2026-10-25&to=2026-10-27")
    got = r.json()["totals"]
    check("a range of complete days: streak 3, adherence 100%",
          got["current_streak"] == 3 and got["longest_streak"] == 3 and
          got["adherence_pct"] == 100.0 and got["late"] == 1, repr(got))
    r = s.get(f"/api/v1/persons/{p}/adherence?from=2026-12-01&to=2026-12-02")
    got = r.json()["totals"]
    check("a range in the future: all pending, percentages null",
          got["pending"] == 2 and got["due"] == 0 and got["adherence_pct"] is None, repr(got))
    # The exports: unchanged by default; with adherence=true the slot of each
    # dose, and in JSON the range's adherence.
    q = f"person_id={p}&from=2026-10-24&to=2026-11-03"
    plain = s.get(f"/api/v1/reports/doses.csv?{q}")
    head = plain.body.split(b"\r\n")[0]
    check("the CSV export keeps its columns by default", plain.status == 200 and
          head.endswith(b",recorded_by") and b"slot" not in plain.body, repr(plain)[:300])
    r = s.get(f"/api/v1/reports/doses.json?{q}")
    check("the JSON export keeps its members by default", r.status == 200 and
          "adherence" not in r.json() and "slot_status" not in r.json()["doses"][0], repr(r))
    r = s.get(f"/api/v1/reports/doses.csv?{q}&adherence=true")
    lines = r.body.decode("utf-8").split("\r\n")
    check("adherence=true: two more CSV columns",
          lines[0].endswith(",recorded_by,slot_at_utc,slot_status"), lines[0])
    late_row = [ln for ln in lines if ln.startswith("2026-10-27,")]
    check("the late dose's row names its slot and status",
          late_row and late_row[0].endswith(",2026-10-27T12:00:00Z,late"), repr(late_row))
    r = s.get(f"/api/v1/reports/doses.json?{q}&adherence=true")
    doc = r.json()
    check("adherence=true: the JSON export carries the range's adherence",
          r.status == 200 and doc.get("adherence", {}).get("totals") == a["totals"] and
          doc["adherence"]["timezone"] == "America/New_York", repr(doc.get("adherence"))[:400])
    rows = {d["date"]: d for d in doc["doses"]}
    check("and each dose's slot", rows["2026-10-25"]["slot_status"] == "taken" and
          rows["2026-10-25"]["slot_at"] == "2026-10-25T12:00:00Z", repr(rows.get("2026-10-25")))
    r = s.get(f"/api/v1/reports/doses.json?person_id={p}&from=2025-01-01&to=2026-11-03"
              "&adherence=true")
    check("adherence over more than 366 days: 422", r.status == 422, repr(r))
    pdf(s, p)
    r = s.get(f"/api/v1/persons/{ny}/adherence?from=2026-10-04&to=2026-10-06")
    edges = [x for x in r.json()["medications"] if x["medication_name"] == "Edges"][0]
    check("adherence of the boundary days: 2 on time, 2 late, 1 missed, 1 skipped",
          (edges["taken"], edges["late"], edges["missed"], edges["skipped"]) == (2, 2, 1, 1)
          and edges["longest_streak"] == 1 and edges["current_streak"] == 1, repr(edges))


def pdf(s, person):
    """The printable form names the schedule and the adherence of the 30
    days before its first day."""
    r = s.get(f"/api/v1/reports/medications/pdf/2026-11-03?person_id={person}")
    check("the form: 200 application/pdf", r.status == 200 and
          r.headers.get("content-type") == "application/pdf", repr(r)[:200])
    # poppler-utils comes with scripts/setup.sh: without pdftotext the form's
    # text goes unchecked, which is a failure, not a pass.
    if not shutil.which("pdftotext"):
        check("pdftotext is installed (poppler-utils, scripts/setup.sh)", False)
        return
    if r.status != 200:
        return
    path = os.path.join(apilib.TMP, f"t093-{apilib.DIALECT}.pdf")
    with open(path, "wb") as f:
        f.write(r.body)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", path, "-"], capture_output=True,
                         text=True).stdout
    flat = " ".join(out.split())
    check("the form shows the schedule", "Scheduled 08:00 daily from 2026-10-25" in flat,
          flat[:600])
    check("and the adherence before the form's first day",
          "2026-10-04 to 2026-11-02: 89% taken (7 on time, 1 late, 1 missed, 0 skipped)" in flat,
          flat[:800])


def unfold(text):
    return text.replace("\r\n ", "")


def calendar(s, ny, be):
    long_name = "Médicament " + "très long é" * 12
    med(s, ny, long_name, {"times": ["09:15"]}, dosage="2 comprimés; après repas, avec eau")
    r = s.post(f"/api/v1/persons/{ny}/calendar-token")
    tok = r.json() if r.status == 201 else {}
    check("a calendar token is created once, with its URL",
          r.status == 201 and tok.get("token", "").startswith("mtc_") and
          tok.get("url", "").endswith(tok.get("path", "x")) and
          tok.get("path") == f"/api/v1/persons/{ny}/calendar.ics?token={tok.get('token')}",
          repr(r))
    r = s.get(tok["path"])
    raw = r.body
    check("the feed: 200 text/calendar",
          r.status == 200 and r.headers.get("content-type", "").startswith("text/calendar"),
          repr(r))
    check("every line ends with CRLF", b"\n" not in raw.replace(b"\r\n", b"") and
          raw.endswith(b"END:VCALENDAR\r\n"), repr(raw[:200]))
    lines = raw.split(b"\r\n")
    check("no line longer than 75 octets", all(len(line) <= 75 for line in lines),
          repr([line for line in lines if len(line) > 75][:2]))
    check("long lines are folded", any(line.startswith(b" ") for line in lines))
    try:
        for line in lines:
            line.decode("utf-8")
        whole = True
    except UnicodeDecodeError:
        whole = False
    check("folding never splits a UTF-8 character", whole)
    text = unfold(raw.decode("utf-8"))
    summary = "SUMMARY:" + long_name + " (2 comprimés\\; après repas\\, avec eau)"
    check("the folded summary reads back whole, escaped", summary in text.split("\r\n"),
          text[:600])
    events = text.count("BEGIN:VEVENT")
    check("one VALARM per VEVENT", events > 0 and text.count("BEGIN:VALARM") == events and
          text.count("END:VEVENT") == events, f"{events}")
    # The feed covers 7 days back, today and 30 ahead; the long-named
    # medication, created today without start_date, has only today's and
    # the next 30 days' 09:15 slots: nothing before it existed.
    starts = [ln for ln in text.split("\r\n") if ln.startswith("DTSTART:")]
    check("the long-named medication has 31 events (none before it was created)",
          text.count("SUMMARY:" + long_name) == 31, str(text.count("SUMMARY:" + long_name)))
    before = due(s, ny, "2026-11-02")
    check("without start_date: no slot on the day before the medication was created",
          all(x["medication_name"] != long_name for x in before["slots"]), repr(before["slots"]))
    check("events are in UTC", all(ln.endswith("Z") and len(ln) == len("DTSTART:20261103T143000Z")
                                   for ln in starts), repr(starts[:3]))
    check("09:15 New York on 2026-11-03 is 14:15Z",
          "DTSTART:20261103T141500Z" in starts, repr(starts[:5]))
    bad = s.get(f"/api/v1/persons/{ny}/calendar.ics?token=mtc_" + "A" * 43)
    check("a bad token: 404", bad.status == 404, repr(bad))
    none = s.get(f"/api/v1/persons/{ny}/calendar.ics")
    check("no token: 404", none.status == 404, repr(none))
    other = s.get(f"/api/v1/persons/{be}/calendar.ics?token={tok['token']}")
    check("another person's path with this token: 404", other.status == 404, repr(other))
    r = s.post(f"/api/v1/persons/{ny}/calendar-token")
    new = r.json()
    check("a new token replaces the old", r.status == 201 and
          s.get(tok["path"]).status == 404 and s.get(new["path"]).status == 200, repr(r))
    r = s.delete(f"/api/v1/persons/{ny}/calendar-token")
    check("revoking: 204", r.status == 204, repr(r))
    check("a revoked token: 404", s.get(new["path"]).status == 404)
    r = s.delete(f"/api/v1/persons/{ny}/calendar-token")
    check("revoking again: 404", r.status == 404, repr(r))


def open_api():
    env = {"TIMEZONE": "UTC", "ALLOW_TEST_CLOCK": "true", "TEST_CLOCK_START": NOW}
    s = apilib.Server("t093", env=env)
    try:
        ny = apilib.person(s, "Nora", timezone="America/New_York")["id"]
        be = apilib.person(s, "Bernd", timezone="Europe/Berlin")["id"]
        fields_and_refusals(s, ny, be)
        new_york(s, ny)
        berlin(s, be)
        adherence(s, ny)
        calendar(s, ny, be)
    finally:
        s.stop()


def permissions():
    env = authlib.auth_env(TIMEZONE="UTC", ALLOW_TEST_CLOCK="true", TEST_CLOCK_START=NOW)
    s = apilib.Server("t093_auth", env=env)
    try:
        admin, _ = authlib.first_admin(s)
        pa = admin.post("/api/v1/persons/", {"first_name": "Anna",
                                             "timezone": "Europe/Berlin"}).json()["id"]
        pb = admin.post("/api/v1/persons/", {"first_name": "Bert"}).json()["id"]
        body = {"name": "M", "dosage": "1", "frequency": "daily", "max_doses_per_day": 4,
                "schedule": {"times": ["08:00"]}}
        ma = admin.post("/api/v1/medications/", dict(body, person_id=pa)).json()["id"]
        mb = admin.post("/api/v1/medications/", dict(body, person_id=pb)).json()["id"]
        authlib.make_account(admin, "carer", "carer", persons=[pa])
        authlib.make_account(admin, "viewer", "viewer", persons=[pa])
        carer, _ = authlib.login(s, "carer", "a long password 1")
        viewer, _ = authlib.login(s, "viewer", "a long password 1")
        new = {"schedule": {"times": ["09:00"]}}
        r = viewer.put(f"/api/v1/medications/{ma}", new)
        expect("a viewer cannot change a schedule", r, 403)
        r = carer.put(f"/api/v1/medications/{ma}", new, headers=X)
        check("a carer changes the schedule of a person granted",
              r.status == 200 and r.json()["schedule"]["times"] == ["09:00"], repr(r))
        r = carer.put(f"/api/v1/medications/{mb}", new)
        expect("a medication of a person not granted: 404", r, 404)
        r = carer.put(f"/api/v1/persons/{pa}", {"timezone": "UTC"})
        expect("a carer cannot change a person's zone", r, 403)
        r = viewer.get(f"/api/v1/persons/{pa}/due/2026-11-03")
        check("a viewer reads the due slots of a person granted",
              r.status == 200 and [x["local_time"] for x in r.json()["slots"]] == ["09:00"] and
              r.json()["timezone"] == "Europe/Berlin", repr(r))
        for who, c in (("viewer", viewer), ("carer", carer)):
            r = c.get(f"/api/v1/persons/{pb}/due/2026-11-03")
            expect(f"{who}: due of a person not granted is 404", r, 404)
            r = c.get(f"/api/v1/persons/{pb}/adherence?from=2026-11-01&to=2026-11-03")
            expect(f"{who}: adherence of a person not granted is 404", r, 404)
        r = viewer.get(f"/api/v1/persons/{pa}/adherence?from=2026-11-01&to=2026-11-03")
        expect("a viewer reads adherence of a person granted", r, 200)
        r = viewer.post(f"/api/v1/persons/{pa}/calendar-token")
        expect("a viewer cannot make a calendar token", r, 403)
        r = carer.post(f"/api/v1/persons/{pb}/calendar-token")
        expect("a carer cannot make a token for a person not granted", r, 404)
        r = carer.post(f"/api/v1/persons/{pa}/calendar-token")
        expect("a carer makes a token for a person granted", r, 201)
        path = r.json()["path"]
        r = s.get(path)
        check("the feed opens without signing in, with the token alone",
              r.status == 200 and b"BEGIN:VCALENDAR" in r.body, repr(r))
        r = s.get(f"/api/v1/persons/{pa}/calendar.ics?token=wrong")
        expect("anonymous with a bad token: 404", r, 404)
        r = s.get(f"/api/v1/persons/{pa}/due/2026-11-03")
        expect("due needs signing in", r, 401)
        r = viewer.delete(f"/api/v1/persons/{pa}/calendar-token")
        expect("a viewer cannot revoke the token", r, 403)
        r = carer.delete(f"/api/v1/persons/{pa}/calendar-token")
        expect("the carer revokes it", r, 204)
        expect("the revoked feed is 404", s.get(path), 404)
    finally:
        s.stop()


open_api()
permissions()
apilib.report()
