#!/usr/bin/python3
"""SMTP client for the mail-server tests.

  smtp.py PORT rcpt ADDR           print the reply code to RCPT TO:<ADDR>
  smtp.py PORT send ADDR SUBJECT   send one message; print the final code
                                   (the RCPT code when it was refused)
"""

import smtplib
import sys


def main():
    port, cmd, addr = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("client.test")
        code, _ = s.mail("tester@client.test")
        if code != 250:
            print(code)
            return
        code, msg = s.rcpt(addr)
        if cmd == "rcpt" or code not in (250, 251):
            print(code, msg.decode(errors="replace"))
            s.rset()
            return
        body = ("From: tester@client.test\r\nTo: %s\r\nSubject: %s\r\n"
                "\r\nsent by the dirsync mail-server test\r\n"
                % (addr, sys.argv[4]))
        code, msg = s.data(body.encode())
        print(code, msg.decode(errors="replace"))


if __name__ == "__main__":
    main()
