# A list member address in one of our accepted domains that no directory
# object in scope has (an AD contact's targetAddress: a mailbox that
# never existed, or a leaver's, disabled) is left out of the lists, with
# a warning naming them and why: every post bounced for it (a user
# trial).  A row there that dirsync does not manage and that is active (a
# shared mailbox or an alias made by hand) delivers and stays; an
# address outside the accepted domains is the directory's to choose.  In
# a full and in a partial compare alike.  On the mail database itself
# (SQLite or PostgreSQL).  Sourced by run.sh after partial.sh
# (partial_sync, after_partial) and listplaces.sh (lpcontact).

# ctgoto ADDRESS: the alias row's goto.
ctgoto() {
	q "SELECT goto FROM alias WHERE address = '$1'"
}

# ctwarn ADDRESS: the report's ($S/out, JSON) warnings naming ADDRESS.
ctwarn() {
	jq -r --arg a "$1" '.warnings[] | select(contains($a + " "))' "$S/out"
}

scenario contact-targets
cp "$COMPANY" "$S/company.ldif"
cat >>"$S/company.ldif" <<'EOF'

dn: CN=Ghost Contact,OU=Contacts,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: contact
cn: Ghost Contact
mail: ghost.c@example.com
targetAddress: SMTP:nobody@example.com
objectGUID:: Q29udGFjdEdob3N0MDAwMQ==

dn: CN=Shared Contact,OU=Contacts,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: contact
cn: Shared Contact
targetAddress: SMTP:shared.box@example.com
objectGUID:: Q29udGFjdFNoYXJlZDAwMQ==

dn: CN=Outside Contact,OU=Contacts,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: contact
cn: Outside Contact
targetAddress: SMTP:someone@elsewhere.org
objectGUID:: Q29udGFjdE91dHNpZGUwMQ==

EOF
leaver_contact "$S/company.ldif"
ad_group "$S/company.ldif" "Contact Group" 1 7 cgroup@example.com \
	"CN=Ghost Contact,OU=Contacts,DC=example,DC=com" \
	"CN=Leaver Contact,OU=Contacts,DC=example,DC=com" \
	"CN=Shared Contact,OU=Contacts,DC=example,DC=com" \
	"CN=Outside Contact,OU=Contacts,DC=example,DC=com"
ad_group "$S/company.ldif" "Ghost Group" 2 7 ggroup@example.com \
	"CN=Ghost Contact,OU=Contacts,DC=example,DC=com" \
	"CN=Grace Liu,OU=Sales,OU=Staff,DC=example,DC=com"
mkconf "$S/company.ldif"
ds "$S" sync --json
expect_rc ct-first 0
# nobody@ has no row; shared.box@ has none yet either
expect_eq ct-first-cgroup "ben.carter@example.com,someone@elsewhere.org" \
	"$(ctgoto cgroup@example.com)"
expect_eq ct-first-ggroup "grace.liu@example.com" "$(ctgoto ggroup@example.com)"
expect_eq ct-first-nobody-warned-once 1 "$(ctwarn nobody@example.com | wc -l)"
expect_in ct-first-nobody-why "list member nobody@example.com is in an accepted domain but no mailbox, alias or list has it; left out of cgroup@example.com, ggroup@example.com" \
	"$S/out"
expect_in ct-first-shared-why "list member shared.box@example.com is in an accepted domain but no mailbox, alias or list has it; left out of cgroup@example.com" \
	"$S/out"
expect_eq ct-first-external-not-warned "" "$(ctwarn someone@elsewhere.org)"
# the contact's own forwarder row stays as the directory says, with a word
expect_eq ct-first-forwarder "nobody@example.com" "$(ctgoto ghost.c@example.com)"
expect_in ct-first-forwarder-warned "contact ghost.c@example.com forwards to nobody@example.com, which is in an accepted domain but no mailbox, alias or list has it" \
	"$S/out"
ds "$S" sync
expect_rc ct-second 0
expect_in ct-second-nothing "summary: 0 add, 0 update, 0 disable, 0 delete" \
	"$S/out"
expect_in ct-second-warns-again "warning: list member nobody@example.com is in an accepted domain" \
	"$S/out"

# a shared mailbox made by hand, active: it delivers, and joins the list
cat >"$S/rows.sql" <<'EOF'
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('shared.box@example.com', 'grace.liu@example.com', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
EOF
target_sql "$S/rows.sql" >"$S/sql.log" 2>&1 ||
	fail ct-hand-sql "$(cat "$S/sql.log")"
ds "$S" sync --json
expect_rc ct-hand 0
expect_eq ct-hand-kept \
	"ben.carter@example.com,shared.box@example.com,someone@elsewhere.org" \
	"$(ctgoto cgroup@example.com)"
expect_eq ct-hand-not-warned "" "$(ctwarn shared.box@example.com)"
expect_eq ct-hand-row-untouched "grace.liu@example.com" \
	"$(ctgoto shared.box@example.com)"
ds "$S" sync --json
jq_true ct-hand-then-fast '.fast_path == true'
expect_eq ct-fast-warns-again 1 "$(ctwarn nobody@example.com | wc -l)"

# Ben leaves: his mailbox is disabled, and the lists naming him through
# the contact (outside the partial compare's part: the contact and the
# group are as they were) leave him out too
ldif_drop "$S/company.ldif" "Ben Carter" || fail ct-leaver-drop
partial_sync ct-leaver 0
jq_true ct-leaver-disabled '[.changes[] | select(.op == "disable" and .address == "ben.carter@example.com")] | length == 1'
expect_eq ct-leaver-cgroup "shared.box@example.com,someone@elsewhere.org" \
	"$(ctgoto cgroup@example.com)"
expect_in ct-leaver-why "list member ben.carter@example.com is a disabled mailbox; left out of cgroup@example.com" \
	"$S/out"
expect_eq ct-leaver-nobody-still-warned 1 "$(ctwarn nobody@example.com | wc -l)"
after_partial ct-leaver
ds "$S" sync --json
expect_in ct-leaver-later-why "list member ben.carter@example.com is a disabled mailbox; left out of cgroup@example.com" \
	"$S/out"
expect_eq ct-leaver-later-cgroup "shared.box@example.com,someone@elsewhere.org" \
	"$(ctgoto cgroup@example.com)"

# a list in the part names the disabled leaver and nobody@: their rows
# (none for nobody@) are loaded to tell, as a full compare does
ldif_edit "$S/company.ldif" "Contact Group" \
	"member: CN=Outside Contact,OU=Contacts,DC=example,DC=com" \
	"member: CN=Outside Contact,OU=Contacts,DC=example,DC=com
member: CN=Grace Liu,OU=Sales,OU=Staff,DC=example,DC=com" ||
	fail ct-member-setup "ldif_edit"
partial_sync ct-member 0
expect_eq ct-member-cgroup \
	"grace.liu@example.com,shared.box@example.com,someone@elsewhere.org" \
	"$(ctgoto cgroup@example.com)"
after_partial ct-member

# nobody@ becomes a person: the lists get the address (the groups
# outside the part join it)
fuser "$S/company.ldif" "No Body" 201 nobody@example.com
partial_sync ct-nobody-arrives 0
expect_eq ct-nobody-arrives-ggroup "grace.liu@example.com,nobody@example.com" \
	"$(ctgoto ggroup@example.com)"
expect_eq ct-nobody-arrives-not-warned "" "$(ctwarn nobody@example.com)"
after_partial ct-nobody-arrives

# a contact whose target is its own address in an accepted domain: no
# forwarder (it would loop), and a warning says so (a user trial: it was
# left out without a word)
scenario contact-loop
cp "$COMPANY" "$S/company.ldif"
cat >>"$S/company.ldif" <<'EOF2'

dn: CN=Loop Contact,OU=Contacts,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: contact
cn: Loop Contact
mail: loop@example.com
targetAddress: SMTP:loop@example.com
objectGUID:: Q29udGFjdExvb3AwMDAwMQ==
EOF2
mkconf "$S/company.ldif"
ds "$S" sync --json
expect_rc contact-loop-sync 0
jq_true contact-loop-warned '[.warnings[] | select(contains("CN=Loop Contact,OU=Contacts,DC=example,DC=com: a contact whose target loop@example.com is its own address"))] | length == 1'
expect_eq contact-loop-no-row "" "$(ctgoto loop@example.com)"
