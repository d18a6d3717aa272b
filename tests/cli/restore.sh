# A mail database restored from a backup must not pass for the one the
# last verified run left (issue 16, a user trial): the restored copy
# carries the change counter of its day, and k rows touched by hand after
# the restore raise it back to exactly the value the last run recorded.
# The fast path must still see that the database is not the one it
# recorded (the counter's token, drawn anew by every counted write and by
# each of dirsync's own commits) and redo the changes made since the
# backup.  Both restore scenarios fail without the token.  Sourced by
# run.sh (SQLite: a copy of the file; PostgreSQL through
# tests/integration/test_pgsql_suites.sh: the rows of the mail tables and
# of the counter written back, which is what a restore of the whole
# cluster leaves).

# restore_backup save|load: the mail database's rows into $S/bk, or back.
restore_backup() {
	if [ -z "$PG" ]; then
		if [ "$1" = save ]; then
			cp "$S/mail.db" "$S/bk.db"
		else
			rm -f "$S/mail.db-journal"
			cp "$S/bk.db" "$S/mail.db"
		fi
		return
	fi
	mkdir -p "$S/bk"
	_tables="domain mailbox alias dirsync_managed dirsync_change_counter"
	if [ "$1" = save ]; then
		for _t in $_tables; do
			printf '\\copy %s TO %s\n' "$_t" "$S/bk/$_t"
		done >"$S/bk.sql"
	else
		# children first out, parents first in; the counter row last,
		# after the trigger raised it for this transaction
		{
			echo "BEGIN;"
			for _t in dirsync_managed alias mailbox domain; do
				echo "DELETE FROM $_t;"
			done
			for _t in domain mailbox alias dirsync_managed; do
				printf '\\copy %s FROM %s\n' "$_t" "$S/bk/$_t"
			done
			echo "DELETE FROM dirsync_change_counter;"
			printf '\\copy dirsync_change_counter FROM %s\n' \
				"$S/bk/dirsync_change_counter"
			echo "COMMIT;"
		} >"$S/bk.sql"
	fi
	target_sql "$S/bk.sql" >"$S/bk.log" 2>&1 ||
		fail "restore-backup-$1" "$(head -3 "$S/bk.log")"
}

scenario fastpath-restore
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync --json
expect_rc restore-first-sync 0
ds "$S" sync --json
fast_is restore-setup-fast true
restore_backup save
# k = 2 runs that change the mail database after the backup
ldif_edit "$S/dir.ldif" "Grace Liu" "displayName: Grace Liu" \
	"displayName: Grace Liu-Wong" || fail restore-setup "ldif_edit"
ds "$S" sync --json
expect_rc restore-change-1 0
ldif_drop "$S/dir.ldif" "Sam Owusu" || fail restore-setup "ldif_drop"
ds "$S" sync --json
expect_rc restore-change-2 0
jq_true restore-change-2-applied '.applied == true'
ds "$S" sync --json
fast_is restore-changed-then-fast true
recorded=$(sqlite3 "$S/state.db" "SELECT fingerprint FROM verified")
n_recorded=${recorded##*:}
case $n_recorded in
'' | *[!0-9]*) fail restore-recorded "no verified fingerprint: [$recorded]" ;;
*) pass restore-recorded ;;
esac
restore_backup load
expect_eq restore-is-old "Grace Liu" \
	"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"
# rows touched by hand (one row, one transaction each) until the counter
# is back at the value the last run recorded
n_now=$(q "SELECT n FROM dirsync_change_counter")
k=$((n_recorded - n_now))
if [ "$k" -ge 1 ] && [ "$k" -le 10 ]; then
	pass restore-counter-behind
else
	fail restore-counter-behind "recorded $n_recorded, restored $n_now"
	k=0
fi
echo "UPDATE mailbox SET name = name WHERE username = 'ivan.petrov@example.com';" \
	>"$S/touch.sql"
while [ "$k" -gt 0 ]; do
	target_sql "$S/touch.sql" >"$S/touch.log" 2>&1 ||
		fail restore-touch "$(head -2 "$S/touch.log")"
	k=$((k - 1))
done
# the collision this test is about: the counter is where it was recorded
expect_eq restore-counter-collides "$n_recorded" \
	"$(q "SELECT n FROM dirsync_change_counter")"
ds "$S" -v sync --json
expect_rc restore-sync 0
fast_is restore-not-fast false
expect_in restore-says "mail database was changed since the verified run" \
	"$S/err"
expect_eq restore-redone-update "Grace Liu-Wong" \
	"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"
expect_eq restore-redone-disable 0 \
	"$(q "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")"
# the mail database holds what the directory says: a full compare finds
# nothing to do, and the next run is fast again
ds "$S" sync --full --json
jq_true restore-full-finds-nothing '(.changes | length) == 0'
ds "$S" sync --json
fast_is restore-then-fast true

# The same with no commit of dirsync's since the backup: a row broken by
# hand, the backup taken, the row put right by hand, and a run that finds
# nothing to do records the counter as it is (no commit, so no token of
# dirsync's).  The restored copy holds the broken row; one row touched by
# hand brings n back to the recorded value.
scenario fastpath-restore-nocommit
mkconf "$COMPANY"
ds "$S" sync --json
ds "$S" sync --json
fast_is restore-nc-setup-fast true
echo "UPDATE mailbox SET name = 'Broken' WHERE username = 'grace.liu@example.com';" \
	>"$S/break.sql"
target_sql "$S/break.sql" >"$S/break.log" 2>&1 ||
	fail restore-nc-break "$(head -2 "$S/break.log")"
restore_backup save
echo "UPDATE mailbox SET name = 'Grace Liu' WHERE username = 'grace.liu@example.com';" \
	>"$S/mend.sql"
target_sql "$S/mend.sql" >"$S/mend.log" 2>&1 ||
	fail restore-nc-mend "$(head -2 "$S/mend.log")"
ds "$S" sync --json
fast_is restore-nc-mended-is-full false
jq_true restore-nc-mended-nothing-to-do '(.changes | length) == 0'
recorded=$(sqlite3 "$S/state.db" "SELECT fingerprint FROM verified")
restore_backup load
expect_eq restore-nc-is-old "Broken" \
	"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"
echo "UPDATE mailbox SET name = name WHERE username = 'ivan.petrov@example.com';" \
	>"$S/touch.sql"
target_sql "$S/touch.sql" >"$S/touch.log" 2>&1 ||
	fail restore-nc-touch "$(head -2 "$S/touch.log")"
expect_eq restore-nc-counter-collides "${recorded##*:}" \
	"$(q "SELECT n FROM dirsync_change_counter")"
ds "$S" -v sync --json
expect_rc restore-nc-sync 0
fast_is restore-nc-not-fast false
expect_eq restore-nc-repaired "Grace Liu" \
	"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"

# An older dirsync's counter is upgraded in place: its triggers raised n
# alone, and its table had no token column.  Each time one full compare
# (the fingerprint recorded before no longer matches), then fast again.
if [ -n "$PG" ]; then
	cat >"$S/old.sql" <<'EOF2'
CREATE OR REPLACE FUNCTION dirsync_count_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $b$ BEGIN
IF current_setting('dirsync.counted', true) IS DISTINCT FROM txid_current()::text THEN
UPDATE dirsync_change_counter SET n = n + 1 WHERE id = 1;
PERFORM set_config('dirsync.counted', txid_current()::text, true);
END IF; RETURN NULL; END $b$;
EOF2
	old_count="SELECT count(*) FROM pg_proc WHERE proname = 'dirsync_count_change' AND prosrc NOT LIKE '%token%'"
else
	cat >"$S/old.sql" <<'EOF2'
DROP TRIGGER dirsync_chg_alias_u;
CREATE TRIGGER dirsync_chg_alias_u AFTER UPDATE OF address, goto, active
ON alias WHEN (SELECT quiet FROM dirsync_change_counter WHERE id = 1) = 0
BEGIN UPDATE dirsync_change_counter SET n = n + 1 WHERE id = 1; END;
EOF2
	old_count="SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'dirsync_chg%' AND sql NOT LIKE '%token%'"
fi
ds "$S" sync --json
target_sql "$S/old.sql" >"$S/old.log" 2>&1 ||
	fail restore-old-trigger-setup "$(head -2 "$S/old.log")"
expect_eq restore-old-trigger-there 1 "$(q "$old_count")"
ds "$S" -v sync --json
expect_rc restore-old-trigger-sync 0
fast_is restore-old-trigger-is-full false
expect_eq restore-old-trigger-replaced 0 "$(q "$old_count")"
ds "$S" sync --json
fast_is restore-old-trigger-then-fast true
printf 'ALTER TABLE dirsync_change_counter DROP COLUMN token;\n' >"$S/old.sql"
target_sql "$S/old.sql" >"$S/old.log" 2>&1 ||
	fail restore-old-counter-setup "$(head -2 "$S/old.log")"
ds "$S" -v sync --json
expect_rc restore-old-counter-sync 0
fast_is restore-old-counter-is-full false
expect_in restore-old-counter-says "mail database was changed since the verified run" \
	"$S/err"
expect_eq restore-old-counter-upgraded 1 \
	"$(q "SELECT count(*) FROM dirsync_change_counter WHERE token IS NOT NULL")"
ds "$S" sync --json
fast_is restore-old-counter-then-fast true

# SQLite: the mail database dumped, edited in the dump and loaded into a
# new file moved in place (a user trial).  The dump's rows come before
# its triggers, so the edit is not counted, and its counter row is the
# old one's; the file's identity (device and inode) in the fingerprint
# tells the new file from the recorded one.
if [ -z "$PG" ]; then
	scenario fastpath-dump-reload
	mkconf "$COMPANY"
	ds "$S" sync --json
	ds "$S" sync --json
	fast_is reload-setup-fast true
	sqlite3 "$S/mail.db" .dump |
		sed "s/'Grace Liu'/'Edited In The Dump'/" >"$S/dump.sql"
	grep -q 'Edited In The Dump' "$S/dump.sql" ||
		fail reload-edit "the dump has no row to edit"
	rm -f "$S/new.db"
	sqlite3 "$S/new.db" <"$S/dump.sql" >"$S/load.log" 2>&1 ||
		fail reload-load "$(head -2 "$S/load.log")"
	chmod --reference="$S/mail.db" "$S/new.db"
	mv "$S/new.db" "$S/mail.db"
	expect_eq reload-is-edited "Edited In The Dump" \
		"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"
	ds "$S" -v sync --json
	expect_rc reload-sync 0
	fast_is reload-not-fast false
	expect_eq reload-repaired "Grace Liu" \
		"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"
	ds "$S" sync --json
	fast_is reload-then-fast true
fi
