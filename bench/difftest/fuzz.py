#!/usr/bin/env python3
"""Differential tester: incremental `sync` (config A) against `sync --full`
(config B) over random directory steps, LDIF source, SQLite target.

Usage:
  fuzz.py run SEED [STEPS] [--ds PATH] [--variant N] [--keep]
  fuzz.py many FIRST LAST [STEPS] [--ds PATH]
  fuzz.py replay CASEDIR [--ds PATH]      (re-run a saved case)
  fuzz.py minimize CASEDIR OUTDIR [--ds PATH]

A saved case (CASEDIR) holds steps/NN.ldif (templates: @T+N@ is replaced
by T0+N, as a FILETIME, at write time), steps/NN.sql (hand edits applied
to both mail databases before the runs), steps/NN.at (seconds after T0 the
step started), and conf.ini (the shared configuration tail).
"""
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS = os.environ.get("DS", os.path.join(TOP, "build", "dirsync"))
BASE = os.environ.get("DIFFTEST_DIR", "/tmp/dirsync-difftest")
WORK = os.path.join(BASE, "work")


def conf_variant(rng, variant=None):
    v = rng.randrange(1 << 16) if variant is None else variant
    r = random.Random(v)
    safety = []
    if r.random() < 0.55:
        safety += ["max_delete_percent =", "max_member_removal_percent ="]
    if r.random() < 0.45:
        safety += ["deprovision = delete", "delete_after = 0s",
                   "delete_after_runs = %d" % r.randint(0, 3)]
    if r.random() < 0.15:
        safety += ["hold_removals = yes"]
    scope = []
    vis = r.random() < 0.3
    if vis:
        scope.append("visible_only = yes")
    tail = "[scope]\n" + "\n".join(scope) + "\n[safety]\n" + \
        "\n".join(safety) + "\n"
    return {"tail": tail, "visible_only": vis, "variant": v,
            "delete": "deprovision = delete" in safety}


def write_conf(d, ldif, tail):
    with open(os.path.join(d, "dirsync.conf"), "w") as f:
        f.write("[source]\ntype = ldif\npath = %s\n"
                "[mapping]\naccepted_domains = example.com example.net\n"
                "[target]\nurl = sqlite://%s/mail.db\n"
                "[state]\npath = %s/state.db\n" % (ldif, d, d))
        f.write(tail)
    os.chmod(os.path.join(d, "dirsync.conf"), 0o600)


def subst(templ, t0):
    return re.sub(r"@T([+-]\d+)@",
                  lambda m: str(model.filetime(t0 + int(m.group(1)))), templ)


def dump(db):
    try:
        c = sqlite3.connect(db)
        out = []
        out.append(("domain", c.execute(
            "SELECT domain, description, active FROM domain ORDER BY 1"
        ).fetchall()))
        out.append(("mailbox", c.execute(
            "SELECT username, name, maildir, local_part, domain, active, "
            "quota FROM mailbox ORDER BY 1").fetchall()))
        out.append(("alias", c.execute(
            "SELECT address, goto, active FROM alias ORDER BY 1").fetchall()))
        try:
            out.append(("managed", c.execute(
                "SELECT address, kind, anchor, disabled_at > 0 FROM "
                "dirsync_managed ORDER BY 1").fetchall()))
        except sqlite3.Error:
            out.append(("managed", []))
        c.close()
        return out
    except sqlite3.Error as e:
        return [("error", str(e))]


def diff(a, b):
    lines = []
    for (ta, ra), (tb, rb) in zip(a, b):
        sa, sb = set(ra), set(rb)
        for x in sorted(sa - sb, key=str):
            lines.append("%s only in sync:   %s" % (ta, x))
        for x in sorted(sb - sa, key=str):
            lines.append("%s only in --full: %s" % (ta, x))
    return lines


def ds(d, *args):
    p = subprocess.run([DS, "-c", os.path.join(d, "dirsync.conf")] +
                       list(args), capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


def crashed(rc, err):
    return rc < 0 or rc > 3 or "AddressSanitizer" in err or \
        "runtime error" in err or "LeakSanitizer" in err


HAND_EDITS = [
    "DELETE FROM mailbox WHERE username = (SELECT username FROM mailbox "
    "ORDER BY username LIMIT 1 OFFSET {k})",
    "UPDATE alias SET goto = 'hand@elsewhere.org' WHERE address = (SELECT "
    "address FROM alias ORDER BY address LIMIT 1 OFFSET {k})",
    "DELETE FROM alias WHERE address = (SELECT address FROM alias ORDER BY "
    "address LIMIT 1 OFFSET {k})",
    "UPDATE mailbox SET active = 0 WHERE username = (SELECT username FROM "
    "mailbox ORDER BY username LIMIT 1 OFFSET {k})",
    "UPDATE alias SET active = 0 WHERE address = (SELECT address FROM alias "
    "ORDER BY address LIMIT 1 OFFSET {k})",
    "INSERT OR IGNORE INTO alias (address, goto, domain) VALUES "
    "('{a}', 'hand@elsewhere.org', '{d}')",
    "UPDATE alias SET goto = goto || ',hand@elsewhere.org' WHERE address = "
    "(SELECT address FROM alias ORDER BY address LIMIT 1 OFFSET {k})",
]


def rand_edit(rng):
    e = rng.choice(HAND_EDITS)
    a = "%s@%s" % (rng.choice(model.NAMES), rng.choice(model.DOMAINS))
    return e.format(k=rng.randrange(12), a=a, d=a.split("@")[1])


def align_second(tail):
    """delete_after_runs counts runs by their start second: start each
    step at a new second, so that A's and B's runs of a step share one
    second and no two steps do."""
    if re.search(r"delete_after_runs = [1-9]", tail):
        t = time.time()
        time.sleep(int(t) + 1.01 - t)


class Case:
    """A sequence of steps and what is needed to replay it."""

    def __init__(self, tail, delete):
        self.tail = tail
        self.delete = delete
        self.steps = []   # dicts: ldif (template), sql, at, desc

    def save(self, d):
        os.makedirs(os.path.join(d, "steps"), exist_ok=True)
        with open(os.path.join(d, "conf.ini"), "w") as f:
            f.write(self.tail)
        for i, s in enumerate(self.steps, 1):
            base = os.path.join(d, "steps", "%02d" % i)
            with open(base + ".ldif", "w") as f:
                f.write(s["ldif"])
            if s.get("sql"):
                with open(base + ".sql", "w") as f:
                    f.write(s["sql"] + ";\n")
            with open(base + ".at", "w") as f:
                f.write("%d\n" % s["at"])
            with open(base + ".desc", "w") as f:
                f.write(s.get("desc", "") + "\n")

    @staticmethod
    def load(d):
        tail = open(os.path.join(d, "conf.ini")).read()
        c = Case(tail, "deprovision = delete" in tail)
        sd = os.path.join(d, "steps")
        for n in sorted(x[:-5] for x in os.listdir(sd) if x.endswith(".ldif")):
            base = os.path.join(sd, n)
            s = {"ldif": open(base + ".ldif").read(),
                 "at": int(open(base + ".at").read())}
            if os.path.exists(base + ".sql"):
                s["sql"] = open(base + ".sql").read().strip().rstrip(";")
            if os.path.exists(base + ".desc"):
                s["desc"] = open(base + ".desc").read().strip()
            c.steps.append(s)
        return c


def plan_changes(d, delete_mode):
    rc, out, err = ds(d, "plan", "--json")
    if crashed(rc, err):
        return None, "crash in plan rc=%d: %s" % (rc, err[-2000:])
    try:
        j = json.loads(out)
    except ValueError:
        return None, "plan output not JSON rc=%d: %s" % (rc, err[-500:])
    ch = j.get("changes") or []
    if delete_mode:
        ch = [c for c in ch if not (c.get("op") == "delete")]
    return ch, None


class Runner:
    def __init__(self, wd, case, check_plan=True, verbose=False,
                 compare_reports=False):
        self.wd = wd
        self.case = case
        self.check_plan = check_plan
        self.verbose = verbose
        self.compare_reports = compare_reports
        shutil.rmtree(wd, ignore_errors=True)
        os.makedirs(os.path.join(wd, "A"))
        os.makedirs(os.path.join(wd, "B"))
        self.ldif = os.path.join(wd, "cur.ldif")
        for x in "AB":
            write_conf(os.path.join(wd, x), self.ldif, case.tail)
        self.t0 = int(time.time())

    def wait_until(self, at):
        while time.time() < self.t0 + at:
            time.sleep(min(0.1, self.t0 + at - time.time() + 0.001))

    def one(self, i, s):
        """Run step s; return None or a failure (kind, text)."""
        self.wait_until(s["at"])
        align_second(self.case.tail)
        with open(self.ldif + ".tmp", "w") as f:
            f.write(subst(s["ldif"], self.t0))
        os.rename(self.ldif + ".tmp", self.ldif)
        A, B = os.path.join(self.wd, "A"), os.path.join(self.wd, "B")
        if s.get("sql"):
            for x in (A, B):
                if os.path.exists(os.path.join(x, "mail.db")):
                    c = sqlite3.connect(os.path.join(x, "mail.db"))
                    c.execute(s["sql"])
                    c.commit()
                    c.close()
        ra, oa, ea = ds(A, "sync", "--json")
        rb, ob, eb = ds(B, "sync", "--full", "--json")
        for rc, err, who in ((ra, ea, "sync"), (rb, eb, "sync --full")):
            if crashed(rc, err):
                return ("crash", "step %d %s rc=%d\n%s" % (i, who, rc,
                                                           err[-3000:]))
        with open(os.path.join(self.wd, "A", "last.json"), "w") as f:
            f.write(oa)
        with open(os.path.join(self.wd, "B", "last.json"), "w") as f:
            f.write(ob)
        da, db = dump(os.path.join(A, "mail.db")), \
            dump(os.path.join(B, "mail.db"))
        if da != db:
            return ("db-diff", "step %d (rc sync=%d, full=%d)\n%s" % (
                i, ra, rb, "\n".join(diff(da, db))))
        if ra != rb:
            return ("rc-diff", "step %d: sync rc=%d, sync --full rc=%d\n"
                    "sync: %s\nfull: %s" % (i, ra, rb, ea[-800:], eb[-800:]))
        if self.compare_reports and ra in (0, 3):
            try:
                ja, jb = json.loads(oa), json.loads(ob)
                ka = sorted(json.dumps(c, sort_keys=True)
                            for c in ja.get("changes", []))
                kb = sorted(json.dumps(c, sort_keys=True)
                            for c in jb.get("changes", []))
                if ka != kb:
                    return ("report-diff", "step %d\nsync:\n%s\nfull:\n%s" %
                            (i, "\n".join(sorted(set(ka) - set(kb))),
                             "\n".join(sorted(set(kb) - set(ka)))))
            except ValueError:
                pass
        had_delete = '"op":"delete"' in oa.replace(" ", "")
        if self.check_plan and ra == 0 and not (self.case.delete and
                                                had_delete):
            ch, e = plan_changes(A, self.case.delete)
            if e:
                return ("crash", "step %d: %s" % (i, e))
            if ch:
                return ("plan-after-sync", "step %d: plan after sync:\n%s" % (
                    i, "\n".join(json.dumps(c) for c in ch)))
        return None

    def run(self, upto=None):
        for i, s in enumerate(self.case.steps[:upto], 1):
            f = self.one(i, s)
            if f:
                return i, f
        return None, None


def gen_and_run(seed, steps, variant=None, keep=False, verbose=False,
                compare_reports=False):
    rng = random.Random(seed)
    cv = conf_variant(rng, variant)
    case = Case(cv["tail"], cv["delete"])
    wd = os.path.join(WORK, "s%d" % seed)
    runner = Runner(wd, case, verbose=verbose,
                    compare_reports=compare_reports)
    d = model.Dir(rng, cv)
    for i in range(1, steps + 1):
        desc = "initial"
        now = time.time() - runner.t0
        if d.pending_expiry and now < d.pending_expiry + 0.3:
            time.sleep(d.pending_expiry + 0.3 - now)
            now = time.time() - runner.t0
        d.pending_expiry = 0
        if i > 1:
            desc = d.step(now)
            d.normalize()
        s = {"ldif": d.ldif(now), "at": int(now), "desc": desc}
        if i > 1 and rng.random() < 0.1:
            s["sql"] = rand_edit(rng)
            s["desc"] += " + SQL " + s["sql"]
        case.steps.append(s)
        if verbose:
            print("step", i, desc)
        f = runner.one(i, s)
        if f:
            out = os.path.join(WORK, "fail-s%d" % seed)
            shutil.rmtree(out, ignore_errors=True)
            case.save(out)
            with open(os.path.join(out, "failure.txt"), "w") as fh:
                fh.write("%s\n%s\n" % f)
            return i, f, out
    if not keep:
        shutil.rmtree(wd, ignore_errors=True)
    return None, None, None


def main():
    global DS
    args = sys.argv[1:]
    if "--ds" in args:
        k = args.index("--ds")
        DS = args[k + 1]
        del args[k:k + 2]
    variant = None
    if "--variant" in args:
        k = args.index("--variant")
        variant = int(args[k + 1])
        del args[k:k + 2]
    keep = "--keep" in args
    verbose = "-v" in args
    cmpr = "--reports" in args
    args = [a for a in args if a not in ("--keep", "-v", "--reports")]
    os.makedirs(WORK, exist_ok=True)
    if args[0] == "run":
        seed = int(args[1])
        steps = int(args[2]) if len(args) > 2 else 40
        i, f, out = gen_and_run(seed, steps, variant, keep, verbose, cmpr)
        if f:
            print("seed %d FAIL at step %d: %s -> %s\n%s" % (
                seed, i, f[0], out, f[1][:3000]))
            sys.exit(1)
        print("seed %d ok (%d steps)" % (seed, steps))
    elif args[0] == "many":
        first, last = int(args[1]), int(args[2])
        steps = int(args[3]) if len(args) > 3 else 40
        ok = bad = 0
        for seed in range(first, last + 1):
            i, f, out = gen_and_run(seed, steps, None, False, False, cmpr)
            if f:
                bad += 1
                print("seed %d FAIL at step %d: %s -> %s\n  %s" % (
                    seed, i, f[0], out,
                    f[1][:600].replace("\n", "\n  ")), flush=True)
            else:
                ok += 1
                print("seed %d ok" % seed, flush=True)
        print("done: %d ok, %d failed" % (ok, bad))
    elif args[0] == "replay":
        case = Case.load(args[1])
        r = Runner(os.path.join(WORK, "replay"), case,
                   compare_reports=cmpr)
        i, f = r.run()
        print("replay:", i, f[0] if f else None)
        if f:
            print(f[1][:3000])
            sys.exit(1)


if __name__ == "__main__":
    main()
