#!/usr/bin/env python3
"""Black-box tests of /api/v1/medications on a fresh database: the
reference's samples #62-#95 and #140-#145 (shapes, key order, 422 bodies,
lax coercions), decision 6 (404 for a missing person), decision 1 (deleting a
medication keeps its dose history under its name) and the day counters
(doses_taken_today / last_taken_at for a date and a timezone offset)."""

import apilib
from apilib import MED_DAY_KEYS, MED_KEYS, TS_RE, TS_SECONDS_RE, check, expect

M = "/api/v1/medications/"
INT_PARSING = "Input should be a valid integer, unable to parse string as an integer"


def med_ok(name, resp, status, want, with_day=False, updated=False):
    if not expect(name, resp, status, keys=MED_DAY_KEYS if with_day else MED_KEYS):
        return None
    got = resp.json()
    for k, v in want.items():
        check(f"{name}: {k}", got.get(k) == v, f"got {got.get(k)!r}, want {v!r}")
    check(f"{name}: created_at", TS_SECONDS_RE.match(got.get("created_at") or ""))
    if updated:
        check(f"{name}: updated_at set", TS_SECONDS_RE.match(got.get("updated_at") or ""))
    else:
        check(f"{name}: updated_at null", got.get("updated_at") is None, got.get("updated_at"))
    return got


def main():
    s = apilib.Server("t020_meds")
    try:
        run(s)
    finally:
        s.stop()
    apilib.report()


def run(s):
    apilib.person(s, "Alice", last_name="Smith")
    apilib.person(s, "Bob")
    expect("#62 list empty", s.get(M), 200, [])
    expect("#63 list without trailing slash (decision 7)", s.get("/api/v1/medications"), 200, [])

    med_ok("#64 create full",
           s.post(M, {"person_id": 1, "name": "Aspirin", "dosage": "100mg",
                      "frequency": "Twice daily", "max_doses_per_day": 2,
                      "instructions": "Take with food"}), 201,
           {"name": "Aspirin", "dosage": "100mg", "frequency": "Twice daily",
            "max_doses_per_day": 2, "instructions": "Take with food", "id": 1, "person_id": 1})
    med_ok("#65 create without instructions",
           s.post(M, {"person_id": 1, "name": "Vitamin D", "dosage": "1000 IU",
                      "frequency": "Once daily", "max_doses_per_day": 1}), 201,
           {"instructions": None, "id": 2})
    med_ok("#66 create for person 2",
           s.post(M, {"person_id": 2, "name": "Ibuprofen", "dosage": "200mg",
                      "frequency": "As needed", "max_doses_per_day": 4,
                      "instructions": "Max 4 per day"}), 201, {"id": 3, "person_id": 2})
    expect("#68 create for a missing person (decision 6)",
           s.post(M, {"person_id": 999, "name": "Ghost", "dosage": "1mg", "frequency": "Never",
                      "max_doses_per_day": 1}), 404, {"detail": "Person not found"})
    med_ok("#69 numeric strings are coerced",
           s.post(M, {"person_id": "1", "name": "Melatonin", "dosage": "3mg",
                      "frequency": "Nightly", "max_doses_per_day": "3"}), 201,
           {"max_doses_per_day": 3, "person_id": 1, "id": 4})
    base = {"person_id": 1, "name": "X", "dosage": "1", "frequency": "d"}
    expect("#70 max_doses_per_day=0", s.post(M, dict(base, max_doses_per_day=0)), 422,
           {"detail": [{"type": "greater_than", "loc": ["body", "max_doses_per_day"],
                        "msg": "Input should be greater than 0", "input": 0, "ctx": {"gt": 0}}]})
    expect("#71 max_doses_per_day=21", s.post(M, dict(base, max_doses_per_day=21)), 422,
           {"detail": [{"type": "less_than_equal", "loc": ["body", "max_doses_per_day"],
                        "msg": "Input should be less than or equal to 20", "input": 21,
                        "ctx": {"le": 20}}]})
    expect("#72 max_doses_per_day=2.5", s.post(M, dict(base, max_doses_per_day=2.5)), 422,
           {"detail": [{"type": "int_from_float", "loc": ["body", "max_doses_per_day"],
                        "msg": "Input should be a valid integer, got a number with a fractional "
                               "part", "input": 2.5}]})
    expect("#73 max_doses_per_day='abc'", s.post(M, dict(base, max_doses_per_day="abc")), 422,
           {"detail": [{"type": "int_parsing", "loc": ["body", "max_doses_per_day"],
                        "msg": INT_PARSING, "input": "abc"}]})
    missing = [{"type": "missing", "loc": ["body", f], "msg": "Field required", "input": {}}
               for f in ("name", "dosage", "frequency", "max_doses_per_day", "person_id")]
    expect("#74 create empty object", s.post(M, {}), 422, {"detail": missing})
    med_ok("#75 extra field ignored, 2.0 accepted",
           s.post(M, {"person_id": 1, "name": "Extra", "dosage": "1", "frequency": "d",
                      "max_doses_per_day": 2.0, "color": "red"}), 201,
           {"max_doses_per_day": 2, "id": 5})
    expect("#76 person_id null", s.post(M, dict(base, person_id=None, max_doses_per_day=1)), 422,
           {"detail": [{"type": "int_type", "loc": ["body", "person_id"],
                        "msg": "Input should be a valid integer", "input": None}]})
    expect("#77 name null", s.post(M, dict(base, name=None, max_doses_per_day=1)), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "name"],
                        "msg": "Input should be a valid string", "input": None}]})
    expect("person_id 0 (ids must be >= 1)", s.post(M, dict(base, person_id=0,
                                                            max_doses_per_day=1)), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["body", "person_id"],
                        "msg": "Input should be greater than or equal to 1", "input": 0,
                        "ctx": {"ge": 1}}]})
    expect("person_id 1.5", s.post(M, dict(base, person_id=1.5, max_doses_per_day=1)), 422,
           {"detail": [{"type": "int_from_float", "loc": ["body", "person_id"],
                        "msg": "Input should be a valid integer, got a number with a fractional "
                               "part", "input": 1.5}]})
    med_ok("max_doses_per_day true is 1", s.post(M, dict(base, name="T", max_doses_per_day=True)),
           201, {"max_doses_per_day": 1})
    med_ok("max_doses_per_day '20.0' is 20",
           s.post(M, dict(base, name="U", max_doses_per_day="20.0")), 201,
           {"max_doses_per_day": 20})
    expect("dosage over 255 characters", s.post(M, dict(base, dosage="d" * 300,
                                                        max_doses_per_day=1)), 422)
    med_ok("empty strings are accepted", s.post(M, {"person_id": 2, "name": "", "dosage": "",
                                                   "frequency": "", "max_doses_per_day": 1}),
           201, {"name": "", "dosage": ""})

    r = s.get(M)
    lst = r.json() or []
    expect("#78 list all", r, 200)
    check("#78 id order", [m["id"] for m in lst] == sorted(m["id"] for m in lst), r.text()[:200])
    check("#78 key order", all(list(m.keys()) == MED_DAY_KEYS for m in lst))
    check("#78 no doses yet",
          all(m["doses_taken_today"] == 0 and m["last_taken_at"] is None for m in lst))
    r = s.get(M + "?person_id=1")
    check("#79 list person_id=1", r.status == 200 and {m["person_id"] for m in r.json()} == {1},
          repr(r))
    expect("#80 list person_id=12345", s.get(M + "?person_id=12345"), 200, [])
    r = s.get(M + "?skip=1&limit=1")
    check("#81 skip=1&limit=1", r.status == 200 and [m["id"] for m in r.json()] == [2], repr(r))
    expect("#82 list bad date", s.get(M + "?date=2024-02-30"), 422,
           {"detail": [{"type": "date_from_datetime_parsing", "loc": ["query", "date"],
                        "msg": "Input should be a valid date or datetime, day value is outside "
                               "expected range", "input": "2024-02-30",
                        "ctx": {"error": "day value is outside expected range"}}]})
    expect("#83 bad timezone_offset", s.get(M + "?timezone_offset=abc"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["query", "timezone_offset"],
                        "msg": INT_PARSING, "input": "abc"}]})
    expect("#84 bad person_id", s.get(M + "?person_id=x"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["query", "person_id"], "msg": INT_PARSING,
                        "input": "x"}]})
    expect("timezone_offset 1440 is refused", s.get(M + "?timezone_offset=1440"), 422,
           {"detail": [{"type": "less_than", "loc": ["query", "timezone_offset"],
                        "msg": "Input should be less than 1440", "input": "1440",
                        "ctx": {"lt": 1440}}]})
    expect("timezone_offset -1440 is refused", s.get(M + "?timezone_offset=-1440"), 422,
           {"detail": [{"type": "greater_than", "loc": ["query", "timezone_offset"],
                        "msg": "Input should be greater than -1440", "input": "-1440",
                        "ctx": {"gt": -1440}}]})
    check("timezone_offset 1439 is fine", s.get(M + "?timezone_offset=1439").status == 200)
    expect("person_id=0 is refused", s.get(M + "?person_id=0"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["query", "person_id"],
                        "msg": "Input should be greater than or equal to 1", "input": "0",
                        "ctx": {"ge": 1}}]})

    med_ok("#85 get one", s.get(M + "1"), 200,
           {"name": "Aspirin", "doses_taken_today": 0, "last_taken_at": None}, with_day=True)
    expect("#86 get missing", s.get(M + "999"), 404, {"detail": "Medication not found"})
    expect("#87 get id=0", s.get(M + "0"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["path", "medication_id"],
                        "msg": "Input should be greater than or equal to 1", "input": "0",
                        "ctx": {"ge": 1}}]})
    expect("#88 get bad date", s.get(M + "1?date=yesterday"), 422,
           {"detail": [{"type": "date_from_datetime_parsing", "loc": ["query", "date"],
                        "msg": "Input should be a valid date or datetime, input is too short",
                        "input": "yesterday", "ctx": {"error": "input is too short"}}]})

    med_ok("#89 update dosage", s.put(M + "1", {"dosage": "150mg"}), 200,
           {"dosage": "150mg", "name": "Aspirin"}, updated=True)
    expect("#90 update max_doses_per_day=0", s.put(M + "1", {"max_doses_per_day": 0}), 422,
           {"detail": [{"type": "greater_than", "loc": ["body", "max_doses_per_day"],
                        "msg": "Input should be greater than 0", "input": 0, "ctx": {"gt": 0}}]})
    expect("#91 update missing", s.put(M + "999", {"dosage": "1"}), 404,
           {"detail": "Medication not found"})
    med_ok("#92 explicit null instructions (unchanged: updated_at stays null)",
           s.put(M + "2", {"instructions": None}), 200, {"instructions": None})
    expect("#93 name null (422, not 500)", s.put(M + "2", {"name": None}), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "name"],
                        "msg": "Input should be a valid string", "input": None}]})
    expect("max_doses_per_day null (422, not 500)", s.put(M + "2", {"max_doses_per_day": None}),
           422, {"detail": [{"type": "int_type", "loc": ["body", "max_doses_per_day"],
                             "msg": "Input should be a valid integer", "input": None}]})
    expect("path and body errors together", s.put(M + "abc", {"max_doses_per_day": 0}), 422,
           {"detail": [{"type": "int_parsing", "loc": ["path", "medication_id"],
                        "msg": INT_PARSING, "input": "abc"},
                       {"type": "greater_than", "loc": ["body", "max_doses_per_day"],
                        "msg": "Input should be greater than 0", "input": 0, "ctx": {"gt": 0}}]})
    med_ok("update instructions and max", s.put(M + "2", {"instructions": "with water",
                                                          "max_doses_per_day": 3}), 200,
           {"instructions": "with water", "max_doses_per_day": 3}, updated=True)
    med_ok("person_id in an update is ignored", s.put(M + "2", {"person_id": 2}), 200,
           {"person_id": 1}, updated=True)

    # Doses and the day counters.
    today = apilib.utc_today().isoformat()
    yesterday = (apilib.utc_today() - __import__("datetime").timedelta(days=1)).isoformat()
    d1 = s.post("/api/v1/doses/medications/1/dose")
    d2 = s.post(f"/api/v1/doses/medications/3/dose/{yesterday}?time=08:30")
    d3 = s.post(f"/api/v1/doses/medications/3/dose/{yesterday}?time=20:15")
    check("doses recorded", all(d.status == 201 for d in (d1, d2, d3)), repr((d1, d2, d3)))
    r = s.get(M + "1")
    got = r.json() or {}
    check("#140 doses_taken_today", got.get("doses_taken_today") == 1, r.text())
    check("#140 last_taken_at is the dose", got.get("last_taken_at") == d1.json()["taken_at"]
          and TS_RE.match(got.get("last_taken_at") or ""), r.text())
    r = s.get(M + f"3?date={yesterday}")
    got = r.json() or {}
    check("#142 get for a date", got.get("doses_taken_today") == 2 and
          got.get("last_taken_at") == f"{yesterday}T20:15:00Z", r.text())
    r = s.get(M + f"?date={yesterday}&timezone_offset=0")
    counts = {m["id"]: (m["doses_taken_today"], m["last_taken_at"]) for m in r.json()}
    check("#141 list for a date", counts.get(3) == (2, f"{yesterday}T20:15:00Z") and
          counts.get(1) == (0, None), repr(counts))
    r = s.get(M + f"?date={today}")
    counts = {m["id"]: m["doses_taken_today"] for m in r.json()}
    check("list for today counts today's dose only", counts.get(1) == 1 and counts.get(3) == 0,
          repr(counts))

    # Decision 1: deleting a medication keeps its doses.
    expect("#94 delete medication 5", s.delete(M + "5"), 204)
    expect("#95 delete missing", s.delete(M + "999"), 404, {"detail": "Medication not found"})
    expect("#143 delete medication with doses", s.delete(M + "3"), 204)
    expect("deleted medication: get is 404", s.get(M + "3"), 404,
           {"detail": "Medication not found"})
    r = s.get("/api/v1/doses/deleted-medications/by-name/Ibuprofen/doses")
    expect("#144 history of the deleted medication survives", r, 200)
    lst = r.json() or []
    check("#144 both doses, newest first, named, unlinked",
          [(d["medication_id"], d["medication_name"], d["taken_at"]) for d in lst] ==
          [(None, "Ibuprofen", f"{yesterday}T20:15:00Z"),
           (None, "Ibuprofen", f"{yesterday}T08:30:00Z")], r.text())
    r = s.get(f"/api/v1/doses/daily-summary/{yesterday}")
    meds = (r.json() or {}).get("medications", [])
    deleted = [m for m in meds if m.get("is_deleted")]
    check("#145 summary shows the deleted medication", deleted == [
        {"medication_id": None, "medication_name": "Ibuprofen (deleted)", "doses_taken": 2,
         "max_doses": 0, "dose_times": [f"{yesterday}T08:30:00Z", f"{yesterday}T20:15:00Z"],
         "is_deleted": True}], r.text())
    check("#145 live entries come first", meds and not meds[0].get("is_deleted"), r.text())
    # Renaming before deleting: the history carries the current name.
    m = apilib.medication(s, 2, "OldName", 2)
    s.post(f"/api/v1/doses/medications/{m['id']}/dose")
    s.put(M + str(m["id"]), {"name": "NewName"})
    s.delete(M + str(m["id"]))
    r = s.get("/api/v1/doses/deleted-medications/by-name/NewName/doses")
    check("history is filed under the name at deletion", r.status == 200 and len(r.json()) == 1,
          repr(r))
    expect("no history under the old name",
           s.get("/api/v1/doses/deleted-medications/by-name/OldName/doses"), 404,
           {"detail": "No doses found for deleted medication"})
    r = s.get("/api/v1/persons/1")
    check("medication_count follows deletions", r.json()["medication_count"] ==
          len(s.get(M + "?person_id=1").json()), r.text())


if __name__ == "__main__":
    main()
