#!/usr/bin/python3
"""cutproxy.py - a TCP proxy that lets a server "die" in the middle of a read.

    cutproxy.py PORT TARGET_HOST TARGET_PORT MODE LIMIT

Listens on 127.0.0.1:PORT and forwards each connection to the target,
byte for byte (TLS passes through untouched).  Once LIMIT bytes have gone
from the server to the client on one connection:
    cut    both sides are closed, as when the server process is killed;
    stall  nothing more is forwarded and the sockets stay open, as when the
           server hangs (SIGSTOP): the client must time out.
Connections before the first byte limit behave like the real server, so the
bind, the rootDSE and the first pages succeed.  TEST HARNESS ONLY.
"""
import socket
import sys
import threading


def pump(src, dst, state, count):
    try:
        while True:
            data = src.recv(16384)
            if not data:
                break
            if count:
                room = state["limit"] - state["sent"]
                if room <= 0:
                    break
                data = data[:room]
                state["sent"] += len(data)
            dst.sendall(data)
            if count and state["sent"] >= state["limit"]:
                break
    except OSError:
        pass
    if state["mode"] == "stall" and count:
        state["stalled"].wait()  # hold everything open, forward nothing
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def main():
    port, host, tport, mode, limit = sys.argv[1:6]
    if mode not in ("cut", "stall"):
        sys.exit(__doc__)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(16)
    stalled = threading.Event()
    while True:
        c, _ = ls.accept()
        try:
            s = socket.create_connection((host, int(tport)))
        except OSError:
            c.close()
            continue
        state = {"limit": int(limit), "sent": 0, "mode": mode,
                 "stalled": stalled}
        threading.Thread(target=pump, args=(c, s, state, False),
                         daemon=True).start()
        threading.Thread(target=pump, args=(s, c, state, True),
                         daemon=True).start()


if __name__ == "__main__":
    main()
