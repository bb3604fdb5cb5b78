#!/usr/bin/env python3
"""`meditrack user` and `meditrack token` (issue 14, docs/auth.md) against the
real binary on the dialect under test, reading the database directly
(through tests/migrate's schema-sql helper, so every dialect is read the same
way): add (password from standard input and from a terminal with echo off,
asked twice; no password), list, passwd (ends the sessions), disable and
enable (the last administrator stays), grant and revoke, role, delete;
token create (the token alone on standard output, stored as its SHA-256 with
its prefix and expiry), list and revoke. The stored hash is argon2id with
ops 3 and 64 MiB. Bad input exits 2 with a message, an unknown login or
person exits 1, and no password or token ever reaches standard error.
Last line "N passed, N failed"."""

import datetime
import hashlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
sys.path.insert(0, os.path.join(HERE, "..", "migrate"))
import apilib  # noqa: E402
from apilib import MEDITRACK, TMP, check  # noqa: E402
import schemalib as L  # noqa: E402

URL = apilib.fresh_db("authcli")
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ENV_FILE": "/dev/null",
       "LOG_FORMAT": "text", "LOG_LEVEL": "info", "DATABASE_URL": URL}
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
    if k in os.environ:
        ENV[k] = os.environ[k]

SECRETS = []          # every password and token used: none may appear on stderr
ALL_STDERR = []


def run(args, stdin=None):
    """meditrack ARGS; returns (exit status, stdout, stderr)."""
    p = subprocess.run([MEDITRACK] + args, env=ENV, cwd=TMP, capture_output=True, text=True,
                       input=stdin, timeout=120,
                       stdin=None if stdin is not None else subprocess.DEVNULL)
    ALL_STDERR.append((" ".join(args), p.stderr))
    if "Sanitizer" in p.stderr or "runtime error:" in p.stderr:
        check("meditrack %s: clean under the sanitizers" % " ".join(args), False, p.stderr[-2000:])
    return p.returncode, p.stdout, p.stderr


def expect(name, args, want_rc, stdin=None, out_has=None, err_has=None):
    rc, out, err = run(args, stdin)
    ok = rc == want_rc
    if out_has is not None:
        ok = ok and out_has in out
    if err_has is not None:
        ok = ok and err_has in err
    check(name, ok, "exit %d (wanted %d)\nstdout: %s\nstderr: %s" % (rc, want_rc, out[-800:],
                                                                    err[-800:]))
    return rc, out, err


def q(sql, params=None):
    return L.q(URL, sql, params or [])


def one(sql, params=None):
    rows = q(sql, params)
    return rows[0][0] if rows else None


def account_id(login):
    v = one("SELECT id FROM accounts WHERE login = ?", [login])
    return int(v) if v is not None else None


def grants(login):
    return [int(r[0]) for r in q("SELECT ap.person_id FROM account_persons ap JOIN accounts a "
                                 "ON a.id = ap.account_id WHERE a.login = ? ORDER BY 1", [login])]


def truthy(v):
    return str(v).lower() in ("1", "t", "true")


def add_session(login):
    """A session row of login, as the server would write it."""
    L.x(URL, "INSERT INTO auth_sessions (account_id, token_hash, created_at, last_seen_at, "
             "expires_at) VALUES (?, ?, ?, ?, ?)",
        [account_id(login), hashlib.sha256(os.urandom(16)).hexdigest(), "2030-01-01 00:00:00",
         "2030-01-01 00:00:00", "2030-02-01 00:00:00"])


def sessions(login):
    return int(one("SELECT COUNT(*) FROM auth_sessions WHERE account_id = ?",
                   [account_id(login)]))


def with_tty(args, answers):
    """Runs meditrack ARGS on a new pseudo-terminal (its controlling
    terminal), answering each prompt in turn; returns (exit status, what the
    terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.chdir(TMP)
            os.execve(MEDITRACK, [MEDITRACK] + args, ENV)
        finally:
            os._exit(127)
    shown = b""
    pending = list(answers)
    deadline = time.time() + 60
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            shown += data
        if pending and shown.rstrip().endswith(b":"):
            # A prompt is waiting: answer it once its text has arrived.
            os.write(fd, pending.pop(0).encode() + b"\n")
            shown += b"\n<answered>\n"
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        # Still waiting for an answer: a failure, not a hang of the suite.
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        shown += b"\n<killed: no exit within 60 s>"
    os.close(fd)
    text = shown.decode("utf-8", "replace")
    ALL_STDERR.append((" ".join(args) + " (tty)", text))
    return os.waitstatus_to_exitcode(status), text


# ---- the database ------------------------------------------------------------------------

expect("user list before the database is upgraded exits 1", ["user", "list"], 1,
       err_has="run `meditrack db upgrade` first")
expect("db upgrade", ["db", "upgrade"], 0)
expect("seed: the default person", ["seed"], 0)
L.x(URL, "INSERT INTO persons (first_name, is_default) VALUES (?, ?)", ["Second", False])
P1 = int(one("SELECT MIN(id) FROM persons"))
P2 = int(one("SELECT MAX(id) FROM persons"))

expect("user list without accounts", ["user", "list"], 0, out_has="No accounts yet")
expect("token list without tokens", ["token", "list"], 0, out_has="No API tokens")

# ---- user add ------------------------------------------------------------------------------

PW_ADMIN = "correct horse battery st\u00e4ple"
SECRETS.append(PW_ADMIN)
rc, out, err = expect("user add Admin --role admin --password-stdin", ["user", "add", "Admin",
                      "--role", "admin", "--password-stdin"], 0, stdin=PW_ADMIN + "\n",
                      out_has="Created the admin account admin")
check("user add logs the account change",
      re.search(r"INFO auth: account created login=admin role=admin id=\d+", err), err)
h = one("SELECT password_hash FROM accounts WHERE login = ?", ["admin"])
check("the stored hash starts with $argon2id$", h and h.startswith("$argon2id$"), h)
check("the stored hash has ops 3 and 64 MiB", h and h.startswith("$argon2id$v=19$m=65536,t=3,p=1$"),
      h)
check("the stored hash is not the password", h and PW_ADMIN not in h)
check("the display name defaults to the login",
      one("SELECT display_name FROM accounts WHERE login = ?", ["admin"]) == "admin")

PW_CARER = "carer-password-1"
SECRETS.append(PW_CARER)
expect("user add carer --person --display-name (CRLF line)",
       ["user", "add", "carer", "--role=carer", "--person", str(P1), "--display-name",
        "Zo\u00eb \"Night\" Carer", "--password-stdin"], 0, stdin=PW_CARER + "\r\n")
check("the carer's own person is granted", grants("carer") == [P1], grants("carer"))
check("the carer's person_id", one("SELECT person_id FROM accounts WHERE login = ?",
                                   ["carer"]) == str(P1))
check("the display name is kept as given",
      one("SELECT display_name FROM accounts WHERE login = ?", ["carer"]) ==
      "Zo\u00eb \"Night\" Carer")

expect("user add --no-password (proxy only)", ["user", "add", "viewer", "--role", "viewer",
                                               "--no-password"], 0, out_has="without a password")
check("a proxy-only account stores no hash",
      one("SELECT password_hash FROM accounts WHERE login = ?", ["viewer"]) is None)
expect("user add --admin (the issue's shorthand)", ["user", "add", "second.admin@home",
                                                    "--admin", "--password-stdin"], 0,
       stdin="another-admin-pw\n")
SECRETS.append("another-admin-pw")
check("--admin makes an admin",
      one("SELECT role FROM accounts WHERE login = ?", ["second.admin@home"]) == "admin")

# Refused input: exit 2 with a message, nothing created.
before = int(one("SELECT COUNT(*) FROM accounts"))
for name, args, stdin, msg in [
    ("missing LOGIN", ["user", "add", "--role", "viewer"], None, "missing LOGIN"),
    ("missing --role", ["user", "add", "x1"], None, "missing --role"),
    ("unknown role", ["user", "add", "x1", "--role", "nurse"], None, "invalid --role \"nurse\""),
    ("--role without a value", ["user", "add", "x1", "--role"], None, "--role needs a value"),
    ("bad login", ["user", "add", "no spaces", "--role", "viewer", "--password-stdin"], "x" * 12,
     "invalid login \"no spaces\""),
    ("login over 64 characters", ["user", "add", "a" * 65, "--role", "viewer"], None,
     "invalid login"),
    ("bad --person", ["user", "add", "x1", "--role", "viewer", "--person", "one"], None,
     "invalid --person \"one\""),
    ("unknown option", ["user", "add", "x1", "--role", "viewer", "--colour"], None,
     "unknown option \"--colour\""),
    ("password too short", ["user", "add", "x1", "--role", "viewer", "--password-stdin"],
     "nine-char\n", "too short"),
    ("password of nine characters in 18 bytes",
     ["user", "add", "x1", "--role", "viewer", "--password-stdin"], "\u00e4" * 9 + "\n",
     "too short"),
    ("password too long", ["user", "add", "x1", "--role", "viewer", "--password-stdin"],
     "y" * 1025 + "\n", "too long"),
    ("password with a tab", ["user", "add", "x1", "--role", "viewer", "--password-stdin"],
     "tab\tinside-a-password\n", "control character"),
    ("empty standard input", ["user", "add", "x1", "--role", "viewer", "--password-stdin"], "",
     "no password was given"),
    ("no terminal and no --password-stdin", ["user", "add", "x1", "--role", "viewer"], None,
     "--password-stdin"),
    ("--password-stdin with --no-password",
     ["user", "add", "x1", "--role", "viewer", "--password-stdin", "--no-password"], None,
     "exclude each other"),
    ("unknown sub-command", ["user", "frobnicate"], None, "unknown command \"frobnicate\""),
    ("grant with a bad person id", ["user", "grant", "carer", "first"], None,
     "invalid PERSON_ID \"first\""),
    ("grant without a person", ["user", "grant", "carer"], None, "expected LOGIN PERSON_ID"),
    ("role with a bad role", ["user", "role", "carer", "boss"], None, "invalid role \"boss\""),
    ("list with an argument", ["user", "list", "all"], None, "unexpected argument"),
]:
    expect("user: %s exits 2" % name, args, 2, stdin=stdin, err_has=msg)
check("refused input created nothing", int(one("SELECT COUNT(*) FROM accounts")) == before)
SECRETS.extend(["nine-char", "tab\tinside-a-password", "x" * 12])

expect("user add with a taken login (other case) exits 1",
       ["user", "add", "ADMIN", "--role", "viewer", "--password-stdin"], 1,
       stdin="whatever-password\n", err_has="already taken")
expect("user add with an unknown person exits 1",
       ["user", "add", "x2", "--role", "viewer", "--person", "999999", "--password-stdin"], 1,
       stdin="whatever-password\n", err_has="Person not found")
check("no account for the unknown person", account_id("x2") is None)

# ---- a password typed on a terminal -------------------------------------------------------

PW_TTY = "typed on a terminal \u2713"
SECRETS.append(PW_TTY)
rc, shown = with_tty(["user", "add", "typist", "--role", "viewer"], [PW_TTY, PW_TTY])
check("user add on a terminal: exit 0", rc == 0, shown)
check("user add on a terminal: asked twice",
      "New password for typist:" in shown and "Repeat it:" in shown, shown)
check("user add on a terminal: the password is not echoed", PW_TTY not in shown, shown)
h = one("SELECT password_hash FROM accounts WHERE login = ?", ["typist"])
check("user add on a terminal: stored as argon2id", h and h.startswith("$argon2id$"), h)
rc, shown = with_tty(["user", "passwd", "typist"], ["first try 12345", "second try 12345"])
check("user passwd on a terminal: two different answers exit 2", rc == 2 and "differ" in shown,
      shown)
check("user passwd on a terminal: the hash is unchanged",
      one("SELECT password_hash FROM accounts WHERE login = ?", ["typist"]) == h)
SECRETS.extend(["first try 12345", "second try 12345"])

# ---- list, passwd, disable, enable, grant, revoke, role --------------------------------------

rc, out, err = expect("user list", ["user", "list"], 0)
lines = out.splitlines()
check("user list: a header and one line per account",
      lines and lines[0].split()[:6] == ["ID", "LOGIN", "ROLE", "ENABLED", "PASSWORD", "PERSONS"]
      and len(lines) == 1 + int(one("SELECT COUNT(*) FROM accounts")), out)
carer_line = next((ln for ln in lines if re.match(r"^\d+ +carer ", ln)), "")
check("user list: the carer with its own person starred",
      re.match(r"^\d+ +carer +carer +yes +yes +%d\* +Zo\u00eb" % P1, carer_line), carer_line)
viewer_line = next((ln for ln in lines if re.match(r"^\d+ +viewer ", ln)), "")
check("user list: the proxy-only account has no password",
      re.match(r"^\d+ +viewer +viewer +yes +no +- +viewer$", viewer_line), viewer_line)

add_session("carer")
add_session("carer")
old = one("SELECT password_hash FROM accounts WHERE login = ?", ["carer"])
PW_NEW = "a brand new password"
SECRETS.append(PW_NEW)
rc, out, err = expect("user passwd carer --password-stdin", ["user", "passwd", "carer",
                      "--password-stdin"], 0, stdin=PW_NEW + "\n",
                      out_has="every session of the account has ended")
new = one("SELECT password_hash FROM accounts WHERE login = ?", ["carer"])
check("user passwd: a new argon2id hash", new != old and new.startswith("$argon2id$"))
check("user passwd: every session ended", sessions("carer") == 0)
check("user passwd: logged without the password",
      "auth: account changed login=carer change=password" in err, err)
expect("user passwd with a short password exits 2", ["user", "passwd", "carer",
                                                     "--password-stdin"], 2, stdin="short\n",
       err_has="too short")
check("a refused password leaves the hash",
      one("SELECT password_hash FROM accounts WHERE login = ?", ["carer"]) == new)

add_session("carer")
rc, out, err = expect("user disable carer", ["user", "disable", "carer"], 0)
check("user disable: enabled is false",
      not truthy(one("SELECT enabled FROM accounts WHERE login = ?", ["carer"])))
check("user disable: its sessions ended", sessions("carer") == 0)
check("user disable: logged", "auth: account disabled login=carer" in err, err)
expect("user enable carer", ["user", "enable", "carer"], 0)
check("user enable: enabled is true",
      truthy(one("SELECT enabled FROM accounts WHERE login = ?", ["carer"])))

expect("user role second.admin@home viewer", ["user", "role", "second.admin@home", "viewer"], 0)
expect("user disable of the last enabled admin exits 1", ["user", "disable", "admin"], 1,
       err_has="last administrator")
expect("user role of the last admin exits 1", ["user", "role", "Admin", "carer"], 1,
       err_has="last administrator")
expect("user delete of the last admin exits 1", ["user", "delete", "admin"], 1,
       err_has="last administrator")
check("the last admin is still an enabled admin",
      q("SELECT role, enabled FROM accounts WHERE login = ?", ["admin"])[0][0] == "admin")

expect("user grant carer P2", ["user", "grant", "carer", str(P2)], 0)
expect("user grant again is harmless", ["user", "grant", "carer", str(P2)], 0)
check("user grant: both persons granted", grants("carer") == sorted([P1, P2]), grants("carer"))
expect("user revoke carer P2", ["user", "revoke", "carer", str(P2)], 0)
check("user revoke: one person left", grants("carer") == [P1], grants("carer"))
expect("user revoke of the own person exits 1", ["user", "revoke", "carer", str(P1)], 1,
       err_has="own person")
expect("user grant of an unknown person exits 1", ["user", "grant", "carer", "999999"], 1,
       err_has="Person not found")

# Unknown logins exit 1.
for args in (["user", "passwd", "nobody", "--password-stdin"], ["user", "disable", "nobody"],
             ["user", "enable", "nobody"], ["user", "grant", "nobody", str(P1)],
             ["user", "revoke", "nobody", str(P1)], ["user", "role", "nobody", "viewer"],
             ["user", "delete", "nobody"],
             ["token", "create", "--user", "nobody", "--scope", "read"],
             ["token", "list", "--user", "nobody"]):
    expect("%s: unknown login exits 1" % " ".join(args[:2]), args, 1,
           stdin="irrelevant-password\n", err_has="no account has the login \"nobody\"")

# ---- tokens ----------------------------------------------------------------------------------

rc, out, err = expect("token create", ["token", "create", "--user", "carer", "--scope", "read",
                                       "--person", str(P1), "--expires-days", "30", "--name",
                                       "Home Assistant \U0001F3E0"], 0)
token = out.strip()
SECRETS.append(token)
check("token create prints the token alone", re.fullmatch(r"mtt_[A-Za-z0-9_-]{43}\n", out), out)
row = q("SELECT id, token_hash, prefix, scope, person_id, name, expires_at, revoked_at FROM "
        "api_tokens WHERE token_hash = ?", [hashlib.sha256(token.encode()).hexdigest()])
check("token create stores the SHA-256 of the token", len(row) == 1, row)
if row:
    tid, thash, prefix, scope, person, name, expires, revoked = row[0]
    check("the stored prefix is the token's first 12 characters", prefix == token[:12], prefix)
    check("scope, person and name stored", (scope, person, name) ==
          ("read", str(P1), "Home Assistant \U0001F3E0"), row)
    exp = datetime.datetime.strptime(expires[:19], "%Y-%m-%d %H:%M:%S")
    days = (exp - datetime.datetime.utcnow()).total_seconds() / 86400
    check("expires in 30 days", 29.9 < days < 30.1, expires)
    check("not revoked", revoked is None)
    check("token create is logged with its id, not the token",
          "auth: token created id=%s login=carer scope=read" % tid in err, err)
rc, out2, _ = expect("a second token", ["token", "create", "--user", "admin", "--scope", "admin"],
                     0)
SECRETS.append(out2.strip())
check("each token is new", out2.strip() != token and out2.strip().startswith("mtt_"))
check("no expiry without --expires-days", one("SELECT expires_at FROM api_tokens WHERE prefix = ?",
                                              [out2.strip()[:12]]) is None)

for name, args, msg in [
    ("missing --scope", ["token", "create", "--user", "carer"], "missing --scope"),
    ("missing --user", ["token", "create", "--scope", "read"], "missing --user"),
    ("bad scope", ["token", "create", "--user", "carer", "--scope", "everything"],
     "invalid --scope \"everything\""),
    ("--expires-days 0", ["token", "create", "--user", "carer", "--scope", "read",
                          "--expires-days", "0"], "invalid --expires-days"),
    ("--expires-days too large", ["token", "create", "--user", "carer", "--scope", "read",
                                  "--expires-days", "3651"], "invalid --expires-days"),
    ("--expires-days not a number", ["token", "create", "--user", "carer", "--scope", "read",
                                     "--expires-days", "soon"], "invalid --expires-days"),
    ("empty --name", ["token", "create", "--user", "carer", "--scope", "read", "--name", ""],
     "--name must not be empty"),
    ("--person not an id", ["token", "create", "--user", "carer", "--scope", "read",
                            "--person", "-3"], "invalid --person"),
    ("an unexpected argument", ["token", "create", "extra"], "unexpected argument"),
    ("revoke without an id", ["token", "revoke"], "expected the token's ID"),
    ("revoke with a bad id", ["token", "revoke", "seven"], "invalid ID \"seven\""),
    ("unknown sub-command", ["token", "rotate"], "unknown command \"rotate\""),
]:
    expect("token: %s exits 2" % name, args, 2, err_has=msg)
expect("token create for a person the account may not see exits 1",
       ["token", "create", "--user", "carer", "--scope", "read", "--person", str(P2)], 1,
       err_has="may not see person")
expect("user disable viewer", ["user", "disable", "viewer"], 0)
expect("token create for a disabled account exits 1",
       ["token", "create", "--user", "viewer", "--scope", "read"], 1, err_has="is disabled")
check("refused token requests stored nothing", int(one("SELECT COUNT(*) FROM api_tokens")) == 2)

rc, out, err = expect("token list", ["token", "list"], 0)
check("token list shows the prefix, never the token", token[:12] in out and token not in out,
      out)
check("token list: active", re.search(r"^%s +carer +%s +read +%d .* active +Home Assistant"
                                      % (tid, re.escape(token[:12]), P1), out, re.M), out)
rc, out, err = expect("token list --user admin", ["token", "list", "--user", "admin"], 0)
check("token list --user shows only that account's", "carer" not in out and " admin " in out, out)
rc, out, err = expect("token revoke", ["token", "revoke", tid], 0)
check("token revoke is logged", "auth: token revoked id=%s" % tid in err, err)
check("token revoke sets revoked_at",
      one("SELECT revoked_at FROM api_tokens WHERE id = ?", [int(tid)]) is not None)
expect("token revoke again exits 1", ["token", "revoke", tid], 1, err_has="no active token")
expect("token revoke of an unknown id exits 1", ["token", "revoke", "987654"], 1)
rc, out, err = expect("token list after revoking", ["token", "list"], 0)
check("token list: revoked", re.search(r"^%s +carer .* revoked " % tid, out, re.M), out)

# ---- delete ----------------------------------------------------------------------------------

add_session("typist")
rc, out, err = expect("user delete typist", ["user", "delete", "typist"], 0)
check("user delete: the account is gone", account_id("typist") is None)
check("user delete: its sessions are gone",
      int(one("SELECT COUNT(*) FROM auth_sessions")) == 0)
check("user delete: logged", "auth: account deleted login=typist" in err, err)

# ---- help, and nothing secret on standard error -------------------------------------------------

rc, out, err = expect("user --help", ["user", "--help"], 0, out_has="passwd LOGIN")
rc, out, err = expect("token --help", ["token", "--help"], 0, out_has="--expires-days")
rc, out, err = expect("meditrack --help lists user and token", ["--help"], 0)
check("meditrack --help lists user and token", "\n  user " in out and "\n  token " in out, out)

leaks = [(cmd, s) for cmd, text in ALL_STDERR for s in SECRETS if s and s in text]
check("no password or token on standard error (%d runs)" % len(ALL_STDERR), not leaks,
      repr(leaks[:3]))
prefixless = [(cmd, t[4:16]) for cmd, text in ALL_STDERR for t in SECRETS
              if t.startswith("mtt_") and t[4:16] in text]
check("not even a part of a token on standard error", not prefixless, repr(prefixless[:3]))

apilib.report()
