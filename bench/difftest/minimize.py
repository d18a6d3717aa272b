#!/usr/bin/env python3
"""Shrink a failing case from fuzz.py and write a repro directory.

Usage: minimize.py CASEDIR OUTDIR [--ds PATH] [--kind KIND] [--quick]
OUTDIR gets N.ldif (+ N.sql), run.sh, failure.txt.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz  # noqa: E402

NEAR = 10000


def offsets(templ):
    return [int(x) for x in re.findall(r"@T([+-]\d+)@", templ)]


def waits(case):
    """For each step, the offset after which it must run (or None)."""
    near = sorted({n for s in case.steps for n in offsets(s["ldif"])
                   if 0 < n < NEAR})
    out = []
    for s in case.steps:
        w = [n for n in near if n <= s["at"]]
        out.append(max(w) if w else None)
    return out


class FastRunner(fuzz.Runner):
    def run(self, upto=None):
        ws = waits(self.case)
        for i, s in enumerate(self.case.steps[:upto], 1):
            s2 = dict(s)
            w = ws[i - 1]
            s2["at"] = -10**9
            if w is not None:
                while time.time() < self.t0 + w + 0.3:
                    time.sleep(0.05)
            f = self.one(i, s2)
            if f:
                return i, f
        return None, None


RUNNER = None


def attempt(case, kind):
    cls = RUNNER or FastRunner
    try:
        r = cls(os.path.join(fuzz.WORK, "min%d" % os.getpid()), case)
        i, f = r.run()
    except (RuntimeError, KeyError, ValueError, IndexError):
        return None
    if f and (kind is None or f[0] == kind):
        del case.steps[i:]
        return f
    return None


def split_entries(text):
    chunks = text.split("\n\n")
    return chunks[0], [c.strip("\n") for c in chunks[1:] if c.strip()]


def join_entries(head, ents):
    return head + "".join("\n\n" + e for e in ents) + "\n"


def guid_of(ent):
    m = re.search(r"^objectGUID:: (\S+)$", ent, re.M)
    return m.group(1) if m else None


def dn_of(ent):
    return ent.split("\n", 1)[0][4:]


def copy_case(case):
    c = fuzz.Case(case.tail, case.delete)
    c.steps = [dict(s) for s in case.steps]
    return c


def minimize(case, kind, log):
    f = attempt(case, kind)
    if not f:
        log("does not reproduce")
        return None, None
    kind = f[0]
    log("reproduces: %s at step %d" % (kind, len(case.steps)))
    # 1. steps
    changed = True
    while changed:
        changed = False
        j = len(case.steps) - 2
        while j >= 0:
            c = copy_case(case)
            del c.steps[j]
            g = attempt(c, kind)
            if g:
                case, f, changed = c, g, True
                log("dropped step %d -> %d steps" % (j + 1, len(c.steps)))
            j = min(j - 1, len(case.steps) - 2)
    # 2. hand edits
    for j, s in enumerate(case.steps):
        if s.get("sql"):
            c = copy_case(case)
            c.steps[j] = dict(s)
            del c.steps[j]["sql"]
            g = attempt(c, kind)
            if g and len(c.steps) == len(case.steps):
                case, f = c, g
                log("dropped sql of step %d" % (j + 1))
    for rnd in range(3):
        n0 = sum(len(s["ldif"]) for s in case.steps)
        case, f = shrink_objects_lines(case, f, kind, log)
        if sum(len(s["ldif"]) for s in case.steps) == n0:
            break
    return case, f


def shrink_objects_lines(case, f, kind, log):
    # 3. whole objects
    guids = []
    for s in case.steps:
        for e in split_entries(s["ldif"])[1]:
            gd = guid_of(e)
            if gd and gd not in guids:
                guids.append(gd)
    for gd in guids:
        dns = set()
        for s in case.steps:
            for e in split_entries(s["ldif"])[1]:
                if guid_of(e) == gd:
                    dns.add(dn_of(e).lower())
        c = copy_case(case)
        for s in c.steps:
            head, ents = split_entries(s["ldif"])
            ents = [e for e in ents if guid_of(e) != gd]
            ents = ["\n".join(l for l in e.split("\n")
                              if not (l.startswith("member: ") and
                                      l[8:].lower() in dns))
                    for e in ents]
            s["ldif"] = join_entries(head, ents)
        g = attempt(c, kind)
        if g and len(c.steps) == len(case.steps):
            case, f = c, g
            log("dropped object %s" % gd)
    # 4. lines, everywhere at once, then per step
    keep = ("dn:", "objectClass:", "objectGUID::")
    if RUNNER is not None:
        keep = keep + ("cn:",)

    def lines_of(cs):
        out = []
        for s in cs.steps:
            for e in split_entries(s["ldif"])[1]:
                gd = guid_of(e)
                for l in e.split("\n")[1:]:
                    if not l.startswith(keep) and (gd, l) not in out:
                        out.append((gd, l))
        return out

    def drop_line(cs, gd, line, only=None):
        c = copy_case(cs)
        for k, s in enumerate(c.steps):
            if only is not None and k != only:
                continue
            head, ents = split_entries(s["ldif"])
            ents = ["\n".join(l for l in e.split("\n") if l != line)
                    if guid_of(e) == gd else e for e in ents]
            s["ldif"] = join_entries(head, ents)
        return c

    for gd, l in lines_of(case):
        c = drop_line(case, gd, l)
        if c.steps == case.steps:
            continue
        g = attempt(c, kind)
        if g and len(c.steps) == len(case.steps):
            case, f = c, g
            log("dropped line %r everywhere" % l)
    for k in range(len(case.steps)):
        for gd, l in lines_of(case):
            c = drop_line(case, gd, l, k)
            if c.steps == case.steps:
                continue
            g = attempt(c, kind)
            if g and len(c.steps) == len(case.steps):
                case, f = c, g
                log("dropped line %r in step %d" % (l, k + 1))
    return case, f


# The end of step() and of the script, after the step's directory
# change: the SQL edits, A's sync and B's sync --full, their mail
# databases compared and A's plan after its sync; slapd_repro.py's
# run.sh ends the same way.
STEP_CHECK_TAIL = r'''	if [ -f "$here/$n.sql" ]; then
		sqlite3 "$W/A/mail.db" <"$here/$n.sql"
		sqlite3 "$W/B/mail.db" <"$here/$n.sql"
	fi
	"$DS" -c "$W/A/dirsync.conf" sync >"$W/A/out.$n" 2>"$W/A/err.$n"
	ra=$?
	"$DS" -c "$W/B/dirsync.conf" sync --full >"$W/B/out.$n" 2>"$W/B/err.$n"
	rb=$?
	echo "step $n: sync exit $ra, sync --full exit $rb"
	dump "$W/A/mail.db" >"$W/A/dump.$n"
	dump "$W/B/mail.db" >"$W/B/dump.$n"
	if ! cmp -s "$W/A/dump.$n" "$W/B/dump.$n"; then
		echo "  MAIL DATABASES DIFFER after step $n (< sync, > sync --full):"
		diff "$W/A/dump.$n" "$W/B/dump.$n" | grep '^[<>]' | sed 's/^/    /'
		bad=1
	fi
	if [ "$ra" -eq 0 ]; then
		"$DS" -c "$W/A/dirsync.conf" plan >"$W/A/plan.$n" 2>&1
		if grep -qE '^  (add|update|disable|delete) ' "$W/A/plan.$n"; then
			echo "  PLAN AFTER SYNC IS NOT EMPTY after step $n:"
			grep -E '^  (add|update|disable|delete) ' "$W/A/plan.$n" | sed 's/^/    /'
			bad=1
		fi
	fi
}
%(steps)s
if [ $bad -ne 0 ]; then
	echo "REPRODUCED (work files in $W)"
	exit 1
fi
echo "not reproduced (work files in $W)"
exit 0
'''

RUN_SH = r'''#!/bin/sh
# %(title)s
# Steps: %(nsteps)d LDIF files applied in order (plus N.sql: a hand edit of
# the mail database, applied to both databases before that step's runs).
# A: `dirsync sync` after each step; B: `dirsync sync --full` after each
# step (separate state and mail database).  Expected: identical mailbox,
# alias, domain and dirsync_managed rows after every step, and `plan`
# right after A's sync finds nothing to change.
# Usage: DS=/path/to/dirsync sh run.sh
set -u
DS=${DS:-dirsync}
here=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d "$here/work.XXXXXX")
mkdir "$W/A" "$W/B"
for x in A B; do
	cat >"$W/$x/dirsync.conf" <<EOF
[source]
type = ldif
path = $W/cur.ldif
[mapping]
accepted_domains = example.com example.net
[target]
url = sqlite://$W/$x/mail.db
[state]
path = $W/$x/state.db
%(tail)sEOF
	chmod 600 "$W/$x/dirsync.conf"
done
T0=$(date +%%s)
ft() { echo $(( (T0 + $1 + 11644473600) * 10000000 )); }
waitpast() { while [ "$(date +%%s)" -le $((T0 + $1)) ]; do sleep 0.2; done; }
dump() {
	sqlite3 "$1" "SELECT 'domain', domain, active FROM domain ORDER BY 2;
	SELECT 'mailbox', username, name, maildir, active FROM mailbox ORDER BY 2;
	SELECT 'alias', address, goto, active FROM alias ORDER BY 2;
	SELECT 'managed', address, kind, anchor, disabled_at > 0
	FROM dirsync_managed ORDER BY 2"
}
bad=0
step() {
	n=$1
	shift
	# start each step at a new second (delete_after_runs counts runs by
	# the second they started in)
	s0=$(date +%%s); while [ "$(date +%%s)" = "$s0" ]; do sleep 0.05; done
	sed "$@" "$here/$n.ldif" >"$W/cur.ldif"
''' + STEP_CHECK_TAIL


def write_repro(case, f, out, title):
    os.makedirs(out, exist_ok=True)
    for x in os.listdir(out):
        if re.match(r"^\d+\.(ldif|sql)$", x):
            os.remove(os.path.join(out, x))
    ws = waits(case)
    lines = []
    for i, s in enumerate(case.steps, 1):
        with open(os.path.join(out, "%d.ldif" % i), "w") as fh:
            fh.write(s["ldif"])
        if s.get("sql"):
            with open(os.path.join(out, "%d.sql" % i), "w") as fh:
                fh.write(s["sql"].rstrip(";") + ";\n")
        offs = sorted(set(offsets(s["ldif"])))
        if ws[i - 1] is not None:
            lines.append("waitpast %d" % ws[i - 1])
        sedargs = " ".join('-e "s/@T%+d@/$(ft %d)/g"' % (n, n) for n in offs)
        lines.append("step %d %s" % (i, sedargs or "-e ''"))
    with open(os.path.join(out, "run.sh"), "w") as fh:
        fh.write(RUN_SH % {"title": title, "nsteps": len(case.steps),
                           "tail": case.tail, "steps": "\n".join(lines)})
    with open(os.path.join(out, "failure.txt"), "w") as fh:
        fh.write("%s\n%s\n" % f)
    case.save(os.path.join(out, "case"))


def main():
    args = sys.argv[1:]
    if "--ds" in args:
        k = args.index("--ds")
        fuzz.DS = args[k + 1]
        del args[k:k + 2]
    kind = None
    if "--kind" in args:
        k = args.index("--kind")
        kind = args[k + 1]
        del args[k:k + 2]
    sl = None
    if "--slapd" in args:
        global RUNNER
        k = args.index("--slapd")
        port = int(args[k + 1])
        del args[k:k + 2]
        import fuzz_slapd
        sl = fuzz_slapd.Slapd(port)
        sl.init()
        sl.start()
        print("slapd pid", sl.pid, flush=True)
        fuzz_slapd.SlapdRunner.slapd = sl
        RUNNER = fuzz_slapd.SlapdRunner
    try:
        main2(args, kind)
    finally:
        if sl:
            sl.stop()


def load_repro(d):
    txt = open(os.path.join(d, "run.sh")).read()
    tail = txt.split("path = $W/$x/state.db\n", 1)[1].split("EOF\n", 1)[0]
    c = fuzz.Case(tail, "deprovision = delete" in tail)
    n = 1
    while os.path.exists(os.path.join(d, "%d.ldif" % n)):
        s = {"ldif": open(os.path.join(d, "%d.ldif" % n)).read(),
             "at": -10**9}
        if os.path.exists(os.path.join(d, "%d.sql" % n)):
            s["sql"] = open(os.path.join(d, "%d.sql" % n)).read().strip().rstrip(";")
        c.steps.append(s)
        n += 1
    return c


def main2(args, kind):
    if os.path.exists(os.path.join(args[0], "run.sh")):
        case = load_repro(args[0])
    else:
        case = fuzz.Case.load(args[0])
    out = args[1]
    title = args[2] if len(args) > 2 else "dirsync: sync differs from sync --full"

    def log(m):
        print(m, flush=True)
    case, f = minimize(case, kind, log)
    if case is None:
        sys.exit(1)
    if RUNNER is not None:
        import slapd_repro
        slapd_repro.write_repro_slapd(case, f, out, title)
    else:
        write_repro(case, f, out, title)
    print("wrote", out, "steps", len(case.steps))
    print(f[1][:2000])


def _term(*a):
    raise SystemExit(143)


if __name__ == "__main__":
    import signal as _signal
    _signal.signal(_signal.SIGTERM, _term)
    main()
