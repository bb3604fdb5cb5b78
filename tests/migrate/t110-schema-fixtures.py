#!/usr/bin/env python3
"""Every database in ../shared/fixtures/ is brought to head by `meditrack db
upgrade head` with every persons, medications and doses row kept (same id,
same values), the head schema, working id generation, every dose given its
medication's person (doses whose medication is gone have none), a downgrade
and upgrade that keep every row, and a second run that changes nothing. The fixtures themselves are used on their own dialect (the
SQLite files copied, the PostgreSQL dump loaded with psql); on the other
dialects their rows are put into a database that our chain built at the same
revision (tracked or not, leftover table included), so every dialect takes
over the same data. Fixtures are never modified in place."""

import glob
import os
import shutil
import sqlite3
import stat
import subprocess

import schemalib as L

L.require_tools()

SQLITE_FIXTURES = sorted(glob.glob(os.path.join(L.FIXTURES, "reference-sqlite", "*.db")))
PG_DUMPS = sorted(glob.glob(os.path.join(L.FIXTURES, "reference-postgresql", "*.sql")))
L.check("fixtures found in %s" % L.FIXTURES, len(SQLITE_FIXTURES) >= 4 and len(PG_DUMPS) >= 1,
        "sqlite %d, postgresql %d" % (len(SQLITE_FIXTURES), len(PG_DUMPS)))

TMP_DOSES_DDL = L.dialect_ddl(
    "CREATE TABLE _alembic_tmp_doses (id INTEGER NOT NULL, medication_id INTEGER, "
    "taken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), medication_name VARCHAR, PRIMARY KEY (id))",
    "CREATE TABLE _alembic_tmp_doses (id INTEGER NOT NULL, medication_id INTEGER, "
    "taken_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP, medication_name VARCHAR, "
    "PRIMARY KEY (id))",
    "CREATE TABLE _alembic_tmp_doses (id INTEGER NOT NULL, medication_id INTEGER, "
    "taken_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), medication_name VARCHAR(255), "
    "PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")


def fixture_info(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    rev = None
    if "alembic_version" in names:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        rev = row[0] if row else None
    con.close()
    return rev, names


def check_ids_continue(desc, url):
    """New rows get ids past the highest one (PostgreSQL sequences included)."""
    try:
        if L.DIALECT == "postgresql":
            pid = L.q(url, "INSERT INTO persons (first_name, is_default) VALUES (?, ?) RETURNING id",
                      ["New \u00fc", False])[0][0]
            mid = L.q(url, "INSERT INTO medications (person_id, name, dosage, frequency, "
                           "max_doses_per_day) VALUES (?, ?, ?, ?, ?) RETURNING id",
                      [int(pid), "New", "1", "daily", 1])[0][0]
            did = L.q(url, "INSERT INTO doses (medication_id, taken_at, person_id) VALUES (?, ?, ?) "
                           "RETURNING id", [int(mid), "2025-06-09 10:00:00", int(pid)])[0][0]
        else:
            L.x(url, "INSERT INTO persons (first_name, is_default) VALUES (?, ?)", ["New", False])
            pid = L.q(url, "SELECT MAX(id) FROM persons")[0][0]
            L.x(url, "INSERT INTO medications (person_id, name, dosage, frequency, "
                     "max_doses_per_day) VALUES (?, ?, ?, ?, ?)", [int(pid), "New", "1", "d", 1])
            mid = L.q(url, "SELECT MAX(id) FROM medications")[0][0]
            L.x(url, "INSERT INTO doses (medication_id, taken_at, person_id) VALUES (?, ?, ?)",
                [int(mid), "2025-06-09 10:00:00", int(pid)])
            did = L.q(url, "SELECT MAX(id) FROM doses")[0][0]
        L.ok("%s: new persons, medications and doses get fresh ids (%s, %s, %s)" %
             (desc, pid, mid, did))
        # A dose of a deleted medication keeps its person, and goes with it.
        L.x(url, "DELETE FROM medications WHERE id = ?", [int(mid)])
        L.check(desc + ": deleting a medication keeps its dose and the dose's person",
                L.q(url, "SELECT medication_id, person_id FROM doses WHERE id = ?",
                    [int(did)]) == [[None, str(pid)]])
        L.x(url, "DELETE FROM persons WHERE id = ?", [int(pid)])
        L.check(desc + ": deleting a person deletes the doses it took",
                L.q(url, "SELECT COUNT(*) FROM doses WHERE id = ?", [int(did)])[0][0] == "0")
    except RuntimeError as e:
        L.not_ok(desc + ": inserting without ids", str(e)[:600])


def start_up(url):
    """`meditrack init`: the start-up sequence (wait, migrate, seed)."""
    e = dict(os.environ)
    e.pop("MIGRATIONS_DIR", None)
    e.update({"DATABASE_URL": url, "LOG_LEVEL": "info", "DB_WAIT_ATTEMPTS": "3",
              "DB_WAIT_INTERVAL": "1", "SEED_ON_EMPTY": "false", "SEED_DEMO_DATA": "false"})
    r = subprocess.run([L.MEDITRACK, "init"], env=e, capture_output=True, text=True, timeout=600)
    if "Sanitizer" in r.stderr or "runtime error:" in r.stderr:
        L.not_ok("meditrack init: clean under the sanitizers", r.stderr[-3000:])
    if r.returncode != 0:
        raise RuntimeError("meditrack init exited %d: %s" % (r.returncode, r.stderr[-1500:]))


def check_dose_persons(desc, url):
    """ab48726466af on real data: every dose whose medication exists has that
    medication's person; a dose whose medication is gone has none (nothing
    says whose it was)."""
    rows = L.q(url, "SELECT d.id, d.person_id, m.person_id, d.medication_id FROM doses d "
                    "LEFT JOIN medications m ON m.id = d.medication_id ORDER BY d.id")
    linked = [r for r in rows if r[3] is not None]
    unlinked = [r for r in rows if r[3] is None]
    L.check("%s: %d doses have their medication's person" % (desc, len(linked)),
            all(r[1] is not None and r[1] == r[2] for r in linked),
            [r for r in linked if r[1] != r[2]][:5])
    L.check("%s: %d doses of missing medications have no person" % (desc, len(unlinked)),
            all(r[1] is None for r in unlinked), unlinked[:5])


def check_down_up(desc, url, want, ignore):
    """Down four revisions (the schedule and reminder tables and
    persons.timezone dropped, the dosing tables and columns dropped, the
    access-control tables dropped, then person_id) and up again: every row
    and value comes back (these doses' persons all come from their
    medications, and every one of them was taken)."""
    L.downgrade(url, "-1", desc=desc + ": downgrade -1 (schedules)")
    L.check_eq(desc + ": downgrade -1 is 8c4d2b7e1f05", L.version(url), "8c4d2b7e1f05")
    L.check_eq(desc + ": downgrade -1 drops the schedule and reminder tables",
               [t for t in L.tables(url) if t in L.SCHED_TABLES], [])
    cols = [c["name"] for c in L.shape(url)["persons"]["columns"]]
    L.check(desc + ": downgrade -1 drops persons.timezone", "timezone" not in cols, str(cols))
    L.downgrade(url, "-1", desc=desc + ": downgrade -1")
    L.check_eq(desc + ": downgrade -1 is 5d2e8c1a9f37", L.version(url), "5d2e8c1a9f37")
    L.check_eq(desc + ": downgrade -1 drops the dosing tables",
               [t for t in L.tables(url) if t in L.DOSING_TABLES], [])
    cols = [c["name"] for c in L.shape(url)["doses"]["columns"]]
    L.check(desc + ": downgrade -1 drops doses.status", "status" not in cols, str(cols))
    L.check_eq(desc + ": downgrade -1 keeps every dose (all taken)",
               L.q(url, "SELECT COUNT(*) FROM doses")[0][0], str(len(want["doses"])))
    L.downgrade(url, "-1", desc=desc + ": downgrade -1 again")
    L.check_eq(desc + ": downgrade -1 is ab48726466af", L.version(url), "ab48726466af")
    L.check_eq(desc + ": downgrade -1 drops the access-control tables",
               [t for t in L.tables(url) if t in L.AUTH_TABLES], [])
    L.check_eq(desc + ": downgrade -1 keeps every dose",
               L.q(url, "SELECT COUNT(*) FROM doses")[0][0], str(len(want["doses"])))
    L.downgrade(url, "-1", desc=desc + ": downgrade -1 a third time")
    cols = [c["name"] for c in L.shape(url)["doses"]["columns"]]
    L.check(desc + ": downgrade drops doses.person_id", "person_id" not in cols, str(cols))
    L.check_eq(desc + ": downgrade keeps every dose",
               L.q(url, "SELECT COUNT(*) FROM doses")[0][0], str(len(want["doses"])))
    L.upgrade(url, desc=desc + ": upgrade after the downgrade")
    L.compare_rows(desc + " (down and up)", L.head_rows(url), want, ignore)
    L.check_head(desc + " (down and up)", url)


def take_over(desc, url, want, ignore, extra_checks=None, by_init=False):
    try:
        if by_init:
            start_up(url)
        else:
            L.upgrade(url, desc=desc + ": upgrade head")
    except RuntimeError as e:
        L.not_ok(desc + ": start-up", str(e)[:1500])
        return
    L.ok(desc + (": meditrack init" if by_init else ": upgrade head"))
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)
    L.check(desc + ": no _alembic_tmp_* table left",
            not any(t.startswith("_alembic_tmp_") for t in L.tables(url)))
    check_dose_persons(desc, url)
    if extra_checks:
        extra_checks(url)
    if not by_init:
        check_down_up(desc, url, want, ignore)
    L.check_second_run(desc, url)
    check_ids_continue(desc, url)


def insert_rows(url, table, rows):
    for r in rows:
        cols = list(r.keys())
        vals = [bool(v) if (table, c) in L.BOOL_COLS else v for c, v in r.items()]
        L.x(url, "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(cols),
                                                      ", ".join("?" * len(cols))), vals)


def rebuild_elsewhere(desc, rev, rows, untracked, tmp_table):
    """A database of this dialect at rev (built by our chain) holding rows."""
    url = L.fresh("fx")
    L.upgrade(url, rev or "588f4ae43933", desc=desc + ": build at the fixture's revision")
    for t in ("persons", "medications", "doses"):
        if rows.get(t):
            insert_rows(url, t, rows[t])
    if tmp_table:
        L.x(url, TMP_DOSES_DDL)
    if untracked:
        L.untrack(url)
    return url


# ---- the SQLite fixtures ------------------------------------------------------------

for path in SQLITE_FIXTURES:
    name = os.path.basename(path)
    rev, names = fixture_info(path)
    rows = L.fixture_model(path)
    want, ignore = L.expected_from_rows(rows)
    before = open(path, "rb").read()
    for by_init in (False, True):
        desc = "%s (%s%s)" % (name, L.DIALECT, ", start-up" if by_init else "")
        try:
            if L.DIALECT == "sqlite":
                dst = os.path.join(L.TMP, ("init-" if by_init else "") + name)
                shutil.copyfile(path, dst)
                os.chmod(dst, stat.S_IRUSR | stat.S_IWUSR)
                url = "sqlite:///" + dst
            else:
                url = rebuild_elsewhere(desc, rev, rows, "alembic_version" not in names,
                                        "_alembic_tmp_doses" in names)
            take_over(desc, url, want, ignore, by_init=by_init)
        except RuntimeError as e:
            L.not_ok(desc, str(e)[:800])
    L.check(name + ": the fixture itself is unchanged", open(path, "rb").read() == before)


# ---- the PostgreSQL dumps -----------------------------------------------------------

def unescape_copy(v):
    if v == "\\N":
        return None
    out, i = [], 0
    while i < len(v):
        ch = v[i]
        if ch == "\\" and i + 1 < len(v):
            nxt = v[i + 1]
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_dump(path):
    """{table: [row dicts]} from the COPY blocks of a pg_dump file, and the
    alembic revision."""
    rows, table, cols = {}, None, None
    for line in open(path, encoding="utf-8").read().split("\n"):
        if table is None:
            if line.startswith("COPY public."):
                head = line[len("COPY public."):]
                table = head.split(" ", 1)[0]
                cols = [c.strip() for c in head[head.index("(") + 1:head.index(")")].split(",")]
                rows[table] = []
            continue
        if line == "\\.":
            table = None
            continue
        rows[table].append(dict(zip(cols, [unescape_copy(v) for v in line.split("\t")])))
    rev = rows.pop("alembic_version", [{}])
    return rows, (rev[0].get("version_num") if rev else None)


def naive_utc(rows):
    """Timestamps of the dump ('...+00') as naive UTC text for SQLite/MariaDB."""
    out = {}
    for t, rs in rows.items():
        out[t] = []
        for r in rs:
            r2 = dict(r)
            for c, v in r.items():
                if (t, c) in L.TS_COLS and v is not None and v.endswith("+00"):
                    r2[c] = v[:-3]
                if (t, c) in L.BOOL_COLS and v is not None:
                    r2[c] = v == "t"
            out[t].append(r2)
    return out


def load_dump(desc, path):
    url = L.fresh("pgdump")
    text = "".join(line for line in open(path, encoding="utf-8")
                   if not line.startswith("\\restrict") and not line.startswith("\\unrestrict"))
    r = subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=text,
                       capture_output=True, text=True)
    if not L.check(desc + ": dump loaded with psql", r.returncode == 0, r.stderr[-600:]):
        raise RuntimeError("psql failed")
    return url


# What the reference's 03586fa62d43 did to doses on PostgreSQL: a rebuilt table
# whose id has no sequence and whose taken_at is a naive timestamp.
REFERENCE_PG_0358 = """
CREATE TABLE doses_new (
    id INTEGER PRIMARY KEY,
    medication_id INTEGER REFERENCES medications(id) ON DELETE SET NULL,
    medication_name VARCHAR,
    taken_at TIMESTAMP NOT NULL
);
INSERT INTO doses_new (id, medication_id, medication_name, taken_at)
SELECT d.id, d.medication_id, m.name, d.taken_at AT TIME ZONE 'UTC'
FROM doses d LEFT JOIN medications m ON m.id = d.medication_id;
DROP TABLE doses;
ALTER TABLE doses_new RENAME TO doses;
CREATE INDEX ix_doses_id ON doses (id);
UPDATE alembic_version SET version_num = '03586fa62d43';
"""

for path in PG_DUMPS:
    name = os.path.basename(path)
    rows, rev = parse_dump(path)
    for t in ("persons", "medications", "doses"):
        rows.setdefault(t, None)
    for by_init in (False, True):
        desc = "%s (%s%s)" % (name, L.DIALECT, ", start-up" if by_init else "")
        try:
            if L.DIALECT == "postgresql":
                url = load_dump(desc, path)
                want, ignore = L.expected_from_rows(rows)
            else:
                plain = naive_utc(rows)
                url = rebuild_elsewhere(desc, rev, plain, False, False)
                want, ignore = L.expected_from_rows(plain)
            take_over(desc, url, want, ignore, by_init=by_init)
        except RuntimeError as e:
            L.not_ok(desc, str(e)[:800])
    if L.DIALECT == "postgresql":
        desc = "%s rebuilt as the reference's 03586fa62d43 did on PostgreSQL" % name
        try:
            url = load_dump(desc, path)
            L.x(url, REFERENCE_PG_0358)
            col = [c for c in L.shape(url)["doses"]["columns"] if c["name"] == "id"][0]
            L.check(desc + ": doses.id has no sequence before", col.get("default") is None)
            want, ignore = L.expected_from_rows(rows)
            for d in rows["doses"]:
                mid = d["medication_id"]
                want["doses"][d["id"]]["medication_name"] = next(
                    (m["name"] for m in rows["medications"] if m["id"] == mid), None)
            take_over(desc, url, want, ignore)
        except RuntimeError as e:
            L.not_ok(desc, str(e)[:800])

L.finish()
