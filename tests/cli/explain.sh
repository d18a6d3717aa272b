# Issue 14: every decision explained, with names.  `dirsync explain WHO`
# on a mailbox, a leaver, an excluded and a conflicting object; every
# disable with its reason (text and JSON); conflicts named by DN and
# account; `dirsync test` failing on a scope that cannot be right; a list
# change shown as a member diff.  Sourced by run.sh.

# scope_add TEXT: TEXT (lines of [scope]) into $S/dirsync.conf's [scope].
scope_add() {
	printf '%s\n' "$1" >"$S/scope.add"
	sed -i "/^visible_only = yes/r $S/scope.add" "$S/dirsync.conf"
}

# ---- explain: a mailbox, an excluded object, a conflict, nothing -------

scenario explain
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
max_delete_percent ="
scope_add "exclude = svc-*"
ds "$S" sync
expect_rc explain-setup-sync 0
ds "$S" explain amartin
expect_rc explain-mailbox 0
expect_in explain-mailbox-dn "object    CN=Alice Martin,OU=Management,OU=Staff,DC=example,DC=com" "$S/out"
expect_in explain-mailbox-account "  account   amartin" "$S/out"
expect_in explain-mailbox-anchor "  anchor    4b097f35-8ca0-1a21-81c6-31cdf8721fed" "$S/out"
expect_in explain-mailbox-in-scope "  scope     in scope" "$S/out"
expect_in explain-mailbox-wants 'wants     mailbox  alice.martin@example.com name="Alice Martin"' "$S/out"
expect_in explain-mailbox-alias "wants     alias    ceo@example.com" "$S/out"
expect_in explain-mailbox-lists "member of all-staff@example.com" "$S/out"
expect_in explain-mailbox-row "target    mailbox  alice.martin@example.com, active, managed by dirsync for this object" "$S/out"
expect_in explain-mailbox-nothing-next "next sync nothing to change" "$S/out"
# the same object by address and by DN (another spelling)
ds "$S" explain Alice.Martin@Example.com
expect_rc explain-by-address 0
expect_in explain-by-address-names "  account   amartin" "$S/out"
ds "$S" explain "cn=alice martin, ou=management,ou=staff,dc=example,dc=com"
expect_rc explain-by-dn 0
expect_in explain-by-dn-names "  account   amartin" "$S/out"

ds "$S" explain svc-dirsync
expect_rc explain-excluded 0
expect_in explain-excluded-reason "scope     left out: excluded by a [scope] exclude pattern" "$S/out"
expect_in explain-excluded-rule "rule: exclude pattern svc-* matched the account svc-dirsync" "$S/out"
ds "$S" explain --json svc-dirsync
expect_rc explain-excluded-json 0
jq_true explain-excluded-json-reason '.found and (.objects | length) == 1 and
	.objects[0].scope.reason == "excluded" and
	.objects[0].scope.in_scope == false and
	.objects[0].dn == "CN=svc-dirsync,CN=Users,DC=example,DC=com"'

ds "$S" explain info@example.com
expect_rc explain-conflict 0
expect_in explain-conflict-emma "object    CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com" "$S/out"
expect_in explain-conflict-daniel "object    CN=Daniel Okafor,OU=Sales,OU=Staff,DC=example,DC=com" "$S/out"
expect_in explain-conflict-claimants "conflict  info@example.com is claimed by: 92b78c82-183e-1447-edc5-a9c38cfca12f (enovak, CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com), d527dfa2-6316-617f-6057-0ab1a544b1e9 (dokafor, CN=Daniel Okafor,OU=Sales,OU=Staff,DC=example,DC=com)" "$S/out"
ds "$S" explain --json dokafor
jq_true explain-conflict-json '.objects[0].conflicts[0].address ==
	"info@example.com" and ([.objects[0].conflicts[0].claimants[].account]
	== ["enovak", "dokafor"])'

# a security group without an address: found, and said to be no list
ds "$S" explain "VPN Users"
expect_rc explain-plain-group 0
expect_in explain-plain-group-says "scope     a group without a mail address: never a list" "$S/out"

ds "$S" explain nobody@example.com
expect_rc explain-nothing 1
expect_in explain-nothing-says "nobody@example.com: nothing in the directory read or in the mail database matches" "$S/out"
ds "$S" explain --json no-such-account
expect_rc explain-nothing-json 1
jq_true explain-nothing-json-found '.found == false and .objects == []'
ds "$S" explain
expect_rc explain-no-who 2
ds "$S" explain a b
expect_rc explain-two-who 2

# the text report names conflicts' claimants too
ds "$S" plan
expect_in conflict-text-names "conflict info@example.com: claimed by 92b78c82-183e-1447-edc5-a9c38cfca12f (enovak, CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com), d527dfa2-6316-617f-6057-0ab1a544b1e9 (dokafor, CN=Daniel Okafor,OU=Sales,OU=Staff,DC=example,DC=com)" "$S/out"

# ---- every disable says why ----------------------------------------------

ed() { ldif_edit "$S/dir.ldif" "$1" "$2" "$3" || fail "explain-setup-edit-$1"; }
ed "Alice Martin" "userAccountControl: 512" "userAccountControl: 514"
ed "Ben Carter" "userAccountControl: 512" "userAccountControl: 512
accountExpires: 130000000000000000"
ed "Chloe Dubois" "userAccountControl: 512" "userAccountControl: 512
msExchHideFromAddressLists: TRUE"
ed "Ivan Petrov" "mail: Ivan.Petrov@Example.com" "description: no mail"
ed "Ivan Petrov" "proxyAddresses: SMTP:Ivan.Petrov@Example.com" "description: none"
ed "Ivan Petrov" "proxyAddresses: smtp:ivan@example.com" "description: at all"
ldif_drop "$S/dir.ldif" "Grace Liu" || fail explain-setup-drop
mkconf "$S/dir.ldif" "[safety]
max_delete_percent ="
scope_add "exclude = svc-*
  hschmidt"
ds "$S" plan
expect_rc reason-plan 0
reason() { # name, address, text
	expect_in "reason-$1" "disable mailbox  $2 ($3) [" "$S/out"
}
reason disabled alice.martin@example.com "account disabled in the directory"
reason expired ben.carter@example.com "account expired in the directory"
reason hidden chloe.dubois@example.com "hidden from address lists, visible_only"
reason no-address ivan.petrov@example.com "no usable mail address, mail_enabled_only"
reason excluded hannah.schmidt@example.com "excluded by a [scope] exclude pattern"
reason deleted grace.liu@example.com "not in the directory read: deleted, or outside base_dn/filter"
expect_in reason-names-account "disable mailbox  alice.martin@example.com (account disabled in the directory) [amartin, CN=Alice Martin,OU=Management,OU=Staff,DC=example,DC=com]" "$S/out"
expect_in reason-deleted-anchor "disable mailbox  grace.liu@example.com (not in the directory read: deleted, or outside base_dn/filter) [anchor " "$S/out"
expect_in reason-alias-too "disable alias    ceo@example.com (account disabled in the directory) [amartin," "$S/out"
# a list change is a member diff
expect_in list-diff "update  list     all-staff@example.com members -alice.martin@example.com -ben.carter@example.com" "$S/out"
expect_not_in list-diff-no-goto-lists "update  list     all-staff@example.com goto " "$S/out"
ds "$S" plan --json
reason_json() { # name, address, reason key
	jq_true "reason-json-$1" '.changes[] | select(.address == "'"$2"'" and
		.kind == "mailbox") | .op == "disable" and .reason == "'"$3"'"'
}
reason_json disabled alice.martin@example.com account_disabled
reason_json expired ben.carter@example.com account_expired
reason_json hidden chloe.dubois@example.com hidden
reason_json no-address ivan.petrov@example.com no_address
reason_json excluded hannah.schmidt@example.com excluded
reason_json deleted grace.liu@example.com deleted
jq_true reason-json-names '.changes[] | select(.address ==
	"alice.martin@example.com") | .account == "amartin" and
	.dn == "CN=Alice Martin,OU=Management,OU=Staff,DC=example,DC=com"'
jq_true list-diff-json '.changes[] | select(.address ==
	"all-staff@example.com") | (.members_removed | index("alice.martin@example.com")) != null
	and .members_added == [] and (.old.goto | type) == "string"'

# explain on the leaver: why, the rows, what the next sync does
ds "$S" explain amartin
expect_rc explain-leaver 0
expect_in explain-leaver-reason "scope     left out: account disabled in the directory" "$S/out"
expect_in explain-leaver-rule "rule: userAccountControl bit 2 (ACCOUNTDISABLE)" "$S/out"
expect_in explain-leaver-row "target    mailbox  alice.martin@example.com, active, managed by dirsync for this object" "$S/out"
expect_in explain-leaver-disable "disable mailbox  alice.martin@example.com (account disabled in the directory)" "$S/out"
expect_in explain-leaver-list "update  list     all-staff@example.com members" "$S/out"
ds "$S" explain grace.liu@example.com
expect_rc explain-deleted 0
expect_in explain-deleted-scope "scope     not in the directory read" "$S/out"
expect_in explain-deleted-disable "disable mailbox  grace.liu@example.com (not in the directory read" "$S/out"

# stored reports keep the reasons and names
ds "$S" sync --force-limits
expect_rc reason-sync 0
run=$(last_run)
ds "$S" show "$run"
expect_in reason-stored-text "disable mailbox  ben.carter@example.com (account expired in the directory) [bcarter, CN=Ben Carter" "$S/out"
ds "$S" show "$run" --json
jq_true reason-stored-json '.changes[] | select(.address ==
	"chloe.dubois@example.com" and .kind == "mailbox") | .reason == "hidden"
	and .account == "cdubois"'
ds "$S" explain amartin
expect_in explain-leaver-disabled-row "target    mailbox  alice.martin@example.com, inactive, managed by dirsync for this object, disabled " "$S/out"

# left the member_of group
mkconf "$S/dir.ldif" "[safety]
max_delete_percent =
max_member_removal_percent = 100"
scope_add "member_of = CN=Engineering,OU=Groups,DC=example,DC=com"
ds "$S" plan
expect_rc reason-member-of-plan 0
expect_in reason-not-member "disable mailbox  daniel.okafor@example.com (not in a [scope] member_of group) [dokafor," "$S/out"

# ---- dirsync test: WARN and exit 1 on a scope that cannot be right -------

scenario testwarn
cat >"$S/empty.ldif" <<'EOF'
dn: CN=No Mail,OU=Staff,DC=example,DC=com
objectClass: user
cn: No Mail
sAMAccountName: nomail
objectGUID:: AAAAAAAAAAAAAAAAAAAAAQ==
EOF
mkconf "$S/empty.ldif"
ds "$S" test
expect_rc test-empty-scope 1
expect_in test-incremental-ldif "incremental reads: no: an LDIF file is read whole" "$S/out"
expect_in test-empty-warn "WARN       nothing is in scope" "$S/out"
expect_in test-empty-left-out "left out: no_address" "$S/out"
expect_in test-empty-names "CN=No Mail,OU=Staff,DC=example,DC=com" "$S/out"
expect_not_in test-empty-no-ok "OK" "$S/out"

mkconf "$COMPANY"
scope_add "member_of = CN=Sales,OU=Groups,DC=example,DC=com
  CN=Nope,OU=Groups,DC=example,DC=com
  CN=Staff,DC=other,DC=org"
sed -i "s|^path = $COMPANY|&\nbase_dn = DC=example,DC=com|" "$S/dirsync.conf"
ds "$S" test
expect_rc test-missing-group 1
expect_in test-missing-group-warn "WARN       2 [scope] member_of group(s) not found" "$S/out"
expect_in test-missing-group-named "member_of group CN=Nope,OU=Groups,DC=example,DC=com was not found in the directory" "$S/out"
expect_in test-outside-base "member_of group CN=Staff,DC=other,DC=org was not found in the directory: it is outside base_dn DC=example,DC=com" "$S/out"
expect_in test-lists-warnings "warning    CN=Chloe Dubois,OU=Sales,OU=Staff,DC=example,DC=com: alias chloe.dubois@gmail.com dropped" "$S/out"
expect_in test-left-out-named "left out: not_member_of" "$S/out"

mkconf "$COMPANY"
ds "$S" test
expect_rc test-ok 0
expect_in test-ok-says OK "$S/out"
expect_in test-ok-left-out "left out: account_disabled" "$S/out"
expect_in test-ok-left-out-dn "  CN=Tom Becker,OU=Support,OU=Staff,DC=example,DC=com" "$S/out"
# the target by kind, as the synced mail database holds it
ds "$S" sync
ds "$S" test
expect_in test-target-rows "$(q "SELECT count(*) FROM mailbox") mailboxes (each with its alias row), $(q "SELECT count(*) FROM alias WHERE address NOT IN (SELECT username FROM mailbox)") more alias rows" "$S/out"

# ---- explain: a contact whose only address is outside our domains -------
# (a user trial: "nothing in the directory read matches", though a list
# named its address)
scenario explain-external
cp "$COMPANY" "$S/dir.ldif"
cat >>"$S/dir.ldif" <<'EOF2'

dn: CN=Ext Only,OU=Contacts,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: contact
cn: Ext Only
mail: ext@other.org
targetAddress: SMTP:ext@other.org
objectGUID:: RXh0T25seUNvbnRhY3QwMQ==

dn: CN=Ext Group,OU=Groups,DC=example,DC=com
objectClass: top
objectClass: group
cn: Ext Group
mail: extgroup@example.com
groupType: 8
objectGUID:: RXh0R3JvdXBHcm91cDAwMQ==
member: CN=Ext Only,OU=Contacts,DC=example,DC=com
member: CN=Ben Carter,OU=Sales,OU=Staff,DC=example,DC=com
EOF2
mkconf "$S/dir.ldif"
for who in "CN=Ext Only,OU=Contacts,DC=example,DC=com" ext@other.org; do
	ds "$S" explain "$who"
	expect_rc "explain-external-found-$who" 0
	expect_in "explain-external-scope-$who" "in scope: a contact forwarding to ext@other.org, outside the accepted domains" "$S/out"
	expect_in "explain-external-list-$who" "member of extgroup@example.com" "$S/out"
done
ds "$S" explain ext@other.org --json
jq_true explain-external-json '.found and .objects[0].scope.external == "ext@other.org"'

# what the [source] filter leaves out is in the directory all the same:
# explain says so and names the entry and its line (a fresh tester was
# told "nothing matches" for the example's computer, which has a mail
# value, and for an entry without objectClass); still exit 1: dirsync
# reads none of it
scenario explain_outside
cp "$COMPANY" "$S/dir.ldif"
cat >>"$S/dir.ldif" <<'EOF2'

dn: CN=Zed NoClass,OU=Staff,DC=example,DC=com
cn: Zed NoClass
mail: zed@example.com
EOF2
mkconf "$S/dir.ldif"
zline=$(grep -n '^dn: CN=Zed NoClass' "$S/dir.ldif" | cut -d: -f1)
wline=$(grep -n '^dn: CN=WS-SALES-01' "$S/dir.ldif" | cut -d: -f1)
for who in zed@example.com "cn=zed noclass, ou=staff,dc=example,dc=com"; do
	ds "$S" explain "$who"
	expect_rc "explain-outside-rc-$who" 1
	expect_in "explain-outside-says-$who" "not read by dirsync: the [source] filter leaves out" "$S/out"
	expect_in "explain-outside-names-$who" "CN=Zed NoClass,OU=Staff,DC=example,DC=com ($S/dir.ldif:$zline): it has no objectClass" "$S/out"
done
for who in "CN=WS-SALES-01,OU=Workstations,DC=example,DC=com" 'WS-SALES-01$'; do
	ds "$S" explain "$who"
	expect_rc "explain-outside-computer-rc-$who" 1
	expect_in "explain-outside-computer-$who" "CN=WS-SALES-01,OU=Workstations,DC=example,DC=com ($S/dir.ldif:$wline)" "$S/out"
	expect_in "explain-outside-filter-$who" "filter (&(|(objectClass=user)" "$S/out"
done
ds "$S" explain zed@example.com --json
jq_true explain-outside-json '(.found | not) and
	.outside_filter[0].dn == "CN=Zed NoClass,OU=Staff,DC=example,DC=com" and
	.outside_filter[0].no_object_class'
ds "$S" explain nobody@example.com
expect_rc explain-outside-nothing-rc 1
expect_in explain-outside-nothing "nothing in the directory read or in the mail database matches" "$S/out"
