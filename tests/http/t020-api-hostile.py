#!/usr/bin/env python3
"""Hostile input against the real server: bodies over the limit, garbage
bytes, deep nesting, SQL-looking text (stored and returned verbatim, tables
intact), 64-bit overflows, odd Unicode, huge objects, a burst of random
payloads; after each group the server must still answer, never with a 5xx
for client input, and stop cleanly (the suite runs on the sanitizer build)."""

import json
import random

import apilib
from apilib import check, expect

P = "/api/v1/persons/"
M = "/api/v1/medications/"


def oversized(s):
    big = b'{"first_name": "' + b"a" * (1536 * 1024) + b'"}'
    r = s.post(P, big, headers={"Content-Type": "application/json"})
    check("1.5 MiB body: 413", r.status == 413, repr(r))
    check("server answers after a 1.5 MiB body", s.alive())
    # Under the limit but too long for a column: 422, not a database error.
    notes = "n" * (900 * 1024)
    r = s.post(P, {"first_name": "Long", "notes": notes})
    check("900 KiB notes: 422 string_too_long", r.status == 422 and
          r.json()["detail"][0]["type"] == "string_too_long", repr(r)[:200])
    check("server answers", s.alive())


def sql_text(s):
    texts = ["Robert'); DROP TABLE persons;--", "1 OR 1=1; --", "x' OR '1'='1",
             "\"; DELETE FROM doses; --", "%_\\' \\\" `ls`", "$1 $$ ?; SELECT pg_sleep(5)"]
    for t in texts:
        r = s.post(P, {"first_name": t, "last_name": t, "notes": t})
        ok = r.status == 201 and r.json()["first_name"] == t and r.json()["notes"] == t
        check(f"stored verbatim: {t!r}", ok, repr(r))
        if ok:
            pid = r.json()["id"]
            g = s.get(f"{P}{pid}").json()
            check(f"read back verbatim: {t!r}", g["first_name"] == t and g["last_name"] == t)
            m = s.post(M, {"person_id": pid, "name": t, "dosage": t, "frequency": t,
                           "max_doses_per_day": 1})
            check(f"medication text verbatim: {t!r}", m.status == 201 and m.json()["name"] == t,
                  repr(m))
    r = s.get(P + "?limit=1000")
    check("persons table intact", r.status == 200 and len(r.json()) >= len(texts), repr(r)[:200])
    quoted = "x%27%20OR%20%271%27%3D%271"
    expect("SQL in a path segment", s.get(f"/api/v1/doses/deleted-medications/by-name/{quoted}"
                                          "/doses"), 404,
           {"detail": "No doses found for deleted medication"})
    expect("SQL in a query value", s.get(P + "?skip=1%3B%20DROP%20TABLE%20persons"), 422)
    check("persons still there", s.get(P).status == 200)


def overflow(s):
    for path in (P + "?skip=9223372036854775807", M + "?skip=9223372036854775807&limit=1000",
                 "/api/v1/doses/medications/1/doses?skip=9223372036854775807"):
        r = s.get(path)
        check(f"{path}: no 5xx", r.status < 500, repr(r))
    for v in ("9223372036854775808", "-9223372036854775809", "1" * 5000):
        r = s.get(P + v)
        check(f"id {v[:25]}: 422", r.status == 422, repr(r)[:200])
        r = s.post(M, b'{"person_id": ' + v.encode() + b', "name": "a", "dosage": "b", '
                   b'"frequency": "c", "max_doses_per_day": 1}',
                   headers={"Content-Type": "application/json"})
        check(f"body person_id {v[:25]}: 422", r.status == 422, repr(r)[:200])
    r = s.post(M, b'{"person_id": 1, "name": "a", "dosage": "b", "frequency": "c", '
               b'"max_doses_per_day": 1e308}', headers={"Content-Type": "application/json"})
    check("max_doses_per_day 1e308: 422", r.status == 422, repr(r)[:200])
    check("server answers", s.alive())


def unicode(s):
    for t in ("\U0001F48A Pill", "名前", "Zoë \u200b", "\u202etxet", "a\u0301"):
        r = s.post(P, {"first_name": t})
        check(f"unicode {t!r} round-trips", r.status == 201 and r.json()["first_name"] == t,
              repr(r))
    r = s.post(P, b'{"first_name": "ctl\\u0001\\u001f"}',
               headers={"Content-Type": "application/json"})
    check("escaped control characters are text", r.status == 201 and
          r.json()["first_name"] == "ctl\u0001\u001f", repr(r))
    r = s.post(P, b'{"first_name": "raw\x01"}', headers={"Content-Type": "application/json"})
    check("raw control character: json_invalid", r.status == 422 and
          r.json()["detail"][0]["ctx"]["error"] == "Invalid control character at", repr(r))
    r = s.post(P, b'{"first_name": "lone \\ud800"}',
               headers={"Content-Type": "application/json"})
    check("lone surrogate escape: stored as U+FFFD, no 500", r.status == 201 and
          r.json()["first_name"] == "lone \ufffd", repr(r))


def shapes(s):
    many = {"first_name": "Keys"}
    many.update({f"k{i}": i for i in range(20000)})
    r = s.post(P, many)
    check("20000 extra keys: created, no 5xx", r.status == 201, repr(r)[:200])
    r = s.post(P, b"[" * 200 + b"]" * 200, headers={"Content-Type": "application/json"})
    check("200 nested arrays: 422 model type", r.status == 422, repr(r)[:200])
    r = s.post(P, b"{" * 3000, headers={"Content-Type": "application/json"})
    check("3000 open braces: 4xx", 400 <= r.status < 500, repr(r)[:200])
    r = s.post(P, b"\x00\x01\x02\x03", headers={"Content-Type": "application/json"})
    check("binary body: 4xx", 400 <= r.status < 500, repr(r)[:200])
    r = s.post(P, "{}" + " " * 100000, headers={"Content-Type": "application/json"})
    check("trailing white space is fine (value_error)", r.status == 422, repr(r)[:200])
    r = s.get(P + "?" + "&".join(f"p{i}=v" for i in range(200)))
    check("200 query parameters: no 5xx", r.status < 500, repr(r)[:200])
    r = s.get(P + "?skip=" + "9" * 3000)
    check("3000-digit query value: 4xx", 400 <= r.status < 500, repr(r)[:200])


def burst(s):
    rnd = random.Random(20)
    atoms = [b"{", b"}", b"[", b"]", b'"', b":", b",", b"null", b"true", b"1e9", b"-",
             b'"first_name"', b'"person_id"', b'"timezone_offset"', b"\\u0000", b"\xff", b" ",
             b"0", b"99999999999999999999999", b"NaN", b"\\", b"\n", b'"x"']
    targets = [("POST", P), ("PUT", P + "1"), ("POST", M), ("PUT", M + "1"),
               ("POST", "/api/v1/doses/medications/1/dose")]
    worst = 0
    bad = []
    for i in range(300):
        body = b"".join(rnd.choice(atoms) for _ in range(rnd.randint(0, 40)))
        method, path = rnd.choice(targets)
        ct = rnd.choice(["application/json", "text/plain", None])
        r = s.request(method, path, body, headers={"Content-Type": ct} if ct else {})
        worst = max(worst, r.status)
        if r.status >= 500:
            bad.append((method, path, body, r.status))
    check("300 random bodies: no 5xx", not bad, repr(bad[:5]))
    check("server answers after the burst", s.alive())


def main():
    s = apilib.Server("t020_hostile")
    try:
        apilib.person(s, "Host")
        apilib.medication(s, 1, "Target", 20)
        oversized(s)
        sql_text(s)
        overflow(s)
        unicode(s)
        shapes(s)
        burst(s)
        check("database still serves a summary",
              s.get("/api/v1/doses/daily-summary").status == 200)
    finally:
        s.stop()
    apilib.report()


if __name__ == "__main__":
    main()
