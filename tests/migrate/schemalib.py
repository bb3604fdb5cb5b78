"""Shared by the schema take-over suites tests/migrate/t1NN-schema-*.py (imported,
not run): fresh databases per dialect, `meditrack db` runs, reading and writing
rows through the schema-sql helper (bound parameters, timestamps as UTC text on
every dialect), the model of what every revision does to the data, and the
counting of results. Each script ends with finish(), whose last line is
"N passed, N failed"."""

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

ROOT = os.environ.get("MT_TEST_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("MT_TEST_BUILD_DIR") or os.path.join(ROOT, "build-asan")
MEDITRACK = os.environ.get("MEDITRACK") or os.path.join(BUILD, "meditrack")
SQLTOOL = os.path.join(BUILD, "tests", "migrate", "schema-sql")
DIALECT = os.environ.get("MT_TEST_DIALECT", "sqlite")
FIXTURES = os.environ.get("MT_TEST_FIXTURES") or os.path.abspath(
    os.path.join(ROOT, "..", "shared", "fixtures"))
os.makedirs(os.environ.get("MT_TEST_TMP", "/tmp"), exist_ok=True)
TMP = tempfile.mkdtemp(prefix="schema-py.", dir=os.environ.get("MT_TEST_TMP", "/tmp"))

# The chain, oldest first.
REVS = ["f4162eb18a25", "588f4ae43933", "35bddb769482", "03586fa62d43",
        "d9c3da4e9c05", "44fcd0160844", "2574915efc76", "ab48726466af", "5d2e8c1a9f37",
        "8c4d2b7e1f05", "3a7c5e9b1d42"]
HEAD = REVS[-1]
F416, S588, P35, D0358, N_D9C3, C44, Q2574, A48, AUTH, DOSING, SCHED = range(11)
# The access-control tables of 5d2e8c1a9f37, parents first.
AUTH_TABLES = ("accounts", "account_persons", "auth_sessions", "api_tokens", "auth_throttle",
               "auth_setup_tokens")

# The tables of 8c4d2b7e1f05 (dosing rules, corrections, idempotency keys and
# the audit trail), parents first.
DOSING_TABLES = ("medication_ingredients", "ingredient_limits", "dose_ingredients",
                 "idempotency_keys", "audit_log", "audit_head")
GENESIS = "0" * 64

# The tables of 3a7c5e9b1d42 (schedules, calendar tokens, reminder settings,
# channels, planned slots, deliveries), parents first.
SCHED_TABLES = ("medication_schedules", "calendar_tokens", "reminder_settings",
                "notification_channels", "reminder_slots", "notification_deliveries")

passed = 0
failed = 0


def ok(desc):
    global passed
    passed += 1
    print("ok - " + desc, flush=True)


def not_ok(desc, detail=""):
    global failed
    failed += 1
    print("not ok - " + desc + (": " + detail if detail else ""), flush=True)


def check(desc, cond, detail=""):
    if cond:
        ok(desc)
    else:
        not_ok(desc, detail)
    return cond


def check_eq(desc, got, want):
    if got == want:
        ok(desc)
        return True
    not_ok(desc, "got %r, want %r" % (got, want))
    return False


def finish():
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)


def require_tools():
    for f in (MEDITRACK, SQLTOOL):
        if not os.access(f, os.X_OK):
            print("missing %s (build first; MT_TEST_BUILD_DIR=%s)" % (f, BUILD))
            print("0 passed, 1 failed")
            sys.exit(1)


# ---- databases -------------------------------------------------------------------

def fresh(tag):
    """URL of a new, empty database of the dialect under test."""
    env = dict(os.environ, MT_TEST_DIALECT=DIALECT)
    r = subprocess.run([os.path.join(ROOT, "tests", "lib", "fresh-db"), tag], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        not_ok("create a fresh %s database" % DIALECT, r.stderr.strip())
        finish()
    return r.stdout.strip()


def sqlite_path(url):
    assert url.startswith("sqlite:///")
    return url[len("sqlite:///"):]


def mt(url, *args, env=None):
    """Runs `meditrack db ARGS` against url; returns (status, stdout, stderr)."""
    e = dict(os.environ)
    for k in ("MIGRATIONS_DIR", "DATABASE_URL"):
        e.pop(k, None)
    e.update({"DATABASE_URL": url, "LOG_LEVEL": "info", "MIGRATE_LOCK_TIMEOUT": "120"})
    if env:
        e.update(env)
    r = subprocess.run([MEDITRACK, "db"] + list(args), env=e, capture_output=True, text=True,
                       timeout=600)
    if "Sanitizer" in r.stderr or "runtime error:" in r.stderr:
        not_ok("meditrack db %s: clean under the sanitizers" % " ".join(args), r.stderr[-3000:])
    return r.returncode, r.stdout, r.stderr


def upgrade(url, target="head", desc=None):
    rc, out, err = mt(url, "upgrade", target)
    if rc != 0:
        not_ok(desc or ("upgrade %s" % target), "exit %d: %s" % (rc, err[-1500:]))
        raise RuntimeError("upgrade failed")
    return out + err


def downgrade(url, target, desc=None):
    rc, out, err = mt(url, "downgrade", target)
    if rc != 0:
        not_ok(desc or ("downgrade %s" % target), "exit %d: %s" % (rc, err[-1500:]))
        raise RuntimeError("downgrade failed")
    return out + err


def _tool(url, mode, sql=None, params=None):
    argv = [SQLTOOL, url, mode]
    if sql is not None:
        argv.append(sql)
    if params is not None:
        argv.append(json.dumps(params))
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("schema-sql %s failed: %s\nSQL: %s" % (mode, r.stderr.strip(), sql))
    return r.stdout


def q(url, sql, params=None):
    """Rows of sql (lists of text or None)."""
    return json.loads(_tool(url, "query", sql, params if params is not None else []))


def x(url, sql, params=None):
    """Runs one statement with params, or a script without."""
    _tool(url, "exec", sql, params)


def shape(url):
    return json.loads(_tool(url, "shape"))


def version(url):
    try:
        rows = q(url, "SELECT version_num FROM alembic_version")
    except RuntimeError:
        return None
    return rows[0][0] if rows else None


def tables(url):
    return sorted(shape(url).keys())


def raw_sqlite(url):
    """A plain sqlite3 connection (foreign keys off, as the reference ran)."""
    return sqlite3.connect(sqlite_path(url), isolation_level=None)


def untrack(url):
    """Makes a tracked database untracked (drops alembic_version)."""
    x(url, "DROP TABLE alembic_version")


# ---- normalising values ----------------------------------------------------------

TS = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:Z|[+-]00(?::?00)?)?$")

BOOL_COLS = {("persons", "is_default"), ("accounts", "enabled"),
             ("notification_channels", "enabled"), ("reminder_slots", "escalated")}
TS_COLS = {("persons", "created_at"), ("persons", "updated_at"), ("medications", "created_at"),
           ("medications", "updated_at"), ("doses", "taken_at"),
           ("accounts", "created_at"), ("accounts", "updated_at"),
           ("auth_sessions", "created_at"), ("auth_sessions", "last_seen_at"),
           ("auth_sessions", "expires_at"), ("api_tokens", "created_at"),
           ("api_tokens", "expires_at"), ("api_tokens", "last_used_at"),
           ("api_tokens", "revoked_at"), ("auth_throttle", "last_failure_at"),
           ("auth_throttle", "locked_until"), ("auth_setup_tokens", "created_at"),
           ("auth_setup_tokens", "expires_at"),
           ("dose_status", "recorded_at"), ("dose_status", "updated_at"),
           ("ingredient_limits", "created_at"), ("ingredient_limits", "updated_at"),
           ("idempotency_keys", "created_at"), ("audit_log", "created_at"),
           ("medication_schedules", "updated_at"), ("calendar_tokens", "created_at"),
           ("reminder_settings", "updated_at"), ("notification_channels", "created_at"),
           ("reminder_slots", "slot_at"), ("reminder_slots", "snoozed_until"),
           ("notification_deliveries", "due_at"), ("notification_deliveries", "next_attempt_at"),
           ("notification_deliveries", "lease_until"), ("notification_deliveries", "sent_at"),
           ("notification_deliveries", "created_at")}
# Decimal columns of 8c4d2b7e1f05 (SQLite keeps 500 as 500, the servers as
# 500.000): compared as numbers.
NUM_COLS = {("medication_rules", "dose_amount"), ("medication_ingredients", "amount"),
            ("ingredient_limits", "max_per_24h"), ("dose_ingredients", "amount")}


def norm(table, col, v):
    """The value as the tests compare it: booleans as 0/1, timestamps as instants
    (text on SQLite must be kept byte for byte, so it is compared as is)."""
    if v is None:
        return None
    if (table, col) in NUM_COLS:
        return ("%.3f" % float(v)).rstrip("0").rstrip(".")
    if (table, col) in BOOL_COLS:
        return 1 if str(v).lower() in ("1", "t", "true") else 0
    if (table, col) in TS_COLS and DIALECT != "sqlite":
        m = TS.match(str(v))
        if m:
            frac = (m.group(3) or "").rstrip("0")
            return "%s %s%s" % (m.group(1), m.group(2), "." + frac if frac else "")
    return str(v)


COLS = {
    "persons": ["id", "first_name", "last_name", "date_of_birth", "notes", "is_default",
                "created_at", "updated_at"],
    "medications": ["id", "person_id", "name", "dosage", "frequency", "max_doses_per_day",
                    "instructions", "created_at", "updated_at"],
    "doses": ["id", "medication_id", "medication_name", "taken_at", "person_id"],
}
# The access-control tables: columns, and the columns that make a row's key
# (joined with ":").
AUTH_COLS = {
    "accounts": (["id", "login", "display_name", "password_hash", "role", "enabled", "person_id",
                  "created_at", "updated_at"], ["id"]),
    "account_persons": (["account_id", "person_id"], ["account_id", "person_id"]),
    "auth_sessions": (["id", "account_id", "token_hash", "created_at", "last_seen_at",
                       "expires_at", "user_agent", "address"], ["id"]),
    "api_tokens": (["id", "account_id", "name", "token_hash", "prefix", "scope", "person_id",
                    "created_at", "expires_at", "last_used_at", "revoked_at"], ["id"]),
    "auth_throttle": (["throttle_key", "failures", "last_failure_at", "locked_until"],
                      ["throttle_key"]),
    "auth_setup_tokens": (["token_hash", "created_at", "expires_at"], ["token_hash"]),
}


# What 8c4d2b7e1f05 adds, as tables of their own: (columns, key columns,
# the table they are read from). medication_rules and dose_status are the
# columns it adds to medications and doses.
DOSING_COLS = {
    "medication_rules": (["id", "limit_window", "min_interval_minutes", "dose_amount",
                          "dose_unit"], ["id"], "medications"),
    "dose_status": (["id", "status", "status_reason", "note", "recorded_by", "recorded_by_id",
                     "recorded_at", "override_rule", "override_reason", "updated_at"], ["id"],
                    "doses"),
    "medication_ingredients": (["medication_id", "position", "name", "name_key", "amount",
                                "unit"], ["medication_id", "name_key"], None),
    "ingredient_limits": (["id", "person_id", "name", "name_key", "max_per_24h", "unit",
                           "created_at", "updated_at"], ["id"], None),
    "dose_ingredients": (["dose_id", "name_key", "name", "amount", "unit"],
                         ["dose_id", "name_key"], None),
    "idempotency_keys": (["owner", "idem_key", "fingerprint", "status", "response",
                          "created_at"], ["owner", "idem_key"], None),
    "audit_log": (["seq", "created_at", "actor", "actor_id", "action", "entity", "entity_id",
                   "person_id", "before_json", "after_json", "prev_hash", "hash"], ["seq"], None),
    "audit_head": (["id", "seq", "hash"], ["id"], None),
}


# What 3a7c5e9b1d42 adds, as DOSING_COLS: person_timezone is the column it
# adds to persons.
SCHED_COLS = {
    "person_timezone": (["id", "timezone"], ["id"], "persons"),
    "medication_schedules": (["medication_id", "times", "days", "start_date", "end_date",
                              "updated_at"], ["medication_id"], None),
    "calendar_tokens": (["person_id", "token_hash", "created_at"], ["person_id"], None),
    "reminder_settings": (["person_id", "repeat_minutes", "max_repeats", "quiet_start",
                           "quiet_end", "escalate_after_minutes", "updated_at"], ["person_id"],
                          None),
    "notification_channels": (["id", "person_id", "account_id", "type", "url", "email_to",
                               "secret_sealed", "enabled", "created_at"], ["id"], None),
    "reminder_slots": (["id", "person_id", "medication_id", "slot_at", "state", "snoozed_until",
                        "repeats_sent", "escalated"], ["id"], None),
    "notification_deliveries": (["id", "slot_id", "channel_id", "kind", "seq", "status",
                                 "due_at", "attempts", "next_attempt_at", "lease_owner",
                                 "lease_until", "sent_at", "last_error", "created_at"], ["id"],
                                None),
}
EXTRA_COLS = dict(DOSING_COLS, **SCHED_COLS)


def _row_key(t, row):
    """The key of a row (a dict of text values) of table t."""
    keys = AUTH_COLS[t][1] if t in AUTH_COLS else EXTRA_COLS[t][1] if t in EXTRA_COLS else ["id"]
    return ":".join(str(row[k]) for k in keys)


def _key_order(k):
    return (0, int(k), "") if k.isdigit() else (1, 0, k)


def head_rows(url):
    """{table: {id: {col: value}}} of a database at head. SQLite is read with
    sqlite3 itself, so that stored text is compared byte for byte (the driver
    shows timestamps in a canonical form)."""
    out = {}
    con = raw_sqlite(url) if DIALECT == "sqlite" else None
    for t, cols in COLS.items():
        sql = "SELECT %s FROM %s ORDER BY id" % (", ".join(cols), t)
        if con:
            rows = [[None if v is None else str(v) for v in r] for r in con.execute(sql)]
        else:
            rows = q(url, sql)
        out[t] = {r[0]: {c: norm(t, c, v) for c, v in zip(cols, r)} for r in rows}
    # Below 5d2e8c1a9f37 these tables do not exist: they are then left out.
    for t, (cols, _) in AUTH_COLS.items():
        sql = "SELECT %s FROM %s" % (", ".join(cols), t)
        try:
            if con:
                rows = [[None if v is None else str(v) for v in r] for r in con.execute(sql)]
            else:
                rows = q(url, sql)
        except (sqlite3.Error, RuntimeError):
            continue
        out[t] = {}
        for r in rows:
            row = {c: norm(t, c, v) for c, v in zip(cols, r)}
            out[t][_row_key(t, row)] = row
    # Below 8c4d2b7e1f05 (3a7c5e9b1d42) neither these tables nor these
    # columns exist.
    for t, (cols, _, source) in EXTRA_COLS.items():
        sql = "SELECT %s FROM %s" % (", ".join(cols), source or t)
        try:
            if con:
                rows = [[None if v is None else str(v) for v in r] for r in con.execute(sql)]
            else:
                rows = q(url, sql)
        except (sqlite3.Error, RuntimeError):
            continue
        out[t] = {}
        for r in rows:
            row = {c: norm(t, c, v) for c, v in zip(cols, r)}
            out[t][_row_key(t, row)] = row
    if con:
        con.close()
    return out


def compare_rows(desc, got, want, ignore=()):
    """Checks that every table has exactly the wanted rows and values; ignore
    lists (table, id, col) whose value is only required to be non-NULL."""
    good = True
    for t in list(COLS) + list(AUTH_COLS) + list(EXTRA_COLS):
        g, w = got.get(t, {}), want.get(t, {})
        if sorted(g, key=_key_order) != sorted(w, key=_key_order):
            not_ok("%s: %s ids" % (desc, t), "got %s, want %s" % (sorted(g, key=_key_order),
                                                                   sorted(w, key=_key_order)))
            good = False
            continue
        cols = COLS[t] if t in COLS else AUTH_COLS[t][0] if t in AUTH_COLS else EXTRA_COLS[t][0]
        for i in w:
            for c in cols:
                if (t, i, c) in ignore:
                    if g[i][c] is None:
                        not_ok("%s: %s %s.%s" % (desc, t, i, c), "is NULL")
                        good = False
                    continue
                if g[i].get(c) != w[i].get(c):
                    not_ok("%s: %s id %s column %s" % (desc, t, i, c),
                           "got %r, want %r" % (g[i].get(c), w[i].get(c)))
                    good = False
    if good:
        ok(desc + ": every row kept with its values")
    return good


# ---- shapes ------------------------------------------------------------------------

def canonical_shape(sh, only=("persons", "medications", "doses") + AUTH_TABLES + DOSING_TABLES +
                    SCHED_TABLES):
    """The parts of a shape that must be equal between two databases at head:
    per table the columns (as a set, with type, NOT NULL, primary key and
    default), the indexes and the foreign keys."""
    out = {}
    for t in only:
        if t not in sh:
            out[t] = None
            continue
        cols = {}
        for c in sh[t]["columns"]:
            d = c.get("default")
            if d is not None:
                d = d.strip()
                while d.startswith("(") and d.endswith(")"):
                    d = d[1:-1].strip()
                d = d.lower()
            cols[c["name"]] = (c["type"], c["notnull"], c["pk"], d)
        ix = sorted((i["name"], tuple(i["columns"]), i["unique"]) for i in sh[t]["indexes"]
                    if not i["name"].startswith("sqlite_autoindex"))
        fk = sorted((f["column"], f["ref_table"], f["ref_column"], f["on_delete"])
                    for f in sh[t]["fkeys"])
        out[t] = {"columns": cols, "indexes": ix, "fkeys": fk}
    return out


_head_shape = None


def head_shape():
    """The canonical shape of a brand-new database upgraded to head."""
    global _head_shape
    if _head_shape is None:
        u = fresh("headshape")
        upgrade(u)
        _head_shape = canonical_shape(shape(u))
    return _head_shape


def diff_shapes(a, b):
    lines = []
    for t in sorted(set(a) | set(b)):
        if a.get(t) != b.get(t):
            if a.get(t) is None or b.get(t) is None:
                lines.append("%s: %r vs %r" % (t, a.get(t), b.get(t)))
                continue
            for k in ("columns", "indexes", "fkeys"):
                if a[t][k] != b[t][k]:
                    lines.append("%s.%s: %r vs %r" % (t, k, a[t][k], b[t][k]))
    return "; ".join(lines)[:1500]


def check_head(desc, url):
    """The database is stamped at head and has exactly the head shape."""
    check_eq(desc + ": stamped head", version(url), HEAD)
    got = canonical_shape(shape(url))
    want = head_shape()
    check(desc + ": head shape", got == want, diff_shapes(got, want))


def check_second_run(desc, url):
    """A second upgrade changes nothing: no revision runs, rows and shape stay."""
    before_rows, before_shape = head_rows(url), shape(url)
    out = upgrade(url, desc=desc + ": second upgrade")
    check(desc + ": second upgrade runs no revision", "Running upgrade" not in out and
          "take-over:" not in out, out[-800:])
    after_rows, after_shape = head_rows(url), shape(url)
    check(desc + ": second upgrade keeps rows", after_rows == before_rows)
    check(desc + ": second upgrade keeps the schema", after_shape == before_shape)


# ---- test data for each revision ------------------------------------------------------

# Values chosen to catch quoting, encoding, NULL and precision mistakes.
MEDS = [
    # id, name, dosage, frequency, max, instructions, created_at, updated_at
    (1, "Lisinopril", "10mg", "Once daily", 1, "Take with food in the morning",
     "2025-05-16 20:58:24.475918", None),
    (2, "Kr\u00e4uter-Tee \U0001F33F \"stark\"", "1 Tasse", "abends", 2,
     "l'eau; DROP TABLE doses;--", "2025-05-17 05:35:37", "2025-05-18 10:00:00.5"),
    (3, "\u6f22\u65b9\u85ac", "5 g", "Twice daily", 3, None, None, None),
]
DOSES = [
    # id, medication_id, taken_at
    (1, 1, "2025-05-16 23:11:04"),
    (2, 2, "2025-05-17 05:35:48.123456"),
    (3, 2, "2025-05-17 23:59:59.999999"),
    (4, 3, None),
    (5, None, "2025-05-18 00:00:00.000001"),
]
PERSONS = [
    # id, name (first, last for d9c3+), date_of_birth, notes, is_default, created_at, updated_at
    (1, ("Mar\u00eda", "Garc\u00eda"), "1948-03-15", "Allergic to penicillin", True,
     "2025-05-20 10:00:00", None),
    (2, ("John", "O'Brien"), None, "Night shift; prefers \"evening\" doses", False,
     "2025-05-21 18:18:39.548617", "2025-05-22 01:02:03.000004"),
    (3, ("\u0417\u043e\u044f", None), "2001-12-31", None, False, None, None),
]
MED_PERSON = {1: 1, 2: 2, 3: 1}
# From ab48726466af on, the dose of a deleted medication (id 6) knows whose it
# was; every linked dose has its medication's person.
DELETED_DOSE_PERSON = 2


def person_name(p):
    first, last = p[1]
    return first if not last else first + " " + last


def insert_data(url, level, orphans=False):
    """Inserts the test rows in the shape of revision level; returns the model of
    what was inserted. orphans adds rows whose parent is missing (where the
    shape allows them to be written)."""
    model = {"level": level, "persons": {}, "medications": {}, "doses": {}, "dose_person": {}}
    if level >= P35:
        for p in PERSONS:
            if level >= N_D9C3:
                x(url, "INSERT INTO persons (id, first_name, last_name, date_of_birth, notes, "
                       "is_default, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  [p[0], p[1][0], p[1][1], p[2], p[3], p[4], p[5], p[6]])
            else:
                x(url, "INSERT INTO persons (id, name, date_of_birth, notes, is_default, "
                       "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [p[0], person_name(p), p[2], p[3], p[4], p[5], p[6]])
            model["persons"][p[0]] = p
    for m in MEDS:
        if level >= P35:
            x(url, "INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, "
                   "instructions, created_at, updated_at, person_id) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(m) + [MED_PERSON[m[0]]])
            model["medications"][m[0]] = (m, MED_PERSON[m[0]])
        else:
            x(url, "INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, "
                   "instructions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(m))
            model["medications"][m[0]] = (m, None)
    if orphans and P35 <= level < C44:
        # No foreign key on person_id before 44fcd0160844 (as in the reference).
        m = (4, "Orphaned \u00e9", "1", "daily", 1, None, "2025-05-19 07:00:00", None)
        x(url, "INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, "
               "instructions, created_at, updated_at, person_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          list(m) + [42])
        model["medications"][4] = (m, 42)
    for d in DOSES:
        name = None
        if level >= A48:
            name = next((m[1] for m in MEDS if m[0] == d[1]), None)
            x(url, "INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id) "
                   "VALUES (?, ?, ?, ?, ?)", [d[0], d[1], name, d[2], MED_PERSON.get(d[1])])
        elif level >= D0358:
            name = next((m[1] for m in MEDS if m[0] == d[1]), None)
            x(url, "INSERT INTO doses (id, medication_id, medication_name, taken_at) "
                   "VALUES (?, ?, ?, ?)", [d[0], d[1], name, d[2]])
        else:
            x(url, "INSERT INTO doses (id, medication_id, taken_at) VALUES (?, ?, ?)", list(d))
        model["doses"][d[0]] = (d, name)
    if level >= A48:
        # A dose whose medication was deleted: no id, the name and the person kept.
        x(url, "INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id) "
               "VALUES (?, ?, ?, ?, ?)", [6, None, "Deleted \u2019med\u2019",
                                          "2025-05-10 08:00:00", DELETED_DOSE_PERSON])
        model["doses"][6] = ((6, None, "2025-05-10 08:00:00"), "Deleted \u2019med\u2019")
        model["dose_person"][6] = DELETED_DOSE_PERSON
    elif level >= D0358:
        # A dose whose medication was deleted: no id, the name kept.
        x(url, "INSERT INTO doses (id, medication_id, medication_name, taken_at) "
               "VALUES (?, ?, ?, ?)", [6, None, "Deleted \u2019med\u2019", "2025-05-10 08:00:00"])
        model["doses"][6] = ((6, None, "2025-05-10 08:00:00"), "Deleted \u2019med\u2019")
    if orphans and level < C44:
        orphan_dose(url, level, model)
    if level >= AUTH:
        insert_auth_data(url, model)
    if level >= DOSING:
        insert_dosing_data(url, model)
    if level >= SCHED:
        insert_sched_data(url, model)
    return model


# Rows of 8c4d2b7e1f05's columns and tables, written at that revision. Dose
# 2 was skipped and dose 3 entered in error (a downgrade deletes both: the
# reference's schema cannot tell them from taken doses); medication 2 has
# rules and ingredients; the audit rows are as written (this is about
# keeping rows, not about the chain).
DOSING_ROWS = {
    "medication_rules": [
        ["2", "rolling_24h", "240", "2.5", "ml"],
    ],
    "dose_status": [
        ["1", "taken", None, 'with "food" é', "maria", "1", "2025-05-16 23:11:05.5",
         "window_full,interval", "fever 39.5 °C; DROP TABLE doses;--", None],
        ["2", "skipped", "asleep", None, "anonymous", None, "2025-05-17 05:35:49", None, None,
         "2025-05-17 06:00:00"],
        ["3", "entered_in_error", "deleted", None, None, None, None, None, None,
         "2025-05-18 00:00:00.000001"],
    ],
    "medication_ingredients": [
        [2, 0, "Paracetamol", "paracetamol", 500, "mg"],
        [2, 1, "Coïne ☕", "coïne ☕", 0.125, "g"],
    ],
    "ingredient_limits": [
        [1, 1, "Paracetamol", "paracetamol", 4000, "mg", "2025-05-20 10:00:00", None],
        [2, 2, "caffeine", "caffeine", 0.4, "g", "2025-05-21 00:00:00.25", "2025-05-22 00:00:00"],
    ],
    "dose_ingredients": [
        [2, "paracetamol", "Paracetamol", 500, "mg"],
        [3, "paracetamol", "Paracetamol", 500, "mg"],
    ],
    "idempotency_keys": [
        ["anonymous", "tap-ü-1", "f" * 64, 201, "{\"id\":1}", "2025-05-17 05:35:50"],
    ],
    "audit_log": [
        [1, "2025-05-16 23:11:05.500001", "maria", 1, "record", "dose", 1, 1, None,
         "{\"id\":1,\"note\":\"with \\\"food\\\"\"}", GENESIS, "e" * 64],
        [2, "2025-05-17 05:35:49", "anonymous", None, "skip", "dose", 2, 2, None, None,
         "e" * 64, "d" * 64],
    ],
    "audit_head": [[1, 2, "d" * 64]],
}
DOSE_DEFAULT = {"status": "taken", "status_reason": None, "note": None, "recorded_by": None,
                "recorded_by_id": None, "recorded_at": None, "override_rule": None,
                "override_reason": None, "updated_at": None}
RULE_DEFAULT = {"limit_window": "calendar_day", "min_interval_minutes": None,
                "dose_amount": None, "dose_unit": None}


def insert_dosing_data(url, model):
    model["dosing"] = {}
    for t, (cols, _, source) in DOSING_COLS.items():
        model["dosing"][t] = {}
        if t == "audit_head":
            x(url, "DELETE FROM audit_head")
        for r in DOSING_ROWS[t]:
            if source:
                sets = ", ".join("%s = ?" % c for c in cols[1:])
                x(url, "UPDATE %s SET %s WHERE id = ?" % (source, sets), list(r[1:]) + [r[0]])
            else:
                x(url, "INSERT INTO %s (%s) VALUES (%s)" % (t, ", ".join(cols),
                                                          ", ".join("?" * len(cols))), r)
            row = {c: norm(t, c, None if v is None else str(v)) for c, v in zip(cols, r)}
            model["dosing"][t][_row_key(t, row)] = row


def expect_dosing(want, model=None):
    """Fills want with the rows of 8c4d2b7e1f05's tables and columns: the
    ones the model wrote at that revision, the defaults that revision gives
    every other medication and dose, and the chain's empty head record."""
    written = (model or {}).get("dosing", {})
    for t in DOSING_COLS:
        want[t] = {k: dict(v) for k, v in written.get(t, {}).items()
                   if t not in ("medication_rules", "dose_status")}
    want["medication_rules"] = {}
    for mid in want["medications"]:
        row = written.get("medication_rules", {}).get(mid) or dict(RULE_DEFAULT, id=mid)
        want["medication_rules"][mid] = dict(row)
    want["dose_status"] = {}
    for did in want["doses"]:
        row = written.get("dose_status", {}).get(did) or dict(DOSE_DEFAULT, id=did)
        want["dose_status"][did] = dict(row)
    if not want["audit_head"]:
        want["audit_head"] = {"1": {"id": "1", "seq": "0", "hash": GENESIS}}
    if "person_timezone" not in want:
        expect_sched(want)
    return want


def expect_dosing_undone(want):
    """want after a downgrade below 8c4d2b7e1f05 and an upgrade again: doses
    that were not taken are gone, the rules and statuses are the defaults,
    the new tables empty (the audit trail starts again)."""
    gone = [d for d, r in want.get("dose_status", {}).items() if r["status"] != "taken"]
    for d in gone:
        want["doses"].pop(d, None)
    for t in DOSING_COLS:
        want[t] = {}
    expect_sched_undone(want)
    return expect_dosing(want)


# Rows of 3a7c5e9b1d42's column and tables, written at that revision
# (persons 1-3, medications 1-3 and accounts 1-2 exist then).
SCHED_ROWS = {
    "person_timezone": [
        ["1", "Europe/Berlin"],
        ["3", "America/Argentina/Buenos_Aires"],
    ],
    "medication_schedules": [
        [1, "08:00,20:00", "daily", None, None, "2025-06-10 08:00:00"],
        [2, "07:30", "mon,wed,fri", "2025-06-01", "2025-12-31", "2025-06-10 08:00:00.25"],
        [3, "22:00", "every:3", "2025-06-02", None, "2025-06-10 09:00:00"],
    ],
    "calendar_tokens": [[1, "9" * 64, "2025-06-11 00:00:00"]],
    "reminder_settings": [
        [1, 10, 3, "22:00", "07:00", 30, "2025-06-11 00:00:00"],
        [2, None, 0, None, None, None, "2025-06-11 00:00:00.5"],
    ],
    "notification_channels": [
        [1, 1, None, "ntfy", "https://ntfy.example/meds?x=1&y=\u00fc", None, "c2VhbGVk+/=",
         True, "2025-06-11 01:00:00"],
        [2, None, 2, "email", None, "john.o'brien@example.org", None, False,
         "2025-06-11 01:00:01"],
    ],
    "reminder_slots": [
        [1, 1, 1, "2025-06-12 06:00:00", "open", None, 0, False],
        [2, 2, 2, "2025-06-12 05:30:00", "snoozed", "2025-06-12 05:45:00.000001", 2, True],
    ],
    "notification_deliveries": [
        [1, 1, 1, "reminder", 0, "sent", "2025-06-12 06:00:00", 1, "2025-06-12 06:00:00", None,
         None, "2025-06-12 06:00:01.5", None, "2025-06-12 05:59:00"],
        [2, 2, 2, "escalation", 1, "failed", "2025-06-12 06:30:00", 3, "2025-06-12 06:40:00",
         "replica-a", "2025-06-12 06:31:00", None, "connection refused; \"smtp\" \u00e9",
         "2025-06-12 06:29:00"],
        [3, None, 1, "test", 0, "pending", "2025-06-12 07:00:00", 0, "2025-06-12 07:00:00", None,
         None, None, None, "2025-06-12 07:00:00"],
    ],
}


def insert_sched_data(url, model):
    model["sched"] = {}
    for t, (cols, _, source) in SCHED_COLS.items():
        model["sched"][t] = {}
        for r in SCHED_ROWS[t]:
            if source:
                sets = ", ".join("%s = ?" % c for c in cols[1:])
                x(url, "UPDATE %s SET %s WHERE id = ?" % (source, sets), list(r[1:]) + [r[0]])
            else:
                x(url, "INSERT INTO %s (%s) VALUES (%s)" % (t, ", ".join(cols),
                                                          ", ".join("?" * len(cols))), r)
            row = {c: norm(t, c, None if v is None else (v if isinstance(v, bool) else str(v)))
                   for c, v in zip(cols, r)}
            model["sched"][t][_row_key(t, row)] = row


def expect_sched(want, model=None):
    """Fills want with the rows of 3a7c5e9b1d42's tables and column: the ones
    the model wrote at that revision, and no zone for every other person."""
    written = (model or {}).get("sched", {})
    for t in SCHED_COLS:
        want[t] = {k: dict(v) for k, v in written.get(t, {}).items() if t != "person_timezone"}
    want["person_timezone"] = {}
    for pid in want["persons"]:
        row = written.get("person_timezone", {}).get(pid) or {"id": pid, "timezone": None}
        want["person_timezone"][pid] = dict(row)
    return want


def expect_sched_undone(want):
    """want after a downgrade below 3a7c5e9b1d42 and an upgrade again: no
    zones, schedules, tokens, settings, channels, slots or deliveries."""
    for t in SCHED_COLS:
        want[t] = {}
    return expect_sched(want)


# Rows of the access-control tables (5d2e8c1a9f37), one list per table in
# AUTH_COLS order; persons 1-3 of PERSONS exist when they are written.
AUTH_ROWS = {
    "accounts": [
        [1, "maria", "Mar\u00eda Garc\u00eda",
         "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "admin", True, 1,
         "2025-06-01 08:00:00", None],
        [2, "john.o-brien@home", "John \"Nights\" O'Brien", None, "viewer", False, None,
         "2025-06-02 09:30:00.123456", "2025-06-03 10:00:00"],
    ],
    "account_persons": [[1, 1], [2, 2], [2, 3]],
    "auth_sessions": [
        [1, 1, "a" * 64, "2025-06-04 07:00:00", "2025-06-04 07:30:00.000001",
         "2025-07-04 07:00:00", "Mozilla/5.0 (X11; Linux x86_64) \u00fc", "192.0.2.7"],
    ],
    "api_tokens": [
        [1, 2, "Home Assistant \U0001F3E0", "b" * 64, "mtt_AbCdEfGh", "read", 3,
         "2025-06-05 00:00:00", None, "2025-06-05 01:02:03.5", "2025-06-06 00:00:00"],
        [2, 1, "backup; DROP TABLE accounts;--", "0123456789abcdef" * 4, "mtt_xYz01234", "admin",
         None, "2025-06-05 00:00:01", "2026-06-05 00:00:01", None, None],
    ],
    "auth_throttle": [
        ["login:maria", 3, "2025-06-04 12:00:00.5", None],
        ["addr:2001:db8::1", 12, "2025-06-04 12:05:00", "2025-06-04 12:15:00"],
    ],
    "auth_setup_tokens": [["c" * 64, "2025-06-04 00:00:00", "2025-06-05 00:00:00"]],
}


def insert_auth_data(url, model):
    model["auth"] = {}
    for t in AUTH_TABLES:
        cols = AUTH_COLS[t][0]
        model["auth"][t] = {}
        for r in AUTH_ROWS[t]:
            x(url, "INSERT INTO %s (%s) VALUES (%s)" % (t, ", ".join(cols),
                                                      ", ".join("?" * len(cols))), r)
            row = {c: norm(t, c, None if v is None else (v if isinstance(v, bool) else str(v)))
                   for c, v in zip(cols, r)}
            model["auth"][t][_row_key(t, row)] = row


def orphan_dose(url, level, model):
    """A dose whose medication does not exist, written past the foreign key the
    way the reference's SQLite (foreign keys off) or a bulk load could."""
    d = (7, 99, "2025-05-19 12:00:00.000001")
    if DIALECT == "sqlite":
        con = raw_sqlite(url)
        if level >= D0358:
            con.execute("INSERT INTO doses (id, medication_id, medication_name, taken_at) "
                        "VALUES (?, ?, ?, ?)", (d[0], d[1], "Gone", d[2]))
        else:
            con.execute("INSERT INTO doses (id, medication_id, taken_at) VALUES (?, ?, ?)", d)
        con.close()
    elif DIALECT == "mysql":
        cols = "id, medication_id, medication_name, taken_at" if level >= D0358 else \
            "id, medication_id, taken_at"
        vals = "7, 99, 'Gone', '%s'" % d[2] if level >= D0358 else "7, 99, '%s'" % d[2]
        x(url, "SET FOREIGN_KEY_CHECKS=0; INSERT INTO doses (%s) VALUES (%s); "
               "SET FOREIGN_KEY_CHECKS=1" % (cols, vals))
    else:
        return  # PostgreSQL always enforced this foreign key: no such rows exist there.
    model["doses"][7] = (d, "Gone" if level >= D0358 else None)


def expected_head(model):
    """What the model's rows must look like at head, following what each
    revision does: 35bddb769482 gives medications a default person,
    03586fa62d43 fills medication_name, d9c3da4e9c05 copies name into first_name,
    the repairs move orphans, ab48726466af gives linked doses their medication's
    person (a deleted medication's dose keeps the person it had from
    ab48726466af on, and has none below). Returns (rows, ignore) for
    compare_rows."""
    level = model["level"]
    want = {"persons": {}, "medications": {}, "doses": {}}
    ignore = set()
    for pid, p in model["persons"].items():
        first, last = (p[1][0], p[1][1]) if level >= N_D9C3 else (person_name(p), None)
        want["persons"][str(pid)] = {
            "id": str(pid), "first_name": first, "last_name": last,
            "date_of_birth": p[2], "notes": p[3], "is_default": 1 if p[4] else 0,
            "created_at": norm("persons", "created_at", p[5]),
            "updated_at": norm("persons", "updated_at", p[6])}
    default = None
    defaults = [int(i) for i, r in want["persons"].items() if r["is_default"]]
    if defaults:
        default = min(defaults)
    if level < P35 and model["medications"] and not want["persons"]:
        # 35bddb769482 created the default person for the medications.
        want["persons"]["1"] = {"id": "1", "first_name": "Default User", "last_name": None,
                                "date_of_birth": None, "notes": None, "is_default": 1,
                                "created_at": None, "updated_at": None}
        ignore.add(("persons", "1", "created_at"))
        default = 1
    for mid, (m, pid) in model["medications"].items():
        if pid is None or str(pid) not in want["persons"]:
            pid = default
        want["medications"][str(mid)] = {
            "id": str(mid), "person_id": str(pid), "name": m[1], "dosage": m[2],
            "frequency": m[3], "max_doses_per_day": str(m[4]), "instructions": m[5],
            "created_at": norm("medications", "created_at", m[6]),
            "updated_at": norm("medications", "updated_at", m[7])}
    for did, (d, name) in model["doses"].items():
        mid = d[1]
        if level < D0358:
            name = next((m[1] for k, (m, _) in model["medications"].items() if k == mid), None)
        if mid is not None and str(mid) not in want["medications"]:
            mid = None
        if mid is not None:
            person = want["medications"][str(mid)]["person_id"]
        else:
            person = model.get("dose_person", {}).get(did) if level >= A48 else None
            person = None if person is None else str(person)
        want["doses"][str(did)] = {"id": str(did), "medication_id": None if mid is None else str(mid),
                                   "medication_name": name,
                                   "taken_at": norm("doses", "taken_at", d[2]),
                                   "person_id": person}
    # The access-control rows survive only where 5d2e8c1a9f37 was not undone.
    for t in AUTH_TABLES:
        want[t] = dict(model.get("auth", {}).get(t, {})) if level >= AUTH else {}
    expect_dosing(want, model if level >= DOSING else None)
    expect_sched(want, model if level >= SCHED else None)
    return want, ignore


def fixture_model(path):
    """The model of a reference SQLite fixture's rows (read with sqlite3)."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    rows = {}
    for t in ("persons", "medications", "doses"):
        if t in names:
            cur = con.execute("SELECT * FROM %s ORDER BY id" % t)
            cols = [c[0] for c in cur.description]
            rows[t] = [dict(zip(cols, r)) for r in cur.fetchall()]
        else:
            rows[t] = None
    con.close()
    return rows


def _s(v):
    return None if v is None else str(v)


def expected_from_rows(rows):
    """Expected head rows for a database whose rows (dicts per table, in the
    shape they had) are given; mirrors expected_head for arbitrary data."""
    want = {"persons": {}, "medications": {}, "doses": {}}
    want.update({t: {} for t in AUTH_TABLES})
    ignore = set()
    persons = rows.get("persons")
    if persons is not None:
        for p in persons:
            first = p["first_name"] if p.get("first_name") else p.get("name")
            want["persons"][_s(p["id"])] = {
                "id": _s(p["id"]), "first_name": first, "last_name": p.get("last_name"),
                "date_of_birth": _s(p.get("date_of_birth")), "notes": p.get("notes"),
                "is_default": norm("persons", "is_default", p["is_default"]),
                "created_at": norm("persons", "created_at", _s(p.get("created_at"))),
                "updated_at": norm("persons", "updated_at", _s(p.get("updated_at")))}
    defaults = [int(i) for i, r in want["persons"].items() if r["is_default"]]
    default = min(defaults) if defaults else None
    if not want["persons"] and rows.get("medications"):
        want["persons"]["1"] = {"id": "1", "first_name": "Default User", "last_name": None,
                                "date_of_birth": None, "notes": None, "is_default": 1,
                                "created_at": None, "updated_at": None}
        ignore.add(("persons", "1", "created_at"))
        default = 1
    names = {}
    for m in rows.get("medications") or []:
        pid = m.get("person_id")
        if pid is None or _s(pid) not in want["persons"]:
            pid = default
        names[_s(m["id"])] = m["name"]
        want["medications"][_s(m["id"])] = {
            "id": _s(m["id"]), "person_id": _s(pid), "name": m["name"], "dosage": m["dosage"],
            "frequency": m["frequency"], "max_doses_per_day": _s(m["max_doses_per_day"]),
            "instructions": m.get("instructions"),
            "created_at": norm("medications", "created_at", _s(m.get("created_at"))),
            "updated_at": norm("medications", "updated_at", _s(m.get("updated_at")))}
    for d in rows.get("doses") or []:
        mid = _s(d.get("medication_id"))
        name = d["medication_name"] if "medication_name" in d else names.get(mid)
        if mid is not None and mid not in want["medications"]:
            mid = None
        # ab48726466af: a linked dose belongs to its medication's person; an
        # unlinked one keeps the person it had (none before that revision).
        person = want["medications"][mid]["person_id"] if mid is not None else \
            _s(d.get("person_id"))
        want["doses"][_s(d["id"])] = {"id": _s(d["id"]), "medication_id": mid,
                                      "medication_name": name,
                                      "taken_at": norm("doses", "taken_at", _s(d.get("taken_at"))),
                                      "person_id": person}
    expect_dosing(want)
    return want, ignore


def dialect_ddl(sqlite, postgresql, mysql):
    return {"sqlite": sqlite, "postgresql": postgresql, "mysql": mysql}[DIALECT]


FOREIGN_DDL = dialect_ddl(
    "CREATE TABLE household_notes (id INTEGER PRIMARY KEY, note VARCHAR(200) NOT NULL, "
    "medication_ref INTEGER)",
    "CREATE TABLE household_notes (id SERIAL PRIMARY KEY, note VARCHAR(200) NOT NULL, "
    "medication_ref INTEGER)",
    "CREATE TABLE household_notes (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, "
    "note VARCHAR(200) NOT NULL, medication_ref INTEGER) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")


def add_foreign_table(url):
    """A table that is not MediTrack's, with rows; returns its (shape, rows)."""
    x(url, FOREIGN_DDL)
    x(url, "INSERT INTO household_notes (id, note, medication_ref) VALUES (?, ?, ?)",
      [1, "Fridge: insulin \u2744 \"top shelf\"", 2])
    x(url, "INSERT INTO household_notes (id, note, medication_ref) VALUES (?, ?, ?)",
      [2, "Pharmacy closes at 18:00", None])
    return foreign_state(url)


def foreign_state(url):
    sh = shape(url).get("household_notes")
    rows = q(url, "SELECT id, note, medication_ref FROM household_notes ORDER BY id") if sh else None
    return sh, rows
