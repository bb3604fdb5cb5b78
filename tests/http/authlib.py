"""Helpers of the access-control suites (t080, t081): a server with AUTH=on,
the first administrator through the setup token its log shows, sign-in
with the session cookie, the CSRF headers the web UI sends, bearer
tokens, and SQL run straight on the test database (to expire a token or
read a password hash). Python 3 stdlib only; builds on apilib."""

import os
import re
import sqlite3
import time
import urllib.parse

import apilib
import dblib

SETUP_RE = re.compile(r"setup token (mtsetup_[A-Za-z0-9_-]{43})")
COOKIE_RE = re.compile(r"meditrack_session=([^;]*)")
ADMIN_PASSWORD = "correct horse battery"


def auth_env(**extra):
    """The environment of a server with access control on."""
    env = {"AUTH": "on", "LOG_LEVEL": "info"}
    env.update(extra)
    return env


def setup_token(server, timeout=10):
    """The setup token the server logged at start."""
    end = time.time() + timeout
    while time.time() < end:
        m = SETUP_RE.search(server.log_text())
        if m:
            return m.group(1)
        time.sleep(0.1)
    return None


def cookie_of(resp):
    """The session cookie a response sets (None when it sets none)."""
    m = COOKIE_RE.search(resp.headers.get("set-cookie", ""))
    return m.group(1) if m else None


class Client:
    """Requests as one caller: with a session cookie (and the UI's CSRF
    headers on writes), a bearer token, or nothing."""

    def __init__(self, server, cookie=None, token=None, headers=None):
        self.server = server
        self.cookie = cookie
        self.token = token
        self.extra = dict(headers or {})

    def headers(self, method, more=None):
        h = dict(self.extra)
        if self.cookie:
            h["Cookie"] = f"meditrack_session={self.cookie}"
            if method not in ("GET", "HEAD"):
                h["X-Requested-With"] = "MediTrack"
                h["Origin"] = f"http://127.0.0.1:{self.server.port}"
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(more or {})
        return h

    def request(self, method, path, body=None, headers=None):
        return self.server.request(method, path, body, headers=self.headers(method, headers))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def login(server, username, password):
    """Signs in; the client with its cookie, and the response."""
    r = server.post("/api/v1/auth/login", {"username": username, "password": password})
    return Client(server, cookie=cookie_of(r)) if r.status == 200 else None, r


def first_admin(server, username="admin", password=ADMIN_PASSWORD):
    """Claims the setup token: the administrator's client."""
    tok = setup_token(server)
    if not tok:
        raise RuntimeError("no setup token in the log:\n" + server.log_text()[-2000:])
    r = server.post("/api/v1/auth/setup", {"setup_token": tok, "username": username,
                                           "password": password})
    if r.status != 201:
        raise RuntimeError(f"setup failed: {r!r}")
    return Client(server, cookie=cookie_of(r)), tok


def make_account(admin, username, role, persons=(), password="a long password 1"):
    r = admin.post("/api/v1/accounts/", {"username": username, "role": role,
                                         "password": password, "persons": list(persons)})
    if r.status != 201:
        raise RuntimeError(f"creating account {username}: {r!r}")
    return r.json()


def make_token(client, scope, name="t", **fields):
    body = {"name": name, "scope": scope}
    body.update(fields)
    r = client.post("/api/v1/auth/tokens/", body)
    if r.status != 201:
        raise RuntimeError(f"creating a {scope} token: {r!r}")
    return r.json()


def sql(url, statement):
    """Runs statement on the test database; its output rows as text."""
    if url.startswith("sqlite:"):
        path = urllib.parse.unquote(url.split("://", 1)[1][1:].split("?", 1)[0])
        db = sqlite3.connect(path, timeout=30)
        try:
            rows = db.execute(statement).fetchall()
            db.commit()
        finally:
            db.close()
        return "\n".join("|".join("" if v is None else str(v) for v in row) for row in rows)
    return dblib.sql(url, statement)


def dialect():
    return apilib.DIALECT


def env_flag(name):
    return os.environ.get(name, "")
