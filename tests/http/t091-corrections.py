#!/usr/bin/env python3
"""Corrections instead of silent edits, and idempotent recording (issue 15),
black-box on the dialect in MT_TEST_DIALECT: PATCH of a dose's time and
note and its effect on the day's counts, the summary and the rules;
entered_in_error with a reason (out of every count, view and export, still
in the table and the audit trail); the reference's DELETE keeping its
contract while the row stays as entered_in_error with the reason
"deleted"; skipped doses (not taken, in the history only for clients that
ask for the dosing fields); recorded_by and recorded_at; and
Idempotency-Key: a repeated key returns the first response, also between
two server processes and for 16 concurrent duplicates, one dose stored; a
key reused for another request is a 422. Python 3 stdlib. Last line:
"N passed, N failed"."""

import csv
import datetime
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
from apilib import DOSE_KEYS, check, expect  # noqa: E402
from dosinglib import (D, EXT, UTC, at_once, iso, medication, parse, q, record_at,  # noqa: E402
                       record_now, sql, statuses, taken_count)

DAY = datetime.timedelta(days=1)
FULL_KEYS = DOSE_KEYS + ["status", "status_reason", "note", "recorded_by", "recorded_at",
                         "override_rule", "override_reason", "updated_at"]


def main():
    srv = apilib.Server("t091")
    try:
        corrections(srv)
        deleting(srv)
        skipping(srv)
        idempotency(srv)
    finally:
        srv.stop()
    apilib.report()


def day_count(srv, med, tz=0):
    return srv.get(f"/api/v1/medications/{med}?timezone_offset={tz}").json()["doses_taken_today"]


def corrections(srv):
    pid = apilib.person(srv, "Corrections")["id"]
    med = medication(srv, pid, "Twice", 2)["id"]
    r = record_now(srv, med)
    expect("correct: a dose now", r, 201, keys=FULL_KEYS)
    first = r.json()
    check("correct: who recorded it, and when",
          first["recorded_by"] == "anonymous" and first["status"] == "taken" and
          abs((parse(first["recorded_at"]) - parse(first["taken_at"])).total_seconds()) < 5,
          first)
    expect("correct: a second dose", record_now(srv, med), 201)
    expect("correct: the day is full", record_now(srv, med), 400)
    check("correct: two today", day_count(srv, med) == 2)

    # The first was really taken yesterday: after the correction, today has room.
    yesterday = parse(first["taken_at"]) - DAY
    r = srv.request("PATCH", f"{D}/{first['id']}", {"taken_at": iso(yesterday),
                                                     "note": "given at bedtime"})
    expect("correct: PATCH the time and the note", r, 200, keys=FULL_KEYS)
    got = r.json()
    check("correct: the new time and note, updated_at set",
          got["taken_at"] == iso(yesterday) and got["note"] == "given at bedtime" and
          got["updated_at"] is not None and got["recorded_at"] == first["recorded_at"], got)
    check("correct: one today now", day_count(srv, med) == 1)
    summ = srv.get(f"{D}/daily-summary?person_id={pid}").json()["medications"][0]
    check("correct: the summary follows", summ["doses_taken"] == 1, summ)
    expect("correct: room for a dose again", record_now(srv, med), 201)
    r = srv.request("PATCH", f"{D}/{first['id']}", {"note": None})
    check("correct: a null note clears it", r.status == 200 and r.json()["note"] is None, r.text())
    audit = srv.get(f"/api/v1/audit/?entity=dose&entity_id={first['id']}").json()
    check("correct: each correction is in the audit trail with before and after",
          [a["action"] for a in audit] == ["correct", "correct", "record"] and
          audit[1]["before"]["taken_at"] == first["taken_at"] and
          audit[1]["after"]["taken_at"] == iso(yesterday), audit)
    r = srv.request("PATCH", f"{D}/{first['id']}", {"note": None})
    check("correct: a PATCH that changes nothing writes nothing",
          r.status == 200 and len(srv.get(f"/api/v1/audit/?entity=dose&entity_id="
                                          f"{first['id']}").json()) == 3, r.text())
    future = datetime.datetime.now(UTC) + datetime.timedelta(hours=1)
    expect("correct: a time in the future is refused",
           srv.request("PATCH", f"{D}/{first['id']}", {"taken_at": iso(future)}), 400,
           body={"detail": "A dose cannot be in the future"})
    expect("correct: an empty correction is refused", srv.request("PATCH", f"{D}/{first['id']}",
                                                                   {}), 400)
    expect("correct: a bad time is a 422",
           srv.request("PATCH", f"{D}/{first['id']}", {"taken_at": "yesterday"}), 422)
    expect("correct: unknown dose", srv.request("PATCH", f"{D}/999999", {"note": "x"}), 404,
           body={"detail": "Dose not found"})

    # Entered in error: out of the counts and views, still in the table.
    dose = record_at(srv, med, apilib.utc_today() - 3 * DAY, "09:00").json()["id"]
    r = srv.post(f"{D}/{dose}/entered-in-error", {"reason": "recorded on the wrong person"})
    expect("error: marked entered in error", r, 200, keys=FULL_KEYS)
    check("error: with its reason",
          r.json()["status"] == "entered_in_error" and
          r.json()["status_reason"] == "recorded on the wrong person", r.text())
    hist = srv.get(f"{D}/medications/{med}/doses", headers=EXT).json()
    check("error: gone from the history", dose not in [h["id"] for h in hist], hist)
    day = (apilib.utc_today() - 3 * DAY).isoformat()
    check("error: gone from the day's list",
          srv.get(f"{D}/medications/{med}/doses/{day}").json() == [])
    r = srv.get("/api/v1/reports/doses.csv?" + q({"person_id": pid, "from": day, "to": day}))
    check("error: gone from the export", r.status == 200 and r.body.count(b"\r\n") == 1, r.text())
    row = sql(srv.url, f"SELECT status, status_reason FROM doses WHERE id = {dose}")
    check("error: still in the table", row == [["entered_in_error",
                                                "recorded on the wrong person"]], row)
    expect("error: twice is refused", srv.post(f"{D}/{dose}/entered-in-error",
                                               {"reason": "again"}), 400,
           body={"detail": "Dose is already marked entered in error"})
    expect("error: such a dose cannot be corrected",
           srv.request("PATCH", f"{D}/{dose}", {"note": "x"}), 400,
           body={"detail": "Dose was entered in error and cannot be changed"})
    expect("error: a blank reason is a 422", srv.post(f"{D}/{dose}/entered-in-error",
                                                      {"reason": " "}), 422)
    expect("error: the reason is required", srv.post(f"{D}/{dose}/entered-in-error", {}), 422)
    audit = srv.get(f"/api/v1/audit/?entity=dose&entity_id={dose}").json()
    check("error: in the audit trail",
          [a["action"] for a in audit] == ["entered_in_error", "record"] and
          audit[0]["after"]["status_reason"] == "recorded on the wrong person", audit)


def deleting(srv):
    pid = apilib.person(srv, "Deleting")["id"]
    med = medication(srv, pid, "Once", 1)["id"]
    r = srv.post(f"{D}/medications/{med}/dose")
    dose = r.json()["id"]
    r = srv.delete(f"{D}/{dose}")
    expect("delete: the reference's DELETE", r, 204)
    check("delete: with an empty body", r.body == b"", r.body)
    expect("delete: a second DELETE is the reference's 404", srv.delete(f"{D}/{dose}"), 404,
           body={"detail": "Dose not found"})
    row = sql(srv.url, f"SELECT status, status_reason FROM doses WHERE id = {dose}")
    check("delete: the row stays, entered in error with the reason deleted",
          row == [["entered_in_error", "deleted"]], row)
    expect("delete: the day has room again", srv.post(f"{D}/medications/{med}/dose"), 201)
    check("delete: counts exclude it", taken_count(srv.url, med) == 1)
    hist = srv.get(f"{D}/medications/{med}/doses").json()
    check("delete: the reference's history shows one dose, reference keys",
          len(hist) == 1 and list(hist[0].keys()) == DOSE_KEYS, hist)
    expect("delete: unknown dose", srv.delete(f"{D}/999999"), 404,
           body={"detail": "Dose not found"})


def skipping(srv):
    pid = apilib.person(srv, "Skipping")["id"]
    med = medication(srv, pid, "Morning", 1)["id"]
    slot = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(minutes=5)
    r = srv.post(f"{D}/medications/{med}/skip", {"reason": "vomiting", "taken_at": iso(slot),
                                                 "note": "try again tomorrow"})
    expect("skip: recorded", r, 201, keys=FULL_KEYS)
    sk = r.json()
    check("skip: status and reason",
          sk["status"] == "skipped" and sk["status_reason"] == "vomiting" and
          sk["taken_at"] == iso(slot) and sk["note"] == "try again tomorrow", sk)
    check("skip: not taken: the day's count is 0", day_count(srv, med) == 0)
    expect("skip: the day's one dose can still be taken", srv.post(f"{D}/medications/{med}/dose"),
           201)
    hist = srv.get(f"{D}/medications/{med}/doses", headers=EXT).json()
    check("skip: in the history of clients that ask for the dosing fields",
          sorted(h["status"] for h in hist) == ["skipped", "taken"], hist)
    hist = srv.get(f"{D}/medications/{med}/doses").json()
    check("skip: not in the reference's history (it cannot tell)", len(hist) == 1, hist)
    summ = srv.get(f"{D}/daily-summary?person_id={pid}").json()["medications"][0]
    check("skip: not in the summary's times", summ["doses_taken"] == 1, summ)
    day = apilib.utc_today().isoformat()
    r = srv.get("/api/v1/reports/doses.csv?" + q({"person_id": pid, "from": day, "to": day}))
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"), newline="")))
    check("skip: in the export with its status and reason",
          sorted((x["status"], x["status_reason"]) for x in rows) ==
          [("skipped", "vomiting"), ("taken", "")], rows)
    r = srv.post(f"{D}/medications/{med}/skip", {"reason": "x", "taken_at":
                                                 iso(datetime.datetime.now(UTC) + DAY)})
    expect("skip: not in the future", r, 400)
    expect("skip: a reason is required", srv.post(f"{D}/medications/{med}/skip", {}), 422)
    expect("skip: unknown medication", srv.post(f"{D}/medications/999999/skip", {"reason": "x"}),
           404, body={"detail": "Medication not found"})
    audit = srv.get(f"/api/v1/audit/?entity=dose&entity_id={sk['id']}").json()
    check("skip: in the audit trail", [a["action"] for a in audit] == ["skip"], audit)


def idempotency(srv):
    pid = apilib.person(srv, "Taps")["id"]
    med = medication(srv, pid, "Tap", 20)["id"]
    key = {"Idempotency-Key": "tap-0001"}
    r1 = record_now(srv, med, headers=key)
    r2 = record_now(srv, med, headers=key)
    expect("idem: first", r1, 201)
    check("idem: the repeat gets the first response, byte for byte",
          r2.status == 201 and r2.body == r1.body and
          r2.headers.get("idempotent-replayed") == "true" and
          "idempotent-replayed" not in r1.headers, f"{r1!r} {r2!r}")
    check("idem: one dose stored", taken_count(srv.url, med) == 1)
    r = srv.post(f"{D}/medications/{med}/dose", {"timezone_offset": 60}, headers=key)
    expect("idem: the same key for another request is a 422", r, 422,
           body={"detail": "Idempotency-Key was already used for a different request"})
    r = srv.post(f"{D}/medications/{med}/dose", headers={"Idempotency-Key": "x" * 256})
    expect("idem: a key over 255 characters is a 400", r, 400)
    r = srv.post(f"{D}/medications/{med}/dose", headers={"Idempotency-Key": '"quoted-key"'})
    r2 = srv.post(f"{D}/medications/{med}/dose", headers={"Idempotency-Key": "quoted-key"})
    check("idem: a quoted key is the same key", r.status == 201 and r2.body == r.body, r2.text())

    # A refusal is a response too: the retry gets the same refusal.
    once = medication(srv, pid, "Once only", 1)["id"]
    expect("idem: fill the day", record_now(srv, once), 201)
    k2 = {"Idempotency-Key": "tap-0002"}
    a = srv.post(f"{D}/medications/{once}/dose", headers=k2)
    b = srv.post(f"{D}/medications/{once}/dose", headers=k2)
    check("idem: a refusal is replayed", a.status == 400 and b.status == 400 and
          b.body == a.body and b.headers.get("idempotent-replayed") == "true", f"{a!r} {b!r}")

    # Each owner has its own keys; a new key is a new dose.
    expect("idem: a new key records", record_now(srv, med, headers={"Idempotency-Key": "t3"}),
           201)
    check("idem: three doses of Tap now", taken_count(srv.url, med) == 3)

    # 16 duplicates at once: one dose, 16 identical answers.
    burst_med = medication(srv, pid, "Burst", 20)["id"]
    results = at_once(16, lambda i: record_now(srv, burst_med,
                                               headers={"Idempotency-Key": "same-tap"}))
    bodies = {r.body for r in results if hasattr(r, "body")}
    check("idem: 16 concurrent duplicates, one dose",
          statuses(results) == {201: 16} and len(bodies) == 1 and
          taken_count(srv.url, burst_med) == 1, f"{statuses(results)} {len(bodies)}")
    replayed = sum(1 for r in results if r.headers.get("idempotent-replayed") == "true")
    check("idem: all but the first were replays", replayed == 15, replayed)

    # Across two processes on one database.
    srv2 = apilib.Server("t091b", env={"DATABASE_URL": srv.url})
    try:
        two = medication(srv, pid, "Two servers", 20)["id"]
        results = at_once(16, lambda i: (srv if i % 2 else srv2).post(
            f"{D}/medications/{two}/dose", headers={"Idempotency-Key": "cross-process"}))
        bodies = {r.body for r in results if hasattr(r, "body")}
        check("idem: duplicates on two processes, one dose",
              statuses(results) == {201: 16} and len(bodies) == 1 and
              taken_count(srv.url, two) == 1, f"{statuses(results)} {len(bodies)}")
        other = srv2.post(f"{D}/medications/{two}/dose", headers={"Idempotency-Key": "tap-0001"})
        check("idem: the key names the request too: another medication with an old key is 422",
              other.status == 422, other.text())
    finally:
        srv2.stop()

    # Kept 24 hours: an older key is forgotten.
    sql(srv.url, "UPDATE idempotency_keys SET created_at = '2000-01-01 00:00:00' "
                 "WHERE idem_key = 'tap-0001'")
    r = record_now(srv, med, headers=key)
    check("idem: a key older than 24 hours records again",
          r.status == 201 and r.json()["id"] != r1.json()["id"] and
          "idempotent-replayed" not in r.headers, r.text())
    count = sql(srv.url, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'tap-0001'")
    check("idem: the key is stored once", count == [["1"]], count)
    expect("idem: GET ignores the header", srv.get(f"/api/v1/medications/{med}", headers=key),
           200)


if __name__ == "__main__":
    main()
