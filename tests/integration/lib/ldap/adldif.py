#!/usr/bin/python3
"""adldif.py - turn an AD-shaped LDIF export into what a test server loads.

    adldif.py openldap IN.ldif > slapadd.ldif
    adldif.py samba PASSWORD IN.ldif > add.ldif   (then ldapmodify -c)

TEST HARNESS ONLY.  The golden scenarios are written as an Active Directory
export (examples/company.ldif).  To prove the LDAP source gives the same
result as the LDIF source, the same directory is loaded into slapd and into
Samba AD:

openldap: users become inetOrgPerson + dirsyncAD (the AD attributes from
    tests/integration/slapd/dirsync-test.schema), contacts the `contact`
    class of that schema, groups groupOfNames + dirsyncAD; computers are
    dropped (OpenLDAP has none); operational AD attributes (objectGUID,
    objectCategory ...) are dropped, slapd makes entryUUID; missing parent
    entries are created; memberOf is written (slapadd bypasses overlays).
samba: an ldapmodify stream.  Missing OUs first, then users (with a
    unicodePwd, so userAccountControl 512 is accepted), contacts and
    groups without members, then the members as modifications (AD refuses
    a member that does not exist yet).
"""
import base64
import sys

DROP = {"objectguid", "objectcategory", "objectsid", "whencreated",
        "whenchanged", "usnchanged", "usncreated", "distinguishedname",
        "memberof", "instancetype", "dnshostname", "operatingsystem"}

# attributes slapd knows for the classes we give (core, cosine,
# inetorgperson, dirsync-test.schema); anything else is an error so a new
# attribute in the scenario is noticed, not silently lost.
OPENLDAP_OK = {
    "objectclass", "cn", "sn", "givenname", "displayname", "title",
    "department", "company", "telephonenumber", "mobile", "pager",
    "homephone", "facsimiletelephonenumber", "samaccountname",
    "userprincipalname", "mail", "proxyaddresses", "useraccountcontrol",
    "msexchhidefromaddresslists", "targetaddress", "description",
    "grouptype", "member", "employeeid", "employeetype", "initials",
    "generationqualifier", "streetaddress", "street", "l", "st",
    "postalcode", "co", "physicaldeliveryofficename", "mailnickname",
    "info",
}


def parse(path):
    """[(dn, [(attr, bytes)])] in file order."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8")
    lines = []
    for line in raw.split("\n"):
        line = line.rstrip("\r")
        if line.startswith(" ") and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    entries, cur = [], None
    for line in lines + [""]:
        if line.startswith("#"):
            continue
        if line == "":
            if cur:
                entries.append(cur)
            cur = None
            continue
        name, sep, rest = line.partition(":")
        if not sep:
            sys.exit("adldif: bad line: %r" % line)
        if rest.startswith(":"):
            value = base64.b64decode(rest[1:].strip())
        else:
            value = rest.lstrip(" ").encode("utf-8")
        if cur is None:
            if name.lower() == "version":
                continue
            if name.lower() != "dn":
                sys.exit("adldif: entry does not start with dn: %r" % line)
            cur = (value.decode("utf-8"), [])
        else:
            cur[1].append((name, value))
    return entries


def emit(name, value):
    safe = (value and value.isascii() and value[0:1] not in (b" ", b":", b"<")
            and value[-1:] != b" " and b"\n" not in value and b"\r" not in value
            and b"\0" not in value)
    if not value:
        return "%s:" % name
    if safe:
        return "%s: %s" % (name, value.decode("ascii"))
    return "%s:: %s" % (name, base64.b64encode(value).decode("ascii"))


def classes(attrs):
    return {v.decode().lower() for n, v in attrs if n.lower() == "objectclass"}


def split_dn(dn):
    """RDNs of a DN; the scenario has no escaped commas."""
    if "\\," in dn:
        sys.exit("adldif: escaped comma in DN not supported: %s" % dn)
    return [r.strip() for r in dn.split(",")]


def parents(dn):
    rdns = split_dn(dn)
    out = []
    for i in range(1, len(rdns)):
        if rdns[i].lower().startswith("dc="):
            break
        out.append(",".join(rdns[i:]))
    return list(reversed(out))


def openldap(path):
    entries = parse(path)
    out, seen, memberof = [], set(), {}
    for dn, attrs in entries:
        if "group" in classes(attrs):
            for n, v in attrs:
                if n.lower() == "member":
                    memberof.setdefault(v.decode().lower(), []).append(dn)
    for dn, attrs in entries:
        oc = classes(attrs)
        if "computer" in oc:
            continue
        for p in parents(dn):
            if p.lower() in seen:
                continue
            seen.add(p.lower())
            kind, _, val = split_dn(p)[0].partition("=")
            if kind.lower() == "ou":
                out.append("dn: %s\nobjectClass: organizationalUnit\n"
                           "ou: %s\n" % (p, val))
            else:
                out.append("dn: %s\nobjectClass: organizationalRole\n"
                           "cn: %s\n" % (p, val))
        seen.add(dn.lower())
        if "group" in oc:
            new_oc = ["top", "groupOfNames", "dirsyncAD"]
        elif "contact" in oc:
            new_oc = ["top", "person", "organizationalPerson",
                      "inetOrgPerson", "contact", "dirsyncAD"]
        elif "user" in oc or "person" in oc:
            new_oc = ["top", "person", "organizationalPerson",
                      "inetOrgPerson", "dirsyncAD"]
        else:
            sys.exit("adldif: %s: no mapping for objectClass %s" % (dn, oc))
        lines = ["dn: %s" % dn] + ["objectClass: %s" % c for c in new_oc]
        has_sn = False
        for n, v in attrs:
            ln = n.lower()
            if ln in DROP or ln == "objectclass":
                continue
            if ln not in OPENLDAP_OK:
                sys.exit("adldif: %s: attribute %s has no OpenLDAP "
                         "mapping; add it to dirsync-test.schema" % (dn, n))
            if ln == "sn":
                has_sn = True
            lines.append(emit(n, v))
        if "group" not in oc and not has_sn:
            cn = [v for n, v in attrs if n.lower() == "cn"]
            lines.append(emit("sn", cn[0]))
        for g in memberof.get(dn.lower(), []):
            lines.append(emit("memberOf", g.encode()))
        out.append("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(out))


def samba(password, path):
    entries = parse(path)
    pw = base64.b64encode(('"%s"' % password).encode("utf-16-le")).decode()
    out, members, seen = [], [], set()
    for dn, attrs in entries:
        for p in parents(dn):
            kind, _, val = split_dn(p)[0].partition("=")
            if p.lower() in seen or kind.lower() != "ou":
                continue
            seen.add(p.lower())
            out.append("dn: %s\nchangetype: add\nobjectClass: "
                       "organizationalUnit\nou: %s\n" % (p, val))
    for dn, attrs in entries:
        oc = classes(attrs)
        lines = ["dn: %s" % dn, "changetype: add"]
        for n, v in attrs:
            ln = n.lower()
            if ln in DROP and ln not in ("dnshostname", "operatingsystem"):
                continue
            if ln == "member":
                members.append((dn, v))
                continue
            lines.append(emit(n, v))
        if ("user" in oc) and "computer" not in oc:
            lines.append("unicodePwd:: %s" % pw)
        out.append("\n".join(lines) + "\n")
    by_group = {}
    for g, m in members:
        by_group.setdefault(g, []).append(m)
    for g, ms in by_group.items():
        lines = ["dn: %s" % g, "changetype: modify", "add: member"]
        lines += [emit("member", m) for m in ms]
        lines.append("-")
        out.append("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(out))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "openldap":
        openldap(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "samba":
        samba(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
