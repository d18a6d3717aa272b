#!/usr/bin/env python3
"""Differential tester against a live slapd with syncprov (incremental
reads, rules over the delta): `sync` (A) vs `sync --full` (B).

Usage: fuzz_slapd.py FIRST LAST [STEPS] [--port P] [--ds PATH]
One slapd (port P, 127.0.0.1, work dir $DIFFTEST_DIR/slapd/P) per invocation;
every seed starts from an emptied tree (all entries deleted and the OUs
recreated) and fresh mail/state databases.

A failing seed is saved as $DIFFTEST_DIR/work/slapd-fail-sN/: NN.ldif
(ldapmodify input applied before step NN), NN.sql, NN.at, conf.ini,
failure.txt.
"""
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz  # noqa: E402
import model  # noqa: E402

SUFFIX = "dc=example,dc=com"
ROOTDN = "cn=admin," + SUFFIX
ROOTPW = "secret"
SCHEMA = os.path.join(fuzz.TOP, "tests", "integration", "slapd",
                      "dirsync-test.schema")

EXTRA_SCHEMA = """
attributetype ( 2.25.66266709248875556269173315061144042108.1.900 NAME 'accountExpires'
	EQUALITY integerMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 2.25.66266709248875556269173315061144042108.2.900 NAME 'dsFuzz'
	AUXILIARY MAY ( accountExpires ) )
objectclass ( 2.25.66266709248875556269173315061144042108.2.901 NAME 'group'
	SUP top STRUCTURAL MUST cn MAY ( member $ mail $ description ) )
"""


def port_free(p):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Slapd:
    def __init__(self, port):
        self.port = port
        self.dir = os.path.join(fuzz.BASE, "slapd", str(port))
        self.uri = "ldap://127.0.0.1:%d" % port
        self.pid = None

    def init(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir + "/db")
        with open(self.dir + "/fuzz.schema", "w") as f:
            f.write(EXTRA_SCHEMA)
        h = subprocess.run(["slappasswd", "-h", "{SSHA}", "-s", ROOTPW],
                           capture_output=True, text=True).stdout.strip()
        with open(self.dir + "/slapd.conf", "w") as f:
            f.write("""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include %(schema)s
include %(dir)s/fuzz.schema
pidfile %(dir)s/slapd.pid
argsfile %(dir)s/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload syncprov
sizelimit unlimited
database mdb
suffix "%(suffix)s"
rootdn "%(rootdn)s"
rootpw %(h)s
directory %(dir)s/db
maxsize 1073741824
index objectClass,entryUUID,entryCSN eq
overlay syncprov
syncprov-checkpoint 100 1
syncprov-sessionlog 1000
overlay memberof
memberof-refint true
memberof-group-oc group
""" % {"schema": SCHEMA, "dir": self.dir, "suffix": SUFFIX,
                "rootdn": ROOTDN, "h": h})
        base = "dn: %s\nobjectClass: dcObject\nobjectClass: organization\n" \
            "dc: example\no: example\n" % SUFFIX
        for ou in ("Staff", "Sales", "Groups", "Contacts"):
            base += "\ndn: ou=%s,%s\nobjectClass: organizationalUnit\n" \
                "ou: %s\n" % (ou, SUFFIX, ou)
        with open(self.dir + "/base.ldif", "w") as f:
            f.write(base)
        subprocess.run(["slapadd", "-q", "-w", "-f", self.dir + "/slapd.conf",
                        "-l", self.dir + "/base.ldif"], check=True,
                       capture_output=True)

    def start(self):
        assert 42400 <= self.port <= 42499
        if not port_free(self.port):
            raise SystemExit("port %d busy" % self.port)
        subprocess.run(["slapd", "-f", self.dir + "/slapd.conf", "-h",
                        self.uri + "/"], check=True)
        for _ in range(100):
            if os.path.exists(self.dir + "/slapd.pid"):
                self.pid = int(open(self.dir + "/slapd.pid").read())
                break
            time.sleep(0.05)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)

    def stop(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in range(100):
                try:
                    os.kill(self.pid, 0)
                    time.sleep(0.05)
                except ProcessLookupError:
                    break
            self.pid = None

    def modify(self, text):
        p = subprocess.run(["ldapmodify", "-x", "-H", self.uri, "-D", ROOTDN,
                            "-w", ROOTPW], input=text, capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError("ldapmodify rc=%d: %s\n--\n%s" % (
                p.returncode, p.stderr, text[-3000:]))

    def wipe(self):
        p = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", self.uri, "-D",
                            ROOTDN, "-w", ROOTPW, "-b", SUFFIX, "-s", "sub",
                            "(!(objectClass=organizationalUnit))", "1.1"],
                           capture_output=True, text=True)
        dns = [l[4:] for l in p.stdout.split("\n") if l.startswith("dn: ")]
        dns = [d for d in dns if d.lower() != SUFFIX]
        if dns:
            self.modify("".join("dn: %s\nchangetype: delete\n\n" % d
                                for d in dns))


def to_openldap(ent, tmpl_subst):
    """model entry (list of (attr, value)) -> (dn, {attr: [values]})."""
    dn = None
    attrs = {}
    kind = None
    for k, v in ent:
        if k == "dn":
            dn = v.replace(",DC=example,DC=com", "," + SUFFIX)
            continue
        if k == "objectClass":
            if v in ("user", "group", "contact"):
                kind = v
            continue
        if k.startswith("objectGUID"):
            continue
        attrs.setdefault(k, []).append(v)
    if kind == "user":
        attrs["objectClass"] = ["inetOrgPerson", "dirsyncAD", "dsFuzz"]
        attrs["sn"] = [attrs["cn"][0]]
    elif kind == "group":
        attrs["objectClass"] = ["group", "dirsyncAD"]
    else:
        attrs["objectClass"] = ["contact", "dirsyncAD"]
        attrs["sn"] = [attrs["cn"][0]]
    for k in list(attrs):
        if k == "member":
            attrs[k] = [m.replace(",DC=example,DC=com", "," + SUFFIX)
                        for m in attrs[k]]
        # de-duplicate values the way slapd compares them (case-insensitive)
        seen, vals = set(), []
        for v in attrs[k]:
            key = v.lower() if k != "member" else v.lower().replace(" ", "")
            if key not in seen:
                seen.add(key)
                vals.append(v)
        attrs[k] = vals
    return dn, attrs


def rdn_split(dn):
    rdn, parent = dn.split(",", 1)
    return rdn, parent


def changes(old, new):
    """old/new: {guid: (dn, attrs)} -> ldapmodify text."""
    out = []
    for g in old:
        if g not in new:
            out.append("dn: %s\nchangetype: delete\n" % old[g][0])
    for g in new:
        if g in old and old[g][0] != new[g][0]:
            od, nd = old[g][0], new[g][0]
            ordn, opar = rdn_split(od)
            nrdn, npar = rdn_split(nd)
            t = "dn: %s\nchangetype: modrdn\nnewrdn: %s\ndeleteoldrdn: 1\n" % (
                od, nrdn)
            if opar.lower() != npar.lower():
                t += "newsuperior: %s\n" % npar
            out.append(t)
    for g in new:
        if g not in old:
            dn, a = new[g]
            t = "dn: %s\nchangetype: add\n" % dn
            for k, vs in a.items():
                for v in vs:
                    t += "%s: %s\n" % (k, v)
            out.append(t)
    for g in new:
        if g in old:
            dn, a = new[g]
            oa = old[g][1]
            mods = []
            for k in sorted(set(a) | set(oa)):
                if k in ("cn",):
                    continue
                if a.get(k) == oa.get(k):
                    continue
                if k in a:
                    mods.append("replace: %s\n%s-\n" % (k, "".join(
                        "%s: %s\n" % (k, v) for v in a[k])))
                else:
                    mods.append("replace: %s\n-\n" % k)
            if mods:
                out.append("dn: %s\nchangetype: modify\n%s" % (dn,
                                                             "".join(mods)))
    return "\n".join(out)


def snapshot(d, t0, now):
    out = {}
    ents = d.ldif_entries(now)
    for e in ents:
        guid = [v for k, v in e if k.startswith("objectGUID")][0]
        e2 = [(k, re.sub(r"@T([+-]\d+)@",
                         lambda m: str(model.filetime(t0 + int(m.group(1)))),
                         v)) for k, v in e]
        out[guid] = to_openldap(e2, None)
    return out


def write_conf(dd, slapd, tail):
    with open(os.path.join(dd, "bind.secret"), "w") as f:
        f.write(ROOTPW + "\n")
    os.chmod(os.path.join(dd, "bind.secret"), 0o600)
    with open(os.path.join(dd, "dirsync.conf"), "w") as f:
        f.write("[source]\ntype = ldap\nuri = %s\nbind_dn = %s\n"
                "bind_password_file = %s/bind.secret\nbase_dn = %s\n"
                "flavor = openldap\n"
                "filter = (|(objectClass=inetOrgPerson)(objectClass=group)"
                "(objectClass=contact))\n"
                "[mapping]\naccepted_domains = example.com example.net\n"
                "group_filter = (objectClass=group)\n"
                "[target]\nurl = sqlite://%s/mail.db\n"
                "[state]\npath = %s/state.db\n" % (
                    slapd.uri, ROOTDN, dd, SUFFIX, dd, dd))
        f.write(tail)
    os.chmod(os.path.join(dd, "dirsync.conf"), 0o600)


def run_seed(slapd, seed, steps, verbose=False):
    rng = random.Random(seed)
    cv = fuzz.conf_variant(rng)
    cv["slapd"] = True
    wd = os.path.join(fuzz.WORK, "slapd-s%d" % seed)
    shutil.rmtree(wd, ignore_errors=True)
    for x in "AB":
        os.makedirs(os.path.join(wd, x))
        write_conf(os.path.join(wd, x), slapd, cv["tail"])
    slapd.wipe()
    t0 = int(time.time())
    d = model.Dir(rng, cv)
    old = {}
    log = []
    case = fuzz.Case(cv["tail"], cv["delete"])
    runner = fuzz.Runner.__new__(fuzz.Runner)
    runner.wd, runner.case, runner.check_plan = wd, case, True
    runner.compare_reports = False
    runner.ldif = os.path.join(wd, "unused.ldif")
    for i in range(1, steps + 1):
        now = time.time() - t0
        if d.pending_expiry and now < d.pending_expiry + 0.3:
            time.sleep(d.pending_expiry + 0.3 - now)
            now = time.time() - t0
        d.pending_expiry = 0
        desc = "initial"
        if i > 1:
            desc = d.step(now)
            d.normalize()
        for u in d.users.values():
            if u["uac"] == "abc":
                u["uac"] = "514"
        new = snapshot(d, t0, now)
        text = changes(old, new)
        sql = rand_sql(rng) if i > 1 and rng.random() < 0.08 else None
        log.append((i, desc, text, sql, int(now)))
        case.steps.append({"ldif": d.ldif(now), "at": int(now), "desc": desc,
                           "sql": sql})
        if text.strip():
            slapd.modify(text)
        old = new
        s = {"ldif": "", "at": -10**9}
        if sql:
            s["sql"] = sql
        f = one_slapd(runner, i, s, wd)
        if verbose:
            import json as _j
            try:
                rd = _j.load(open(os.path.join(wd, "A", "last.json")))
                info = (rd["read_detail"].get("mode"), rd["read_detail"].get("rules"), rd.get("compare"))
            except Exception:
                info = None
            print(i, desc[:100], f and f[0], info)
        if f:
            out = os.path.join(fuzz.WORK, "slapd-fail-s%d" % seed)
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            with open(out + "/conf.ini", "w") as fh:
                fh.write(cv["tail"])
            for (n, dsc, tx, sq, at) in log:
                with open(out + "/%02d.ldif" % n, "w") as fh:
                    fh.write("# %s\n%s" % (dsc.replace("\n", " "), tx))
                if sq:
                    with open(out + "/%02d.sql" % n, "w") as fh:
                        fh.write(sq + ";\n")
                with open(out + "/%02d.at" % n, "w") as fh:
                    fh.write("%d\n" % at)
            with open(out + "/failure.txt", "w") as fh:
                fh.write("%s\n%s\n" % f)
            case.save(out + "/case")
            with open(out + "/case/failure.txt", "w") as fh:
                fh.write("%s\n%s\n" % f)
            return i, f, out
    shutil.rmtree(wd, ignore_errors=True)
    return None, None, None


def parse_entries(text):
    """LDIF template (model form) -> list of entries [(attr, value)]."""
    ents = []
    for chunk in text.split("\n\n")[1:]:
        e = []
        for l in chunk.strip("\n").split("\n"):
            if l.startswith("objectGUID:: "):
                e.append(("objectGUID:", l[13:]))
            else:
                k, v = l.split(": ", 1)
                e.append((k, v))
        if e:
            ents.append(e)
    return ents


class SlapdRunner:
    """Replays a fuzz.Case (full-state templates) against slapd."""
    slapd = None

    def __init__(self, wd, case):
        self.wd, self.case = wd, case
        self.check_plan = True
        self.compare_reports = False
        shutil.rmtree(wd, ignore_errors=True)
        for x in "AB":
            os.makedirs(os.path.join(wd, x))
            write_conf(os.path.join(wd, x), self.slapd, case.tail)
        self.slapd.wipe()
        self.t0 = int(time.time())
        self.old = {}
        self.deltas = []

    def state(self, templ):
        out = {}
        for e in parse_entries(templ):
            guid = [v for k, v in e if k.startswith("objectGUID")][0]
            e2 = [(k, re.sub(r"@T([+-]\d+)@", lambda m: str(model.filetime(
                self.t0 + int(m.group(1)))), v)) for k, v in e]
            out[guid] = to_openldap(e2, None)
        return out

    def run(self, upto=None):
        import minimize
        ws = minimize.waits(self.case)
        for i, s in enumerate(self.case.steps[:upto], 1):
            w = ws[i - 1]
            if w is not None:
                while time.time() < self.t0 + w + 0.3:
                    time.sleep(0.05)
            new = self.state(s["ldif"])
            text = changes(self.old, new)
            self.deltas.append(text)
            if text.strip():
                self.slapd.modify(text)
            self.old = new
            f = one_slapd(self, i, s, self.wd)
            if f:
                return i, f
        return None, None


def rand_sql(rng):
    return fuzz.rand_edit(rng)


def one_slapd(runner, i, s, wd):
    # same as fuzz.Runner.one but without writing an LDIF file
    A, B = os.path.join(wd, "A"), os.path.join(wd, "B")
    fuzz.align_second(runner.case.tail)
    if s.get("sql"):
        for x in (A, B):
            if os.path.exists(os.path.join(x, "mail.db")):
                c = sqlite3.connect(os.path.join(x, "mail.db"))
                c.execute(s["sql"])
                c.commit()
                c.close()
    ra, oa, ea = fuzz.ds(A, "sync", "--json")
    rb, ob, eb = fuzz.ds(B, "sync", "--full", "--json")
    for rc, err, who in ((ra, ea, "sync"), (rb, eb, "sync --full")):
        if fuzz.crashed(rc, err):
            return ("crash", "step %d %s rc=%d\n%s" % (i, who, rc,
                                                       err[-3000:]))
    with open(os.path.join(A, "last.json"), "w") as f:
        f.write(oa)
    with open(os.path.join(B, "last.json"), "w") as f:
        f.write(ob)
    da, db = fuzz.dump(os.path.join(A, "mail.db")), \
        fuzz.dump(os.path.join(B, "mail.db"))
    if da != db:
        return ("db-diff", "step %d (rc sync=%d, full=%d)\n%s" % (
            i, ra, rb, "\n".join(fuzz.diff(da, db))))
    if ra != rb:
        return ("rc-diff", "step %d: sync rc=%d, sync --full rc=%d\n"
                "sync: %s\nfull: %s" % (i, ra, rb, ea[-800:], eb[-800:]))
    had_delete = '"op":"delete"' in oa.replace(" ", "")
    if ra == 0 and not (runner.case.delete and had_delete):
        ch, e = fuzz.plan_changes(A, runner.case.delete)
        if e:
            return ("crash", "step %d: %s" % (i, e))
        if ch:
            import json
            return ("plan-after-sync", "step %d: plan after sync:\n%s" % (
                i, "\n".join(json.dumps(c) for c in ch)))
    return None


def main():
    args = sys.argv[1:]
    port = 42410
    if "--port" in args:
        k = args.index("--port")
        port = int(args[k + 1])
        del args[k:k + 2]
    if "--ds" in args:
        k = args.index("--ds")
        fuzz.DS = args[k + 1]
        del args[k:k + 2]
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    first, last = int(args[0]), int(args[1])
    steps = int(args[2]) if len(args) > 2 else 30
    sl = Slapd(port)
    sl.init()
    sl.start()
    print("slapd pid", sl.pid, "on", sl.uri, flush=True)
    ok = bad = 0
    try:
        for seed in range(first, last + 1):
            try:
                i, f, out = run_seed(sl, seed, steps, verbose)
            except RuntimeError as e:
                print("seed %d: harness error %s" % (seed, str(e)[:800]),
                      flush=True)
                continue
            if f:
                bad += 1
                print("seed %d FAIL at step %d: %s -> %s\n  %s" % (
                    seed, i, f[0], out, f[1][:800].replace("\n", "\n  ")),
                    flush=True)
            else:
                ok += 1
                print("seed %d ok" % seed, flush=True)
    finally:
        sl.stop()
    print("done: %d ok, %d failed" % (ok, bad))


def _term(*a):
    raise SystemExit(143)


if __name__ == "__main__":
    import signal as _signal
    _signal.signal(_signal.SIGTERM, _term)
    main()
