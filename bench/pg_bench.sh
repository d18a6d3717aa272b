#!/bin/sh
# pg_bench.sh BINARY [SIZES...] - the engine benchmark on PostgreSQL next
# to SQLite (default size 100000 users).
#
# For each size: the AD-shaped LDIF from bench/gen_ldif.py (cached in
# bench/out/, shared with bench/run.sh), synced into an empty database and
# then synced again with nothing changed, once into SQLite and once into a
# private PostgreSQL started here (durable settings: fsync on, as in
# production; TCP on 127.0.0.1 with password auth).  Wall-clock time
# includes the server's own work: every statement and the COMMIT wait for
# its answer; the server's CPU time (postmaster and its processes, exited
# backends included) is shown next to it.  Each run is repeated
# BENCH_REPEAT times (default 3); the table shows the fastest.
# Target: PostgreSQL within 2x of SQLite.
# A benchmark, not a test: it fails only when a run fails.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 BINARY [SIZES...]" >&2; exit 2; }
case $1 in
/*) BIN=$1 ;;
*) BIN=$(pwd)/$1 ;;
esac
shift
[ -x "$BIN" ] || { echo "pg_bench: $BIN: not an executable" >&2; exit 2; }
[ $# -gt 0 ] || set -- 100000
[ "$(id -u)" = 0 ] || { echo "pg_bench: needs root (runs PostgreSQL as postgres)" >&2; exit 2; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/bench/out
MAIL_LIB=$TOP/tests/integration/lib/mail
REPO=$TOP
. "$MAIL_LIB/common.sh"
. "$MAIL_LIB/pg.sh"
mail_init
mkdir -p "$OUT"
pg_start                                  # durable: fsync on

now() { date +%s.%N; }

# CPU seconds used so far by our PostgreSQL server and its processes.
pg_cpu() {
	python3 - "$(head -n 1 "$PG_DIR/data/postmaster.pid")" <<'PY'
import os, sys
pm = int(sys.argv[1])
hz = os.sysconf("SC_CLK_TCK")
total = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    ppid, ut, st, cut, cst = int(f[1]), int(f[11]), int(f[12]), int(f[13]), int(f[14])
    if int(pid) == pm:
        total += ut + st + cut + cst     # + exited backends, once reaped
    elif ppid == pm:
        total += ut + st
print("%.2f" % (total / hz))
PY
}

# run LABEL CONF: one sync; sets SECS and SRV (server CPU, PostgreSQL)
run() {
	c0=$(pg_cpu)
	t0=$(now)
	if ! "$BIN" -q -c "$2" sync >"$T/$1.log" 2>&1; then
		echo "pg_bench: $1 failed:" >&2
		tail -n 5 "$T/$1.log" >&2
		exit 1
	fi
	SECS=$(echo "$(now) - $t0" | bc)
	sleep 0.2   # let the postmaster reap the backend
	SRV=$(echo "$(pg_cpu) - $c0" | bc)
}

# min A B
min() { echo "if ($1 < $2) $1 else $2" | bc; }

REPEAT=${BENCH_REPEAT:-3}
ROWS=""
for n in "$@"; do
	ldif=$OUT/users-$n.ldif
	if [ ! -s "$ldif" ]; then
		echo "pg_bench: generating $ldif" >&2
		python3 "$TOP/bench/gen_ldif.py" "$n" --seed 1 >"$ldif.tmp"
		mv "$ldif.tmp" "$ldif"
	fi
	for be in sqlite pgsql; do
		best1=999999 best2=999999 srv1=0 srv2=0
		i=0
		while [ $i -lt "$REPEAT" ]; do
			i=$((i + 1))
			d=$T/$be-$n
			rm -rf "$d"
			mkdir -p "$d"
			if [ $be = pgsql ]; then
				pg_sql "SET client_min_messages = warning; DROP TABLE IF EXISTS domain, mailbox, alias, alias_domain" >/dev/null
				pg_sql "CHECKPOINT" >/dev/null
				url=$PG_URL
			else
				url=sqlite://$d/mail.db
			fi
			cat >"$d/dirsync.conf" <<-CONF
			[source]
			type = ldif
			path = $ldif
			[mapping]
			accepted_domains = example.com example.net
			[target]
			url = $url
			[state]
			path = $d/state.db
			CONF
			chmod 600 "$d/dirsync.conf"
			echo "pg_bench: N=$n $be: initial sync ($i/$REPEAT)" >&2
			run "$be-$n-initial" "$d/dirsync.conf"
			[ "$(min "$SECS" "$best1")" = "$SECS" ] && { best1=$SECS; srv1=$SRV; }
			echo "pg_bench: N=$n $be: re-sync ($i/$REPEAT)" >&2
			run "$be-$n-resync" "$d/dirsync.conf"
			[ "$(min "$SECS" "$best2")" = "$SECS" ] && { best2=$SECS; srv2=$SRV; }
		done
		[ $be = sqlite ] && { srv1=0; srv2=0; }
		ROWS="$ROWS$n $be $best1 $best2 $srv1 $srv2
"
	done
done

printf '%s' "$ROWS" | awk '
BEGIN {
	printf "%9s %-7s %10s %9s %9s %9s %7s %8s\n", "N", "target",
	    "initial s", "server s", "resync s", "server s", "x init", "x resync"
}
$2 == "sqlite" { base1[$1] = $3; base2[$1] = $4 }
{
	r1 = base1[$1] > 0 ? $3 / base1[$1] : 0
	r2 = base2[$1] > 0 ? $4 / base2[$1] : 0
	s1 = $2 == "sqlite" ? "-" : sprintf("%.2f", $5)
	s2 = $2 == "sqlite" ? "-" : sprintf("%.2f", $6)
	printf "%9d %-7s %10.2f %9s %9.2f %9s %7.2f %8.2f\n", $1, $2, $3, s1,
	    $4, s2, r1, r2
}
END {
	print ""
	print "wall seconds, fastest of the repeats; server s = PostgreSQL CPU"
	print "target: PostgreSQL within 2x of SQLite (x columns)"
}'
