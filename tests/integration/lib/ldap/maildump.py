#!/usr/bin/python3
"""maildump.py MAIL.db - the Postfixadmin tables as sorted text, for diffs.

Timestamps are left out; list targets (alias.goto) are sorted, since the
order of a group's members is the server's business.  TEST HARNESS ONLY.
"""
import sqlite3
import sys

QUERIES = [
    ("domain", "SELECT domain, description, active FROM domain"),
    ("mailbox", "SELECT username, name, maildir, quota, local_part, domain,"
                " active FROM mailbox"),
    ("alias", "SELECT address, goto, domain, active FROM alias"),
    ("alias_domain", "SELECT alias_domain, target_domain, active"
                     " FROM alias_domain"),
]


def main():
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    for table, q in QUERIES:
        rows = []
        for row in db.execute(q):
            row = list(row)
            if table == "alias":
                row[1] = ",".join(sorted((row[1] or "").split(",")))
            rows.append("|".join("" if v is None else str(v) for v in row))
        for r in sorted(rows):
            print("%s: %s" % (table, r))


if __name__ == "__main__":
    main()
