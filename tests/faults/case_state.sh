#!/bin/sh
# The state database lost (deleted) or another target's (copied from
# another install, or the config pointed at another mail database).
# Ownership lives in each mail database (dirsync_managed), so a lost
# state loses history only: no second mailbox for a changed address, the
# leaver still disabled; and a foreign state makes no hand-made row of
# this target dirsync's: it is neither disabled nor changed.
# (tests/cli/ownership.sh checks the same on SQLite and PostgreSQL, and a
# refused state that still lists an older dirsync's records.)
. "$(dirname "$0")/lib.sh"

case_begin state
ds -q sync
expect_rc first-sync 0
mailboxes=$(sqlite3 "$S/mail.db" "SELECT count(*) FROM mailbox")

# 1. lost: Zoe changes address, Sam leaves, Nina arrives
rm -f "$S/state.db" "$S/state.db-wal" "$S/state.db-shm"
{ changed_dir; echo; } >"$S/changed.ldif"
mkconf "$S/changed.ldif" "[safety]
max_delete_percent ="
ds -q sync
expect_rc lost-state-sync 0
expect_eq lost-state-no-second-mailbox "$((mailboxes + 1))" \
	"$(sqlite3 "$S/mail.db" "SELECT count(*) FROM mailbox")"
expect_eq lost-state-renamed "zoe.k@example.com" \
	"$(sqlite3 "$S/mail.db" "SELECT username FROM mailbox WHERE username LIKE 'zoe%'")"
expect_eq lost-state-leaver-disabled "0" \
	"$(sqlite3 "$S/mail.db" "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")"
converged lost-state

# 2. another target's state: a second mail database whose admin made
# rows by hand, one for a leaver's address and one for nobody in the
# directory; synced with this state copied next to it
B=$S/other
mkdir -p "$B"
cp "$S/state.db" "$B/state.db"
# the table only: its change-counter triggers belong to the first database
sqlite3 "$S/mail.db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'table' AND name = 'mailbox'" |
	sqlite3 "$B/mail.db"
sqlite3 "$B/mail.db" "INSERT INTO mailbox (username, password, name, maildir, domain, active)
	VALUES ('sam.owusu@example.com', 'x', 'Sam by hand', 'example.com/sam/', 'example.com', 1),
	       ('handmade@example.com', 'x', 'By hand', 'example.com/handmade/', 'example.com', 1);"
sed "s|^url = .*|url = sqlite://$B/mail.db|; s|^path = $S/state.db|path = $B/state.db|" \
	"$S/dirsync.conf" >"$B/dirsync.conf"
chmod 600 "$B/dirsync.conf"
"$DIRSYNC" -q -c "$B/dirsync.conf" sync >"$S/out" 2>"$S/err"
rc=$?
if [ "$rc" = 0 ] || { [ "$rc" = 1 ] && grep -q "belongs to" "$S/err"; }; then
	pass "foreign-state-synced-or-refused (exit $rc)"
else
	fail foreign-state "exit $rc"
fi
expect_eq foreign-state-hand-made-rows-untouched \
	"By hand|1
Sam by hand|1" \
	"$(sqlite3 "$B/mail.db" "SELECT name, active FROM mailbox WHERE username IN ('sam.owusu@example.com', 'handmade@example.com') ORDER BY name")"

# 3. the mail database's commit went through, then the state could not
# be written (its disk full, its file read-only: here the run's row and
# the removal of the fast path's record fail).  The error says the
# changes ARE in the mail database and names the state file, the JSON
# report still lists them, and the next run neither re-applies nor
# trusts the stale record of the run before: with the directory back as
# that record saw it, the change is undone (no fast path).
case_begin state-unrecorded
ds -q sync
expect_rc first-sync 0
ds -q sync
expect_rc verified-sync 0
cp "$S/dir.ldif" "$S/dir.orig"
sed 's/^displayName: Zoe Kowalski$/displayName: Zoe Unrecorded/' \
	"$S/dir.orig" >"$S/dir.new"
unrecorded() { # NAME: a sync of dir.new whose state writes fail
	cp "$S/dir.new" "$S/dir.ldif"
	verified=$(sqlite3 "$S/state.db" "SELECT run_id FROM verified")
	FAULT_FAIL_SQL="UPDATE runs SET seconds|DELETE FROM verified" \
		LD_PRELOAD=$SHIM ds sync --json
	expect_rc $1-exit-1 1
	expect_eq $1-stale-record-left "$verified" \
		"$(sqlite3 "$S/state.db" "SELECT run_id FROM verified")"
}
unrecorded unrecorded
expect_in unrecorded-says-applied "1 change WAS applied to the mail database" "$S/err"
expect_in unrecorded-names-the-state "$S/state.db: " "$S/err"
expect_eq unrecorded-json-applied "true update zoe.kowalski@example.com state" \
	"$(jq -r '[.applied, .changes[0].op, .changes[0].address, .errors[0].code] | join(" ")' "$S/out")"
expect_eq unrecorded-change-is-in "Zoe Unrecorded" \
	"$(sqlite3 "$S/mail.db" "SELECT name FROM mailbox WHERE username = 'zoe.kowalski@example.com'")"
cp "$S/dir.orig" "$S/dir.ldif"
ds sync --json
expect_rc unrecorded-revert 0
expect_eq unrecorded-revert-no-fast-path "false 1" \
	"$(jq -r '[.fast_path, (.changes | length)] | join(" ")' "$S/out")"
expect_eq unrecorded-reverted "Zoe Kowalski" \
	"$(sqlite3 "$S/mail.db" "SELECT name FROM mailbox WHERE username = 'zoe.kowalski@example.com'")"
# once more; then the same directory: nothing applied twice
unrecorded unrecorded-again
ds sync --json
expect_rc unrecorded-next-run 0
expect_eq unrecorded-next-run-changes-nothing "0 false" \
	"$(jq -r '[(.changes | length), .fast_path] | join(" ")' "$S/out")"
expect_eq unrecorded-still-in "Zoe Unrecorded" \
	"$(sqlite3 "$S/mail.db" "SELECT name FROM mailbox WHERE username = 'zoe.kowalski@example.com'")"
converged unrecorded
