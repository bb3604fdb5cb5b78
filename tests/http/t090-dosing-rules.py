#!/usr/bin/env python3
"""The dosing rules of issue 15 (docs/dosing.md), black-box on the dialect in
MT_TEST_DIALECT: each rule at its boundaries (a dose exactly at the minimum
interval and one second before it, the edge of a rolling 24-hour window,
the calendar-day edge in a zone west of UTC), next_allowed_at and
blocked_by in the views, ingredient totals across two medications of one
person (units converted, doses entered in error left out, per-person
limits), overrides with a reason and their marks in the history, the audit
trail and the exports, the reference's refusal kept byte for byte, and 32
concurrent requests at every limit, also spread over two server processes
on one database, storing exactly the allowed number of doses. Python 3
stdlib (pdftotext when present). Last line: "N passed, N failed"."""

import csv
import datetime
import io
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
from apilib import check, expect  # noqa: E402
from dosinglib import (D, EXT, UTC, at_once, iso, local_instant, medication, move,  # noqa: E402
                       parse, q, record_at, record_now, sql, statuses, taken_count)

DAY = datetime.timedelta(days=1)


def main():
    srv = apilib.Server("t090")
    try:
        boundaries(srv)
        views(srv)
        calendar_edge(srv)
        ingredients(srv)
        overrides(srv)
        concurrency(srv)
    finally:
        srv.stop()
    apilib.report()


# ---- each rule at its boundaries ------------------------------------------------------------

def boundaries(srv):
    pid = apilib.person(srv, "Rules")["id"]
    d = apilib.utc_today() - 5 * DAY

    # Minimum interval: 240 minutes, both ways round an existing dose.
    med = medication(srv, pid, "Interval", 20, min_interval_minutes=240)["id"]
    r = record_at(srv, med, d, "08:00")
    expect("interval: first dose", r, 201)
    first = r.json()["id"]
    expect("interval: 11:59 (one minute short) refused", record_at(srv, med, d, "11:59"), 400)
    move(srv, first, datetime.datetime(d.year, d.month, d.day, 8, 0, 1, tzinfo=UTC))
    r = record_at(srv, med, d, "12:00")
    body = r.json() or {}
    expect("interval: one second short refused", r, 400)
    check("interval: the refusal names the rule",
          body.get("rule") == "interval" and body.get("rules") == ["interval"] and
          body.get("min_interval_minutes") == 240 and body.get("blocked_by") == "interval",
          r.text())
    check("interval: the detail says what to do",
          (body.get("detail") or "").startswith(
              "Minimum interval of 240 minutes between doses not reached. Next dose allowed at "),
          r.text())
    na = body.get("next_allowed_at")
    now = datetime.datetime.now(UTC)
    check("interval: next_allowed_at is now for a dose of days ago (nothing blocks now)",
          na is not None and abs((parse(na) - now).total_seconds()) < 30, r.text())
    move(srv, first, datetime.datetime(d.year, d.month, d.day, 8, 0, tzinfo=UTC))
    expect("interval: exactly 240 minutes later allowed", record_at(srv, med, d, "12:00"), 201)
    expect("interval: 3 h 59 min before an existing dose refused",
           record_at(srv, med, d, "04:01"), 400)
    expect("interval: exactly 240 minutes before allowed", record_at(srv, med, d, "04:00"), 201)
    check("interval: three doses stored", taken_count(srv.url, med) == 3)

    # Rolling 24 hours: at most 2 in any 24 hours.
    med = medication(srv, pid, "Rolling", 2, limit_window="rolling_24h")["id"]
    r1 = record_at(srv, med, d - DAY, "10:00").json()["id"]
    expect("rolling: second dose", record_at(srv, med, d - DAY, "12:00"), 201)
    move(srv, r1, datetime.datetime((d - DAY).year, (d - DAY).month, (d - DAY).day, 10, 0, 1,
                                    tzinfo=UTC))
    r = record_at(srv, med, d, "10:00")
    body = r.json() or {}
    expect("rolling: 24 h minus one second after the first: window full", r, 400)
    check("rolling: the refusal names the window",
          body.get("rule") == "window_full" and body.get("limit_window") == "rolling_24h" and
          body.get("max_doses") == 2 and
          (body.get("detail") or "").startswith("Maximum doses (2) in 24 hours reached."),
          r.text())
    move(srv, r1, datetime.datetime((d - DAY).year, (d - DAY).month, (d - DAY).day, 10, 0,
                                    tzinfo=UTC))
    expect("rolling: exactly 24 h after the first allowed", record_at(srv, med, d, "10:00"), 201)
    expect("rolling: the same day again refused (2 in 24 h)", record_at(srv, med, d, "11:00"),
           400)
    expect("rolling: 23:00, the window of the day before is clear",
           record_at(srv, med, d, "23:00"), 201)
    # Unlike a calendar day, the window does not reset at midnight.
    expect("rolling: just after midnight still refused", record_at(srv, med, d + DAY, "00:01"),
           400)
    expect("rolling: exactly 24 h after 10:00 allowed", record_at(srv, med, d + DAY, "10:00"),
           201)

    # The reference's rule keeps the reference's refusal, byte for byte.
    med = medication(srv, pid, "Daily", 1)["id"]
    expect("reference: first dose now", srv.post(f"{D}/medications/{med}/dose"), 201)
    r = srv.post(f"{D}/medications/{med}/dose")
    expect("reference: second refused with the reference's body", r, 400,
           body={"detail": "Maximum doses (1) taken today"})
    check("reference: exactly the reference's bytes",
          r.body == b'{"detail":"Maximum doses (1) taken today"}', r.body)
    r = srv.post(f"{D}/medications/{med}/dose", headers=EXT)
    body = r.json() or {}
    check("reference rule with the dosing fields: same detail, and the rule",
          r.status == 400 and body.get("detail") == "Maximum doses (1) taken today" and
          body.get("rule") == "window_full" and body.get("limit_window") == "calendar_day",
          r.text())
    tomorrow = datetime.datetime.combine(apilib.utc_today() + DAY, datetime.time(),
                                         UTC)
    check("reference rule: next_allowed_at is the next local midnight",
          body.get("next_allowed_at") == iso(tomorrow), r.text())


# ---- next_allowed_at and blocked_by in the views ------------------------------------------

def views(srv):
    pid = apilib.person(srv, "Views")["id"]
    med = medication(srv, pid, "Every 90", 20, min_interval_minutes=90)
    check("views: a new medication with the dosing fields",
          [med.get(k) for k in ("limit_window", "min_interval_minutes", "next_allowed_at",
                                "blocked_by")] == ["calendar_day", 90, None, None], med)
    mid = med["id"]
    r = record_now(srv, mid)
    expect("views: a dose now", r, 201)
    taken = parse(r.json()["taken_at"])
    want = iso(taken + datetime.timedelta(minutes=90))
    r = record_now(srv, mid)
    check("views: the next one refused until taken_at + 90 min",
          r.status == 400 and (r.json() or {}).get("next_allowed_at") == want, r.text())
    got = srv.get(f"/api/v1/medications/{mid}", headers=EXT).json()
    check("views: the medication says when and why",
          got.get("next_allowed_at") == want and got.get("blocked_by") == "interval", got)
    lst = srv.get(f"/api/v1/medications/?person_id={pid}", headers=EXT).json()
    check("views: so does the list", [m.get("next_allowed_at") for m in lst] == [want], lst)
    summ = srv.get(f"{D}/daily-summary?person_id={pid}", headers=EXT).json()
    entry = (summ.get("medications") or [{}])[0]
    check("views: and the daily summary",
          entry.get("next_allowed_at") == want and entry.get("blocked_by") == "interval", summ)
    plain = srv.get(f"/api/v1/medications/{mid}")
    check("views: without the header the reference's shape",
          list(plain.json().keys()) == apilib.MED_DAY_KEYS, plain.text())
    plain = srv.get(f"{D}/daily-summary?person_id={pid}").json()
    check("views: the summary too",
          list(plain["medications"][0].keys()) == apilib.SUMMARY_KEYS, plain)

    roll = medication(srv, pid, "Two a day", 2, limit_window="rolling_24h")["id"]
    a = record_now(srv, roll).json()
    record_now(srv, roll)
    got = srv.get(f"/api/v1/medications/{roll}", headers=EXT).json()
    check("views: a full rolling window frees up 24 h after its first dose",
          got.get("blocked_by") == "window_full" and
          got.get("next_allowed_at") == iso(parse(a["taken_at"]) + DAY), got)

    # The new fields are validated like the reference's.
    r = srv.post("/api/v1/medications/", {"person_id": pid, "name": "x", "dosage": "1",
                                          "frequency": "f", "max_doses_per_day": 1,
                                          "limit_window": "weekly",
                                          "min_interval_minutes": 0, "dose_amount": -1})
    locs = [e["loc"][-1] for e in (r.json() or {}).get("detail", [])]
    check("views: bad rules are 422s naming each field",
          r.status == 422 and locs == ["limit_window", "min_interval_minutes", "dose_amount"],
          r.text())
    r = srv.put(f"/api/v1/medications/{mid}", {"min_interval_minutes": 10081})
    expect("views: an interval beyond a week refused", r, 422)
    r = srv.put(f"/api/v1/medications/{mid}", {"min_interval_minutes": None,
                                               "dose_amount": 2.5, "dose_unit": "ml"},
                headers=EXT)
    check("views: PUT clears the interval and sets an amount",
          r.status == 200 and r.json().get("min_interval_minutes") is None and
          r.json().get("dose_amount") == 2.5 and r.json().get("blocked_by") is None, r.text())


# ---- the calendar-day edge in a zone west of UTC ---------------------------------------

def calendar_edge(srv):
    tz = 300  # UTC-5
    pid = apilib.person(srv, "Edge")["id"]
    med = medication(srv, pid, "Once a day", 1)["id"]
    day = apilib.local_today(tz) - 5 * DAY
    r = record_at(srv, med, day, "23:59", tz)
    expect("calendar: 23:59 local", r, 201)
    check("calendar: stored as the next UTC day",
          r.json()["taken_at"] == iso(local_instant(day, "23:59", tz)), r.text())
    r = record_at(srv, med, day + DAY, "00:00", tz)
    expect("calendar: 00:00 local of the next day allowed (the same UTC day)", r, 201)
    r = srv.post(f"{D}/medications/{med}/dose/{day.isoformat()}?" +
                 q({"time": "00:00", "timezone_offset": tz}))
    expect("calendar: 00:00 local of the full day refused with the reference's body", r, 400,
           body={"detail": f"Maximum doses (1) taken for {day.isoformat()}"})
    r = record_at(srv, med, day, "12:00", tz)
    body = r.json() or {}
    check("calendar: the day's window is the local day",
          r.status == 400 and body.get("limit_window") == "calendar_day" and
          body.get("rule") == "window_full", r.text())


# ---- ingredients across two medications ------------------------------------------------

def ingredients(srv):
    pid = apilib.person(srv, "Ingredients")["id"]
    other = apilib.person(srv, "No limits")["id"]
    L = f"/api/v1/persons/{pid}/ingredient-limits/"
    r = srv.post(L, {"name": "Paracetamol", "max_per_24h": 1000, "unit": "mg"})
    expect("limits: set", r, 201)
    limit_id = r.json()["id"]
    panadol = medication(srv, pid, "Panadol", 8, dose_amount=500, dose_unit="mg", ingredients=[
        {"name": "Paracetamol", "amount": 500, "unit": "mg"}])
    check("ingredients: listed on the medication",
          panadol.get("ingredients") == [{"name": "Paracetamol", "amount": 500, "unit": "mg"}],
          panadol)
    cold = medication(srv, pid, "Cold and Flu", 8, ingredients=[
        {"name": " paracetamol ", "amount": 0.5, "unit": "g"},
        {"name": "Pseudoephedrine", "amount": 60, "unit": "mg"}])["id"]
    panadol = panadol["id"]
    d = apilib.utc_today() - 4 * DAY
    expect("ingredients: 500 mg of Panadol", record_at(srv, panadol, d, "08:00"), 201)
    r = record_at(srv, cold, d, "09:00")
    expect("ingredients: 0.5 g in the cold remedy", r, 201)
    cold_dose = r.json()["id"]
    r = record_at(srv, panadol, d, "10:00")
    body = r.json() or {}
    expect("ingredients: a third 500 mg passes 1000 mg in 24 h", r, 400)
    check("ingredients: the refusal names the ingredient, the total and the limit",
          body.get("rule") == "ingredient_limit" and body.get("ingredient") == "Paracetamol" and
          body.get("taken_amount") == 1000 and body.get("dose_amount") == 500 and
          body.get("limit_amount") == 1000 and body.get("unit") == "mg", r.text())
    check("ingredients: the detail in words",
          (body.get("detail") or "").startswith(
              "Limit of Paracetamol reached: 1000 mg taken in 24 hours, this dose adds 500 mg, "
              "the limit is 1000 mg per 24 hours."), r.text())
    # 24 hours after the first dose only the cold remedy's 500 mg is in the window.
    expect("ingredients: exactly 24 h after the first: 500 + 500 fits",
           record_at(srv, panadol, d + DAY, "08:00"), 201)
    expect("ingredients: a minute before that it would not",
           record_at(srv, cold, d + DAY, "07:59"), 400)
    r = srv.post(f"{D}/{cold_dose}/entered-in-error", {"reason": "was the other box"})
    expect("ingredients: the cold remedy's dose entered in error", r, 200)
    expect("ingredients: no longer counted", record_at(srv, panadol, d, "10:00"), 201)
    # Another person has no limit.
    free = medication(srv, other, "Panadol", 8, ingredients=[
        {"name": "Paracetamol", "amount": 500, "unit": "mg"}])["id"]
    check("ingredients: a person without a limit is not limited",
          all(record_at(srv, free, d, f"0{h}:00").status == 201 for h in range(1, 6)))

    # The limits themselves.
    r = srv.post(L, {"name": "PARACETAMOL", "max_per_24h": 4000, "unit": "mg"})
    lst = srv.get(L).json()
    check("limits: the same name (any case) replaces the limit",
          r.status == 201 and r.json()["id"] == limit_id and len(lst) == 1 and
          lst[0]["max_per_24h"] == 4000 and lst[0]["name"] == "PARACETAMOL", lst)
    r = srv.post(L, {"name": "pseudoephedrine", "max_per_24h": 240, "unit": "ml"})
    check("limits: a unit that cannot be compared with the medications' is refused",
          r.status == 400 and "cannot be compared" in (r.json() or {}).get("detail", ""),
          r.text())
    r = srv.post(L, {"name": " ", "max_per_24h": 0, "unit": "mg"})
    check("limits: blank name and zero maximum are 422s", r.status == 422 and
          [e["loc"][-1] for e in r.json()["detail"]] == ["max_per_24h", "name"], r.text())
    expect("limits: unknown person", srv.get("/api/v1/persons/999999/ingredient-limits/"), 404,
           body={"detail": "Person not found"})
    expect("limits: delete", srv.delete(f"{L}{limit_id}"), 204)
    expect("limits: delete again", srv.delete(f"{L}{limit_id}"), 404,
           body={"detail": "Ingredient limit not found"})
    check("limits: without a limit any number fits",
          record_at(srv, panadol, d, "11:00").status == 201)

    # The ingredients list is validated with the reference's error shapes.
    bad = [("not a list", "x", ["ingredients"]),
           ("zero amount", [{"name": "a", "amount": 0, "unit": "mg"}],
            ["ingredients", 0, "amount"]),
           ("missing unit", [{"name": "a", "amount": 1}], ["ingredients", 0, "unit"]),
           ("twice", [{"name": "A", "amount": 1, "unit": "mg"},
                      {"name": "a", "amount": 2, "unit": "mg"}], ["ingredients", 1, "name"])]
    for name, value, loc in bad:
        r = srv.put(f"/api/v1/medications/{panadol}", {"ingredients": value})
        got = [e["loc"][1:] for e in (r.json() or {}).get("detail", [])]
        check(f"ingredients: {name} is a 422 at {loc}", r.status == 422 and got == [loc],
              r.text())


# ---- overrides -----------------------------------------------------------------------------

def overrides(srv):
    pid = apilib.person(srv, "Override")["id"]
    med = medication(srv, pid, "Strict", 1, limit_window="rolling_24h",
                     min_interval_minutes=600)["id"]
    expect("override: first dose", record_now(srv, med), 201)
    r = record_now(srv, med, {"override": True})
    expect("override: without a reason is a 422", r, 422)
    check("override: the 422 names override_reason",
          [e["loc"] for e in r.json()["detail"]] == [["body", "override_reason"]], r.text())
    expect("override: a blank reason too", record_now(srv, med, {"override": True,
                                                                 "override_reason": "  "}), 422)
    r = record_now(srv, med, {"override": True, "override_reason": "doctor's advice, fever",
                              "note": "39.5 °C"})
    expect("override: with a reason", r, 201)
    dose = r.json()
    check("override: the dose names the rules it broke and why",
          dose.get("override_rule") == "window_full,interval" and
          dose.get("override_reason") == "doctor's advice, fever" and
          dose.get("note") == "39.5 °C" and dose.get("status") == "taken" and
          dose.get("recorded_by") == "anonymous", dose)
    hist = srv.get(f"{D}/medications/{med}/doses", headers=EXT).json()
    check("override: marked in the history",
          [h.get("override_rule") for h in hist] == ["window_full,interval", None], hist)
    audit = srv.get(f"/api/v1/audit/?entity=dose&entity_id={dose['id']}").json()
    check("override: written to the audit trail",
          len(audit) == 1 and audit[0]["action"] == "override" and
          audit[0]["after"]["override_reason"] == "doctor's advice, fever", audit)
    day = apilib.utc_today().isoformat()
    r = srv.get("/api/v1/reports/doses.csv?" + q({"person_id": pid, "from": day, "to": day,
                                                  "timezone_offset": 0}))
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"), newline="")))
    check("override: marked in the CSV export",
          sorted((x["override_rule"], x["override_reason"]) for x in rows) ==
          [("", ""), ("window_full,interval", "doctor's advice, fever")], rows)
    r = srv.get("/api/v1/reports/doses.json?" + q({"person_id": pid, "from": day, "to": day,
                                                   "timezone_offset": 0}))
    check("override: and in the JSON export",
          sorted(str(x["override_rule"]) for x in r.json()["doses"]) ==
          ["None", "window_full,interval"], r.text())
    r = record_now(srv, med, {"override": True, "override_reason": "x", "timezone_offset": 0})
    check("override: a body may still carry timezone_offset", r.status == 201, r.text())
    free = medication(srv, pid, "Free", 20)["id"]
    r = record_now(srv, free, {"override": True, "override_reason": "nothing to override"})
    check("override: nothing broken, nothing overridden",
          r.status == 201 and r.json().get("override_rule") is None and
          r.json().get("override_reason") is None, r.text())
    expect("override: the reference's body still needs timezone_offset",
           srv.post(f"{D}/medications/{free}/dose", {}), 422)
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        r = srv.get(f"/api/v1/reports/medications/pdf/{day}?" +
                    q({"person_id": pid, "prefill": "true", "timezone_offset": 0}))
        with tempfile.NamedTemporaryFile(suffix=".pdf", dir=apilib.TMP) as f:
            f.write(r.body)
            f.flush()
            text = subprocess.run([pdftotext, "-layout", f.name, "-"], capture_output=True,
                                  text=True).stdout
        text = " ".join(text.split())
        check("pdf: the form prints the medication's rules",
              "At most 1 dose in any 24 hours" in text and "at least 10" in text,
              text[:800])
        check("pdf: an overridden dose is marked", "*" in text and "dosing rule" in text,
              text[:800])


# ---- 32 concurrent requests at each limit, one and two processes ------------------------

def burst(name, servers, paths, n=32, url=None, count_meds=(), want=0):
    results = at_once(n, lambda i: servers[i % len(servers)].post(
        paths[i % len(paths)], headers=EXT, timeout=60))
    st = statuses(results)
    stored = sum(taken_count(url, m) for m in count_meds)
    check(f"{name}: exactly {want} of {n} recorded ({st})",
          st.get(201, 0) == want and st.get(400, 0) == n - want and stored == want,
          f"statuses {st}, stored {stored}")


def concurrency(srv):
    pid = apilib.person(srv, "Burst")["id"]
    url = srv.url
    cases = [
        ("calendar day, max 3", dict(max_doses=3)),
        ("rolling 24 h, max 5", dict(max_doses=5, limit_window="rolling_24h")),
        ("interval 60 min", dict(max_doses=20, min_interval_minutes=60)),
    ]
    for name, rules in cases:
        m = medication(srv, pid, name, rules.pop("max_doses"), **rules)["id"]
        want = {"calendar day, max 3": 3, "rolling 24 h, max 5": 5, "interval 60 min": 1}[name]
        burst(f"burst: {name}", [srv], [f"{D}/medications/{m}/dose"], url=url,
              count_meds=[m], want=want)
    # Ingredient limit across two medications: 2000 mg, 500 mg a dose.
    srv.post(f"/api/v1/persons/{pid}/ingredient-limits/",
             {"name": "paracetamol", "max_per_24h": 2000, "unit": "mg"})
    ing = [{"name": "Paracetamol", "amount": 500, "unit": "mg"}]
    a = medication(srv, pid, "Para A", 20, ingredients=ing)["id"]
    b = medication(srv, pid, "Para B", 20, ingredients=ing)["id"]
    burst("burst: ingredient limit over two medications", [srv],
          [f"{D}/medications/{a}/dose", f"{D}/medications/{b}/dose"], url=url,
          count_meds=[a, b], want=4)

    # A second server process on the same database.
    srv2 = apilib.Server("t090b", env={"DATABASE_URL": url})
    try:
        pid2 = apilib.person(srv2, "Two processes")["id"]
        m = medication(srv2, pid2, "Rolling 7", 7, limit_window="rolling_24h")["id"]
        burst("two processes: rolling 24 h, max 7", [srv, srv2], [f"{D}/medications/{m}/dose"],
              url=url, count_meds=[m], want=7)
        m = medication(srv2, pid2, "Interval 30", 20, min_interval_minutes=30)["id"]
        burst("two processes: interval", [srv, srv2], [f"{D}/medications/{m}/dose"], url=url,
              count_meds=[m], want=1)
        srv2.post(f"/api/v1/persons/{pid2}/ingredient-limits/",
                  {"name": "ibuprofen", "max_per_24h": 1.2, "unit": "g"})
        ing = [{"name": "Ibuprofen", "amount": 400, "unit": "mg"}]
        a = medication(srv2, pid2, "Ibu A", 20, ingredients=ing)["id"]
        b = medication(srv, pid2, "Ibu B", 20, ingredients=ing)["id"]
        burst("two processes: ingredient limit over two medications", [srv, srv2],
              [f"{D}/medications/{a}/dose", f"{D}/medications/{b}/dose"], url=url,
              count_meds=[a, b], want=3)
        m = medication(srv2, pid2, "Daily 20", 20)["id"]
        burst("two processes: the reference's daily maximum", [srv, srv2],
              [f"{D}/medications/{m}/dose"], url=url, count_meds=[m], want=20)
    finally:
        srv2.stop()
    check("burst: every dose recorded has its audit row, and no refusal has one",
          int(sql(url, "SELECT COUNT(*) FROM doses WHERE recorded_at IS NOT NULL")[0][0]) ==
          int(sql(url, "SELECT COUNT(*) FROM audit_log WHERE entity = 'dose' AND action IN "
                       "('record', 'override', 'skip')")[0][0]))


if __name__ == "__main__":
    main()
