#!/usr/bin/env python3
"""The reference's validation behaviour, probe by probe: the 46 "extra
validation samples" (pydantic's lax integer and date coercions, exact 422
bodies), errors in path, query, body order, JSON decode errors with Python's
own message and character position (checked against this interpreter's json
module), content types, and decision 5 (422 instead of 500 for integers
beyond 64 bits, NaN/Infinity, non-object bodies, explicit nulls)."""

import json
import urllib.parse

import apilib
from apilib import check, expect

INT_PARSING = "Input should be a valid integer, unable to parse string as an integer"
MODEL_TYPE = "Input should be a valid dictionary or object to extract fields from"


def q(v):
    return urllib.parse.quote(v, safe="")


def query_int_probes(s):
    today = apilib.utc_today().isoformat()
    accepted = [" 3", "1_0", "+5", "1.0", "-0", "007", "1.00", "3 "]
    refused = ["1e3", "", "0x1", "true", "1__0", "_1", "1_", "1.5", ".0", "- 1", "+-1"]
    for v in accepted:
        r = s.get(f"/api/v1/persons/?skip={q(v)}")
        check(f"skip={v!r} accepted", r.status == 200 and isinstance(r.json(), list), repr(r))
        expect(f"timezone_offset={v!r} accepted",
               s.get(f"/api/v1/doses/daily-summary?timezone_offset={q(v)}"), 200,
               {"date": today, "medications": []})
    for v in refused:
        expect(f"skip={v!r} refused", s.get(f"/api/v1/persons/?skip={q(v)}"), 422,
               {"detail": [{"type": "int_parsing", "loc": ["query", "skip"], "msg": INT_PARSING,
                            "input": v}]})
        expect(f"timezone_offset={v!r} refused",
               s.get(f"/api/v1/doses/daily-summary?timezone_offset={q(v)}"), 422,
               {"detail": [{"type": "int_parsing", "loc": ["query", "timezone_offset"],
                            "msg": INT_PARSING, "input": v}]})
    # Decision 5: beyond 64 bits is a 422, not the reference's 500.
    big = "99999999999999999999"
    expect("skip beyond 64 bits", s.get(f"/api/v1/persons/?skip={big}"), 422,
           {"detail": [{"type": "less_than_equal", "loc": ["query", "skip"],
                        "msg": "Input should be less than or equal to 9223372036854775807",
                        "input": big, "ctx": {"le": 9223372036854775807}}]})
    expect("timezone_offset beyond 64 bits",
           s.get(f"/api/v1/doses/daily-summary?timezone_offset={big}"), 422,
           {"detail": [{"type": "less_than", "loc": ["query", "timezone_offset"],
                        "msg": "Input should be less than 1440", "input": big,
                        "ctx": {"lt": 1440}}]})
    expect("path id beyond 64 bits", s.get(f"/api/v1/persons/{big}"), 422,
           {"detail": [{"type": "less_than_equal", "loc": ["path", "person_id"],
                        "msg": "Input should be less than or equal to 9223372036854775807",
                        "input": big, "ctx": {"le": 9223372036854775807}}]})
    expect("negative path id beyond 64 bits", s.get(f"/api/v1/persons/-{big}"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["path", "person_id"],
                        "msg": "Input should be greater than or equal to 1", "input": "-" + big,
                        "ctx": {"ge": 1}}]})
    expect("int64 max is a valid (missing) id", s.get("/api/v1/persons/9223372036854775807"),
           404, {"detail": "Person not found"})
    r = s.get("/api/v1/persons/?limit=abc&limit=5")
    check("repeated query parameter: the last wins", r.status == 200, repr(r))


def date_probes(s):
    ok = {"2024-01-01T00:00": "2024-01-01", "2024-01-01T00:00:00Z": "2024-01-01",
          "0": "1970-01-01", "86400": "1970-01-02", "2024-01-01 00:00:00+05:30": "2024-01-01",
          "2024-02-29": "2024-02-29", "2024-01-01t00:00:00.000000": "2024-01-01"}
    for v, want in ok.items():
        expect(f"summary date {v!r}", s.get(f"/api/v1/doses/daily-summary/{q(v)}"), 200,
               {"date": want, "medications": []})
    inexact = ["1700000000", "2024-01-01T00:00:00.1234567", "2024-01-01T10:00"]
    for v in inexact:
        expect(f"summary date {v!r} inexact", s.get(f"/api/v1/doses/daily-summary/{q(v)}"), 422,
               {"detail": [{"type": "date_from_datetime_inexact", "loc": ["path", "date"],
                            "msg": "Datetimes provided to dates should have zero time - e.g. be "
                                   "exact dates", "input": v}]})
    bad = {"2024-01-01x": "invalid datetime separator, expected `T`, `t`, `_` or space",
           "2024-1-1": "input is too short",
           "2024-01-01T24:00": "hour value is outside expected range of 0-23",
           "2023-02-29": "day value is outside expected range",
           "2024-13-01": "month value is outside expected range of 1-12",
           "2024.01.01": "invalid date separator, expected `-`",
           "abcd-01-01": "invalid character in year"}
    for v, reason in bad.items():
        expect(f"summary date {v!r} refused", s.get(f"/api/v1/doses/daily-summary/{q(v)}"), 422,
               {"detail": [{"type": "date_from_datetime_parsing", "loc": ["path", "date"],
                            "msg": f"Input should be a valid date or datetime, {reason}",
                            "input": v, "ctx": {"error": reason}}]})
    expect("empty date segment is not a route", s.get("/api/v1/doses/daily-summary/"), 404,
           {"detail": "Not Found"})


def body_probes(s):
    P = "/api/v1/persons/"
    M = "/api/v1/medications/"
    r = s.post(P, {"first_name": "Q", "date_of_birth": 0})
    check("date_of_birth 0 is 1970-01-01",
          r.status == 201 and r.json()["date_of_birth"] == "1970-01-01", repr(r))
    expect("date_of_birth true", s.post(P, {"first_name": "Q", "date_of_birth": True}), 422,
           {"detail": [{"type": "date_type", "loc": ["body", "date_of_birth"],
                        "msg": "Input should be a valid date", "input": True}]})
    expect("date_of_birth 1.5 (a timestamp that is not midnight)",
           s.post(P, {"first_name": "Q", "date_of_birth": 1.5}), 422,
           {"detail": [{"type": "date_from_datetime_inexact", "loc": ["body", "date_of_birth"],
                        "msg": "Datetimes provided to dates should have zero time - e.g. be "
                               "exact dates", "input": 1.5}]})
    expect("first_name list", s.post(P, {"first_name": ["a"]}), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "first_name"],
                        "msg": "Input should be a valid string", "input": ["a"]}]})
    expect("name 5 (copied to first_name, both refused)", s.post(P, {"name": 5}), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "first_name"],
                        "msg": "Input should be a valid string", "input": 5},
                       {"type": "string_type", "loc": ["body", "name"],
                        "msg": "Input should be a valid string", "input": 5}]})
    r = s.post(M, {"person_id": 1, "name": "a", "dosage": "b", "frequency": "c",
                   "max_doses_per_day": True})
    check("max_doses_per_day true -> 1", r.status == 201 and r.json()["max_doses_per_day"] == 1,
          repr(r))
    r = s.post(M, {"person_id": 1, "name": "a", "dosage": "b", "frequency": "c",
                   "max_doses_per_day": "20.0"})
    check("max_doses_per_day '20.0' -> 20",
          r.status == 201 and r.json()["max_doses_per_day"] == 20, repr(r))
    r = s.post(M, {"person_id": 1, "name": "a", "dosage": "b", "frequency": "c",
                   "max_doses_per_day": " 3 "})
    check("max_doses_per_day ' 3 ' -> 3",
          r.status == 201 and r.json()["max_doses_per_day"] == 3, repr(r))
    expect("name 1 plus missing fields",
           s.post(M, {"name": 1}), 422,
           {"detail": [{"type": "string_type", "loc": ["body", "name"],
                        "msg": "Input should be a valid string", "input": 1}] +
            [{"type": "missing", "loc": ["body", f], "msg": "Field required",
              "input": {"name": 1}}
             for f in ("dosage", "frequency", "max_doses_per_day", "person_id")]})
    expect("max_doses_per_day a list", s.post(M, {"person_id": 1, "name": "a", "dosage": "b",
                                                  "frequency": "c", "max_doses_per_day": [1]}),
           422, {"detail": [{"type": "int_type", "loc": ["body", "max_doses_per_day"],
                             "msg": "Input should be a valid integer", "input": [1]}]})
    expect("person_id 1e19 (beyond 64 bits)",
           s.post(M, {"person_id": 1e19, "name": "a", "dosage": "b", "frequency": "c",
                      "max_doses_per_day": 1}), 422)
    r = s.post(M, b'{"person_id": 123456789012345678901234567890, "name": "a", "dosage": "b", '
                  b'"frequency": "c", "max_doses_per_day": 1}',
               headers={"Content-Type": "application/json"})
    expect("person_id as a huge integer", r, 422)
    check("huge integer: a range error", (r.json() or {}).get("detail", [{}])[0].get("type") ==
          "less_than_equal", r.text())
    # Duplicate keys: the last one wins, as in Python.
    r = s.post(P, b'{"first_name": "One", "first_name": "Two"}',
               headers={"Content-Type": "application/json"})
    check("duplicate key: the last wins", r.status == 201 and r.json()["first_name"] == "Two",
          repr(r))
    r = s.post(P, '{"first_name": "\\ud83d\\ude00 \\u00e9"}'.encode(),
               headers={"Content-Type": "application/json"})
    check("surrogate pair escapes decode", r.status == 201 and
          r.json()["first_name"] == "\U0001F600 \u00e9", repr(r))


def json_errors(s):
    """Our message and position must be Python's own."""
    P = "/api/v1/persons/"
    docs = ['{"first_name":', '{"first_name": "x",}', '{"first_name" "x"}', '{first_name: 1}',
            '[1, 2', '{"a": [1, 2,]}', '{"a": tru}', '{"a": "\\q"}', '{"a": "\\u12"}',
            '{"a": "x\ty"}', '{"a": "unterminated', '{} {}', '   ', '{"a": 01}', '{"a": -}',
            '{"é": "ü", "b": }', '{"a": 1.}', '{"a": .5}', '"abc', '{"a" : 1 , }',
            '\ufeff{"first_name": 1 x}']
    for doc in docs:
        try:
            json.loads(doc.lstrip("\ufeff"))
            continue
        except json.JSONDecodeError as e:
            want = {"detail": [{"type": "json_invalid", "loc": ["body", e.pos],
                                "msg": "JSON decode error", "input": {},
                                "ctx": {"error": e.msg}}]}
        expect(f"json error {doc!r}", s.post(P, doc.encode("utf-8"),
                                             headers={"Content-Type": "application/json"}),
               422, want)
    for doc in ('{"first_name": NaN}', '{"first_name": Infinity}', '{"a": -Infinity}',
                '{"max_doses_per_day": 1e400}'):
        r = s.post(P, doc, headers={"Content-Type": "application/json"})
        check(f"{doc}: 422 (decision 5)", r.status == 422 and
              r.json()["detail"][0]["type"] == "json_invalid", repr(r))
    expect("not UTF-8", s.post(P, b'{"first_name": "\xff\xfe"}',
                               headers={"Content-Type": "application/json"}), 400,
           {"detail": "There was an error parsing the body"})
    expect("nested too deeply", s.post(P, b"[" * 5000 + b"]" * 5000,
                                       headers={"Content-Type": "application/json"}), 400,
           {"detail": "There was an error parsing the body"})


def content_types(s):
    P = "/api/v1/persons/"
    for ct in ("application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
               "application/vnd.api+json", "application/merge-patch+json"):
        r = s.post(P, b'{"first_name": "CT"}', headers={"Content-Type": ct})
        check(f"content type {ct!r} is JSON", r.status == 201, repr(r))
    for ct in ("text/plain", "application/x-www-form-urlencoded", "json", "application/xml",
               "multipart/form-data; boundary=x", "application/json/x"):
        expect(f"content type {ct!r} is not JSON (422, not 500)",
               s.post(P, b'{"first_name": "CT"}', headers={"Content-Type": ct}), 422,
               {"detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": MODEL_TYPE,
                            "input": '{"first_name": "CT"}'}]})
    r = s.post(P, b'{"first_name": "\xff"}', headers={"Content-Type": "text/plain"})
    check("non-JSON, non-UTF-8 body: 422 with a replacement character",
          r.status == 422 and r.json()["detail"][0]["input"] == '{"first_name": "\ufffd"}',
          repr(r))
    r = s.delete("/api/v1/persons/999", body=b"garbage{", headers={"Content-Type":
                                                                   "application/json"})
    expect("a body on a route without one is ignored", r, 404, {"detail": "Person not found"})


def main():
    s = apilib.Server("t020_valid")
    try:
        apilib.person(s, "Vera")
        # Start from a summary with no medications for the exact-body probes.
        query_int_probes(s)
        date_probes(s)
        body_probes(s)
        json_errors(s)
        content_types(s)
        check("server still answers", s.alive())
    finally:
        s.stop()
    apilib.report()


if __name__ == "__main__":
    main()
