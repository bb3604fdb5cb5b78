#!/usr/bin/env python3
"""Black-box tests of the report routes on the dialect in MT_TEST_DIALECT:
the printable tracking form GET /api/v1/reports/medications/pdf/{date}
(read back with poppler-utils: pdfinfo page count and paper size,
pdftotext for the title, dates, medications, dosages, prefilled times,
deleted medications and Greek and Japanese names, pdftoppm rendering every
page) with the reference's answers for bad input, and the dose-history
exports GET /api/v1/reports/doses.csv | doses.json (parsed with Python's csv
and json modules; names with commas, quotes and newlines round-trip). The
server is the real `meditrack serve` on a fresh database migrated with
`meditrack db upgrade head`; data goes in through the API. Python 3 stdlib
only. Last line: "N passed, N failed"."""

import csv
import datetime
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
from apilib import check  # noqa: E402

TZ = 300  # UTC-5, JavaScript sign
TRICKY = 'Drops, "Blue cap"\nLeft eye'

WORK = tempfile.mkdtemp(prefix="t060-", dir=apilib.TMP)


def q(params):
    return urllib.parse.urlencode(params)


def parse_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def local(ts, tz):
    """A UTC instant in the zone of a JavaScript-style offset."""
    return ts - datetime.timedelta(minutes=tz)


def save_pdf(name, body):
    path = os.path.join(WORK, name + ".pdf")
    with open(path, "wb") as f:
        f.write(body)
    return path


def run(*args):
    p = subprocess.run(list(args), capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def pdfinfo(path):
    rc, out, _ = run("pdfinfo", path)
    info = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    return rc, info


def pdftext(path, page=None):
    args = ["pdftotext", "-enc", "UTF-8"]
    if page:
        args += ["-f", str(page), "-l", str(page)]
    rc, out, _ = run(*args, path, "-")
    return out if rc == 0 else ""


def renders(path, pages):
    """pdftoppm renders every page without an error message."""
    prefix = os.path.join(WORK, os.path.basename(path) + "-png")
    rc, _, err = run("pdftoppm", "-r", "40", "-png", path, prefix)
    made = [f for f in os.listdir(WORK) if f.startswith(os.path.basename(prefix))]
    return rc == 0 and err.strip() == "" and len(made) == pages


def get_pdf(srv, name, date, **params):
    r = srv.get(f"/api/v1/reports/medications/pdf/{date}" + ("?" + q(params) if params else ""))
    path = save_pdf(name, r.body) if r.status == 200 else None
    return r, path


def main():
    for tool in ("pdfinfo", "pdftotext", "pdftoppm"):
        if not shutil.which(tool):
            check(f"{tool} is installed (poppler-utils)", False)
            apilib.report()
    srv = apilib.Server("t060")
    try:
        run_tests(srv)
    finally:
        srv.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    apilib.report()


def run_tests(srv):
    today = apilib.local_today(TZ)
    d0 = today - datetime.timedelta(days=3)
    d1, d2 = d0 + datetime.timedelta(days=1), d0 + datetime.timedelta(days=2)
    D0, D1, D2 = d0.isoformat(), d1.isoformat(), d2.isoformat()

    # ---- data, through the API --------------------------------------------------------
    def person(first, last=None):
        r = srv.post("/api/v1/persons/", {"first_name": first, "last_name": last})
        check(f"create person {first!r}", r.status == 201, repr(r))
        return r.json()["id"]

    def med(pid, name, dosage, max_doses, instructions=None, frequency="Daily"):
        r = srv.post("/api/v1/medications/", {
            "person_id": pid, "name": name, "dosage": dosage, "frequency": frequency,
            "max_doses_per_day": max_doses, "instructions": instructions})
        check(f"create medication {name!r}", r.status == 201, repr(r))
        return r.json()["id"]

    taken = {}  # (medication id, date, "HH:MM") -> UTC instant the API stored

    def dose(mid, date, hhmm):
        r = srv.post(f"/api/v1/doses/medications/{mid}/dose/{date}?" +
                     q({"time": hhmm, "timezone_offset": TZ}))
        check(f"record dose {mid} {date} {hhmm}", r.status == 201, repr(r))
        taken[(mid, date, hhmm)] = parse_ts(r.json()["taken_at"])

    greek = person("Ελένη", "Παπαδοπούλου")
    japanese = person("山田", "花子")
    nomeds = person("Nobody", "Withoutmeds")
    aspirin = med(greek, "Aspirin", "150mg", 2, "Take with food", "Twice daily")
    vitd = med(greek, "Vitamin D", "1000 IU", 1)
    tricky = med(greek, TRICKY, "2 drops", 3, 'Shake well, then "tilt"')
    syrup = med(greek, "Old Syrup", "5 ml", 2)
    kampo = med(japanese, "漢方薬", "3 g", 3, "食後に服用")

    dose(aspirin, D0, "08:05")
    dose(aspirin, D0, "20:30")
    dose(aspirin, D1, "09:15")
    dose(vitd, D0, "07:45")
    dose(tricky, D1, "22:10")
    dose(syrup, D0, "12:34")
    dose(kampo, D0, "06:00")
    r = srv.delete(f"/api/v1/medications/{syrup}")
    check("delete a medication that has a dose", r.status == 204, repr(r))

    def shown(mid, date, hhmm, tz=TZ):
        """The local HH:MM a form in offset tz prints for a recorded dose."""
        return local(taken[(mid, date, hhmm)], tz).strftime("%H:%M")

    # ---- the blank form ---------------------------------------------------------------
    r, path = get_pdf(srv, "blank3", D0, person_id=greek, days=3, timezone_offset=TZ)
    check("form: 200", r.status == 200, repr(r))
    check("form: content-type", r.headers.get("content-type") == "application/pdf",
          r.headers.get("content-type"))
    check("form: content-disposition as the reference",
          r.headers.get("content-disposition") ==
          f"attachment; filename=medication_tracking_{D0}.pdf",
          r.headers.get("content-disposition"))
    check("form: a PDF document", r.body.startswith(b"%PDF-") and
          r.body.rstrip().endswith(b"%%EOF"), r.body[:20])
    if path:
        rc, info = pdfinfo(path)
        check("form: pdfinfo reads it", rc == 0)
        check("form: one page per day (days=3)", info.get("Pages") == "3", info.get("Pages"))
        check("form: US Letter by default", info.get("Page size", "").startswith("612 x 792"),
              info.get("Page size"))
        check("form: document title", info.get("Title") == "Ελένη Παπαδοπούλου Medication Log",
              info.get("Title"))
        text = pdftext(path)
        check("form: Greek name intact in the title",
              "Ελένη Παπαδοπούλου Medication Log" in text, text[:200])
        for d in (D0, D1, D2):
            check(f"form: date {d} printed", d in text)
        for i, d in enumerate((D0, D1, D2), 1):
            page = pdftext(path, i)
            check(f"form: page {i} is {d}", d in page and f"Day {i} of 3" in page, page[:200])
            check(f"form: page {i} numbered", f"Page {i} of 3" in page)
            check(f"form: page {i} lists every medication with its dosage",
                  all(s in page for s in ("Aspirin", "150mg", "Vitamin D", "1000 IU",
                                          "2 drops", "Take with food")), page)
        check("form: the multi-line name is printed on one row",
              'Drops, "Blue cap" Left eye' in text, text)
        check("form: footer with the generation time in the user's offset",
              "Generated " in text and "UTC-05:00" in text)
        check("form: deleted medication not on a blank form", "Old Syrup" not in text)
        check("form: other persons' medications not on it", "漢方薬" not in text)
        check("form: blank, no times", shown(aspirin, D0, "08:05") not in text)
        check("form: every page renders (pdftoppm)", renders(path, 3))

    # ---- prefilled -------------------------------------------------------------------
    r, path = get_pdf(srv, "prefill", D0, person_id=greek, days=3, timezone_offset=TZ,
                      prefill="true")
    check("prefill: 200", r.status == 200, repr(r))
    if path:
        check("prefill: 3 pages", pdfinfo(path)[1].get("Pages") == "3")
        p1, p2, p3 = (pdftext(path, i) for i in (1, 2, 3))
        for mid, hhmm in ((aspirin, "08:05"), (aspirin, "20:30"), (vitd, "07:45")):
            check(f"prefill: day 1 shows {hhmm}", shown(mid, D0, hhmm) in p1, p1)
        check("prefill: day 1 lists the deleted medication's dose",
              f"Old Syrup (deleted): {shown(syrup, D0, '12:34')}" in p1, p1)
        check("prefill: day 2 shows its doses",
              shown(aspirin, D1, "09:15") in p2 and shown(tricky, D1, "22:10") in p2, p2)
        check("prefill: day 2 has not day 1's doses", shown(aspirin, D0, "08:05") not in p2)
        check("prefill: a day without doses still gets its page",
              D2 in p3 and "No doses were recorded on this day." in p3, p3)
        check("prefill: every page renders", renders(path, 3))

    # The same doses seen from UTC+10: the evening dose moves to the next day.
    r, path = get_pdf(srv, "prefill-east", D0, person_id=greek, days=2, timezone_offset=-600,
                      prefill="1")
    if check("prefill UTC+10: 200", r.status == 200, repr(r)):
        evening = local(taken[(aspirin, D0, "20:30")], -600)
        page = (evening.date() - d0).days + 1
        text = pdftext(path, page) if 1 <= page <= 2 else ""
        check("prefill UTC+10: a dose is on the local day of that offset",
              evening.strftime("%H:%M") in text, f"page {page}: {text[:300]}")

    # Japanese, A4, seven days.
    r, path = get_pdf(srv, "ja", D0, person_id=japanese, days=7, paper="a4", prefill="true",
                      timezone_offset=TZ)
    check("Japanese form: 200", r.status == 200, repr(r))
    if path:
        rc, info = pdfinfo(path)
        check("Japanese form: 7 pages", info.get("Pages") == "7", info.get("Pages"))
        check("Japanese form: A4", "(A4)" in info.get("Page size", ""), info.get("Page size"))
        text = pdftext(path)
        check("Japanese form: name intact", "山田 花子 Medication Log" in text, text[:300])
        check("Japanese form: medication, dosage, instructions intact",
              "漢方薬" in text and "3 g" in text and "食後に服用" in text)
        check("Japanese form: prefilled time", shown(kampo, D0, "06:00") in pdftext(path, 1))
        check("Japanese form: not another person's deleted medication",
              "Old Syrup" not in text and "(deleted)" not in text)
        check("Japanese form: last date printed",
              (d0 + datetime.timedelta(days=6)).isoformat() in pdftext(path, 7))
        check("Japanese form: every page renders", renders(path, 7))

    # A person with medications but no doses on those days gets a form.
    early = (d0 - datetime.timedelta(days=30)).isoformat()
    r, path = get_pdf(srv, "empty-day", early, person_id=greek, prefill="true")
    check("no doses that day: 200", r.status == 200, repr(r))
    if path:
        text = pdftext(path)
        check("no doses that day: one page, the date, the medications",
              pdfinfo(path)[1].get("Pages") == "1" and early in text and "Aspirin" in text)
        check("no doses that day: says so", "No doses were recorded on this day." in text)

    # The edges of the calendar: local days east of UTC on 0001-01-01 begin
    # in year 0, which PostgreSQL cannot compare; the last days reach 9999.
    r, path = get_pdf(srv, "year1", "0001-01-01", person_id=greek, prefill="true",
                      timezone_offset=-600)
    check("form for 0001-01-01 in UTC+10: 200", r.status == 200, repr(r))
    r, path = get_pdf(srv, "year9999", "9999-12-31", person_id=greek, prefill="true", days=7,
                      timezone_offset=600)
    check("form from 9999-12-31 for 7 days: 200", r.status == 200, repr(r))
    r = srv.get("/api/v1/reports/doses.csv?" + q({"person_id": greek, "from": "0001-01-01",
                                                   "to": "9999-12-31", "timezone_offset": -1439}))
    check("csv over the whole calendar: 200, every dose",
          r.status == 200 and r.body.count(b"\r\n") == 1 + 6, repr(r)[:300])

    # Without a person (and person_id=0, which the reference treats the same).
    for label, params in (("no person", {}), ("person_id=0", {"person_id": "0"})):
        r, path = get_pdf(srv, "all-" + label.replace(" ", "").replace("=", ""), D0, **params)
        check(f"{label}: 200", r.status == 200, repr(r))
        if path:
            text = pdftext(path)
            check(f"{label}: title 'Medication Log'",
                  pdfinfo(path)[1].get("Title") == "Medication Log")
            check(f"{label}: every person's medications, each with its person",
                  "Aspirin" in text and "漢方薬" in text and "For 山田 花子" in text
                  and "For Ελένη Παπαδοπούλου" in text, text)

    # ---- errors: the reference's answers -----------------------------------------------
    def err(path, status, body, label):
        r = srv.get(path)
        check(label, r.status == status and r.body == body.encode(), repr(r))

    base = "/api/v1/reports/medications/pdf/"
    err(base + D0 + "?person_id=999", 404, '{"detail":"Person not found"}', "form: unknown person")
    err(base + D0 + f"?person_id={nomeds}", 404, '{"detail":"No medications found"}',
        "form: person without medications")
    err(base + "2026-11-29?days=8", 422,
        '{"detail":[{"type":"less_than_equal","loc":["query","days"],"msg":"Input should be less '
        'than or equal to 7","input":"8","ctx":{"le":7}}]}', "form: days=8 (sample #151)")
    err(base + "2026-11-29?days=0", 422,
        '{"detail":[{"type":"greater_than_equal","loc":["query","days"],"msg":"Input should be '
        'greater than or equal to 1","input":"0","ctx":{"ge":1}}]}', "form: days=0 (sample #152)")
    err(base + "2024-13-01", 422,
        '{"detail":[{"type":"date_from_datetime_parsing","loc":["path","date"],"msg":"Input '
        'should be a valid date or datetime, month value is outside expected range of 1-12",'
        '"input":"2024-13-01","ctx":{"error":"month value is outside expected range of 1-12"}}]}',
        "form: bad date (sample #153)")
    err(base + D0 + "?paper=legal", 422,
        '{"detail":[{"type":"literal_error","loc":["query","paper"],"msg":"Input should be '
        '\'letter\' or \'a4\'","input":"legal","ctx":{"expected":"\'letter\' or \'a4\'"}}]}',
        "form: paper=legal")
    err(base + D0 + "?prefill=perhaps", 422,
        '{"detail":[{"type":"bool_parsing","loc":["query","prefill"],"msg":"Input should be a '
        'valid boolean, unable to interpret input","input":"perhaps"}]}', "form: prefill=perhaps")
    r = srv.get(base + "2026-02-30?timezone_offset=x&days=9&paper=A4")
    detail = (r.json() or {}).get("detail") if r.status == 422 else None
    check("form: every bad value listed, path then query in order",
          isinstance(detail, list) and [e["loc"] for e in detail] ==
          [["path", "date"], ["query", "timezone_offset"], ["query", "days"], ["query", "paper"]],
          repr(r))

    # ---- CSV export -------------------------------------------------------------------
    r = srv.get("/api/v1/reports/doses.csv?" +
                q({"person_id": greek, "from": D0, "to": D2, "timezone_offset": TZ}))
    check("csv: 200", r.status == 200, repr(r))
    check("csv: content-type", r.headers.get("content-type", "").startswith("text/csv"),
          r.headers.get("content-type"))
    cd = r.headers.get("content-disposition", "")
    check("csv: attachment with a file name",
          cd == f'attachment; filename="meditrack-doses-person{greek}-{D0}-to-{D2}.csv"', cd)
    body = r.body.decode("utf-8")
    check("csv: CRLF records", body.endswith("\r\n") and "\r\n" in body.split("\n")[0] + "\n")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    check("csv: header row", rows[:1] == [["date", "local_time", "taken_at_utc", "medication",
                                           "dosage", "deleted", "status", "status_reason",
                                           "override_rule", "override_reason", "note",
                                           "recorded_by"]], rows[:1])
    expected = sorted(
        [(taken[k], k) for k in taken if k[0] in (aspirin, vitd, tricky, syrup)])
    data = rows[1:]
    check("csv: one row per dose of the range", len(data) == len(expected), data)
    names = {aspirin: "Aspirin", vitd: "Vitamin D", tricky: TRICKY, syrup: "Old Syrup"}
    dosages = {aspirin: "150mg", vitd: "1000 IU", tricky: "2 drops", syrup: ""}
    for row, (ts, (mid, date, hhmm)) in zip(data, expected):
        loc = local(ts, TZ)
        want = [loc.date().isoformat(), loc.strftime("%H:%M:%S"),
                ts.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if ts.microsecond == 0 else
                                                    ts.strftime(".%fZ")),
                names[mid], dosages[mid], "true" if mid == syrup else "false",
                "taken", "", "", "", "", "anonymous"]
        check(f"csv: row of {names[mid]!r} at {hhmm} on {date}", row == want, f"{row} != {want}")
    check("csv: name with comma, quotes and newline round-trips",
          any(row[3] == TRICKY for row in data))

    r = srv.get("/api/v1/reports/doses.csv?" +
                q({"person_id": greek, "from": D1, "to": D1, "timezone_offset": TZ}))
    one_day = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))[1:]
    check("csv: from/to are inclusive local days",
          r.status == 200 and len(one_day) == 2 and all(x[0] == D1 for x in one_day), one_day)

    r = srv.get("/api/v1/reports/doses.csv?" +
                q({"person_id": greek, "from": D0, "to": D0, "timezone_offset": -600}))
    east = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))[1:]
    want_east = sorted(local(ts, -600).strftime("%H:%M:%S") for ts, k in expected
                       if local(ts, -600).date() == d0)
    check("csv: days and times follow timezone_offset",
          sorted(x[1] for x in east) == want_east and all(x[0] == D0 for x in east),
          f"{east} vs {want_east}")

    early_from = (d0 - datetime.timedelta(days=60)).isoformat()
    r = srv.get("/api/v1/reports/doses.csv?" +
                q({"person_id": greek, "from": early_from, "to": early}))
    check("csv: a range without doses gets the header only",
          r.status == 200 and r.body == b"date,local_time,taken_at_utc,medication,dosage,deleted,"
          b"status,status_reason,override_rule,override_reason,note,recorded_by\r\n", repr(r))

    # Doses of a deleted medication keep its person (api.md decision 10): the
    # deleted Old Syrup was Ελένη's, so only her export shows it (above); a
    # person's doses never appear on another's.
    r = srv.get("/api/v1/reports/doses.csv?" + q({"person_id": nomeds, "from": D0, "to": D2,
                                                   "timezone_offset": TZ}))
    nm_rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))[1:]
    check("csv: a person without medications: no doses, not even deleted medications' doses",
          r.status == 200 and nm_rows == [], nm_rows)
    r = srv.get("/api/v1/reports/doses.csv?" + q({"person_id": japanese, "from": D0, "to": D0,
                                                   "timezone_offset": TZ}))
    ja_rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))[1:]
    check("csv: the person's own doses only, not another person's deleted medication's",
          sorted(x[3] for x in ja_rows) == ["漢方薬"], ja_rows)

    # ---- JSON export ------------------------------------------------------------------
    r = srv.get("/api/v1/reports/doses.json?" +
                q({"person_id": greek, "from": D0, "to": D2, "timezone_offset": TZ}))
    j = r.json()
    check("json: 200 application/json", r.status == 200 and
          r.headers.get("content-type") == "application/json", repr(r))
    check("json: attachment with a file name", r.headers.get("content-disposition") ==
          f'attachment; filename="meditrack-doses-person{greek}-{D0}-to-{D2}.json"')
    check("json: document keys", j is not None and list(j) ==
          ["person_id", "person_name", "from", "to", "timezone_offset", "utc_offset", "doses"],
          repr(j)[:300])
    if j:
        check("json: head values", (j["person_id"], j["person_name"], j["from"], j["to"],
                                    j["timezone_offset"], j["utc_offset"]) ==
              (greek, "Ελένη Παπαδοπούλου", D0, D2, TZ, "UTC-05:00"), repr(j)[:300])
        keys = ["id", "date", "local_time", "taken_at", "medication_id", "medication_name",
                "dosage", "deleted", "status", "status_reason", "override_rule",
                "override_reason", "note", "recorded_by"]
        check("json: one object per dose, keys in order",
              len(j["doses"]) == len(expected) and all(list(d) == keys for d in j["doses"]))
        check("json: the same rows as the CSV",
              [[d["date"], d["local_time"], d["taken_at"], d["medication_name"],
                d["dosage"] or "", "true" if d["deleted"] else "false"] for d in j["doses"]] ==
              [row[:6] for row in data])
        gone = [d for d in j["doses"] if d["deleted"]]
        check("json: deleted medication: null id and dosage, its name kept",
              len(gone) == 1 and gone[0]["medication_id"] is None and gone[0]["dosage"] is None
              and gone[0]["medication_name"] == "Old Syrup", gone)
        check("json: live medications carry their id",
              {d["medication_id"] for d in j["doses"] if not d["deleted"]} ==
              {aspirin, vitd, tricky})
    r = srv.get("/api/v1/reports/doses.json?" + q({"person_id": japanese, "from": early_from,
                                                    "to": early}))
    check("json: no doses: an empty list", r.status == 200 and (r.json() or {}).get("doses") == [],
          repr(r))

    # ---- export errors ----------------------------------------------------------------
    for fmt in ("csv", "json"):
        p = f"/api/v1/reports/doses.{fmt}?"
        r = srv.get(p + q({"from": D0, "to": D1}))
        check(f"{fmt}: person_id is required", r.status == 422 and r.json()["detail"] == [
            {"type": "missing", "loc": ["query", "person_id"], "msg": "Field required",
             "input": None}], repr(r))
        r = srv.get(p + q({"person_id": 999, "from": D0, "to": D1}))
        check(f"{fmt}: unknown person", r.status == 404 and
              r.body == b'{"detail":"Person not found"}', repr(r))
        r = srv.get(p + q({"person_id": greek, "from": D1, "to": D0}))
        check(f"{fmt}: to before from", r.status == 422 and
              r.json()["detail"][0]["type"] == "value_error" and
              r.json()["detail"][0]["loc"] == ["query", "to"], repr(r))
        r = srv.get(p + q({"person_id": "x", "from": "2026-02-30", "timezone_offset": "1440"}))
        locs = [(e["loc"][1], e["type"]) for e in (r.json() or {}).get("detail", [])]
        check(f"{fmt}: every bad value listed in order", r.status == 422 and locs == [
            ("person_id", "int_parsing"), ("from", "date_from_datetime_parsing"),
            ("to", "missing"), ("timezone_offset", "less_than")], repr(r))
        r = srv.get(p + q({"person_id": "0", "from": D0, "to": D0}))
        check(f"{fmt}: person_id 0", r.status == 422 and
              r.json()["detail"][0]["type"] == "greater_than_equal", repr(r))
        r = srv.get(p + q({"person_id": "99999999999999999999", "from": D0, "to": D0}))
        check(f"{fmt}: person_id beyond 64 bits is a 422, not a crash", r.status == 422, repr(r))

    check("server still answers", srv.alive())
    log = srv.log_text()
    check("no sanitizer report in the server log",
          "Sanitizer" not in log and "runtime error" not in log, log[-2000:])


if __name__ == "__main__":
    main()
