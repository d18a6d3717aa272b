#!/usr/bin/env python3
"""gen_ldif.py N [--seed S] - a synthetic Active Directory export, as LDIF.

Writes to stdout the directory of a company with N users, shaped like
`ldapsearch` output from AD (see examples/company.ldif for the small,
hand-written version):

  users     N: mail, 2-3 smtp: aliases (example.com / example.net), an
            ignored X500:/SIP: value on some, objectGUID (base64), names,
            title, department; ~3% disabled (userAccountControl 514), ~1%
            hidden (msExchHideFromAddressLists)
  contacts  ~1% of N: external address, half with an internal smtp: alias
  groups    one "All Staff" list of min(N, 50000) members; one list of 500
            per 5000 users; one team list of 5-50 members per 25 users,
            ~10% of them security groups without mail, ~5% nesting one or
            two earlier teams, ~2% holding a contact, and one membership
            cycle between the first two teams

The output depends only on N and the seed.  Entries are written as they
are made; nothing is kept per user, so memory stays flat even for
N = 1,000,000 (about 0.7 GB of LDIF, well under a minute).

Python 3 standard library only.
"""

import argparse
import base64
import random
import sys

BASE = "DC=example,DC=com"
STAFF = "OU=Staff," + BASE
SCHEMA = "CN=Schema,CN=Configuration," + BASE
BIG_GROUP = 50000

GIVEN = """Aaron Abigail Adam Adrian Aisha Alan Albert Alex Alice Amelia Amir
Ana Andrea Andrew Anna Anton Arthur Ben Bianca Boris Carl Carla Carmen
Charles Chloe Chris Clara Daniel David Diana Dmitri Eleanor Elena Eli Emil
Emily Emma Eric Erik Eva Fatima Felix Fiona Frank Freya George Grace Hana
Hannah Harry Hassan Helen Henry Hugo Ian Ida Igor Irene Isaac Ivan Jack
Jacob James Jana Jane Javier Jin John Jonas Julia Karen Karim Kate Kenji
Laura Lea Leo Leon Liam Lina Lucas Lucy Luis Maria Mark Marta Martin
Max Maya Mei Mia Michael Mila Nadia Nina Noah Nora Olga Oliver Omar Oscar
Paul Paula Peter Priya Rachel Raj Ravi Rita Robert Rosa Ryan Sam Sara
Simon Sofia Sven Tara Theo Thomas Tom Uma Victor Vera Wei William Yara
Yusuf Zoe""".split()

SURNAMES = """Abbott Adams Ahmed Alvarez Andersen Baker Becker Berg Bianchi
Brown Campbell Carter Castro Chen Clark Costa Cruz Dubois Duncan Eriksson
Evans Fischer Fernandez Fischer Fraser Garcia Gomez Grant Gray Hansen Haddad
Hall Hoffmann Horvat Hughes Ivanova Jensen Johnson Kaur Kelly Khan Kim
Klein Kowalski Kraus Larsen Laurent Lee Lewis Lindqvist Liu Lopez Martin
Meyer Moreau Morris Muller Murphy Nakamura Nguyen Nielsen Novak Okafor
Olsen Owusu Park Patel Perez Petrov Popescu Quinn Rahman Reyes Richter
Rossi Russo Sanchez Santos Schmidt Schneider Scott Sharma Silva Singh
Smith Sousa Suzuki Tanaka Taylor Thomas Torres Turner Vargas Vasquez
Walker Wagner Wang Weber Wilson Wolf Wright Yamamoto Young Zhang Zimmermann
""".split()
SURNAMES = sorted(set(SURNAMES))

DEPTS = """Sales Marketing Engineering Support Finance Operations Legal HR
Research Logistics Procurement Facilities""".split()

TITLES = """Manager Specialist Analyst Engineer Coordinator Assistant
Consultant Director Associate Officer""".split()

NCOMBO = len(GIVEN) * len(SURNAMES)


def fold(line):
    """RFC 2849 folding at 76 columns, as ldapsearch does."""
    if len(line) <= 76:
        return line
    parts = [line[:76]]
    i = 76
    while i < len(line):
        parts.append(" " + line[i:i + 75])
        i += 75
    return "\n".join(parts)


class Names:
    """User i's name, DN and addresses, computed from i alone.

    (given, surname) pairs are visited in a seed-dependent order; the k-th
    time a pair comes round it gets the suffix k+1, so every name, DN and
    address is unique and groups can refer to any user without a table.
    """

    def __init__(self, seed):
        r = random.Random(seed * 7919 + 17)
        while True:
            self.mult = r.randrange(1, NCOMBO)
            if _gcd(self.mult, NCOMBO) == 1:
                break
        self.off = r.randrange(NCOMBO)
        self.doff = r.randrange(len(DEPTS))

    def parts(self, i):
        p = (i * self.mult + self.off) % NCOMBO
        k = i // NCOMBO
        given = GIVEN[p % len(GIVEN)]
        sn = SURNAMES[p // len(GIVEN)]
        suffix = str(k + 1) if k else ""
        dept = DEPTS[(i + self.doff) % len(DEPTS)]
        return given, sn, suffix, dept

    def dn(self, i):
        given, sn, suffix, dept = self.parts(i)
        sp = " " + suffix if suffix else ""
        return f"CN={given} {sn}{sp},OU={dept},{STAFF}"

    def mail(self, i):
        given, sn, suffix, _ = self.parts(i)
        return f"{given}.{sn}{suffix}@example.com".lower()


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def guid(rng):
    return base64.b64encode(rng.getrandbits(128).to_bytes(16, "little")) \
        .decode("ascii")


def user_entry(i, names, rng):
    given, sn, suffix, dept = names.parts(i)
    sp = " " + suffix if suffix else ""
    cn = f"{given} {sn}{sp}"
    local = f"{given}.{sn}{suffix}".lower()
    sam = (given[0] + sn)[:12].lower() + str(i)
    r = rng.random()
    uac = 514 if r < 0.03 else 512
    out = [
        fold(f"dn: CN={cn},OU={dept},{STAFF}"),
        "objectClass: top",
        "objectClass: person",
        "objectClass: organizationalPerson",
        "objectClass: user",
        f"cn: {cn}",
        f"sn: {sn}",
        f"givenName: {given}",
        f"displayName: {cn}",
        f"title: {dept} {TITLES[rng.randrange(len(TITLES))]}",
        f"department: {dept}",
        "company: Example Ltd",
        f"telephoneNumber: +44 20 7{i // 10000 % 1000:03d} {i % 10000:04d}",
        f"sAMAccountName: {sam}",
        f"userPrincipalName: {sam}@example.com",
        f"mail: {local}@example.com",
        f"proxyAddresses: SMTP:{local}@example.com",
        f"proxyAddresses: smtp:{sam}@example.com",
        f"proxyAddresses: smtp:{local}@example.net",
    ]
    if rng.random() < 0.5:
        alias = f"{given}_{sn}{suffix}".lower()
        out.append(f"proxyAddresses: smtp:{alias}@example.com")
    r2 = rng.random()
    if r2 < 0.2:
        out.append(fold("proxyAddresses: X500:/o=ExchangeLabs/ou=Exchange "
                        "Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients"
                        f"/cn={sam}"))
    elif r2 < 0.4:
        out.append(f"proxyAddresses: SIP:{local}@example.com")
    if 0.03 <= r < 0.04:
        out.append("msExchHideFromAddressLists: TRUE")
    out.append(f"objectGUID:: {guid(rng)}")
    out.append(f"objectCategory: CN=Person,{SCHEMA}")
    out.append(f"userAccountControl: {uac}")
    return "\n".join(out) + "\n\n"


def contact_dn(j):
    return f"CN=External Contact {j},OU=Contacts,{BASE}"


def contact_entry(j, rng):
    ext = f"contact{j}@partner{j % 97}.example.org"
    out = [
        fold("dn: " + contact_dn(j)),
        "objectClass: top",
        "objectClass: person",
        "objectClass: organizationalPerson",
        "objectClass: contact",
        f"cn: External Contact {j}",
        "sn: Contact",
        "givenName: External",
        f"displayName: External Contact {j}",
        f"company: Partner {j % 97}",
        f"mail: {ext}",
        f"targetAddress: SMTP:{ext}",
        f"proxyAddresses: SMTP:{ext}",
    ]
    if j % 2 == 0:
        out.append(f"proxyAddresses: smtp:partner{j}@example.com")
    out.append(f"objectGUID:: {guid(rng)}")
    out.append(f"objectCategory: CN=Person,{SCHEMA}")
    return "\n".join(out) + "\n\n"


def group_entry(dn, cn, mail, members, rng):
    out = [
        fold("dn: " + dn),
        "objectClass: top",
        "objectClass: group",
        f"cn: {cn}",
        f"sAMAccountName: {cn}",
    ]
    if mail:
        out.append(f"displayName: {cn}")
        out.append(f"mail: {mail}")
        out.append(f"proxyAddresses: SMTP:{mail}")
        out.append("groupType: 8")
    else:
        out.append("groupType: -2147483646")
    out.extend(fold("member: " + m) for m in members)
    out.append(f"objectGUID:: {guid(rng)}")
    out.append(f"objectCategory: CN=Group,{SCHEMA}")
    return "\n".join(out) + "\n\n"


def team_dn(j):
    return f"CN=Team {j:06d},OU=Teams,OU=Groups,{BASE}"


def main():
    ap = argparse.ArgumentParser(
        description="Write a synthetic AD-shaped LDIF with N users.")
    ap.add_argument("n", metavar="N", type=int, help="number of users")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.n < 1 or a.n > 100_000_000:
        ap.error("N must be between 1 and 100000000")
    n = a.n
    rng = random.Random(a.seed)
    names = Names(a.seed)
    out = sys.stdout
    buf = []

    def emit(s):
        buf.append(s)
        if len(buf) >= 2000:
            out.write("".join(buf))
            buf.clear()

    emit(f"# gen_ldif.py {n} --seed {a.seed}: synthetic AD export, "
         "see bench/gen_ldif.py\n\nversion: 1\n\n")
    for i in range(n):
        emit(user_entry(i, names, rng))

    ncontacts = n // 100
    for j in range(ncontacts):
        emit(contact_entry(j, rng))

    # Teams: 5-50 members each; some nest earlier teams, some hold a
    # contact, some are security groups with no address.
    nteams = max(2, n // 25)
    for j in range(nteams):
        size = min(n, rng.randint(5, 50))
        members = [names.dn(i) for i in sorted(rng.sample(range(n), size))]
        if j == 0:
            members.append(team_dn(1))      # the cycle: 0 -> 1 -> 0
        elif j == 1:
            members.append(team_dn(0))
        elif rng.random() < 0.05:
            for _ in range(rng.randint(1, 2)):
                members.append(team_dn(rng.randrange(j)))
        if ncontacts and rng.random() < 0.02:
            members.append(contact_dn(rng.randrange(ncontacts)))
        mail = None if rng.random() < 0.10 else f"team{j:06d}@example.com"
        emit(group_entry(team_dn(j), f"Team {j:06d}", mail, members, rng))

    # Lists of 500, each also nesting three teams.
    for j in range(max(1, n // 5000)):
        size = min(n, 500)
        members = [names.dn(i) for i in sorted(rng.sample(range(n), size))]
        members.extend(team_dn(rng.randrange(nteams)) for _ in range(3))
        emit(group_entry(f"CN=Region {j:04d},OU=Groups,{BASE}",
                         f"Region {j:04d}", f"region{j:04d}@example.com",
                         members, rng))

    # One very large list, spread evenly over the users.
    m = min(n, BIG_GROUP)
    emit(group_entry(f"CN=All Staff,OU=Groups,{BASE}", "All Staff",
                     "all-staff@example.com",
                     (names.dn(k * n // m) for k in range(m)), rng))

    out.write("".join(buf))
    out.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(1)
