# `dirsync status`: Nagios/Icinga states as exit codes (0 OK, 1 WARNING,
# 2 CRITICAL, 3 UNKNOWN), one line on stdout.  Sourced by run.sh.

scenario status
mkconf "$COMPANY"
ds "$S" status
expect_rc status-no-run-unknown 3
expect_in status-no-run-says "DIRSYNC UNKNOWN: no run recorded yet" "$S/out"
ds "$S" status --max-age soon
expect_rc status-bad-max-age-unknown 3
expect_in status-bad-max-age-named "'soon'" "$S/out"
ds "$S" status extra
expect_rc status-extra-arg-unknown 3
ds_noconf -c "$S/none.conf" status
expect_rc status-no-config-unknown 3
expect_in status-no-config-named "$S/none.conf" "$S/out"

ds "$S" sync
expect_rc status-setup-sync 0
run1=$(last_run)
ds "$S" status --max-age 1h
expect_rc status-ok 0
expect_in status-ok-line "DIRSYNC OK: last run $run1 applied, " "$S/out"
expect_in status-ok-perfdata "| age=" "$S/out"
expect_eq status-one-line 1 "$(wc -l <"$S/out")"

# stale: the same run, moved back two hours
sqlite3 "$S/state.db" "UPDATE runs SET started = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 hours') WHERE id = $run1"
ds "$S" status --max-age 1h
expect_rc status-stale-critical 2
expect_in status-stale-says "older than --max-age 1h" "$S/out"
ds "$S" status
expect_rc status-no-max-age-ok 0
ds "$S" status --max-age 3h
expect_rc status-within-max-age-ok 0

# a failed run: CRITICAL, naming the last success
mkconf "$T/status-missing.ldif"
ds "$S" sync
expect_rc status-setup-failed-sync 1
ds "$S" status
expect_rc status-failed-critical 2
expect_in status-failed-says "DIRSYNC CRITICAL: last run $((run1 + 1)) failed" "$S/out"
expect_in status-failed-last-success "last success: run $run1, " "$S/out"
sed 's/^displayName: Alice Martin$/displayName: Alice Martin-Grant/' \
	"$COMPANY" >"$S/renamed.ldif"
# a limit stop: WARNING
mkconf "$S/renamed.ldif" "[safety]
max_updates = 0"
ds "$S" sync
expect_rc status-setup-limit-stop 3
ds "$S" status --max-age 3h
expect_rc status-limit-stop-warning 1
expect_in status-limit-stop-says "stopped by a safety limit, nothing applied" "$S/out"
