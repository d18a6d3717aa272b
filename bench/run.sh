#!/bin/bash
# run.sh BINARY [SIZES...] - the dirsync benchmark (`make bench`).
#
# For each size N (default 10000 100000 1000000): generate an AD-shaped
# LDIF with N users (bench/gen_ldif.py, cached in bench/out/), sync it into
# an empty SQLite Postfixadmin database, then sync again with nothing
# changed.  Prints wall time and peak RSS against the targets:
#   initial sync of 100k users <= 2 s, no-change sync <= 0.3x initial,
#   peak RSS <= 1 KiB per directory object + 32 MiB.
# A benchmark, not a test: it fails only when a run fails, not on a miss.
#
# BENCH_REPEAT (default 3) interleaved rounds, each: an initial sync into
# a fresh database, a no-change sync of a steady database (the fast path)
# and a no-change `sync --full` of it; then the same LDIF with 1% of its
# entries changed (every 200th user dropped, every 200th, offset 100,
# renamed in displayName: disables, updates and list member changes),
# synced into the steady database as a plain sync (the partial compare
# of issue 16) and, after going back, with --full.  The table shows min
# and median wall time of each, the no-change / initial ratio (target <=
# 0.3) and the largest peak RSS.
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

# stats FILE: "min median" of the first column (seconds) of FILE.
stats() {
	sort -n "$1" | awk '{ t[NR] = $1 }
		END { printf "%s %s", t[1], t[int((NR + 1) / 2)] }'
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
	changed=$OUT/users-$n-1pct.ldif
	if [ ! -s "$changed" ] || [ "$ldif" -nt "$changed" ]; then
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
		/\nobjectClass: user\n/ { u++
			if (u % 200 == 0) next
			if (u % 200 == 100) sub(/\ndisplayName: [^\n]*/, "& (changed)")
		}
		{ print }' "$ldif" >"$changed.tmp" && mv "$changed.tmp" "$changed" ||
		    exit 1
	fi
	objects=$(cat "$ldif.count")
	bytes=$(stat -L -c %s "$ldif")

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

	# a steady database: synced once, then every round syncs it again
	# with nothing changed (the fast path) and once more with --full
	mkdir -p "$dir/steady" || exit 1
	# (its source is a link, so that the 1% change below keeps the
	# configuration, whose hash the fast path compares, as it is)
	ln -sf "$ldif" "$dir/steady/source.ldif" || exit 1
	sed -e "s|$dir/mail.db|$dir/steady/mail.db|" \
	    -e "s|$dir/state.db|$dir/steady/state.db|" \
	    -e "s|$ldif|$dir/steady/source.ldif|" "$dir/dirsync.conf" \
	    >"$dir/steady/dirsync.conf"
	chmod 600 "$dir/dirsync.conf" "$dir/steady/dirsync.conf"
	echo "bench: N=$n: steady database" >&2
	measure "first sync of $n" "$dir/steady/first.log" \
	    "$BIN" -c "$dir/steady/dirsync.conf" sync
	r1=$RSS
	: >"$dir/initial.t"; : >"$dir/nochange.t"; : >"$dir/full.t"
	: >"$dir/pct.t"; : >"$dir/pctfull.t"
	reps=${BENCH_REPEAT:-3}
	for rep in $(seq "$reps"); do
		# interleaved: a busy machine slows all three alike
		rm -f "$dir"/mail.db* "$dir"/state.db*
		echo "bench: N=$n: round $rep/$reps: initial sync" >&2
		measure "initial sync of $n" "$dir/initial.log" \
		    "$BIN" -c "$dir/dirsync.conf" sync
		echo "$SECS $CPU" >>"$dir/initial.t"
		[ "$RSS" -gt "$r1" ] && r1=$RSS
		for kind in nochange full; do
			echo "bench: N=$n: round $rep/$reps: $kind" >&2
			opt=
			[ $kind = full ] && opt=--full
			measure "no-change sync ($kind) of $n" \
			    "$dir/$kind.log" "$BIN" -c \
			    "$dir/steady/dirsync.conf" sync $opt
			echo "$SECS $CPU" >>"$dir/$kind.t"
			[ "$RSS" -gt "$r1" ] && r1=$RSS
			if ! grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete' \
			    "$dir/$kind.log"; then
				echo "bench: no-change sync of $n changed something:" >&2
				grep '^summary' "$dir/$kind.log" >&2
				exit 1
			fi
		done
		# 1% changed: the partial compare, then the same with --full;
		# back to the steady LDIF after each (not measured)
		for kind in pct pctfull; do
			echo "bench: N=$n: round $rep/$reps: 1% changed ($kind)" >&2
			opt=
			[ $kind = pctfull ] && opt=--full
			ln -sf "$changed" "$dir/steady/source.ldif"
			measure "1% changed sync ($kind) of $n" "$dir/$kind.log" \
			    "$BIN" -v -c "$dir/steady/dirsync.conf" sync $opt
			echo "$SECS $CPU" >>"$dir/$kind.t"
			[ "$RSS" -gt "$r1" ] && r1=$RSS
			if [ $kind = pct ] &&
			    ! grep -q 'partial compare:' "$dir/$kind.log"; then
				echo "bench: 1% changed sync of $n compared all:" >&2
				grep 'compare' "$dir/$kind.log" >&2
			fi
			ln -sf "$ldif" "$dir/steady/source.ldif"
			measure "sync back of $n" "$dir/back.log" \
			    "$BIN" -c "$dir/steady/dirsync.conf" sync
		done
	done
	ROWS="$ROWS$n $objects $bytes $(stats "$dir/initial.t") $(stats "$dir/nochange.t") $(stats "$dir/full.t") $r1 $(stats "$dir/pct.t") $(stats "$dir/pctfull.t")
"
done

printf '%s' "$ROWS" | awk '
BEGIN {
	printf "%8s %8s %7s %13s %13s %13s %13s %13s %13s %8s  %s\n", "N",
	    "objects", "LDIF MB", "initial s", "no-change s", "ratio",
	    "--full s", "1% s", "1% --full s", "peak MiB", "targets"
}
{
	n = $1; obj = $2; mb = $3 / 1048576
	i1 = $4; i2 = $5; f1 = $6; f2 = $7; u1 = $8; u2 = $9; kib = $10
	p1 = $11; p2 = $12; q1 = $13; q2 = $14
	mib = kib / 1024
	limit = obj / 1024 + 32            # MiB: 1 KiB per object + 32 MiB
	r1 = f1 / i1; r2 = f2 / i2
	v = (mib <= limit ? "rss ok" : "RSS MISSED") \
	    sprintf(" (<= %.0f MiB)", limit)
	v = v (r2 <= 0.3 ? ", no-change ok" : ", NO-CHANGE MISSED")
	if (n == 100000)
		v = v (i1 <= 2 ? ", initial ok" : ", INITIAL MISSED")
	printf "%8d %8d %7.1f %6.2f/%6.2f %6.2f/%6.2f %6.3f/%6.3f %6.2f/%6.2f %6.2f/%6.2f %6.2f/%6.2f %8.1f  %s\n",
	    n, obj, mb, i1, i2, f1, f2, r1, r2, u1, u2, p1, p2, q1, q2, mib, v
}
END {
	print ""
	print "each column: min/median wall time of the interleaved rounds;" \
	    " ratio: no-change / initial (min/min, median/median)"
	print "no-change: a sync with nothing changed (the fast path);" \
	    " --full: the same, comparing the whole mail database"
	print "1%: 1% of the entries changed (a plain sync: the partial" \
	    " compare); 1% --full: the same change, comparing everything"
	print "targets: no-change <= 0.3x initial; 100k users: initial <= 2 s;" \
	    " peak RSS <= 1 KiB/object + 32 MiB"
}'
