#!/bin/sh
# Huge groups: one list of 300,000 members, and a 20,000-deep chain of
# nested lists (top first, the worst order for a walk per list), also
# closed into one 20,000-group cycle.  Each sync finishes in bounded time
# and memory, with a 512 KiB stack (no recursion grows with the depth),
# gives the right members (the big list has all of them, every list of the
# chain the leaf's 3 users), and the next plan changes nothing.
# GROUPS_BIG / GROUPS_DEEP change the sizes (bench/groups_bench.sh); the
# bounds grow with them (300,000 members: 150 s, 1,400 MiB; 20,000 deep:
# 70 s, 500 MiB: generous, the machine is shared; measured figures are in
# docs/benchmarks.md).
. "$(dirname "$0")/lib.sh"
BIG=${GROUPS_BIG:-300000}
DEEP=${GROUPS_DEEP:-20000}
GEN=$FAULTS_HERE/gen_groups.py

# timed NAME MAXSEC MAXMB ARGS...: dirsync under /usr/bin/time, 512 KiB
# of stack; checks the exit, wall time and peak RSS against the bounds
timed() {
	name=$1 maxs=$2 maxmb=$3
	shift 3
	(ulimit -s 512 && exec /usr/bin/time -f '%e %M %U %S' -o "$S/time" \
		"$DIRSYNC" -c "$S/dirsync.conf" "$@") >"$S/out" 2>"$S/err"
	rc=$?
	expect_rc "$name-exit-0" 0
	read -r secs kb usr sys <"$S/time"
	mb=$((kb / 1024))
	cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	if awk -v s="$secs" -v m="$maxs" 'BEGIN { exit !(s <= m) }' &&
		[ "$mb" -le "$maxmb" ]; then
		pass "$name-in-${secs}s-cpu-${cpu}s-${mb}MiB"
	else
		fail "$name-bounded" "${secs} s (max $maxs), $mb MiB (max $maxmb)"
	fi
}

nothing_to_do() {
	ds plan
	if [ "$rc" = 0 ] && grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete, 0 conflict, 0 error' "$S/out"; then
		pass "$1-converges"
	else
		fail "$1-converges" "the next plan changes something"
	fi
}

if ! command -v python3 >/dev/null || [ ! -x /usr/bin/time ]; then
	echo "SKIP faults/groups (needs python3 and /usr/bin/time)"
	exit 0
fi

# 1. one list with $BIG members
case_begin groups-big
python3 "$GEN" big "$BIG" >"$S/dir.ldif"
mkconf "$S/dir.ldif"
timed big-sync $((30 + BIG / 2500)) $((200 + BIG / 250)) -q sync
expect_eq big-list-has-all-members "$BIG" \
	"$(sqlite3 "$S/mail.db" "SELECT length(goto) - length(replace(goto, ',', '')) + 1 FROM alias WHERE address = 'everyone@example.com'")"
expect_eq big-list-last-member "1" \
	"$(sqlite3 "$S/mail.db" "SELECT instr(goto, 'u$(printf %07d $((BIG - 1)))@example.com') > 0 FROM alias WHERE address = 'everyone@example.com'")"
nothing_to_do big
rm -f "$S/dir.ldif"

# 2. a chain $DEEP lists deep, then the same chain closed into a cycle
for shape in chain cycle; do
	case_begin "groups-deep-$shape"
	if [ $shape = cycle ]; then
		python3 "$GEN" deep "$DEEP" --cycle >"$S/dir.ldif"
	else
		python3 "$GEN" deep "$DEEP" >"$S/dir.ldif"
	fi
	mkconf "$S/dir.ldif"
	timed "deep-$shape-sync" $((30 + DEEP / 500)) $((100 + DEEP / 50)) -q sync
	expect_eq "deep-$shape-lists" "$DEEP" \
		"$(sqlite3 "$S/mail.db" "SELECT count(*) FROM alias WHERE address GLOB 'g[0-9]*@example.com'")"
	expect_eq "deep-$shape-top-has-the-leaf-members" \
		"u0000000@example.com,u0000001@example.com,u0000002@example.com" \
		"$(sqlite3 "$S/mail.db" "SELECT goto FROM alias WHERE address = 'g$((DEEP - 1))@example.com'")"
	expect_eq "deep-$shape-every-list-the-same" "1" \
		"$(sqlite3 "$S/mail.db" "SELECT count(DISTINCT goto) FROM alias WHERE address GLOB 'g[0-9]*@example.com'")"
	nothing_to_do "deep-$shape"
done
