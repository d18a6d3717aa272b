#!/bin/bash
# watch_bench.sh BINARY [N] [CHANGES] - watch mode latency: from an
# ldapmodify on slapd to the row in the mail database.
#
# Loads N users (default 10000; the same directory as
# incremental_bench.sh: bench/gen_ldif.py through adldif.py, slapadd) into
# a private slapd with syncprov, starts `dirsync daemon` with
# [schedule] watch = yes and an hour's interval (only the watch can
# explain a change arriving), waits for its first (full) run, then makes
# CHANGES (default 20) single ldapmodify changes 2 s apart, each a new
# displayName of a user who has a mailbox, and for each measures the time
# from the ldapmodify's return to the new name in the mailbox row
# (sqlite polled every 10 ms).  Prints each latency, median and max, and
# the daemon's own run times for those changes, and the stages of the
# last run (seconds since the run began).  A benchmark, not a test.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

[ $# -ge 1 ] || { echo "usage: $0 BINARY [N] [CHANGES]" >&2; exit 2; }
BIN=$(realpath "$1")
N=${2:-10000}
K=${3:-20}
case $N$K in '' | *[!0-9]*) echo "bench: N and CHANGES must be numbers" >&2; exit 2 ;; esac
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"

T=$(mktemp -d /tmp/dirsync-watch-bench.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID"; slapd_stop; rm -rf "$T"' EXIT

bench_users "$N" || exit 1

SLAPD_SYNCPROV=1
SLAPD_SESSIONLOG=$((N / 10 > 1000 ? N / 10 : 1000))
bench_slapd || exit 1
printf 'slapd: %d entries (slapadd), syncprov\n' "$(grep -c '^dn:' "$ol")"

cat >"$T/dirsync.conf" <<EOF
[source]
type = ldap
uri = $SLAPD_URI
bind_dn = $SLAPD_BIND_DN
bind_password_file = $T/bind.secret
base_dn = dc=example,dc=com
timeout = 120s
[mapping]
accepted_domains = example.com example.net
[target]
url = sqlite://$T/mail.db
[safety]
max_delete_percent = 100
max_member_removal_percent = 100
[schedule]
interval = 1h
watch = yes
[state]
path = $T/state.db
EOF
chmod 600 "$T/dirsync.conf"

t0=$(date +%s.%N)
# -vv: the stage timings of each run (the daemon logs them at debug)
"$BIN" -c "$T/dirsync.conf" -vv daemon -f >"$T/daemon.log" 2>&1 &
DPID=$!
for i in $(seq 1 6000); do
	grep -q 'watch: following changes' "$T/daemon.log" && break
	grep -q 'error:' "$T/daemon.log" && break
	sleep 0.1
done
grep -q 'watch: following changes' "$T/daemon.log" || {
	echo "bench: the daemon does not watch:" >&2
	tail -5 "$T/daemon.log" >&2
	exit 1
}
printf 'first run (full) and watching after %.1f s: %s\n' \
	"$(echo "$(date +%s.%N) - $t0" | bc)" \
	"$(grep -Eo 'run 1: done in [0-9.]+s' "$T/daemon.log")"
runs0=$(grep -Ec 'run [0-9]+: done' "$T/daemon.log")

"$PY" - "$ol" "$T/mail.db" "$K" "$SLAPD_URI" "$SLAPD_BIND_PW" <<'EOF'
import random, sqlite3, statistics, subprocess, sys, time

path, db, k, uri, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    sys.argv[4], sys.argv[5]
dn_of, cur = {}, None
for line in open(path, encoding="utf-8"):
    if line.startswith("dn: "):
        cur = line[4:].strip()
    elif line.lower().startswith("mail: ") and cur:
        dn_of[line[6:].strip().lower()] = cur
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
names = [r[0] for r in con.execute(
    "SELECT username FROM mailbox WHERE active = 1")]
pick = [u for u in names if u in dn_of]
random.seed(1)
pick = random.sample(pick, k)
lat = []
for i, user in enumerate(pick):
    want = "Watch Bench %d" % i
    ldif = ("dn: %s\nchangetype: modify\nreplace: displayName\n"
            "displayName: %s\n" % (dn_of[user], want))
    subprocess.run(["ldapmodify", "-x", "-H", uri, "-D",
                    "cn=admin,dc=example,dc=com", "-w", pw],
                   input=ldif.encode(), check=True,
                   stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    while True:
        row = con.execute("SELECT name FROM mailbox WHERE username = ?",
                          (user,)).fetchone()
        if row and row[0] == want:
            break
        if time.monotonic() - t0 > 120:
            sys.exit("bench: %s did not arrive within 120 s" % user)
        time.sleep(0.01)
    lat.append(time.monotonic() - t0)
    print("change %2d: %.3f s" % (i + 1, lat[-1]))
    time.sleep(2)
print("latency over %d changes: median %.3f s, max %.3f s, min %.3f s"
      % (len(lat), statistics.median(lat), max(lat), min(lat)))
EOF
rc=$?
grep -E 'run [0-9]+: done' "$T/daemon.log" | tail -n +$((runs0 + 1)) |
	grep -Eo 'done in [0-9.]+s' | sed 's/done in //; s/s$//' | sort -n |
	awk '{v[NR] = $1} END {
		if (NR) printf "the daemon'\''s %d watch runs: median %.1f s, max %.1f s (wall time of the run itself, as logged)\n",
			NR, v[int((NR + 1) / 2)], v[NR] }'
echo "the stages of the last run (seconds since it began):"
tac "$T/daemon.log" | sed -n '/debug: run starting/q; p' | tac |
	grep -E 'debug: (read [0-9]+ entries|rules:|fast path|target holds|plan:|applied)' |
	sed 's/^dirsync: debug: /  /'
exit $rc
