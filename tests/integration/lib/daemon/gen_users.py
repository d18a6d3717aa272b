#!/usr/bin/python3
"""gen_users.py N [DOMAIN]: an AD-shaped LDIF with N mail-enabled users.

Deterministic: user i has objectGUID = MD5("user-i"), address
user<i>@DOMAIN and one smtp: alias u<i>@DOMAIN.  Used by test_daemon.sh
for a run long enough to be interrupted in the middle of its apply.
"""
import base64
import hashlib
import sys

n = int(sys.argv[1])
dom = sys.argv[2] if len(sys.argv) > 2 else "example.com"
out = sys.stdout
out.write("version: 1\n")
for i in range(1, n + 1):
    guid = base64.b64encode(hashlib.md5(b"user-%d" % i).digest()).decode()
    out.write(
        "\ndn: CN=User %06d,OU=Staff,DC=example,DC=com\n"
        "objectClass: top\nobjectClass: person\n"
        "objectClass: organizationalPerson\nobjectClass: user\n"
        "cn: User %06d\nsn: %06d\ngivenName: User\n"
        "displayName: User %06d\nsAMAccountName: user%06d\n"
        "mail: user%06d@%s\n"
        "proxyAddresses: SMTP:user%06d@%s\nproxyAddresses: smtp:u%06d@%s\n"
        "objectGUID:: %s\nuserAccountControl: 512\n"
        % (i, i, i, i, i, i, dom, i, dom, i, dom, guid))
