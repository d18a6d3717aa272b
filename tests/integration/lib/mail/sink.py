#!/usr/bin/python3
"""A local SMTP sink: stands in for the outside world the mail server
relays to.  Each accepted message becomes one file in DIR, named by a
counter, starting with "X-Sink-Rcpt: <address>" lines for the envelope
recipients.  Usage: sink.py PORT DIR"""

import os
import signal
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        head = "".join("X-Sink-Rcpt: %s\n" % r for r in envelope.rcpt_tos)
        head += "X-Sink-From: %s\n" % envelope.mail_from
        tmp = os.path.join(self.outdir, ".tmp-%d" % self.n)
        with open(tmp, "wb") as f:
            f.write(head.encode())
            body = envelope.original_content or envelope.content
            f.write(body.replace(b"\r\n", b"\n"))
        os.rename(tmp, os.path.join(self.outdir, "msg-%d" % self.n))
        return "250 OK"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    ctl = Controller(Sink(outdir), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        signal.pause()  # SIGTERM ends the process
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
