# `dirsync status`: SPEC's exit codes (0 ok, 1 failed or stale, 2 usage),
# and with --nagios the Nagios/Icinga states (0 OK, 1 WARNING, 2 CRITICAL,
# 3 UNKNOWN); one line on stdout.  Sourced by run.sh.

scenario status
mkconf "$COMPANY"
ds "$S" status
expect_rc status-no-run-spec 1
ds "$S" status extra
expect_rc status-usage-spec 2
ds "$S" status --nagios
expect_rc status-no-run-unknown 3
expect_in status-no-run-says "DIRSYNC UNKNOWN: no run recorded yet" "$S/out"
ds "$S" status --nagios --max-age soon
expect_rc status-bad-max-age-unknown 3
expect_in status-bad-max-age-named "'soon'" "$S/out"
ds "$S" status --nagios extra
expect_rc status-extra-arg-unknown 3
ds_noconf -c "$S/none.conf" status --nagios
expect_rc status-no-config-unknown 3
expect_in status-no-config-named "$S/none.conf" "$S/out"

ds "$S" sync
expect_rc status-setup-sync 0
run1=$(last_run)
ds "$S" status --nagios --max-age 1h
expect_rc status-ok 0
ds "$S" status --max-age 1h
expect_rc status-ok-spec 0
expect_in status-ok-line "DIRSYNC OK: last run $run1 applied, " "$S/out"
expect_in status-ok-perfdata "| age=" "$S/out"
expect_eq status-one-line 1 "$(wc -l <"$S/out")"

# stale: the same run, moved back two hours
sqlite3 "$S/state.db" "UPDATE runs SET started = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 hours') WHERE id = $run1"
ds "$S" status --nagios --max-age 1h
expect_rc status-stale-critical 2
ds "$S" status --max-age 1h
expect_rc status-stale-spec 1
expect_in status-stale-says "older than --max-age 1h" "$S/out"
ds "$S" status --nagios
expect_rc status-no-max-age-ok 0
ds "$S" status --nagios --max-age 3h
expect_rc status-within-max-age-ok 0

# a failed run: CRITICAL, naming the last success
mkconf "$T/status-missing.ldif"
ds "$S" sync
expect_rc status-setup-failed-sync 1
ds "$S" status --nagios
expect_rc status-failed-critical 2
ds "$S" status
expect_rc status-failed-spec 1
expect_in status-failed-says "DIRSYNC CRITICAL: last run $((run1 + 1)) failed" "$S/out"
expect_in status-failed-last-success "last success: run $run1, " "$S/out"
sed 's/^displayName: Alice Martin$/displayName: Alice Martin-Grant/' \
	"$COMPANY" >"$S/renamed.ldif"
# a limit stop: WARNING
mkconf "$S/renamed.ldif" "[safety]
max_updates = 0"
ds "$S" sync
expect_rc status-setup-limit-stop 3
ds "$S" status --nagios --max-age 3h
expect_rc status-limit-stop-warning 1
ds "$S" status --max-age 3h
expect_rc status-limit-stop-spec 1
expect_in status-limit-stop-says "stopped by a safety limit, nothing applied" "$S/out"

# ---- a run forced past a limit is recorded as forced (issue 15) -----------

scenario forced
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc forced-first-sync 0
for who in "Alice Martin" "Oliver Grant" "Julia Rossi" "Zoe Kowalski"; do
	ldif_drop "$S/dir.ldif" "$who" || fail forced-setup "ldif_drop $who"
done
ds "$S" sync
expect_rc forced-stop 3
ds "$S" sync --force-limits
expect_rc forced-sync 0
expect_in forced-text-says \
	"FORCED: safety limit max_delete_percent exceeded (allowed 3, planned 4); applied anyway with --force-limits" \
	"$S/out"
ds "$S" show "$(last_run)" --json
jq_true forced-json '.forced == true and
	.forced_limit == {"limit": "max_delete_percent",
	"allowed": 3, "planned": 4, "approved_run": null} and
	.limit_exceeded == null and
	.applied == true'
ds "$S" show 1 --json
jq_true forced-json-null-otherwise '.forced == false and .forced_limit == null'
ds "$S" history --json
jq_true forced-history-json '[.[].forced] == [true, false, false]'
ds "$S" history
expect_in forced-history-text " forced " "$S/out"
ds "$S" status
expect_rc forced-status-ok 0
expect_in forced-status-says "applied past a safety limit (--force-limits)" "$S/out"

# a state database of schema 2 (before "forced"): read as it is, then
# migrated by the next sync
sqlite3 "$S/state.db" "ALTER TABLE runs DROP COLUMN forced;
	ALTER TABLE runs DROP COLUMN plan;
	ALTER TABLE runs DROP COLUMN fast_path; DROP TABLE verified;
	DROP TABLE verified_objects;
	UPDATE meta SET value = '2' WHERE key = 'schema_version'"
ds "$S" history --json
expect_rc forced-schema2-history 0
jq_true forced-schema2-not-forced '[.[].forced] == [false, false, false]'
ds "$S" sync
expect_rc forced-schema2-migrated-sync 0
expect_eq forced-schema-7 7 \
	"$(sqlite3 "$S/state.db" "SELECT value FROM meta WHERE key = 'schema_version'")"
