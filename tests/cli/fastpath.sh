# The fast path (issue 16): a sync whose directory, configuration and
# mail database are as the last verified run left them skips the target
# load and the plan.  Sourced by run.sh (SQLite, and PostgreSQL through
# tests/integration/test_pgsql_suites.sh).

# fast_is NAME true|false: the JSON report in $S/out says so.
fast_is() {
	jq_true "$1" ".fast_path == $2"
}

# ---- a no-change run skips the load and gives the same result ------------

scenario fastpath
mkconf "$COMPANY"
ds "$S" sync --json
expect_rc fast-first-sync 0
fast_is fast-first-is-full false
rows_first=$(dbrows)
ds "$S" -v sync --json
expect_rc fast-second-sync 0
fast_is fast-second-is-fast true
jq_true fast-second-no-changes '(.changes | length) == 0 and .applied == false'
jq '.summary' "$S/out" >"$S/fast-summary"
expect_in fast-second-says "fast path: the directory and the target are as run" "$S/err"
# -v: the load and the plan did not run
expect_not_in fast-second-no-load "target holds" "$S/err"
expect_not_in fast-second-no-plan "plan: " "$S/err"
expect_eq fast-second-rows "$rows_first" "$(dbrows)"
# the same result as a full compare
ds "$S" -v sync --full --json
expect_rc fast-full-sync 0
fast_is fast-full-is-full false
expect_in fast-full-says "full compare: --full" "$S/err"
expect_in fast-full-loaded "target holds" "$S/err"
jq '.summary' "$S/out" >"$S/full-summary"
expect_eq fast-same-summary-as-full "$(cat "$S/full-summary")" \
	"$(cat "$S/fast-summary")"
jq_true fast-full-no-changes '(.changes | length) == 0'
expect_eq fast-full-rows "$rows_first" "$(dbrows)"
ds "$S" history --json
jq_true fast-history-json '[.[].fast_path] == [false, true, false]'
ds "$S" history
expect_in fast-history-text "fast path" "$S/out"
# plan and dry runs always compare everything
ds "$S" -v plan
expect_rc fast-plan 0
expect_in fast-plan-loads "target holds" "$S/err"
# a password written (passwd-hook, Postfixadmin) changes no plan: still fast
printf "UPDATE mailbox SET password = '{SHA512-CRYPT}x', modified = '2030-01-01 00:00:00' WHERE username = 'ivan.petrov@example.com';\n" >"$S/pw.sql"
target_sql "$S/pw.sql" >"$S/pw.log" 2>&1 || fail fast-pw-setup "$(head -2 "$S/pw.log")"
ds "$S" sync --json
fast_is fast-password-still-fast true

# ---- a row edited by hand is noticed and repaired ------------------------

cat >"$S/edit.sql" <<'EOF'
UPDATE mailbox SET name = 'Hand Edited' WHERE username = 'ivan.petrov@example.com';
EOF
target_sql "$S/edit.sql" >"$S/edit.log" 2>&1 || fail fast-edit-setup "$(head -2 "$S/edit.log")"
ds "$S" -v sync --json
expect_rc fast-edit-sync 0
fast_is fast-edit-is-full false
expect_in fast-edit-says "mail database was changed since the verified run" "$S/err"
jq_true fast-edit-repaired '[.changes[] | select(.op == "update" and .address == "ivan.petrov@example.com")] | length == 1'
expect_eq fast-edit-name "Ivan Petrov" \
	"$(q "SELECT name FROM mailbox WHERE username = 'ivan.petrov@example.com'")"
ds "$S" sync --json
fast_is fast-after-repair-fast true
# the counter's triggers dropped: the target cannot vouch, full path
if sqlite_only fast-trigger-dropped; then
	ds "$S" sync --json
	sqlite3 "$S/mail.db" "DROP TRIGGER dirsync_chg_alias_u"
	ds "$S" -v sync --json
	fast_is fast-trigger-dropped false
	expect_in fast-trigger-dropped-says "mail database was changed" "$S/err"
	ds "$S" sync --json
	fast_is fast-trigger-recreated-then-fast true
fi
# dirsync's transaction switches the counter's triggers off on its own
# connection only while they are the only ones: a site's own trigger
# fires for dirsync's writes, and hand edits are counted either way
if sqlite_only fast-site-trigger; then
	sqlite3 "$S/mail.db" "CREATE TABLE site_audit (address TEXT);
		CREATE TRIGGER site_audit_alias AFTER INSERT ON alias
		BEGIN INSERT INTO site_audit VALUES (new.address); END;"
	sqlite3 "$S/mail.db" "DELETE FROM alias WHERE address = 'ceo@example.com'"
	ds "$S" sync --json
	fast_is fast-site-trigger-edit-seen false
	expect_eq fast-site-trigger-fired "ceo@example.com" \
		"$(sqlite3 "$S/mail.db" "SELECT group_concat(address) FROM site_audit")"
	ds "$S" sync --json
	fast_is fast-site-trigger-then-fast true
	sqlite3 "$S/mail.db" "DROP TRIGGER site_audit_alias"
	sqlite3 "$S/mail.db" "DELETE FROM alias WHERE address = 'ceo@example.com'"
	ds "$S" sync --json
	fast_is fast-own-triggers-edit-seen false
	expect_eq fast-own-triggers-readded "1" \
		"$(sqlite3 "$S/mail.db" "SELECT count(*) FROM alias WHERE address = 'ceo@example.com'")"
	sqlite3 "$S/mail.db" "UPDATE mailbox SET name = 'Hand Edited' WHERE username = 'ivan.petrov@example.com'"
	ds "$S" sync --json
	fast_is fast-own-triggers-second-edit-seen false
	ds "$S" sync --json
	fast_is fast-own-triggers-then-fast true
fi

# PostgreSQL: rows written while the trigger was off and on again (what a
# pg_dump --disable-triggers restore does) are seen
if [ -n "$PG" ]; then
	ds "$S" sync --json
	fast_is fast-pg-toggle-setup-fast true
	cat >"$S/toggle.sql" <<'EOF'
ALTER TABLE alias DISABLE TRIGGER dirsync_chg;
UPDATE alias SET goto = 'someone@elsewhere.org' WHERE address = 'sales@example.com';
ALTER TABLE alias ENABLE TRIGGER dirsync_chg;
EOF
	target_sql "$S/toggle.sql" >"$S/toggle.log" 2>&1 || fail fast-pg-toggle-sql "$(head -2 "$S/toggle.log")"
	ds "$S" -v sync --json
	fast_is fast-pg-toggle-is-full false
	expect_in fast-pg-toggle-says "mail database was changed" "$S/err"
	case "$(lookup_goto sales@example.com)" in
	*elsewhere.org*) fail fast-pg-toggle-repaired "sales@ still goes elsewhere" ;;
	*) pass fast-pg-toggle-repaired ;;
	esac
	ds "$S" sync --json
	fast_is fast-pg-toggle-then-fast true
fi

# ---- configuration changes, --full, full_every ---------------------------

ds "$S" sync --json
fast_is fast-setup-fast true
mkconf "$COMPANY" "[mapping]
alias_attributes = proxyAddresses otherMailbox"
ds "$S" -v sync --json
fast_is fast-mapping-change-is-full false
expect_in fast-mapping-change-says "configuration changed" "$S/err"
ds "$S" sync --json
fast_is fast-mapping-then-fast true
mkconf "$COMPANY" "[scope]
exclude = nobody-at-all*"
ds "$S" -v sync --json
fast_is fast-scope-change-is-full false
expect_in fast-scope-change-says "configuration changed" "$S/err"
# [schedule] and [notify] shape no plan
mkconf "$COMPANY" "[scope]
exclude = nobody-at-all*
[schedule]
interval = 7m"
ds "$S" sync --json
fast_is fast-schedule-change-still-fast true
# full_every: a day after the last full compare (the default)
sqlite3 "$S/state.db" "UPDATE verified SET verified_at = verified_at - 86400"
ds "$S" -v sync --json
fast_is fast-full-every-is-full false
expect_in fast-full-every-says "full_every has passed" "$S/err"
ds "$S" sync --json
fast_is fast-full-every-then-fast true
mkconf "$COMPANY" "[scope]
exclude = nobody-at-all*
[schedule]
full_every = 0"
ds "$S" sync --json
ds "$S" -v sync --json
fast_is fast-full-every-0-is-full false
expect_in fast-full-every-0-says "full_every = 0" "$S/err"

# ---- an LDIF file as the last run read it: no parse, no rules ------------

skipped_is() {
	jq_true "$1" ".read_detail.rules_skipped == $2"
}

scenario fastpath-ldif
cp "$COMPANY" "$S/company.ldif"
mkconf "$S/company.ldif"
ds "$S" sync --json
skipped_is fast-ldif-first-reads false
ds "$S" sync --json
jq -c '[.source, .warnings, .conflicts]' "$S/out" >"$S/said-first"
ds "$S" -v sync --json
expect_rc fast-ldif-unchanged 0
skipped_is fast-ldif-unchanged-skips true
fast_is fast-ldif-unchanged-fast true
expect_in fast-ldif-unchanged-says "nothing changed since the last read" "$S/err"
expect_not_in fast-ldif-unchanged-no-rules "mail objects" "$S/err"
# the report says what the rules said last time
ds "$S" sync --full --json
skipped_is fast-ldif-full-reads false
expect_eq fast-ldif-same-report "$(jq -c '[.source, .warnings, .conflicts]' "$S/out")" \
	"$(cat "$S/said-first")"
jq_true fast-ldif-has-conflict '(.conflicts | length) > 0 and (.warnings | length) > 0'
# a new mtime is not a change; a changed byte is
touch "$S/company.ldif"
ds "$S" sync --json
skipped_is fast-ldif-touched-skips true
ldif_edit "$S/company.ldif" "Ivan Petrov" "displayName: Ivan Petrov" \
	"displayName: Ivan Petrov-Lee" || fail fast-ldif-edit-setup
ds "$S" sync --json
skipped_is fast-ldif-edited-reads false
jq_true fast-ldif-edited-applied '[.changes[] | select(.op == "update" and .address == "ivan.petrov@example.com")] | length == 1'
ds "$S" sync --json
skipped_is fast-ldif-edited-then-skips true
# a configuration change, or a row changed by hand: the rules run
mkconf "$S/company.ldif" "[mapping]
alias_attributes = proxyAddresses otherMailbox"
ds "$S" sync --json
skipped_is fast-ldif-conf-reads false
ds "$S" sync --json
skipped_is fast-ldif-conf-then-skips true
printf "UPDATE mailbox SET active = 0 WHERE username = 'ivan.petrov@example.com';\n" >"$S/off.sql"
target_sql "$S/off.sql" >"$S/off.log" 2>&1 || fail fast-ldif-off-setup "$(head -2 "$S/off.log")"
ds "$S" sync --json
skipped_is fast-ldif-hand-edit-reads false
expect_eq fast-ldif-hand-edit-repaired 1 \
	"$(q "SELECT active FROM mailbox WHERE username = 'ivan.petrov@example.com'")"
# a dry run and plan never skip, and leave nothing behind
ds "$S" sync --json
ds "$S" plan --json
skipped_is fast-ldif-plan-reads false

# ---- time: an account that expires between runs; delete_after ------------

scenario fastpath-time
cp "$COMPANY" "$S/company.ldif"
# Ivan's account expires in 3 seconds (accountExpires: a FILETIME)
exp=$((($(date +%s) + 3 + 11644473600) * 10000000))
ldif_edit "$S/company.ldif" "Ivan Petrov" "displayName: Ivan Petrov" \
	"displayName: Ivan Petrov
accountExpires: $exp" || fail fast-time-setup
mkconf "$S/company.ldif" "[safety]
deprovision = delete
delete_after = 3s
delete_after_runs = 0"
ds "$S" sync --json
expect_rc fast-time-first 0
ds "$S" sync --json
fast_is fast-time-before-expiry-fast true
skipped_is fast-time-before-expiry-skips true
sleep 4
ds "$S" -v sync --json
skipped_is fast-time-expired-reads false
fast_is fast-time-expired-is-full false
expect_in fast-time-expired-says "directory changed since the verified run: 0 mail objects new, " "$S/err"
jq_true fast-time-expired-disabled '[.changes[] | select(.op == "disable" and .address == "ivan.petrov@example.com")] | length == 1'
# the disable is verified; the delete is due delete_after later
ds "$S" sync --json
fast_is fast-time-before-due-fast true
sleep 4
ds "$S" -v sync --json
fast_is fast-time-due-is-full false
expect_in fast-time-due-says "delete_after has passed" "$S/err"
jq_true fast-time-due-deleted '[.changes[] | select(.op == "delete" and .address == "ivan.petrov@example.com")] | length == 1'
ds "$S" sync --json
fast_is fast-time-after-delete-fast true

# ---- a record of dirsync's own removed by hand ---------------------------

scenario fastpath-record
mkconf "$COMPANY"
ds "$S" sync --json
ds "$S" sync --json
fast_is fast-record-setup-fast true
printf "DELETE FROM dirsync_managed WHERE address = 'ceo@example.com';\n" >"$S/own.sql"
target_sql "$S/own.sql" >"$S/own.log" 2>&1 || fail fast-record-setup "$(head -2 "$S/own.log")"
ds "$S" sync --json
fast_is fast-record-removed-is-full false
# the row is no longer dirsync's: a conflict, which the next runs report
# again from the verified run's record, taking the fast path
jq_true fast-record-removed-conflict '[.conflicts[] | select(.address == "ceo@example.com")] | length == 1'
ds "$S" sync --json
fast_is fast-record-conflict-fast true
jq_true fast-record-conflict-reported '[.conflicts[] | select(.address == "ceo@example.com")] | length == 1' 

# Nothing left in scope, the desired set as the verified run's (its
# users all in conflict, the only contact that counted in scope gone):
# allow_empty stops the run as it stops a full compare and `plan`, not
# the fast path (a user trial: sync said 0, --full 3).
scenario fast-empty
for u in 2:bob@example.net 4:bob@example.net 5:eve@example.com 6:eve@example.com; do
	fuser "$S/dir.ldif" "U${u%%:*}" "${u%%:*}" "${u#*:}" \
		"proxyAddresses: SMTP:${u#*:}"
done
cp "$S/dir.ldif" "$S/users.ldif"
printf 'dn: CN=C7,OU=Contacts,DC=example,DC=com\nobjectClass: top\nobjectClass: person\nobjectClass: contact\ncn: C7\ntargetAddress: SMTP:sales@example.com\nobjectGUID:: aWUrVuwI+3iXtKdk0XtNng==\n\n' >>"$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc fast-empty-first 0
cp "$S/users.ldif" "$S/dir.ldif"
ds "$S" sync --json
expect_rc fast-empty-stops 3
jq_true fast-empty-says '.limit_exceeded.limit == "allow_empty" and .fast_path == false'
