#!/usr/bin/env python3
"""GET /api/v1/export and POST /api/v1/import (docs/export-format.md): a
varied record is exported from the dialect under test and imported into a
fresh instance on ANOTHER engine (sqlite -> postgresql -> mysql -> sqlite,
when this run has their servers), which must then give the same API answers
for every person (persons, medications, doses, daily summaries, deleted
medications, the dose export; ids left out) and export the same document
again. Also: the dry run previews and changes nothing, a newer format
version is refused, malformed documents get 400/422 with the JSON path of
the problem, unknown members are warnings, persons already on the target
refuse the import (409) unless on_conflict=add, a failure at the last row leaves nothing (all or
nothing), the body limit holds (413),
an unknown person is 404. Last line: "N passed, N failed"."""

import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
import authlib  # noqa: E402
import recordlib  # noqa: E402
from apilib import check, expect  # noqa: E402


def post_doc(s, doc, query=""):
    body = doc if isinstance(doc, (bytes, str)) else json.dumps(doc)
    return s.post("/api/v1/import" + query, body, headers={"Content-Type": "application/json"})


def first_error(r):
    body = r.json() or {}
    detail = body.get("detail")
    return detail[0] if isinstance(detail, list) and detail else {}


def add_refusing_trigger(url):
    """A trigger on doses that refuses a dose named 'boom'."""
    if url.startswith("sqlite:"):
        recordlib.sql(url, "CREATE TRIGGER t080_boom BEFORE INSERT ON doses "
                           "WHEN NEW.medication_name = 'boom' "
                           "BEGIN SELECT RAISE(ABORT, 'boom'); END")
    elif url.startswith("postgresql:"):
        recordlib.sql(url, "CREATE FUNCTION t080_boom() RETURNS trigger LANGUAGE plpgsql AS $$ "
                           "BEGIN IF NEW.medication_name = 'boom' THEN RAISE EXCEPTION 'boom'; "
                           "END IF; RETURN NEW; END $$; "
                           "CREATE TRIGGER t080_boom BEFORE INSERT ON doses FOR EACH ROW "
                           "EXECUTE FUNCTION t080_boom()")
    else:
        recordlib.sql(url, "DELIMITER //\nCREATE TRIGGER t080_boom BEFORE INSERT ON doses "
                           "FOR EACH ROW BEGIN IF NEW.medication_name = 'boom' THEN "
                           "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'; END IF; END//\n"
                           "DELIMITER ;")


def main():
    dialect = apilib.DIALECT
    target = recordlib.other_dialect(dialect)
    if target == dialect:
        print(f"note: no other engine in this run; the round trip stays on {dialect}")
    src = apilib.Server("exp_src")
    dst = recordlib.server_on(target, "exp_dst")
    small = recordlib.server_on(target, "exp_small", env={"MAX_BODY_BYTES": "4096"})
    try:
        recordlib.build_record(src)
        before = recordlib.api_snapshot(src)

        r = src.get("/api/v1/export")
        expect("export: 200", r, 200)
        check("export: JSON content type", r.headers.get("content-type") == "application/json",
              r.headers.get("content-type"))
        check("export: a download", "attachment" in r.headers.get("content-disposition", ""))
        doc = r.json()
        check("export: format and version first",
              list(doc.keys())[:2] == ["format", "version"] and doc["format"] ==
              "meditrack-export" and doc["version"] == 2, list(doc.keys()))
        check("export: source names the engine and revision",
              doc["source"]["engine"] == dialect and len(doc["source"]["revision"]) == 12,
              doc["source"])
        check("export: counts", doc["counts"] == {"persons": 3, "medications": 3, "doses": 8,
                                                  "deleted_medication_doses": 3,
                                                  "ingredient_limits": 0}, doc["counts"])
        check("export: a dose without a time is null", any(
            d["taken_at"] is None for p in doc["persons"] for m in p["medications"]
            for d in m["doses"]))
        check("export: a deleted medication's dose without a person",
              any(d["person_id"] is None for d in doc["deleted_medication_doses"]))
        check("export: microseconds kept",
              any("." in (d["taken_at"] or "") for p in doc["persons"]
                  for m in p["medications"] for d in m["doses"]))

        # One person.
        pid = doc["persons"][0]["id"]
        one = src.get(f"/api/v1/export?person_id={pid}").json()
        check("export ?person_id: that person only",
              [p["id"] for p in one["persons"]] == [pid] and one["scope"]["person_id"] == pid)
        check("export ?person_id: their deleted medications' doses only",
              all(d["person_id"] == pid for d in one["deleted_medication_doses"])
              and len(one["deleted_medication_doses"]) == 2)
        expect("export ?person_id unknown: 404", src.get("/api/v1/export?person_id=999999"), 404,
               {"detail": "Person not found"})
        expect("export ?person_id=0: 422", src.get("/api/v1/export?person_id=0"), 422)

        # The dry run answers what would be created and changes nothing.
        r = post_doc(dst, doc, "?dry_run=true")
        expect("dry run: 200", r, 200)
        pre = r.json() or {}
        check("dry run: counts to create",
              pre.get("to_create") == {"persons": 3, "medications": 3, "doses": 8,
                                       "deleted_medication_doses": 3, "ingredient_limits": 0} and
              pre.get("imported") is False and pre.get("target_was_empty") is True, pre)
        check("dry run: nothing changed",
              dst.get("/api/v1/persons/").json() == [] and
              recordlib.sql(dst.url, "SELECT COUNT(*) FROM doses")[0][0] in (0, "0"))

        # The import, and the same answers on the other engine.
        r = post_doc(dst, doc)
        expect(f"import into {target}: 200", r, 200)
        out = r.json() or {}
        check("import: created counts", out.get("created") == pre.get("to_create"), out)
        check("import: new person ids listed",
              [m["document_id"] for m in out.get("person_ids", [])] ==
              [p["id"] for p in doc["persons"]], out.get("person_ids"))
        after = recordlib.api_snapshot(dst)
        diff = recordlib.first_difference(before, after)
        check(f"round trip {dialect} -> {target}: the same API answers for every person",
              diff is None, diff)
        again = dst.get("/api/v1/export").json()
        diff = recordlib.first_difference(recordlib.normalized_document(doc),
                                          recordlib.normalized_document(again))
        check("round trip: the target exports the same document", diff is None, diff)
        check("round trip: the target names its own engine",
              again["source"]["engine"] == target, again["source"])

        # Persons already on the target.
        r = post_doc(dst, doc)
        expect("import again: 409 (persons already there)", r, 409)
        body = r.json() or {}
        check("409: lists the conflicts with their paths",
              body.get("conflicts_total") == 3 and body["conflicts"][0]["path"] == "$.persons[0]"
              and "existing_person_id" in body["conflicts"][0], body)
        check("409: nothing was added", len(dst.get("/api/v1/persons/").json()) == 3)
        r = post_doc(dst, doc, "?dry_run=true")
        check("dry run with conflicts: 409 and the preview",
              r.status == 409 and (r.json() or {}).get("dry_run") is True, r)
        r = post_doc(dst, doc, "?on_conflict=add")
        expect("on_conflict=add: 200", r, 200)
        persons = dst.get("/api/v1/persons/").json()
        check("on_conflict=add: added as other persons; the default stays",
              len(persons) == 6 and sum(p["is_default"] for p in persons) == 1, persons)
        expect("on_conflict=merge: 422", post_doc(dst, doc, "?on_conflict=merge"), 422)

        # Newer versions are refused before anything else is read.
        newer = {"format": "meditrack-export", "version": 3, "persons": "anything"}
        r = post_doc(dst, newer)
        expect("version 3: 422", r, 422)
        e = first_error(r)
        check("version 3: loc and type", e.get("loc") == ["body", "version"] and
              e.get("type") == "newer_version" and "newer meditrack" in e.get("msg", ""), e)

        # Malformed documents: the JSON path of the first problem.
        def bad(name, mutate, loc, typ, status=422):
            d = copy.deepcopy(doc)
            mutate(d)
            r = post_doc(dst, d, "?dry_run=true")
            e = first_error(r)
            ok = r.status == status and e.get("loc") == loc and e.get("type") == typ
            check(f"malformed ({name}): {status} at {loc}", ok, f"{r.status} {e}")

        def set_(path, value):
            def f(d):
                o = d
                for k in path[:-1]:
                    o = o[k]
                o[path[-1]] = value
            return f

        def drop(path):
            def f(d):
                o = d
                for k in path[:-1]:
                    o = o[k]
                del o[path[-1]]
            return f

        m0 = ["persons", 0, "medications", 0]
        bad("a number for a name", set_(m0 + ["name"], 5), ["body"] + m0 + ["name"],
            "string_type")
        bad("first_name missing", drop(["persons", 1, "first_name"]),
            ["body", "persons", 1, "first_name"], "missing")
        bad("first_name null", set_(["persons", 1, "first_name"], None),
            ["body", "persons", 1, "first_name"], "null_not_allowed")
        bad("a name too long", set_(m0 + ["dosage"], "x" * 256), ["body"] + m0 + ["dosage"],
            "string_too_long")
        bad("a bad timestamp", set_(m0 + ["doses", 0, "taken_at"], "2025-05-01 08:00"),
            ["body"] + m0 + ["doses", 0, "taken_at"], "datetime_format")
        bad("a bad date", set_(["persons", 0, "date_of_birth"], "1980-02-30"),
            ["body", "persons", 0, "date_of_birth"], "date_format")
        bad("a string for a count", set_(m0 + ["max_doses_per_day"], "2"),
            ["body"] + m0 + ["max_doses_per_day"], "int_type")
        bad("persons not an array", set_(["persons"], {}), ["body", "persons"], "array_type")
        bad("an unknown person", set_(["deleted_medication_doses", 1, "person_id"], 424242),
            ["body", "deleted_medication_doses", 1, "person_id"], "unknown_person")
        bad("two persons with one id", set_(["persons", 1, "id"], doc["persons"][0]["id"]),
            ["body", "persons", 1, "id"], "duplicate_id")
        bad("counts that do not match", set_(["counts", "doses"], 6),
            ["body", "counts", "doses"], "count_mismatch")
        bad("another format", set_(["format"], "something-else"), ["body", "format"], "format")
        bad("U+0000 in a text", set_(["persons", 0, "notes"], "a\u0000b"),
            ["body", "persons", 0, "notes"], "string_nul")
        r = post_doc(dst, json.dumps(doc)[:-40], "?dry_run=true")
        check("truncated document: 400 with line and column",
              r.status == 400 and "line 1, column" in (r.json() or {}).get("detail", ""), r)
        r = post_doc(dst, '{"format": "meditrack-export", "version": 1, "persons": [}',
                     "?dry_run=true")
        expect("not JSON: 400", r, 400)
        r = post_doc(dst, [1, 2], "?dry_run=true")
        expect("an array: 422", r, 422)
        check("an array: loc is the body", first_error(r).get("loc") == ["body"])
        r = dst.post("/api/v1/import?dry_run=true", "x", headers={"Content-Type": "text/csv"})
        expect("a CSV body: 415", r, 415)
        expect("no body: 400", dst.post("/api/v1/import"), 400)

        # Unknown members (a later revision of version 1) are warnings.
        d = copy.deepcopy(doc)
        d["persons"][0]["medications"][0]["reminder_sound"] = "chime"
        d["persons"][0]["favourite_colour"] = {"nested": [1, 2, {"x": None}]}
        d["persons"][0]["medications"][0]["ingredients"] = [
            {"name": "x", "amount": 1, "unit": "mg", "source": "label"}]
        d["appendix"] = []
        r = post_doc(dst, d, "?dry_run=true&on_conflict=add")
        body = r.json() or {}
        paths = [w["path"] for w in body.get("warnings", [])]
        unknown = [w for w in body.get("warnings", []) if w["message"].startswith("unknown")]
        check("unknown members: 200 with a warning for each",
              r.status == 200 and len(unknown) == 4 and
              "$.persons[0].medications[0].reminder_sound" in paths and "$.appendix" in paths and
              "$.persons[0].medications[0].ingredients[0].source" in paths, body)

        # All or nothing: a dose the target's database refuses at the very
        # end (a trigger stands in for any failure there) leaves nothing of
        # the persons and medications inserted before it in the transaction.
        add_refusing_trigger(dst.url)
        d = copy.deepcopy(doc)
        d["deleted_medication_doses"][-1]["medication_name"] = "boom"
        n_before = [recordlib.sql(dst.url, f"SELECT COUNT(*) FROM {t}")[0][0]
                    for t in ("persons", "medications", "doses")]
        r = post_doc(dst, d, "?on_conflict=add")
        check("a failure at the last dose: 500", r.status == 500, r)
        n_after = [recordlib.sql(dst.url, f"SELECT COUNT(*) FROM {t}")[0][0]
                   for t in ("persons", "medications", "doses")]
        check("a failure at the last dose: nothing was imported", n_before == n_after,
              f"{n_before} -> {n_after}")

        # The request body limit: the command line has none (tests/cli).
        d = copy.deepcopy(doc)
        d["padding"] = "x" * 8192
        r = post_doc(small, d, "?dry_run=true")
        expect("a document over MAX_BODY_BYTES: 413", r, 413)
    finally:
        src.stop()
        dst.stop()
        small.stop()
    dosing_round_trip(dialect, target)
    apilib.report()


def dosing_round_trip(dialect, target):
    """Issue 15's fields: a record with every dosing rule, two ingredients,
    an ingredient limit, a taken, an overridden, a skipped and an
    entered_in_error dose with their reasons and recorders goes to a fresh
    instance on another engine and comes back identical; the audit summary
    is the source's head; the import writes its audit rows and the chain
    still verifies; a version-1 document without the new fields still
    imports; the new fields are checked like the others."""
    src = apilib.Server("exp_dosing_src")
    dst = recordlib.server_on(target, "exp_dosing_dst")
    try:
        recordlib.build_dosing_record(src)
        before = recordlib.dosing_snapshot(src)
        doc = src.get("/api/v1/export").json()
        recordlib.check_dosing_document(doc, f"dosing export ({dialect})")
        seq, digest = recordlib.audit_head(src.url)
        n_rows = int(recordlib.sql(src.url, "SELECT COUNT(*) FROM audit_log")[0][0])
        check("dosing export: the audit summary is `meditrack audit head` and the row count",
              doc["audit"] == {"head_seq": seq, "head_hash": digest, "rows": n_rows},
              (doc["audit"], seq, digest, n_rows))
        ids = recordlib.sql(src.url, "SELECT id FROM persons ORDER BY id")
        one = src.get(f"/api/v1/export?person_id={ids[1][0]}").json()
        check("dosing export of the second person: their limit and ingredient only, and the "
              "same audit summary",
              [p["first_name"] for p in one["persons"]] == ["Eli"] and
              one["persons"][0] == doc["persons"][1] and
              one["deleted_medication_doses"] == [] and one["audit"] == doc["audit"] and
              one["counts"]["ingredient_limits"] == 1, one)

        r = post_doc(dst, doc, "?dry_run=true")
        check("dosing import, dry run: 200 with no warning",
              r.status == 200 and r.json()["warnings_total"] == 0, r)
        r = post_doc(dst, doc)
        check(f"dosing import into {target}: 200, imported, with its counts", r.status == 200 and
              r.json().get("imported") is True and r.json().get("created") ==
              {"persons": 2, "medications": 3, "doses": 4, "deleted_medication_doses": 1,
               "ingredient_limits": 2}, r)
        after = recordlib.dosing_snapshot(dst)
        diff = recordlib.first_difference(before, after)
        check(f"dosing round trip {dialect} -> {target}: the same API answers, every field",
              diff is None, diff)
        again = dst.get("/api/v1/export").json()
        diff = recordlib.first_difference(recordlib.normalized_document(doc),
                                          recordlib.normalized_document(again))
        check(f"dosing round trip {dialect} -> {target}: the same document", diff is None, diff)
        # 2 persons, 2 limits, 3 medications, 4 doses, 1 deleted medication's dose.
        recordlib.check_import_audit(dst.url, "anonymous", 12, f"dosing import into {target}")
        check("dosing import: the target's audit summary is its own head",
              (again["audit"]["head_seq"], again["audit"]["head_hash"]) ==
              recordlib.audit_head(dst.url), again["audit"])
        ing = recordlib.sql(dst.url, "SELECT COUNT(*) FROM dose_ingredients")[0][0]
        check("dosing import: the doses' ingredient snapshots (2 + 2 + 2 + 1 rows)",
              int(ing) == 7, ing)

        # A version-1 document written before these fields still imports.
        legacy = recordlib.legacy_document()
        r = post_doc(dst, legacy)
        check("legacy document: 200, imported, no unknown member",
              r.status == 200 and r.json().get("imported") is True and
              not [w for w in r.json()["warnings"] if w["message"].startswith("unknown")], r)
        recordlib.check_legacy_import(dst.get("/api/v1/export").json(), "legacy document")
        r = recordlib.run_cli(dst.url, "audit", "verify")
        check("legacy document: audit verify holds", r.returncode == 0, r.stdout + r.stderr)

        # The new fields are checked like the others.
        def refused(name, change, loc, typ):
            d = copy.deepcopy(doc)
            change(d)
            r = post_doc(dst, d, "?dry_run=true&on_conflict=add")
            e = first_error(r)
            check(f"{name}: 422 at {'.'.join(map(str, loc))}",
                  r.status == 422 and e.get("loc") == ["body", *loc] and e.get("type") == typ,
                  r)

        med = ["persons", 0, "medications", 0]
        refused("an unknown status",
                lambda d: d["persons"][0]["medications"][0]["doses"][0].update(status="lost"),
                [*med, "doses", 0, "status"], "enum")
        refused("an unknown window",
                lambda d: d["persons"][0]["medications"][0].update(limit_window="weekly"),
                [*med, "limit_window"], "enum")
        refused("an interval out of range",
                lambda d: d["persons"][0]["medications"][0].update(min_interval_minutes=0),
                [*med, "min_interval_minutes"], "out_of_range")
        refused("a negative amount",
                lambda d: d["persons"][0]["medications"][0]["ingredients"][1].update(amount=-1),
                [*med, "ingredients", 1, "amount"], "out_of_range")
        refused("an ingredient named twice",
                lambda d: d["persons"][0]["medications"][0]["ingredients"][1].update(
                    name=" paracetamol"), [*med, "ingredients", 1, "name"], "duplicate_name")
        refused("a limit without its unit",
                lambda d: d["persons"][0]["ingredient_limits"][0].pop("unit"),
                ["persons", 0, "ingredient_limits", 0, "unit"], "missing")
        refused("limits after the medications",
                lambda d: d["persons"][0].update(
                    ingredient_limits=d["persons"][0].pop("ingredient_limits")),
                ["persons", 0, "ingredient_limits"], "member_order")
        refused("a count of limits that does not match",
                lambda d: d["counts"].update(ingredient_limits=3),
                ["counts", "ingredient_limits"], "count_mismatch")

        # Issue 16's members: checked with the API's own code, refused
        # with their path.
        refused("a schedule time that is no time",
                lambda d: d["persons"][0]["medications"][0]["schedule"].update(
                    times=["09:00", "25:00"]), [*med, "schedule"], "schedule")
        refused("every N days without the start it counts from",
                lambda d: d["persons"][0]["medications"][1]["schedule"].update(start_date=None),
                ["persons", 0, "medications", 1, "schedule"], "schedule")
        refused("a schedule that is a text",
                lambda d: d["persons"][0]["medications"][0].update(schedule="twice a day"),
                [*med, "schedule"], "object_type")
        refused("a schedule with an unknown member",
                lambda d: d["persons"][0]["medications"][0]["schedule"].update(hours=[9]),
                [*med, "schedule"], "schedule")
        refused("an unknown time zone",
                lambda d: d["persons"][1].update(timezone="Mars/Olympus_Mons"),
                ["persons", 1, "timezone"], "timezone")
        d = copy.deepcopy(doc)
        d["persons"][0]["medications"][0]["schedule"]["end_date"] = "2025-05-31"
        r = post_doc(dst, d, "?dry_run=true&on_conflict=add")
        e = first_error(r)
        check("an end before the start: refused with its path and the API's words",
              r.status == 422 and e.get("path") == "$.persons[0].medications[0].schedule" and
              "end_date" in e.get("msg", ""), r)

        # A document without them (written before issue 16) still imports:
        # every person in the server's zone, every medication as needed.
        d = copy.deepcopy(doc)
        for p in d["persons"]:
            p.pop("timezone")
            for m in p["medications"]:
                m.pop("schedule")
        n_persons = len(dst.get("/api/v1/persons/?limit=1000").json())
        r = post_doc(dst, d, "?on_conflict=add")
        check("a document without zones and schedules: 200, imported, nothing unknown",
              r.status == 200 and r.json().get("imported") is True and
              not [w for w in r.json()["warnings"] if w["message"].startswith("unknown")], r)
        mine = dst.get("/api/v1/export").json()["persons"][n_persons:]
        check("a document without zones and schedules: the server's zone, taken as needed",
              [p["first_name"] for p in mine] == ["Dora", "Eli"] and
              all(p["timezone"] is None for p in mine) and
              all(m["schedule"] is None for p in mine for m in p["medications"]), mine)
    finally:
        src.stop()
        dst.stop()

    # With access control, the import's audit rows name the administrator
    # who imported, while each dose keeps its own recorder.
    auth = recordlib.server_on(target, "exp_dosing_auth", env=authlib.auth_env())
    try:
        admin, _ = authlib.first_admin(auth, username="imp.admin")
        authlib.make_account(admin, "imp.carer", "carer")
        carer, _ = authlib.login(auth, "imp.carer", "a long password 1")
        r = carer.post("/api/v1/import", json.dumps(doc),
                       headers={"Content-Type": "application/json"})
        check("AUTH=on: a carer may not import (403)", r.status == 403, r)
        r = admin.post("/api/v1/import", json.dumps(doc),
                       headers={"Content-Type": "application/json"})
        check("AUTH=on: the administrator imports", r.status == 200, r)
        recordlib.check_import_audit(auth.url, "imp.admin", 12, "AUTH=on import")
        again = admin.get("/api/v1/export").json()
        diff = recordlib.first_difference(recordlib.normalized_document(doc),
                                          recordlib.normalized_document(again))
        check("AUTH=on import: the same document (recorded_by kept, not the importer)",
              diff is None, diff)
    finally:
        auth.stop()


if __name__ == "__main__":
    main()
