# window.sh - [safety] limit_window: the count limits weigh what the runs
# of the window applied (found by a user trial: with watch = yes, ten
# users deleted a second apart were ten runs of one disable each, and
# max_deletes = 5 stopped none).  Sourced by run.sh.

# disable NAME...: in $S/dir.ldif (userAccountControl 512 -> 514)
window_disable() {
	for _n in "$@"; do
		ldif_edit "$S/dir.ldif" "$_n" "userAccountControl: 512" \
			"userAccountControl: 514" || fail window-setup "ldif_edit $_n"
	done
}

scenario window
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
max_deletes = 2
max_delete_percent = 100
limit_window = 1h"
ds "$S" sync
expect_rc window-first 0
window_disable "Ben Carter"
ds "$S" sync
expect_rc window-one-within 0
# one applied within the hour, two more planned: 3 > 2
window_disable "Chloe Dubois" "Daniel Okafor"
db_mark
ds "$S" sync --json
expect_rc window-over 3
expect_db_unchanged window-over
expect_eq window-over-json-earlier 1 "$(jq -r .limit_exceeded.earlier "$S/out")"
expect_eq window-over-json-planned 2 "$(jq -r .limit_exceeded.planned "$S/out")"
expect_eq window-over-json-window 3600 "$(jq -r .limit_exceeded.window_seconds "$S/out")"
ds "$S" sync
expect_rc window-over-text 3
expect_in window-over-says "safety limit max_deletes exceeded: allowed 2, planned 2 (and 1 applied by the runs of the last 1h: [safety] limit_window); nothing applied" "$S/err"
# changes of another kind are not held by the window's removals
sed 's/^displayName: Alice Martin$/displayName: Alice Martin-Window/' \
	"$S/dir.ldif" >"$S/dir2.ldif"
window_disable_undo() {
	ldif_edit "$S/dir2.ldif" "$1" "userAccountControl: 514" \
		"userAccountControl: 512" || fail window-setup "undo $1"
}
window_disable_undo "Chloe Dubois"
window_disable_undo "Daniel Okafor"
mkconf "$S/dir2.ldif" "[safety]
max_deletes = 2
max_delete_percent = 100
limit_window = 1h"
ds "$S" sync
expect_rc window-other-kind 0
# the same two removals each run alone (limit_window = 0): applied
mkconf "$S/dir.ldif" "[safety]
max_deletes = 2
max_delete_percent = 100
limit_window = 0"
ds "$S" sync
expect_rc window-off 0

# the default: the interval with watch = yes, nothing without
scenario window-default
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif" "[schedule]
interval = 10m
watch = yes"
ds "$S" check
expect_in window-default-watch "limit_window = 10m" "$S/out"
mkconf "$S/dir.ldif"
ds "$S" check
expect_in window-default-off "limit_window = 0s" "$S/out"
