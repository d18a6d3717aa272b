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

# a DN and an account with a line break, a quote and a byte that is not
# UTF-8 (a user trial's: the account split the text report's line in
# two, forging a second one, and the JSON report lost the "dn"): both
# reports show them escaped, on one line
scenario weird-dn
cat >"$S/weird.ldif" <<'EOF'
version: 1

dn:: Q049V2VcImlyZP8sT1U9UyxEQz1leGFtcGxlLERDPWNvbQ==
objectClass: user
sAMAccountName:: YWNjCiJ4
mail: weird@example.com
objectGUID:: AAECAwQFBgcICQoLDA0ODw==
EOF
mkconf "$S/weird.ldif"
ds "$S" plan
expect_in weird-dn-text-one-line \
	'weird@example.com [acc\n"x, CN=We\"ird\xff,OU=S,DC=example,DC=com]' \
	"$S/out"
expect_eq weird-dn-text-no-forged-line 0 "$(grep -c '^"x' "$S/out")"
ds "$S" plan --json
jq_true weird-dn-json '.changes[] | select(.address == "weird@example.com")
	| .dn == "CN=We\\\"ird\\xff,OU=S,DC=example,DC=com" and
	.account == "acc\\n\"x"'

# --help names every option the commands take
scenario help
ds_noconf --help
expect_in help-quiet-json "a --json report is still" "$S/out"

# a run that failed before it read anything (the server unreachable, as a
# failed bind) says so in history; the JSON report's "read" stays one of
# SPEC's two values, its read_detail says the read did not finish
scenario nothing-read
ldapconf "uri = ldap://127.0.0.1:1" "base_dn = dc=example,dc=com" \
	"bind_dn = cn=svc,dc=example,dc=com" "timeout = 2s"
DIRSYNC_BIND_PASSWORD=x ds "$S" sync --json
expect_rc nothing-read-sync-fails 1
jq_true nothing-read-json '.read == "full" and .read_detail.done == false'
ds "$S" history -n 1
expect_in nothing-read-history "  nothing read" "$S/out"
expect_not_in nothing-read-history-no-mode "read full 0" "$S/out"
mkconf "$COMPANY"
ds "$S" sync --json
jq_true read-done-json '.read == "full" and .read_detail.done == true'
ds "$S" history -n 1
expect_in read-done-history "  read full 35" "$S/out"
# the export unchanged: nothing read, said so (a user trial read
# "read full 0 ... fast path")
ds "$S" sync
ds "$S" history -n 1
expect_in read-unchanged-history "  read none (unchanged)  fast path" "$S/out"
expect_not_in read-unchanged-not-full-0 "read full 0" "$S/out"

# --help names --all (plan and sync take it)
scenario help-all
ds_noconf --help
expect_in help-plan-all "plan [--json] [--all]" "$S/out"
expect_in help-sync-all "sync [--json] [--all]" "$S/out"
mkconf "$COMPANY"
ds "$S" plan --all
expect_rc plan-all 0
ds "$S" sync --all --dry-run
expect_rc sync-all 0

# alias.domain is written, never read back (docs/admin-guide.md): a hand
# edit stays, even after --full, and the SQL the guide gives puts it right
if sqlite_only alias-domain; then
	scenario alias-domain
	mkconf "$COMPANY"
	ds "$S" sync
	q "UPDATE alias SET domain = 'example.net' WHERE address = 'alice@example.com'" >/dev/null
	ds "$S" sync --full
	expect_eq alias-domain-not-repaired example.net \
		"$(q "SELECT domain FROM alias WHERE address = 'alice@example.com'")"
	sed -n '/^-- SQLite$/,/^-- PostgreSQL$/p' "$REPO/docs/admin-guide.md" >"$S/fix.sql"
	expect_in alias-domain-guide-has-sql "UPDATE alias SET domain" "$S/fix.sql"
	target_sql "$S/fix.sql"
	expect_eq alias-domain-guide-sql-fixes example.com \
		"$(q "SELECT domain FROM alias WHERE address = 'alice@example.com'")"
	expect_eq alias-domain-guide-sql-all-right 0 \
		"$(q "SELECT count(*) FROM alias WHERE domain <> substr(address, instr(address, '@') + 1)")"
	ds "$S" sync
	expect_in alias-domain-then-nothing "summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
fi

# A list of more than 1,000 addresses updated: the report counts its
# goto (goto_addresses) instead of printing 1,200 addresses twice, and
# members_added / members_removed say what changed; `show` prints the
# members from them; the plan `approve` compares keeps the goto whole.
scenario big-list
biglist() {    # biglist FILE SKIP...: 1,200 users, a list of them all
	awk -v skip=" $* " 'BEGIN {
		print "version: 1\n"
		for (i = 1; i <= 1201; i++) {
			if (index(skip, " " i " ") > 0 || (i == 1201 &&
			    index(skip, " new ") == 0))
				continue
			printf "dn: CN=u%d,OU=Staff,DC=example,DC=com\nobjectClass: user\ncn: u%d\nmail: u%d@example.com\nobjectGUID: 00000000-0000-0000-0000-%012d\n\n", i, i, i, i
			m = m "member: CN=u" i ",OU=Staff,DC=example,DC=com\n"
		}
		printf "dn: CN=all,OU=Groups,DC=example,DC=com\nobjectClass: group\ncn: all\nmail: all@example.com\nobjectGUID: 00000000-0000-0000-0001-000000000000\n%s\n", m
	}' >"$1"
}
biglist "$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
max_delete_percent =
max_member_removal_percent = 1"
ds "$S" sync
expect_rc big-list-first 0
biglist "$S/dir.ldif" 5 6 7 8 9 10 11 12 13 14 15 16 17 18 new
ds "$S" sync --json
expect_rc big-list-stop 3
stop=$(jq .run_id "$S/out")
jq_true big-list-counted '[.changes[] | select(.address ==
	"all@example.com")][0] | .fields == {"goto_addresses": 1187} and
	.old == {"goto_addresses": 1200} and
	.members_added == ["u1201@example.com"] and
	(.members_removed | length) == 14 and
	.members_removed[0] == "u10@example.com"'
ds "$S" show "$stop"
expect_in big-list-show-members "members -u10@example.com -u11@example.com +u1201@example.com" "$S/out"
ds "$S" approve "$stop"
expect_rc big-list-approve 0
expect_eq big-list-applied 1187 \
	"$(lookup_goto all@example.com | tr ',' '\n' | grep -c .)"
ds "$S" plan --json
jq_true big-list-converged '(.changes | length) == 0'
