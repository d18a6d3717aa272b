"""A small AD-shaped directory model with random mutation steps.

Used by fuzz.py (LDIF source) and fuzz_slapd.py (live slapd).
"""
import base64
import copy
import random
import struct
import time

DOMAINS = ["example.com", "example.net"]
NAMES = ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo",
         "kim", "lee", "max", "ned", "oz", "pat", "quin", "ray", "sam", "tia",
         "uma", "vic"]


def filetime(unix):
    return int((unix + 11644473600) * 10 ** 7)


def guid_b64(n):
    return base64.b64encode(struct.pack("<I", n) + bytes(12)).decode()


def guid_text(n):
    b = struct.pack("<I", n) + bytes(12)
    # AD GUID text: first three fields little endian
    import uuid
    return str(uuid.UUID(bytes_le=b))


class Dir:
    def __init__(self, rng, ncfg):
        self.rng = rng
        self.cfg = ncfg
        self.next_id = 1
        self.users = {}
        self.groups = {}
        self.contacts = {}
        self.pending_expiry = 0.0   # time by which a "soon" expiry passes
        for _ in range(rng.randint(4, 9)):
            self.add_user()
        for _ in range(rng.randint(2, 4)):
            self.add_group()
        for _ in range(rng.randint(0, 2)):
            self.add_contact()
        # fill groups
        for g in self.groups.values():
            for _ in range(rng.randint(0, 4)):
                self.random_member_add(g)

    # ---- address helpers -------------------------------------------------
    def addr(self):
        r = self.rng
        a = "%s@%s" % (r.choice(NAMES), r.choice(DOMAINS))
        if r.random() < 0.03:
            a = "%s@foreign.org" % r.choice(NAMES)
        if r.random() < 0.05:
            a = a.capitalize()
        return a

    def fresh_addr(self):
        self.next_id += 1
        return "n%d@%s" % (self.next_id, self.rng.choice(DOMAINS))

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def all_objs(self):
        return list(self.users.values()) + list(self.groups.values()) + \
            list(self.contacts.values())

    # ---- creators --------------------------------------------------------
    def add_user(self, primary=None):
        i = self.new_id()
        r = self.rng
        u = {"t": "u", "id": i, "guid": i, "cn": "User %d" % i,
             "ou": r.choice(["Staff", "Sales"]), "sam": "u%d" % i,
             "primary": primary or (self.addr() if r.random() < 0.6
                                    else self.fresh_addr()),
             "aliases": [], "mailmode": "same", "uac": "512",
             "expires": None, "hidden": False, "display": None}
        for _ in range(r.randint(0, 2)):
            u["aliases"].append(self.addr())
        if r.random() < 0.05:
            u["primary"] = None
        self.users[i] = u
        return u

    def add_group(self):
        i = self.new_id()
        r = self.rng
        g = {"t": "g", "id": i, "guid": i, "cn": "Group %d" % i,
             "mail": ("list%d@%s" % (i, r.choice(DOMAINS)))
             if r.random() < 0.85 else None,
             "aliases": [], "members": [], "ghosts": []}
        if r.random() < 0.3:
            g["aliases"].append(self.addr())
        self.groups[i] = g
        return g

    def add_contact(self):
        i = self.new_id()
        r = self.rng
        c = {"t": "c", "id": i, "guid": i, "cn": "Contact %d" % i,
             "external": self.contact_ext(), "aliases": []}
        if r.random() < 0.5:
            c["aliases"].append(self.addr())
        self.contacts[i] = c
        return c

    def contact_ext(self):
        r = self.rng
        if r.random() < 0.25:
            return self.addr()          # sometimes in an accepted domain
        return "x%d@partner.org" % r.randint(1, 5)

    # ---- DNs -------------------------------------------------------------
    def dn(self, o):
        if o["t"] == "u":
            return "CN=%s,OU=%s,DC=example,DC=com" % (o["cn"], o["ou"])
        if o["t"] == "g":
            return "CN=%s,OU=Groups,DC=example,DC=com" % o["cn"]
        return "CN=%s,OU=Contacts,DC=example,DC=com" % o["cn"]

    def obj(self, ref):
        t, i = ref
        return {"u": self.users, "g": self.groups, "c": self.contacts}[t].get(i)

    def random_member_add(self, g):
        r = self.rng
        pool = [("u", i) for i in self.users] + \
               [("g", i) for i in self.groups if i != g["id"]] + \
               [("c", i) for i in self.contacts]
        if not pool:
            return
        w = r.random()
        if w < 0.65 and self.users:
            ref = ("u", r.choice(list(self.users)))
        elif w < 0.85 and len(self.groups) > 1:
            ref = ("g", r.choice([i for i in self.groups if i != g["id"]]))
        else:
            ref = r.choice(pool)
        if ref not in g["members"]:
            g["members"].append(ref)

    # ---- LDIF ------------------------------------------------------------
    def ldif_entries(self, now):
        out = []
        for u in self.users.values():
            e = [("dn", self.dn(u)), ("objectClass", "top"),
                 ("objectClass", "person"),
                 ("objectClass", "organizationalPerson"),
                 ("objectClass", "user"), ("cn", u["cn"]),
                 ("sAMAccountName", u["sam"])]
            if u["display"]:
                e.append(("displayName", u["display"]))
            p = u["primary"]
            if p:
                if u["mailmode"] == "same":
                    e.append(("mail", p))
                elif u["mailmode"] == "other" and u["aliases"]:
                    e.append(("mail", u["aliases"][0]))
                e.append(("proxyAddresses", "SMTP:" + p))
            for a in u["aliases"]:
                e.append(("proxyAddresses", "smtp:" + a))
            if self.rng.random() < 0.1:
                e.append(("proxyAddresses", "X500:/o=x/cn=%s" % u["sam"]))
            if u["hidden"]:
                e.append(("msExchHideFromAddressLists", "TRUE"))
            e.append(("objectGUID:", guid_b64(u["guid"])))
            e.append(("userAccountControl", u["uac"]))
            ex = u["expires"]
            if ex is not None:
                if isinstance(ex, (int, float)):
                    e.append(("accountExpires", "@T%+d@" % int(ex)))
                else:
                    e.append(("accountExpires", ex))
            out.append(e)
        for g in self.groups.values():
            e = [("dn", self.dn(g)), ("objectClass", "top"),
                 ("objectClass", "group"), ("cn", g["cn"])]
            if g["mail"]:
                e.append(("mail", g["mail"]))
                e.append(("proxyAddresses", "SMTP:" + g["mail"]))
            for a in g["aliases"]:
                e.append(("proxyAddresses", "smtp:" + a))
            for m in g["members"]:
                o = self.obj(m)
                if o is not None:
                    e.append(("member", self.dn(o)))
            for gh in g["ghosts"]:
                e.append(("member", gh))
            e.append(("objectGUID:", guid_b64(g["guid"])))
            out.append(e)
        for c in self.contacts.values():
            e = [("dn", self.dn(c)), ("objectClass", "top"),
                 ("objectClass", "person"),
                 ("objectClass", "organizationalPerson"),
                 ("objectClass", "contact"), ("cn", c["cn"]),
                 ("targetAddress", "SMTP:" + c["external"]),
                 ("mail", c["external"])]
            for a in c["aliases"]:
                e.append(("proxyAddresses", "smtp:" + a))
            e.append(("objectGUID:", guid_b64(c["guid"])))
            out.append(e)
        return out

    def ldif(self, now):
        es = self.ldif_entries(now)
        self.rng.shuffle(es)
        lines = ["version: 1"]
        for e in es:
            lines.append("")
            for k, v in e:
                if k.endswith(":"):
                    lines.append("%s: %s" % (k, v))
                else:
                    lines.append("%s: %s" % (k, v))
        return "\n".join(lines) + "\n"

    # ---- mutation --------------------------------------------------------
    def step(self, now):
        """Apply one random change; return a description."""
        r = self.rng
        users = list(self.users.values())
        groups = list(self.groups.values())
        k = r.randrange(26)
        if k == 0 or not users:
            u = self.add_user()
            if r.random() < 0.3 and groups:
                g = r.choice(groups)
                g["members"].append(("u", u["id"]))
            return "add user %d %s" % (u["id"], u["primary"])
        u = r.choice(users)
        if k == 1:
            del self.users[u["id"]]
            return "delete user %d" % u["id"]
        if k == 2:
            # rehire: deleted and created again with the same addresses
            del self.users[u["id"]]
            v = self.add_user(primary=u["primary"])
            v["aliases"] = list(u["aliases"])
            for g in groups:
                if ("u", u["id"]) in g["members"]:
                    g["members"].append(("u", v["id"]))
            return "rehire %d as %d" % (u["id"], v["id"])
        if k == 3:
            if r.random() < 0.5:
                u["cn"] = "User %d r%d" % (u["id"], self.new_id())
            else:
                u["ou"] = "Sales" if u["ou"] == "Staff" else "Staff"
            return "rename DN of %d" % u["id"]
        if k == 4:
            old = u["primary"]
            u["primary"] = self.addr() if r.random() < 0.6 else self.fresh_addr()
            if old and r.random() < 0.4:
                u["aliases"].append(old)
            return "primary of %d %s -> %s" % (u["id"], old, u["primary"])
        if k == 5 and len(users) > 1:
            v = r.choice([x for x in users if x is not u])
            # move an address from u to v
            if u["aliases"] and r.random() < 0.5:
                a = u["aliases"].pop(r.randrange(len(u["aliases"])))
            else:
                a = u["primary"]
                u["primary"] = self.fresh_addr() if r.random() < 0.7 else \
                    (u["aliases"].pop(0) if u["aliases"] else None)
            if a:
                if r.random() < 0.5:
                    if v["primary"] and r.random() < 0.5:
                        v["aliases"].append(v["primary"])
                    v["primary"] = a
                else:
                    v["aliases"].append(a)
            return "move %s from %d to %d" % (a, u["id"], v["id"])
        if k == 6 and len(users) > 1:
            v = r.choice([x for x in users if x is not u])
            u["primary"], v["primary"] = v["primary"], u["primary"]
            return "swap primaries %d %d" % (u["id"], v["id"])
        if k == 7:
            u["aliases"].append(self.addr())
            return "add alias to %d" % u["id"]
        if k == 8 and u["aliases"]:
            u["aliases"].pop(r.randrange(len(u["aliases"])))
            return "drop alias of %d" % u["id"]
        if k == 9:
            u["uac"] = r.choice(["512", "514", "66048", "66050", "512",
                                 "514"] + (["abc"] if r.random() < 0.2 else []))
            return "uac of %d = %s" % (u["id"], u["uac"])
        if k == 10:
            w = r.random()
            if w < 0.3:
                u["expires"] = None
            elif w < 0.45:
                u["expires"] = r.choice(["0", "9223372036854775807"])
            elif w < 0.65:
                u["expires"] = int(now) - 86400
            elif w < 0.8:
                u["expires"] = int(now) + 86400 * 365
            else:
                # expires soon: after this step's runs, before the next
                t = int(now) + 3
                u["expires"] = t
                self.pending_expiry = max(self.pending_expiry, t)
            return "expires of %d = %s" % (u["id"], u["expires"])
        if k == 11 and self.cfg.get("visible_only"):
            u["hidden"] = not u["hidden"]
            return "hidden of %d = %s" % (u["id"], u["hidden"])
        if k == 12:
            u["display"] = "Disp %d" % self.new_id()
            return "display of %d" % u["id"]
        if k == 13:
            u["mailmode"] = r.choice(["same", "none", "other"])
            return "mailmode of %d = %s" % (u["id"], u["mailmode"])
        if k in (14, 15, 16) and groups:
            g = r.choice(groups)
            if g["members"] and r.random() < 0.5:
                m = g["members"].pop(r.randrange(len(g["members"])))
                return "group %d loses %s" % (g["id"], m)
            self.random_member_add(g)
            return "group %d gains %s" % (g["id"], g["members"][-1:] )
        if k == 17 and groups:
            g = r.choice(groups)
            w = r.random()
            if w < 0.4:
                g["mail"] = self.addr() if r.random() < 0.4 else \
                    "list%d@%s" % (self.new_id(), r.choice(DOMAINS))
            elif w < 0.6:
                g["mail"] = None
            elif w < 0.8:
                g["aliases"].append(self.addr())
            elif g["aliases"]:
                g["aliases"].pop()
            return "list %d addr %s %s" % (g["id"], g["mail"], g["aliases"])
        if k == 18:
            if groups and r.random() < 0.4:
                g = r.choice(groups)
                del self.groups[g["id"]]
                for h in self.groups.values():
                    h["members"] = [m for m in h["members"]
                                    if m != ("g", g["id"])]
                return "delete group %d" % g["id"]
            g = self.add_group()
            for _ in range(r.randint(0, 3)):
                self.random_member_add(g)
            if r.random() < 0.4 and groups:
                r.choice(groups)["members"].append(("g", g["id"]))
            return "add group %d" % g["id"]
        if k == 19:
            if self.contacts and r.random() < 0.6:
                c = r.choice(list(self.contacts.values()))
                w = r.random()
                if w < 0.4:
                    c["external"] = self.contact_ext()
                elif w < 0.7:
                    c["aliases"] = [self.addr()] if r.random() < 0.7 else []
                else:
                    del self.contacts[c["id"]]
                    return "delete contact %d" % c["id"]
                return "contact %d %s %s" % (c["id"], c["external"],
                                             c["aliases"])
            c = self.add_contact()
            if groups:
                r.choice(groups)["members"].append(("c", c["id"]))
            return "add contact %d" % c["id"]
        if k == 20 and groups:
            g = r.choice(groups)
            if g["ghosts"]:
                g["ghosts"] = []
            else:
                g["ghosts"] = ["CN=Ghost %d,OU=Staff,DC=example,DC=com" %
                               r.randint(1, 3)]
            return "ghosts of %d" % g["id"]
        if k == 21 and groups:
            g = r.choice(groups)
            g["cn"] = "Group %d r%d" % (g["id"], self.new_id())
            return "rename group %d" % g["id"]
        if k == 22 and len(users) > 2:
            # a cycle of three
            a, b, c = r.sample(users, 3)
            a["primary"], b["primary"], c["primary"] = \
                b["primary"], c["primary"], a["primary"]
            return "rotate primaries %d %d %d" % (a["id"], b["id"], c["id"])
        if k == 23 and len(users) > 1:
            # an alias claimed twice
            v = r.choice([x for x in users if x is not u])
            a = r.choice(v["aliases"] + [v["primary"]] if v["primary"]
                         else v["aliases"] or [self.addr()])
            u["aliases"].append(a)
            return "claim %s by %d too" % (a, u["id"])
        if k == 24 and groups and len(groups) > 1:
            # nest groups, maybe into a cycle
            g, h = r.sample(groups, 2)
            if ("g", h["id"]) not in g["members"]:
                g["members"].append(("g", h["id"]))
            return "nest %d in %d" % (h["id"], g["id"])
        # several at once
        descr = []
        for _ in range(r.randint(2, 4)):
            descr.append(self.step(now))
        return "; ".join(descr)

    def normalize(self):
        for u in self.users.values():
            seen = []
            for a in u["aliases"]:
                if a and a != u["primary"] and a not in seen:
                    seen.append(a)
            u["aliases"] = seen
