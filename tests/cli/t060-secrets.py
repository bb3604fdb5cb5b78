#!/usr/bin/env python3
"""Secrets are masked by structure, never by searching the output for them
(issue 12, finding 7). The real binary runs with DATABASE_URL passwords "p"
and "x" (and one holding @ : / ?), which are also the user names and part of
the database names, and the output of `meditrack config`, `init`, `db
current` and of a serving process must show every other word untouched
("unsupported", "exit_code", "postgresql", "/api/v1/persons/") and never the
password in the URL.
On sqlite: the checks that need no database server (config, a refused
connection, an unsupported driver). On postgresql / mysql: a role or user
with each password on the test server, then init, db current and serve with
HTTP requests. Last line "N passed, N failed"."""

import os
import re
import socket
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
import apilib  # noqa: E402
from apilib import DIALECT, MEDITRACK, TMP, check  # noqa: E402

BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ENV_FILE": "/dev/null",
            "LOG_FORMAT": "text", "LOG_LEVEL": "info"}
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
    if k in os.environ:
        BASE_ENV[k] = os.environ[k]


def run(args, **env):
    e = dict(BASE_ENV)
    e.update(env)
    p = subprocess.run([MEDITRACK] + args, env=e, cwd=TMP, capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout + p.stderr


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_sanitizer(name, out):
    check(f"{name}: no sanitizer report", "Sanitizer" not in out and "runtime error:" not in out,
          out[-2000:])


def offline_checks():
    # meditrack config: the URL's password field masked, nothing else.
    url = "postgresql://unsupported:p@exit_code.invalid:5432/p?sslmode=prefer"
    rc, out = run(["config"], DATABASE_URL=url, SECRET_KEY="x", ENVIRONMENT="unsupported")
    check("config: exit 0", rc == 0, out)
    check("config: URL masked by its password field",
          "\nDATABASE_URL=postgresql://unsupported:***@exit_code.invalid:5432/p?sslmode=prefer"
          "  # env\n" in out, out)
    check("config: SECRET_KEY x shown as ***", "\nSECRET_KEY=***  # env\n" in out, out)
    check("config: the word 'unsupported' untouched", "\nENVIRONMENT=unsupported  # env\n" in out,
          out)
    check("config: the password not in the URL", ":p@" not in out, out)
    check("config: no partial masks", not re.search(r"\w\*\*\*\w|\*\*\*\*", out), out)

    # Passwords holding @ : / ? and percent-encoded ones.
    for url, want in [("mysql://u:a@b:c/d?e@h:3306/db", "mysql://u:***@h:3306/db"),
                      ("mysql://u:p%40ss%3Aw%2Frd%3F@h/db", "mysql://u:***@h/db")]:
        rc, out = run(["config"], DATABASE_URL=url)
        check(f"config {want}: masked whole", f"\nDATABASE_URL={want}  # env\n" in out, out)
        check(f"config {want}: nothing of the password",
              "b:c/d" not in out and "w%2Frd" not in out, out)

    # A refused connection with password p (PostgreSQL) and x (MariaDB): the
    # log names the URL masked, and the words around are whole.
    for scheme, pw, db in [("postgresql", "p", "p"), ("mysql", "x", "x")]:
        port = closed_port()
        url = f"{scheme}://{pw}:{pw}@127.0.0.1:{port}/{db}"
        rc, out = run(["init"], DATABASE_URL=url, SECRET_KEY=pw, DB_WAIT_ATTEMPTS="1",
                      DB_WAIT_INTERVAL="0")
        name = f"init on a refused {scheme} port, password {pw}"
        check(f"{name}: exit 4", rc == 4, out)
        check(f"{name}: the masked URL is logged",
              f"database={scheme}://{pw}:***@127.0.0.1:{port}/{db}" in out, out)
        check(f"{name}: exit_code untouched", "=== Initialization Failed === exit_code=4" in out,
              out)
        check(f"{name}: 'Waiting for database to be ready' untouched",
              "Waiting for database to be ready..." in out, out)
        check(f"{name}: the password not in the URL", f":{pw}@" not in out, out)
        check(f"{name}: no partial masks", not re.search(r"\w\*\*\*\w|\*\*\*\*", out), out)
        no_sanitizer(name, out)

    # An unsupported driver: the message quotes the URL masked.
    rc, out = run(["init"], DATABASE_URL="postgresql+foo://unsupported:p@h/p")
    check("unsupported driver: exit 3", rc == 3, out)
    check("unsupported driver: message whole",
          'invalid DATABASE_URL "postgresql+foo://unsupported:***@h/p": unsupported driver "foo"'
          in out, out)
    check("unsupported driver: the password not in the URL", ":p@" not in out, out)


def pg_admin(sql):
    subprocess.run(["psql", os.environ["MT_TEST_PG_URL"], "-qAt", "-v", "ON_ERROR_STOP=1",
                    "-c", sql], check=True, capture_output=True, text=True)


def my_admin(sql):
    u = urllib.parse.urlsplit(os.environ["MT_TEST_MYSQL_URL"])
    env = dict(os.environ, MYSQL_PWD=urllib.parse.unquote(u.password or ""))
    subprocess.run(["mariadb", "--no-defaults", "-h", u.hostname, "-P", str(u.port), "-u",
                    urllib.parse.unquote(u.username), "-e", sql],
                   check=True, capture_output=True, text=True, env=env)


def make_account(user, password, db):
    """A login `user` identified by `password` that owns database `db`; the
    URL to reach it (password percent-encoded)."""
    lit = password.replace("'", "''")
    if DIALECT == "postgresql":
        pg_admin(f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='{user}') "
                 f"THEN CREATE ROLE \"{user}\" LOGIN; END IF; END$$;")
        pg_admin(f"ALTER ROLE \"{user}\" LOGIN PASSWORD '{lit}'")
        pg_admin(f"ALTER DATABASE \"{db}\" OWNER TO \"{user}\"")
        base = urllib.parse.urlsplit(os.environ["MT_TEST_PG_URL"])
        scheme = "postgresql"
    else:
        for host in ("127.0.0.1", "localhost"):
            my_admin(f"CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '{lit}'; "
                     f"ALTER USER '{user}'@'{host}' IDENTIFIED BY '{lit}'; "
                     f"GRANT ALL ON `{db}`.* TO '{user}'@'{host}'")
        base = urllib.parse.urlsplit(os.environ["MT_TEST_MYSQL_URL"])
        scheme = "mysql"
    enc = urllib.parse.quote(password, safe="")
    return f"{scheme}://{user}:{enc}@{base.hostname}:{base.port}/{db}"


def server_checks(user, password):
    fresh = apilib.fresh_db(f"t060_{user}")
    db = fresh.rsplit("/", 1)[1]
    url = make_account(user, password, db)
    label = re.sub(r"://([^:]*):[^@]*@", r"://\1:***@", url)
    tag = f"{DIALECT}, user {user}, password {password!r}"
    enc = urllib.parse.quote(password, safe="")

    rc, out = run(["init"], DATABASE_URL=url, SECRET_KEY=password, SEED_ON_EMPTY="false")
    check(f"{tag}: init exit 0", rc == 0, out)
    check(f"{tag}: init logs the masked URL", f"database={label}" in out, out)
    check(f"{tag}: init names the dialect untouched", f"dialect={DIALECT}" in out, out)
    check(f"{tag}: init never shows the password in the URL",
          f":{password}@" not in out and f":{enc}@" not in out, out)
    check(f"{tag}: init has no partial masks", not re.search(r"\w\*\*\*\w|\*\*\*\*", out), out)
    no_sanitizer(f"{tag}: init", out)

    rc, out = run(["db", "current", "--verbose"], DATABASE_URL=url)
    check(f"{tag}: db current names the database masked",
          rc == 0 and f"Current revision(s) for {label}:" in out, out)
    check(f"{tag}: db current never shows the password",
          f":{password}@" not in out and f":{enc}@" not in out, out)

    rc, out = run(["config"], DATABASE_URL=url, SECRET_KEY=password)
    check(f"{tag}: config shows the URL masked", f"\nDATABASE_URL={label}  # env\n" in out, out)

    srv = apilib.Server(f"t060-{user}", env={"DATABASE_URL": url, "SECRET_KEY": password,
                                              "LOG_LEVEL": "info", "AUTO_MIGRATE": "true"},
                        migrate=False)
    try:
        r = srv.get("/api/v1/health")
        check(f"{tag}: health 200", r.status == 200, repr(r))
        r = srv.post("/api/v1/persons/", {"first_name": "unsupported", "last_name": "exit_code"})
        check(f"{tag}: person created", r.status == 201, repr(r))
        r = srv.get("/api/v1/persons/")
        check(f"{tag}: person listed untouched",
              r.status == 200 and any(p.get("first_name") == "unsupported" and
                                      p.get("last_name") == "exit_code" for p in r.json()),
              repr(r))
        r = srv.get("/api/v1/unsupported/exit_code")
        check(f"{tag}: unknown route 404", r.status == 404, repr(r))
    finally:
        srv.stop()
    log = srv.log_text()
    check(f"{tag}: serve log has the access line untouched",
          "access method=GET path=/api/v1/persons/ route=/api/v1/persons/ status=200" in log,
          log[-3000:])
    check(f"{tag}: serve log keeps 'postgresql'/'mysql' untouched",
          (DIALECT in log) and "***ostgresql" not in log, log[-3000:])
    check(f"{tag}: serve log never shows the password in the URL",
          f":{password}@" not in log and f":{enc}@" not in log, log[-3000:])
    check(f"{tag}: serve log has no partial masks",
          not re.search(r"\w\*\*\*\w|\*\*\*\*", log), log[-3000:])


def main():
    if DIALECT == "sqlite":
        offline_checks()
    else:
        print(f"# {DIALECT}: the offline checks run in the sqlite pass; real accounts here")
        for user, password in [("p", "p"), ("x", "x"), ("mtspecial", "p@ss:w/rd?")]:
            server_checks(user, password)
    apilib.report()


main()
