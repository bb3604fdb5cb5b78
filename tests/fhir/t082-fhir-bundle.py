#!/usr/bin/env python3
"""GET /api/v1/persons/{id}/fhir (docs/reports.md, "FHIR R4"): the bundle of
every person of a generated database and of the fixture databases of
../shared/fixtures (the SQLite ones on sqlite, the PostgreSQL dump on
postgresql; MariaDB has no fixture) taken to head is validated with the fhir
npm package (FHIR.js, R4; tests/fhir/validate.mjs, installed by setup.sh),
and every reference must resolve inside its bundle. Also: one
MedicationAdministration per dose in the range, the statuses, the same
UUIDs on every request, the content type, the date range and its 422, and
404 for an unknown person. The export documents of the same databases
(GET /api/v1/export) are validated against docs/export-format.schema.json
with ajv (tests/fhir/schema.mjs). Last line: "N passed, N failed"."""

import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
import apilib  # noqa: E402
import recordlib  # noqa: E402
from apilib import check, expect  # noqa: E402

FIXTURES = os.environ.get("MT_TEST_FIXTURES") or os.path.join(apilib.ROOT, "..", "shared",
                                                              "fixtures")
TMP = apilib.TMP
saved = []
exports = []


def save_export(s, name, query=""):
    r = s.get("/api/v1/export" + query)
    if not check(f"export {name}{query}: 200", r.status == 200, repr(r)):
        return
    path = os.path.join(TMP, f"export-{apilib.DIALECT}-{name}.json")
    with open(path, "wb") as f:
        f.write(r.body)
    exports.append(path)


def bundle(s, pid, query=""):
    r = s.get(f"/api/v1/persons/{pid}/fhir{query}")
    if r.status != 200:
        return r, None
    return r, r.json()


def save(name, doc):
    path = os.path.join(TMP, f"fhir-{apilib.DIALECT}-{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    saved.append(path)
    return path


def of_type(doc, t):
    return [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == t]


def bundles_of_every_person(s, label):
    """Saves the bundle of every person; checks the counts against the
    API's own answers."""
    persons = s.get("/api/v1/persons/?limit=1000").json()
    for p in persons:
        r, doc = bundle(s, p["id"])
        if not check(f"{label}: bundle of person {p['id']}: 200", doc is not None, repr(r)):
            continue
        save(f"{label}-{p['id']}", doc)
        meds = s.get(f"/api/v1/medications/?person_id={p['id']}&limit=1000").json()
        # The person's dose export: every dose with a time, of their
        # medications and of their deleted ones.
        export = s.get(f"/api/v1/reports/doses.json?person_id={p['id']}&from=0001-01-02"
                       "&to=9999-12-30&timezone_offset=0").json()
        deleted = {d["medication_name"] for d in export["doses"] if d["deleted"]}
        n_doses = len(export["doses"])
        check(f"{label}: person {p['id']}: one Medication and MedicationStatement per "
              "medication and deleted medication",
              len(of_type(doc, "Medication")) == len(meds) + len(deleted) and
              len(of_type(doc, "MedicationStatement")) == len(meds) + len(deleted),
              f"{len(meds)} + {len(deleted)}")
        check(f"{label}: person {p['id']}: one MedicationAdministration per dose",
              len(of_type(doc, "MedicationAdministration")) == n_doses,
              f"{len(of_type(doc, 'MedicationAdministration'))} != {n_doses}")
    return persons


def load_pg_fixture(url):
    """The PostgreSQL fixture (a pg_dump at 35bddb769482) into url, without
    the \\restrict lines older psql do not know."""
    with open(os.path.join(FIXTURES, "reference-postgresql", "at-35bddb769482.sql")) as f:
        text = "".join(line for line in f if not line.startswith(("\\restrict", "\\unrestrict")))
    r = subprocess.run(["psql", url, "-qX", "-v", "ON_ERROR_STOP=1"], input=text, text=True,
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)


def fixture_servers():
    """(label, server) for each fixture of this dialect, taken to head."""
    out = []
    if apilib.DIALECT == "sqlite":
        for name in ("at-588f4ae43933-with-doses.db", "at-03586fa62d43-with-leftover-tmp-table.db"):
            copy = os.path.join(TMP, f"fixture-{name}")
            shutil.copyfile(os.path.join(FIXTURES, "reference-sqlite", name), copy)
            os.chmod(copy, 0o644)
            out.append((name, apilib.Server("fhir_fix", env={"DATABASE_URL": f"sqlite:///{copy}"})))
    elif apilib.DIALECT == "postgresql":
        url = apilib.fresh_db("fhir_fix_pg")
        load_pg_fixture(url)
        out.append(("at-35bddb769482.sql", apilib.Server("fhir_fix", env={"DATABASE_URL": url})))
    else:
        print("note: no MariaDB fixture in ../shared/fixtures; the generated database only")
    return out


def main():
    setup = subprocess.run([os.path.join(HERE, "setup.sh")], capture_output=True, text=True,
                           timeout=600)
    check("tests/fhir/setup.sh installs the validator", setup.returncode == 0,
          setup.stdout[-500:] + setup.stderr[-1000:])

    s = apilib.Server("fhir_gen", env={"SECRET_KEY": "a test key for the fhir suite"})
    fixtures = []
    try:
        ids = recordlib.build_record(s)
        p1 = ids["persons"][0]
        # A longer history, so that the streamed bundle spans many chunks.
        long_med = apilib.medication(s, ids["persons"][1], "Long history", max_doses=20)
        for i in range(1500):
            day = f"2024-{1 + i // 150 % 12:02d}-{1 + i % 28:02d}"
            s.post(f"/api/v1/doses/medications/{long_med['id']}/dose/{day}"
                   f"?time={i % 24:02d}:{i % 60:02d}&timezone_offset=0")
        bundles_of_every_person(s, "generated")
        save_export(s, "generated")
        save_export(s, "generated-one", f"?person_id={p1}")

        r, doc = bundle(s, p1)
        check("content type application/fhir+json",
              r.headers.get("content-type", "").startswith("application/fhir+json"),
              r.headers.get("content-type"))
        check("Bundle of type collection", doc["resourceType"] == "Bundle" and
              doc["type"] == "collection")
        statuses = sorted({x["status"] for x in of_type(doc, "MedicationStatement")})
        check("statements: active, and completed for a deleted medication",
              statuses == ["active", "completed"], statuses)
        admin = of_type(doc, "MedicationAdministration")
        check("administrations: completed, UTC instants",
              all(a["status"] == "completed" and
                  re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", a["effectiveDateTime"])
                  for a in admin), admin[:2])
        stmt = [x for x in of_type(doc, "MedicationStatement") if x["status"] == "active"]
        check("statement: dosage text from dosage, frequency and instructions",
              any(x["dosage"][0]["text"] == "1 tab, daily. with food, not before 08:00"
                  for x in stmt), [x.get("dosage") for x in stmt])
        patient = of_type(doc, "Patient")[0]
        check("patient: name and birth date",
              patient["name"][0]["family"] == "García-Núñez" and
              patient["name"][0]["given"] == ["María"] and patient["birthDate"] == "1980-02-03",
              patient)
        r2, doc2 = bundle(s, p1)
        check("the same UUIDs on every request",
              [e["fullUrl"] for e in doc["entry"]] == [e["fullUrl"] for e in doc2["entry"]])

        r, day = bundle(s, p1, "?start=2025-05-01&end=2025-05-01&timezone_offset=0")
        times = sorted(a["effectiveDateTime"] for a in of_type(day, "MedicationAdministration"))
        check("range: the doses of 2025-05-01 (UTC)",
              times == ["2025-05-01T08:00:00Z", "2025-05-01T12:00:00Z", "2025-05-01T20:30:00Z"],
              times)
        save("range", day)
        r, west = bundle(s, p1, "?start=2025-05-01&end=2025-05-01&timezone_offset=300")
        times = sorted(a["effectiveDateTime"] for a in of_type(west, "MedicationAdministration"))
        check("range: local days of timezone_offset (UTC-5)",
              times == ["2025-05-01T08:00:00Z", "2025-05-01T12:00:00Z", "2025-05-01T20:30:00Z",
                        "2025-05-02T01:45:00Z", "2025-05-02T04:59:00Z"], times)
        r, none = bundle(s, p1, "?start=2030-01-01")
        check("range: no dose after 2030, the medications still listed",
              not of_type(none, "MedicationAdministration") and of_type(none, "Medication"))
        expect("end before start: 422",
               s.get(f"/api/v1/persons/{p1}/fhir?start=2025-05-02&end=2025-05-01"), 422)
        expect("a bad date: 422", s.get(f"/api/v1/persons/{p1}/fhir?start=2025-13-01"), 422)
        expect("unknown person: 404", s.get("/api/v1/persons/987654/fhir"), 404,
               {"detail": "Person not found"})
        expect("person 0: 422", s.get("/api/v1/persons/0/fhir"), 422)

        for label, fs in fixture_servers():
            fixtures.append(fs)
            persons = bundles_of_every_person(fs, label)
            check(f"{label}: has persons", len(persons) > 0)
            save_export(fs, label)
    finally:
        s.stop()
        for fs in fixtures:
            fs.stop()

    if setup.returncode == 0:
        r = subprocess.run(["node", os.path.join(HERE, "validate.mjs"), *saved],
                           capture_output=True, text=True, timeout=600)
        results = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        check("the validator read every bundle", len(results) == len(saved),
              r.stderr[-1000:])
        for res in results:
            check(f"valid FHIR R4, every reference resolves: {os.path.basename(res['file'])} "
                  f"({res.get('entries')} entries, {res.get('references')} references)",
                  res["valid"], res["errors"])
        r = subprocess.run(["node", os.path.join(HERE, "schema.mjs"),
                            os.path.join(apilib.ROOT, "docs", "export-format.schema.json"),
                            *exports], capture_output=True, text=True, timeout=600)
        results = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        check("ajv read every export document", len(results) == len(exports), r.stderr[-1000:])
        for res in results:
            check(f"export document valid by docs/export-format.schema.json: "
                  f"{os.path.basename(res['file'])}", res["valid"], res["errors"])
    apilib.report()


if __name__ == "__main__":
    main()
