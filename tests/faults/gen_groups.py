#!/usr/bin/env python3
"""gen_groups.py big N | deep N [--cycle] - an LDIF export with one huge
group, or one deep chain of nested groups, for tests/faults/case_groups.sh
and bench/groups_bench.sh.

  big N     N users (uNNNNNNN@example.com) and one list, Everyone
            (everyone@example.com), with all N as direct members
  deep N    3 users and N lists G0..G(N-1) (gN@example.com): G0 holds the
            3 users, Gk holds G(k-1) only; written top first (the order
            that costs most to a walk per list).  --cycle: G0 also holds
            the top, so the whole chain is one membership cycle

Every list's members are therefore known: Everyone has all N users, and
every Gk (cycle or not) exactly the 3 users.  Python 3 standard library
only; streams, so memory stays flat.
"""
import base64
import sys

BASE = "DC=example,DC=com"


def guid(n):
    return base64.b64encode(n.to_bytes(16, "big")).decode()


def user(i):
    return ("dn: CN=U%07d,OU=Staff,%s\nobjectClass: top\nobjectClass: person\n"
            "objectClass: user\ncn: U%07d\nmail: u%07d@example.com\n"
            "objectGUID:: %s\nuserAccountControl: 512\n\n"
            % (i, BASE, i, i, guid(i + 1)))


def group(i, name, members):
    head = ("dn: CN=%s,OU=Groups,%s\nobjectClass: top\nobjectClass: group\n"
            "cn: %s\nmail: %s@example.com\ngroupType: 8\nobjectGUID:: %s\n"
            % (name, BASE, name, name.lower(), guid((1 << 100) | i)))
    return head + "".join("member: %s\n" % m for m in members) + "\n"


def udn(i):
    return "CN=U%07d,OU=Staff,%s" % (i, BASE)


def gdn(k):
    return "CN=G%d,OU=Groups,%s" % (k, BASE)


def main():
    kind, n = sys.argv[1], int(sys.argv[2])
    cycle = "--cycle" in sys.argv[3:]
    out = sys.stdout
    if kind == "big":
        chunk = []
        for i in range(n):
            chunk.append(user(i))
            if len(chunk) == 10000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
        out.write(group(0, "Everyone", (udn(i) for i in range(n))))
    elif kind == "deep":
        for i in range(3):
            out.write(user(i))
        for k in range(n - 1, -1, -1):
            if k == 0:
                mem = [udn(0), udn(1), udn(2)]
                if cycle:
                    mem.append(gdn(n - 1))
            else:
                mem = [gdn(k - 1)]
            out.write(group(k, "G%d" % k, mem))
    else:
        sys.exit("usage: gen_groups.py big N | deep N [--cycle]")


main()
