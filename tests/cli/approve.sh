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
expect_in approve-drift-names-change '+ update  mailbox  grace.liu@example.com name "Grace Liu" -> "Grace Liu-Wong"' "$S/err"
expect_eq approve-drift-nothing-applied "$rows_before" "$(dbrows)"
stop3=$(last_run)
expect_in approve-drift-next-step "approve it with \`dirsync approve $stop3\`" "$S/err"
ds "$S" approve "$stop3"
expect_rc approve-drifted-plan-approved 0
expect_eq approve-drift-applied "Grace Liu-Wong" \
	"$(q "SELECT name FROM mailbox WHERE username = 'grace.liu@example.com'")"

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
