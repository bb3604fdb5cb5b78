"""Shared helpers of the dosing suites (t090-t092, issue 15): requests with
the dosing fields (X-MediTrack-Fields: extended), SQL on the test database
of any dialect (SQLite through Python's sqlite3 module, PostgreSQL and
MariaDB through their command-line clients, as dblib does), instants as
the API writes them, and many requests sent at once. Python 3 stdlib only."""

import datetime
import json
import sqlite3
import threading
import urllib.parse

import apilib
import dblib

EXT = {"X-MediTrack-Fields": "extended"}
D = "/api/v1/doses"
UTC = datetime.timezone.utc


def q(params):
    return urllib.parse.urlencode(params)


def sql(url, statement):
    """Runs statement on the test database in a session of its own and
    returns its rows as lists of text (None for NULL on SQLite)."""
    if apilib.DIALECT == "sqlite":
        path = url.split("://", 1)[1][1:].split("?", 1)[0]
        db = sqlite3.connect(path, timeout=30)
        try:
            cur = db.execute(statement)
            rows = [[None if v is None else str(v) for v in row] for row in cur.fetchall()]
            db.commit()
            return rows
        finally:
            db.close()
    out = dblib.sql(url, statement)
    sep = "|" if apilib.DIALECT == "postgresql" else "\t"
    return [line.split(sep) for line in out.splitlines() if line]


def iso(dt):
    """An aware datetime as the API writes it: UTC, Z, microseconds only
    when not zero."""
    dt = dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += dt.strftime(".%f")
    return text + "Z"


def parse(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def local_instant(day, hhmm, tz):
    """The instant of local wall time day hh:mm at a JavaScript-sign offset."""
    h, m = (int(x) for x in hhmm.split(":"))
    naive = datetime.datetime(day.year, day.month, day.day, h, m)
    return (naive + datetime.timedelta(minutes=tz)).replace(tzinfo=UTC)


def medication(srv, person_id, name, max_doses=4, **rules):
    body = {"person_id": person_id, "name": name, "dosage": "1 tab", "frequency": "as needed",
            "max_doses_per_day": max_doses}
    body.update(rules)
    r = srv.post("/api/v1/medications/", body, headers=EXT)
    if r.status != 201:
        raise RuntimeError(f"creating medication {name}: {r!r}")
    return r.json()


def record_at(srv, med, day, hhmm, tz=0, body=None, headers=None):
    h = dict(EXT)
    h.update(headers or {})
    return srv.post(f"{D}/medications/{med}/dose/{day.isoformat()}?" +
                    q({"time": hhmm, "timezone_offset": tz}), body, headers=h)


def record_now(srv, med, body=None, headers=None):
    h = dict(EXT)
    h.update(headers or {})
    return srv.post(f"{D}/medications/{med}/dose", body, headers=h)


def move(srv, dose_id, when):
    """Moves a dose to the instant when (a correction)."""
    r = srv.request("PATCH", f"{D}/{dose_id}", {"taken_at": iso(when)})
    if r.status != 200:
        raise RuntimeError(f"moving dose {dose_id}: {r!r}")
    return r.json()


def at_once(n, fn):
    """Calls fn(i) for i in range(n) on n threads released together;
    returns the results in order (an exception is returned as such)."""
    results = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        try:
            gate.wait(30)
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def statuses(results):
    """{status: count} of responses (exceptions under "error")."""
    out = {}
    for r in results:
        key = r.status if hasattr(r, "status") else "error"
        out[key] = out.get(key, 0) + 1
    return out


def taken_count(url, med):
    return int(sql(url, f"SELECT COUNT(*) FROM doses WHERE medication_id = {int(med)} "
                        "AND status = 'taken'")[0][0])


def dumps(obj):
    return json.dumps(obj)[:400]
