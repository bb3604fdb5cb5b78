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
