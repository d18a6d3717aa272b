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
