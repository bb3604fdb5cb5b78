#!/usr/bin/env python3
"""doses.person_id (revision ab48726466af) on the dialect under test, beyond the
chain-wide suites: a database whose doses already have person_id is taken over
without losing the person of a deleted medication's dose (untracked, tracked
behind its tables, without the column's foreign key and index, with a person
that does not exist); on SQLite such a doses table next to tables older than
44fcd0160844 is refused; and the operator's side: `meditrack db check` lists
the doses that belong to no person with the commands to assign them, and
`meditrack db assign-doses` assigns them (by medication name, by dose ids, dry
run, and every refusal with nothing changed)."""

import shlex
import subprocess

import schemalib as L

L.require_tools()
D = L.DIALECT
DELETED_NAME = "Deleted \u2019med\u2019"


def run(desc, fn):
    try:
        fn(desc + " (%s)" % D)
    except RuntimeError as e:
        L.not_ok(desc, str(e)[:900])


def dose_persons(url):
    return {r[0]: r[1] for r in L.q(url, "SELECT id, person_id FROM doses ORDER BY id")}


def head_with_rows(tag, rev="head"):
    url = L.fresh(tag)
    L.upgrade(url, rev)
    model = L.insert_data(url, L.A48)
    return url, model


def strip_person_key_and_index(url):
    """doses.person_id without its foreign key and its index, as a hand-made
    or half-restored table could be."""
    if D == "sqlite":
        con = L.raw_sqlite(url)
        con.executescript("""
            CREATE TABLE _plain_doses (id INTEGER NOT NULL, medication_id INTEGER,
                medication_name VARCHAR, taken_at DATETIME DEFAULT (CURRENT_TIMESTAMP),
                person_id INTEGER, PRIMARY KEY (id),
                FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE SET NULL);
            INSERT INTO _plain_doses SELECT id, medication_id, medication_name, taken_at,
                person_id FROM doses;
            DROP TABLE doses;
            ALTER TABLE _plain_doses RENAME TO doses;
            CREATE INDEX ix_doses_id ON doses (id);
            CREATE INDEX ix_doses_medication_id_taken_at ON doses (medication_id, taken_at);
        """)
        con.close()
    elif D == "postgresql":
        L.x(url, "ALTER TABLE doses DROP CONSTRAINT doses_person_id_fkey; "
                 "DROP INDEX ix_doses_person_id_taken_at")
    else:
        L.x(url, "ALTER TABLE doses DROP FOREIGN KEY doses_person_id_fkey; "
                 "DROP INDEX ix_doses_person_id_taken_at ON doses")


def add_dangling_dose(url):
    """A dose of a deleted medication whose person does not exist (written
    with foreign keys off, as the reference ran SQLite)."""
    if D == "sqlite":
        con = L.raw_sqlite(url)
        con.execute("INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id) "
                    "VALUES (8, NULL, 'Nobody''s', '2025-05-11 09:00:00', 77)")
        con.close()
    elif D == "mysql":
        L.x(url, "SET FOREIGN_KEY_CHECKS=0; INSERT INTO doses (id, medication_id, "
                 "medication_name, taken_at, person_id) VALUES (8, NULL, 'Nobody''s', "
                 "'2025-05-11 09:00:00', 77); SET FOREIGN_KEY_CHECKS=1")
    else:
        L.x(url, "INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id) "
                 "VALUES (?, ?, ?, ?, ?)", [8, None, "Nobody's", "2025-05-11 09:00:00", 77])


# ---- take-over of doses that already have person_id -----------------------------------

def untracked_without_key(desc):
    # Built at 5d2e8c1a9f37: the doses table rebuilt below is that of
    # ab48726466af, without the columns 8c4d2b7e1f05 adds.
    url, model = head_with_rows("dp_nokey", "5d2e8c1a9f37")
    strip_person_key_and_index(url)
    add_dangling_dose(url)
    want, ignore = L.expected_head(model)
    want["doses"]["8"] = {"id": "8", "medication_id": None, "medication_name": "Nobody's",
                          "taken_at": L.norm("doses", "taken_at", "2025-05-11 09:00:00"),
                          "person_id": None}
    L.expect_dosing(want)
    L.untrack(url)
    out = L.upgrade(url, desc=desc + ": upgrade head")
    if D == "sqlite":
        L.check(desc + ": stamped at ab48726466af, doses rebuilt with key and index",
                "stamp ab48726466af (was untracked)" in out and
                "rebuild doses with the foreign key and index of doses.person_id" in out and
                "Running upgrade 2574915efc76 -> ab48726466af" not in out, out[-2000:])
    else:
        L.check(desc + ": stamped at 44fcd0160844, ab48726466af runs again with the repairs",
                "stamp 44fcd0160844 (was untracked)" in out and
                "Running upgrade 2574915efc76 -> ab48726466af" in out and
                "repaired 1 doses whose person was missing" in out, out[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_eq(desc + ": the deleted medication's dose kept its person",
               dose_persons(url)["6"], str(L.DELETED_DOSE_PERSON))
    L.check_head(desc, url)
    L.check_second_run(desc, url)


def tracked_behind(desc):
    """Stamped 2574915efc76 by hand while doses already has person_id (the
    tables of 5d2e8c1a9f37, before the columns of 8c4d2b7e1f05)."""
    url, model = head_with_rows("dp_behind", "5d2e8c1a9f37")
    want, ignore = L.expected_head(model)
    rc, out, err = L.mt(url, "stamp", "2574915efc76")
    L.check_eq(desc + ": stamped back by hand", rc, 0)
    out = L.upgrade(url, desc=desc + ": upgrade head")
    if D == "sqlite":
        L.check(desc + ": the tables are ahead: stamped at ab48726466af, not rebuilt",
                "doses already has person_id" in out and
                "stamp ab48726466af (was 2574915efc76)" in out and
                "Running upgrade 2574915efc76 -> ab48726466af" not in out,
                out[-2000:])
    else:
        L.check(desc + ": ab48726466af runs again", "Running upgrade 2574915efc76 -> "
                "ab48726466af" in out, out[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)
    L.check_second_run(desc, url)


def dosing_behind(desc):
    """A database at head, with the rows of every revision, stamped back to
    ab48726466af by hand: SQLite, which cannot add the columns of
    8c4d2b7e1f05 and 3a7c5e9b1d42 twice, stamps it at 3a7c5e9b1d42;
    PostgreSQL and MariaDB run the three revisions again (IF NOT EXISTS);
    every row of every table is kept."""
    url = L.fresh("dp_dosing")
    L.upgrade(url)
    model = L.insert_data(url, L.SCHED)
    want, ignore = L.expected_head(model)
    rc, out, err = L.mt(url, "stamp", "ab48726466af")
    L.check_eq(desc + ": stamped back by hand", rc, 0)
    out = L.upgrade(url, desc=desc + ": upgrade head")
    if D == "sqlite":
        L.check(desc + ": the tables are ahead: stamped at 3a7c5e9b1d42",
                "persons already has the column of 3a7c5e9b1d42" in out and
                "stamp 3a7c5e9b1d42 (was ab48726466af)" in out and
                "Running upgrade 5d2e8c1a9f37 -> 8c4d2b7e1f05" not in out and
                "Running upgrade 8c4d2b7e1f05 -> 3a7c5e9b1d42" not in out, out[-2000:])
    else:
        L.check(desc + ": the three revisions run again",
                "Running upgrade ab48726466af -> 5d2e8c1a9f37" in out and
                "Running upgrade 5d2e8c1a9f37 -> 8c4d2b7e1f05" in out and
                "Running upgrade 8c4d2b7e1f05 -> 3a7c5e9b1d42" in out, out[-2000:])
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)
    L.check_second_run(desc, url)


def dosing_partial(desc):
    """SQLite: medications and doses with 8c4d2b7e1f05's columns but its
    tables gone (a half-restored copy): refused, nothing changed, since the
    revision cannot run again there. The servers simply run it again."""
    url = L.fresh("dp_partial")
    L.upgrade(url)
    model = L.insert_data(url, L.A48)
    L.x(url, "DROP TABLE audit_head")
    L.x(url, "DROP TABLE audit_log")
    L.untrack(url)
    before = (L.shape(url), L.version(url))
    rc, out, err = L.mt(url, "upgrade", "head")
    if D == "sqlite":
        L.check(desc + ": refused with exit 7, naming the revision",
                rc == 7 and "cannot take over this database" in err and "8c4d2b7e1f05" in err,
                "exit %d: %s" % (rc, err[-800:]))
        L.check(desc + ": nothing changed", (L.shape(url), L.version(url)) == before)
        return
    L.check_eq(desc + ": upgraded", rc, 0)
    want, ignore = L.expected_head(model)
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_head(desc, url)


def person_id_below_44fc(desc):
    """doses.person_id added by hand to a d9c3da4e9c05 database: a linked dose's
    person comes from its medication, an unlinked one keeps its own; SQLite,
    whose 44fcd0160844 rebuilds doses, refuses with nothing changed."""
    url = L.fresh("dp_old")
    L.upgrade(url, "d9c3da4e9c05")
    model = L.insert_data(url, L.N_D9C3)
    L.x(url, "ALTER TABLE doses ADD COLUMN person_id INTEGER")
    L.x(url, "UPDATE doses SET person_id = ? WHERE id = ?", [3, 1])  # not its medication's
    L.x(url, "UPDATE doses SET person_id = ? WHERE id = ?", [2, 6])
    before = (L.shape(url), L.version(url))
    rc, out, err = L.mt(url, "upgrade", "head")
    if D == "sqlite":
        L.check(desc + ": refused with exit 7, naming the column",
                rc == 7 and "cannot take over this database" in err and "person_id" in err,
                "exit %d: %s" % (rc, err[-800:]))
        L.check(desc + ": nothing changed", (L.shape(url), L.version(url)) == before)
        return
    L.check_eq(desc + ": upgraded", rc, 0)
    model["level"] = L.A48
    model["dose_person"] = {6: 2}
    want, ignore = L.expected_head(model)
    L.compare_rows(desc, L.head_rows(url), want, ignore)
    L.check_eq(desc + ": a linked dose has its medication's person", dose_persons(url)["1"],
               str(L.MED_PERSON[1]))
    L.check_head(desc, url)


# ---- db check and db assign-doses --------------------------------------------------------

def unowned_db(tag):
    """At head, with two doses of the 2574915efc76 era that belong to no person:
    dose 6 (its medication deleted, name kept) and dose 5 (no name)."""
    url = L.fresh(tag)
    L.upgrade(url, "2574915efc76")
    L.insert_data(url, L.Q2574)
    L.upgrade(url)
    return url


def check_and_assign(desc):
    url = L.fresh("dp_pending")
    L.upgrade(url, "2574915efc76")
    L.insert_data(url, L.Q2574)
    rc, out, err = L.mt(url, "check")
    L.check(desc + ": below head, check lists the pending revision and no doses",
            rc == 1 and "ab48726466af" in out and "no person" not in out, out + err)
    rc, out, err = L.mt(url, "assign-doses", "--dose", "6", "--person", "1")
    L.check(desc + ": assign-doses below head says to upgrade first",
            rc == 1 and "older than revision ab48726466af" in err, "exit %d: %s" % (rc, err))

    url = unowned_db("dp_check")
    persons = dose_persons(url)
    L.check(desc + ": the upgrade left doses 5 and 6 without a person, the others with theirs",
            persons["5"] is None and persons["6"] is None and
            all(persons[str(i)] == str(L.MED_PERSON[m]) for i, m, _ in L.DOSES if m),
            persons)
    rc, out, err = L.mt(url, "check")
    L.check(desc + ": check exits 0 at head (the doses are listed, not an error)", rc == 0,
            "exit %d: %s" % (rc, out + err))
    L.check(desc + ": check lists both groups and the persons",
            "2 doses belong to no person" in out and "'%s': 1 dose taken 2025-05-10" %
            DELETED_NAME in out and "without a medication name: 1 dose taken 2025-05-18 "
            "(dose id 5)" in out and "1 Mar\u00eda Garc\u00eda" in out, out)
    cmds = [line.strip() for line in out.splitlines()
            if line.strip().startswith("meditrack db assign-doses")]
    L.check_eq(desc + ": one command per group", sorted(cmds), sorted([
        "meditrack db assign-doses --dose 5 --person PERSON_ID",
        "meditrack db assign-doses --medication-name '%s' --person PERSON_ID" % DELETED_NAME]))

    # Refusals change nothing.
    for args, code, text in (
            (["--medication-name", DELETED_NAME, "--person", "99"], 1, "person 99 does not exist"),
            (["--medication-name", "No such", "--person", "1"], 1, "no dose without a person"),
            (["--dose", "5,1", "--person", "1"], 1, "dose 1 already belongs to a person"),
            (["--dose", "5,999", "--person", "1"], 1, "dose 999 does not exist"),
            (["--person", "1"], 2, "either --medication-name or --dose"),
            (["--dose", "5", "--medication-name", "x", "--person", "1"], 2, "either"),
            (["--dose", "5"], 2, "missing --person"),
            (["--dose", "x5", "--person", "1"], 2, "invalid dose id"),
            (["--dose", "5", "--person", "0"], 2, "invalid --person"),
            (["--bogus"], 2, "unexpected argument")):
        rc, out, err = L.mt(url, "assign-doses", *args)
        L.check(desc + ": assign-doses %s exits %d" % (" ".join(args), code),
                rc == code and text in err, "exit %d: %s" % (rc, out + err))
    L.check_eq(desc + ": the refusals changed nothing", dose_persons(url), persons)
    rc, out, err = L.mt(url, "assign-doses", "--help")
    L.check(desc + ": assign-doses --help", rc == 0 and "--medication-name" in out, out + err)
    rc, out, err = L.mt(url, "assign-doses", "--dose", "5", "--person", "3", "--dry-run")
    L.check(desc + ": dry run", rc == 0 and "Would assign 1 dose to person 3" in out and
            dose_persons(url) == persons, out + err)

    # The printed commands, with the persons filled in.
    for cmd, who in ((c, "3" if "--dose" in c else "2") for c in cmds):
        argv = shlex.split(cmd.replace("PERSON_ID", who))[2:]
        rc, out, err = L.mt(url, *argv)
        L.check(desc + ": " + cmd, rc == 0 and "Assigned 1 dose to person %s" % who in out,
                "exit %d: %s" % (rc, out + err))
    persons2 = dose_persons(url)
    L.check(desc + ": doses 5 and 6 now belong to persons 3 and 2, the rest unchanged",
            persons2["5"] == "3" and persons2["6"] == "2" and
            {k: v for k, v in persons2.items() if k not in ("5", "6")} ==
            {k: v for k, v in persons.items() if k not in ("5", "6")}, persons2)
    rc, out, err = L.mt(url, "check")
    L.check(desc + ": check then lists nothing", rc == 0 and "no person" not in out, out + err)
    rc, out, err = L.mt(url, "assign-doses", "--medication-name", DELETED_NAME, "--person", "1")
    L.check(desc + ": an assigned dose is never reassigned", rc == 1 and
            dose_persons(url) == persons2, "exit %d: %s" % (rc, out + err))

    # Deleting the person takes the assigned dose along (ON DELETE CASCADE).
    L.x(url, "DELETE FROM persons WHERE id = ?", [3])
    L.check(desc + ": deleting person 3 deleted the dose assigned to it",
            "5" not in dose_persons(url), dose_persons(url))


def check_many(desc):
    """More nameless doses than check prints ids for: the first 50 and a note."""
    url = unowned_db("dp_many")
    for i in range(100, 160):
        L.x(url, "INSERT INTO doses (id, medication_id, medication_name, taken_at) "
                 "VALUES (?, ?, ?, ?)", [i, None, None, "2025-06-01 10:00:00"])
    rc, out, err = L.mt(url, "check")
    line = [x for x in out.splitlines() if x.strip().startswith("meditrack db assign-doses --dose")]
    L.check(desc + ": 61 nameless doses: the first 50 ids and a note",
            rc == 0 and "without a medication name: 61 doses" in out and len(line) == 1 and
            line[0].count(",") == 49 and "(the first 50 of 61" in line[0], out)


run("untracked, doses.person_id without its key and index, a missing person",
    untracked_without_key)
run("tracked behind its tables (doses.person_id there)", tracked_behind)
run("tracked behind the dosing columns of 8c4d2b7e1f05", dosing_behind)
run("the dosing columns without the rest of 8c4d2b7e1f05", dosing_partial)
run("doses.person_id next to d9c3da4e9c05 tables", person_id_below_44fc)
run("db check and db assign-doses", check_and_assign)
run("db check with many nameless doses", check_many)
L.finish()
