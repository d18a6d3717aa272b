#!/usr/bin/env python3
"""A directory that changes run after run, for tests/cli/run.sh.

Usage: gen_steps.py SEED STEPS OUTDIR
Writes OUTDIR/step-01.ldif ... step-STEPS.ldif: an AD-shaped directory
(users, groups with nesting and cycles, a contact) and, from one step to
the next, the changes a real directory sees: leavers disabled or deleted,
people coming back, new people, primary addresses renamed (sometimes the
old one kept as an alias, sometimes swapped with an alias), aliases added,
dropped and moved between people (sometimes claimed twice: a conflict),
display names and group memberships changed, lists renamed, deleted and
recreated, the contact's addresses changed.

Deterministic for a seed.  Primary addresses are never re-used by another
person and aliases come from their own pool, so the end state of a chain
of syncs must equal a sync from scratch, except for addresses in conflict
(left as they were) - which is what run.sh checks.
"""
import base64
import os
import random
import struct
import sys

DOMAINS = ["example.com", "example.net"]


class Person:
    def __init__(self, n, rng):
        self.n = n
        self.guid = n + 1
        self.cn = "Person %d" % n
        self.display = self.cn
        self.primary = "p%d@example.com" % n
        self.aliases = []
        self.uac = 512
        self.present = True
        self.hidden = False


def guid_b64(n):
    return base64.b64encode(struct.pack("<I", n) + bytes(12)).decode()


def user_ldif(p):
    out = [
        "dn: CN=%s,OU=Staff,DC=example,DC=com" % p.cn,
        "objectClass: top",
        "objectClass: person",
        "objectClass: organizationalPerson",
        "objectClass: user",
        "cn: " + p.cn,
        "displayName: " + p.display,
        "sAMAccountName: u%d" % p.n,
        "mail: " + p.primary,
        "proxyAddresses: SMTP:" + p.primary,
    ]
    out += ["proxyAddresses: smtp:" + a for a in p.aliases]
    if p.hidden:
        out.append("msExchHideFromAddressLists: TRUE")
    out.append("objectGUID:: " + guid_b64(p.guid))
    out.append("userAccountControl: %d" % p.uac)
    return "\n".join(out) + "\n"


def group_ldif(g, members):
    out = [
        "dn: CN=%s,OU=Groups,DC=example,DC=com" % g["cn"],
        "objectClass: top",
        "objectClass: group",
        "cn: " + g["cn"],
    ]
    if g["mail"]:
        out += ["mail: " + g["mail"], "proxyAddresses: SMTP:" + g["mail"]]
    out += ["member: " + m for m in members]
    out.append("objectGUID:: " + guid_b64(g["guid"]))
    return "\n".join(out) + "\n"


def main():
    seed, steps, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    people = [Person(i, rng) for i in range(30)]
    next_person = 30
    alias_pool = ["a%d@%s" % (i, DOMAINS[i % 2]) for i in range(40)]
    for p in people:
        p.aliases = rng.sample(alias_pool, rng.randint(0, 2))
    groups = [
        {"cn": "G%d" % i, "mail": ("g%d@example.com" % i) if i < 5 else None,
         "guid": 1000 + i, "members": set()}
        for i in range(7)
    ]
    for g in groups:
        g["members"] = set(rng.sample(range(30), 6))
    # nesting, with a cycle G0 -> G1 -> G2 -> G0 and mail-less G5, G6
    nest = {0: [1, 5], 1: [2], 2: [0], 3: [6], 4: []}
    contact = {"external": "partner@partner.org",
               "internal": ["partner@example.com"]}
    renamed = 0

    for step in range(1, steps + 1):
        if step > 1:
            for _ in range(rng.randint(3, 8)):
                p = rng.choice(people)
                what = rng.randrange(14)
                if what == 0:
                    p.uac = 514 if p.uac == 512 else 512
                elif what == 1:
                    p.present = not p.present
                elif what == 2:
                    p.hidden = not p.hidden
                elif what == 3:
                    renamed += 1
                    old = p.primary
                    p.primary = "r%d.p%d@example.com" % (renamed, p.n)
                    if rng.random() < 0.5:
                        p.aliases.append(old)
                    if rng.random() < 0.5:
                        p.display = "Person %d r%d" % (p.n, renamed)
                elif what == 4 and p.aliases and \
                        p.aliases[0].startswith(("p", "r")):
                    # swap the primary with a former primary kept as alias
                    p.primary, p.aliases[0] = p.aliases[0], p.primary
                elif what == 5:
                    p.aliases.append(rng.choice(alias_pool))
                elif what == 6 and p.aliases:
                    p.aliases.pop(rng.randrange(len(p.aliases)))
                elif what == 7 and p.aliases:
                    a = p.aliases.pop(rng.randrange(len(p.aliases)))
                    rng.choice(people).aliases.append(a)
                elif what == 8:
                    p.display = "Person %d v%d" % (p.n, step)
                elif what == 9:
                    g = rng.choice(groups)
                    g["members"] ^= {rng.randrange(len(people))}
                elif what == 10:
                    # a list changes its address, or disappears and comes
                    # back
                    g = rng.choice(groups[:5])
                    if rng.random() < 0.5:
                        g["mail"] = "g%d.s%d@example.com" % (
                            groups.index(g), step)
                    else:
                        g["present"] = not g.get("present", True)
                elif what == 11:
                    contact["external"] = "partner%d@partner.org" % step
                    contact["internal"] = rng.choice(
                        [[], ["partner@example.com"],
                         ["partner@example.com", "partners@example.net"]])
                elif what == 12 and not p.present:
                    # renamed while away: back with another address
                    renamed += 1
                    p.primary = "r%d.p%d@example.com" % (renamed, p.n)
                else:
                    q = Person(next_person, rng)
                    next_person += 1
                    q.aliases = rng.sample(alias_pool, rng.randint(0, 1))
                    people.append(q)
                p.aliases = list(dict.fromkeys(a for a in p.aliases
                                               if a != p.primary))
        entries = [user_ldif(p) for p in people if p.present]
        for i, g in enumerate(groups):
            if not g.get("present", True):
                continue
            members = ["CN=%s,OU=Staff,DC=example,DC=com" % people[m].cn
                       for m in sorted(g["members"]) if people[m].present]
            members += ["CN=G%d,OU=Groups,DC=example,DC=com" % j
                        for j in nest.get(i, [])]
            if i == 4:
                members.append("CN=Partner,OU=Contacts,DC=example,DC=com")
            entries.append(group_ldif(g, members))
        entries.append("\n".join([
            "dn: CN=Partner,OU=Contacts,DC=example,DC=com",
            "objectClass: top", "objectClass: contact", "cn: Partner",
            "mail: " + contact["external"],
            "targetAddress: SMTP:" + contact["external"],
            "proxyAddresses: SMTP:" + contact["external"]] +
            ["proxyAddresses: smtp:" + a for a in contact["internal"]] +
            ["objectGUID:: " + guid_b64(2000)]) + "\n")
        rng.shuffle(entries)
        with open(os.path.join(outdir, "step-%02d.ldif" % step), "w") as f:
            f.write("# step %d of seed %d (tests/cli/gen_steps.py)\n"
                    "version: 1\n" % (step, seed))
            for e in entries:
                f.write("\n" + e)


if __name__ == "__main__":
    main()
