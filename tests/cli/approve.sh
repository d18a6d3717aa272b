# `dirsync approve RUN_ID`: the plan a safety limit stopped, applied only
# if the directory and the target still give exactly that plan.  Sourced
# by run.sh.  (With a running daemon: tests/integration/test_approve.sh.)

scenario approve
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc approve-first-sync 0
ds "$S" approve
expect_rc approve-no-id 2
ds "$S" approve abc
expect_rc approve-bad-id 2
expect_in approve-bad-id-named "'abc' is not a run id" "$S/err"
ds "$S" approve 1
expect_rc approve-not-a-stop 2
expect_in approve-not-a-stop-says "run 1 was not stopped by a safety limit" "$S/err"
ds "$S" approve 99999
expect_rc approve-unknown-run 1
expect_in approve-unknown-run-says "no run 99999" "$S/err"

# 10% of 31 managed objects may go; 4 leavers stop the run
for who in "Alice Martin" "Oliver Grant" "Julia Rossi" "Zoe Kowalski"; do
	ldif_drop "$S/dir.ldif" "$who" || fail approve-setup "ldif_drop $who"
done
ds "$S" sync
expect_rc approve-setup-stop 3
stop=$(last_run)
ds "$S" approve "$stop"
expect_rc approve-applies 0
expect_in approve-text \
	"FORCED: safety limit max_delete_percent exceeded (allowed 3, planned 4); applied anyway as approved: the plan of run $stop" \
	"$S/out"
expect_eq approve-disabled "alice.martin@example.com|0
julia.rossi@example.com|0
oliver.grant@example.com|0
zoe.kowalski@example.com|0" \
	"$(q "SELECT username, active FROM mailbox WHERE active=0 ORDER BY username")"
ds "$S" show "$(last_run)" --json
jq_true approve-json '.forced == true and
	.forced_limit.approved_run == '"$stop"' and
	.forced_limit.limit == "max_delete_percent" and .applied == true'
ds "$S" approve "$stop"
expect_rc approve-twice-refused 3
expect_in approve-twice-says "the plan differs from the one run $stop kept" "$S/err"

# drift: the directory changed after the stop; nothing is applied, what
# changed is said, and the new plan can be approved in turn
for who in "Ben Carter" "Chloe Dubois" "Emma Novak" "Felix Wagner"; do
	ldif_drop "$S/dir.ldif" "$who" || fail approve-setup "ldif_drop $who"
done
ds "$S" sync
expect_rc approve-setup-stop-2 3
stop2=$(last_run)
ldif_edit "$S/dir.ldif" "Grace Liu" "displayName: Grace Liu" \
	"displayName: Grace Liu-Wong" || fail approve-setup "ldif_edit"
rows_before=$(dbrows)
ds "$S" approve "$stop2"
expect_rc approve-drift-refused 3
expect_in approve-drift-says "the plan differs from the one run $stop2 kept" "$S/err"
expect_in approve-drift-names-change '+ {"address":"grace.liu@example.com"' "$S/err"
expect_eq approve-drift-nothing-applied "$rows_before" "$(dbrows)"
stop3=$(last_run)
expect_in approve-drift-next-step "approve it with \`dirsync approve $stop3\`" "$S/err"
ds "$S" approve "$stop3"
expect_rc approve-drifted-plan-approved 0
expect_eq approve-drift-applied "Grace Liu-Wong" \
	"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"
