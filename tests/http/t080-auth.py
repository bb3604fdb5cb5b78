#!/usr/bin/env python3
"""Access control (issue 14, docs/auth.md) against the real `meditrack
serve` with AUTH=on, over real HTTP, on the dialect in MT_TEST_DIALECT:
401 with WWW-Authenticate and a JSON detail; the setup token works once;
sign-in, /me, sign-out; sessions listed and revoked; a password change
ends the other sessions; every operation of /openapi.json for every role
(and a read token) against the permission table below; a carer of person
A gets 404 for B's person, medications, doses, summary and reports and
sees only A in lists; a read token cannot write; expired or revoked
tokens and sessions are refused; the proxy header is honoured from a
trusted peer and ignored from another; the CSRF rule; the eleventh wrong
password in a row is throttled (429 + Retry-After), with the same answer
for an unknown or disabled account; the stored hash is argon2id; the
health report is for administrators. Also AUTH=off: no trace of access
control. Last line "N passed, N failed"."""

import concurrent.futures
import ctypes
import ctypes.util
import json
import socket
import statistics
import time

import apilib
import authlib
from apilib import check, expect, report
from authlib import Client

# What each role may do (docs/auth.md); a read token caps any role at READ,
# and makes no change at all (no SELF write either).
ROLE_ALLOWS = {
    "admin": {"PUBLIC", "SELF", "READ", "RECORD", "MANAGE", "ADMIN"},
    "carer": {"PUBLIC", "SELF", "READ", "RECORD", "MANAGE"},
    "viewer": {"PUBLIC", "SELF", "READ"},
    "viewer+read-token": {"PUBLIC", "SELF", "READ"},
    "admin+read-token": {"PUBLIC", "SELF", "READ"},
    "carer+write-token": {"PUBLIC", "SELF", "READ", "RECORD", "MANAGE"},
}
# The permission of each operation, as the issue's table assigns them. The
# document's x-permission must say the same.
EXPECTED_PERM = {
    "health": "PUBLIC", "health_check": "PUBLIC",
    "get_persons": "READ", "get_person": "READ", "create_person": "ADMIN",
    "update_person": "ADMIN", "delete_person": "ADMIN", "set_default_person": "ADMIN",
    "get_medications": "READ", "get_medication": "READ", "create_medication": "MANAGE",
    "update_medication": "MANAGE", "delete_medication": "MANAGE",
    "record_dose": "RECORD", "record_dose_for_date": "RECORD", "delete_dose": "RECORD",
    "get_doses": "READ", "get_doses_by_date": "READ", "get_daily_summary": "READ",
    "get_daily_summary_by_date": "READ", "get_deleted_medication_doses": "READ",
    "generate_medication_pdf": "READ", "export_doses_csv": "READ", "export_doses_json": "READ",
    "auth_status": "PUBLIC", "auth_setup": "PUBLIC", "auth_login": "PUBLIC",
    "auth_logout": "PUBLIC", "auth_me": "SELF", "auth_password": "SELF",
    "auth_sessions": "SELF", "auth_session_delete": "SELF", "auth_tokens": "SELF",
    "auth_token_create": "SELF", "auth_token_revoke": "SELF",
    "get_accounts": "ADMIN", "create_account": "ADMIN", "get_account": "ADMIN",
    "update_account": "ADMIN", "delete_account": "ADMIN", "get_tokens": "ADMIN",
    "revoke_token": "ADMIN",
    "export_record": "ADMIN", "import_record": "ADMIN", "person_fhir_bundle": "READ",
    "skip_dose": "RECORD", "correct_dose": "RECORD", "dose_entered_in_error": "RECORD",
    "get_ingredient_limits": "READ", "set_ingredient_limit": "MANAGE",
    "delete_ingredient_limit": "MANAGE", "get_audit_trail": "ADMIN",
    "get_due": "READ", "get_adherence": "READ", "create_calendar_token": "MANAGE",
    "revoke_calendar_token": "MANAGE", "get_calendar_feed": "PUBLIC",
    # Reminders (docs/reminders.md): a channel's delete and test check
    # MANAGE for a person's channel, ownership for an account's, inside.
    "get_person_channels": "MANAGE", "create_person_channel": "MANAGE",
    "get_my_channels": "SELF", "create_my_channel": "SELF", "delete_channel": "READ",
    "test_channel": "READ", "get_reminder_settings": "READ", "put_reminder_settings": "MANAGE",
    "get_notifications": "READ", "snooze_reminder": "PUBLIC",
    # The due list's snooze: who may record the person's doses.
    "snooze_person_reminder": "RECORD",
}
PATH_VALUES = {"date": "2026-01-02", "medication_name": "nothing-such"}


def concrete(path):
    """A path of the document with every parameter filled: ids that do not
    exist (so that an allowed call changes nothing), a date, a name."""
    out = path
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        name = out[start + 1:end]
        out = out[:start] + PATH_VALUES.get(name, "999999") + out[end + 1:]
    return out


def section(title):
    print(f"# {title}")


def main():
    s = apilib.Server("t080", env=authlib.auth_env(
        TRUSTED_PROXIES="127.0.0.1/32, ::1", AUTH_PROXY_HEADER="Remote-User",
        AUTH_PROXY_GROUPS_HEADER="Remote-Groups", AUTH_PROXY_CARER_GROUP="carers",
        SESSION_IDLE_TIMEOUT="3600"))
    anon = Client(s)
    try:
        run(s, anon)
    finally:
        s.stop()
    log = s.log_text()
    check("log: never a password", authlib.ADMIN_PASSWORD not in log and
          "a long password 1" not in log)
    check("log: never a session or API token", "mts_" not in log and "mtt_" not in log)
    check("log: sign-in events", "auth: sign-in ok login=carer" in log and
          "auth: sign-in failed login=victim" in log and "auth: locked login=victim" in log)
    check("log: token and account events", "auth: token created id=" in log and
          "auth: token revoked id=" in log and "auth: account created login=carer" in log)
    auth_off()
    report()


def run(s, anon):
    section("anonymous")
    r = anon.get("/api/v1/persons/")
    expect("anonymous GET persons", r, 401, {"detail": "Not authenticated"})
    check("401 has WWW-Authenticate Bearer", r.headers.get("www-authenticate") ==
          'Bearer realm="meditrack"', repr(r.headers))
    check("401 is JSON", r.headers.get("content-type", "").startswith("application/json"))
    r = anon.get("/api/v1/auth/status")
    expect("status before setup", r, 200, {"auth": True, "setup_required": True,
                                           "account": None, "csrf_header": "X-Requested-With"})
    expect("GET /health stays public", anon.get("/health"), 200)
    r = anon.get("/api/v1/health")
    check("anonymous /api/v1/health: status only", r.status == 200 and
          r.json() == {"status": "healthy"}, repr(r))
    r = anon.get("/api/v1/persons/", headers={"Authorization": "Bearer mtt_nonsense"})
    expect("malformed bearer", r, 401, {"detail": "Not authenticated"})
    r = anon.get("/api/v1/persons/", headers={"Cookie": "meditrack_session=mts_" + "A" * 43})
    expect("unknown session cookie", r, 401)

    section("setup token")
    tok = authlib.setup_token(s)
    check("the log shows a setup token", tok is not None)
    r = anon.post("/api/v1/auth/setup", {"setup_token": "mtsetup_" + "x" * 43,
                                         "username": "admin", "password": "0123456789"})
    expect("setup with a wrong token", r, 400, {"detail": "Invalid or expired setup token"})
    r = anon.post("/api/v1/auth/setup", {"setup_token": tok, "username": "admin",
                                         "password": "short"})
    check("setup with a short password: 400", r.status == 400, repr(r))
    r = anon.post("/api/v1/auth/setup", {"setup_token": tok, "username": "admin",
                                         "password": authlib.ADMIN_PASSWORD,
                                         "display_name": "The Admin"})
    expect("setup", r, 201)
    acc = r.json() or {}
    check("setup: an administrator", acc.get("role") == "admin" and
          acc.get("username") == "admin" and acc.get("display_name") == "The Admin" and
          acc.get("has_password") is True, repr(r))
    check("setup: Account keys", list(acc) == ["id", "username", "display_name", "role",
                                               "enabled", "person_id", "persons",
                                               "has_password", "created_at", "updated_at"],
          list(acc))
    sc = r.headers.get("set-cookie", "")
    check("setup: session cookie flags", sc.startswith("meditrack_session=mts_") and
          "; Path=/" in sc and "; HttpOnly" in sc and "; SameSite=Lax" in sc and
          "Max-Age=2592000" in sc and "Secure" not in sc, sc)
    admin = Client(s, cookie=authlib.cookie_of(r))
    r = anon.post("/api/v1/auth/setup", {"setup_token": tok, "username": "other",
                                         "password": authlib.ADMIN_PASSWORD})
    expect("setup token works once", r, 409, {"detail": "Setup is already complete"})
    r = anon.get("/api/v1/auth/status")
    check("status after setup", r.json() == {"auth": True, "setup_required": False,
                                             "account": None,
                                             "csrf_header": "X-Requested-With"}, repr(r))
    r = admin.get("/api/v1/auth/me")
    check("me with the setup session", r.status == 200 and
          r.json().get("auth_method") == "session" and r.json().get("username") == "admin",
          repr(r))
    hashed = authlib.sql(s.url, "SELECT password_hash FROM accounts WHERE login = 'admin'")
    check("stored hash starts with $argon2id$", hashed.startswith("$argon2id$"), hashed[:20])
    r = admin.get("/api/v1/health")
    check("admin /api/v1/health: the full report", r.status == 200 and
          "components" in (r.json() or {}), repr(r))

    section("CSRF")
    body = {"first_name": "Ann"}
    r = s.post("/api/v1/persons/", body, headers={"Cookie": f"meditrack_session={admin.cookie}",
                                                   "X-Requested-With": "MediTrack",
                                                   "Origin": "http://evil.example"})
    expect("cross-origin POST with a valid cookie", r, 403,
           {"detail": "Cross-site request refused"})
    r = s.post("/api/v1/persons/", body, headers={"Cookie": f"meditrack_session={admin.cookie}",
                                                   "Origin": f"http://127.0.0.1:{s.port}"})
    expect("same-origin POST without X-Requested-With", r, 403)
    r = s.post("/api/v1/persons/", body, headers={"Cookie": f"meditrack_session={admin.cookie}",
                                                   "X-Requested-With": "MediTrack"})
    expect("POST without Origin or Referer", r, 403)
    r = s.post("/api/v1/persons/", body, headers={
        "Cookie": f"meditrack_session={admin.cookie}", "X-Requested-With": "MediTrack",
        "Referer": f"http://127.0.0.1:{s.port}/persons"})
    expect("same-origin by Referer", r, 201)
    pa = r.json()["id"]
    r = admin.post("/api/v1/persons/", {"first_name": "Ben"})
    expect("same-origin with the header", r, 201)
    pb = r.json()["id"]

    section("data of A and B")
    ma = admin.post("/api/v1/medications/", {"person_id": pa, "name": "A-med", "dosage": "1",
                                             "frequency": "daily",
                                             "max_doses_per_day": 5}).json()["id"]
    mb = admin.post("/api/v1/medications/", {"person_id": pb, "name": "B-med", "dosage": "1",
                                             "frequency": "daily",
                                             "max_doses_per_day": 5}).json()["id"]
    da = admin.post(f"/api/v1/doses/medications/{ma}/dose").json()["id"]
    db = admin.post(f"/api/v1/doses/medications/{mb}/dose").json()["id"]
    gone = admin.post("/api/v1/medications/", {"person_id": pb, "name": "B-gone", "dosage": "1",
                                               "frequency": "daily",
                                               "max_doses_per_day": 5}).json()["id"]
    admin.post(f"/api/v1/doses/medications/{gone}/dose")
    expect("delete B's medication (history kept)", admin.delete(f"/api/v1/medications/{gone}"),
           204)

    section("accounts")
    carer_acc = authlib.make_account(admin, "carer", "carer", persons=[pa])
    check("carer granted A", carer_acc.get("persons") == [pa], repr(carer_acc))
    authlib.make_account(admin, "viewer", "viewer", persons=[pa])
    authlib.make_account(admin, "victim", "viewer", persons=[pa])
    r = admin.post("/api/v1/accounts/", {"username": "carer", "role": "viewer"})
    expect("a login is taken once", r, 409)
    r = admin.post("/api/v1/accounts/", {"username": "x", "role": "boss"})
    check("a role outside the choices: 422 literal_error", r.status == 422 and
          r.json()["detail"][0]["type"] == "literal_error", repr(r))
    r = admin.get("/api/v1/accounts/")
    check("accounts listed", r.status == 200 and
          [a["username"] for a in r.json()] == ["admin", "carer", "victim", "viewer"], repr(r))

    carer, r = authlib.login(s, "carer", "a long password 1")
    expect("carer signs in", r, 200)
    check("sign-in answers the Account", (r.json() or {}).get("role") == "carer", repr(r))
    viewer, _ = authlib.login(s, "viewer", "a long password 1")
    r = carer.get("/api/v1/auth/me")
    check("carer /me", r.status == 200 and r.json()["role"] == "carer" and
          r.json()["persons"] == [pa], repr(r))

    section("tokens")
    admin_read = authlib.make_token(admin, "read", name="admin read")
    check("a new token is shown once, with its prefix", admin_read["token"].startswith("mtt_") and
          admin_read["token"].startswith(admin_read["prefix"]) and
          len(admin_read["prefix"]) == 12, repr(admin_read))
    r = admin.get("/api/v1/auth/tokens/")
    check("token list has no secret", r.status == 200 and
          all("token" not in t for t in r.json()) and len(r.json()) == 1, repr(r))
    carer_write = authlib.make_token(carer, "write", name="carer write")
    carer_read = authlib.make_token(carer, "read", name="carer read")
    viewer_read = authlib.make_token(viewer, "read", name="viewer read")
    r = viewer.post("/api/v1/auth/tokens/", {"name": "w", "scope": "write"})
    check("a viewer cannot make a write token", r.status == 400, repr(r))
    r = Client(s, token=carer_read["token"]).post("/api/v1/auth/tokens/",
                                                    {"name": "w", "scope": "write"})
    expect("a read token cannot make tokens (it changes nothing)", r, 403,
           {"detail": "Not enough permissions"})
    r = Client(s, token=carer_write["token"]).post("/api/v1/auth/tokens/",
                                                     {"name": "w", "scope": "read"})
    expect("a token cannot make tokens (not even a weaker one)", r, 403,
           {"detail": "API tokens cannot create tokens: sign in to create one"})
    r = admin.post("/api/v1/auth/tokens/", {"name": "one", "scope": "admin", "person_id": pa})
    check("an admin token for one person is refused", r.status == 400, repr(r))
    admin_token = authlib.make_token(admin, "admin", name="admin all")
    r = Client(s, token=carer_read["token"]).get("/api/v1/persons/")
    check("a read token reads", r.status == 200, repr(r))
    r = Client(s, token=carer_read["token"]).post(f"/api/v1/doses/medications/{ma}/dose")
    expect("a read token cannot write", r, 403, {"detail": "Not enough permissions"})
    r = Client(s, token=carer_write["token"]).post(f"/api/v1/doses/medications/{ma}/dose")
    expect("a write token records", r, 201)
    r = Client(s, token=carer_write["token"]).get("/api/v1/auth/me")
    check("/me by token", r.status == 200 and r.json()["auth_method"] == "token", repr(r))

    # Sessions (with the UI's CSRF headers) and tokens of each role.
    matrix(s, anon, {
        "admin": Client(s, token=admin_token["token"]),
        "carer": carer,
        "viewer": viewer,
        "viewer+read-token": Client(s, token=viewer_read["token"]),
        "admin+read-token": Client(s, token=admin_read["token"]),
        "carer+write-token": Client(s, token=carer_write["token"]),
    })
    scoping(s, admin, carer, viewer, pa, pb, ma, mb, da, db)
    admin = sessions_and_passwords(s, admin, carer)
    expiry(s, admin)
    proxy(s)
    throttle(s, admin)
    rehash(s, admin)


def matrix(s, anon, clients):
    section("every operation x every role")
    doc = anon.get("/openapi.json").json()
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ops.append((method.upper(), path, op))
    check("the document has every operation of the table",
          sorted(o[2]["operationId"] for o in ops) == sorted(EXPECTED_PERM), 
          f"{sorted(o[2]['operationId'] for o in ops)}")
    schemes = doc.get("components", {}).get("securitySchemes", {})
    check("security schemes: cookie and bearer",
          schemes.get("sessionCookie", {}).get("in") == "cookie" and
          schemes.get("bearerToken", {}).get("scheme") == "bearer", repr(schemes))
    for method, path, op in ops:
        oid = op["operationId"]
        perm = op.get("x-permission")
        check(f"{oid}: permission {perm} as the table says", perm == EXPECTED_PERM.get(oid),
              f"want {EXPECTED_PERM.get(oid)}")
        body = {} if "requestBody" in op else None
        target = concrete(path)
        if oid in ("auth_logout",):
            continue  # would end the caller's session; covered below
        r = anon.request(method, target, body)
        if perm == "PUBLIC":
            check(f"anonymous {method} {path}: not refused", r.status not in (401, 403), repr(r))
        else:
            check(f"anonymous {method} {path}: 401", r.status == 401, repr(r))
        for role, client in clients.items():
            r = client.request(method, target, body)
            # A read token reads: it changes nothing, not even its own account.
            read_only = (role.endswith("+read-token") and perm != "PUBLIC" and
                         method not in ("GET", "HEAD"))
            if perm in ROLE_ALLOWS[role] and not read_only:
                check(f"{role} {method} {path}: allowed", r.status not in (401, 403), repr(r))
            else:
                check(f"{role} {method} {path}: 403", r.status == 403 and
                      r.json() == {"detail": "Not enough permissions"}, repr(r))


def scoping(s, admin, carer, viewer, pa, pb, ma, mb, da, db):
    section("a carer of A")
    r = carer.get("/api/v1/persons/")
    check("persons list: A only", r.status == 200 and [p["id"] for p in r.json()] == [pa],
          repr(r))
    expect("B's person", carer.get(f"/api/v1/persons/{pb}"), 404,
           {"detail": "Person not found"})
    expect("A's person", carer.get(f"/api/v1/persons/{pa}"), 200)
    r = carer.get("/api/v1/medications/")
    check("medications list: A's only", r.status == 200 and
          [m["id"] for m in r.json()] == [ma], repr(r))
    r = carer.get(f"/api/v1/medications/?person_id={pb}")
    check("medications of B: empty", r.status == 200 and r.json() == [], repr(r))
    for method, path, body in [
            ("GET", f"/api/v1/medications/{mb}", None),
            ("PUT", f"/api/v1/medications/{mb}", {"name": "x"}),
            ("DELETE", f"/api/v1/medications/{mb}", None),
            ("POST", f"/api/v1/doses/medications/{mb}/dose", None),
            ("POST", f"/api/v1/doses/medications/{mb}/dose/2026-01-01?time=08:00", None),
            ("GET", f"/api/v1/doses/medications/{mb}/doses", None),
            ("GET", f"/api/v1/doses/medications/{mb}/doses/2026-01-01", None)]:
        expect(f"{method} B's medication", carer.request(method, path, body), 404,
               {"detail": "Medication not found"})
    r = carer.post("/api/v1/medications/", {"person_id": pb, "name": "x", "dosage": "1",
                                            "frequency": "daily", "max_doses_per_day": 1})
    expect("a medication for B", r, 404, {"detail": "Person not found"})
    expect("B's dose", carer.delete(f"/api/v1/doses/{db}"), 404, {"detail": "Dose not found"})
    r = carer.get("/api/v1/doses/daily-summary")
    names = [e["medication_name"] for e in (r.json() or {}).get("medications", [])]
    check("summary: A's only", r.status == 200 and names == ["A-med"], repr(r))
    r = carer.get(f"/api/v1/doses/daily-summary?person_id={pb}")
    check("summary of B: empty", r.status == 200 and r.json()["medications"] == [], repr(r))
    r = admin.get("/api/v1/doses/daily-summary")
    names = sorted(e["medication_name"] for e in r.json()["medications"])
    check("admin's summary: everyone's", names == ["A-med", "B-gone (deleted)", "B-med"],
          repr(names))
    expect("B's deleted medication's doses", carer.get(
        "/api/v1/doses/deleted-medications/by-name/B-gone/doses"), 404)
    expect("admin sees them", admin.get("/api/v1/doses/deleted-medications/by-name/B-gone/doses"),
           200)
    today = apilib.utc_today()
    for path in [f"/api/v1/reports/medications/pdf/{today}?person_id={pb}",
                 f"/api/v1/reports/doses.csv?person_id={pb}&from={today}&to={today}",
                 f"/api/v1/reports/doses.json?person_id={pb}&from={today}&to={today}"]:
        expect(f"report of B ({path.split('?')[0].rsplit('/', 1)[1]})", carer.get(path), 404,
               {"detail": "Person not found"})
    expect("FHIR bundle of B", carer.get(f"/api/v1/persons/{pb}/fhir"), 404,
           {"detail": "Person not found"})
    r = carer.get(f"/api/v1/persons/{pa}/fhir")
    check("FHIR bundle of A", r.status == 200 and (r.json() or {}).get("resourceType") == "Bundle",
          repr(r))
    r = carer.get(f"/api/v1/reports/doses.json?person_id={pa}&from={today}&to={today}")
    check("report of A", r.status == 200 and r.json()["person_id"] == pa, repr(r))
    r = carer.get(f"/api/v1/reports/medications/pdf/{today}")
    check("household form: allowed (A's medications only)", r.status in (200, 503), repr(r))
    expect("carer deletes A's dose", carer.delete(f"/api/v1/doses/{da}"), 204)
    r = viewer.get("/api/v1/persons/")
    check("viewer lists A only", r.status == 200 and [p["id"] for p in r.json()] == [pa])
    expect("viewer cannot record", viewer.post(f"/api/v1/doses/medications/{ma}/dose"), 403)
    expect("carer cannot create persons", carer.post("/api/v1/persons/", {"first_name": "C"}),
           403)
    r = carer.get("/api/v1/accounts/")
    expect("carer cannot list accounts", r, 403)


def sessions_and_passwords(s, admin, carer):
    section("sessions")
    admin2, r = authlib.login(s, "admin", authlib.ADMIN_PASSWORD)
    expect("admin signs in again", r, 200)
    r = admin2.get("/api/v1/auth/sessions/")
    items = r.json() or []
    check("two sessions, the current one marked", r.status == 200 and len(items) == 2 and
          [x["current"] for x in items].count(True) == 1, repr(r))
    check("session keys", items and list(items[0]) == ["id", "created_at", "last_seen_at",
                                                       "expires_at", "user_agent", "address",
                                                       "current"], repr(items[:1]))
    other = [x["id"] for x in items if not x["current"]]
    expect("revoke the other session", admin2.delete(f"/api/v1/auth/sessions/{other[0]}"), 204)
    expect("the revoked session is refused", admin.get("/api/v1/auth/me"), 401)
    expect("revoke it twice", admin2.delete(f"/api/v1/auth/sessions/{other[0]}"), 404)

    section("password change")
    carer2, _ = authlib.login(s, "carer", "a long password 1")
    r = carer.post("/api/v1/auth/password", {"current_password": "wrong password!",
                                             "new_password": "another long password"})
    check("wrong current password: 400", r.status == 400, repr(r))
    r = carer.post("/api/v1/auth/password", {"current_password": "a long password 1",
                                             "new_password": "another long password"})
    expect("password changed", r, 204)
    expect("the other session ended", carer2.get("/api/v1/auth/me"), 401)
    expect("this session goes on", carer.get("/api/v1/auth/me"), 200)
    _, r = authlib.login(s, "carer", "a long password 1")
    expect("the old password is refused", r, 401)
    carer3, r = authlib.login(s, "carer", "another long password")
    expect("the new password signs in", r, 200)

    section("sign-out")
    r = carer3.post("/api/v1/auth/logout")
    expect("logout", r, 204)
    check("logout clears the cookie", "Max-Age=0" in r.headers.get("set-cookie", ""),
          r.headers.get("set-cookie"))
    expect("the session is gone", carer3.get("/api/v1/auth/me"), 401)
    return admin2


def expiry(s, admin):
    section("expired and revoked tokens and sessions")
    t = authlib.make_token(admin, "read", name="soon expired")
    c = Client(s, token=t["token"])
    expect("token works", c.get("/api/v1/persons/"), 200)
    authlib.sql(s.url, f"UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00' "
                       f"WHERE id = {t['id']}")
    time.sleep(1.2)
    expect("expired token refused", c.get("/api/v1/persons/"), 401)
    t = authlib.make_token(admin, "read", name="revoked")
    c = Client(s, token=t["token"])
    expect("token works", c.get("/api/v1/persons/"), 200)
    expect("revoke", admin.delete(f"/api/v1/auth/tokens/{t['id']}"), 204)
    expect("revoked token refused at once", c.get("/api/v1/persons/"), 401)
    r = admin.get("/api/v1/auth/tokens/")
    check("a revoked token is listed with revoked_at", any(
        x["id"] == t["id"] and x["revoked_at"] for x in r.json()), repr(r))
    t = authlib.make_token(admin, "read", name="revoked by admin list")
    expect("admin revokes any token", admin.delete(f"/api/v1/tokens/{t['id']}"), 204)
    expect("refused", Client(s, token=t["token"]).get("/api/v1/persons/"), 401)

    victim_session, _ = authlib.login(s, "admin", authlib.ADMIN_PASSWORD)
    sid = [x["id"] for x in victim_session.get("/api/v1/auth/sessions/").json()
           if x["current"]][0]
    authlib.sql(s.url, f"UPDATE auth_sessions SET expires_at = '2000-01-01 00:00:00' "
                       f"WHERE id = {sid}")
    time.sleep(1.2)
    expect("expired session refused", victim_session.get("/api/v1/auth/me"), 401)


def proxy(s):
    section("trusted proxy")
    _, r = authlib.login(s, "admin", authlib.ADMIN_PASSWORD)
    check("plain HTTP: the cookie is not Secure", r.status == 200 and
          "Secure" not in r.headers.get("set-cookie", ""), repr(r.headers))
    r = s.post("/api/v1/auth/login", {"username": "admin", "password": authlib.ADMIN_PASSWORD},
               headers={"X-Forwarded-Proto": "https"})
    check("HTTPS at a trusted proxy: the cookie is Secure", r.status == 200 and
          r.headers.get("set-cookie", "").endswith("; Secure"), repr(r.headers))
    secure = authlib.cookie_of(r)
    h = {"Cookie": f"meditrack_session={secure}", "X-Requested-With": "MediTrack",
         "X-Forwarded-Proto": "https", "X-Forwarded-Host": "meds.example"}
    r = s.post("/api/v1/persons/", {"first_name": "Via proxy"},
               headers=dict(h, Origin="https://meds.example"))
    expect("CSRF behind the proxy: its scheme and host are the origin", r, 201)
    r = s.post("/api/v1/persons/", {"first_name": "Via proxy"},
               headers=dict(h, Origin="http://meds.example"))
    expect("... and http:// is another origin", r, 403)
    # Two X-Forwarded-For lines (a proxy that adds its own line rather than
    # appending to the client's): they are one list, so the client's forged
    # first line is not believed. The session records the address used.
    body = json.dumps({"username": "admin", "password": authlib.ADMIN_PASSWORD}).encode()
    raw = (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n"
           "Content-Type: application/json\r\nX-Forwarded-For: 203.0.113.9\r\n"
           "X-Forwarded-For: 198.51.100.7\r\nConnection: close\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    cookie = next((line.split(":", 1)[1].split(";")[0].strip().split("=", 1)[1]
                   for line in head.split("\r\n") if line.lower().startswith("set-cookie:")), "")
    r = s.get("/api/v1/auth/sessions/", headers={"Cookie": f"meditrack_session={cookie}"})
    mine = [x for x in (r.json() if r.status == 200 else []) if x.get("current")]
    check("repeated X-Forwarded-For lines are one list: the proxy's last line wins",
          len(mine) == 1 and mine[0]["address"] == "198.51.100.7", repr(r))
    r = s.get("/api/v1/auth/me", headers={"Remote-User": "viewer"})
    check("proxy header from a trusted peer", r.status == 200 and
          r.json()["username"] == "viewer" and r.json()["auth_method"] == "proxy", repr(r))
    r = s.post("/api/v1/doses/medications/1/dose", headers={"Remote-User": "viewer"})
    expect("proxy user keeps the account's role", r, 403)
    # The proxy adds its header to whatever its sign-on cookie comes with,
    # cross-site requests too: the CSRF rule applies as for sessions.
    ph = {"Remote-User": "admin", "X-Forwarded-Proto": "https",
          "X-Forwarded-Host": "meds.example"}
    r = s.post("/api/v1/persons/", {"first_name": "Cross-site"}, headers=ph)
    expect("proxy sign-in: an unsafe request without the custom header is refused", r, 403,
           {"detail": "Cross-site request refused"})
    r = s.post("/api/v1/persons/", {"first_name": "Cross-site"},
               headers=dict(ph, **{"X-Requested-With": "MediTrack",
                                   "Origin": "https://evil.example"}))
    expect("... and one from another origin", r, 403)
    r = s.post("/api/v1/persons/", {"first_name": "Same site"},
               headers=dict(ph, **{"X-Requested-With": "MediTrack",
                                   "Origin": "https://meds.example"}))
    expect("... a same-origin one with the header passes", r, 201)
    r = s.get("/api/v1/auth/me", headers={"Remote-User": "newcomer", "Remote-Groups": "x,carers"})
    check("a mapped group makes an account", r.status == 200 and r.json()["role"] == "carer" and
          r.json()["has_password"] is False, repr(r))
    r = s.get("/api/v1/auth/me", headers={"Remote-User": "stranger"})
    expect("an unknown proxy user without a mapped group", r, 401)
    # A server that trusts only another network ignores the header.
    u = apilib.Server("t080-untrusted", env=authlib.auth_env(
        DATABASE_URL=s.url, TRUSTED_PROXIES="10.0.0.0/8", AUTH_PROXY_HEADER="Remote-User"),
        migrate=False)
    try:
        r = u.get("/api/v1/auth/me", headers={"Remote-User": "admin"})
        expect("proxy header from an untrusted peer is ignored", r, 401)
        r = u.get("/api/v1/persons/", headers={"Remote-User": "admin",
                                               "X-Forwarded-For": "10.1.1.1"})
        expect("... also with X-Forwarded-For", r, 401)
    finally:
        u.stop()


def timed_login(s, username, password):
    t0 = time.monotonic()
    r = s.post("/api/v1/auth/login", {"username": username, "password": password})
    return r, time.monotonic() - t0


def throttle(s, admin):
    section("sign-in failures")
    answers, unknown_t, wrong_t = set(), [], []
    for i in range(3):
        r, t = timed_login(s, f"nobody{i}", "some password 123")
        answers.add((r.status, r.text()))
        unknown_t.append(t)
        r, t = timed_login(s, "viewer", f"wrong password {i}")
        answers.add((r.status, r.text()))
        wrong_t.append(t)
    r = admin.patch("/api/v1/accounts/" + str(
        [a for a in admin.get("/api/v1/accounts/").json() if a["username"] == "viewer"][0]["id"]),
        {"enabled": False})
    check("disable an account", r.status == 200 and r.json()["enabled"] is False, repr(r))
    r, _ = timed_login(s, "viewer", "a long password 1")
    answers.add((r.status, r.text()))
    check("unknown, wrong and disabled: one answer",
          answers == {(401, '{"detail":"Invalid username or password"}')}, repr(answers))
    ratio = statistics.median(unknown_t) / statistics.median(wrong_t)
    check(f"unknown and wrong cost alike (median ratio {ratio:.2f})", 0.33 < ratio < 3)

    for i in range(10):
        r, _ = timed_login(s, "victim", f"guess {i} of ten")
        if r.status != 401:
            break
    check("ten wrong passwords: each 401", r.status == 401, repr(r))
    r, _ = timed_login(s, "victim", "guess eleven!")
    check("the eleventh is throttled: 429 + Retry-After", r.status == 429 and
          r.headers.get("retry-after", "").isdigit() and
          int(r.headers["retry-after"]) >= 1, repr(r) + repr(r.headers))
    r, _ = timed_login(s, "victim", "a long password 1")
    check("while locked even the right password gets 429", r.status == 429, repr(r))
    time.sleep(int(r.headers.get("retry-after", "1")) + 0.2)
    r, _ = timed_login(s, "victim", "a long password 1")
    check("after the lock the right password signs in", r.status == 200, repr(r))

    # The moment a lock ends, many guesses at once get one check, not one
    # each: the attempt is claimed in the database before the password is.
    for i in range(10):
        timed_login(s, "racer", f"guess {i} of ten")
    r, _ = timed_login(s, "racer", "one more guess")
    check("racer: locked after ten", r.status == 429, repr(r))
    time.sleep(int(r.headers.get("retry-after", "1")) + 0.3)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = sorted(f.result()[0].status for f in
                     [pool.submit(timed_login, s, "racer", f"parallel guess {i}") for i in range(8)])
    check("8 guesses at once when the lock ends: one is checked (401), 7 wait (429)",
          got == [401] + [429] * 7, repr(got))


def weak_hash(password):
    """An argon2id hash with OWASP's minimum parameters (m=19 MiB, t=2),
    not this version's, made with libsodium as the server would."""
    lib = ctypes.CDLL(ctypes.util.find_library("sodium"))
    lib.sodium_init()
    out = ctypes.create_string_buffer(128)
    pw = password.encode()
    rc = lib.crypto_pwhash_argon2id_str(out, pw, ctypes.c_ulonglong(len(pw)),
                                        ctypes.c_ulonglong(2), ctypes.c_size_t(19 * 1024 * 1024))
    return out.value.decode() if rc == 0 else None


def rehash(s, admin):
    section("argon2id parameters upgraded at sign-in")
    authlib.make_account(admin, "oldhash", "viewer", password="a long password 2")
    weak = weak_hash("a long password 2")
    check("a hash with older parameters", weak and weak.startswith("$argon2id$v=19$m=19456,t=2"))
    authlib.sql(s.url, f"UPDATE accounts SET password_hash = '{weak}' WHERE login = 'oldhash'")
    _, r = authlib.login(s, "oldhash", "a long password 2")
    expect("signs in with the old hash", r, 200)
    stored = authlib.sql(s.url, "SELECT password_hash FROM accounts WHERE login = 'oldhash'")
    check("the stored hash now has this version's parameters",
          stored.startswith("$argon2id$v=19$m=65536,t=3,p=1$"), stored[:40])
    _, r = authlib.login(s, "oldhash", "a long password 2")
    expect("and still signs in", r, 200)


def auth_off():
    section("AUTH=off")
    # Listening beyond loopback (wait_ready still reaches it on 127.0.0.1).
    s = apilib.Server("t080-off", env={"HOST": "0.0.0.0"})
    try:
        r = s.get("/api/v1/persons/")
        check("open API: 200 without credentials", r.status == 200 and
              "set-cookie" not in r.headers and "www-authenticate" not in r.headers, repr(r))
        expect("auth status", s.get("/api/v1/auth/status"), 200,
               {"auth": False, "setup_required": False, "account": None,
                "csrf_header": "X-Requested-With"})
        for method, path in [("POST", "/api/v1/auth/login"), ("GET", "/api/v1/auth/me"),
                             ("GET", "/api/v1/accounts/"), ("DELETE", "/api/v1/tokens/1")]:
            # What any path without a route answered before: GET 404, other
            # methods 405 (with Allow).
            r = s.request(method, path, {} if method == "POST" else None)
            want = (404, "Not Found") if method == "GET" else (405, "Method Not Allowed")
            check(f"AUTH=off {method} {path}: {want[0]} as before access control",
                  (r.status, (r.json() or {}).get("detail")) == want, repr(r))
        doc = s.get("/openapi.json").json()
        check("AUTH=off document: no access control", "securitySchemes" not in doc["components"]
              and not any(p.startswith("/api/v1/auth") or p.startswith("/api/v1/accounts")
                          for p in doc["paths"]) and "security" not in doc, repr(doc.keys()))
    finally:
        s.stop()
    check("AUTH=off beyond loopback: a warning at start",
          "WARN" in s.log_text() and "AUTH=off and HOST=0.0.0.0" in s.log_text())


main()
