#!/usr/bin/python3
"""A real SMTP receiver for the reminder tests, on Debian's python3-aiosmtpd
(scripts/setup.sh installs it; it runs with the system's /usr/bin/python3,
where that package lives). It accepts mail on 127.0.0.1, optionally only
after AUTH PLAIN/LOGIN with one user and password, and appends each message
as a JSON line to RECORDS: {"mail_from", "rcpt_tos", "data" (the raw
message), "auth_user", "at"}. While the file MODE_FILE holds "fail", every
message is refused with 451 (a temporary failure).

Usage: smtp-receiver.py PORT_FILE RECORDS MODE_FILE [USER PASSWORD]
"""
import json
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, records, mode_file):
        self.records = records
        self.mode_file = mode_file

    async def handle_DATA(self, server, session, envelope):
        try:
            with open(self.mode_file) as f:
                mode = f.read().strip()
        except OSError:
            mode = "ok"
        if mode == "fail":
            return "451 4.3.0 told to fail"
        rec = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
               "data": envelope.content.decode("utf-8", "replace"),
               "auth_user": session.auth_data.login.decode() if isinstance(
                   session.auth_data, LoginPassword) else None,
               "at": time.time()}
        with open(self.records, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return "250 OK"


def main():
    port_file, records, mode_file = sys.argv[1:4]
    user = sys.argv[4].encode() if len(sys.argv) > 5 else None
    password = sys.argv[5].encode() if len(sys.argv) > 5 else None

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user
              and auth_data.password == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    kw = {}
    if user is not None:
        kw = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    ctl = Controller(Handler(records, mode_file), hostname="127.0.0.1", port=port, **kw)
    ctl.start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(port_file + ".tmp", port_file)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
