#!/bin/sh
# The clock: 400 days behind for one run, then right again.  The run
# behind holds back every disable and delete and says why; the next run,
# with the right clock, disables the leaver with the right date, and no
# delete happens before delete_after AND delete_after_runs.
. "$(dirname "$0")/lib.sh"

case_begin clock
mkconf "$S/dir.ldif" "[safety]
deprovision = delete
delete_after = 1d"
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
expect_eq behind-run-disables-nothing "1" \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")"

# the clock right again: Sam is disabled now, not deleted
ds -q sync
expect_rc right-again-exit-0 0
expect_eq right-again-disabled "0" \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")"
ds -q sync
expect_eq no-delete-seconds-later "0" \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")"

# two days later (delete_after passed) but only 2 runs since the disable
FAULT_TIME_OFFSET=172800 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
expect_in too-few-runs-says-why "deletes held back" "$S/err"
expect_eq too-few-runs-kept "1" \
	"$(sqlite3 "$S/mail.db" "SELECT count(*) FROM mailbox WHERE username = 'sam.owusu@example.com'")"
# a run in the second of the disable does not count (seconds only), the
# run "seconds later" may or may not: by the third run two days later
# the delete is due either way
FAULT_TIME_OFFSET=172900 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
FAULT_TIME_OFFSET=173000 LD_PRELOAD=$SHIM \
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err"
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
