#!/usr/bin/env python3
"""Two replicas of `meditrack serve` (AUTH=on) on one database share access
control (issue 14, docs/auth.md): a session begun on one is accepted by
the other, a token made on one works on the other, a revocation on one is
honoured by the other within a second (its cache's lifetime), and failed
sign-ins counted by one throttle the other. Runs on PostgreSQL and
MariaDB, where replicas are a real deployment; SQLite is skipped (one
host, one file: replicas are not a deployment there) and says so. Last
line "N passed, N failed"."""

import time

import apilib
import authlib
from apilib import check, expect, report
from authlib import Client


def main():
    if apilib.DIALECT == "sqlite":
        print("# skipped on sqlite: replicas share a PostgreSQL or MariaDB database")
        report()
    a = apilib.Server("t081a", env=authlib.auth_env())
    b = None
    try:
        b = apilib.Server("t081b", env=authlib.auth_env(DATABASE_URL=a.url), migrate=False)
        run(a, b)
    finally:
        if b:
            b.stop()
        a.stop()
    report()


def run(a, b):
    admin_a, _ = authlib.first_admin(a)
    check("the setup token of one replica made the admin", admin_a.get("/api/v1/auth/me").status
          == 200)
    r = Client(b).post("/api/v1/auth/setup", {"setup_token": authlib.setup_token(b),
                                              "username": "second",
                                              "password": authlib.ADMIN_PASSWORD})
    expect("the other replica's setup token is spent too", r, 409,
           {"detail": "Setup is already complete"})

    # A session begun on A, used on B.
    admin_b = Client(b, cookie=admin_a.cookie)
    r = admin_b.get("/api/v1/auth/me")
    check("A's session is accepted by B", r.status == 200 and r.json()["username"] == "admin",
          repr(r))
    expect("B writes with A's session", admin_b.post("/api/v1/persons/", {"first_name": "Ann"}),
           201)

    # A token made on B, used on A; revoked on B, refused by A within a second.
    tok = authlib.make_token(admin_b, "write", name="replica")
    on_a = Client(a, token=tok["token"])
    expect("B's token works on A", on_a.get("/api/v1/persons/"), 200)
    expect("revoked on B", admin_b.delete(f"/api/v1/auth/tokens/{tok['id']}"), 204)
    time.sleep(1.2)
    expect("A refuses it within a second", on_a.get("/api/v1/persons/"), 401)

    # A session ended on A is refused by B.
    s2, _ = authlib.login(b, "admin", authlib.ADMIN_PASSWORD)
    expect("a session from B works on B", s2.get("/api/v1/auth/me"), 200)
    sid = [x["id"] for x in s2.get("/api/v1/auth/sessions/").json() if x["current"]][0]
    expect("ended on A", admin_a.delete(f"/api/v1/auth/sessions/{sid}"), 204)
    time.sleep(1.2)
    expect("B refuses it within a second", s2.get("/api/v1/auth/me"), 401)

    # Failures on A lock the login on B.
    authlib.make_account(admin_a, "victim", "viewer")
    for i in range(10):
        server = a if i % 2 == 0 else b
        r = server.post("/api/v1/auth/login", {"username": "victim", "password": f"guess {i}!!"})
    check("ten failures spread over both replicas: 401", r.status == 401, repr(r))
    for name, server in (("A", a), ("B", b)):
        r = server.post("/api/v1/auth/login", {"username": "victim",
                                               "password": "a long password 1"})
        check(f"then {name} throttles: 429 + Retry-After",
              r.status == 429 and r.headers.get("retry-after", "").isdigit(), repr(r))


main()
