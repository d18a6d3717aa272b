#!/usr/bin/env python3
"""An AD-style LDIF for the SCIM tests and bench.

gen_ldif.py STEP [EXTRA [BIG]]
  STEP 1: five users (aliases in proxyAddresses), lists eng (carol, dave)
          and staff (alice, bob and eng nested).
          Alice carries every attribute of SPEC's SCIM table.
  STEP 2: alice's title changes and her pager goes, bob renamed in displayName, carol gets an alias, alice's primary
          address changes (the old one stays as an alias: a rename), dave
          is disabled (a leaver), erin joins eng.
  EXTRA:  that many more users u00000..: for the fault tests and the bench.
  BIG:    a list big@example.com of the first BIG of them (member chunks).
"""
import base64
import sys
import uuid

step = int(sys.argv[1])
extra = int(sys.argv[2]) if len(sys.argv) > 2 else 0
big = int(sys.argv[3]) if len(sys.argv) > 3 else 0
BASE = "DC=example,DC=com"


def guid(name):
    return base64.b64encode(uuid.uuid5(uuid.NAMESPACE_DNS, name).bytes).decode()


def user(cn, given, sn, primary, aliases=(), uac=512, display=None, more=()):
    dn = f"CN={cn},OU=Staff,{BASE}"
    out = [f"dn: {dn}", "objectClass: top", "objectClass: person",
           "objectClass: organizationalPerson", "objectClass: user",
           f"cn: {cn}", f"sn: {sn}", f"givenName: {given}",
           f"displayName: {display or cn}", f"mail: {primary}",
           f"proxyAddresses: SMTP:{primary}"]
    out += [f"proxyAddresses: smtp:{a}" for a in aliases]
    out += [f"{k}: {v}" for k, v in more]
    out += [f"objectGUID:: {guid(cn)}",
            f"objectCategory: CN=Person,CN=Schema,CN=Configuration,{BASE}",
            f"userAccountControl: {uac}", ""]
    return dn, "\n".join(out)


def group(cn, mail, members):
    out = [f"dn: CN={cn},OU=Groups,{BASE}", "objectClass: top",
           "objectClass: group", f"cn: {cn}", f"displayName: {cn}",
           f"mail: {mail}", f"proxyAddresses: SMTP:{mail}", "groupType: 8"]
    out += [f"member: {m}" for m in members]
    out += [f"objectGUID:: {guid('group ' + cn)}",
            f"objectCategory: CN=Group,CN=Schema,CN=Configuration,{BASE}", ""]
    return "\n".join(out)


s2 = step >= 2
ents = {}
ents["alice"] = user("Alice Martin", "Alice", "Martin",
                     "alice.smith@example.com" if s2 else "alice.martin@example.com",
                     ["alice@example.com", "ceo@example.com"] +
                     (["alice.martin@example.com"] if s2 else []),
                     more=[("initials", "J"), ("generationQualifier", "Jr."),
                           ("title", "Chief Executive" if s2 else "CEO"),
                           ("telephoneNumber", "+49 30 1234-0"),
                           ("mobile", "+49 170 1234567")] +
                          ([] if s2 else [("pager", "+49 30 1234-99")]) +
                          [("homePhone", "+49 30 555"),
                           ("facsimileTelephoneNumber", "+49 30 1234-9"),
                           ("streetAddress", "Hauptstr. 1"), ("l", "Berlin"),
                           ("st", "BE"), ("postalCode", "10115"),
                           ("co", "Germany"),
                           ("physicalDeliveryOfficeName", "Berlin HQ"),
                           ("employeeID", "E-0001"),
                           ("employeeType", "Employee"),
                           ("department", "Board"),
                           ("company", "Example AG")])
ents["bob"] = user("Bob Stone", "Bob", "Stone", "bob.stone@example.com",
                   ["bob@example.com"],
                   display="Robert Stone" if s2 else None)
ents["carol"] = user("Carol Diaz", "Carol", "Diaz", "carol.diaz@example.com",
                     ["carol@example.com"] +
                     (["carol.d@example.com"] if s2 else []))
ents["dave"] = user("Dave Kim", "Dave", "Kim", "dave.kim@example.com",
                    ["dave@example.com"], uac=514 if s2 else 512)
ents["erin"] = user("Erin Moss", "Erin", "Moss", "erin.moss@example.com")
print("version: 1\n")
for dn, text in ents.values():
    print(text)
eng = [ents["carol"][0], ents["dave"][0]] + ([ents["erin"][0]] if s2 else [])
print(group("Engineering", "eng@example.com", eng))
print(group("Staff", "staff@example.com",
            [ents["alice"][0], ents["bob"][0], f"CN=Engineering,OU=Groups,{BASE}"]))
for i in range(extra):
    n = f"u{i:05d}"
    print(user(f"User {n}", "User", n, f"{n}@example.com", [f"{n}.alias@example.com"])[1])
if big > 0:
    print(group("Big", "big@example.com",
                [f"CN=User u{i:05d},OU=Staff,{BASE}" for i in range(min(big, extra))]))
