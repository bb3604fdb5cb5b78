#!/usr/bin/env python3
"""The take-over of databases that are not simply "at a revision": untracked
databases whose tables come from different revisions (the reference's
create_all), the half-done split of persons.name that the reference's last
revision left on SQLite (on every dialect), leftover _alembic_tmp_doses tables
(rows salvaged, never lost), a failed batch rebuild that left only the
leftover, the default-person repairs, databases that must be refused with
nothing changed, and the `meditrack db adopt` / `db stamp-existing` command."""

import schemalib as L

L.require_tools()
D = L.DIALECT

# The tables as the reference's create_all made them from its newest models
# (persons with first_name) and from its 35bddb769482-era models (persons with
# name, medications.person_id with a foreign key).
PERSONS_NEW = L.dialect_ddl(
    "CREATE TABLE persons (\n\tid INTEGER NOT NULL, \n\tfirst_name VARCHAR NOT NULL, \n"
    "\tlast_name VARCHAR, \n\tdate_of_birth DATE, \n\tnotes VARCHAR, \n"
    "\tis_default BOOLEAN NOT NULL, \n\tcreated_at DATETIME DEFAULT (CURRENT_TIMESTAMP), \n"
    "\tupdated_at DATETIME, \n\tPRIMARY KEY (id)\n)",
    "CREATE TABLE persons (id SERIAL NOT NULL, first_name VARCHAR NOT NULL, last_name VARCHAR, "
    "date_of_birth DATE, notes VARCHAR, is_default BOOLEAN NOT NULL, "
    "created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP, "
    "updated_at TIMESTAMP WITH TIME ZONE, PRIMARY KEY (id))",
    "CREATE TABLE persons (id INTEGER NOT NULL AUTO_INCREMENT, first_name VARCHAR(255) NOT NULL, "
    "last_name VARCHAR(255), date_of_birth DATE, notes TEXT, is_default BOOLEAN NOT NULL, "
    "created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), updated_at DATETIME(6), "
    "PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")

CREATE_ALL_35 = L.dialect_ddl(
    """CREATE TABLE persons (
\tid INTEGER NOT NULL, \n\tname VARCHAR NOT NULL, \n\tdate_of_birth DATE, \n\tnotes VARCHAR, 
\tis_default BOOLEAN NOT NULL, \n\tcreated_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
\tupdated_at DATETIME, \n\tPRIMARY KEY (id)
);
CREATE TABLE medications (
\tid INTEGER NOT NULL, \n\tperson_id INTEGER NOT NULL, \n\tname VARCHAR NOT NULL, 
\tdosage VARCHAR NOT NULL, \n\tfrequency VARCHAR NOT NULL, \n\tmax_doses_per_day INTEGER NOT NULL, 
\tinstructions VARCHAR, \n\tcreated_at DATETIME DEFAULT (CURRENT_TIMESTAMP), \n\tupdated_at DATETIME, 
\tPRIMARY KEY (id), 
\tFOREIGN KEY(person_id) REFERENCES persons (id) ON DELETE CASCADE
);
CREATE TABLE doses (
\tid INTEGER NOT NULL, \n\tmedication_id INTEGER, \n\ttaken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
\tPRIMARY KEY (id), 
\tFOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE CASCADE
)""",
    """CREATE TABLE persons (id SERIAL NOT NULL, name VARCHAR NOT NULL, date_of_birth DATE,
 notes VARCHAR, is_default BOOLEAN NOT NULL,
 created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
 updated_at TIMESTAMP WITH TIME ZONE, PRIMARY KEY (id));
CREATE TABLE medications (id SERIAL NOT NULL, person_id INTEGER NOT NULL, name VARCHAR NOT NULL,
 dosage VARCHAR NOT NULL, frequency VARCHAR NOT NULL, max_doses_per_day INTEGER NOT NULL,
 instructions VARCHAR, created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
 updated_at TIMESTAMP WITH TIME ZONE, PRIMARY KEY (id),
 FOREIGN KEY (person_id) REFERENCES persons (id) ON DELETE CASCADE);
CREATE TABLE doses (id SERIAL NOT NULL, medication_id INTEGER,
 taken_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id),
 FOREIGN KEY (medication_id) REFERENCES medications (id) ON DELETE CASCADE)""",
    """CREATE TABLE persons (id INTEGER NOT NULL AUTO_INCREMENT, name VARCHAR(255) NOT NULL,
 date_of_birth DATE, notes TEXT, is_default BOOLEAN NOT NULL,
 created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), updated_at DATETIME(6),
 PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE medications (id INTEGER NOT NULL AUTO_INCREMENT, person_id INTEGER NOT NULL,
 name VARCHAR(255) NOT NULL, dosage VARCHAR(255) NOT NULL, frequency VARCHAR(255) NOT NULL,
 max_doses_per_day INTEGER NOT NULL, instructions TEXT,
 created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), updated_at DATETIME(6), PRIMARY KEY (id),
 FOREIGN KEY (person_id) REFERENCES persons (id) ON DELETE CASCADE)
 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE doses (id INTEGER NOT NULL AUTO_INCREMENT, medication_id INTEGER,
 taken_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (id),
 FOREIGN KEY (medication_id) REFERENCES medications (id) ON DELETE CASCADE)
 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""")

TMP_DOSES = L.dialect_ddl(
    "CREATE TABLE _alembic_tmp_doses (\n\tid INTEGER NOT NULL, \n\tmedication_id INTEGER, \n"
    "\ttaken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), \n\tmedication_name VARCHAR, \n"
    "\tPRIMARY KEY (id), \n\tFOREIGN KEY(medication_id) REFERENCES medications (id) "
    "ON DELETE CASCADE\n)",
    "CREATE TABLE _alembic_tmp_doses (id INTEGER NOT NULL, medication_id INTEGER, "
    "taken_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP, medication_name VARCHAR, "
    "PRIMARY KEY (id))",
    "CREATE TABLE _alembic_tmp_doses (id INTEGER NOT NULL, medication_id INTEGER, "
    "taken_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), medication_name VARCHAR(255), "
    "PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")


def rows_of(url, with_name_cols):
    """The rows of a database below head as dicts (for expected_from_rows)."""
    out = {}
    con = L.raw_sqlite(url) if D == "sqlite" else None
    for t in ("persons", "medications", "doses"):
        sh = L.shape(url).get(t)
        if not sh:
            out[t] = None
            continue
        cols = [c["name"] for c in sh["columns"]]
        sql = "SELECT %s FROM %s ORDER BY id" % (", ".join(cols), t)
        if con:
            rows = [list(r) for r in con.execute(sql)]
        else:
            rows = L.q(url, sql)
        out[t] = [dict(zip(cols, r)) for r in rows]
    if con:
        con.close()
    return out


def run(desc, fn):
    try:
        fn(desc + " (%s)" % D)
    except RuntimeError as e:
        L.not_ok(desc, str(e)[:900])


# ---- mixed revisions ----------------------------------------------------------------

def mixed_new_persons_tracked(desc):
    """Tracked at 588f4ae43933 while create_all already made the newest persons."""
    url = L.fresh("ahead")
    L.upgrade(url, "588f4ae43933")
    L.insert_data(url, L.S588)
    L.x(url, PERSONS_NEW)
    L.x(url, "INSERT INTO persons (id, first_name, last_name, is_default) VALUES (?, ?, ?, ?)",
        [3, "Ida", "Næss", True])
    want, ignore = L.expected_from_rows(rows_of(url, False))
    log = L.upgrade(url)
    L.check(desc + ": tables ahead of the stamp found",
            "ahead of alembic_version" in log and "stamp d9c3da4e9c05 (was 588f4ae43933)" in log,
            log[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)
    L.check_second_run(desc, url)


def tables_behind(desc):
    """Stamped d9c3da4e9c05, but doses lost medication_name (a hand repair)."""
    url = L.fresh("behind")
    L.upgrade(url, "d9c3da4e9c05")
    model = L.insert_data(url, L.N_D9C3)
    L.x(url, "ALTER TABLE doses DROP COLUMN medication_name")
    want, ignore = L.expected_head(model)
    for d in want["doses"].values():
        mid = d["medication_id"]
        d["medication_name"] = next((m[1] for m in L.MEDS if str(m[0]) == mid), None)
    log = L.upgrade(url)
    L.check(desc + ": lagging table completed", "some tables lag behind alembic_version" in log
            and "doses with medication_name" in log, log[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)
    L.check_second_run(desc, url)


def mixed_new_persons(desc):
    url = L.fresh("mixed_a")
    L.upgrade(url, "588f4ae43933")
    model = L.insert_data(url, L.S588)
    L.x(url, PERSONS_NEW)
    for p in ((5, "Ana", "L\u00f3pez", False), (6, "Ben", None, True), (7, "Chlo\u00e9", "D'Arcy", False)):
        L.x(url, "INSERT INTO persons (id, first_name, last_name, is_default, created_at) "
                 "VALUES (?, ?, ?, ?, ?)", [p[0], p[1], p[2], p[3], "2025-05-01 12:00:00.25"])
    L.untrack(url)
    foreign = L.add_foreign_table(url)
    rows = rows_of(url, False)
    want, ignore = L.expected_from_rows(rows)
    before = (L.shape(url), L.version(url))
    rc, out, err = L.mt(url, "adopt", "--dry-run")
    L.check_eq(desc + ": adopt --dry-run exits 0", rc, 0)
    L.check(desc + ": dry run says what it found and would do",
            "Found:" in out and "Would do:" in out and "d9c3da4e9c05" in out and
            "add medications.person_id" in out and "household_notes" in out, out)
    L.check(desc + ": dry run changes nothing", (L.shape(url), L.version(url)) == before)
    log = L.upgrade(url)
    L.check(desc + ": log says the tables were from different revisions",
            "tables from different revisions" in log and "stamp d9c3da4e9c05" in log, log[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_eq(desc + ": medications went to the default person 6",
               sorted({r["person_id"] for r in L.head_rows(url)["medications"].values()}), ["6"])
    L.check_head(desc, url)
    L.check_eq(desc + ": foreign table untouched", L.foreign_state(url), foreign)
    L.check_second_run(desc, url)
    del model


def mixed_create_all_35(desc):
    url = L.fresh("mixed_b")
    L.x(url, CREATE_ALL_35)
    L.x(url, "INSERT INTO persons (id, name, notes, is_default) VALUES (?, ?, ?, ?)",
        [1, "Eve \u00c5str\u00f6m", "cascade trap", True])
    L.x(url, "INSERT INTO persons (id, name, is_default) VALUES (?, ?, ?)", [2, "Sam", False])
    for m in ((1, 1, "A"), (2, 2, "B \u00df"), (3, 1, "C")):
        L.x(url, "INSERT INTO medications (id, person_id, name, dosage, frequency, "
                 "max_doses_per_day) VALUES (?, ?, ?, ?, ?, ?)", [m[0], m[1], m[2], "1", "daily", 2])
    for d in ((1, 1, "2025-01-01 08:00:00"), (2, 2, "2025-01-01 09:00:00.5"), (3, 3, None)):
        L.x(url, "INSERT INTO doses (id, medication_id, taken_at) VALUES (?, ?, ?)", list(d))
    rows = rows_of(url, False)
    want, ignore = L.expected_from_rows(rows)
    log = L.upgrade(url)
    L.check(desc + ": detected 35bddb769482", "stamp 35bddb769482 (was untracked)" in log,
            log[-1500:])
    if D == "mysql":
        L.check(desc + ": unnamed foreign keys get MediTrack's names",
                "is now named doses_medication_id_fkey" in log and
                "is now named medications_person_id_fkey" in log, log[-2000:])
    L.compare_rows(desc + " (no ON DELETE CASCADE fired while rebuilding)", L.head_rows(url),
                   want, ignore)
    L.check_head(desc, url)
    L.check_second_run(desc, url)


def mixed_lagging(desc):
    """medications without person_id, doses with medication_name, persons new,
    one optional column missing: every table completed, nothing lost."""
    url = L.fresh("mixed_c")
    L.upgrade(url, "588f4ae43933")
    L.insert_data(url, L.S588)
    L.x(url, PERSONS_NEW)
    L.x(url, "INSERT INTO persons (id, first_name, is_default) VALUES (?, ?, ?)", [9, "Solo", False])
    if D == "sqlite":
        L.x(url, "ALTER TABLE doses ADD COLUMN medication_name VARCHAR")
    elif D == "postgresql":
        L.x(url, "ALTER TABLE doses ADD COLUMN medication_name VARCHAR")
    else:
        L.x(url, "ALTER TABLE doses ADD COLUMN medication_name VARCHAR(255)")
    L.x(url, "UPDATE doses SET medication_name = ? WHERE id = ?", ["kept as written", 2])
    L.x(url, "ALTER TABLE medications DROP COLUMN instructions")
    L.untrack(url)
    rows = rows_of(url, False)
    for m in rows["medications"]:
        m["instructions"] = None
    want, ignore = L.expected_from_rows(rows)
    # Doses that had the column keep what it says (NULL stays NULL).
    for d in rows["doses"]:
        want["doses"][L._s(d["id"])]["medication_name"] = d["medication_name"]
    # No person was the default: the oldest (the only one) becomes it.
    want["persons"]["9"]["is_default"] = 1
    for m in want["medications"].values():
        m["person_id"] = "9"
    for d in want["doses"].values():
        if d["medication_id"] is not None:
            d["person_id"] = "9"
    log = L.upgrade(url)
    L.check(desc + ": missing column added", "add the missing column medications.instructions"
            in log, log[-1500:])
    L.check(desc + ": default person repaired and logged", "person 9 (the oldest) is now" in log,
            log[-1500:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)
    L.check_second_run(desc, url)


# ---- half-done split of persons.name ----------------------------------------------------

def half_migrated(desc):
    url = L.fresh("half")
    L.upgrade(url, "03586fa62d43")
    model = L.insert_data(url, L.D0358)
    vc = "VARCHAR(255)" if D == "mysql" else "VARCHAR"
    L.x(url, "ALTER TABLE persons ADD COLUMN first_name %s" % vc)
    L.x(url, "ALTER TABLE persons ADD COLUMN last_name %s" % vc)
    # The reference's app then edited one person through the new model.
    L.x(url, "UPDATE persons SET first_name = ?, last_name = ? WHERE id = ?",
        ["Johnny", "O'Brien-Smith", 2])
    L.x(url, "UPDATE persons SET first_name = ? WHERE id = ?", ["", 3])
    want, ignore = L.expected_head(model)
    want["persons"]["2"]["first_name"] = "Johnny"
    want["persons"]["2"]["last_name"] = "O'Brien-Smith"
    log = L.upgrade(url)
    L.check(desc + ": found the half-done split",
            "split of persons.name left half-done" in log and "stamp d9c3da4e9c05 (was "
            "03586fa62d43)" in log, log[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)
    L.check_second_run(desc, url)


# ---- leftover _alembic_tmp_doses ------------------------------------------------------

def tmp_salvage(desc):
    url = L.fresh("tmpdoses")
    L.upgrade(url, "03586fa62d43")
    model = L.insert_data(url, L.D0358)
    L.x(url, TMP_DOSES)
    tmp_rows = [
        (1, 1, "2025-05-16 23:11:04", "Lisinopril"),          # the same dose: skipped
        (10, 2, "2025-04-01 10:00:00", None),                  # free id: kept as 10
        (2, 1, "2025-04-02 09:00:00.25", "Lisinopril"),        # id taken by another dose: new id
        (12, 99, "2025-04-03 08:00:00", "Gone \u00e9"),        # free id, medication gone
    ]
    if D == "sqlite":
        con = L.raw_sqlite(url)
        con.executemany("INSERT INTO _alembic_tmp_doses (id, medication_id, taken_at, "
                        "medication_name) VALUES (?, ?, ?, ?)", tmp_rows)
        con.close()
    else:
        for r in tmp_rows:
            L.x(url, "INSERT INTO _alembic_tmp_doses (id, medication_id, taken_at, "
                     "medication_name) VALUES (?, ?, ?, ?)", list(r))
    want, ignore = L.expected_head(model)
    want["doses"]["10"] = {"id": "10", "medication_id": "2", "medication_name": None,
                           "taken_at": L.norm("doses", "taken_at", "2025-04-01 10:00:00"),
                           "person_id": str(L.MED_PERSON[2])}
    want["doses"]["12"] = {"id": "12", "medication_id": None, "medication_name": "Gone \u00e9",
                           "taken_at": L.norm("doses", "taken_at", "2025-04-03 08:00:00"),
                           "person_id": None}
    want["doses"]["13"] = {"id": "13", "medication_id": "1", "medication_name": "Lisinopril",
                           "taken_at": L.norm("doses", "taken_at", "2025-04-02 09:00:00.25"),
                           "person_id": str(L.MED_PERSON[1])}
    L.expect_dosing(want)  # the salvaged doses get 8c4d2b7e1f05's defaults too
    log = L.upgrade(url)
    L.check(desc + ": salvage logged with counts",
            "removed the leftover table _alembic_tmp_doses (4 rows): salvaged 3 rows" in log and
            "1 of them under new ids" in log and "1 were already there" in log, log[-2000:])
    L.check(desc + ": unlinked salvaged dose logged",
            "repaired 1 salvaged doses whose medication was missing" in log, log[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check(desc + ": leftover removed", "_alembic_tmp_doses" not in L.tables(url))
    L.check_head(desc, url)
    L.check_second_run(desc, url)


def tmp_ahead_of_doses(desc):
    """A leftover of a failed 03586fa62d43 batch (with medication_name) while
    the database is still at 35bddb769482: kept until doses can take its
    columns, its unknown medication unlinked, then salvaged."""
    url = L.fresh("tmpahead")
    L.upgrade(url, "35bddb769482")
    model = L.insert_data(url, L.P35)
    L.x(url, TMP_DOSES)
    tmp_rows = [(20, 1, "2025-04-05 06:07:08.9", "Lisinopril"), (21, 99, "2025-04-06 00:00:00",
                                                                 "Gone")]
    if D == "sqlite":
        con = L.raw_sqlite(url)
        con.executemany("INSERT INTO _alembic_tmp_doses (id, medication_id, taken_at, "
                        "medication_name) VALUES (?, ?, ?, ?)", tmp_rows)
        con.close()
    else:
        for r in tmp_rows:
            L.x(url, "INSERT INTO _alembic_tmp_doses (id, medication_id, taken_at, "
                     "medication_name) VALUES (?, ?, ?, ?)", list(r))
    want, ignore = L.expected_head(model)
    want["doses"]["20"] = {"id": "20", "medication_id": "1", "medication_name": "Lisinopril",
                           "taken_at": L.norm("doses", "taken_at", "2025-04-05 06:07:08.9"),
                           "person_id": str(L.MED_PERSON[1])}
    want["doses"]["21"] = {"id": "21", "medication_id": None, "medication_name": "Gone",
                           "taken_at": L.norm("doses", "taken_at", "2025-04-06 00:00:00"),
                           "person_id": None}
    L.expect_dosing(want)  # the salvaged doses get 8c4d2b7e1f05's defaults too
    log = L.upgrade(url)
    L.check(desc + ": kept, then salvaged",
            "kept the leftover table _alembic_tmp_doses" in log and
            "salvaged 2 rows missing from doses" in log, log[-2500:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)


def batch_lost_doses(desc):
    """A batch rebuild that died after dropping doses: only the leftover has them."""
    url = L.fresh("lostdoses")
    L.upgrade(url, "03586fa62d43")
    model = L.insert_data(url, L.D0358)
    L.x(url, TMP_DOSES)
    L.x(url, "INSERT INTO _alembic_tmp_doses (id, medication_id, taken_at, medication_name) "
             "SELECT id, medication_id, taken_at, medication_name FROM doses")
    L.x(url, "DROP TABLE doses")
    want, ignore = L.expected_head(model)
    log = L.upgrade(url)
    L.check(desc + ": doses recreated, then refilled from the leftover",
            "create the missing table doses" in log and "salvaged 6 rows" in log, log[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)
    L.check_second_run(desc, url)


# ---- default person ------------------------------------------------------------------------

def default_person(desc, make):
    url = L.fresh("defaults")
    L.upgrade(url, "d9c3da4e9c05")
    model = L.insert_data(url, L.N_D9C3)
    want, ignore = L.expected_head(model)
    if make == "two":
        L.x(url, "UPDATE persons SET is_default = ? WHERE id = ?", [True, 3])
        expect_log = "2 persons were marked default, kept person 1"
    else:
        L.x(url, "UPDATE persons SET is_default = ?", [False])
        expect_log = "person 1 (the oldest) is now"
    log = L.upgrade(url)
    L.check(desc + ": repair logged", expect_log in log, log[-1500:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_eq(desc + ": exactly one default person",
               L.q(url, "SELECT COUNT(*) FROM persons WHERE is_default")[0][0], "1")


# ---- refused databases --------------------------------------------------------------------------

def refused_unknown_column(desc):
    url = L.fresh("unknowncol")
    L.upgrade(url, "35bddb769482")
    L.insert_data(url, L.P35)
    L.x(url, "ALTER TABLE medications ADD COLUMN barcode VARCHAR(40)")
    L.x(url, "UPDATE medications SET barcode = ? WHERE id = ?", ["4006381333931", 1])
    L.untrack(url)
    before = (L.shape(url), L.version(url))
    rc, out, err = L.mt(url, "adopt")
    if D == "sqlite":
        L.check_eq(desc + ": adopt refuses with exit 7", rc, 7)
        L.check(desc + ": the message names the column", "barcode" in err, err)
        L.check(desc + ": nothing changed", (L.shape(url), L.version(url)) == before)
        rc, out, err = L.mt(url, "upgrade", "head")
        L.check(desc + ": upgrade refuses too with exit 7", rc == 7 and "barcode" in err,
                "exit %d: %s" % (rc, err[-800:]))
        L.check(desc + ": still nothing changed", (L.shape(url), L.version(url)) == before)
    else:
        L.check_eq(desc + ": adopt keeps the extra column and stamps", (rc, L.version(url)),
                   (0, "35bddb769482"))
        L.check(desc + ": adopt reports the extra column", "barcode" in out, out)
        L.upgrade(url)
        L.check_eq(desc + ": the extra column keeps its data at head",
                   L.q(url, "SELECT barcode FROM medications WHERE id = 1"), [["4006381333931"]])


def refused_foreign_persons(desc):
    url = L.fresh("oddpersons")
    L.upgrade(url, "588f4ae43933")
    L.x(url, "CREATE TABLE persons (id INTEGER PRIMARY KEY, nickname VARCHAR(50), "
             "is_default INTEGER NOT NULL)")
    L.untrack(url)
    before = (L.shape(url), L.version(url))
    rc, out, err = L.mt(url, "adopt")
    L.check_eq(desc + ": adopt exits 7", rc, 7)
    L.check(desc + ": says what it found", "persons" in err and "first_name" in err, err)
    rc, out, err = L.mt(url, "upgrade", "head")
    L.check(desc + ": upgrade refuses with exit 7", rc == 7, "exit %d: %s" % (rc, err[-500:]))
    L.check(desc + ": nothing changed", (L.shape(url), L.version(url)) == before)


def refused_stamp_without_tables(desc):
    url = L.fresh("stamponly")
    L.upgrade(url, "d9c3da4e9c05")
    for t in ("doses", "medications", "persons"):
        L.x(url, "DROP TABLE %s" % t)
    foreign = L.add_foreign_table(url)
    rc, out, err = L.mt(url, "upgrade", "head")
    L.check(desc + ": upgrade refuses with exit 7",
            rc == 7 and "cannot take over this database" in err and
            "persons, medications and doses are missing" in err,
            "exit %d: %s" % (rc, err[-600:]))
    L.check_eq(desc + ": still at d9c3da4e9c05", L.version(url), "d9c3da4e9c05")
    L.check_eq(desc + ": foreign table untouched", L.foreign_state(url), foreign)


# ---- the adopt command ----------------------------------------------------------------------------

def adopt_command(desc):
    rc, out, err = L.mt("sqlite:///:memory:", "adopt", "--help")
    L.check(desc + ": --help", rc == 0 and "--dry-run" in out and "usage:" in out, out + err)
    rc, out, err = L.mt("sqlite:///:memory:", "stamp-existing", "-h")
    L.check(desc + ": stamp-existing -h", rc == 0 and "stamp-existing" in out, out + err)
    rc, out, err = L.mt("sqlite:///:memory:", "adopt", "--bogus")
    L.check_eq(desc + ": unknown option exits 2", rc, 2)

    url = L.fresh("adopt_fresh")
    rc, out, err = L.mt(url, "adopt")
    L.check(desc + ": fresh database: nothing to adopt", rc == 0 and "No MediTrack tables" in out,
            out + err)
    L.check(desc + ": fresh database: no table created", "alembic_version" not in L.tables(url))

    url = L.fresh("adopt_cmd")
    L.upgrade(url, "d9c3da4e9c05")
    model = L.insert_data(url, L.N_D9C3)
    want, ignore = L.expected_head(model)
    L.untrack(url)
    rc, out, err = L.mt(url, "adopt", "--dry-run")
    L.check(desc + ": dry run", rc == 0 and "stamp d9c3da4e9c05" in out and
            "Dry run: nothing was changed." in out, out + err)
    L.check_eq(desc + ": dry run leaves it untracked", L.version(url), None)
    rc, out, err = L.mt(url, "stamp-existing")
    L.check(desc + ": stamp-existing stamps", rc == 0 and "Stamped d9c3da4e9c05" in out, out + err)
    L.check_eq(desc + ": stamped", L.version(url), "d9c3da4e9c05")
    rc, out, err = L.mt(url, "adopt")
    L.check(desc + ": again: nothing to do", rc == 0 and "nothing to do" in out, out + err)
    rc, out, err = L.mt(url, "current")
    L.check(desc + ": db current shows it", rc == 0 and "d9c3da4e9c05" in out, out + err)
    L.upgrade(url)
    L.compare_rows(desc + ": adopted then upgraded", L.head_rows(url), want, ignore)
    L.check_head(desc + ": adopted then upgraded", url)


run("untracked, persons from the newest create_all", mixed_new_persons)
run("tracked, persons from the newest create_all", mixed_new_persons_tracked)
run("tracked, a table behind its stamp", tables_behind)
run("untracked, create_all of the 35bddb769482 models", mixed_create_all_35)
run("untracked, tables lagging in different ways", mixed_lagging)
run("half-done split of persons.name at 03586fa62d43", half_migrated)
run("leftover _alembic_tmp_doses", tmp_salvage)
run("leftover with columns doses does not have yet", tmp_ahead_of_doses)
run("doses lost by a batch rebuild, leftover kept", batch_lost_doses)
run("two default persons", lambda d: default_person(d, "two"))
run("no default person", lambda d: default_person(d, "none"))
run("a column of its own", refused_unknown_column)
run("persons of another application", refused_foreign_persons)
run("alembic_version without tables", refused_stamp_without_tables)
run("db adopt", adopt_command)
L.finish()
