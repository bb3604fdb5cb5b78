#!/usr/bin/env python3
"""`meditrack export` and `meditrack import` (docs/export-format.md,
docs/cli.md): the command line writes the document GET /api/v1/export
writes, and reads it into a fresh database on another engine, which then
exports the same document; --dry-run changes nothing; a newer version, a
malformed document and persons already there are refused with exit 1 and the
JSON path; bad command lines exit 2; a database not at head is refused; and
a document far over MAX_BODY_BYTES (100,000 doses) imports through the
command line, whose reader has no body limit, with the time it took printed.
Last line: "N passed, N failed"."""

import copy
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
import apilib  # noqa: E402
import recordlib  # noqa: E402
from apilib import check  # noqa: E402

TMP = apilib.TMP
HUGE_DOSES = 100000


def run(url, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("ENV_FILE",)}
    env.update({"DATABASE_URL": url, "LOG_LEVEL": "warning"})
    return subprocess.run([apilib.MEDITRACK, *args], env=env, cwd=TMP, capture_output=True,
                          text=True, timeout=600)


def fresh(dialect, tag, upgrade=True):
    saved = os.environ.get("MT_TEST_DIALECT")
    os.environ["MT_TEST_DIALECT"] = dialect
    try:
        url = apilib.fresh_db(tag)
    finally:
        os.environ["MT_TEST_DIALECT"] = saved or apilib.DIALECT
    if upgrade:
        r = run(url, "db", "upgrade", "head")
        if r.returncode != 0:
            raise RuntimeError(r.stdout + r.stderr)
    return url


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_huge(path, n):
    """A document of one person with one medication and n doses, written
    as a stream (it is larger than the default body limit many times)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"format":"meditrack-export","version":1,"persons":[{"id":1,"first_name":'
                '"Huge","last_name":null,"date_of_birth":null,"notes":null,"is_default":true,'
                '"created_at":"2024-01-01T00:00:00Z","updated_at":null,"medications":[{"id":1,'
                '"name":"Daily","dosage":"1","frequency":"often","max_doses_per_day":20,'
                '"instructions":null,"created_at":"2024-01-01T00:00:00Z","updated_at":null,'
                '"doses":[')
        base = 1704067200  # 2024-01-01T00:00:00Z
        for i in range(n):
            t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i * 600))
            f.write(("," if i else "") + f'{{"id":{i + 1},"medication_name":null,'
                    f'"taken_at":"{t}.{i % 1000000:06d}Z"}}')
        f.write(']}]}],"deleted_medication_doses":[],"counts":{"persons":1,"medications":1,'
                f'"doses":{n},"deleted_medication_doses":0}}}}')


def main():
    dialect = apilib.DIALECT
    target = recordlib.other_dialect(dialect)
    src = apilib.Server("cli_src")
    try:
        recordlib.build_record(src)
        http_doc = src.get("/api/v1/export").json()
        first_id = http_doc["persons"][0]["id"]
    finally:
        src.stop()
    url = src.url
    out = os.path.join(TMP, f"export-{dialect}.json")

    r = run(url, "export", out)
    check("export FILE: exit 0", r.returncode == 0, r.stderr)
    check("export FILE: says what it wrote",
          "Exported 3 person(s), 3 medication(s), 8 dose(s) and 3 dose(s)" in r.stderr, r.stderr)
    doc = load(out)
    diff = recordlib.first_difference(recordlib.normalized_document(http_doc),
                                      recordlib.normalized_document(doc))
    check("export FILE: the document GET /api/v1/export writes", diff is None, diff)
    check("export FILE: no temporary file left",
          not [f for f in os.listdir(TMP) if f.startswith(f"export-{dialect}.json.tmp")])
    r = run(url, "export")
    check("export to stdout: the same document",
          r.returncode == 0 and recordlib.normalized_document(json.loads(r.stdout)) ==
          recordlib.normalized_document(doc), r.stderr)
    r = run(url, "export", "--person", str(first_id))
    one = json.loads(r.stdout) if r.returncode == 0 else {}
    check("export --person: that person only",
          [p["id"] for p in one.get("persons", [])] == [first_id], r.stderr)
    r = run(url, "export", "--person", "987654")
    check("export --person unknown: exit 1", r.returncode == 1 and "Person not found" in r.stderr,
          r.stderr)
    r = run(url, "export", "--person", "x")
    check("export --person x: exit 2", r.returncode == 2, r.stderr)
    r = run(url, "export", "--bogus")
    check("export --bogus: exit 2", r.returncode == 2, r.stderr)
    r = run(fresh(dialect, "cli_old", upgrade=False), "export")
    check("export from a database not at head: exit 1, says to upgrade",
          r.returncode == 1 and "db upgrade" in r.stderr, r.stderr)

    dst = fresh(target, "cli_dst")
    r = run(dst, "import", out, "--dry-run")
    check(f"import --dry-run into {target}: exit 0 with the counts",
          r.returncode == 0 and "Would import 3 person(s), 3 medication(s), 8 dose(s)" in r.stdout,
          r.stdout + r.stderr)
    check("import --dry-run: nothing changed",
          int(recordlib.sql(dst, "SELECT COUNT(*) FROM persons")[0][0]) == 0)
    r = run(dst, "import", out)
    check(f"import into {target}: exit 0", r.returncode == 0, r.stdout + r.stderr)
    again = run(dst, "export")
    diff = recordlib.first_difference(recordlib.normalized_document(doc),
                                      recordlib.normalized_document(json.loads(again.stdout)))
    check(f"round trip {dialect} -> {target}: the same document", diff is None, diff)
    r = run(dst, "import", out)
    check("import again: exit 1, persons already there",
          r.returncode == 1 and "$.persons[0]" in r.stderr and "--on-conflict add" in r.stderr,
          r.stderr)
    check("import again: nothing added",
          int(recordlib.sql(dst, "SELECT COUNT(*) FROM persons")[0][0]) == 3)
    r = run(dst, "import", out, "--on-conflict", "add")
    check("import --on-conflict add: exit 0", r.returncode == 0, r.stderr)
    check("import --on-conflict add: added",
          int(recordlib.sql(dst, "SELECT COUNT(*) FROM persons")[0][0]) == 6)

    newer = os.path.join(TMP, "newer.json")
    with open(newer, "w") as f:
        json.dump({"format": "meditrack-export", "version": 3, "persons": []}, f)
    r = run(dst, "import", newer)
    check("import of version 3: exit 1, refused at $.version",
          r.returncode == 1 and "$.version" in r.stderr and "newer meditrack" in r.stderr,
          r.stderr)
    bad = os.path.join(TMP, "bad.json")
    doc["persons"][1]["medications"] = [{"name": "x", "dosage": "y", "frequency": "z"}]
    with open(bad, "w") as f:
        json.dump(doc, f)
    r = run(dst, "import", bad)
    check("import of a malformed document: exit 1 with the path",
          r.returncode == 1 and "$.persons[1].medications[0].max_doses_per_day" in r.stderr,
          r.stderr)
    with open(bad, "w") as f:
        f.write('{"format": "meditrack-export",\n "version": 1,\n "persons": [tru]}')
    r = run(dst, "import", bad)
    check("import of broken JSON: exit 1 with line and column",
          r.returncode == 1 and "line 3, column" in r.stderr, r.stderr)
    r = run(dst, "import")
    check("import without FILE: exit 2", r.returncode == 2, r.stderr)
    r = run(dst, "import", os.path.join(TMP, "missing.json"))
    check("import of a missing file: exit 1", r.returncode == 1, r.stderr)
    r = run(dst, "import", out, "--on-conflict", "merge")
    check("import --on-conflict merge: exit 2", r.returncode == 2, r.stderr)

    dosing_round_trip(dialect, target)

    # Far over MAX_BODY_BYTES: the command line has no body limit.
    huge = os.path.join(TMP, "huge.json")
    write_huge(huge, HUGE_DOSES)
    size = os.path.getsize(huge)
    big = fresh(dialect, "cli_huge")
    t0 = time.time()
    r = run(big, "import", huge)
    took = time.time() - t0
    check(f"import of {HUGE_DOSES} doses ({size >> 20} MiB): exit 0", r.returncode == 0,
          r.stdout + r.stderr)
    n = int(recordlib.sql(big, "SELECT COUNT(*) FROM doses WHERE status = 'taken' AND "
                                "recorded_by IS NULL")[0][0])
    check(f"import of {HUGE_DOSES} doses: all there, taken, recorded by nobody known",
          n == HUGE_DOSES, n)
    t0 = time.time()
    r = run(big, "audit", "verify")
    took_verify = time.time() - t0
    check(f"import of {HUGE_DOSES} doses: one audit row each, and the chain holds",
          r.returncode == 0 and f"holds: {HUGE_DOSES + 2} rows" in r.stdout, r.stdout + r.stderr)
    print(f"figure: [{dialect}] audit verify of {HUGE_DOSES + 2} rows in {took_verify:.2f} s")
    print(f"figure: [{dialect}] imported {HUGE_DOSES} doses ({size} bytes) through the command "
          f"line in {took:.2f} s ({os.path.basename(apilib.MEDITRACK)} "
          f"from {os.path.dirname(apilib.MEDITRACK)})")
    t0 = time.time()
    r = run(big, "export", os.path.join(TMP, "huge-again.json"))
    took = time.time() - t0
    check(f"export of {HUGE_DOSES} doses: exit 0", r.returncode == 0, r.stderr)
    print(f"figure: [{dialect}] exported {HUGE_DOSES} doses in {took:.2f} s")
    apilib.report()


def dosing_round_trip(dialect, target):
    """Issue 15's fields on the command line: `meditrack export` of a record
    with every dosing rule, ingredients, a limit and doses of every status
    carries them all and the source's audit head; `meditrack import` into a
    fresh database on another engine reproduces the same document, writes
    one audit row per row created as "cli", and the chain verifies; a
    version-1 document without the new fields still imports."""
    src = apilib.Server("cli_dosing_src")
    try:
        recordlib.build_dosing_record(src)
    finally:
        src.stop()
    out = os.path.join(TMP, f"dosing-{dialect}.json")
    r = run(src.url, "export", out)
    check("dosing export FILE: exit 0, says what it wrote",
          r.returncode == 0 and "Exported 2 person(s), 3 medication(s), 4 dose(s) and 1 dose(s)"
          in r.stderr, r.stderr)
    doc = load(out)
    recordlib.check_dosing_document(doc, f"dosing export FILE ({dialect})")
    seq, digest = recordlib.audit_head(src.url)
    rows = int(recordlib.sql(src.url, "SELECT COUNT(*) FROM audit_log")[0][0])
    check("dosing export FILE: the audit summary is `meditrack audit head`",
          doc["audit"] == {"head_seq": seq, "head_hash": digest, "rows": rows}, doc["audit"])

    dst = fresh(target, "cli_dosing_dst")
    r = run(dst, "import", out)
    check(f"dosing import into {target}: exit 0",
          r.returncode == 0 and "Imported 2 person(s), 3 medication(s), 4 dose(s)" in r.stdout,
          r.stdout + r.stderr)
    again = run(dst, "export")
    diff = recordlib.first_difference(recordlib.normalized_document(doc),
                                      recordlib.normalized_document(json.loads(again.stdout)))
    check(f"dosing round trip {dialect} -> {target}: every field identical", diff is None, diff)
    recordlib.check_import_audit(dst, "cli", 12, f"dosing import into {target}")

    # Issue 16: a bad schedule is refused with its path, nothing written; a
    # document without zones and schedules still imports.
    bad = copy.deepcopy(doc)
    bad["persons"][0]["medications"][1]["schedule"]["days"] = {"every_n_days": 0}
    bad_file = os.path.join(TMP, f"dosing-bad-{dialect}.json")
    with open(bad_file, "w", encoding="utf-8") as f:
        json.dump(bad, f)
    empty = fresh(target, "cli_dosing_bad")
    r = run(empty, "import", bad_file)
    check("a bad schedule: exit 1, refused with its path",
          r.returncode == 1 and
          "is refused: $.persons[0].medications[1].schedule: " in r.stdout + r.stderr and
          "every_n_days" in r.stdout + r.stderr and
          int(recordlib.sql(empty, "SELECT COUNT(*) FROM persons")[0][0]) == 0,
          r.stdout + r.stderr)
    plain = copy.deepcopy(doc)
    for p in plain["persons"]:
        p.pop("timezone")
        for m in p["medications"]:
            m.pop("schedule")
    plain_file = os.path.join(TMP, f"dosing-plain-{dialect}.json")
    with open(plain_file, "w", encoding="utf-8") as f:
        json.dump(plain, f)
    r = run(empty, "import", plain_file)
    back = json.loads(run(empty, "export").stdout)
    check("a document without zones and schedules: exit 0, no warning; the server's zone, "
          "taken as needed",
          r.returncode == 0 and "warning" not in r.stdout + r.stderr and
          all(p["timezone"] is None for p in back["persons"]) and
          all(m["schedule"] is None for p in back["persons"] for m in p["medications"]) and
          recordlib.normalized_document(back) != recordlib.normalized_document(doc),
          r.stdout + r.stderr)

    # A stored schedule that does not read back (edited by hand) is
    # written as null and counted, as an unreadable time is; the others
    # are untouched.
    syrup = doc["persons"][1]["medications"][0]["id"]
    recordlib.sql(src.url, "UPDATE medication_schedules SET days = 'now and then' "
                  f"WHERE medication_id = {syrup}")
    r = run(src.url, "export")
    hand = json.loads(r.stdout) if r.returncode == 0 else {"persons": [{}, {}]}
    check("a schedule edited by hand: exported as null, with a warning; the others kept",
          "warning: 1 stored schedule(s) that do not read back were exported as null" in r.stderr
          and hand["persons"][1]["medications"][0]["schedule"] is None and
          hand["persons"][0]["medications"][0]["schedule"] ==
          doc["persons"][0]["medications"][0]["schedule"], r.stderr)

    legacy = os.path.join(TMP, "legacy.json")
    with open(legacy, "w", encoding="utf-8") as f:
        json.dump(recordlib.legacy_document(), f)
    old = fresh(dialect, "cli_legacy")
    r = run(old, "import", legacy)
    check("legacy document: exit 0, no unknown member",
          r.returncode == 0 and "unknown member" not in r.stdout + r.stderr, r.stdout + r.stderr)
    recordlib.check_legacy_import(json.loads(run(old, "export").stdout), "legacy document (cli)")
    recordlib.check_import_audit(old, "cli", 5, "legacy document (cli)")


if __name__ == "__main__":
    main()
