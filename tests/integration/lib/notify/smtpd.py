#!/usr/bin/python3
"""A loopback SMTP server for the notification tests.

Usage: smtpd.py PORT OUTDIR [USER PASSWORD]

Saves every message as OUTDIR/msg-N.eml (the raw DATA, plus an envelope
file msg-N.env with MAIL FROM and RCPT TO), writes OUTDIR/ready once it
listens. With USER and PASSWORD it requires AUTH (PLAIN or LOGIN, allowed
without TLS since it only listens on 127.0.0.1) and records failed attempts
in OUTDIR/auth-failures.
"""
import asyncio
import os
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.outdir, "msg-%d" % self.n)
        with open(base + ".env", "w") as f:
            f.write("from %s\n" % envelope.mail_from)
            for r in envelope.rcpt_tos:
                f.write("to %s\n" % r)
            f.write("auth %s\n" % (session.authenticated or False))
        tmp = base + ".tmp"
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, base + ".eml")
        return "250 OK"


class Auth:
    def __init__(self, outdir, user, password):
        self.outdir = outdir
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login == self.user
                and auth_data.password == self.password):
            return AuthResult(success=True)
        with open(os.path.join(self.outdir, "auth-failures"), "a") as f:
            f.write("%s\n" % mechanism)
        return AuthResult(success=False, handled=False)


def main():
    port = int(sys.argv[1])
    outdir = sys.argv[2]
    kw = {}
    if len(sys.argv) == 5:
        kw = dict(authenticator=Auth(outdir, sys.argv[3], sys.argv[4]),
                  auth_required=True, auth_require_tls=False)
    ctl = Controller(Saver(outdir), hostname="127.0.0.1", port=port, **kw)
    ctl.start()
    open(os.path.join(outdir, "ready"), "w").close()
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
