#!/usr/bin/env python3
"""The append-only, tamper-evident audit trail of issue 15 (docs/audit.md),
black-box on the dialect in MT_TEST_DIALECT: one row per change to persons,
medications, ingredient limits and doses, in the change's transaction,
with the actor, before and after; none for a change that changes nothing;
GET /api/v1/audit with its filters and paging; every row's hash recomputed
here from the canonical serialisation docs/audit.md gives; and `meditrack
audit verify` holding on the intact chain and naming the first bad row
(exit 1) after each change made directly in the database: an edited row,
an edited row whose own hash was recomputed, a deleted row, deleted last
rows, two rows swapped, an edited head record, and a whole rewritten
chain, which only an anchor exported earlier (`audit head`) catches. Python
3 stdlib. Last line: "N passed, N failed"."""

import datetime
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
from apilib import check, expect  # noqa: E402
from dosinglib import D, medication, parse, record_now, sql  # noqa: E402

GENESIS = "0" * 64
TEXT_COLS = ["actor", "action", "entity", "before_json", "after_json", "prev_hash", "hash"]


def main():
    srv = apilib.Server("t092")
    try:
        rows_of_changes(srv)
        listing(srv)
        chain(srv)
    finally:
        srv.stop()
    access_control()
    tampering()
    apilib.report()


def audit(srv, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = srv.get(f"/api/v1/audit/?{query}")
    if r.status != 200:
        raise RuntimeError(f"GET audit: {r!r}")
    return r.json()


# ---- one row per change --------------------------------------------------------------------

def rows_of_changes(srv):
    ann = apilib.person(srv, "Ann", last_name="Audit")["id"]
    bob = apilib.person(srv, "Bob")["id"]
    rows = audit(srv, entity="person")
    check("person: created, newest first",
          [(a["action"], a["entity_id"], a["person_id"]) for a in rows] ==
          [("create", bob, bob), ("create", ann, ann)], rows)
    check("person: anonymous actor (AUTH=off), no before, the row after",
          rows[1]["actor"] == "anonymous" and rows[1]["actor_id"] is None and
          rows[1]["before"] is None and rows[1]["after"]["first_name"] == "Ann" and
          rows[1]["after"]["last_name"] == "Audit", rows[1])
    srv.put(f"/api/v1/persons/{ann}", {"notes": "allergic to penicillin"})
    srv.put(f"/api/v1/persons/{ann}", {"notes": "allergic to penicillin"})
    srv.put(f"/api/v1/persons/{bob}/set-default")
    rows = audit(srv, entity="person")
    check("person: an update with before and after; a repeat that changes nothing has no row",
          [a["action"] for a in rows] == ["set_default", "update", "create", "create"] and
          rows[1]["before"]["notes"] is None and
          rows[1]["after"]["notes"] == "allergic to penicillin", rows)
    check("person: set-default names the new default",
          rows[0]["entity_id"] == bob and rows[0]["after"]["is_default"] is True and
          rows[0]["before"]["is_default"] is False, rows[0])

    med = medication(srv, ann, "Ibuprofen", 3, min_interval_minutes=360, ingredients=[
        {"name": "Ibuprofen", "amount": 400, "unit": "mg"}])["id"]
    srv.put(f"/api/v1/medications/{med}", {"max_doses_per_day": 4, "limit_window": "rolling_24h"})
    srv.put(f"/api/v1/medications/{med}", {})
    rows = audit(srv, entity="medication", entity_id=med)
    check("medication: create and update (rules included), no row for an empty PUT",
          [a["action"] for a in rows] == ["update", "create"] and
          rows[1]["after"]["ingredients"] == [{"name": "Ibuprofen", "amount": 400.0,
                                              "unit": "mg"}] and
          rows[0]["before"]["max_doses_per_day"] == 3 and
          rows[0]["after"]["max_doses_per_day"] == 4 and
          rows[0]["after"]["limit_window"] == "rolling_24h" and rows[0]["person_id"] == ann,
          rows)
    L = f"/api/v1/persons/{ann}/ingredient-limits/"
    lim = srv.post(L, {"name": "Ibuprofen", "max_per_24h": 1200, "unit": "mg"}).json()["id"]
    srv.post(L, {"name": "ibuprofen", "max_per_24h": 1600, "unit": "mg"})
    srv.delete(f"{L}{lim}")
    rows = audit(srv, entity="ingredient_limit")
    check("limits: create, update, delete",
          [(a["action"], a["entity_id"]) for a in rows] ==
          [("delete", lim), ("update", lim), ("create", lim)] and
          rows[1]["after"]["max_per_24h"] == 1600 and rows[0]["after"] is None, rows)

    dose = record_now(srv, med).json()["id"]
    srv.request("PATCH", f"{D}/{dose}", {"note": "after lunch"})
    srv.delete(f"{D}/{dose}")
    rows = audit(srv, entity="dose", entity_id=dose)
    check("dose: record, correct, and DELETE as entered in error",
          [a["action"] for a in rows] == ["entered_in_error", "correct", "record"] and
          rows[0]["after"]["status"] == "entered_in_error" and
          rows[0]["after"]["status_reason"] == "deleted", rows)
    r = srv.post(f"{D}/medications/{med}/dose", {"override": True})
    check("dose: a refused request writes nothing", r.status == 422 and
          len(audit(srv, entity="dose")) == 3, r.text())

    srv.delete(f"/api/v1/medications/{med}")
    rows = audit(srv, entity="medication", entity_id=med)
    check("medication: delete keeps the row before",
          rows[0]["action"] == "delete" and rows[0]["before"]["name"] == "Ibuprofen" and
          rows[0]["after"] is None, rows)
    srv.put(f"/api/v1/persons/{bob}/set-default")
    expect("person: delete", srv.delete(f"/api/v1/persons/{ann}"), 204)
    rows = audit(srv, person_id=ann)
    check("person: the deleted person's rows stay, the delete last",
          rows[0]["action"] == "delete" and rows[0]["entity"] == "person" and
          rows[0]["before"]["first_name"] == "Ann" and len(rows) >= 10, rows[:2])


# ---- GET /api/v1/audit ------------------------------------------------------------------------

def listing(srv):
    everything = audit(srv, limit=1000)
    seqs = [a["seq"] for a in everything]
    check("list: newest first, every row once", seqs == sorted(seqs, reverse=True) and
          len(set(seqs)) == len(seqs) and seqs[-1] == 1, seqs[:5])
    page = audit(srv, skip=2, limit=3)
    check("list: paging", [a["seq"] for a in page] == seqs[2:5], page)
    t = everything[len(everything) // 2]["created_at"]
    after = audit(srv, **{"from": t, "limit": 1000})
    before = audit(srv, to=t, limit=1000)
    check("list: a time range splits the trail at from (inclusive) / to (exclusive)",
          len(after) + len(before) == len(everything) and
          all(parse(a["created_at"]) >= parse(t) for a in after) and
          all(parse(a["created_at"]) < parse(t) for a in before),
          (len(after), len(before)))
    expect("list: an unknown entity is a 422", srv.get("/api/v1/audit/?entity=planet"), 422)
    expect("list: a bad instant is a 422", srv.get("/api/v1/audit/?from=noon"), 422)
    expect("list: without the slash too", srv.get("/api/v1/audit?limit=1"), 200)
    keys = ["seq", "created_at", "actor", "actor_id", "action", "entity", "entity_id",
            "person_id", "before", "after", "prev_hash", "hash"]
    check("list: entry keys", all(list(a.keys()) == keys for a in everything), everything[0])
    check("list: each row's prev_hash is the hash of the row before",
          all(everything[i]["prev_hash"] == everything[i + 1]["hash"]
              for i in range(len(everything) - 1)) and everything[-1]["prev_hash"] == GENESIS)


# ---- the chain, recomputed here -------------------------------------------------------------

def field(v):
    if v is None:
        return b"-\n"
    b = v.encode("utf-8")
    return str(len(b)).encode() + b":" + b + b"\n"


def canonical_hash(row, prev):
    """docs/audit.md, "The hash": SHA-256 over the version line, the
    previous hash and each field as <length>:<bytes> (or - for NULL)."""
    parts = [b"meditrack-audit-v1\n", field(prev), field(row["seq"]), field(row["created_at"]),
             field(row["actor"]), field(row["actor_id"]), field(row["action"]),
             field(row["entity"]), field(row["entity_id"]), field(row["person_id"]),
             field(row["before_json"]), field(row["after_json"])]
    return hashlib.sha256(b"".join(parts)).hexdigest()


def db_time(text):
    """A stored timestamp as the chain writes it: UTC, microseconds only
    when not zero."""
    text = text.replace("T", " ")[:26]
    dt = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f" if "." in text
                                    else "%Y-%m-%d %H:%M:%S")
    out = dt.strftime("%Y-%m-%d %H:%M:%S")
    return out + (dt.strftime(".%f") if dt.microsecond else "")


def db_rows(url):
    """Every audit row, by seq, with its text exactly as stored."""
    if apilib.DIALECT == "sqlite":
        raw = sql(url, "SELECT seq, created_at, actor, actor_id, action, entity, entity_id, "
                       "person_id, before_json, after_json, prev_hash, hash FROM audit_log "
                       "ORDER BY seq")
        names = ["seq", "created_at", "actor", "actor_id", "action", "entity", "entity_id",
                 "person_id", "before_json", "after_json", "prev_hash", "hash"]
        rows = [dict(zip(names, r)) for r in raw]
    else:
        # Text goes through the command-line client as hex, so that no byte
        # of it is changed on the way.
        def text(c):
            if apilib.DIALECT == "postgresql":
                return (f"CASE WHEN {c} IS NULL THEN 'N' ELSE "
                        f"'V' || encode(convert_to({c}, 'UTF8'), 'hex') END")
            return f"IF({c} IS NULL, 'N', CONCAT('V', HEX({c})))"

        def num(c):
            return f"COALESCE(CAST({c} AS CHAR(20)), 'N')" if apilib.DIALECT == "mysql" \
                else f"COALESCE(CAST({c} AS TEXT), 'N')"

        when = ("to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
                if apilib.DIALECT == "postgresql"
                else "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%S.%f')")
        cols = [num("seq"), when, text("actor"), num("actor_id"), text("action"),
                text("entity"), num("entity_id"), num("person_id"), text("before_json"),
                text("after_json"), text("prev_hash"), text("hash")]
        raw = sql(url, f"SELECT {', '.join(cols)} FROM audit_log ORDER BY seq")
        names = ["seq", "created_at", "actor", "actor_id", "action", "entity", "entity_id",
                 "person_id", "before_json", "after_json", "prev_hash", "hash"]
        rows = []
        for r in raw:
            row = {}
            for name, v in zip(names, r):
                if v == "N":
                    v = None
                elif name in TEXT_COLS and v.startswith("V"):
                    v = bytes.fromhex(v[1:]).decode("utf-8")
                row[name] = v
            rows.append(row)
    for row in rows:
        row["created_at"] = db_time(row["created_at"])
    return rows


def chain(srv):
    rows = db_rows(srv.url)
    prev = GENESIS
    bad = []
    for row in rows:
        if row["prev_hash"] != prev or canonical_hash(row, prev) != row["hash"]:
            bad.append(row["seq"])
        prev = row["hash"]
    check(f"chain: every one of the {len(rows)} rows hashes as docs/audit.md says", not bad, bad)
    head = sql(srv.url, "SELECT seq, hash FROM audit_head")
    check("chain: the head record names the last row",
          head == [[rows[-1]["seq"], rows[-1]["hash"]]], head)


# ---- accounts, passwords, grants, tokens ----------------------------------------------------

def access_control():
    """With AUTH=on, every change of an account, its password, its grants and
    its API tokens appends one row naming the administrator who made it, and
    no snapshot carries a password hash or a token's secret or hash."""
    import authlib
    srv = apilib.Server("t092-auth", env=authlib.auth_env())
    try:
        admin, _ = authlib.first_admin(srv, "auditadmin")
        ann = admin.post("/api/v1/persons/", {"first_name": "Ann"}).json()["id"]
        bob = admin.post("/api/v1/persons/", {"first_name": "Bob"}).json()["id"]
        acc = authlib.make_account(admin, "carer1", "carer", persons=[ann])
        aid = acc["id"]
        expect("account: role changed", admin.patch(f"/api/v1/accounts/{aid}",
                                                     {"role": "viewer"}), 200)
        expect("account: the same role again (no change)",
               admin.patch(f"/api/v1/accounts/{aid}", {"role": "viewer"}), 200)
        expect("account: new password", admin.patch(f"/api/v1/accounts/{aid}",
                                                    {"password": "another long password 2"}), 200)
        expect("grants: set to Ann and Bob", admin.patch(f"/api/v1/accounts/{aid}",
                                                         {"persons": [ann, bob]}), 200)
        tok = authlib.make_token(admin, "read", name="dashboard")
        expect("token: revoked", admin.delete(f"/api/v1/auth/tokens/{tok['id']}"), 204)
        expect("account: deleted", admin.delete(f"/api/v1/accounts/{aid}"), 204)
        r = admin.get("/api/v1/audit/?limit=1000")
        check("access control: the administrator reads the trail", r.status == 200, r)
        rows = r.json() if r.status == 200 else []
        mine = [(a["entity"], a["action"], a["entity_id"]) for a in reversed(rows)
                if a["entity"] in ("account", "grant", "token")]
        admin_id = next((a["entity_id"] for a in reversed(rows)
                         if a["entity"] == "account" and a["action"] == "create"), None)
        # The account and its grants are two transactions (POST /accounts/
        # creates, then grants): two rows.
        want = [("account", "create", admin_id), ("account", "create", aid),
                ("grant", "set_grants", aid), ("account", "update", aid), ("account", "set_password", aid),
                ("grant", "set_grants", aid), ("token", "create", tok["id"]),
                ("token", "revoke", tok["id"]), ("account", "delete", aid)]
        check("access control: one row per change, in order, none for the unchanged role",
              mine == want, mine)
        # Oldest first, so that the later of two rows of one kind wins.
        by = {(a["entity"], a["action"], a["entity_id"]): a for a in reversed(rows)}
        first = by.get(("account", "create", admin_id), {})
        check("the first administrator (setup) is the actor of its own creation",
              first.get("actor") == "auditadmin" and first.get("actor_id") == admin_id, first)
        others = [a for a in rows if a["entity"] in ("account", "grant", "token") and
                  (a["entity"], a["entity_id"]) != ("account", admin_id)]
        check("the administrator is the actor of every other change",
              others and all(a["actor"] == "auditadmin" and a["actor_id"] == admin_id
                             for a in others), [(a["actor"], a["actor_id"]) for a in others])
        upd = by.get(("account", "update", aid), {})
        check("account update: before and after show the role change",
              (upd.get("before") or {}).get("role") == "carer" and
              (upd.get("after") or {}).get("role") == "viewer", upd)
        g = by.get(("grant", "set_grants", aid), {})
        check("grants: before and after list the persons",
              (g.get("before") or {}).get("persons") == [ann] and
              (g.get("after") or {}).get("persons") == [ann, bob], g)
        pw = by.get(("account", "set_password", aid), {})
        check("password change: no snapshot at all",
              pw.get("before") is None and pw.get("after") is None, pw)
        text = json.dumps(rows)
        check("no password hash and no token secret in the trail",
              "$argon2" not in text and tok["token"] not in text, text[:300])
        secret_keys = {"hash", "token_hash", "secret", "token", "password", "password_hash"}
        leaked = [(a["seq"], k) for a in rows for side in ("before", "after")
                  for k in (a.get(side) or {}) if k in secret_keys]
        check("no snapshot has a secret's field (hash, token, password)", not leaked, leaked)
        rc, out = meditrack(srv.url, "audit", "verify")
        check("access control: the chain holds", rc == 0 and "audit trail holds" in out, out)
        rc, out = meditrack(srv.url, "user", "add", "fromcli", "--role", "viewer", "--no-password")
        r = admin.get("/api/v1/audit/?entity=account&limit=1")
        top = r.json()[0] if r.status == 200 and r.json() else {}
        check("meditrack user add: the row names the command line as actor",
              rc == 0 and top.get("actor") == "cli" and top.get("actor_id") is None and
              (top.get("after") or {}).get("login") == "fromcli", (rc, out, top))
    finally:
        srv.stop()


# ---- tampering -------------------------------------------------------------------------------

def meditrack(url, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("ENV_FILE",)}
    env.update({"DATABASE_URL": url, "ENV_FILE": "/dev/null", "LOG_LEVEL": "warning"})
    r = subprocess.run([apilib.MEDITRACK, *args], env=env, cwd=apilib.TMP, capture_output=True,
                       text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def verify(url, name, want_rc, want_text=None, args=()):
    rc, out = meditrack(url, "audit", "verify", *args)
    ok = rc == want_rc and (want_text is None or want_text in out)
    check(f"verify: {name}: exit {want_rc}" + (f", says {want_text!r}" if want_text else ""), ok,
          f"exit {rc}: {out.strip()}")
    return out


def set_hash(url, seq, value):
    sql(url, f"UPDATE audit_log SET hash = '{value}' WHERE seq = {seq}")


def tampering():
    srv = apilib.Server("t092t")
    try:
        pid = apilib.person(srv, "Tamper")["id"]
        med = medication(srv, pid, "Tamper", 20)["id"]
        for _ in range(6):
            record_now(srv, med)
    finally:
        srv.stop()
    url = srv.url
    n = len(db_rows(url))
    check("tamper: a trail of 8 rows", n == 8, n)
    out = verify(url, "the intact chain", 0, "audit trail holds: 8 rows")
    rc, anchor = meditrack(url, "audit", "head")
    anchor = anchor.strip()
    check("head: SEQ:HASH of the last row", rc == 0 and anchor.startswith("8:") and
          len(anchor) == 66, anchor)

    # An edited row.
    sql(url, "UPDATE audit_log SET after_json = REPLACE(after_json, 'Tamper', 'Temper') "
             "WHERE seq = 2")
    verify(url, "an edited row", 1, "broken at row 2: row 2 was altered")
    sql(url, "UPDATE audit_log SET after_json = REPLACE(after_json, 'Temper', 'Tamper') "
             "WHERE seq = 2")
    verify(url, "edited back", 0)

    # An edited row whose own hash was recomputed: the next row no longer
    # links to it.
    rows = db_rows(url)
    row = dict(rows[3])
    old_hash = row["hash"]
    row["after_json"] = row["after_json"].replace('"taken"', '"skipped"')
    sql(url, "UPDATE audit_log SET after_json = REPLACE(after_json, '\"taken\"', '\"skipped\"') "
             "WHERE seq = 4")
    set_hash(url, 4, canonical_hash(row, rows[2]["hash"]))
    verify(url, "an edited row with a recomputed hash", 1, "broken at row 4: row 4 was altered")
    sql(url, "UPDATE audit_log SET after_json = REPLACE(after_json, '\"skipped\"', '\"taken\"') "
             "WHERE seq = 4")
    set_hash(url, 4, old_hash)
    verify(url, "restored", 0)

    # Two rows swapped.
    sql(url, "UPDATE audit_log SET seq = 100 WHERE seq = 5")
    sql(url, "UPDATE audit_log SET seq = 5 WHERE seq = 6")
    sql(url, "UPDATE audit_log SET seq = 6 WHERE seq = 100")
    verify(url, "two rows swapped", 1, "broken at row 5: row 5 does not match its hash")
    sql(url, "UPDATE audit_log SET seq = 100 WHERE seq = 5")
    sql(url, "UPDATE audit_log SET seq = 5 WHERE seq = 6")
    sql(url, "UPDATE audit_log SET seq = 6 WHERE seq = 100")
    verify(url, "swapped back", 0)

    # The head record.
    sql(url, f"UPDATE audit_head SET hash = '{'1' * 64}'")
    verify(url, "an edited head record", 1, "the head record (audit_head) was altered")
    sql(url, f"UPDATE audit_head SET hash = '{anchor[2:]}'")
    verify(url, "head restored", 0)

    # A deleted row, then the last rows.
    saved = sql(url, "SELECT COUNT(*) FROM audit_log")
    sql(url, "DELETE FROM audit_log WHERE seq = 3")
    verify(url, "a deleted row", 1, "broken at row 3: row 3 is missing (removed)")
    sql(url, "DELETE FROM audit_log WHERE seq >= 7")
    verify(url, "deleted last rows (only the head record still knows)", 1,
           "broken at row 3: row 3 is missing")
    check("tamper: rows really gone", int(saved[0][0]) - 3 ==
          int(sql(url, "SELECT COUNT(*) FROM audit_log")[0][0]))

    # A whole chain rewritten after a deletion holds on its own; the anchor
    # exported before catches it.
    rows = db_rows(url)
    prev = GENESIS
    for i, row in enumerate(rows, 1):
        old_seq = row["seq"]
        row["seq"] = str(i)
        new_hash = canonical_hash(row, prev)
        sql(url, f"UPDATE audit_log SET seq = {i}, prev_hash = '{prev}', hash = '{new_hash}' "
                 f"WHERE seq = {old_seq}")
        prev = new_hash
    sql(url, f"UPDATE audit_head SET seq = {len(rows)}, hash = '{prev}'")
    verify(url, "a rewritten chain holds on its own (documented limit)", 0,
           f"audit trail holds: {len(rows)} rows")
    verify(url, "but not against the anchor kept elsewhere", 1, "broken at row 8",
           args=("--anchor", anchor))
    rc, out = meditrack(url, "audit", "verify", "--anchor", "8:xyz")
    check("verify: a malformed anchor is exit 2", rc == 2, out)
    rc, out = meditrack(url, "audit", "check")
    check("verify: an unknown sub-command is exit 2", rc == 2, out)
    fresh = apilib.fresh_db("t092e")
    rc, out = meditrack(fresh, "audit", "verify")
    check("verify: a database without the trail (not migrated) is exit 4", rc == 4, out)


if __name__ == "__main__":
    main()
