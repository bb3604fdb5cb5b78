#!/usr/bin/env python3
"""Reminders with real receivers (issue 16, docs/reminders.md), on the
dialect of MT_TEST_DIALECT: a local HTTP receiver records what ntfy, Gotify
and webhook channels post (and checks the webhook's HMAC), a local SMTP
server (python3-aiosmtpd) records the mails. The server runs on the test
clock (two minutes a second), so a morning of reminders takes seconds.
Covered: the channels API and its refusals, every channel type delivering,
receiver down / 500 / slow retried with backoff and recorded, repeats,
a recorded dose ending repeats, snooze links (and forged ones), quiet
hours, escalation to carers and admins (AUTH=on), the horizon after an
outage, and secrets never in responses or logs."""

import datetime
import email
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apilib  # noqa: E402
import authlib  # noqa: E402
import notifylib  # noqa: E402
from apilib import check  # noqa: E402

SPEED = 120
KEY = "5d41402abc4b2a76b9719d911017c592aabbccddeeff00112233445566778899"
NTFY_TOKEN = "tk_ntfy_Zq8sXr2"
GOTIFY_TOKEN = "AgotifyTok3nW"
HOOK_SECRET = "hook-secret-Pm4v"
SMTP_USER, SMTP_PASS = "mailer", "smtp-pass-Vx9"
SECRETS = [NTFY_TOKEN, GOTIFY_TOKEN, HOOK_SECRET, SMTP_PASS, KEY]
servers = []


def link_sig(slot, minutes, expires):
    """A snooze link's signature, as the server makes it (docs/reminders.md)."""
    import base64
    import hashlib
    import hmac
    k = hmac.new(bytes.fromhex(KEY), b"meditrack snooze link v2", hashlib.sha256).digest()
    mac = hmac.new(k, f"snooze:{slot}:{minutes}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


class Clock:
    """The server's clock, calibrated from a created_at it returned."""

    def __init__(self, created_at):
        self.at = iso(created_at)
        self.real = time.time()

    def now(self):
        return self.at + datetime.timedelta(seconds=(time.time() - self.real) * SPEED)

    def wait_until(self, hhmm):
        h, m = map(int, hhmm.split(":"))
        target = self.now().replace(hour=h, minute=m, second=0, microsecond=0)
        delay = (target - self.now()).total_seconds() / SPEED
        if delay > 0:
            time.sleep(delay)


def start(tag, env):
    base = {"ALLOW_TEST_CLOCK": "true", "TEST_CLOCK_SPEED": str(SPEED), "LOG_LEVEL": "info",
            "NOTIFY_TIMEOUT": "1", "PUBLIC_URL": "https://meds.example.org/",
            "NOTIFY_SECRET_KEY": KEY}
    base.update(env)
    s = apilib.Server(tag, env=base)
    servers.append(s)
    return s


def notifications(s, client=None):
    r = (client or s).get("/api/v1/notifications?limit=1000")
    return r.json() if r.status == 200 else []


def of_channel(s, ch, client=None):
    return [d for d in notifications(s, client) if d["channel_id"] == ch]


def channel(s, pid, body, client=None):
    r = (client or s).post(f"/api/v1/persons/{pid}/channels", body)
    if r.status != 201:
        raise RuntimeError(f"channel {body.get('type')}: {r!r}")
    return r.json()


def med(s, pid, name, times, client=None):
    body = {"person_id": pid, "name": name, "dosage": "1 tab", "frequency": "daily",
            "max_doses_per_day": 4, "schedule": {"times": times, "days": "daily"}}
    r = (client or s).post("/api/v1/medications/", body)
    if r.status != 201:
        raise RuntimeError(f"medication {name}: {r!r}")
    return r.json()


def channels_api(s, h, pid):
    """The channels API: answers, refusals, no secrets."""
    r = s.post(f"/api/v1/persons/{pid}/channels",
               {"type": "ntfy", "url": h.url("/api-ntfy"), "token": NTFY_TOKEN})
    apilib.expect("ntfy channel created", r, 201,
                  keys=["id", "person_id", "account_id", "type", "url", "to", "enabled",
                        "has_secret", "created_at"])
    ch = r.json() or {}
    check("has_secret, and no token in the answer",
          ch.get("has_secret") is True and NTFY_TOKEN not in r.text(), r.text())
    shown = h.url("/api-ntfy").split("/api-ntfy")[0] + "/\u2026"
    check("the URL is answered redacted (scheme://host:port/...), never the topic",
          ch.get("url") == shown and "/api-ntfy" not in r.text(), r.text())
    stored = authlib.sql(s.url, f"SELECT url FROM notification_channels WHERE id = {ch.get('id')}")
    check("the URL is stored redacted, the full one only sealed",
          stored.strip() == shown and "api-ntfy" not in
          authlib.sql(s.url, "SELECT url, secret_sealed FROM notification_channels"), stored)
    r = s.post(f"/api/v1/persons/{pid}/channels", {"type": "ntfy", "url": h.url("/no-token")})
    check("a channel without token has has_secret false (its URL is sealed all the same)",
          r.status == 201 and r.json()["has_secret"] is False, repr(r))
    s.delete(f"/api/v1/channels/{r.json()['id']}")
    refusals = [
        ({"type": "webhook", "url": h.url("/x")}, 400, "secret"),
        ({"type": "gotify", "url": h.url("/g")}, 400, "token"),
        ({"type": "ntfy", "url": "http://user:pw-Secret1@127.0.0.1/t"}, 400, "user or password"),
        ({"type": "gotify", "url": h.url("/g?token=inurlTok"), "token": "t"}, 400, "no query"),
        ({"type": "ntfy", "url": "ftp://127.0.0.1/t"}, 400, "http"),
        ({"type": "ntfy", "url": h.url("/t"), "token": "has space"}, 400, "token"),
        ({"type": "ntfy", "url": h.url("/t"), "to": "a@b.example"}, 400, "email"),
        ({"type": "email", "to": "a@b.example, c@d.example"}, 400, "e-mail address"),
        ({"type": "email", "to": "x@y.example\r\nBcc: z@w.example"}, 400, "e-mail address"),
        ({"type": "telegram", "url": h.url("/t")}, 422, None),
        ({"url": h.url("/t")}, 422, None),
    ]
    for body, status, word in refusals:
        r = s.post(f"/api/v1/persons/{pid}/channels", body)
        detail = json.dumps((r.json() or {}).get("detail"))
        check(f"channel {json.dumps(body)[:60]} refused with {status}",
              r.status == status and (word is None or word in detail), repr(r))
        check("a refusal never quotes a secret",
              "pw-Secret1" not in r.text() and "inurlTok" not in r.text(), r.text())
    apilib.expect("channel of a missing person", s.post("/api/v1/persons/9999/channels",
                  {"type": "ntfy", "url": h.url("/t")}), 404)
    lst = s.get(f"/api/v1/persons/{pid}/channels")
    check("the list shows the channel without its token",
          lst.status == 200 and NTFY_TOKEN not in lst.text() and
          any(c["id"] == ch.get("id") for c in lst.json()), repr(lst))
    # The test message: sent now, recorded in the log.
    t = s.post(f"/api/v1/channels/{ch['id']}/test")
    check("test message sent", t.status == 200 and (t.json() or {}).get("status") == "sent",
          repr(t))
    got = h.records("/api-ntfy")
    check("the receiver got the test message with the bearer token",
          len(got) == 1 and got[0]["headers"].get("title") == "MediTrack test message" and
          got[0]["headers"].get("authorization") == f"Bearer {NTFY_TOKEN}", repr(got))
    log = of_channel(s, ch["id"])
    check("the test is in the log", len(log) == 1 and log[0]["kind"] == "test" and
          log[0]["status"] == "sent" and log[0]["slot"] is None, repr(log))
    apilib.expect("delete the channel", s.delete(f"/api/v1/channels/{ch['id']}"), 204)
    apilib.expect("deleted channel is gone", s.delete(f"/api/v1/channels/{ch['id']}"), 404)
    apilib.expect("test of a missing channel", s.post("/api/v1/channels/9999/test"), 404)
    # Settings: checked, echoed.
    for body in ({"quiet_start": "22:00"}, {"quiet_start": "25:00", "quiet_end": "07:00"},
                 {"repeat_minutes": 0}, {"escalate_after_minutes": -5}):
        r = s.put(f"/api/v1/persons/{pid}/reminder-settings", body)
        check(f"settings {body} refused", r.status in (400, 422), repr(r))
    # Settings that could never take effect (REMINDER_HORIZON_MINUTES is
    # 720 here, and AUTH is off: no accounts to escalate to).
    for body, word in (({"escalate_after_minutes": 30}, "AUTH=on"),
                       ({"repeat_minutes": 720}, "REMINDER_HORIZON_MINUTES"),
                       ({"quiet_start": "20:00", "quiet_end": "08:00"},
                        "REMINDER_HORIZON_MINUTES")):
        r = s.put(f"/api/v1/persons/{pid}/reminder-settings", body)
        check(f"settings {body} refused with a clear 400", r.status == 400 and
              word in json.dumps((r.json() or {}).get("detail")), repr(r))
    apilib.expect("quiet hours shorter than the horizon are fine",
                  s.put(f"/api/v1/persons/{pid}/reminder-settings",
                        {"quiet_start": "23:00", "quiet_end": "07:00"}), 200)
    s.put(f"/api/v1/persons/{pid}/reminder-settings", {})
    r = s.get(f"/api/v1/persons/{pid}/reminder-settings")
    check("default settings", r.status == 200 and r.json()["repeat_minutes"] is None and
          r.json()["escalate_after_minutes"] is None, repr(r))


def main_scenario():
    h = notifylib.HttpReceiver("t094-h")
    down = notifylib.HttpReceiver("t094-down")
    mail = notifylib.SmtpReceiver("t094-mail", SMTP_USER, SMTP_PASS)
    h.control(secrets={"/anna-hook": HOOK_SECRET})
    down.control(secrets={"/cody": HOOK_SECRET})
    s = start("t094", {"TEST_CLOCK_START": "2026-05-04T07:50:00Z", "NOTIFY_SECRET_KEY": KEY,
                       "SMTP_URL": f"smtp://{SMTP_USER}:{SMTP_PASS}@127.0.0.1:{mail.port}",
                       "SMTP_FROM": "MediTrack <meditrack@home.example>"})
    people = {}
    first = apilib.person(s, "Anna")
    clock = Clock(first["created_at"])
    people["Anna"] = first["id"]
    for name in ("Ben", "Cody", "Dora", "Fay", "Gus", "Hana", "Ivo", "Jon"):
        people[name] = apilib.person(s, name)["id"]
    channels_api(s, h, people["Anna"])

    # Anna: every channel type at 08:00.
    ch = {}
    ch["ntfy"] = channel(s, people["Anna"], {"type": "ntfy", "url": h.url("/anna-ntfy"),
                                             "token": NTFY_TOKEN})["id"]
    ch["gotify"] = channel(s, people["Anna"], {"type": "gotify", "url": h.url("/anna-gotify/"),
                                               "token": GOTIFY_TOKEN})["id"]
    ch["webhook"] = channel(s, people["Anna"], {"type": "webhook", "url": h.url("/anna-hook"),
                                                "secret": HOOK_SECRET})["id"]
    ch["email"] = channel(s, people["Anna"], {"type": "email", "to": "anna@example.org"})["id"]
    # has_secret in a list: gotify and webhook channels are answered from
    # their type (they cannot exist without a token or secret), ntfy by
    # opening its sealed value, email has none.
    r = s.get(f"/api/v1/persons/{people['Anna']}/channels")
    listed = {c["id"]: c["has_secret"] for c in r.json()} if r.status == 200 else {}
    check("the channel list says has_secret for each type",
          {t: listed.get(i) for t, i in ch.items()} ==
          {"ntfy": True, "gotify": True, "webhook": True, "email": False}, repr(r))
    anna_med = med(s, people["Anna"], "Aspirin", ["08:00"])
    # Ben: 500 twice, then accepted. Cody: receiver down until 08:10.
    # Dora: slower than NOTIFY_TIMEOUT until 08:10.
    h.control(path="/ben", fail_next=2)
    ben = channel(s, people["Ben"], {"type": "ntfy", "url": h.url("/ben")})["id"]
    cody = channel(s, people["Cody"], {"type": "webhook", "url": down.url("/cody"),
                                       "secret": HOOK_SECRET})["id"]
    down.stop()
    h.control(path="/dora", mode="slow", delay=2.5)
    dora = channel(s, people["Dora"], {"type": "ntfy", "url": h.url("/dora")})["id"]
    for name in ("Ben", "Cody", "Dora"):
        med(s, people[name], f"Med{name}", ["08:00"])
    # Fay: repeats every 5 minutes, at most 2. Gus: the same, at most 5,
    # but a dose is recorded after the first repeat. Hana: snoozes.
    # Ivo: quiet hours until 08:20.
    fay = channel(s, people["Fay"], {"type": "ntfy", "url": h.url("/fay")})["id"]
    gus = channel(s, people["Gus"], {"type": "ntfy", "url": h.url("/gus")})["id"]
    hana = channel(s, people["Hana"], {"type": "ntfy", "url": h.url("/hana")})["id"]
    ivo = channel(s, people["Ivo"], {"type": "ntfy", "url": h.url("/ivo")})["id"]
    apilib.expect("repeat settings", s.put(f"/api/v1/persons/{people['Fay']}/reminder-settings",
                  {"repeat_minutes": 5, "max_repeats": 2}), 200)
    s.put(f"/api/v1/persons/{people['Gus']}/reminder-settings",
          {"repeat_minutes": 5, "max_repeats": 5})
    r = s.put(f"/api/v1/persons/{people['Ivo']}/reminder-settings",
              {"quiet_start": "07:00", "quiet_end": "08:20"})
    apilib.expect("quiet hours set", r, 200)
    check("quiet hours echoed", (r.json() or {}).get("quiet_end") == "08:20", repr(r))
    med(s, people["Fay"], "MedFay", ["08:00"])
    gus_med = med(s, people["Gus"], "MedGus", ["08:00"])
    med(s, people["Hana"], "MedHana", ["08:00"])
    med(s, people["Ivo"], "MedIvo", ["08:00"])
    # Jon: 08:10, moved to 08:12 once the 08:10 reminder is planned.
    jon = channel(s, people["Jon"], {"type": "ntfy", "url": h.url("/jon")})["id"]
    jon_med = med(s, people["Jon"], "MedJon", ["08:10"])
    check("everything set up before 08:00", clock.now().hour == 7, str(clock.now()))

    # ---- 08:00: the reminders ----
    sent = notifylib.wait_for(lambda: all(
        any(d["status"] == "sent" for d in of_channel(s, c)) for c in ch.values()), 30)
    check("Anna: every channel type delivered", sent, json.dumps(notifications(s))[:1500])
    nt = h.records("/anna-ntfy")
    hd = nt[0]["headers"] if nt else {}
    check("ntfy: one post with Title, Priority, Tags, Actions and the bearer token",
          len(nt) == 1 and hd.get("title") == "Time for Aspirin" and hd.get("priority") == "4" and
          hd.get("tags") == "pill" and "/api/v1/reminders/" in hd.get("actions", "") and
          hd.get("authorization") == f"Bearer {NTFY_TOKEN}" and "08:00" in nt[0]["body"],
          repr(nt))
    go = h.records("/anna-gotify/message")
    gb = json.loads(go[0]["body"]) if go else {}
    check("gotify: POST /message with X-Gotify-Key, title and priority",
          len(go) == 1 and go[0]["headers"].get("x-gotify-key") == GOTIFY_TOKEN and
          gb.get("title") == "Time for Aspirin" and gb.get("priority") == 8, repr(go))
    wh = h.records("/anna-hook")
    wb = json.loads(wh[0]["body"]) if wh else {}
    check("webhook: HMAC-SHA256 signature and timestamp verified by the receiver",
          len(wh) == 1 and wh[0]["hmac"] == "ok", repr(wh))
    check("webhook: the event's fields", wb.get("kind") == "reminder" and
          wb.get("medication_id") == anna_med["id"] and wb.get("slot_at") == "2026-05-04T08:00:00Z"
          and isinstance(wb.get("delivery_id"), int) and "snooze_url" in wb, repr(wb))
    mails = notifylib.wait_for(lambda: mail.messages(), 10)
    msg = email.message_from_string(mails[0]["data"]) if mails else None
    check("email: one mail, authenticated, to the channel's address",
          len(mails) == 1 and mails[0]["rcpt_tos"] == ["anna@example.org"] and
          mails[0]["auth_user"] == SMTP_USER and mails[0]["mail_from"] == "meditrack@home.example",
          repr(mails))
    if msg:
        body = msg.get_payload(decode=True).decode()
        check("email: RFC 5322 headers (From, To, Subject, Date, Message-ID)",
              msg["From"] == "MediTrack <meditrack@home.example>" and
              msg["To"] == "anna@example.org" and msg["Subject"] == "Time for Aspirin" and
              email.utils.parsedate_to_datetime(msg["Date"]) is not None and
              msg["Message-ID"].endswith("@home.example>") and "08:00" in body, str(msg)[:800])

    planned = notifylib.wait_for(lambda: of_channel(s, jon), 10)
    check("Jon's 08:10 reminder is planned", len(planned) == 1 and
          planned[0]["due_at"] == "2026-05-04T08:10:00Z", repr(planned))
    r = s.put(f"/api/v1/medications/{jon_med['id']}",
              {"schedule": {"times": ["08:12"], "days": "daily"}})
    check("Jon's schedule moved to 08:12", r.status == 200, repr(r))
    # Read at once, with the list's own status: a failing or empty list must
    # not pass for "cancelled". By now it holds Anna's sent deliveries, and
    # Jon's channel nothing or the new 08:12 reminder only.
    r = s.get("/api/v1/notifications?limit=1000")
    listed = r.json() if r.status == 200 else None
    listed = listed if isinstance(listed, list) else []
    anna_sent = all(any(d["channel_id"] == c and d["status"] == "sent" for d in listed)
                    for c in ch.values())
    gone = [d["due_at"][11:16] for d in listed if d["channel_id"] == jon]
    check("the change cancelled the 08:10 reminder in the same request",
          r.status == 200 and anna_sent and gone in ([], ["08:12"]),
          f"{r.status} anna_sent={anna_sent} jon={gone!r}")

    # Gus: the first repeat at 08:05, then a dose: no more repeats.
    notifylib.wait_for(lambda: len(h.records("/gus")) >= 2, 20)
    r = s.post(f"/api/v1/doses/medications/{gus_med['id']}/dose", {"timezone_offset": 0})
    check("a dose recorded for Gus", r.status == 201, repr(r))
    gus_dose_at = iso((r.json() or {}).get("taken_at", "2026-05-04T08:00:00Z"))

    # Ben: two 500s, then sent; attempts recorded.
    ok = notifylib.wait_for(lambda: [d for d in of_channel(s, ben) if d["status"] == "sent"], 30)
    check("500 twice: retried with backoff and sent on the third attempt",
          ok and ok[0]["attempts"] == 3, repr(of_channel(s, ben)))
    statuses = [r["status"] for r in h.records("/ben")]
    check("the receiver saw 500, 500, 200", statuses == [500, 500, 200], repr(statuses))

    # Cody: the receiver is down; the failure is recorded without secrets.
    fail = notifylib.wait_for(lambda: [d for d in of_channel(s, cody) if d["last_error"]], 20)
    err = fail[0]["last_error"] if fail else ""
    check("receiver down: recorded as pending with the reason",
          fail and fail[0]["status"] == "pending" and "127.0.0.1" in err and
          "/cody" not in err, repr(fail))
    # Dora: slower than NOTIFY_TIMEOUT.
    slow = notifylib.wait_for(lambda: [d for d in of_channel(s, dora) if d["last_error"]], 20)
    check("receiver slow: timed out, recorded and retried",
          slow and slow[0]["status"] in ("pending", "sending") and
          "imeout" in (slow[0]["last_error"] or ""), repr(slow))
    clock.wait_until("08:10")
    down.start()  # back on the same port (a new process: told the secret again)
    down.control(secrets={"/cody": HOOK_SECRET})
    h.control(path="/dora", mode="ok", delay=0)
    ok = notifylib.wait_for(lambda: [d for d in of_channel(s, cody) if d["status"] == "sent"], 40)
    check("receiver back: the delivery goes out", ok and ok[0]["attempts"] >= 2,
          repr(of_channel(s, cody)))
    check("the returned receiver got it once, signed",
          [r["hmac"] for r in down.records("/cody")] == ["ok"], repr(down.records()))
    ok = notifylib.wait_for(lambda: [d for d in of_channel(s, dora) if d["status"] == "sent"], 40)
    check("slow receiver fast again: sent", bool(ok), repr(of_channel(s, dora)))

    # Hana: snooze from the link of the reminder.
    hrec = h.records("/hana")
    link = ""
    if hrec:
        actions = hrec[0]["headers"].get("actions", "")
        link = next((p.strip() for p in actions.split(",") if "/snooze?" in p), "")
    u = urllib.parse.urlsplit(link)
    check("the snooze link uses PUBLIC_URL", link.startswith("https://meds.example.org/api/v1/"),
          link)
    path = f"{u.path}?{u.query}"
    q = dict(urllib.parse.parse_qsl(u.query))
    forged = path.replace(f"minutes={q.get('minutes')}", "minutes=600")
    apilib.expect("a forged snooze link is refused", s.get(forged), 404)
    apilib.expect("a link without signature", s.get(path.split("&sig=")[0]), 422)
    slot_id = int(u.path.split("/")[4]) if u.path.count("/") >= 5 else 0
    apilib.expect("an expired (validly signed) snooze link is a 400",
                  s.get(f"/api/v1/reminders/{slot_id}/snooze?minutes=15&expires=1000"
                        f"&sig={link_sig(slot_id, 15, 1000)}"), 400)
    clicked = clock.now()
    r = s.get(path)
    check("the snooze link snoozes", r.status == 200 and
          (r.json() or {}).get("state") == "snoozed", repr(r))
    snoozed_until = iso((r.json() or {}).get("snoozed_until", "2026-05-04T00:00:00Z"))
    late = clicked - iso("2026-05-04T08:00:00Z")
    check(f"a click {late.total_seconds() / 60:.0f} min after the reminder snoozes the whole "
          "15 minutes from the click", q.get("minutes") == "15" and
          datetime.timedelta(minutes=14) <= snoozed_until - clicked <=
          datetime.timedelta(minutes=16) and late > datetime.timedelta(minutes=5),
          f"{snoozed_until} {clicked}")

    clock.wait_until("08:22")
    fay_log = sorted((d["kind"], d["seq"], d["status"]) for d in of_channel(s, fay))
    check("repeats: the reminder and max_repeats (2) repeats, no more",
          fay_log == [("reminder", 0, "sent"), ("repeat", 1, "sent"), ("repeat", 2, "sent")],
          repr(fay_log))
    fay_sorted = sorted(of_channel(s, fay), key=lambda d: d["seq"])
    gaps = [(iso(b["due_at"]) - iso(a["sent_at"])).total_seconds() / 60
            for a, b in zip(fay_sorted, fay_sorted[1:]) if a["sent_at"]]
    check("repeats every 5 minutes after the previous one was sent",
          fay_sorted and fay_sorted[0]["due_at"] == "2026-05-04T08:00:00Z" and len(gaps) == 2 and
          all(5 <= g < 6 for g in gaps), repr(gaps))
    gus_log = sorted(of_channel(s, gus), key=lambda d: d["seq"])
    check("a recorded dose ends the repeats: nothing due after it",
          len(gus_log) >= 2 and gus_log[1]["kind"] == "repeat" and
          all(iso(d["due_at"]) <= gus_dose_at for d in gus_log),
          repr([(d["kind"], d["seq"], d["due_at"]) for d in gus_log]))
    gus_slot = [d["slot"]["state"] for d in of_channel(s, gus)]
    check("the slot is done", gus_slot and all(x == "done" for x in gus_slot), repr(gus_slot))
    notifylib.wait_for(lambda: len(of_channel(s, hana)) >= 2 and all(
        d["status"] == "sent" for d in of_channel(s, hana)), 20)
    hana_log = sorted(of_channel(s, hana), key=lambda d: d["id"])
    check("snoozed: one more reminder when the snooze ends",
          [d["kind"] for d in hana_log] == ["reminder", "repeat"] and
          iso(hana_log[1]["due_at"]) == snoozed_until, repr(hana_log))
    ivo_log = of_channel(s, ivo)
    check("quiet hours: held until 08:20", len(ivo_log) == 1 and ivo_log[0]["status"] == "sent"
          and ivo_log[0]["due_at"] == "2026-05-04T08:00:00Z" and
          iso(ivo_log[0]["sent_at"]) >= iso("2026-05-04T08:20:00Z"), repr(ivo_log))
    check("quiet hours: the receiver got it once", len(h.records("/ivo")) == 1)
    jon_log = [(d["due_at"][11:16], d["status"]) for d in of_channel(s, jon)]
    check("a changed schedule: the old slot's reminder is dropped, the new one sent",
          jon_log == [("08:12", "sent")] and len(h.records("/jon")) == 1, repr(jon_log))
    check("each reminder of Anna reached each receiver once",
          len(h.records("/anna-ntfy")) == 1 and len(h.records("/anna-hook")) == 1 and
          len(mail.messages()) == 1)
    stored = authlib.sql(s.url, "SELECT secret_sealed FROM notification_channels")
    check("secrets are stored sealed, never in clear",
          stored.count("\n") >= 3 and not any(x in stored for x in SECRETS), stored[:200])
    everything = s.get("/api/v1/notifications?limit=1000").text() + \
        s.get(f"/api/v1/persons/{people['Anna']}/channels").text()
    check("no secret in the log endpoint or the channel list",
          not any(x in everything for x in SECRETS), everything[:300])
    s.stop()
    h.stop()
    down.stop()
    mail.stop()


def escalation_scenario():
    """AUTH=on: carers granted the person and admins get the escalation; a
    viewer and a carer of another person do not."""
    h = notifylib.HttpReceiver("t094-esc")
    s = start("t094esc", authlib.auth_env(TEST_CLOCK_START="2026-05-04T07:45:00Z",
                                          NOTIFY_SECRET_KEY=KEY))
    admin, _ = authlib.first_admin(s)
    r = admin.post("/api/v1/persons/", {"first_name": "Olga"})
    olga = r.json()["id"]
    clock = Clock(r.json()["created_at"])
    other = admin.post("/api/v1/persons/", {"first_name": "Paul"}).json()["id"]
    # The person's side first: accounts (argon2id hashing) take longer.
    olga_ch = channel(s, olga, {"type": "ntfy", "url": h.url("/olga")}, client=admin)["id"]
    admin.put(f"/api/v1/persons/{olga}/reminder-settings", {"escalate_after_minutes": 15})
    med(s, olga, "MedOlga", ["08:00"], client=admin)
    check("the person's reminder set up before 08:00", clock.now().hour == 7, str(clock.now()))
    authlib.make_account(admin, "carer1", "carer", persons=[olga])
    authlib.make_account(admin, "carer2", "carer", persons=[other])
    authlib.make_account(admin, "viewer1", "viewer", persons=[olga])
    paths = {}
    for login in ("carer1", "carer2", "viewer1"):
        c, resp = authlib.login(s, login, "a long password 1")
        r = c.post("/api/v1/auth/me/channels", {"type": "ntfy", "url": h.url(f"/{login}"),
                                                "token": NTFY_TOKEN})
        check(f"{login}: account channel created without its token",
              r.status == 201 and r.json()["account_id"] is not None and
              NTFY_TOKEN not in r.text(), repr(r))
        paths[login] = c
    r = admin.post("/api/v1/auth/me/channels", {"type": "ntfy", "url": h.url("/admin")})
    check("admin: account channel", r.status == 201, repr(r))
    mine = paths["carer1"].get("/api/v1/auth/me/channels")
    check("carer1 lists its own channel only", mine.status == 200 and len(mine.json()) == 1,
          repr(mine))
    apilib.expect("viewer may not add a person channel",
                  paths["viewer1"].post(f"/api/v1/persons/{olga}/channels",
                                        {"type": "ntfy", "url": h.url("/v")}), 403)
    carer1_ch = mine.json()[0]["id"] if mine.status == 200 and mine.json() else 0
    apilib.expect("a viewer cannot delete the person's channel",
                  paths["viewer1"].delete(f"/api/v1/channels/{olga_ch}"), 404)
    apilib.expect("another carer cannot test carer1's channel",
                  paths["carer2"].post(f"/api/v1/channels/{carer1_ch}/test"), 404)
    apilib.expect("carer1 may test its own channel",
                  paths["carer1"].post(f"/api/v1/channels/{carer1_ch}/test"), 200)
    check("accounts set up before the escalation", clock.now() < iso("2026-05-04T08:15:00Z"),
          str(clock.now()))
    tests_seen = len(h.records("/carer1"))
    clock.wait_until("08:20")
    esc = notifylib.wait_for(lambda: h.records("/carer1")[tests_seen:], 15)
    check("carer of the person: escalated once",
          len(esc) == 1 and "has not taken" in esc[0]["headers"].get("title", "") and
          esc[0]["headers"].get("priority") == "5", repr(esc))
    check("admin: escalated once", len(h.records("/admin")) == 1, repr(h.records("/admin")))
    check("viewer and the other person's carer: nothing",
          not h.records("/viewer1") and not h.records("/carer2"))
    check("the person got the reminder once", len(h.records("/olga")) == 1)
    log = notifications(s, admin)
    kinds = sorted(d["kind"] for d in log)
    check("the admin's log has the reminder, two escalations and carer1's test",
          kinds == ["escalation", "escalation", "reminder", "test"], repr(kinds))
    check("escalation due 15 minutes after the slot",
          all(d["due_at"] == "2026-05-04T08:15:00Z" for d in log if d["kind"] == "escalation"),
          repr(log))
    seen = notifications(s, paths["carer2"])
    check("another person's carer sees none of it in the log", seen == [], repr(seen))
    # The test of a channel to a closed port: a carer learns only that it
    # failed (no scanning by error text), at most once per 10 s; an admin
    # gets the reason, which the server's log has too.
    dead = f"http://127.0.0.1:{apilib.free_port()}/x"
    cid = paths["carer1"].post("/api/v1/auth/me/channels",
                               {"type": "ntfy", "url": dead}).json()["id"]
    r = paths["carer1"].post(f"/api/v1/channels/{cid}/test")
    detail = (r.json() or {}).get("detail") or ""
    check("a carer's failed test says only that it failed",
          r.status == 200 and r.json()["status"] == "failed" and "127.0.0.1" not in detail and
          "server's log" in detail, repr(r))
    r = paths["carer1"].post(f"/api/v1/channels/{cid}/test")
    check("a second test of the channel within 10 s is a 429 with Retry-After",
          r.status == 429 and 1 <= int(r.headers.get("retry-after", "0")) <= 10, repr(r))
    aid = admin.post("/api/v1/auth/me/channels", {"type": "ntfy", "url": dead}).json()["id"]
    r = admin.post(f"/api/v1/channels/{aid}/test")
    check("an admin's failed test gives the reason",
          r.status == 200 and "127.0.0.1" in ((r.json() or {}).get("detail") or ""), repr(r))
    check("the reason is in the server's log",
          f"channel {cid} test failed: " in s.log_text() and "127.0.0.1" in s.log_text())
    for c in (cid, aid):
        admin.delete(f"/api/v1/channels/{c}")
    s.stop()
    h.stop()


def horizon_scenario():
    """Planned before an outage, sent after it only within the horizon."""
    h = notifylib.HttpReceiver("t094-hz")
    n = start("t094nokey", {"TEST_CLOCK_START": "2026-05-04T07:55:00Z", "NOTIFY_SECRET_KEY": ""})
    npid = apilib.person(n, "Nora")["id"]
    r = n.post(f"/api/v1/persons/{npid}/channels", {"type": "ntfy", "url": h.url("/rita"),
                                                    "token": NTFY_TOKEN})
    check("without NOTIFY_SECRET_KEY a token is refused clearly",
          r.status == 400 and "NOTIFY_SECRET_KEY" in r.text(), repr(r))
    r = n.post(f"/api/v1/persons/{npid}/channels", {"type": "ntfy", "url": h.url("/rita")})
    check("without NOTIFY_SECRET_KEY a URL (a secret too) is refused clearly",
          r.status == 400 and "NOTIFY_SECRET_KEY" in r.text() and "/rita" not in r.text(), repr(r))
    r = n.post(f"/api/v1/persons/{npid}/channels", {"type": "email", "to": "r@example.org"})
    check("without SMTP_URL an email channel is refused clearly",
          r.status == 400 and "SMTP_URL" in r.text(), repr(r))
    n.stop()
    a = start("t094hz", {"TEST_CLOCK_START": "2026-05-04T07:55:00Z", "TEST_CLOCK_SPEED": "60"})
    pid = apilib.person(a, "Rita")["id"]
    rita = channel(a, pid, {"type": "ntfy", "url": h.url("/rita")})["id"]
    med(a, pid, "MedRita", ["08:00", "10:30"])
    planned = notifylib.wait_for(lambda: of_channel(a, rita), 10)
    check("the 08:00 reminder is planned ahead", len(planned) == 1 and
          planned[0]["status"] == "pending", repr(planned))
    a.stop()
    # Everything was down from 07:55 to 10:45; the horizon is an hour.
    b = apilib.Server("t094hz2", env={"DATABASE_URL": a.url, "ALLOW_TEST_CLOCK": "true",
                                      "TEST_CLOCK_START": "2026-05-04T10:45:00Z",
                                      "TEST_CLOCK_SPEED": "60", "REMINDER_HORIZON_MINUTES": "60",
                                      "NOTIFY_SECRET_KEY": KEY,
                                      "LOG_LEVEL": "info"}, migrate=False)
    servers.append(b)
    done = notifylib.wait_for(lambda: len([d for d in of_channel(b, rita)
                                           if d["status"] in ("sent", "missed")]) == 2, 20)
    log = sorted(of_channel(b, rita), key=lambda d: d["due_at"])
    check("after the outage: 08:00 missed (beyond the horizon), 10:30 sent",
          done and [(d["due_at"][11:16], d["status"]) for d in log] ==
          [("08:00", "missed"), ("10:30", "sent")], repr(log))
    got = h.records("/rita")
    check("the receiver got only the 10:30 reminder", len(got) == 1 and "10:30" in got[0]["body"],
          repr(got))
    b.stop()
    h.stop()


def shutdown_scenario():
    """SIGTERM while a send waits on a slow receiver: the worker gives up
    the send and the server stops long before NOTIFY_TIMEOUT."""
    h = notifylib.HttpReceiver("t094-sd")
    h.control(path="/slow", mode="slow", delay=25)
    h.control(path="/slow2", mode="slow", delay=25)
    s = start("t094sd", {"TEST_CLOCK_START": "2026-05-04T07:55:00Z", "NOTIFY_TIMEOUT": "30"})
    pid = apilib.person(s, "Sam")["id"]
    ch = channel(s, pid, {"type": "ntfy", "url": h.url("/slow")})["id"]
    channel(s, pid, {"type": "ntfy", "url": h.url("/slow2")})
    med(s, pid, "MedSam", ["08:00"])
    busy = notifylib.wait_for(lambda: [d for d in of_channel(s, ch) if d["status"] == "sending"],
                              20)
    check("a send is in flight", bool(busy), repr(of_channel(s, ch)))
    time.sleep(0.5)
    t = time.time()
    s.stop()
    took = time.time() - t
    check(f"stopped in {took:.1f} s with a send in flight (NOTIFY_TIMEOUT 30 s)", took < 5)
    back = authlib.sql(s.url, "SELECT COUNT(*) FROM notification_deliveries WHERE status = "
                              "'pending' AND attempts = 0 AND lease_owner IS NULL").strip()
    check("at shutdown the cancelled send and the rest of its batch are given back: pending, "
          "no attempt counted, no lease", back == "2",
          authlib.sql(s.url, "SELECT status, attempts, lease_owner FROM notification_deliveries"))
    h.stop()


def tls_scenario():
    """E-mail over TLS: smtps:// (TLS from the first byte) and smtp:// with
    STARTTLS, with authentication, checked against NOTIFY_CA_FILE; without
    the CA the certificate is refused, and the reason names no password."""
    cert, key = notifylib.self_signed("t094tls")
    for mode, scheme in (("smtps", "smtps"), ("starttls", "smtp")):
        mail = notifylib.SmtpReceiver(f"t094-{mode}", SMTP_USER, SMTP_PASS, mode, cert, key)
        url = f"{scheme}://{SMTP_USER}:{SMTP_PASS}@127.0.0.1:{mail.port}"
        for with_ca in (True, False):
            env = {"TEST_CLOCK_START": "2026-05-04T07:00:00Z", "SMTP_URL": url,
                   "SMTP_FROM": "meditrack@home.example", "NOTIFY_TIMEOUT": "5"}
            if with_ca:
                env["NOTIFY_CA_FILE"] = cert
            s = start(f"t094{mode}", env)
            pid = apilib.person(s, "Tia")["id"]
            ch = channel(s, pid, {"type": "email", "to": "tia@example.org"})["id"]
            r = s.post(f"/api/v1/channels/{ch}/test")
            out = r.json() or {}
            if with_ca:
                check(f"{scheme}:// with the CA: sent", r.status == 200 and
                      out.get("status") == "sent", repr(r))
                got = mail.messages()
                check(f"{scheme}:// with the CA: the server got it, authenticated",
                      len(got) == 1 and got[0]["auth_user"] == SMTP_USER, repr(got))
            else:
                # curl's text for CURLE_PEER_FAILED_VERIFICATION (60): the
                # certificate, not any other failure (refused connection,
                # timeout, login), is the reason.
                detail = out.get("detail") or ""
                check(f"{scheme}:// without the CA: refused (certificate), no password shown",
                      r.status == 200 and out.get("status") == "failed" and
                      SMTP_PASS not in r.text() and "127.0.0.1" in detail and
                      "SSL peer certificate or SSH remote key was not OK" in detail,
                      repr(r))
            s.stop()
        mail.stop()


def matching_scenario():
    """One dose closes one slot (the due view's matching rule): slots at
    08:00 and 08:30 with SLOT_WINDOW_MINUTES 20, a dose at 08:12 is nearest
    to 08:00 and satisfies it alone, so the 08:30 reminder still goes out."""
    h = notifylib.HttpReceiver("t094-match")
    s = start("t094match", {"TEST_CLOCK_START": "2026-05-04T07:58:00Z",
                            "SLOT_WINDOW_MINUTES": "20"})
    first = apilib.person(s, "Kim")
    clock = Clock(first["created_at"])
    pid = first["id"]
    ch = channel(s, pid, {"type": "ntfy", "url": h.url("/kim")})["id"]
    m = med(s, pid, "MedKim", ["08:00", "08:30"])
    clock.wait_until("08:12")
    r = s.post(f"/api/v1/doses/medications/{m['id']}/dose", {"timezone_offset": 0})
    check("a dose recorded for Kim after 08:10", r.status == 201 and
          "08:10" <= (r.json() or {}).get("taken_at", "")[11:16] < "08:15", repr(r))
    clock.wait_until("08:33")
    log = sorted(of_channel(s, ch), key=lambda d: d["due_at"])
    got = [(d["due_at"][11:16], d["status"], d["slot"]["state"]) for d in log]
    check("one dose closes one slot: 08:00 done, the 08:30 reminder sent",
          got[:1] == [("08:00", "sent", "done")] and ("08:30", "sent") in
          [(x[0], x[1]) for x in got] and len(h.records("/kim")) == 2, repr(got))
    due = s.get(f"/api/v1/persons/{pid}/due/2026-05-04").json() or {}
    check("the due view agrees: the dose took 08:00",
          [x["status"] for x in due.get("slots", [])][:1] == ["taken"], repr(due))
    s.stop()
    h.stop()


def version_scenario():
    """Slots belong to the schedule that existed at their time: a schedule
    made at 08:01 with times 07:50 and 08:05, for a channel made at 07:48,
    sends the 08:05 reminder only (a round plans from well before its
    previous one); a changed zone cancels the
    person's planned future reminders at once, in the same transaction."""
    h = notifylib.HttpReceiver("t094-ver")
    s = start("t094ver", {"TEST_CLOCK_START": "2026-05-04T07:48:00Z"})
    first = apilib.person(s, "Lea")
    clock = Clock(first["created_at"])
    lea = first["id"]
    ch = channel(s, lea, {"type": "ntfy", "url": h.url("/lea")})["id"]
    clock.wait_until("08:01")
    med(s, lea, "MedLea", ["07:50", "08:05"])
    mia = apilib.person(s, "Mia")["id"]
    mch = channel(s, mia, {"type": "ntfy", "url": h.url("/mia")})["id"]
    med(s, mia, "MedMia", ["08:20"])
    planned = notifylib.wait_for(lambda: of_channel(s, mch), 10)
    check("Mia's 08:20 reminder is planned", len(planned) == 1, repr(planned))
    r = s.put(f"/api/v1/persons/{mia}", {"timezone": "Europe/Berlin"})
    after = of_channel(s, mch)
    check("a changed zone cancels the planned reminder in the same request",
          r.status == 200 and after == [], f"{r!r} {after!r}")
    clock.wait_until("08:09")
    got = [(d["due_at"][11:16], d["status"]) for d in of_channel(s, ch)]
    check("a slot before the schedule existed is never sent: 08:05 only",
          got == [("08:05", "sent")] and len(h.records("/lea")) == 1, repr(got))
    clock.wait_until("08:23")
    check("Mia: nothing at 08:20 UTC after the move to Berlin",
          of_channel(s, mch) == [] and not h.records("/mia"), repr(of_channel(s, mch)))
    s.stop()
    h.stop()


def quiet_scenario():
    """The end of quiet hours brings one notification: a reminder due at
    08:16 inside quiet hours (until 08:20) with repeats every 5 minutes goes
    out at 08:20 alone, and the repeat follows 5 minutes after it was sent."""
    h = notifylib.HttpReceiver("t094-quiet")
    s = start("t094quiet", {"TEST_CLOCK_START": "2026-05-04T08:13:00Z"})
    first = apilib.person(s, "Quinn")
    clock = Clock(first["created_at"])
    pid = first["id"]
    ch = channel(s, pid, {"type": "ntfy", "url": h.url("/quinn")})["id"]
    s.put(f"/api/v1/persons/{pid}/reminder-settings",
          {"repeat_minutes": 5, "max_repeats": 1, "quiet_start": "08:00", "quiet_end": "08:20"})
    med(s, pid, "MedQuinn", ["08:16"])
    check("Quinn set up before 08:16", clock.now() < iso("2026-05-04T08:16:00Z"), str(clock.now()))
    clock.wait_until("08:23")
    got = h.records("/quinn")
    check("quiet hours end with one notification, not reminder and repeat together",
          len(got) == 1 and got[0]["headers"].get("title", "").startswith("Time for"),
          repr([r["headers"].get("title") for r in got]))
    notifylib.wait_for(lambda: len(h.records("/quinn")) >= 2, 15)

    # The receiver has the message a moment before the worker records it
    # as sent: read the log once it says so (or as it is after 10 s).
    def both_sent():
        got = sorted(of_channel(s, ch), key=lambda d: d["seq"])
        return got if [d["status"] for d in got] == ["sent", "sent"] else None
    log = notifylib.wait_for(both_sent, 10) or sorted(of_channel(s, ch), key=lambda d: d["seq"])
    check("the repeat follows 5 minutes after the held reminder was sent",
          [(d["kind"], d["status"]) for d in log] == [("reminder", "sent"), ("repeat", "sent")]
          and iso(log[1]["due_at"]) >= iso(log[0]["sent_at"]) + datetime.timedelta(minutes=5),
          repr(log))
    s.stop()
    h.stop()


def bad_key():
    env = dict(os.environ, DATABASE_URL=apilib.fresh_db("t094key"), NOTIFY_SECRET_KEY="short-Kx7",
               PORT=str(apilib.free_port()), HOST="127.0.0.1", AUTO_MIGRATE="false",
               ENV_FILE="/dev/null")
    r = subprocess.run([apilib.MEDITRACK, "serve"], env=env, capture_output=True, text=True,
                       timeout=60)
    check("a malformed NOTIFY_SECRET_KEY stops serve with the configuration exit code",
          r.returncode == 3 and "NOTIFY_SECRET_KEY" in r.stderr and "short-Kx7" not in r.stderr,
          f"{r.returncode} {r.stderr[-500:]}")
    env.update(NOTIFY_SECRET_KEY=KEY, DATABASE_URL=apilib.fresh_db("t094smtp"),
               SMTP_URL="smtp://mtuser:Pa55/word@127.0.0.1:25", SMTP_FROM="m@home.example")
    r = subprocess.run([apilib.MEDITRACK, "serve"], env=env, capture_output=True, text=True,
                       timeout=60)
    check("an unencoded '/' in the SMTP password stops serve (exit 3), no part of it quoted",
          r.returncode == 3 and "SMTP_URL" in r.stderr and "Pa55" not in r.stderr and
          "mtuser" not in r.stderr, f"{r.returncode} {r.stderr[-500:]}")


def main():
    print(f"t094 on {apilib.DIALECT}")
    try:
        main_scenario()
        escalation_scenario()
        horizon_scenario()
        shutdown_scenario()
        tls_scenario()
        matching_scenario()
        version_scenario()
        quiet_scenario()
        bad_key()
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.stop()
        logs = "".join(s.log_text() for s in servers)
        check("no secret in any server log", not any(x in logs for x in SECRETS),
              [x for x in SECRETS if x in logs])
    apilib.report()


if __name__ == "__main__":
    main()
