#!/bin/sh
# kill -9 of dirsync at every SQLite statement of a sync that changes
# things (a leaver, a new person, a changed primary address), on the state
# and the mail database alike; and two syncs at once.  After each kill the
# mail database holds either the old or the new rows, never a half, and
# the next sync converges to what an uninterrupted sync gives.
. "$(dirname "$0")/lib.sh"

case_begin kill
ds -q sync
expect_rc first-sync 0
snap base
changed_dir >"$S/changed.ldif"
mkconf "$S/changed.ldif" "[safety]
max_delete_percent ="

# the reference: the same sync, not interrupted; and how many statements
FAULT_COUNT_FILE=$S/count LD_PRELOAD=$SHIM \
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
rc=$?
expect_rc reference-sync 0
dump >"$S/ref.dump"
total=$(cat "$S/count")
dump >/dev/null
restore base
dump >"$S/base.dump"

n=1
bad=0
committed=0
points=0
while [ "$n" -le "$total" ]; do
	restore base
	points=$((points + 1))
	FAULT_KILL_AT=$n LD_PRELOAD=$SHIM \
		"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
	krc=$?
	dump >"$S/killed.dump"
	if [ "$krc" != 137 ]; then
		fail "kill-at-$n" "exit $krc, wanted 137 (killed)"
		bad=$((bad + 1))
	elif cmp -s "$S/killed.dump" "$S/ref.dump"; then
		committed=$((committed + 1))   # killed after the mail commit
	elif ! cmp -s "$S/killed.dump" "$S/base.dump" &&
		! cmp -s "$S/killed.dump" "$S/ref.dump"; then
		fail "kill-at-$n-all-or-nothing" "the mail database is half-changed"
		bad=$((bad + 1))
	fi
	ds -q sync
	if [ "$rc" != 0 ]; then
		fail "kill-at-$n-next-run" "exit $rc"
		bad=$((bad + 1))
	else
		dump >"$S/after.dump"
		ds plan
		if ! cmp -s "$S/after.dump" "$S/ref.dump"; then
			fail "kill-at-$n-converges" "differs from an uninterrupted sync"
			diff "$S/ref.dump" "$S/after.dump" | head -6 | sed 's/^/    /'
			bad=$((bad + 1))
		elif ! grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete, 1 conflict, 0 error' "$S/out"; then
			fail "kill-at-$n-converges" "the plan after recovery is not empty"
			grep -E '^ |^summary|^conflict' "$S/out" | head -6 | sed 's/^/    /'
			bad=$((bad + 1))
		fi
	fi
	[ $bad -gt 5 ] && break
	# each of the first 40 and the last 20 (the commits), every 5th
	# between: about 80 kills
	if [ "$n" -lt 40 ] || [ "$n" -ge $((total - 20)) ]; then
		n=$((n + 1))
	elif [ $((n + 5)) -gt $((total - 20)) ]; then
		n=$((total - 20))
	else
		n=$((n + 5))
	fi
done
[ $bad = 0 ] && pass "kill-9-at-$points-of-$total-statements"
# the loop must have hit both sides of the mail commit
if [ "$committed" -gt 0 ] && [ "$committed" -lt "$total" ]; then
	pass "kills-before-and-after-the-mail-commit ($committed after)"
else
	fail kills-on-both-sides "$committed of $total kills came after the mail commit"
fi

# two syncs at once: one runs, the other says the lock is held; nothing
# is applied twice and the next run has nothing left to do
restore base
"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out1" 2>"$S/err1" &
p1=$!
"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out2" 2>"$S/err2" &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
case "$r1$r2" in
00) pass two-syncs-both-ran-in-turn ;;
01 | 10)
	if grep -qi "lock\|in use by another dirsync run" "$S/err1" "$S/err2"; then
		pass two-syncs-one-refused-with-lock-message
	else
		fail two-syncs "one failed without naming the lock: $(cat "$S/err1" "$S/err2" | head -3)"
	fi ;;
*) fail two-syncs "exits $r1 and $r2" ;;
esac
dump >"$S/after.dump"
if cmp -s "$S/after.dump" "$S/ref.dump"; then pass two-syncs-result; else fail two-syncs-result "differs from one sync"; fi
converged two-syncs
