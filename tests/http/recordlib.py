"""Helpers of the portable-record suites (t080 export/import over HTTP,
tests/cli/t081 on the command line, tests/fhir/t082 the FHIR bundle): run SQL
on a test database of any dialect, fill a database with a varied record
through the API (Unicode, nulls, deleted medications, doses without a time
or a person), pick another engine for a round trip, and take a snapshot of
everything the API answers about every person with the ids taken out, so
that two instances can be compared. Python 3 stdlib only."""

import json
import os
import sqlite3
import subprocess
import urllib.parse

import apilib


def sql(url, statement):
    """Runs statement on the database of url (any dialect); returns the rows
    as lists of strings (None for NULL on SQLite)."""
    if url.startswith("sqlite:"):
        path = url[len("sqlite:///"):]
        con = sqlite3.connect(path)
        try:
            rows = con.execute(statement).fetchall()
            con.commit()
        finally:
            con.close()
        return [list(r) for r in rows]
    if url.startswith("postgresql:"):
        args = ["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", statement]
        env = dict(os.environ)
    else:
        u = urllib.parse.urlsplit(url)
        args = ["mariadb", "--no-defaults", "-h", u.hostname or "127.0.0.1", "-P",
                str(u.port or 3306), "-u", urllib.parse.unquote(u.username or ""),
                u.path.lstrip("/"), "-N", "-B", "-e", statement]
        env = dict(os.environ, MYSQL_PWD=urllib.parse.unquote(u.password or ""))
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{statement!r} failed: {r.stderr.strip()}")
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def available_dialects():
    """The dialects whose servers this run has (SQLite always)."""
    out = ["sqlite"]
    if os.environ.get("MT_TEST_PG_URL"):
        out.append("postgresql")
    if os.environ.get("MT_TEST_MYSQL_URL"):
        out.append("mysql")
    return out


def other_dialect(dialect):
    """The engine a round trip from dialect goes to: the next one of
    sqlite -> postgresql -> mysql -> sqlite that this run has, else dialect
    itself."""
    order = ["sqlite", "postgresql", "mysql"]
    have = available_dialects()
    i = order.index(dialect)
    for k in range(1, 3):
        d = order[(i + k) % 3]
        if d in have:
            return d
    return dialect


def server_on(dialect, tag, env=None):
    """A Server on a fresh database of dialect (tests/lib/fresh-db reads
    MT_TEST_DIALECT from the environment)."""
    saved = os.environ.get("MT_TEST_DIALECT")
    os.environ["MT_TEST_DIALECT"] = dialect
    try:
        return apilib.Server(tag, env=env)
    finally:
        if saved is None:
            del os.environ["MT_TEST_DIALECT"]
        else:
            os.environ["MT_TEST_DIALECT"] = saved


def _ok(r, status, what):
    if r.status != status:
        raise RuntimeError(f"{what}: {r!r}")
    return r.json()


def build_record(s):
    """Fills the server's empty database with a varied record; returns the
    ids it made."""
    p1 = apilib.person(s, "María", last_name="García-Núñez", date_of_birth="1980-02-03",
                       notes='She said "no"\nand left; 100% sure')
    p2 = apilib.person(s, "李小龙")
    p3 = apilib.person(s, "Zoë", last_name="O'Brien", date_of_birth="2001-12-31")
    _ok(s.put(f"/api/v1/persons/{p1['id']}", {"notes": "updated notes ✓"}), 200, "update p1")
    _ok(s.put(f"/api/v1/persons/{p3['id']}/set-default"), 200, "default p3")
    aspirin = apilib.medication(s, p1["id"], "Aspirin", max_doses=3,
                                instructions="with food, not before 08:00")
    metformin = apilib.medication(s, p1["id"], "Metformin 500", max_doses=2)
    ibuprofen = apilib.medication(s, p1["id"], "Ibuprofen", max_doses=4)
    vit = apilib.medication(s, p2["id"], "💊 Vitamin D", max_doses=1, instructions="日曜日")
    _ok(s.put(f"/api/v1/medications/{metformin['id']}", {"dosage": "500 mg"}), 200, "update med")
    plan = [(aspirin, "2025-05-01", "08:00", 0), (aspirin, "2025-05-01", "20:30", 0),
            (aspirin, "2025-05-02", "07:15", -330), (metformin, "2025-05-01", "23:59", 300),
            (ibuprofen, "2025-04-30", "12:00", 0), (ibuprofen, "2025-05-01", "12:00", 0),
            (vit, "2025-05-03", "09:00", -600), (vit, "2024-02-29", "00:00", 0)]
    for med, day, hhmm, tz in plan:
        _ok(s.post(f"/api/v1/doses/medications/{med['id']}/dose/{day}?time={hhmm}"
                   f"&timezone_offset={tz}"), 201, "dose")
    # A dose recorded now carries microseconds.
    _ok(s.post(f"/api/v1/doses/medications/{aspirin['id']}/dose", {"timezone_offset": 0}), 201,
        "dose now")
    apilib.expect("delete a medication (keeps its doses)",
                  s.delete(f"/api/v1/medications/{ibuprofen['id']}"), 204)
    # What only old databases hold: a dose without a time, and a deleted
    # medication's dose that names no person.
    sql(s.url, f"INSERT INTO doses (medication_id, medication_name, taken_at, person_id) "
               f"VALUES ({metformin['id']}, 'Metformin 500', NULL, {p1['id']})")
    # PostgreSQL reads a naive literal in the session's zone: say UTC.
    zone = "+00" if s.url.startswith("postgresql:") else ""
    sql(s.url, "INSERT INTO doses (medication_id, medication_name, taken_at, person_id) "
               f"VALUES (NULL, 'Old Syrup', '2023-01-02 03:04:05{zone}', NULL)")
    return {"persons": [p1["id"], p2["id"], p3["id"]],
            "meds": [aspirin["id"], metformin["id"], vit["id"]],
            "deleted": ["Ibuprofen", "Old Syrup"]}


EXT = {"X-MediTrack-Fields": "extended"}


def build_dosing_record(s):
    """Fills the server's empty database with one person whose record uses
    every field of issue 15: an ingredient limit; a medication with every
    rule and two ingredients; a taken dose with a note corrected later, an
    overridden one recorded by an account's login (set in SQL: the target
    has no such account), a skipped one and one entered in error, each with
    its reason; and a deleted medication's dose with its ingredient's
    snapshot. A second person, whose medication is made first (so that
    the first person's has the higher id), has a limit and a medication
    with an ingredient of their own. Issue 16's fields: Dora lives in
    America/New_York (Eli in the server's zone); Eli's syrup is taken daily
    at two times, Dora's Cold & Flu on three weekdays between a start and an
    end date, and her Vitamin D (no doses) every third day from a start
    date. Returns the ids it made."""
    p = apilib.person(s, "Dora", last_name="Dosing", date_of_birth="1970-07-07",
                      timezone="America/New_York")
    kid = apilib.person(s, "Eli", last_name="Dosing", date_of_birth="2018-03-04")
    _ok(s.post(f"/api/v1/persons/{kid['id']}/ingredient-limits/",
               {"name": "Ibuprofen", "max_per_24h": 600.25, "unit": "mg"}), 201, "kid limit")
    apilib.medication(s, kid["id"], "Junior Syrup", max_doses=3,
                      ingredients=[{"name": "Ibuprofen", "amount": 0.1, "unit": "g"}],
                      schedule={"times": ["19:30", "07:30"], "days": "daily"})
    _ok(s.post(f"/api/v1/persons/{p['id']}/ingredient-limits/",
               {"name": "Paracetamol", "max_per_24h": 4000, "unit": "mg"}), 201, "limit")
    med = apilib.medication(s, p["id"], "Cold & Flu", max_doses=4, instructions="after food",
                            limit_window="rolling_24h", min_interval_minutes=240,
                            dose_amount=565.5, dose_unit="mg",
                            ingredients=[{"name": "Paracetamol", "amount": 500, "unit": "mg"},
                                         {"name": "Caffeine", "amount": 65.5, "unit": "mg"}],
                            schedule={"times": ["09:00", "21:00"], "days": ["fri", "mon", "wed"],
                                      "start_date": "2025-06-01", "end_date": "2025-06-30"})
    apilib.medication(s, p["id"], "Vitamin D", max_doses=1,
                      schedule={"times": ["12:00"], "days": {"every_n_days": 3},
                                "start_date": "2025-06-02"})
    syrup = apilib.medication(s, p["id"], "Night Syrup", max_doses=2,
                              ingredients=[{"name": "paracetamol", "amount": 250, "unit": "mg"}])
    base = f"/api/v1/doses/medications/{med['id']}"
    taken = _ok(s.post(f"{base}/dose/2025-06-01?time=08:00&timezone_offset=0",
                       {"note": "with tea"}, headers=EXT), 201, "taken")
    over = _ok(s.post(f"{base}/dose/2025-06-01?time=09:30&timezone_offset=0",
                      {"override": True, "override_reason": "fever 39.5 °C, doctor agreed"},
                      headers=EXT), 201, "override")
    skipped = _ok(s.post(f"{base}/skip", {"reason": "asleep",
                                          "taken_at": "2025-06-01T20:00:00Z"}), 201, "skip")
    wrong = _ok(s.post(f"{base}/dose/2025-06-02?time=08:00&timezone_offset=0", headers=EXT),
                201, "dose in error")
    _ok(s.post(f"/api/v1/doses/{wrong['id']}/entered-in-error",
               {"reason": "recorded for the wrong person"}), 200, "entered in error")
    _ok(s.request("PATCH", f"/api/v1/doses/{taken['id']}", {"note": "with tea (corrected)"}),
        200, "correct")
    _ok(s.post(f"/api/v1/doses/medications/{syrup['id']}/dose/2025-06-03?time=22:00"
               f"&timezone_offset=0", headers=EXT), 201, "syrup dose")
    apilib.expect("delete the syrup (keeps its dose and its snapshot)",
                  s.delete(f"/api/v1/medications/{syrup['id']}"), 204)
    sql(s.url, f"UPDATE doses SET recorded_by = 'carer.anna' WHERE id = {over['id']}")
    return {"person": p["id"], "med": med["id"], "taken": taken["id"], "override": over["id"],
            "skipped": skipped["id"], "error": wrong["id"]}


def dosing_snapshot(s):
    """What the API answers with the dosing fields about every person of a
    dosing record, ids left out: the medications, each one's full history
    (skipped doses too), each person's ingredient limits, and the doses of
    the deleted medication."""
    ids = ["id", "person_id", "medication_id"]
    out = []
    for p in _ok(s.get("/api/v1/persons/?limit=1000"), 200, "persons"):
        meds = _ok(s.get(f"/api/v1/medications/?person_id={p['id']}&limit=1000",
                         headers=EXT), 200, "meds")
        one = {"person": _strip(p, ids), "medications": _strip(meds, ids), "doses": [],
               "limits": _strip(_ok(s.get(f"/api/v1/persons/{p['id']}/ingredient-limits/"),
                                    200, "limits"), ids)}
        for m in meds:
            one["doses"].append(_strip(_ok(s.get(
                f"/api/v1/doses/medications/{m['id']}/doses?limit=1000", headers=EXT), 200,
                "doses"), ids))
        out.append(one)
    deleted = _ok(s.get("/api/v1/doses/deleted-medications/by-name/Night%20Syrup/doses",
                        headers=EXT), 200, "deleted")
    return {"persons": out, "deleted": _strip(deleted, ids)}


def run_cli(url, *args):
    """Runs `meditrack ARGS` on the database of url; the completed process."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENV_FILE",)}
    env.update({"DATABASE_URL": url, "LOG_LEVEL": "warning"})
    return subprocess.run([apilib.MEDITRACK, *args], env=env, cwd=apilib.TMP,
                          capture_output=True, text=True, timeout=600)


def audit_head(url):
    """`meditrack audit head` of the database of url: (seq, hash)."""
    r = run_cli(url, "audit", "head")
    if r.returncode != 0:
        raise RuntimeError(f"audit head: {r.stdout}{r.stderr}")
    seq, _, digest = r.stdout.strip().partition(":")
    return int(seq), digest


def legacy_document():
    """A version-1 document as MediTrack wrote it before issue 15: no
    dosing rules, ingredients, limits, statuses, reasons or recorded_by,
    and no audit summary."""
    return {
        "format": "meditrack-export", "version": 1, "exported_at": "2026-05-01T12:00:00Z",
        "source": {"application": "meditrack 0.1.0", "revision": "ab48726466af",
                   "engine": "sqlite"},
        "scope": {"person_id": None},
        "persons": [{
            "id": 1, "first_name": "Legacy", "last_name": "Lena", "date_of_birth": "1950-01-01",
            "notes": None, "is_default": True, "created_at": "2025-05-01T08:00:00Z",
            "updated_at": None,
            "medications": [{
                "id": 7, "name": "Aspirin", "dosage": "100 mg", "frequency": "daily",
                "max_doses_per_day": 2, "instructions": "with food",
                "created_at": "2025-05-01T08:00:00Z", "updated_at": None,
                "doses": [{"id": 100, "medication_name": None,
                           "taken_at": "2025-05-02T07:15:00Z"},
                          {"id": 101, "medication_name": None,
                           "taken_at": "2025-05-03T07:15:00.250000Z"}]}]}],
        "deleted_medication_doses": [{"id": 55, "person_id": 1, "medication_name": "Ibuprofen",
                                      "taken_at": "2025-04-30T12:00:00Z"}],
        "counts": {"persons": 1, "medications": 1, "doses": 2, "deleted_medication_doses": 1}}


def check_legacy_import(doc, where):
    """The checks of a legacy document's import, from the export of the
    target (doc): taken doses, no rules, nothing recorded_by."""
    p = doc["persons"][-1]
    m = p["medications"][0]
    doses = m["doses"]
    apilib.check(f"{where}: legacy doses are taken, with no reason and no recorder",
                 [d["status"] for d in doses] == ["taken", "taken"] and
                 all(d["recorded_by"] is None and d["status_reason"] is None and
                     d["override_rule"] is None and d["ingredients"] == [] for d in doses),
                 doses)
    apilib.check(f"{where}: legacy medication has the default rules",
                 m["limit_window"] == "calendar_day" and m["min_interval_minutes"] is None and
                 m["dose_amount"] is None and m["dose_unit"] is None and m["ingredients"] == [],
                 m)
    apilib.check(f"{where}: legacy person has no ingredient limits",
                 p["ingredient_limits"] == [], p)
    apilib.check(f"{where}: legacy times kept",
                 [d["taken_at"] for d in doses] ==
                 ["2025-05-02T07:15:00Z", "2025-05-03T07:15:00.25Z"] or
                 [d["taken_at"] for d in doses] ==
                 ["2025-05-02T07:15:00Z", "2025-05-03T07:15:00.250000Z"], doses)


def check_dosing_document(doc, where):
    """The export of build_dosing_record's database carries every field."""
    check = apilib.check
    p = doc["persons"][0]
    check(f"{where}: the person's ingredient limit",
          [{k: v for k, v in lim.items() if k not in ("created_at", "updated_at")}
           for lim in p["ingredient_limits"]] ==
          [{"name": "Paracetamol", "max_per_24h": 4000, "unit": "mg"}], p["ingredient_limits"])
    m = p["medications"][0]
    keys = list(m.keys())
    check(f"{where}: the rules follow instructions, then the schedule, doses come last",
          keys == ["id", "name", "dosage", "frequency", "max_doses_per_day", "instructions",
                   "limit_window", "min_interval_minutes", "dose_amount", "dose_unit",
                   "ingredients", "schedule", "created_at", "updated_at", "doses"], keys)
    keys = [k for k in p.keys()]
    check(f"{where}: the person's zone follows their other scalar members",
          p.get("timezone") == "America/New_York" and
          keys[keys.index("updated_at") + 1] == "timezone" and
          keys[-2:] == ["ingredient_limits", "medications"], p)
    check(f"{where}: weekdays between a start and an end date, in the API's canonical form",
          m["schedule"] == {"times": ["09:00", "21:00"], "days": ["mon", "wed", "fri"],
                            "start_date": "2025-06-01", "end_date": "2025-06-30"}, m["schedule"])
    vit = p["medications"][1] if len(p["medications"]) > 1 else {}
    check(f"{where}: every third day from its start date",
          vit.get("name") == "Vitamin D" and vit.get("doses") == [] and
          vit.get("schedule") == {"times": ["12:00"], "days": {"every_n_days": 3},
                                  "start_date": "2025-06-02", "end_date": None}, vit)
    check(f"{where}: every rule",
          (m["limit_window"], m["min_interval_minutes"], m["dose_amount"], m["dose_unit"]) ==
          ("rolling_24h", 240, 565.5, "mg"), m)
    check(f"{where}: two ingredients in their order",
          m["ingredients"] == [{"name": "Paracetamol", "amount": 500, "unit": "mg"},
                               {"name": "Caffeine", "amount": 65.5, "unit": "mg"}],
          m["ingredients"])
    by = {(d["status"], d["override_rule"] is not None): d for d in m["doses"]}
    check(f"{where}: every dose, whatever its status",
          sorted(d["status"] for d in m["doses"]) ==
          ["entered_in_error", "skipped", "taken", "taken"], m["doses"])
    t = by.get(("taken", False), {})
    check(f"{where}: the taken dose with its corrected note and recorder",
          t.get("note") == "with tea (corrected)" and t.get("recorded_by") == "anonymous" and
          t.get("updated_at") is not None and t.get("recorded_at") is not None and
          t.get("ingredients") == [{"name": "Caffeine", "amount": 65.5, "unit": "mg"},
                                   {"name": "Paracetamol", "amount": 500, "unit": "mg"}], t)
    o = by.get(("taken", True), {})
    check(f"{where}: the overridden dose with its rule, reason and recorder",
          o.get("override_rule") == "interval" and
          o.get("override_reason") == "fever 39.5 °C, doctor agreed" and
          o.get("recorded_by") == "carer.anna", o)
    k = by.get(("skipped", False), {})
    check(f"{where}: the skipped dose with its reason",
          k.get("status_reason") == "asleep" and k.get("taken_at") == "2025-06-01T20:00:00Z", k)
    e = by.get(("entered_in_error", False), {})
    check(f"{where}: the dose entered in error with its reason",
          e.get("status_reason") == "recorded for the wrong person", e)
    k = doc["persons"][1]
    check(f"{where}: the second person's limit and ingredient (their medication has the "
          "lower id)",
          [(x["name"], x["max_per_24h"], x["unit"]) for x in k["ingredient_limits"]] ==
          [("Ibuprofen", 600.25, "mg")] and
          k["medications"][0]["ingredients"] == [{"name": "Ibuprofen", "amount": 0.1,
                                                  "unit": "g"}] and
          k["medications"][0]["id"] < m["id"], k)
    check(f"{where}: the second person: the server's zone, daily at two times",
          k.get("timezone") is None and
          k["medications"][0].get("schedule") == {"times": ["07:30", "19:30"], "days": "daily",
                                                  "start_date": None, "end_date": None}, k)
    dd = doc["deleted_medication_doses"]
    check(f"{where}: the deleted medication's dose keeps its snapshot",
          len(dd) == 1 and dd[0]["medication_name"] == "Night Syrup" and
          dd[0]["ingredients"] == [{"name": "paracetamol", "amount": 250, "unit": "mg"}], dd)
    check(f"{where}: counts",
          doc["counts"] == {"persons": 2, "medications": 3, "doses": 4,
                            "deleted_medication_doses": 1, "ingredient_limits": 2},
          doc["counts"])
    keys = list(doc.keys())
    check(f"{where}: the audit summary comes just before counts",
          keys[-2:] == ["audit", "counts"] and
          set(doc["audit"]) == {"head_seq", "head_hash", "rows"}, keys)


def check_import_audit(url, actor, n_rows, where):
    """After an import into an empty database of url: one audit row per row
    created, action import, naming actor, and `audit verify` holds."""
    rows = sql(url, "SELECT actor, action, entity FROM audit_log ORDER BY seq")
    imported = [r for r in rows if r[1] == "import"]
    apilib.check(f"{where}: one audit row per imported row, naming {actor}",
                 len(imported) == n_rows and all(r[0] == actor for r in imported),
                 rows[-12:])
    r = run_cli(url, "audit", "verify")
    apilib.check(f"{where}: meditrack audit verify holds", r.returncode == 0 and
                 "audit trail holds" in r.stdout, r.stdout + r.stderr)


def _strip(obj, keys):
    if isinstance(obj, list):
        return [_strip(x, keys) for x in obj]
    if isinstance(obj, dict):
        return {k: _strip(v, keys) for k, v in obj.items() if k not in keys}
    return obj


def api_snapshot(s):
    """Everything the API answers about every person, ids left out: the
    persons, each one's medications, each medication's doses, the daily
    summary of every day with a dose, the doses of deleted medications by
    name, and each person's dose export. Persons in id order."""
    # recorded_by travels as text since issue 15's fields joined the
    # format, so it is compared like every other field.
    ids = ["id", "person_id", "medication_id"]
    persons = _ok(s.get("/api/v1/persons/?limit=1000"), 200, "persons")
    snap = {"persons": _strip(persons, ids), "per_person": []}
    days = set()
    for p in persons:
        one = {"person": _strip(_ok(s.get(f"/api/v1/persons/{p['id']}"), 200, "person"), ids)}
        meds = _ok(s.get(f"/api/v1/medications/?person_id={p['id']}&limit=1000&date=2025-05-01"
                         f"&timezone_offset=0"), 200, "meds")
        one["medications"] = _strip(meds, ids)
        one["doses"] = []
        for m in meds:
            doses = _ok(s.get(f"/api/v1/doses/medications/{m['id']}/doses?limit=1000"), 200,
                        "doses")
            # Newest first; a dose without a time (old databases) comes first
            # on PostgreSQL and last elsewhere (how each sorts NULL): put it
            # in one place before comparing engines.
            doses.sort(key=lambda d: (d["taken_at"] is None, d["taken_at"] or ""), reverse=True)
            one["doses"].append(_strip(doses, ids))
            for d in doses:
                if d["taken_at"]:
                    days.add(d["taken_at"][:10])
        one["export"] = s.get(f"/api/v1/reports/doses.json?person_id={p['id']}&from=2000-01-01"
                              f"&to=2030-12-31&timezone_offset=0").json()
        one["export"] = _strip(one["export"], ids)
        for d in one["export"]["doses"]:
            days.add(d["date"])
        snap["per_person"].append(one)
    snap["summaries"] = {}
    for day in sorted(days):
        for i, p in enumerate(persons):
            summ = _ok(s.get(f"/api/v1/doses/daily-summary/{day}?person_id={p['id']}"
                             f"&timezone_offset=0"), 200, "summary")
            snap["summaries"][f"{day}/{i}"] = _strip(summ, ids)
        snap["summaries"][day] = _strip(_ok(s.get(f"/api/v1/doses/daily-summary/{day}"
                                                  f"?timezone_offset=0"), 200, "summary"), ids)
    snap["deleted"] = {}
    for name in ("Ibuprofen", "Old Syrup"):
        snap["deleted"][name] = _strip(_ok(s.get(
            "/api/v1/doses/deleted-medications/by-name/" + urllib.parse.quote(name, safe="")
            + "/doses?limit=1000"), 200, "deleted"), ids)
    return snap


def normalized_document(doc):
    """An export document with what differs between instances taken out:
    the time and source of the export, and every id (a deleted medication's
    dose names its person by position instead)."""
    d = json.loads(json.dumps(doc))
    d.pop("exported_at", None)
    d.pop("source", None)
    # The audit summary is the source's trail: a target's differs (its own
    # rows record the import).
    d.pop("audit", None)
    position = {p["id"]: i for i, p in enumerate(d.get("persons", []))}
    for p in d.get("persons", []):
        p.pop("id", None)
        for m in p.get("medications", []):
            m.pop("id", None)
            for x in m.get("doses", []):
                x.pop("id", None)
    for x in d.get("deleted_medication_doses", []):
        x.pop("id", None)
        if x.get("person_id") is not None:
            x["person_id"] = position.get(x["person_id"], "?")
    if d.get("scope", {}).get("person_id") is not None:
        d["scope"]["person_id"] = "one"
    return d


def first_difference(a, b, path="$"):
    """Where two JSON values first differ, as text, or None."""
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"
    if isinstance(a, dict):
        for k in list(a.keys()) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}: only on one side"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"
