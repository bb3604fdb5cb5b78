#!/usr/bin/env python3
"""Which limit answers what (issue 12, finding 9), on the dialect in
MT_TEST_DIALECT, against the real `meditrack serve`:
  - a response larger than the request's memory (the server's own ceiling,
    4 MiB plus MAX_BODY_BYTES) is a server condition: 503 with a JSON
    `detail`, never 413 and never a plain-text 500; the server keeps serving;
  - 413 stays for the client's request: a body over MAX_BODY_BYTES, and a
    body within it whose parsed JSON does not fit the request's memory.
Python 3 stdlib only; last line "N passed, N failed"."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
from apilib import check  # noqa: E402

# Notes take at most 10000 characters; four-byte ones make 40000 bytes, under
# MariaDB's TEXT limit of 65535, so 150 persons hold 6 MB of notes: more than
# a 5 MiB request arena can answer in one list.
NOTES = 10000
PERSONS = 150
EMOJI = ["\U0001F600", "\U0001F48A", "\U0001F489"]


def main():
    s = apilib.Server("limits", env={"LOG_LEVEL": "warning"})
    try:
        made = 0
        for i in range(PERSONS):
            r = s.post("/api/v1/persons/", {"first_name": f"P{i}", "notes": EMOJI[i % 3] * NOTES})
            made += r.status == 201
        check(f"{PERSONS} persons with {NOTES * 4}-byte notes created", made == PERSONS, made)

        r = s.get("/api/v1/persons/?limit=1000")
        check("a response over the request's memory is not 413", r.status != 413, repr(r)[:300])
        check("a response over the request's memory is 503", r.status == 503, repr(r)[:300])
        check("the 503 is JSON with a detail",
              r.headers.get("content-type") == "application/json"
              and isinstance((r.json() or {}).get("detail"), str), repr(r)[:300])

        # A smaller page of the same data fits and is served.
        r = s.get("/api/v1/persons/?limit=10")
        check("a page that fits: 200 with 10 persons",
              r.status == 200 and len(r.json() or []) == 10, repr(r)[:300])
        check("the server still answers /health", s.alive())

        # The client's request too large: 413, as before.
        big = b"{" + b'"first_name":"' + b"x" * (1 << 20) + b'"}'
        r = s.post("/api/v1/persons/", big, headers={"Content-Type": "application/json"})
        check("a body over MAX_BODY_BYTES: 413", r.status == 413, repr(r)[:300])
        # Within the limit, but half a million values do not fit when parsed.
        many = b"[" + b"0," * 500000 + b"0]"
        check("the parse-heavy body is within the 1 MiB limit", len(many) <= 1 << 20, len(many))
        r = s.post("/api/v1/persons/", many, headers={"Content-Type": "application/json"})
        check("a body too large to parse: 413 with a JSON detail",
              r.status == 413 and r.json() == {"detail": "Request body is too large to process"},
              repr(r)[:300])
        check("the server still answers /health afterwards", s.alive())
    finally:
        s.stop()
    log = s.log_text()
    check("the log names the server limit",
          "exceeds the request's memory limit" in log or "hit a server limit" in log,
          log[-2000:])
    apilib.report()


main()
