# Sourced by run.sh.  What dirsync manages is recorded in the mail
# database (dirsync_managed), in the transaction of the change: a lost
# state database loses history, never ownership; a state database of an
# older dirsync hands its records over once.

scenario ownership
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc ownership-first-sync 0
expect_eq ownership-recorded-in-mail-db \
	"$(q "SELECT count(*) FROM mailbox")" \
	"$(q "SELECT count(*) FROM dirsync_managed WHERE kind = 'mailbox'")"
expect_eq ownership-not-in-state "0" \
	"$(sqlite3 "$S/state.db" "SELECT count(*) FROM managed")"

# the state database is lost; Ivan changes address and Emma leaves
rm -f "$S/state.db" "$S/state.db-wal" "$S/state.db-shm"
mailboxes=$(q "SELECT count(*) FROM mailbox")
ldif_edit "$S/dir.ldif" "Ivan Petrov" "mail: Ivan.Petrov@Example.com" \
	"mail: ivan.petrov2@example.com" &&
	ldif_edit "$S/dir.ldif" "Ivan Petrov" \
		"proxyAddresses: SMTP:Ivan.Petrov@Example.com" \
		"proxyAddresses: SMTP:ivan.petrov2@example.com" &&
	ldif_drop "$S/dir.ldif" "Emma Novak" ||
	fail ownership-edit "ldif_edit"
ds "$S" sync
expect_rc ownership-lost-state-sync 0
expect_in ownership-lost-state-rename \
	"update  mailbox  ivan.petrov2@example.com (was ivan.petrov@example.com)" \
	"$S/out"
expect_eq ownership-lost-state-no-second-mailbox "$mailboxes" \
	"$(q "SELECT count(*) FROM mailbox")"
expect_eq ownership-lost-state-leaver-disabled "0" \
	"$(q "SELECT active FROM mailbox WHERE username = 'emma.novak@example.com'")"

# a state database written by an older dirsync: the records are there,
# the mail database has none; the next sync moves them over
if sqlite_only ownership-import; then
	sqlite3 "$S/mail.db" ".mode insert managed" \
		"SELECT address, kind, anchor, disabled_at, NULL FROM dirsync_managed" \
		>"$S/managed.sql"
	sqlite3 "$S/state.db" <"$S/managed.sql" &&
		sqlite3 "$S/mail.db" "DELETE FROM dirsync_managed" ||
		fail ownership-import-setup "sqlite3"
	ldif_drop "$S/dir.ldif" "Julia Rossi" || fail ownership-edit "drop"
	ds "$S" -v sync
	expect_rc ownership-import-sync 0
	expect_in ownership-import-moved "moving" "$S/err"
	expect_in ownership-import-leaver \
		"disable mailbox  julia.rossi@example.com" "$S/out"
	expect_eq ownership-import-state-emptied "0" \
		"$(sqlite3 "$S/state.db" "SELECT count(*) FROM managed")"
	expect_eq ownership-import-all-moved "$mailboxes" \
		"$(q "SELECT count(*) FROM dirsync_managed WHERE kind = 'mailbox'")"
	ds "$S" sync
	expect_in ownership-import-then-idle \
		"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
fi

# rebuild-state: a new state, the old one kept beside it, ownership intact
ds "$S" rebuild-state
expect_rc ownership-rebuild 0
expect_in ownership-rebuild-kept \
	"kept:      which objects are dirsync's ($(q "SELECT count(*) FROM dirsync_managed")," \
	"$S/out"
expect_in ownership-rebuild-history "not kept:  the run history" "$S/out"
expect_eq ownership-rebuild-old-kept "1" \
	"$(ls "$S"/state.db.old-* 2>/dev/null | wc -l)"
ds "$S" sync
expect_in ownership-rebuild-then-idle \
	"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
ds "$S" history --json
expect_eq ownership-rebuild-history-new "1" "$(jq length "$S/out")"
# a state that still lists managed objects (an older dirsync's) belongs to
# its target: pointed at another mail database, it is refused and nothing
# is imported there
if sqlite_only ownership-other-target; then
	sqlite3 "$S/state.db" <"$S/managed.sql" ||
		fail ownership-other-setup "sqlite3"
	sed "s|^url = .*|url = sqlite://$S/other.db|" "$S/dirsync.conf" \
		>"$S/other.conf" && chmod 600 "$S/other.conf"
	"$DIRSYNC" -c "$S/other.conf" sync >"$S/out" 2>"$S/err"
	rc=$?
	expect_rc ownership-other-target-refused 1
	expect_in ownership-other-target-named "belongs to target" "$S/err"
	expect_eq ownership-other-target-nothing-written "0" \
		"$(sqlite3 "$S/other.db" "SELECT count(*) FROM sqlite_master WHERE name = 'dirsync_managed'" 2>/dev/null || echo 0)"
fi

# a deleted mailbox's maildir stays on disk: a later mailbox for the same
# address never gets that path (it would inherit the old mail)
scenario retired-maildir
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
deprovision = delete
delete_after = 0s
delete_after_runs = 0
max_delete_percent ="
ds "$S" sync
old=$(q "SELECT maildir FROM mailbox WHERE username = 'emma.novak@example.com'")
cp "$S/dir.ldif" "$S/with-emma.ldif"
ldif_drop "$S/dir.ldif" "Emma Novak" || fail retired-drop "ldif_drop"
ds "$S" sync
ds "$S" sync
expect_eq retired-row-deleted "" \
	"$(q "SELECT username FROM mailbox WHERE username = 'emma.novak@example.com'")"
expect_eq retired-recorded "$old" \
	"$(q "SELECT maildir FROM dirsync_retired_maildir WHERE maildir = '$old'")"
# the address comes back (the same person rehired, or a namesake)
cp "$S/with-emma.ldif" "$S/dir.ldif"
ds "$S" sync
expect_rc retired-readd 0
new=$(q "SELECT maildir FROM mailbox WHERE username = 'emma.novak@example.com'")
if [ -n "$new" ] && [ "$new" != "$old" ]; then
	pass retired-new-maildir
else
	fail retired-new-maildir "old $old, new $new"
fi

# rebuild-state never replaces a file when it moves the old state aside:
# twice in one second, or a name already taken (a decoy for this second
# and the next few, one of them only as a -wal file), each old state goes
# to a name of its own and keeps its run history
scenario rebuild-twice
mkconf "$COMPANY"
ds "$S" sync
ds "$S" sync
now=$(date +%s)
for d in 0 1 2 3; do
	stamp=$(date -u -d "@$((now + d))" +%Y%m%dT%H%M%SZ)
	echo decoy >"$S/state.db.old-$stamp"
	echo decoy >"$S/state.db.old-$stamp.1-wal"
done
ds "$S" rebuild-state
expect_rc rebuild-twice-first 0
first=$(sed -n 's/^not kept:  the run history (2 runs); the old file is //p' "$S/out")
ds "$S" sync
ds "$S" rebuild-state
expect_rc rebuild-twice-second 0
second=$(sed -n 's/^not kept:  the run history (1 runs); the old file is //p' "$S/out")
expect_eq rebuild-twice-decoys-kept "8" \
	"$(grep -lx decoy "$S"/state.db.old-* | wc -l)"
if [ -n "$first" ] && [ -n "$second" ] && [ "$first" != "$second" ]; then
	pass rebuild-twice-two-names
else
	fail rebuild-twice-two-names "first '$first', second '$second'"
fi
case $first in *.1) fail rebuild-twice-wal-decoy-skipped "$first" ;;
*) pass rebuild-twice-wal-decoy-skipped ;; esac
expect_eq rebuild-twice-first-history "2" \
	"$(sqlite3 "$first" "SELECT count(*) FROM runs" 2>&1)"
expect_eq rebuild-twice-second-history "1" \
	"$(sqlite3 "$second" "SELECT count(*) FROM runs" 2>&1)"

# rebuild-state for what it is for: a corrupt state database, and a mail
# database whose record of ownership was lost (re-adopted by address)
scenario rebuild-recover
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
owned=$(q "SELECT count(*) FROM dirsync_managed WHERE kind <> 'domain'")
head -c 8192 /dev/urandom >"$S/state.db"
rm -f "$S/state.db-wal" "$S/state.db-shm"
ds "$S" sync
expect_rc rebuild-corrupt-sync-refused 1
expect_in rebuild-corrupt-says-rebuild-state "dirsync rebuild-state" "$S/err"
ds "$S" rebuild-state
expect_rc rebuild-corrupt-state 0
expect_eq rebuild-corrupt-kept-aside "1" \
	"$(ls "$S"/state.db.old-* 2>/dev/null | wc -l)"
ds "$S" sync
expect_in rebuild-corrupt-then-idle \
	"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
q "DELETE FROM dirsync_managed" >/dev/null
before_rows=$(dbrows)
ds "$S" rebuild-state
expect_rc rebuild-readopt 0
expect_in rebuild-readopt-says "re-adopted: $owned objects recorded as dirsync's by address" "$S/out"
expect_eq rebuild-readopt-recorded "$owned" \
	"$(q "SELECT count(*) FROM dirsync_managed")"
expect_eq rebuild-readopt-no-row-changed "$before_rows" "$(dbrows)"
# ownership is back: a leaver is disabled again
ldif_drop "$S/dir.ldif" "Emma Novak" || fail rebuild-readopt-drop "ldif_drop"
ds "$S" sync
expect_rc rebuild-readopt-sync 0
expect_in rebuild-readopt-leaver-disabled \
	"disable mailbox  emma.novak@example.com" "$S/out"
