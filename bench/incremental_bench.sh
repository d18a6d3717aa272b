#!/bin/bash
# incremental_bench.sh BINARY [N] - full against incremental reads on a
# big slapd with syncprov (RFC 4533 content sync).
#
# Loads N users (default 100000; bench/gen_ldif.py turned into OpenLDAP
# entries by tests/integration/lib/ldap/adldif.py) with slapadd into a
# private slapd with the syncprov overlay (session log N/10), then, over
# ldap:// on loopback:
#   initial      sync into an empty mail database (a full read that
#                leaves a snapshot and a cookie)
#   no-change    sync with nothing changed (incremental)
#   incremental  sync after 1% of the entries changed: N/400 added,
#                N/200 renamed (displayName), N/400 deleted, N/1000
#                members added to lists
#   full         sync --full of the same directory into a second database
#                (initial-B: its first run, before the changes)
#   incr-in-mem  the same 1% run again, from a copy of the state as the
#                change left it, with the mail database, the state and
#                the snapshot read into the page cache first: the run
#                on a machine that kept the files in memory (this one
#                pages out file pages idle for a minute, see
#                docs/benchmarks.md)
# and prints wall time, entries read from the server, peak RSS and the
# megabytes the run read from disk (getrusage's ru_inblock) of each
# (with -v: why the rules took the whole snapshot, if they did; with
# BENCH_STAGES=1 the stage timings too), then checks both mail databases
# are the same.  A benchmark, not a test.
#
# BENCH_CALLGRIND=1: the 1% run once more under valgrind's callgrind,
# from the same state: its instructions, in all and on the main thread
# (valgrind must be installed; a minute or so at 100k).
#
# BENCH_AB=OTHER_BINARY: after the change, the incremental run and a
# `sync --full` of the same state are also run with BINARY and with
# OTHER_BINARY, each from a copy of the state as the change left it,
# interleaved, BENCH_ROUNDS (default 2) times: an A/B comparison on one
# directory and one change (CPU time is user + system).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

[ $# -ge 1 ] || { echo "usage: $0 BINARY [N]" >&2; exit 2; }
BIN=$(realpath "$1")
N=${2:-100000}
case $N in '' | *[!0-9]*) echo "bench: N must be a number" >&2; exit 2 ;; esac
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"

T=$(mktemp -d /tmp/dirsync-incr-bench.XXXXXX)
trap 'slapd_stop; rm -rf "$T"' EXIT

bench_users "$N" || exit 1

SLAPD_SYNCPROV=1
SLAPD_SESSIONLOG=$((N / 10 > 1000 ? N / 10 : 1000))
bench_slapd || exit 1
printf 'slapd: %d entries loaded with slapadd in %.1f s\n' \
	"$(grep -c '^dn:' "$ol")" "$BENCH_LOAD_S"

conf()
{
	cat >"$T/$1.conf" <<EOF
[source]
type = ldap
uri = $SLAPD_URI
bind_dn = $SLAPD_BIND_DN
bind_password_file = $T/bind.secret
base_dn = dc=example,dc=com
timeout = 1800s
[mapping]
accepted_domains = example.com example.net
[target]
url = sqlite://$T/$1.db
[safety]
max_delete_percent = 100
max_member_removal_percent = 100
[state]
path = $T/$1-state.db
EOF
	chmod 600 "$T/$1.conf"
}
conf inc
conf full

# run NAME ARGS...: one timed dirsync run; a line of the table.
run()
{
	local name=$1
	shift
	"$TIME" -f '%e %M %U %S %I' -o "$T/time" "${RUNBIN:-$BIN}" -v "$@" \
		--json >"$T/run.json" 2>"$T/run.err" || {
		echo "bench: $name failed:" >&2
		tail -5 "$T/run.err" >&2
		exit 1
	}
	read -r secs rss usr sys inblk <"$T/time"
	[ -n "${RUNBIN:-}" ] && printf '%s: CPU %.2f s\n' "$RUNBIN" \
		"$(echo "$usr + $sys" | bc)"
	printf '%-12s %8.2f s  %-11s %9s entries read  %6d MB peak RSS  %5d MB from disk  %s%s\n' \
		"$name" "$secs" "$(jq -r .read_detail.mode "$T/run.json")" \
		"$(jq -r .read_detail.entries "$T/run.json")" $((rss / 1024)) \
		$((inblk / 2048)) \
		"$(jq -c '.summary|[.add,.update,.disable,.delete]' "$T/run.json")" \
		"$(jq -r 'if .read_detail.rules_skipped then "  (rules skipped)" elif .read_detail.rules == "delta" then "  (rules over the delta: \(.read_detail.rules_entries) entries)" elif .fast_path then "  (fast path)" else "" end' "$T/run.json")"
	# why the rules took the whole snapshot, and where the time went
	grep -h 'rules over the whole snapshot' "$T/run.err" | sed 's/^/    /'
	[ -n "${BENCH_STAGES:-}" ] && grep -h '^dirsync: .*([0-9.]*s)$' \
		"$T/run.err" | sed 's/^/    /'
	return 0
}

run initial -c "$T/inc.conf" sync
run initial-B -c "$T/full.conf" sync --full
run no-change -c "$T/inc.conf" sync

# 1% of the entries change
"$PY" - "$ol" "$N" >"$T/change.ldif" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
users, groups, cur = [], [], None
for line in open(path, encoding="utf-8"):
    if line.startswith("dn: "):
        cur = line[4:].strip()
    elif line.startswith("objectClass: inetOrgPerson") and cur:
        users.append(cur)
    elif line.startswith("objectClass: groupOfNames") and cur:
        groups.append(cur)
out = sys.stdout
for i in range(n // 400):
    out.write("dn: CN=Bench New %d,%s\nchangetype: add\n"
              "objectClass: inetOrgPerson\ncn: Bench New %d\nsn: New\n"
              "mail: bench.new%d@example.com\n\n"
              % (i, users[0].split(",", 1)[1], i, i))
for i in range(n // 200):
    out.write("dn: %s\nchangetype: modify\nreplace: displayName\n"
              "displayName: Renamed %d\n\n" % (users[7 * i + 3], i))
for i in range(n // 400):
    out.write("dn: %s\nchangetype: delete\n\n" % users[len(users) - 1 - 5 * i])
for i in range(n // 1000):
    out.write("dn: %s\nchangetype: modify\nadd: member\nmember: %s\n\n"
              % (groups[i % len(groups)], users[11 * i + 1]))
EOF
t0=$(date +%s.%N)
ldapmodify -x -c -H "$SLAPD_URI" -D "cn=admin,dc=example,dc=com" \
	-w "$SLAPD_BIND_PW" -f "$T/change.ldif" >"$T/ldapmodify.out" 2>&1 ||
	echo "bench: some changes were refused (see above)" >&2
printf 'changes: %d operations with ldapmodify in %.1f s\n' \
	"$(grep -c '^changetype' "$T/change.ldif")" \
	"$(echo "$(date +%s.%N) - $t0" | bc)"

# The state as the change left it, kept to run the change again.  Put
# back in place (cp onto the existing files): the SQLite fingerprint
# holds the mail database's inode, and a new file would make the run a
# full compare.
mkdir "$T/saved" && cp -a "$T"/inc.* "$T"/inc-state.* "$T/saved/" || exit 1
restore()
{
	local f
	for f in "$T"/inc.* "$T"/inc-state.*; do
		[ -e "$T/saved/${f##*/}" ] || rm -f "$f"
	done
	cp "$T/saved"/* "$T/"
}

if [ -n "${BENCH_AB:-}" ]; then
	OTHER=$(realpath "$BENCH_AB")
	for round in $(seq "${BENCH_ROUNDS:-2}"); do
		for RUNBIN in "$BIN" "$OTHER"; do
			for how in "" --full; do
				restore && sync || exit 1
				run "ab$round${how:+-full}" -c "$T/inc.conf" \
					sync $how
			done
		done
	done
	unset RUNBIN
	restore && sync || exit 1
fi
run incremental -c "$T/inc.conf" sync
cp "$T/run.json" "$T/inc.json"
# written back and synced first: the run's fsyncs must not flush the copy
restore && sync && cat "$T"/inc.* "$T"/inc-state.* >/dev/null || exit 1
run incr-in-mem -c "$T/inc.conf" sync
if [ -n "${BENCH_CALLGRIND:-}" ]; then
	# the same run's instructions: a figure a busy host does not move
	restore && sync || exit 1
	valgrind --tool=callgrind --separate-threads=yes \
		--callgrind-out-file="$T/cg.out" "$BIN" -c "$T/inc.conf" \
		sync --json >/dev/null 2>"$T/cg.err" ||
		{ tail -3 "$T/cg.err" >&2; exit 1; }
	printf 'incr-callgrind  %s instructions, %s of them on the main thread\n' \
		"$(cat "$T"/cg.out* | awk '/^summary:/ { s += $2 } END { printf "%.0fM", s / 1e6 }')" \
		"$(awk '/^summary:/ { printf "%.0fM", $2 / 1e6 }' "$T/cg.out-01")"
	rm -f "$T"/cg.out*
fi
rm -rf "$T/saved"
run full -c "$T/full.conf" sync --full
run no-change -c "$T/inc.conf" sync
"$PY" "$TOP/tests/integration/lib/ldap/maildump.py" "$T/inc.db" >"$T/a.txt"
"$PY" "$TOP/tests/integration/lib/ldap/maildump.py" "$T/full.db" >"$T/b.txt"
if cmp -s "$T/a.txt" "$T/b.txt"; then
	echo "check: the incremental and the full mail databases are the same"
else
	echo "check: the mail databases DIFFER" >&2
	diff "$T/a.txt" "$T/b.txt" | head -20 >&2
	exit 1
fi
