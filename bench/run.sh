#!/bin/bash
# run.sh BINARY [SIZES...] - the dirsync benchmark (`make bench`).
#
# For each size N (default 10000 100000 1000000): generate an AD-shaped
# LDIF with N users (bench/gen_ldif.py, cached in bench/out/), sync it into
# an empty SQLite Postfixadmin database, then sync again with nothing
# changed.  Prints wall time and peak RSS of both runs against the targets:
#   initial sync of 100k users <= 2 s, re-sync <= 1 s,
#   peak RSS <= 1 KiB per directory object + 32 MiB.
# A benchmark, not a test: it fails only when a run fails, not on a miss.
#
# Each sync is run BENCH_REPEAT times (default 3; 1 for N > 100000), the
# initial one each time into a fresh database; the table shows the fastest
# wall time and the largest peak RSS, so a busy machine skews less.
set -u

usage() {
	echo "usage: $0 BINARY [SIZES...]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
case $1 in
/*) BIN=$1 ;;
*) BIN=$(pwd)/$1 ;;
esac
shift
[ -x "$BIN" ] || { echo "bench: $BIN: not an executable" >&2; exit 2; }
[ $# -gt 0 ] || set -- 10000 100000 1000000
for n in "$@"; do
	case $n in
	'' | *[!0-9]*) echo "bench: size '$n' is not a number" >&2; exit 2 ;;
	esac
done

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/bench/out
GEN=$TOP/bench/gen_ldif.py
TIME=/usr/bin/time
if [ ! -x $TIME ]; then
	echo "bench: $TIME missing, installing it (scripts/deps.sh)" >&2
	"$TOP/scripts/deps.sh" || exit 1
fi
mkdir -p "$OUT" || exit 1

# measure LABEL LOG CMD...: run CMD under time(1); sets SECS (wall), CPU
# (user + system) and RSS (peak, KiB).
measure() {
	label=$1 log=$2
	shift 2
	$TIME -f '%e %U %S %M' -o "$log.time" "$@" >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "bench: $label failed (exit $rc), last lines of $log:" >&2
		tail -n 5 "$log" >&2
		exit 1
	fi
	read -r SECS usr sys RSS <"$log.time"
	CPU=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

# best OLD NEW: the smaller of two times (awk: they are decimals).
best() {
	awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'
}

ROWS=""
for n in "$@"; do
	ldif=$OUT/users-$n.ldif
	if [ ! -s "$ldif" ] || [ "$GEN" -nt "$ldif" ]; then
		echo "bench: generating $ldif" >&2
		python3 "$GEN" "$n" --seed 1 >"$ldif.tmp" &&
		    mv "$ldif.tmp" "$ldif" || exit 1
		grep -c '^dn:' "$ldif" >"$ldif.count"
	fi
	[ -s "$ldif.count" ] || grep -c '^dn:' "$ldif" >"$ldif.count"
	objects=$(cat "$ldif.count")
	bytes=$(stat -c %s "$ldif")

	dir=$OUT/run-$n
	rm -rf "$dir"
	mkdir -p "$dir" || exit 1
	cat >"$dir/dirsync.conf" <<-CONF
	; written by bench/run.sh
	[source]
	type = ldif
	path = $ldif
	[mapping]
	accepted_domains = example.com example.net
	[target]
	url = sqlite://$dir/mail.db
	[state]
	path = $dir/state.db
	CONF

	reps=${BENCH_REPEAT:-}
	[ -n "$reps" ] || { [ "$n" -gt 100000 ] && reps=1 || reps=3; }
	s1='' s2='' c1='' c2='' r1=0
	for rep in $(seq "$reps"); do
		rm -f "$dir"/mail.db* "$dir"/state.db*
		echo "bench: N=$n: initial sync ($rep/$reps)" >&2
		measure "initial sync of $n" "$dir/initial.log" \
		    "$BIN" -c "$dir/dirsync.conf" sync
		s1=$(best "$s1" "$SECS")
		c1=$(best "$c1" "$CPU")
		[ "$RSS" -gt "$r1" ] && r1=$RSS
	done
	for rep in $(seq "$reps"); do
		echo "bench: N=$n: re-sync ($rep/$reps)" >&2
		measure "re-sync of $n" "$dir/resync.log" \
		    "$BIN" -c "$dir/dirsync.conf" sync
		s2=$(best "$s2" "$SECS")
		c2=$(best "$c2" "$CPU")
		[ "$RSS" -gt "$r1" ] && r1=$RSS
		if ! grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete' \
		    "$dir/resync.log"; then
			echo "bench: re-sync of $n changed something:" >&2
			grep '^summary' "$dir/resync.log" >&2
			exit 1
		fi
	done
	ROWS="$ROWS$n $objects $bytes $s1 $s2 $r1 $c1 $c2
"
done

printf '%s' "$ROWS" | awk '
BEGIN {
	printf "%8s %8s %7s %9s %8s %8s %8s %11s  %s\n", "N", "objects",
	    "LDIF MB", "initial s", "resync s", "peak MiB", "B/object",
	    "cpu s", "targets"
}
{
	n = $1; obj = $2; mb = $3 / 1048576; s1 = $4; s2 = $5; kib = $6
	mib = kib / 1024
	limit = obj / 1024 + 32            # MiB: 1 KiB per object + 32 MiB
	v = (mib <= limit ? "rss ok" : "RSS MISSED") \
	    sprintf(" (<= %.0f MiB)", limit)
	if (n == 100000)
		v = v (s1 <= 2 ? ", initial ok" : ", INITIAL MISSED") \
		    (s2 <= 1 ? ", resync ok" : ", RESYNC MISSED")
	printf "%8d %8d %7.1f %9.2f %8.2f %8.1f %8.0f %11s  %s\n", n, obj, mb,
	    s1, s2, mib, kib * 1024 / obj, $7 "/" $8, v
}
END {
	print ""
	print "initial/resync s: best wall time; cpu s: best user+system" \
	    " time, initial/resync"
	print "targets: 100k users: initial <= 2 s, re-sync <= 1 s;" \
	    " peak RSS <= 1 KiB/object + 32 MiB"
}'
