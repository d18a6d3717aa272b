#!/bin/sh
# A partial compare that adds a mailbox wants the dirsync_mailbox_maildir
# index twice: for the first maildir it gives out, and at the commit
# (with the owner's indexes).  It is made (or refused) once per
# transaction: here the shim refuses it, and -vv says so once, not twice;
# the new mailbox still gets a maildir no other row has.
. "$(dirname "$0")/lib.sh"

case_begin index
ds -q sync
expect_rc first-sync 0
# a hand-made row already holds the path the newcomer will get
sqlite3 "$S/mail.db" "INSERT INTO mailbox (username, maildir, domain)
	VALUES ('ida.other@example.com', 'example.com/ida.index/', 'example.com')"
ds -q sync
expect_rc verified-sync 0
{ cat "$COMPANY"; cat <<'NEW'

dn: CN=Ida Index,OU=Office,OU=Staff,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
cn: Ida Index
displayName: Ida Index
sAMAccountName: iindex
mail: ida.index@example.com
objectGUID:: EBESExQVFhcYGRobHB0eHw==
userAccountControl: 512
NEW
} >"$S/dir.ldif"
FAULT_FAIL_SQL="dirsync_mailbox_maildir" LD_PRELOAD=$SHIM ds -vv sync --json
expect_rc partial-add 0
expect_eq partial-add-compare "partial 1" \
	"$(jq -r '[.compare, .summary.add] | join(" ")' "$S/out")"
expect_eq index-tried-once 1 \
	"$(grep -c 'no index on mailbox (lower(maildir))' "$S/err")"
expect_eq maildir-not-taken "example.com/ida.index.2/" \
	"$(sqlite3 "$S/mail.db" "SELECT maildir FROM mailbox WHERE username = 'ida.index@example.com'")"
