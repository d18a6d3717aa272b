#!/bin/sh
# The clock: 400 days behind for one run, then right again.  The run
# behind disables the leaver (no working mailbox for a leaver while the
# clock is wrong), recorded as disabled at the last run's time, not 400
# days ago, holds deletes back and says why; with the right clock again
# no delete happens before delete_after AND delete_after_runs.  Then a
# run ahead (a bogus date) followed by the right clock: disables go on,
# deletes wait, the report says so, --force-limits lets them through.
. "$(dirname "$0")/lib.sh"

case_begin clock
mkconf "$S/dir.ldif" "[safety]
deprovision = delete
delete_after = 1d
delete_after_runs = 4"
ds -q sync
expect_rc first-sync 0
awk 'BEGIN { RS = ""; ORS = "\n\n" } /dn: CN=Sam Owusu,/ { next } { print }' \
	"$COMPANY" >"$S/dir.ldif"

# one run with the clock 400 days behind
FAULT_TIME_OFFSET=-34560000 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
rc=$?
expect_rc behind-run-exit-0 0
expect_in behind-run-says-why "the clock reads earlier than the last run" "$S/err"
expect_eq behind-run-disables "0" \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")"
first=$(sqlite3 "$S/state.db" "SELECT min(strftime('%s', started)) FROM runs")
expect_eq behind-run-disabled-at-last-run 1 \
	"$(sqlite3 "$S/mail.db" "SELECT disabled_at >= $first AND disabled_at <= strftime('%s', 'now') FROM dirsync_managed WHERE address = 'sam.owusu@example.com'")"

# the text report (no -q, no --json) says it once, not on stderr as well
sed -i 's/^displayName: Ben Carter$/displayName: Ben Carter-Ito/' "$S/dir.ldif"
FAULT_TIME_OFFSET=-34560000 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
rc=$?
expect_rc behind-text-exit-0 0
expect_eq behind-text-said-once 1 \
	"$(cat "$S/out" "$S/err" | grep -c "the clock reads earlier than the last run")"
sed -i 's/^displayName: Ben Carter-Ito$/displayName: Ben Carter/' "$S/dir.ldif"

# the clock right again: Sam stays disabled, not deleted
ds -q sync
expect_rc right-again-exit-0 0
expect_eq right-again-disabled "0" \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")"
ds -q sync
expect_eq no-delete-seconds-later "0" \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")"

# two days later (delete_after passed) but at most 3 runs since the
# disable, this one counted: a run in the second of the disable does not
# count (seconds only); the two runs with the clock right again may or
# may not, by how loaded the machine is (a flaky check in CI counted
# them and deleted at the default delete_after_runs = 3)
FAULT_TIME_OFFSET=172800 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
expect_in too-few-runs-says-why "deletes held back" "$S/err"
expect_eq too-few-runs-kept "1" \
	"$(sqlite3 "$S/mail.db" "SELECT count(*) FROM mailbox WHERE username = 'sam.owusu@example.com'")"
# by the fourth run two days later the delete is due either way
for off in 172900 173000 173050; do
	FAULT_TIME_OFFSET=$off LD_PRELOAD=$SHIM \
		"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
done
expect_eq delete-when-due "0" \
	"$(sqlite3 "$S/mail.db" "SELECT count(*) FROM mailbox WHERE username = 'sam.owusu@example.com'")"
# the runs above were recorded two days ahead: this run's clock is behind
# them, so it holds removals back; let it run ahead too, then converge
mkconf "$S/dir.ldif"
FAULT_TIME_OFFSET=173100 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -c "$S/dirsync.conf" plan >"$S/out" 2>"$S/err"
if grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete, 1 conflict, 0 error' "$S/out"; then
	pass converges
else
	fail converges "the plan is not empty"
fi

# a run with the clock a year ahead, then the right clock again: Ben,
# disabled before that run, is due for his delete by the right clock too,
# but the clock now reads earlier than the last run; Chloe leaves
# meanwhile
ab() {
	FAULT_TIME_OFFSET=$1 LD_PRELOAD=$SHIM \
		"$DIRSYNC" -c "$S/dirsync.conf" sync --json $2 >"$S/out" 2>"$S/err"
	rc=$?
}
user_rows() {
	sqlite3 "$S/mail.db" "SELECT count(*), max(active) FROM mailbox WHERE username = '$1'"
}
awk 'BEGIN { RS = ""; ORS = "\n\n" } /dn: CN=Ben Carter,/ { next } { print }' \
	"$S/dir.ldif" >"$S/dir2.ldif" && mv "$S/dir2.ldif" "$S/dir.ldif"
ab 174000
expect_rc ahead-ben-disabled 0
mkconf "$S/dir.ldif"    # deprovision = disable: the run ahead deletes nothing
ab 31536000
expect_rc ahead-run 0
mkconf "$S/dir.ldif" "[safety]
deprovision = delete
delete_after = 1d
delete_after_runs = 1"
awk 'BEGIN { RS = ""; ORS = "\n\n" } /dn: CN=Chloe Dubois,/ { next } { print }' \
	"$S/dir.ldif" >"$S/dir2.ldif" && mv "$S/dir2.ldif" "$S/dir.ldif"
ab 360000
expect_rc after-ahead-exit-0 0
expect_eq after-ahead-chloe-disabled "1|0" "$(user_rows chloe.dubois@example.com)"
expect_eq after-ahead-ben-kept "1|0" "$(user_rows ben.carter@example.com)"
expect_eq after-ahead-warned 1 \
	"$(jq '[.warnings[] | select(test("clock reads earlier than the last run .*: [1-9][0-9]* deletes held back"))] | length' "$S/out")"
expect_eq after-ahead-chloe-as-of-last-run 1 \
	"$(sqlite3 "$S/mail.db" "SELECT disabled_at > strftime('%s', 'now') + 30000000 FROM dirsync_managed WHERE address = 'chloe.dubois@example.com'")"
# the admin knows the clock is right now: Ben's delete goes through,
# Chloe's is not due (delete_after counts from the run ahead)
ab 360100 --force-limits
expect_rc after-ahead-forced 0
expect_eq after-ahead-forced-ben-deleted "0|" "$(user_rows ben.carter@example.com)"
expect_eq after-ahead-forced-chloe-kept "1|0" "$(user_rows chloe.dubois@example.com)"
expect_eq after-ahead-forced-warned 1 \
	"$(jq '[.warnings[] | select(test("not held back \\(--force-limits\\)"))] | length' "$S/out")"

# an account that expired (accountExpires passed) stays out when the
# clock is set back before its expiry: expiry is judged as of the latest
# run, not by a clock that reads earlier (found by a user trial: the run
# behind enabled the expired account again).  Full reads and the
# shortcut alike.
case_begin clock-expiry
ds -q sync
expect_rc expiry-first 0
# Alice's account expired a day ago (a FILETIME: 100 ns since 1601)
ft=$(( ($(date +%s) - 86400 + 11644473600) * 10000000 ))
awk -v ft="$ft" 'BEGIN { RS = ""; ORS = "\n\n" }
	/^dn: CN=Alice Martin,/ { $0 = $0 "\naccountExpires: " ft } { print }' \
	"$COMPANY" >"$S/dir.ldif"
ds -q sync
expect_rc expiry-expired 0
expect_eq expiry-alice-disabled 0 \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'alice.martin@example.com'")"
# two days behind: her expiry is still to come by that clock
for i in 1 2; do
	FAULT_TIME_OFFSET=-172800 LD_PRELOAD=$SHIM \
		"$DIRSYNC" -c "$S/dirsync.conf" sync --json >"$S/out" 2>"$S/err"
	expect_rc "expiry-behind-$i" 0
	expect_eq "expiry-behind-$i-alice-still-disabled" 0 \
		"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'alice.martin@example.com'")"
	expect_eq "expiry-behind-$i-no-change" 0 "$(jq '.changes | length' "$S/out")"
done

# the run ahead pruned from the history (keep_runs): its start is still
# the latest run's, so the account stays out and the warning stays (a
# user trial: after 1,000 runs in watch mode the run ahead was pruned,
# and the expired account came back, the deletes held back went through)
case_begin clock-pruned
mkconf "$S/dir.ldif" "keep_runs = 2"
ds -q sync
expect_rc pruned-first 0
# Alice's account expires a day from now
ft=$(( ($(date +%s) + 86400 + 11644473600) * 10000000 ))
awk -v ft="$ft" 'BEGIN { RS = ""; ORS = "\n\n" }
	/^dn: CN=Alice Martin,/ { $0 = $0 "\naccountExpires: " ft } { print }' \
	"$COMPANY" >"$S/dir.ldif"
# a run with the clock two days ahead: her account has expired
FAULT_TIME_OFFSET=172800 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
expect_rc pruned-ahead 0
expect_eq pruned-ahead-alice-disabled 0 \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'alice.martin@example.com'")"
# the right clock again, for more runs than keep_runs keeps
for i in 1 2 3 4; do
	"$DIRSYNC" -c "$S/dirsync.conf" sync --json >"$S/out" 2>"$S/err"
	expect_rc "pruned-behind-$i" 0
done
expect_eq pruned-ahead-run-gone 0 "$(sqlite3 "$S/state.db" "SELECT count(*) FROM runs WHERE started > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+1 day')")"
expect_eq pruned-alice-still-disabled 0 \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'alice.martin@example.com'")"
# a change (not the fast path): the run still knows it is behind
sed -i 's/^displayName: Ben Carter$/displayName: Ben C./' "$S/dir.ldif"
ds sync --json
expect_rc pruned-change 0
expect_in pruned-still-says "the clock reads earlier than the last run" "$S/err"
expect_eq pruned-alice-after-change 0 \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'alice.martin@example.com'")"

# [safety] limit_window after a clock that was ahead: the runs it
# recorded in the future count only within the window either side of
# now (a user trial: every run stopped at max_deletes, the leavers kept
# working mailboxes, until the clock passed the run ahead); the runs of
# the window by the right clock still count
case_begin clock-window
mkconf "$S/dir.ldif" "[safety]
max_deletes = 1
limit_window = 5m"
ds -q sync
expect_rc window-first 0
sed -i '/^dn: CN=Ben Carter,/,/^$/ s/^userAccountControl: 512$/userAccountControl: 514/' "$S/dir.ldif"
FAULT_TIME_OFFSET=7200 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
expect_rc window-ahead-ben 0
# status by the right clock: the run ahead is not taken for a fresh one
ds status
expect_rc window-status-warning 1
# 2h ahead, less the seconds the runs took: "2h 0m" or "1h 59m"
if grep -Eq "the last run is recorded as ending (2h 0m|1h 59m) in the future \(its clock was ahead, or this one is behind\)" "$S/out"; then
	pass window-status-says
else
	fail window-status-says "$(cat "$S/out")"
fi
sed -i '/^dn: CN=Grace Liu,/,/^$/ s/^userAccountControl: 512$/userAccountControl: 514/' "$S/dir.ldif"
ds -q sync
expect_rc window-right-again-grace 0
expect_eq window-grace-disabled 0 \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'grace.liu@example.com'")"
sed -i '/^dn: CN=Uma Patel,/,/^$/ s/^userAccountControl: 512$/userAccountControl: 514/' "$S/dir.ldif"
ds sync
expect_rc window-still-counts 3
expect_in window-still-counts-says "applied by the runs of the last 5m" "$S/err"
expect_in window-still-counts-report-says "max_alias_deletes) (and 1 applied by the runs of the last 5m" "$S/out"
