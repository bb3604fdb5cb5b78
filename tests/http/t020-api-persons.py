#!/usr/bin/env python3
"""Black-box tests of /api/v1/persons against the real server on a fresh
database: the reference's samples #10-#61 and #154-#160 (shapes, key order,
status codes, details, 422 bodies), our decisions (trailing slash, 422 for
what crashed the reference), and the business rules (first person default,
set-default, last/default person, cascade on delete)."""

import apilib
from apilib import PERSON_KEYS, PERSON_STATS_KEYS, TS_SECONDS_RE, check, expect

P = "/api/v1/persons/"


def person_ok(name, resp, status, want, with_count=False, updated=False):
    """want: the person's fields without timestamps; checks order and values."""
    keys = PERSON_STATS_KEYS if with_count else PERSON_KEYS
    if not expect(name, resp, status, keys=keys):
        return None
    got = resp.json()
    for k, v in want.items():
        check(f"{name}: {k}", got.get(k) == v, f"got {got.get(k)!r}, want {v!r}")
    check(f"{name}: created_at", TS_SECONDS_RE.match(got.get("created_at") or ""),
          got.get("created_at"))
    if updated:
        check(f"{name}: updated_at set", TS_SECONDS_RE.match(got.get("updated_at") or ""),
              got.get("updated_at"))
    else:
        check(f"{name}: updated_at null", got.get("updated_at") is None, got.get("updated_at"))
    return got


def main():
    s = apilib.Server("t020_persons")
    try:
        run(s)
    finally:
        s.stop()
    apilib.report()


def run(s):
    expect("#10 list, empty DB", s.get(P), 200, [])
    # Decision 7: collection routes answer without the trailing slash too.
    expect("#11 list without trailing slash", s.get("/api/v1/persons"), 200, [])

    alice = person_ok("#13 create full (first person becomes default)",
                      s.post(P, {"first_name": "Alice", "last_name": "Smith",
                                 "date_of_birth": "1980-05-06", "notes": "Primary"}), 201,
                      {"first_name": "Alice", "last_name": "Smith",
                       "date_of_birth": "1980-05-06", "notes": "Primary", "id": 1,
                       "is_default": True, "name": "Alice Smith"})
    person_ok("#14 create with legacy name only", s.post(P, {"name": "Bob Jones"}), 201,
              {"first_name": "Bob Jones", "last_name": None, "date_of_birth": None,
               "notes": None, "id": 2, "is_default": False, "name": "Bob Jones"})
    person_ok("#15 create first_name only", s.post(P, {"first_name": "Carol"}), 201,
              {"first_name": "Carol", "id": 3, "name": "Carol", "is_default": False})
    person_ok("#16 first_name wins over name",
              s.post(P, {"name": "Ignored Name", "first_name": "Dave", "last_name": "Brown"}),
              201, {"first_name": "Dave", "last_name": "Brown", "id": 4, "name": "Dave Brown"})
    person_ok("#17 zero-time datetime accepted for date_of_birth",
              s.post(P, {"first_name": "Erin", "date_of_birth": "1990-01-02T00:00:00"}), 201,
              {"first_name": "Erin", "date_of_birth": "1990-01-02", "id": 5})

    value_error = "Value error, Either first_name or name must be provided"
    for label, body in (("#18 create: empty object", {}),
                        ("#19 create: last_name only", {"last_name": "OnlyLast"}),
                        ("#20 create: empty-string first_name", {"first_name": ""})):
        expect(label, s.post(P, body), 422,
               {"detail": [{"type": "value_error", "loc": ["body"], "msg": value_error,
                            "input": body, "ctx": {"error": {}}}]})
    expect("#21 bad date_of_birth",
           s.post(P, {"first_name": "F", "date_of_birth": "not-a-date"}), 422,
           {"detail": [{"type": "date_from_datetime_parsing", "loc": ["body", "date_of_birth"],
                        "msg": "Input should be a valid date or datetime, invalid character in "
                               "year", "input": "not-a-date",
                        "ctx": {"error": "invalid character in year"}}]})
    expect("#22 impossible date_of_birth",
           s.post(P, {"first_name": "F", "date_of_birth": "2020-13-01"}), 422,
           {"detail": [{"type": "date_from_datetime_parsing", "loc": ["body", "date_of_birth"],
                        "msg": "Input should be a valid date or datetime, month value is outside "
                               "expected range of 1-12", "input": "2020-13-01",
                        "ctx": {"error": "month value is outside expected range of 1-12"}}]})
    expect("#23 non-zero time for date_of_birth",
           s.post(P, {"first_name": "F", "date_of_birth": "1990-01-02T10:00:00"}), 422,
           {"detail": [{"type": "date_from_datetime_inexact", "loc": ["body", "date_of_birth"],
                        "msg": "Datetimes provided to dates should have zero time - e.g. be "
                               "exact dates", "input": "1990-01-02T10:00:00"}]})
    expect("#24 first_name not a string", s.post(P, {"first_name": 123}), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "first_name"],
                        "msg": "Input should be a valid string", "input": 123}]})
    expect("#25 no body", s.post(P), 422,
           {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required",
                        "input": None}]})
    expect("#26 malformed JSON",
           s.post(P, b'{"first_name":', headers={"Content-Type": "application/json"}), 422,
           {"detail": [{"type": "json_invalid", "loc": ["body", 14], "msg": "JSON decode error",
                        "input": {}, "ctx": {"error": "Expecting value"}}]})
    # Decision 5: what gave the reference a 500 is a 422 here.
    model_type = "Input should be a valid dictionary or object to extract fields from"
    expect("#27 JSON array body (422, not 500)", s.post(P, []), 422,
           {"detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": model_type,
                        "input": []}]})
    expect("#28 JSON as text/plain (422, not 500)",
           s.post(P, '{"first_name":"T"}', headers={"Content-Type": "text/plain"}), 422,
           {"detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": model_type,
                        "input": '{"first_name":"T"}'}]})
    person_ok("#29 JSON without Content-Type", s.post(P, b'{"first_name":"T"}'), 201,
              {"first_name": "T", "id": 6, "name": "T"})

    r = s.get(P)
    expect("#30 list with medication_count", r, 200)
    lst = r.json() or []
    check("#30 six persons in id order", [p["id"] for p in lst] == [1, 2, 3, 4, 5, 6],
          r.text()[:300])
    check("#30 key order", all(list(p.keys()) == PERSON_STATS_KEYS for p in lst))
    check("#30 medication_count 0", all(p["medication_count"] == 0 for p in lst))
    r = s.get(P + "?skip=1&limit=2")
    check("#31 skip=1&limit=2", r.status == 200 and [p["id"] for p in r.json()] == [2, 3],
          repr(r))
    expect("#32 skip=-1", s.get(P + "?skip=-1"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["query", "skip"],
                        "msg": "Input should be greater than or equal to 0", "input": "-1",
                        "ctx": {"ge": 0}}]})
    expect("#33 limit=0", s.get(P + "?limit=0"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["query", "limit"],
                        "msg": "Input should be greater than or equal to 1", "input": "0",
                        "ctx": {"ge": 1}}]})
    expect("#34 limit=1001", s.get(P + "?limit=1001"), 422,
           {"detail": [{"type": "less_than_equal", "loc": ["query", "limit"],
                        "msg": "Input should be less than or equal to 1000", "input": "1001",
                        "ctx": {"le": 1000}}]})
    int_parsing = "Input should be a valid integer, unable to parse string as an integer"
    expect("#35 skip=abc", s.get(P + "?skip=abc"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["query", "skip"], "msg": int_parsing,
                        "input": "abc"}]})
    expect("#36 limit=1.5", s.get(P + "?limit=1.5"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["query", "limit"], "msg": int_parsing,
                        "input": "1.5"}]})

    person_ok("#37 get one", s.get(P + "1"), 200,
              {"first_name": "Alice", "id": 1, "is_default": True, "medication_count": 0,
               "name": "Alice Smith"}, with_count=True)
    expect("#38 get missing", s.get(P + "999"), 404, {"detail": "Person not found"})
    expect("#39 get id=0", s.get(P + "0"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["path", "person_id"],
                        "msg": "Input should be greater than or equal to 1", "input": "0",
                        "ctx": {"ge": 1}}]})
    expect("#40 get id=abc", s.get(P + "abc"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["path", "person_id"], "msg": int_parsing,
                        "input": "abc"}]})
    expect("#41 get with trailing slash", s.get(P + "1/"), 404, {"detail": "Not Found"})

    person_ok("#42 update last_name+notes (updated_at set)",
              s.put(P + "2", {"last_name": "Jones-Updated", "notes": "n"}), 200,
              {"first_name": "Bob Jones", "last_name": "Jones-Updated", "notes": "n",
               "name": "Bob Jones Jones-Updated"}, updated=True)
    person_ok("#43 update with legacy name (last_name kept)", s.put(P + "2", {"name": "Robert"}),
              200, {"first_name": "Robert", "last_name": "Jones-Updated",
                    "name": "Robert Jones-Updated"}, updated=True)
    person_ok("#44 update empty object (no change, updated_at stays null)", s.put(P + "3", {}),
              200, {"first_name": "Carol", "id": 3})
    person_ok("#44b update with the same value keeps updated_at null",
              s.put(P + "3", {"first_name": "Carol"}), 200, {"first_name": "Carol"})
    person_ok("#45 update explicit null notes", s.put(P + "2", {"notes": None}), 200,
              {"notes": None, "first_name": "Robert"}, updated=True)
    expect("#46 update missing person", s.put(P + "999", {}), 404, {"detail": "Person not found"})
    expect("#47 update bad date", s.put(P + "2", {"date_of_birth": "bad"}), 422,
           {"detail": [{"type": "date_from_datetime_parsing", "loc": ["body", "date_of_birth"],
                        "msg": "Input should be a valid date or datetime, input is too short",
                        "input": "bad", "ctx": {"error": "input is too short"}}]})
    expect("#48 update no body", s.put(P + "2"), 422,
           {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required",
                        "input": None}]})
    expect("#49 update first_name null (422, not 500)", s.put(P + "2", {"first_name": None}), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "first_name"],
                        "msg": "Input should be a valid string", "input": None}]})
    person_ok("#50 get after failed update", s.get(P + "2"), 200,
              {"first_name": "Robert", "last_name": "Jones-Updated", "notes": None},
              with_count=True, updated=True)
    person_ok("update date_of_birth then clear it", s.put(P + "4", {"date_of_birth": 0}), 200,
              {"date_of_birth": "1970-01-01"}, updated=True)
    person_ok("update date_of_birth null", s.put(P + "4", {"date_of_birth": None}), 200,
              {"date_of_birth": None}, updated=True)

    person_ok("#51 set-default", s.put(P + "3/set-default"), 200,
              {"first_name": "Carol", "id": 3, "is_default": True}, updated=True)
    r = s.get(P)
    lst = r.json() or []
    check("#52 only Carol is default", [p["id"] for p in lst if p["is_default"]] == [3], r.text())
    check("#52 former default got updated_at",
          bool(lst) and lst[0]["id"] == 1 and lst[0]["updated_at"] is not None, r.text()[:300])
    expect("#53 set-default missing", s.put(P + "999/set-default"), 404,
           {"detail": "Person not found"})
    expect("#54 set-default id=0", s.put(P + "0/set-default"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["path", "person_id"],
                        "msg": "Input should be greater than or equal to 1", "input": "0",
                        "ctx": {"ge": 1}}]})
    expect("#55 PATCH (method not allowed)", s.request("PATCH", P + "1", {}), 405,
           {"detail": "Method Not Allowed"})
    expect("#56 delete default person", s.delete(P + "3"), 400,
           {"detail": "Cannot delete the default person. Set another person as default first."})
    expect("#57 delete missing", s.delete(P + "999"), 404, {"detail": "Person not found"})
    expect("#58 delete id=abc", s.delete(P + "abc"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["path", "person_id"], "msg": int_parsing,
                        "input": "abc"}]})
    r = s.delete(P + "5")
    expect("#59 delete non-default person", r, 204)
    check("#59 204 has no body", r.body == b"", repr(r))
    check("#59 204 has no content-length", "content-length" not in r.headers, r.headers)
    expect("#60 delete again", s.delete(P + "5"), 404, {"detail": "Person not found"})
    expect("#61 delete person 6", s.delete(P + "6"), 204)

    # Deleting a person removes their medications and those medications' doses.
    med = apilib.medication(s, 4, "Zinc", 3)
    dose = s.post(f"/api/v1/doses/medications/{med['id']}/dose")
    check("dose for Dave's medication", dose.status == 201, repr(dose))
    check("person list counts the medication",
          [p["medication_count"] for p in s.get(P).json() if p["id"] == 4] == [1])
    expect("#154 delete person with a medication", s.delete(P + "4"), 204)
    r = s.get("/api/v1/medications/")
    check("#155 their medication is gone", all(m["id"] != med["id"] for m in r.json()), r.text())
    expect("their dose history is gone", s.get(f"/api/v1/doses/medications/{med['id']}/doses"),
           404, {"detail": "Medication not found"})
    expect("their dose is gone", s.delete(f"/api/v1/doses/{dose.json()['id']}"), 404,
           {"detail": "Dose not found"})
    expect("#156 delete 1", s.delete(P + "1"), 204)
    expect("#157 delete 2", s.delete(P + "2"), 204)
    r = s.get(P)
    check("#158 only the default is left",
          r.status == 200 and [(p["id"], p["is_default"]) for p in r.json()] == [(3, True)],
          r.text())
    expect("#159 delete last person", s.delete(P + "3"), 400,
           {"detail": "Cannot delete the last person in the system"})
    person_ok("#160 set-default on the default person", s.put(P + "3/set-default"), 200,
              {"first_name": "Carol", "is_default": True}, updated=True)

    # Create without trailing slash (decision 7) and the default rule again.
    person_ok("create without trailing slash", s.post("/api/v1/persons", {"first_name": "Zed"}),
              201, {"first_name": "Zed", "is_default": False})
    person_ok("create: name empty, first_name given",
              s.post(P, {"name": "", "first_name": "Z"}), 201, {"first_name": "Z"})
    person_ok("create: legacy name clears last_name",
              s.post(P, {"name": "N", "last_name": "L"}), 201,
              {"first_name": "N", "last_name": None, "name": "N"})
    person_ok("create: date_of_birth as a timestamp", s.post(P, {"first_name": "Q",
                                                                 "date_of_birth": 86400}),
              201, {"date_of_birth": "1970-01-02"})
    expect("create: date_of_birth true", s.post(P, {"first_name": "Q", "date_of_birth": True}),
           422, {"detail": [{"type": "date_type", "loc": ["body", "date_of_birth"],
                             "msg": "Input should be a valid date", "input": True}]})
    expect("create: first_name a list", s.post(P, {"first_name": ["a"]}), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "first_name"],
                        "msg": "Input should be a valid string", "input": ["a"]}]})
    expect("create: notes a number", s.post(P, {"first_name": "Q", "notes": 5}), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "notes"],
                        "msg": "Input should be a valid string", "input": 5}]})
    expect("create: body null", s.post(P, b"null", headers={"Content-Type": "application/json"}),
           422, {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required",
                             "input": None}]})
    for body in (b'"str"', b"5"):
        r = s.post(P, body, headers={"Content-Type": "application/json"})
        expect(f"create: body {body.decode()} (422, not 500)", r, 422,
               {"detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": model_type,
                            "input": __import__("json").loads(body)}]})
    long_name = "x" * 256
    r = s.post(P, {"first_name": long_name})
    expect("create: first_name over 255 characters", r, 422,
           {"detail": [{"type": "string_too_long", "loc": ["body", "first_name"],
                        "msg": "String should have at most 255 characters", "input": long_name,
                        "ctx": {"max_length": 255}}]})
    person_ok("create: 255 characters (multi-byte) fit",
              s.post(P, {"first_name": "é" * 255}), 201, {"first_name": "é" * 255})
    r = s.post(P, {"first_name": "nul\u0000byte"})
    check("create: NUL in a name is 422", r.status == 422, repr(r))
    r = s.post(P, {"first_name": "Eve", "is_default": True})
    person_ok("create: is_default in the body is ignored", r, 201,
              {"first_name": "Eve", "is_default": False})
    check("exactly one default person", sum(p["is_default"] for p in s.get(P).json()) == 1)


if __name__ == "__main__":
    main()
