# A list is never given an address that does not reach, after the run,
# the member the directory gave it for (docs/design.md, "Conflicts"): a
# newcomer whose address is still a leaver's mailbox (a user trial:
# deleted and created again with a new anchor, deprovision = disable),
# or a row dirsync does not manage, or a contact's external address in
# a conflict, directly or through a nested list; at a first sync, in an
# incremental one, and in a partial compare.  On the mail database
# itself (SQLite or PostgreSQL).  Sourced by run.sh after field.sh
# (fuser), handover.sh (hgroup) and partial.sh (partial_sync).

# lpcontact FILE CN GUIDBYTE TARGET: appends an AD contact forwarding to
# TARGET.
lpcontact() {
	printf 'dn: CN=%s,OU=Contacts,DC=example,DC=com\nobjectClass: top\nobjectClass: person\nobjectClass: contact\ncn: %s\ntargetAddress: SMTP:%s\nobjectGUID:: %s\n\n' \
		"$2" "$2" "$4" "$(printf "\\$(printf '%03o' "$3")\\2\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0" | base64)" >>"$1"
}

# lpgroup FILE CN GUIDBYTE MAIL DN...: appends a distribution group with
# these member DNs (users, contacts, groups).
lpgroup() {
	_lf=$1 _lcn=$2 _lg=$3 _lm=$4
	shift 4
	ad_group "$_lf" "$_lcn" "$_lg" 3 "$_lm" "$@"
}

# lpgoto ADDRESS: the list row's goto, and whether it is active.
lpgoto() {
	q "SELECT goto, active FROM alias WHERE address = '$1'"
}

# lpdir FILE ANN-GUIDBYTE: Ann (ann@) and Bob (bob@), both in staff@
# (directly) and in sales@ (through team@, nested).
lpdir() {
	: >"$1"
	fuser "$1" "Ann Lee" "$2" ann@example.com
	fuser "$1" "Bob Ode" 2 bob@example.com
	hgroup "$1" Staff 10 staff@example.com "Ann Lee" "Bob Ode"
	hgroup "$1" Team 11 team@example.com "Ann Lee" "Bob Ode"
	lpgroup "$1" Sales 12 sales@example.com "CN=Team,OU=Groups,DC=example,DC=com"
}

# ---- the trial: deleted, then created again with a new anchor ------------

scenario lp-rehire
lpdir "$S/dir.ldif" 1
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc lp-rehire-first 0
expect_eq lp-rehire-first-staff "ann@example.com,bob@example.com|1" \
	"$(lpgoto staff@example.com)"
# Ann is deleted: her mailbox is disabled and leaves the lists
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Bob Ode" 2 bob@example.com
hgroup "$S/dir.ldif" Staff 10 staff@example.com "Ann Lee" "Bob Ode"
hgroup "$S/dir.ldif" Team 11 team@example.com "Ann Lee" "Bob Ode"
lpgroup "$S/dir.ldif" Sales 12 sales@example.com "CN=Team,OU=Groups,DC=example,DC=com"
ds "$S" sync
expect_rc lp-rehire-deleted 0
expect_eq lp-rehire-deleted-staff "bob@example.com|1" \
	"$(lpgoto staff@example.com)"
# an account at the same DN and address, a new anchor, the same groups
lpdir "$S/dir.ldif" 3
ds "$S" plan
cp "$S/out" "$S/plan.out"
ds "$S" sync
expect_rc lp-rehire-again 0
expect_in lp-rehire-conflict "conflict ann@example.com" "$S/out"
expect_not_in lp-rehire-planned-no-place "+ann@example.com" "$S/plan.out"
expect_not_in lp-rehire-no-place "+ann@example.com" "$S/out"
expect_eq lp-rehire-mailbox-stays-disabled 0 "$(active_of ann@example.com)"
for l in staff team sales; do
	expect_eq "lp-rehire-$l" "bob@example.com|1" "$(lpgoto $l@example.com)"
done
ds "$S" sync
expect_in lp-rehire-idle "summary: 0 add, 0 update, 0 disable, 0 delete" \
	"$S/out"
ds "$S" sync --full
expect_in lp-rehire-full-idle \
	"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
expect_eq lp-rehire-full-staff "bob@example.com|1" \
	"$(lpgoto staff@example.com)"
# a list row an earlier version gave the address is repaired
cat >"$S/bad.sql" <<'EOF'
UPDATE alias SET goto = 'ann@example.com,bob@example.com' WHERE address = 'staff@example.com';
EOF
target_sql "$S/bad.sql" >"$S/sql.log" 2>&1 || fail lp-rehire-sql "$(cat "$S/sql.log")"
ds "$S" sync
expect_in lp-rehire-repaired-says \
	"update  list     staff@example.com members -ann@example.com" "$S/out"
expect_eq lp-rehire-repaired "bob@example.com|1" "$(lpgoto staff@example.com)"

# ---- in one run: the leaver goes and the newcomer comes ------------------

scenario lp-same-run
lpdir "$S/dir.ldif" 1
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc lp-same-run-first 0
lpdir "$S/dir.ldif" 3
ds "$S" sync
expect_rc lp-same-run-sync 0
expect_in lp-same-run-disable "disable mailbox  ann@example.com" "$S/out"
expect_in lp-same-run-conflict "conflict ann@example.com" "$S/out"
# the leaver leaves the lists, as without the newcomer; the newcomer
# is not given the disabled mailbox's address
expect_in lp-same-run-leaves \
	"update  list     staff@example.com members -ann@example.com" "$S/out"
for l in staff team sales; do
	expect_eq "lp-same-run-$l" "bob@example.com|1" "$(lpgoto $l@example.com)"
done
ds "$S" sync
expect_in lp-same-run-idle "summary: 0 add, 0 update, 0 disable, 0 delete" \
	"$S/out"

# ---- a row dirsync does not manage, at a first sync and later ------------

scenario lp-unmanaged
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Bob Ode" 2 bob@example.com
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc lp-unmanaged-schema 0
cat >"$S/rows.sql" <<'EOF'
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, created, modified, active)
 VALUES ('cy@example.com', '', 'Cy Other', 'example.com/cy/', 0, 'cy', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('cy@example.com', 'cy@example.com', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('fwd@example.com', 'someone@elsewhere.org', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
EOF
target_sql "$S/rows.sql" >"$S/sql.log" 2>&1 || fail lp-unmanaged-sql "$(cat "$S/sql.log")"
# Cy (whose address another tool's mailbox holds) and Bob in new lists,
# one of them nested; a list of Cy alone; a contact forwarding to Cy's
# address and one to a partner
fuser "$S/dir.ldif" "Cy Berg" 4 cy@example.com
lpcontact "$S/dir.ldif" "To Cy" 20 cy@example.com
lpcontact "$S/dir.ldif" "Partner" 21 p@partner.org
hgroup "$S/dir.ldif" Staff 10 staff@example.com "Bob Ode" "Cy Berg"
hgroup "$S/dir.ldif" Solo 12 solo@example.com "Cy Berg"
lpgroup "$S/dir.ldif" Outer 13 outer@example.com \
	"CN=Staff,OU=Groups,DC=example,DC=com" \
	"CN=To Cy,OU=Contacts,DC=example,DC=com" \
	"CN=Partner,OU=Contacts,DC=example,DC=com"
ds "$S" sync
expect_rc lp-unmanaged-sync 0
expect_in lp-unmanaged-conflict "conflict cy@example.com" "$S/out"
expect_eq lp-unmanaged-staff "bob@example.com|1" "$(lpgoto staff@example.com)"
expect_eq lp-unmanaged-outer "bob@example.com,p@partner.org|1" \
	"$(lpgoto outer@example.com)"
# a list none of whose members has an address yet is not created
expect_in lp-unmanaged-solo-held "conflict solo@example.com" "$S/out"
expect_eq lp-unmanaged-solo-absent "" "$(lpgoto solo@example.com)"
expect_eq lp-unmanaged-row-untouched "cy@example.com|1" \
	"$(q "SELECT goto, active FROM alias WHERE address = 'cy@example.com'")"
ds "$S" sync
expect_in lp-unmanaged-idle "summary: 0 add, 0 update, 0 disable, 0 delete" \
	"$S/out"
# with adopt = yes the row becomes Cy's, and Cy takes the places
mkconf "$S/dir.ldif" "[target]
adopt = yes"
ds "$S" sync
expect_rc lp-unmanaged-adopt 0
expect_eq lp-unmanaged-adopt-staff "bob@example.com,cy@example.com|1" \
	"$(lpgoto staff@example.com)"
expect_eq lp-unmanaged-adopt-solo "cy@example.com|1" \
	"$(lpgoto solo@example.com)"
expect_eq lp-unmanaged-adopt-outer \
	"bob@example.com,cy@example.com,p@partner.org|1" \
	"$(lpgoto outer@example.com)"

# ---- a conflict in the directory: a contact's external address -----------

scenario lp-contested
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 ann@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 bob@example.com
hgroup "$S/dir.ldif" Staff 10 staff@example.com "Ann Lee" "Bob Ode"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc lp-contested-first 0
# Dee and Eve both claim dee@; a contact forwarding to dee@ joins staff,
# and Fay claims Ann's address too: Ann keeps her place (her mailbox
# stays, the list still reaches her), nobody gains dee@
fuser "$S/dir.ldif" "Dee One" 5 dee@example.com
fuser "$S/dir.ldif" "Eve Two" 6 eve@example.com "proxyAddresses: SMTP:eve@example.com
proxyAddresses: smtp:dee@example.com"
fuser "$S/dir.ldif" "Fay Three" 7 fay@example.com "proxyAddresses: SMTP:fay@example.com
proxyAddresses: smtp:ann@example.com"
lpcontact "$S/dir.ldif" "To Dee" 22 dee@example.com
awk 'BEGIN { RS = ""; ORS = "\n\n" } !/CN=Staff,OU=Groups/' \
	"$S/dir.ldif" >"$S/g.ldif"
mv "$S/g.ldif" "$S/dir.ldif"
u=OU=Staff,DC=example,DC=com
lpgroup "$S/dir.ldif" Staff 10 staff@example.com "CN=Ann Lee,$u" \
	"CN=Bob Ode,$u" "CN=Dee One,$u" "CN=To Dee,OU=Contacts,DC=example,DC=com"
ds "$S" sync
expect_rc lp-contested-sync 0
expect_in lp-contested-dee "conflict dee@example.com" "$S/out"
expect_in lp-contested-ann "conflict ann@example.com" "$S/out"
expect_eq lp-contested-staff "ann@example.com,bob@example.com|1" \
	"$(lpgoto staff@example.com)"
expect_eq lp-contested-ann-active 1 "$(active_of ann@example.com)"

# ---- a partial compare: the lists naming the newcomer are outside its part

scenario lp-partial
cp "$COMPANY" "$S/company.ldif"
mkconf "$S/company.ldif"
ds "$S" sync
expect_rc lp-partial-first 0
cp "$S/company.ldif" "$S/with-chloe.ldif"
ldif_drop "$S/company.ldif" "Chloe Dubois" || fail lp-partial-drop
ds "$S" sync
expect_rc lp-partial-deleted 0
ds "$S" sync
expect_in lp-partial-verified "summary: 0 add, 0 update, 0 disable, 0 delete" \
	"$S/out"
# Chloe again: the same DN and address, a new objectGUID
sed 's|^objectGUID:: PHeZ928L1tA9msRDtmfmVw==$|objectGUID:: PHeZ928L1tA9msRDtmfmWA==|' \
	"$S/with-chloe.ldif" >"$S/company.ldif"
ds "$S" -v sync --json
expect_rc lp-partial-sync 0
jq_true lp-partial-is-partial '.compare == "partial"'
jq_true lp-partial-conflict \
	'[.conflicts[].address] | index("chloe.dubois@example.com") != null'
expect_eq lp-partial-no-list-has-her "" \
	"$(q "SELECT address FROM alias WHERE address IN ('sales-emea@example.com', 'sales@example.com', 'all-staff@example.com') AND goto LIKE '%chloe.dubois@%'")"
# that run is verified with her conflict kept: the next is fast, and a
# list naming her that changes for another reason is planned in a
# partial compare without her (the kept conflict says she waits)
ds "$S" sync --json
jq_true lp-partial-then-fast '.fast_path == true and ([.conflicts[].address] | index("chloe.dubois@example.com") != null)'
ldif_edit "$S/company.ldif" "Sales" \
	"member: CN=Ben Carter,OU=Sales,OU=Staff,DC=example,DC=com" \
	"member: CN=Ben Carter,OU=Sales,OU=Staff,DC=example,DC=com
member: CN=Ivan Petrov,OU=Engineering,OU=Staff,DC=example,DC=com" ||
	fail lp-partial-setup "ldif_edit Sales"
partial_sync lp-partial-list 0
jq_true lp-partial-list-ivan '[.changes[] | select(.address == "sales@example.com" and (.members_added // [] | index("ivan.petrov@example.com") != null))] | length == 1'
expect_eq lp-partial-list-not-her "" \
	"$(q "SELECT address FROM alias WHERE address IN ('sales-emea@example.com', 'sales@example.com', 'all-staff@example.com') AND goto LIKE '%chloe.dubois@%'")"
ds "$S" sync --full
expect_in lp-partial-full-agrees \
	"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
