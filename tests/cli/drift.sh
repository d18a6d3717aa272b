# Sourced by run.sh.  Rows of dirsync's changed or deleted behind its back
# (by hand, by another tool) are noticed by the next sync and written as
# dirsync writes them; a maildir that may still hold someone's mail is
# never given to another person.

scenario drift
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc drift-first-sync 0
before=$(dbrows)

# the mailbox row deleted, its self-alias left behind (stopped every sync)
q "DELETE FROM mailbox WHERE username = 'ben.carter@example.com'" >/dev/null
# both rows deleted
q "DELETE FROM mailbox WHERE username = 'chloe.dubois@example.com'" >/dev/null
q "DELETE FROM alias WHERE address = 'chloe.dubois@example.com'" >/dev/null
# the self-alias pointed elsewhere, switched off, or deleted
q "UPDATE alias SET goto = 'x@evil.example' WHERE address = 'grace.liu@example.com'" >/dev/null
q "UPDATE alias SET active = 0 WHERE address = 'hannah.schmidt@example.com'" >/dev/null
q "DELETE FROM alias WHERE address = 'alice.martin@example.com'" >/dev/null
# the mailbox row's own columns (an unsafe maildir goes back to the
# path dirsync gives out: his own, when no other row has it)
q "UPDATE mailbox SET maildir = '../../etc/' WHERE username = 'oliver.grant@example.com'" >/dev/null
q "UPDATE mailbox SET local_part = 'nobody', domain = 'example.net' WHERE username = 'felix.wagner@example.com'" >/dev/null
# the domain dirsync added, switched off
q "UPDATE domain SET active = 0 WHERE domain = 'example.com'" >/dev/null

ds "$S" sync
expect_rc drift-repair-sync 0
expect_in drift-orphan-self-alias-readded "add     mailbox  ben.carter@example.com" "$S/out"
expect_eq drift-orphan-keeps-own-maildir "example.com/ben.carter/" \
	"$(lookup_maildir ben.carter@example.com)"
expect_eq drift-both-gone-readded "chloe.dubois@example.com" \
	"$(lookup_goto chloe.dubois@example.com)"
expect_in drift-self-alias-repaired-says \
	"update  mailbox  grace.liu@example.com repaired self-alias (goto was x@evil.example)" \
	"$S/out"
expect_eq drift-self-alias-goto-own-first "grace.liu@example.com,x@evil.example" \
	"$(lookup_goto grace.liu@example.com)"
expect_eq drift-self-alias-active-again "hannah.schmidt@example.com" \
	"$(lookup_goto hannah.schmidt@example.com)"
expect_in drift-self-alias-missing-says \
	"update  mailbox  alice.martin@example.com repaired self-alias (was missing)" \
	"$S/out"
expect_eq drift-self-alias-recreated "alice.martin@example.com" \
	"$(lookup_goto alice.martin@example.com)"
expect_eq drift-unsafe-maildir-replaced "example.com/oliver.grant/" \
	"$(lookup_maildir oliver.grant@example.com)"
expect_in drift-unsafe-maildir-warns "maildir in the mail database was not a safe path" "$S/err"
expect_eq drift-key-repaired "felix.wagner|example.com" \
	"$(q "SELECT local_part || '|' || domain FROM mailbox WHERE username = 'felix.wagner@example.com'")"
expect_eq drift-domain-reenabled "1" \
	"$(q "SELECT active FROM domain WHERE domain = 'example.com'")"
ds "$S" sync
expect_in drift-repaired-then-idle \
	"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
# (PostgreSQL: "relation already exists" notices are not for cron mail)
expect_not_in drift-no-server-notices "NOTICE" "$S/err"
ds "$S" sync --json
expect_eq drift-json-no-change "0" "$(jq '.changes | length' "$S/out")"

# a forward the user keeps besides the own address is not drift
q "UPDATE alias SET goto = 'daniel.okafor@example.com,d@home.example' WHERE address = 'daniel.okafor@example.com'" >/dev/null
ds "$S" sync
expect_in drift-forward-with-copy-kept \
	"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"

# a leaver's rows deleted by hand, then someone else gets the address:
# the old maildir (still on disk, with the leaver's mail) is not reused
ldif_drop "$S/dir.ldif" "Emma Novak" || fail drift-edit "drop"
ds "$S" sync
expect_in drift-leaver-disabled "disable mailbox  emma.novak@example.com" "$S/out"
q "DELETE FROM mailbox WHERE username = 'emma.novak@example.com'" >/dev/null
q "DELETE FROM alias WHERE goto = 'emma.novak@example.com'" >/dev/null
cp "$COMPANY" "$S/emma.ldif"
ldif_edit "$S/emma.ldif" "Emma Novak" "objectGUID:: goy3kj4YRxTtxanDjPyhLw==" \
	"objectGUID:: AAAAAAAAAAAAAAAAAAAAAQ==" || fail drift-edit "guid"
awk 'BEGIN { RS = ""; ORS = "\n\n" } /dn: CN=Emma Novak,/' "$S/emma.ldif" >>"$S/dir.ldif"
ds "$S" sync
expect_rc drift-newcomer-sync 0
expect_in drift-newcomer-added "add     mailbox  emma.novak@example.com" "$S/out"
expect_eq drift-newcomer-own-maildir "example.com/emma.novak.2/" \
	"$(lookup_maildir emma.novak@example.com)"
expect_eq drift-old-maildir-retired "1" \
	"$(q "SELECT count(*) FROM dirsync_retired_maildir WHERE maildir = 'example.com/emma.novak/'")"

# the same with the record forgotten in between (the address unused for
# a run): the path is retired when the record goes
ldif_drop "$S/dir.ldif" "Julia Rossi" || fail drift-edit "drop julia"
ds "$S" sync
q "DELETE FROM mailbox WHERE username = 'julia.rossi@example.com'" >/dev/null
q "DELETE FROM alias WHERE goto = 'julia.rossi@example.com'" >/dev/null
ds "$S" sync
expect_rc drift-forgotten-sync 0
expect_eq drift-forgotten-retired "1" \
	"$(q "SELECT count(*) FROM dirsync_retired_maildir WHERE maildir = 'example.com/julia.rossi/'")"
expect_eq drift-forgotten-record-gone "0" \
	"$(q "SELECT count(*) FROM dirsync_managed WHERE address = 'julia.rossi@example.com'")"

# an export that lost the anchor attribute (ldapsearch without '+', an
# AD export without objectGUID): every object would be re-anchored by its
# DN, every mailbox disabled and wanted anew; the run is refused
scenario anchor-lost
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
active=$(q "SELECT count(*) FROM mailbox WHERE active = 1")
sed '/^objectGUID/d' "$COMPANY" >"$S/dir.ldif"
ds "$S" sync --force-limits
expect_rc anchor-lost-refused 1
expect_in anchor-lost-says "mail objects came without the anchor attribute" "$S/err"
expect_in anchor-lost-names-dn "CN=" "$S/err"
expect_eq anchor-lost-nothing-disabled "$active" \
	"$(q "SELECT count(*) FROM mailbox WHERE active = 1")"
# only one object without it: still refused, named
grep -v '^objectGUID:: vNAOy+4H3MhlJgfC7nXPGw==$' "$COMPANY" >"$S/dir.ldif"
ds "$S" sync
expect_rc anchor-lost-one-refused 1
expect_in anchor-lost-one-named "CN=Ben Carter" "$S/err"

# ---- a leaver's rows changed by hand --------------------------------------
# A leaver's mailbox row deleted by hand with its self-alias left (what a
# plain DELETE FROM mailbox does) stopped every later run at its delete
# ("expected 1 row(s) changed, got 0", nothing applied, new hires
# included: a user trial); so did it at the disable.  The alias row left
# is deprovisioned as the alias row it is; a self-alias deleted alone
# does not stop the mailbox's disable or delete; a mailbox row made by
# hand where dirsync keeps an alias row is not dirsync's to remove.
scenario drift-leaver
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
deprovision = delete
delete_after = 0s
delete_after_runs = 0"
ds "$S" sync
expect_rc drift-leaver-first 0
# Ben leaves, then his mailbox row goes by hand before the delete
leaves "Ben Carter"
ds "$S" sync
expect_rc drift-leaver-ben-disabled 0
q "DELETE FROM mailbox WHERE username = 'ben.carter@example.com'" >/dev/null
# explain shows the row as it is (a user trial read "mailbox ..., inactive")
ds "$S" explain ben.carter@example.com
expect_in drift-leaver-explain-row "target    alias    ben.carter@example.com, inactive (the mailbox row is gone, deleted outside dirsync)" "$S/out"
# Chloe's mailbox row goes by hand, then she leaves (the disable)
q "DELETE FROM mailbox WHERE username = 'chloe.dubois@example.com'" >/dev/null
# Grace's self-alias goes by hand, then she leaves
q "DELETE FROM alias WHERE address = 'grace.liu@example.com'" >/dev/null
# a mailbox by hand at Ben's alias ben@ (with mail: never dirsync's)
q "DELETE FROM alias WHERE address = 'ben@example.com'" >/dev/null
cat >"$S/row.sql" <<'SQL'
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, created, modified, active) VALUES ('ben@example.com', '', 'By Hand', 'example.com/ben/', '0', 'ben', 'example.com', '2020-01-01 00:00:00', '2020-01-01 00:00:00', '1');
SQL
target_sql "$S/row.sql" >"$S/row.log" 2>&1 || fail drift-leaver-setup "$(head -2 "$S/row.log")"
leaves "Chloe Dubois"
leaves "Grace Liu"
printf '\n' >>"$S/dir.ldif"
fuser "$S/dir.ldif" "Nina New" 202 nina.new@example.com
ds "$S" sync
expect_rc drift-leaver-sync 0
expect_not_in drift-leaver-no-row-error "changed under us" "$S/err"
expect_eq drift-leaver-hire-added 1 "$(active_of nina.new@example.com)"
expect_eq drift-leaver-ben-rows-gone "" \
	"$(q "SELECT address FROM alias WHERE address IN ('ben.carter@example.com', 'ben.carter@example.net')")"
expect_eq drift-leaver-chloe-alias-off 0 \
	"$(q "SELECT active FROM alias WHERE address = 'chloe.dubois@example.com'")"
expect_eq drift-leaver-grace-disabled 0 "$(active_of grace.liu@example.com)"
expect_eq drift-leaver-hand-mailbox-stays 1 "$(active_of ben@example.com)"
# the next runs: Chloe's and Grace's rows deleted, nothing fails
ds "$S" sync
expect_rc drift-leaver-next 0
ds "$S" sync
expect_rc drift-leaver-then 0
expect_eq drift-leaver-chloe-gone "" \
	"$(q "SELECT address FROM alias WHERE address = 'chloe.dubois@example.com'")"
expect_eq drift-leaver-grace-gone "" "$(active_of grace.liu@example.com)"
expect_eq drift-leaver-hand-mailbox-kept 1 "$(active_of ben@example.com)"
ds "$S" sync --json
expect_rc drift-leaver-last 0
jq_true drift-leaver-converged '(.changes | length) == 0'

# A mailbox renamed takes its self-alias along as it should be: its new
# address first, the other addresses kept as forwards (as the repair of
# a self-alias keeps them), the old address gone (a user trial: "eve@ ->
# jo@" stayed without eve@, the run verified, the next ones fast, the new
# address's mail with somebody else only).  Then nothing is left to plan.
for how in broken forward; do
	company_synced "drift-rename-$how"
	if [ "$how" = broken ]; then
		g=ben.carter@example.com
		want=alice.m@example.com,ben.carter@example.com
	else
		g=alice.martin@example.com,alice.home@example.org
		want=alice.m@example.com,alice.home@example.org
	fi
	q "UPDATE alias SET goto = '$g' WHERE address = 'alice.martin@example.com'" >/dev/null
	ldif_edit "$S/dir.ldif" "Alice Martin" \
		"proxyAddresses: SMTP:alice.martin@example.com" \
		"proxyAddresses: SMTP:alice.m@example.com" ||
		fail "drift-rename-$how-edit"
	ds "$S" sync
	expect_rc "drift-rename-$how-sync" 0
	expect_eq "drift-rename-$how-goto" "$want" \
		"$(q "SELECT goto FROM alias WHERE address = 'alice.m@example.com'")"
	ds "$S" plan --json
	jq_true "drift-rename-$how-then-nothing" '(.changes | length) == 0'
done

# A mailbox row deleted by hand (its self-alias left), its owner gone, and
# the address claimed in the same run by another person as an alias, or
# by a list: the row goes to its new owner, and stays active.  The run
# disabled the row it had just given away, and the next one enabled it
# again (a user trial's randomized tester, LDIF seed 217).
for how in alias list; do
	scenario "drift-taken-$how"
	: >"$S/dir.ldif"
	fuser "$S/dir.ldif" "Ann Taken" 1 ann@example.com
	fuser "$S/dir.ldif" "Bob Taker" 2 bob@example.com
	mkconf "$S/dir.ldif" "[safety]
max_delete_percent ="
	ds "$S" sync
	expect_rc "drift-taken-$how-first" 0
	q "DELETE FROM mailbox WHERE username = 'ann@example.com'" >/dev/null
	: >"$S/dir.ldif"
	if [ "$how" = alias ]; then
		fuser "$S/dir.ldif" "Bob Taker" 2 bob@example.com \
			"proxyAddresses: SMTP:bob@example.com
proxyAddresses: smtp:ann@example.com"
		want=bob@example.com
	else
		fuser "$S/dir.ldif" "Bob Taker" 2 bob@example.com
		ad_group "$S/dir.ldif" "Ann List" 3 t ann@example.com \
			"CN=Bob Taker,OU=Staff,DC=example,DC=com"
		want=bob@example.com
	fi
	ds "$S" sync
	expect_rc "drift-taken-$how-sync" 0
	expect_eq "drift-taken-$how-row" "$want|1" \
		"$(q "SELECT goto, active FROM alias WHERE address = 'ann@example.com'")"
	ds "$S" plan --json
	jq_true "drift-taken-$how-plan-nothing" '(.changes | length) == 0'
done
