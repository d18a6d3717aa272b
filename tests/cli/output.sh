# What reaches stdout: -q and --json, --help.  Sourced by run.sh.

# -q drops the progress and the text report, never a report asked for
# with --json (dirsync(8)): `dirsync -q sync --json >report.json` in cron
scenario quiet-json
mkconf "$COMPANY"
ds "$S" -q plan --json
expect_rc quiet-plan-json 0
jq_true quiet-plan-json-printed '.mode == "plan" and .summary.add == 70'
ds "$S" plan -q --json
jq_true quiet-plan-json-after-command '.mode == "plan"'
ds "$S" -q plan
expect_eq quiet-plan-text-dropped "" "$(cat "$S/out")"
ds "$S" -q sync --json
expect_rc quiet-sync-json 0
jq_true quiet-sync-json-printed '.mode == "sync" and .applied == true and
	.summary.add == 70'
expect_eq quiet-sync-json-no-stderr "" "$(cat "$S/err")"
ds "$S" -q sync
expect_rc quiet-sync-text 0
expect_eq quiet-sync-text-dropped "" "$(cat "$S/out")"
ds "$S" sync --quiet --json
jq_true quiet-long-sync-json-printed '.mode == "sync" and .applied == false'

# --help names every option the commands take
scenario help
ds_noconf --help
expect_in help-quiet-json "a --json report is still" "$S/out"
