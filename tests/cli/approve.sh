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
expect_rc approve-unknown-run 2
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
applied=$(last_run)
# approving it again: refused as done, nothing recorded, status still OK
ds "$S" approve "$stop"
expect_rc approve-twice-refused 2
expect_in approve-twice-says "run $stop was already applied by run $applied" "$S/err"
expect_eq approve-twice-not-recorded "$applied" "$(last_run)"
ds "$S" status --nagios
expect_rc approve-twice-status-ok 0
ds "$S" approve "$stop" --json
expect_rc approve-twice-json-refused 2
expect_eq approve-twice-json-not-recorded "$applied" "$(last_run)"

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
expect_in approve-drift-names-change '+ update  mailbox  grace.liu@example.com name "Grace Liu" -> "Grace Liu-Wong"' "$S/err"
expect_eq approve-drift-nothing-applied "$rows_before" "$(dbrows)"
stop3=$(last_run)
expect_in approve-drift-next-step "approve it with \`dirsync approve $stop3\`" "$S/err"
ds "$S" approve "$stop3"
expect_rc approve-drifted-plan-approved 0
expect_eq approve-drift-applied "Grace Liu-Wong" \
	"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"

# What became of a stop after it decides whether it can be approved: a
# run that synced after it (--force-limits) makes it out of date, a newer
# stop with another plan supersedes it, a newer stop with the same plan
# does not (a daemon stops again every interval), and approving that one
# after the first was applied is "already applied".  Nothing is recorded
# for a refusal.
scenario approve_later
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc approve-later-first-sync 0
for who in "Alice Martin" "Oliver Grant" "Julia Rossi" "Zoe Kowalski"; do
	ldif_drop "$S/dir.ldif" "$who" || fail approve-later-setup "$who"
done
ds "$S" sync
expect_rc approve-later-stop 3
old=$(last_run)
ds "$S" sync --force-limits
expect_rc approve-later-forced 0
forced=$(last_run)
ds "$S" approve "$old"
expect_rc approve-later-out-of-date 2
expect_in approve-later-out-of-date-says "run $old is out of date: run $forced synced after it" "$S/err"
expect_eq approve-later-out-of-date-not-recorded "$forced" "$(last_run)"

for who in "Ben Carter" "Chloe Dubois" "Emma Novak" "Felix Wagner"; do
	ldif_drop "$S/dir.ldif" "$who" || fail approve-later-setup "$who"
done
ds "$S" sync
expect_rc approve-later-stop-a 3
a=$(last_run)
ds "$S" approve "$old"
expect_in approve-later-names-newest "the newest limit stop is run $a" "$S/err"
ds "$S" sync
expect_rc approve-later-stop-same 3
same=$(last_run)
ldif_drop "$S/dir.ldif" "Grace Liu" || fail approve-later-setup "Grace Liu"
ds "$S" sync
expect_rc approve-later-stop-other 3
other=$(last_run)
ds "$S" approve "$a"
expect_rc approve-later-superseded 2
expect_in approve-later-superseded-says "run $a is not the newest limit stop: run $other after it kept another plan" "$S/err"
expect_eq approve-later-superseded-not-recorded "$other" "$(last_run)"
# Grace back: the plan is again the one runs $a and $same kept
cp "$COMPANY" "$S/full.ldif"
for who in "Alice Martin" "Oliver Grant" "Julia Rossi" "Zoe Kowalski" \
	"Ben Carter" "Chloe Dubois" "Emma Novak" "Felix Wagner"; do
	ldif_drop "$S/full.ldif" "$who" || fail approve-later-setup "$who"
done
cp "$S/full.ldif" "$S/dir.ldif"
ds "$S" sync
expect_rc approve-later-stop-again 3
again=$(last_run)
ds "$S" approve "$same"
expect_rc approve-later-same-plan-applies 0
done_by=$(last_run)
ds "$S" approve "$again"
expect_rc approve-later-same-plan-done 2
expect_in approve-later-same-plan-done-says "run $again was already applied by run $done_by" "$S/err"

# The directory put back after a stop: the plan then is gone, nothing is
# left to apply, and the run is one without change (status OK), not
# another limit stop of nothing.
scenario approve_moot
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc approve-moot-first-sync 0
for who in "Alice Martin" "Oliver Grant" "Julia Rossi" "Zoe Kowalski"; do
	ldif_drop "$S/dir.ldif" "$who" || fail approve-moot-setup "$who"
done
ds "$S" sync
expect_rc approve-moot-stop 3
stop=$(last_run)
cp "$COMPANY" "$S/dir.ldif"
ds "$S" approve "$stop"
expect_rc approve-moot-done 0
expect_in approve-moot-says "nothing is left to apply" "$S/err"
ds "$S" history -n 1
expect_in approve-moot-no-change "no-change" "$S/out"
ds "$S" status --nagios
expect_rc approve-moot-status-ok 0
# only Alice left now: within every limit, yet not the approved plan
ldif_drop "$S/dir.ldif" "Zoe Kowalski" || fail approve-moot-setup zoe
for who in "Alice Martin" "Oliver Grant" "Julia Rossi"; do
	ldif_drop "$S/dir.ldif" "$who" || fail approve-moot-setup "$who"
done
ds "$S" sync
expect_rc approve-moot-stop-2 3
stop=$(last_run)
cp "$COMPANY" "$S/dir.ldif"
ldif_drop "$S/dir.ldif" "Alice Martin" || fail approve-moot-setup alice
rows_before=$(dbrows)
ds "$S" approve "$stop"
expect_rc approve-moot-within-refused 3
expect_in approve-moot-within-says "within every safety limit: review it with \`dirsync plan\`, apply it with \`dirsync sync\`" "$S/err"
expect_eq approve-moot-within-nothing-applied "$rows_before" "$(dbrows)"
ds "$S" approve "$(last_run)"
expect_rc approve-moot-within-not-a-stop 2
expect_in approve-moot-within-not-a-stop-says "was stopped by no safety limit" "$S/err"

# the approved plan within every limit by then (the limit raised after
# the stop): applied as sync would, no limit lifted, yet the report and
# `show` say which run's plan it was, and approving it again is refused
# as already applied by that run
scenario approve_within
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc approve-within-first-sync 0
ds "$S" show "$(last_run)" --json
jq_true approve-within-plain-run-null '.approved_run == null'
for who in "Alice Martin" "Oliver Grant" "Julia Rossi" "Zoe Kowalski"; do
	ldif_drop "$S/dir.ldif" "$who" || fail approve-within-setup "$who"
done
ds "$S" sync
expect_rc approve-within-stop 3
stop=$(last_run)
mkconf "$S/dir.ldif" "[safety]
max_delete_percent = 50"
ds "$S" show "$stop" --json
stop_summary=$(jq -c .summary "$S/out")
ds "$S" approve "$stop"
expect_rc approve-within-applies 0
expect_in approve-within-text \
	"APPROVED: the plan of run $stop, within every safety limit by now" \
	"$S/out"
expect_not_in approve-within-not-forced "FORCED" "$S/out"
applied=$(last_run)
ds "$S" show "$applied" --json
jq_true approve-within-json '.forced == false and .forced_limit == null and
	.approved_run == '"$stop"' and .applied == true and
	.summary == '"$stop_summary"
ds "$S" show "$applied"
expect_in approve-within-show "APPROVED: the plan of run $stop" "$S/out"
ds "$S" approve "$stop"
expect_rc approve-within-twice-refused 2
expect_in approve-within-twice-says \
	"run $stop was already applied by run $applied" "$S/err"

# allow_empty: neither approve nor --force-limits lifts it; approve says
# what does (allow_empty = yes, or base_dn / filter / scope), not
# --force-limits
scenario approve_empty
mkconf "$COMPANY"
ds "$S" sync
expect_rc approve-empty-first-sync 0
sed 's/^type = ldif$/type = ldif\nfilter = (department=No Such Department)/' \
	"$S/dirsync.conf" >"$S/c.new" && cat "$S/c.new" >"$S/dirsync.conf"
ds "$S" sync
expect_rc approve-empty-stop 3
ds "$S" approve "$(last_run)"
expect_rc approve-empty-refused 2
expect_in approve-empty-says-allow-empty "set \`allow_empty = yes\` in [safety]" "$S/err"
expect_in approve-empty-says-filter "base_dn or filter" "$S/err"
expect_not_in approve-empty-not-force-limits "force-limits" "$S/err"

# A refused approval of a plan that updates a big list: what changed is
# said as the reports say it (members +a -b, the first few and a count),
# never as two whole goto strings; the new disable comes first.
scenario approve_big
# big_ldif N FIRST: N users user0001.. of which those from FIRST on are
# in the directory, and a list everyone@ of all of them
big_ldif() {
	python3 - "$1" "$2" >"$S/big.ldif" <<'PY'
import base64, sys
n, first = int(sys.argv[1]), int(sys.argv[2])
guid = lambda i: base64.b64encode(i.to_bytes(4, "big") * 4).decode()
for i in range(first, n + 1):
    u = "user%04d" % i
    print(f"dn: CN={u},OU=Staff,DC=example,DC=com\nobjectClass: top\n"
          f"objectClass: person\nobjectClass: user\ncn: {u}\n"
          f"displayName: User {i}\nsAMAccountName: {u}\n"
          f"mail: {u}@example.com\nproxyAddresses: SMTP:{u}@example.com\n"
          f"objectGUID:: {guid(i)}\nuserAccountControl: 512\n")
print("dn: CN=Everyone,OU=Groups,DC=example,DC=com\nobjectClass: top\n"
      "objectClass: group\ncn: Everyone\nsAMAccountName: Everyone\n"
      "mail: everyone@example.com\nproxyAddresses: SMTP:everyone@example.com\n"
      "groupType: 8\nobjectGUID:: " + guid(100000))
for i in range(first, n + 1):
    print("member: CN=user%04d,OU=Staff,DC=example,DC=com" % i)
PY
}
big_ldif 400 1
mkconf "$S/big.ldif"
ds "$S" sync
expect_rc approve-big-first-sync 0
big_ldif 400 51          # 50 leavers: more than 10% of the mailboxes
ds "$S" sync
expect_rc approve-big-stop 3
stop=$(last_run)
big_ldif 400 52          # and one more since: a new disable
ds "$S" approve "$stop"
expect_rc approve-big-refused 3
expect_eq approve-big-first-is-the-disable \
	"dirsync: error:   + disable mailbox  user0051@example.com" \
	"$(sed -n 2p "$S/err" | cut -c1-57)"
expect_in approve-big-list-members \
	"- update  list     everyone@example.com members -user0001@example.com" "$S/err"
expect_in approve-big-list-counted "(and 45 more removed)" "$S/err"
expect_in approve-big-list-against-approved \
	"~ everyone@example.com now, against the approved plan: members -user0051@example.com" \
	"$S/err"
expect_eq approve-big-lines-readable "" \
	"$(awk 'length > 400 { print FILENAME ":" NR ": " length " characters" }' "$S/err")"
