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
# its answer.  Target: PostgreSQL within 2x of SQLite.
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

# run LABEL CONF: one sync; sets SECS
run() {
	t0=$(now)
	if ! "$BIN" -q -c "$2" sync >"$T/$1.log" 2>&1; then
		echo "pg_bench: $1 failed:" >&2
		tail -n 5 "$T/$1.log" >&2
		exit 1
	fi
	SECS=$(echo "$(now) - $t0" | bc)
}

ROWS=""
for n in "$@"; do
	ldif=$OUT/users-$n.ldif
	if [ ! -s "$ldif" ]; then
		echo "pg_bench: generating $ldif" >&2
		python3 "$TOP/bench/gen_ldif.py" "$n" --seed 1 >"$ldif.tmp"
		mv "$ldif.tmp" "$ldif"
	fi
	for be in sqlite pgsql; do
		d=$T/$be-$n
		mkdir -p "$d"
		if [ $be = pgsql ]; then
			pg_sql "SET client_min_messages = warning; DROP TABLE IF EXISTS domain, mailbox, alias, alias_domain" >/dev/null
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
		echo "pg_bench: N=$n $be: initial sync" >&2
		run "$be-$n-initial" "$d/dirsync.conf"
		s1=$SECS
		echo "pg_bench: N=$n $be: re-sync" >&2
		run "$be-$n-resync" "$d/dirsync.conf"
		s2=$SECS
		ROWS="$ROWS$n $be $s1 $s2
"
	done
done

printf '%s' "$ROWS" | awk '
BEGIN { printf "%9s %-8s %10s %10s %8s %8s\n", "N", "target", "initial s", "resync s", "x init", "x resync" }
$2 == "sqlite" { base1[$1] = $3; base2[$1] = $4 }
{
	r1 = base1[$1] > 0 ? $3 / base1[$1] : 0
	r2 = base2[$1] > 0 ? $4 / base2[$1] : 0
	printf "%9d %-8s %10.2f %10.2f %8.2f %8.2f\n", $1, $2, $3, $4, r1, r2
}
END { print ""; print "target: PostgreSQL within 2x of SQLite (x columns)" }'
