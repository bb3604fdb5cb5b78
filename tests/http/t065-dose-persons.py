#!/usr/bin/env python3
"""Doses keep their person (api.md decision 10, schema revision ab48726466af),
black-box on the dialect in MT_TEST_DIALECT: two persons each have an
"Ibuprofen" (the same name on purpose) and another medication, doses are
recorded through the API, medications are deleted, and each person's daily
summary, dose-history export (CSV and JSON) and prefilled tracking form
(pdftotext) hold exactly that person's doses, a deleted medication's doses
included for its owner and for nobody else. The household-wide views keep
everything; the reference's responses (DoseInDB, the deleted-medication
history by name) keep their exact keys; deleting a person removes every dose
they took. Python 3 stdlib plus poppler-utils. Last line: "N passed, N failed"."""

import csv
import datetime
import io
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
from apilib import DOSE_KEYS, check  # noqa: E402

TZ = 300  # UTC-5, JavaScript sign
D = "/api/v1/doses"
WORK = tempfile.mkdtemp(prefix="t065-", dir=apilib.TMP)


def q(params):
    return urllib.parse.urlencode(params)


def main():
    srv = apilib.Server("t065")
    try:
        run_tests(srv)
    finally:
        srv.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    apilib.report()


def run_tests(srv):
    day = (apilib.local_today(TZ) - datetime.timedelta(days=2)).isoformat()

    ann = apilib.person(srv, "Ann", last_name="Alder")["id"]
    bob = apilib.person(srv, "Bob", last_name="Birch")["id"]
    ann_ibu = apilib.medication(srv, ann, "Ibuprofen", 4)["id"]
    ann_syrup = apilib.medication(srv, ann, "Syrup", 3)["id"]
    bob_ibu = apilib.medication(srv, bob, "Ibuprofen", 4)["id"]
    bob_zinc = apilib.medication(srv, bob, "Zinc", 2)["id"]

    taken = {}  # dose id -> (person, medication name, UTC taken_at text)

    def dose(owner, mid, name, hhmm):
        r = srv.post(f"{D}/medications/{mid}/dose/{day}?" +
                     q({"time": hhmm, "timezone_offset": TZ}))
        ok = check(f"record {name} {hhmm} for {owner}", r.status == 201, repr(r))
        body = r.json() if ok else None
        if body:
            check(f"{name} {hhmm}: DoseInDB keys unchanged (no person_id)",
                  list(body.keys()) == DOSE_KEYS, r.text())
            taken[body["id"]] = (owner, name, body["taken_at"])
        return body

    dose("Ann", ann_ibu, "Ibuprofen", "08:00")
    dose("Ann", ann_ibu, "Ibuprofen", "14:00")
    dose("Ann", ann_syrup, "Syrup", "09:30")
    dose("Bob", bob_ibu, "Ibuprofen", "10:15")
    dose("Bob", bob_zinc, "Zinc", "07:05")
    r = srv.post(f"{D}/medications/{bob_zinc}/dose", {"timezone_offset": TZ})
    check("record a dose now: DoseInDB keys unchanged",
          r.status == 201 and list(r.json().keys()) == DOSE_KEYS, repr(r))

    def ids_of(owner, name=None):
        return sorted(i for i, (o, n, _) in taken.items()
                      if o == owner and (name is None or n == name))

    # ---- Ann's Ibuprofen is deleted ------------------------------------------------------
    r = srv.delete(f"/api/v1/medications/{ann_ibu}")
    check("delete Ann's Ibuprofen", r.status == 204, repr(r))

    def summary(person=None):
        params = {"timezone_offset": TZ}
        if person is not None:
            params["person_id"] = person
        r = srv.get(f"{D}/daily-summary/{day}?" + q(params))
        check(f"summary for {person or 'everyone'}: 200", r.status == 200, repr(r))
        return (r.json() or {}).get("medications", [])

    def times_of(entries, name):
        return sorted(t for e in entries if e["medication_name"] == name for t in e["dose_times"])

    def utc_times(owner, name):
        return sorted(taken[i][2] for i in ids_of(owner, name))

    ann_sum = summary(ann)
    check("Ann's summary: her live medication and her deleted Ibuprofen, nothing of Bob's",
          [(e["medication_id"], e["medication_name"]) for e in ann_sum] ==
          [(ann_syrup, "Syrup"), (None, "Ibuprofen (deleted)")], ann_sum)
    check("Ann's summary: the deleted Ibuprofen has exactly her two doses",
          times_of(ann_sum, "Ibuprofen (deleted)") == utc_times("Ann", "Ibuprofen"), ann_sum)
    gone = [e for e in ann_sum if e["medication_id"] is None]
    check("Ann's summary: the deleted entry keeps the reference's shape",
          gone and list(gone[0].keys()) == apilib.SUMMARY_KEYS + ["is_deleted"] and
          gone[0]["is_deleted"] is True and gone[0]["max_doses"] == 0 and
          gone[0]["doses_taken"] == 2, gone)
    bob_sum = summary(bob)
    check("Bob's summary: only his live medications, no deleted entry",
          [(e["medication_id"], e["medication_name"]) for e in bob_sum] ==
          [(bob_ibu, "Ibuprofen"), (bob_zinc, "Zinc")], bob_sum)
    check("Bob's summary: his Ibuprofen has only his dose",
          times_of(bob_sum, "Ibuprofen") == utc_times("Bob", "Ibuprofen"), bob_sum)
    everyone = summary()
    check("household summary: every medication, the deleted one once",
          [e["medication_name"] for e in everyone] ==
          ["Syrup", "Ibuprofen", "Zinc", "Ibuprofen (deleted)"], everyone)

    # ---- exports --------------------------------------------------------------------------
    def export_csv(person):
        r = srv.get("/api/v1/reports/doses.csv?" +
                    q({"person_id": person, "from": day, "to": day, "timezone_offset": TZ}))
        check(f"csv for person {person}: 200", r.status == 200, repr(r))
        rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))[1:]
        return sorted((x[2], x[3], x[5]) for x in rows)

    def export_json(person):
        r = srv.get("/api/v1/reports/doses.json?" +
                    q({"person_id": person, "from": day, "to": day, "timezone_offset": TZ}))
        check(f"json for person {person}: 200", r.status == 200, repr(r))
        return (r.json() or {}).get("doses", [])

    def want_rows(owner, deleted_names):
        return sorted((taken[i][2], taken[i][1], "true" if taken[i][1] in deleted_names else
                       "false") for i in ids_of(owner) if in_day(taken[i][2]))

    check("Ann's CSV: exactly her doses, the deleted Ibuprofen's included",
          export_csv(ann) == want_rows("Ann", {"Ibuprofen"}), export_csv(ann))
    check("Bob's CSV: exactly his doses, none of Ann's deleted Ibuprofen",
          export_csv(bob) == want_rows("Bob", set()), export_csv(bob))
    j = export_json(ann)
    check("Ann's JSON: the same doses, deleted ones with a null medication id",
          sorted(d["id"] for d in j) == [i for i in ids_of("Ann") if in_day(taken[i][2])] and
          all(d["medication_id"] is None for d in j if d["deleted"]) and
          sorted(d["id"] for d in j if d["deleted"]) == ids_of("Ann", "Ibuprofen"), j)
    j = export_json(bob)
    check("Bob's JSON: only his doses",
          sorted(d["id"] for d in j) == [i for i in ids_of("Bob") if in_day(taken[i][2])] and
          not any(d["deleted"] for d in j), j)

    # ---- prefilled forms ------------------------------------------------------------------
    ann_pdf = pdf_text(srv, "ann", day, ann)
    bob_pdf = pdf_text(srv, "bob", day, bob)
    if ann_pdf is not None:
        check("Ann's form lists her deleted Ibuprofen with her two times",
              "Ibuprofen (deleted): " + ", ".join(local_hhmm(taken[i][2]) for i in
                                                 sorted(ids_of("Ann", "Ibuprofen"),
                                                        key=lambda i: taken[i][2]))
              in ann_pdf, ann_pdf)
    if bob_pdf is not None:
        check("Bob's form has no deleted medication", "(deleted)" not in bob_pdf, bob_pdf)
        check("Bob's form shows his own Ibuprofen dose",
              local_hhmm(taken[ids_of("Bob", "Ibuprofen")[0]][2]) in bob_pdf, bob_pdf)
    all_pdf = pdf_text(srv, "all", day, None)
    if all_pdf is not None:
        check("household form lists the deleted Ibuprofen", "Ibuprofen (deleted)" in all_pdf,
              all_pdf)

    # ---- Bob's Ibuprofen is deleted too: same name, two owners --------------------------
    r = srv.delete(f"/api/v1/medications/{bob_ibu}")
    check("delete Bob's Ibuprofen", r.status == 204, repr(r))
    ann_sum, bob_sum = summary(ann), summary(bob)
    check("same name deleted twice: Ann's summary keeps only her doses",
          times_of(ann_sum, "Ibuprofen (deleted)") == utc_times("Ann", "Ibuprofen"), ann_sum)
    check("same name deleted twice: Bob's summary shows only his dose",
          times_of(bob_sum, "Ibuprofen (deleted)") == utc_times("Bob", "Ibuprofen") and
          [e["medication_name"] for e in bob_sum] == ["Zinc", "Ibuprofen (deleted)"], bob_sum)
    check("same name deleted twice: Bob's CSV",
          export_csv(bob) == want_rows("Bob", {"Ibuprofen"}), export_csv(bob))
    check("same name deleted twice: Ann's CSV unchanged",
          export_csv(ann) == want_rows("Ann", {"Ibuprofen"}), export_csv(ann))
    r = srv.get(f"{D}/deleted-medications/by-name/Ibuprofen/doses")
    hist = r.json() or []
    check("deleted-medication history by name stays household-wide (reference #18)",
          r.status == 200 and sorted(d["id"] for d in hist) ==
          sorted(ids_of("Ann", "Ibuprofen") + ids_of("Bob", "Ibuprofen")) and
          all(list(d.keys()) == DOSE_KEYS for d in hist), repr(r))

    # ---- deleting a person deletes every dose they took -----------------------------------
    r = srv.delete(f"/api/v1/persons/{bob}")
    check("delete Bob", r.status == 204, repr(r))
    r = srv.get(f"{D}/deleted-medications/by-name/Ibuprofen/doses")
    check("Bob's doses of his deleted Ibuprofen went with him, Ann's stay",
          r.status == 200 and sorted(d["id"] for d in r.json()) == ids_of("Ann", "Ibuprofen"),
          repr(r))
    check("Ann's CSV is unchanged by Bob's deletion",
          export_csv(ann) == want_rows("Ann", {"Ibuprofen"}), export_csv(ann))
    everyone = summary()
    check("household summary after Bob: only Ann's doses",
          sorted(t for e in everyone for t in e["dose_times"]) ==
          sorted(taken[i][2] for i in ids_of("Ann") if in_day(taken[i][2])), everyone)

    # The database: no dose without a person, and `meditrack db check` says nothing of them.
    e = dict(srv.env)
    out = subprocess.run([apilib.MEDITRACK, "db", "check"], env=e, capture_output=True,
                         text=True, cwd=apilib.TMP)
    check("db check: at head, no dose without a person",
          out.returncode == 0 and "belong to no person" not in out.stdout and
          "belongs to no person" not in out.stdout, out.stdout + out.stderr)


def parse_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def local(s):
    return parse_ts(s) - datetime.timedelta(minutes=TZ)


def local_hhmm(s):
    return local(s).strftime("%H:%M")


def in_day(s):
    """The dose lies in the local day under test (all do; the check keeps the
    expected lists honest)."""
    return local(s).date() == (apilib.local_today(TZ) - datetime.timedelta(days=2))


def pdf_text(srv, tag, day, person):
    if not shutil.which("pdftotext"):
        check("pdftotext is installed (poppler-utils)", False)
        return None
    params = {"timezone_offset": TZ, "prefill": "true"}
    if person is not None:
        params["person_id"] = person
    r = srv.get(f"/api/v1/reports/medications/pdf/{day}?" + q(params))
    if not check(f"form {tag}: 200", r.status == 200, repr(r)):
        return None
    path = os.path.join(WORK, tag + ".pdf")
    with open(path, "wb") as f:
        f.write(r.body)
    p = subprocess.run(["pdftotext", "-enc", "UTF-8", path, "-"], capture_output=True)
    return p.stdout.decode("utf-8", "replace") if p.returncode == 0 else ""


if __name__ == "__main__":
    main()
