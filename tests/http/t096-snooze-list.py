#!/usr/bin/env python3
"""Snooze and skip from the due list (issue 16, docs/reminders.md), on the
dialect of MT_TEST_DIALECT, with the test clock (two minutes a second) and
a local receiver for the person's ntfy channel. Covered: a due slot
carries the reminder the worker planned for it (id, state, snoozed_until);
the signed-in snooze POST /api/v1/persons/{person_id}/reminders/{slot_id}/
snooze by a carer, after which the worker sends nothing until the snooze
ends and then one reminder, and the carers' escalation is timed from the
snooze's end, not the slot; a reminder snoozed before its time is held and
sent once when the snooze ends; a skip closes the slot and a snooze of it is a
409; viewers and read tokens get 403, a slot of another person 404, bad
minutes 422; with AUTH=off the operation is open like the other writes."""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
import authlib  # noqa: E402
import notifylib  # noqa: E402
from apilib import check, expect  # noqa: E402

SPEED = 120
KEY = "7c4a8d09ca3762af61e59520943dc26494f8941b0123456789abcdef01234567"
DAY = "2026-05-04"
SLOT_KEYS = ["medication_id", "medication_name", "slot_at", "local_time", "status", "dose_id",
             "taken_at", "late_until", "reminder"]
servers = []


def iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


class Clock:
    """The server's clock, calibrated from a created_at it returned."""

    def __init__(self, created_at):
        self.at = iso(created_at)
        self.real = time.time()

    def now(self):
        return self.at + datetime.timedelta(seconds=(time.time() - self.real) * SPEED)

    def wait_for(self, instant):
        delay = (instant - self.now()).total_seconds() / SPEED
        if delay > 0:
            time.sleep(delay)


def start(tag, env):
    base = {"ALLOW_TEST_CLOCK": "true", "TEST_CLOCK_SPEED": str(SPEED), "LOG_LEVEL": "info",
            "NOTIFY_TIMEOUT": "1", "NOTIFY_SECRET_KEY": KEY}
    base.update(env)
    s = apilib.Server(tag, env=base)
    servers.append(s)
    return s


def med(client, pid, name, times):
    body = {"person_id": pid, "name": name, "dosage": "1 tab", "frequency": "daily",
            "max_doses_per_day": 4, "schedule": {"times": times, "days": "daily"}}
    r = client.post("/api/v1/medications/", body)
    if r.status != 201:
        raise RuntimeError(f"medication {name}: {r!r}")
    return r.json()


def due_slot(client, pid, med_id):
    r = client.get(f"/api/v1/persons/{pid}/due/{DAY}")
    if r.status != 200:
        return None
    return next((x for x in r.json()["slots"] if x["medication_id"] == med_id), None)


def planned(client, pid, med_id, state=None, timeout=20):
    """The due slot of the medication once its reminder is planned (and in
    state, when given)."""
    def ready():
        x = due_slot(client, pid, med_id)
        ok = x and x.get("reminder") and (state is None or x["reminder"]["state"] == state)
        return x if ok else None
    return notifylib.wait_for(ready, timeout)


def snooze_path(pid, slot):
    return f"/api/v1/persons/{pid}/reminders/{slot}/snooze"


def deliveries(client, channel_id):
    r = client.get("/api/v1/notifications?limit=1000")
    return [d for d in (r.json() if r.status == 200 else []) if d["channel_id"] == channel_id]


def auth_scenario():
    h = notifylib.HttpReceiver("t096-h")
    try:
        run_auth(h)
    finally:
        h.stop()


def run_auth(h):
    s = start("t096", authlib.auth_env(ALLOW_TEST_CLOCK="true",
                                       TEST_CLOCK_START=f"{DAY}T07:30:00Z"))
    admin, _ = authlib.first_admin(s)
    r = admin.post("/api/v1/persons/", {"first_name": "Olga"})
    olga = r.json()["id"]
    clock = Clock(r.json()["created_at"])
    paul = admin.post("/api/v1/persons/", {"first_name": "Paul"}).json()["id"]
    r = admin.post(f"/api/v1/persons/{olga}/channels", {"type": "ntfy", "url": h.url("/olga")})
    if r.status != 201:
        raise RuntimeError(f"channel: {r!r}")
    ch = r.json()["id"]
    # Repeats every 5 minutes: without the snooze one would go at 08:05
    # and 08:10.
    # Escalation after 5 minutes, to the admin's own channel.
    r = admin.put(f"/api/v1/persons/{olga}/reminder-settings",
                  {"repeat_minutes": 5, "max_repeats": 5, "escalate_after_minutes": 5})
    if r.status != 200:
        raise RuntimeError(f"reminder settings: {r!r}")
    r = admin.post("/api/v1/auth/me/channels", {"type": "ntfy", "url": h.url("/admin")})
    if r.status != 201:
        raise RuntimeError(f"admin channel: {r!r}")
    r_admin_channel = r.json()["id"]
    med_a = med(admin, olga, "MedA", ["08:00"])["id"]
    med_b = med(admin, olga, "MedB", ["08:00"])["id"]
    authlib.make_account(admin, "carer1", "carer", persons=[olga])
    authlib.make_account(admin, "viewer1", "viewer", persons=[olga])
    carer, _ = authlib.login(s, "carer1", "a long password 1")
    viewer, _ = authlib.login(s, "viewer1", "a long password 1")
    read_tok = authlib.make_token(carer, "read", name="reader")["token"]
    reader = authlib.Client(s, token=read_tok)
    anon = authlib.Client(s)
    check("set up before 07:55", clock.now() < iso(f"{DAY}T07:55:00Z"), str(clock.now()))

    # The due list carries the planned reminder.
    a = planned(carer, olga, med_a)
    check("due slot of MedA has a planned reminder", a is not None, repr(a))
    a = a or {"reminder": {"id": 0}}
    slot_a = a["reminder"]["id"]
    check("every field of a due slot is kept, reminder added last",
          list(a.keys()) == SLOT_KEYS, repr(list(a.keys())))
    check("the reminder is {id, state open, snoozed_until null}",
          list(a["reminder"].keys()) == ["id", "state", "snoozed_until"] and
          isinstance(slot_a, int) and slot_a > 0 and a["reminder"]["state"] == "open" and
          a["reminder"]["snoozed_until"] is None and a["status"] == "pending", repr(a))
    stored = authlib.sql(s.url, "SELECT id FROM reminder_slots WHERE medication_id = "
                         f"{med_a}").split()
    check("its id is the reminder slot's", stored == [str(slot_a)], repr(stored))
    v = due_slot(viewer, olga, med_a)
    check("a viewer reads the reminder too", v and v["reminder"] == a["reminder"], repr(v))
    p_med = med(admin, paul, "MedPaul", ["09:00"])["id"]
    pd = due_slot(admin, paul, p_med)
    check("a slot the worker has not planned yet: reminder null",
          pd is not None and "reminder" in pd and pd["reminder"] is None, repr(pd))

    # Refusals that change nothing.
    for body in ({"minutes": 0}, {"minutes": 1441}, {"minutes": "soon"}, {}):
        r = carer.post(snooze_path(olga, slot_a), body)
        det = (r.json() or {}).get("detail") if r.status == 422 else None
        check(f"minutes {body.get('minutes', 'missing')}: 422 on body.minutes",
              r.status == 422 and isinstance(det, list) and det and
              det[0].get("loc") == ["body", "minutes"], repr(r))
    expect("no body: 422", carer.post(snooze_path(olga, slot_a)), 422)
    expect("a viewer may not snooze", viewer.post(snooze_path(olga, slot_a), {"minutes": 10}),
           403, {"detail": "Not enough permissions"})
    expect("a read token may not snooze",
           reader.post(snooze_path(olga, slot_a), {"minutes": 10}), 403,
           {"detail": "Not enough permissions"})
    expect("anonymous: 401", anon.post(snooze_path(olga, slot_a), {"minutes": 10}), 401)
    expect("a slot of another person: 404",
           admin.post(snooze_path(paul, slot_a), {"minutes": 10}), 404,
           {"detail": "Reminder not found"})
    expect("a person the carer may not see: 404",
           carer.post(snooze_path(paul, slot_a), {"minutes": 10}), 404)
    expect("a missing slot: 404",
           carer.post(snooze_path(olga, 987654), {"minutes": 10}), 404,
           {"detail": "Reminder not found"})
    check("the refusals left the reminder open",
          (due_slot(carer, olga, med_a) or {}).get("reminder") == a["reminder"])

    # Skip from the list: MedB's slot is skipped by a skip row now (within
    # the window before 08:00), the worker closes it, a snooze is a 409.
    b = planned(carer, olga, med_b)
    slot_b = (b or {}).get("reminder", {}).get("id", 0)
    r = carer.post(f"/api/v1/doses/medications/{med_b}/skip", {"reason": "fasting for a test"})
    expect("carer skips MedB from the list", r, 201)
    b = planned(carer, olga, med_b, state="skipped")
    check("the due slot is skipped and so is its reminder",
          b is not None and b["status"] == "skipped" and b["reminder"]["id"] == slot_b, repr(b))
    r = carer.post(snooze_path(olga, slot_b), {"minutes": 10})
    check("snoozing a skipped slot: 409 naming its state",
          r.status == 409 and "skipped" in str((r.json() or {}).get("detail")), repr(r))

    # The 08:00 reminder goes out; the carer snoozes it for 10 minutes.
    got = notifylib.wait_for(lambda: h.records("/olga"), 25)
    check("the 08:00 reminder was sent", len(got or []) == 1, repr(got))
    r = carer.post(snooze_path(olga, slot_a), {"minutes": 10})
    clicked = clock.now()
    out = r.json() or {}
    check("carer snoozes: the link's SnoozeOutcome", r.status == 200 and
          list(out.keys()) == ["slot_id", "state", "snoozed_until"] and
          out["slot_id"] == slot_a and out["state"] == "snoozed", repr(r))
    until = iso(out.get("snoozed_until", f"{DAY}T00:00:00Z"))
    check("snoozed for 10 minutes from now",
          datetime.timedelta(minutes=9) <= until - clicked <= datetime.timedelta(minutes=11),
          f"{until} {clicked}")
    check("before the 08:05 repeat", clicked < iso(f"{DAY}T08:05:00Z"), str(clicked))
    a2 = due_slot(carer, olga, med_a) or {}
    check("the due list shows the snooze", a2.get("reminder") == {
        "id": slot_a, "state": "snoozed", "snoozed_until": out.get("snoozed_until")}, repr(a2))
    check("the snooze is logged at INFO with ids",
          f"reminder slot {slot_a} of person {olga} snoozed for 10 min by account" in s.log_text())
    clock.wait_for(until - datetime.timedelta(minutes=1))
    check("nothing more is sent while snoozed", len(h.records("/olga")) == 1,
          repr(h.records("/olga")))
    clock.wait_for(until + datetime.timedelta(minutes=3))
    notifylib.wait_for(lambda: len(h.records("/olga")) >= 2, 10)
    # The escalation is timed from the end of the snooze (until + 5), not
    # from the slot (08:05, which the snooze passed).
    check("no escalation to the carers while the snooze answers the slot",
          h.records("/admin") == [], repr(h.records("/admin")))
    # The receiver has a message a moment before the worker records it as
    # sent: wait for the log to say so.
    notifylib.wait_for(
        lambda: len([d for d in deliveries(carer, ch) if d["status"] == "sent"]) >= 2, 10)
    log = sorted((d for d in deliveries(carer, ch) if d["status"] == "sent"),
                 key=lambda d: d["sent_at"])
    check("after the snooze: one more reminder, due at its end (no 08:05 or 08:10 repeat)",
          len(h.records("/olga")) == 2 and len(log) == 2 and log[1]["kind"] == "repeat" and
          iso(log[1]["due_at"]) == until and iso(log[1]["sent_at"]) >= until,
          repr([(d["kind"], d["due_at"], d["sent_at"]) for d in log]))
    clock.wait_for(until + datetime.timedelta(minutes=6))
    esc = notifylib.wait_for(lambda: h.records("/admin"), 10) or []
    check("the escalation comes 5 minutes after the snooze ended, once", len(esc) == 1 and any(
        d["kind"] == "escalation" and iso(d["due_at"]) == until + datetime.timedelta(minutes=5)
        for d in deliveries(admin, r_admin_channel)), repr(esc))
    a3 = due_slot(carer, olga, med_a) or {}
    check("the reminder is open again, snoozed_until null",
          (a3.get("reminder") or {}).get("state") == "open" and
          a3["reminder"]["snoozed_until"] is None, repr(a3))
    s.stop()


def open_scenario():
    """AUTH=off: the operation is open, like every write."""
    h = notifylib.HttpReceiver("t096-off")
    try:
        s = start("t096off", {"TEST_CLOCK_START": f"{DAY}T07:58:00Z"})
        kim = apilib.person(s, "Kim")
        clock = Clock(kim["created_at"])
        pid = kim["id"]
        other = apilib.person(s, "Lee")["id"]
        r = s.post(f"/api/v1/persons/{pid}/channels", {"type": "ntfy", "url": h.url("/kim")})
        if r.status != 201:
            raise RuntimeError(f"channel: {r!r}")
        ch = r.json()["id"]
        m = med(s, pid, "MedKim", ["08:10"])["id"]
        x = planned(s, pid, m)
        slot = (x or {}).get("reminder", {}).get("id", 0)
        check("AUTH=off: the due slot has its reminder", slot > 0, repr(x))
        expect("AUTH=off: another person's path is a 404",
               s.post(snooze_path(other, slot), {"minutes": 5}), 404)
        # Snoozed ahead of its 08:10 time, until after it: the reminder is
        # held, not dropped, and goes out once, when the snooze ends.
        r = s.post(snooze_path(pid, slot), {"minutes": 20})
        out = r.json() or {}
        check("AUTH=off: snoozed without credentials",
              r.status == 200 and out.get("state") == "snoozed", repr(r))
        until = iso(out.get("snoozed_until", f"{DAY}T08:20:00Z"))
        check("snoozed past the slot's time", until > iso(f"{DAY}T08:10:00Z"), str(until))
        clock.wait_for(until - datetime.timedelta(minutes=2))
        check("nothing is sent at the slot's time while it is snoozed", h.records("/kim") == [],
              repr(h.records("/kim")))
        notifylib.wait_for(lambda: h.records("/kim"), 15)
        clock.wait_for(until + datetime.timedelta(minutes=2))
        notifylib.wait_for(lambda: any(d["status"] == "sent" for d in deliveries(s, ch)), 10)
        log = deliveries(s, ch)
        check("when the snooze ends: the one reminder goes out, none is missed",
              len(h.records("/kim")) == 1 and [d["kind"] for d in log] == ["reminder"] and
              log[0]["status"] == "sent" and iso(log[0]["sent_at"]) >= until,
              repr([(d["kind"], d["status"], d["due_at"], d.get("sent_at")) for d in log]))
        s.stop()
    finally:
        h.stop()


def main():
    print(f"t096 on {apilib.DIALECT}")
    try:
        auth_scenario()
        open_scenario()
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.stop()
    apilib.report()


if __name__ == "__main__":
    main()
