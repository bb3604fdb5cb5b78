#!/usr/bin/env python3
"""Black-box tests of /api/v1/doses on a fresh database: the reference's
samples #96-#139 (record now / for a date, maximum per day, check order,
histories, daily summary, delete), decision 2 (person_id on the daily
summary), decision 3 (UTC instants with Z), decision 4 (32 concurrent taps on
a medication with maximum 20 store exactly 20) and decision 5 (422 for bodies
the reference choked on)."""

import datetime
import threading

import apilib
from apilib import DOSE_KEYS, SUMMARY_KEYS, TS_RE, check, expect

D = "/api/v1/doses"
INT_PARSING = "Input should be a valid integer, unable to parse string as an integer"


def days_ago(n):
    return (apilib.utc_today() - datetime.timedelta(days=n)).isoformat()


def dose_ok(name, resp, med_id):
    if not expect(name, resp, 201, keys=DOSE_KEYS):
        return None
    got = resp.json()
    check(f"{name}: medication_id", got["medication_id"] == med_id, resp.text())
    check(f"{name}: medication_name null", got["medication_name"] is None)
    check(f"{name}: taken_at is UTC with Z", TS_RE.match(got["taken_at"] or ""), got["taken_at"])
    return got


def main():
    s = apilib.Server("t020_doses")
    try:
        run(s)
        concurrency(s)
    finally:
        s.stop()
    apilib.report()


def run(s):
    apilib.person(s, "Alice")
    apilib.person(s, "Bob")
    asp = apilib.medication(s, 1, "Aspirin", 2)["id"]          # 1
    vit = apilib.medication(s, 1, "Vitamin D", 1)["id"]        # 2
    ibu = apilib.medication(s, 2, "Ibuprofen", 4)["id"]        # 3
    mel = apilib.medication(s, 1, "Melatonin", 3)["id"]        # 4
    today = apilib.utc_today().isoformat()

    d1 = dose_ok("#96 record dose now (no body)", s.post(f"{D}/medications/{asp}/dose"), asp)
    now = datetime.datetime.now(datetime.timezone.utc)
    t1 = datetime.datetime.strptime(d1["taken_at"].rstrip("Z").split(".")[0],
                                    "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    check("#96 taken_at is the current UTC instant", abs((now - t1).total_seconds()) < 30,
          f"{d1['taken_at']} vs {now.isoformat()}")
    d2 = dose_ok("#97 with timezone_offset=300 (stored as the UTC instant)",
                 s.post(f"{D}/medications/{asp}/dose", {"timezone_offset": 300}), asp)
    check("#97 same instant whatever the offset", d2["taken_at"][:16] == d1["taken_at"][:16],
          f"{d1['taken_at']} / {d2['taken_at']}")
    expect("#98 max reached", s.post(f"{D}/medications/{asp}/dose"), 400,
           {"detail": "Maximum doses (2) taken today"})
    expect("#99 max reached (with body)",
           s.post(f"{D}/medications/{asp}/dose", {"timezone_offset": 0}), 400,
           {"detail": "Maximum doses (2) taken today"})
    expect("#100 medication missing", s.post(f"{D}/medications/999/dose"), 404,
           {"detail": "Medication not found"})
    expect("#101 medication id=0", s.post(f"{D}/medications/0/dose"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["path", "medication_id"],
                        "msg": "Input should be greater than or equal to 1", "input": "0",
                        "ctx": {"ge": 1}}]})
    expect("#102 empty object body", s.post(f"{D}/medications/{vit}/dose", {}), 422,
           {"detail": [{"type": "missing", "loc": ["body", "timezone_offset"],
                        "msg": "Field required", "input": {}}]})
    expect("#103 timezone_offset not int",
           s.post(f"{D}/medications/{vit}/dose", {"timezone_offset": "x"}), 422,
           {"detail": [{"type": "int_parsing", "loc": ["body", "timezone_offset"],
                        "msg": INT_PARSING, "input": "x"}]})
    dose_ok("#104 JSON null body", s.post(f"{D}/medications/{vit}/dose", b"null",
                                          headers={"Content-Type": "application/json"}), vit)
    expect("#105 JSON array body", s.post(f"{D}/medications/{vit}/dose", []), 422,
           {"detail": [{"type": "model_attributes_type", "loc": ["body"],
                        "msg": "Input should be a valid dictionary or object to extract fields "
                               "from", "input": []}]})
    expect("#106 numeric string offset + extra field, missing medication",
           s.post(f"{D}/medications/999/dose", {"timezone_offset": "60", "foo": 1}), 404,
           {"detail": "Medication not found"})
    dose_ok("#107 timezone_offset=-600",
            s.post(f"{D}/medications/{mel}/dose", {"timezone_offset": -600}), mel)
    expect("offset of a whole day is refused (decision 5)",
           s.post(f"{D}/medications/{mel}/dose", {"timezone_offset": -1440}), 422,
           {"detail": [{"type": "greater_than", "loc": ["body", "timezone_offset"],
                        "msg": "Input should be greater than -1440", "input": -1440,
                        "ctx": {"gt": -1440}}]})
    expect("offset beyond 64 bits is refused",
           s.post(f"{D}/medications/{mel}/dose",
                  b'{"timezone_offset": 123456789012345678901234567890}',
                  headers={"Content-Type": "application/json"}), 422)
    expect("dose body as text/plain", s.post(f"{D}/medications/{mel}/dose", "hello",
                                             headers={"Content-Type": "text/plain"}), 422,
           {"detail": [{"type": "model_attributes_type", "loc": ["body"],
                        "msg": "Input should be a valid dictionary or object to extract fields "
                               "from", "input": "hello"}]})

    y1, y2 = days_ago(1), days_ago(2)
    r = s.post(f"{D}/medications/{ibu}/dose/{y1}?time=08:30")
    dose_ok("#108 record for a date", r, ibu)
    check("#108 taken_at", (r.json() or {}).get("taken_at") == f"{y1}T08:30:00Z", r.text())
    r = s.post(f"{D}/medications/{ibu}/dose/{y1}?time=20:15&timezone_offset=300")
    dose_ok("#109 for a date with timezone_offset=300 (decision 3: local time)", r, ibu)
    next_day = (datetime.date.fromisoformat(y1) + datetime.timedelta(days=1)).isoformat()
    check("#109 20:15 at UTC-5 is 01:15Z the next day",
          (r.json() or {}).get("taken_at") == f"{next_day}T01:15:00Z", r.text())
    r = s.post(f"{D}/medications/{vit}/dose/{y2}?time=8:5")
    dose_ok("#110 single-digit time 8:5", r, vit)
    check("#110 taken_at 08:05", (r.json() or {}).get("taken_at") == f"{y2}T08:05:00Z", r.text())
    tomorrow = (apilib.utc_today() + datetime.timedelta(days=1)).isoformat()
    expect("#111 future date", s.post(f"{D}/medications/{vit}/dose/{tomorrow}?time=08:00"), 400,
           {"detail": "Cannot record doses for future dates"})
    for t in ("25:00", "abc", "08:30:15", "", "8", "12:60", "-1:00"):
        expect(f"#112-114 time={t!r}",
               s.post(f"{D}/medications/{vit}/dose/{y1}?time={t}"), 400,
               {"detail": "Invalid time format. Use HH:MM"})
    expect("#115 missing time", s.post(f"{D}/medications/{vit}/dose/{y1}"), 422,
           {"detail": [{"type": "missing", "loc": ["query", "time"], "msg": "Field required",
                        "input": None}]})
    expect("#116 bad date", s.post(f"{D}/medications/{vit}/dose/2024-02-30?time=08:00"), 422,
           {"detail": [{"type": "date_from_datetime_parsing", "loc": ["path", "date"],
                        "msg": "Input should be a valid date or datetime, day value is outside "
                               "expected range", "input": "2024-02-30",
                        "ctx": {"error": "day value is outside expected range"}}]})
    expect("#117 missing medication + future date: 404 wins",
           s.post(f"{D}/medications/999/dose/{tomorrow}?time=08:00"), 404,
           {"detail": "Medication not found"})
    expect("future date wins over a bad time",
           s.post(f"{D}/medications/{vit}/dose/{tomorrow}?time=99:99"), 400,
           {"detail": "Cannot record doses for future dates"})
    expect("#118 max reached for a date", s.post(f"{D}/medications/{vit}/dose/{y2}?time=09:00"),
           400, {"detail": f"Maximum doses (1) taken for {y2}"})
    expect("#119 bad timezone_offset",
           s.post(f"{D}/medications/{vit}/dose/{y1}?time=08:00&timezone_offset=x"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["query", "timezone_offset"],
                        "msg": INT_PARSING, "input": "x"}]})
    expect("several errors: path, query order",
           s.post(f"{D}/medications/0/dose/bad?timezone_offset=x"), 422,
           {"detail": [
               {"type": "greater_than_equal", "loc": ["path", "medication_id"],
                "msg": "Input should be greater than or equal to 1", "input": "0",
                "ctx": {"ge": 1}},
               {"type": "date_from_datetime_parsing", "loc": ["path", "date"],
                "msg": "Input should be a valid date or datetime, input is too short",
                "input": "bad", "ctx": {"error": "input is too short"}},
               {"type": "missing", "loc": ["query", "time"], "msg": "Field required",
                "input": None},
               {"type": "int_parsing", "loc": ["query", "timezone_offset"], "msg": INT_PARSING,
                "input": "x"}]})

    r = s.get(f"{D}/medications/{asp}/doses")
    expect("#120 history", r, 200)
    lst = r.json() or []
    check("#120 newest first", [d["id"] for d in lst] == [d2["id"], d1["id"]], r.text())
    check("#120 key order", all(list(d.keys()) == DOSE_KEYS for d in lst))
    r = s.get(f"{D}/medications/{asp}/doses?limit=1")
    check("#121 limit=1", r.status == 200 and [d["id"] for d in r.json()] == [d2["id"]], repr(r))
    r = s.get(f"{D}/medications/{asp}/doses?skip=1")
    check("history skip=1", r.status == 200 and [d["id"] for d in r.json()] == [d1["id"]],
          repr(r))
    expect("#122 limit=0", s.get(f"{D}/medications/{asp}/doses?limit=0"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["query", "limit"],
                        "msg": "Input should be greater than or equal to 1", "input": "0",
                        "ctx": {"ge": 1}}]})
    expect("#123 history of a missing medication", s.get(f"{D}/medications/999/doses"), 404,
           {"detail": "Medication not found"})
    r = s.get(f"{D}/medications/{ibu}/doses/{y1}")
    check("#124 doses of a day, oldest first (UTC day)",
          r.status == 200 and [d["taken_at"] for d in r.json()] == [f"{y1}T08:30:00Z"],
          repr(r))
    r = s.get(f"{D}/medications/{ibu}/doses/{y1}?timezone_offset=300")
    check("doses of a local day at UTC-5 include the 20:15 dose",
          r.status == 200 and [d["taken_at"] for d in r.json()] ==
          [f"{y1}T08:30:00Z", f"{next_day}T01:15:00Z"], repr(r))
    expect("#125 a day without doses", s.get(f"{D}/medications/{ibu}/doses/{days_ago(5)}"), 200,
           [])
    expect("#126 bad date (a timestamp that is not midnight)",
           s.get(f"{D}/medications/{vit}/doses/20240101"), 422,
           {"detail": [{"type": "date_from_datetime_inexact", "loc": ["path", "date"],
                        "msg": "Datetimes provided to dates should have zero time - e.g. be "
                               "exact dates", "input": "20240101"}]})
    expect("#127 missing medication", s.get(f"{D}/medications/999/doses/{y1}"), 404,
           {"detail": "Medication not found"})

    r = s.get(f"{D}/daily-summary")
    expect("#128 daily summary (UTC today)", r, 200, keys=["date", "medications"])
    summ = r.json() or {}
    check("#128 date is today", summ.get("date") == today, r.text())
    by_id = {m["medication_id"]: m for m in summ.get("medications", [])}
    check("#128 all medications in id order",
          [m["medication_id"] for m in summ.get("medications", [])] == [asp, vit, ibu, mel],
          r.text())
    check("#128 entry key order",
          all(list(m.keys()) == SUMMARY_KEYS for m in summ.get("medications", [])))
    check("#128 Aspirin", by_id.get(asp, {}).get("doses_taken") == 2 and
          by_id[asp]["dose_times"] == [d1["taken_at"], d2["taken_at"]] and
          by_id[asp]["max_doses"] == 2 and by_id[asp]["medication_name"] == "Aspirin", r.text())
    check("#128 Ibuprofen: yesterday 20:15 at UTC-5 is today in UTC",
          by_id.get(ibu, {}).get("doses_taken") == 1 and
          by_id[ibu]["dose_times"] == [f"{next_day}T01:15:00Z"], r.text())
    r = s.get(f"{D}/daily-summary?person_id=2")
    check("decision 2: summary for one person",
          r.status == 200 and [m["medication_id"] for m in r.json()["medications"]] == [ibu],
          repr(r))
    expect("summary for an unknown person is empty", s.get(f"{D}/daily-summary?person_id=99"),
           200, {"date": today, "medications": []})
    expect("summary person_id=0 is refused", s.get(f"{D}/daily-summary?person_id=0"), 422)
    expect("#131 bad timezone_offset", s.get(f"{D}/daily-summary?timezone_offset=1.5"), 422,
           {"detail": [{"type": "int_parsing", "loc": ["query", "timezone_offset"],
                        "msg": INT_PARSING, "input": "1.5"}]})
    r = s.get(f"{D}/daily-summary/{y1}")
    ib = [m for m in (r.json() or {}).get("medications", []) if m["medication_id"] == ibu]
    check("#132 summary for a date (UTC day)", r.status == 200 and
          r.json()["date"] == y1 and ib and ib[0]["dose_times"] == [f"{y1}T08:30:00Z"], repr(r))
    r = s.get(f"{D}/daily-summary/{y1}?timezone_offset=300")
    ib = [m for m in (r.json() or {}).get("medications", []) if m["medication_id"] == ibu]
    check("#133 summary for a date at UTC-5", r.status == 200 and ib and
          ib[0]["dose_times"] == [f"{y1}T08:30:00Z", f"{next_day}T01:15:00Z"], repr(r))
    expect("#134 bad date", s.get(f"{D}/daily-summary/not-a-date"), 422,
           {"detail": [{"type": "date_from_datetime_parsing", "loc": ["path", "date"],
                        "msg": "Input should be a valid date or datetime, invalid character in "
                               "year", "input": "not-a-date",
                        "ctx": {"error": "invalid character in year"}}]})
    expect("#135 deleted-medication history, none",
           s.get(f"{D}/deleted-medications/by-name/Aspirin/doses"), 404,
           {"detail": "No doses found for deleted medication"})
    expect("#136 GET on a DELETE-only path", s.get(f"{D}/1"), 404, {"detail": "Not Found"})
    r = s.delete(f"{D}/{d2['id']}")
    expect("#137 delete dose", r, 204)
    check("#137 no body", r.body == b"")
    expect("#138 delete dose again", s.delete(f"{D}/{d2['id']}"), 404,
           {"detail": "Dose not found"})
    expect("#139 delete dose id=0", s.delete(f"{D}/0"), 422,
           {"detail": [{"type": "greater_than_equal", "loc": ["path", "dose_id"],
                        "msg": "Input should be greater than or equal to 1", "input": "0",
                        "ctx": {"ge": 1}}]})
    dose_ok("a freed slot can be used again", s.post(f"{D}/medications/{asp}/dose"), asp)
    expect("deleted-medications paging: skip past the end",
           s.get(f"{D}/deleted-medications/by-name/x/doses?skip=5"), 404,
           {"detail": "No doses found for deleted medication"})
    expect("deleted-medications bad limit",
           s.get(f"{D}/deleted-medications/by-name/x/doses?limit=abc"), 422)


def concurrency(s):
    """Decision 4: 32 simultaneous taps on a medication with max 20."""
    med = apilib.medication(s, 1, "Concurrent", 20)["id"]
    statuses = []
    lock = threading.Lock()
    barrier = threading.Barrier(32)

    def tap():
        try:
            barrier.wait(30)
            r = s.post(f"{D}/medications/{med}/dose", {"timezone_offset": 0}, timeout=60)
            st = r.status
        except Exception as e:  # a dropped connection counts as a failure
            st = repr(e)
        with lock:
            statuses.append(st)

    threads = [threading.Thread(target=tap) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = statuses.count(201)
    refused = statuses.count(400)
    check("32 concurrent taps: exactly 20 created", created == 20, repr(sorted(map(str, statuses))))
    check("32 concurrent taps: 12 refused with 400", refused == 12, repr(statuses))
    r = s.get(f"{D}/medications/{med}/doses?limit=1000")
    check("exactly 20 doses stored", r.status == 200 and len(r.json()) == 20, repr(r))
    r = s.get(f"/api/v1/medications/{med}")
    check("the medication counts 20 today", (r.json() or {}).get("doses_taken_today") == 20,
          r.text())
    check("server still answers", s.alive())


if __name__ == "__main__":
    main()
