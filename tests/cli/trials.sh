# Faults user trials found (sourced by run.sh): two entries with one
# anchor, values read fail-open, config follow-on errors and globs, and
# the member-removal limit naming its lists.

# ---- two entries with one anchor: the read fails, nothing changes -------

scenario anchor-twice
mkconf "$COMPANY"
ds "$S" sync
expect_rc anchor-twice-first 0
db_mark
cp "$COMPANY" "$S/dir.ldif"
cat >>"$S/dir.ldif" <<'EOF2'

dn: CN=Test One,OU=Staff,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
cn: Test One
sAMAccountName: tone
mail: test.one@example.com
userAccountControl: 512
objectGUID:: NX8JS6CMIRqBxjHN+HIf7Q==
EOF2
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc anchor-twice-sync 1
expect_in anchor-twice-names-both \
	"same anchor 4b097f35-8ca0-1a21-81c6-31cdf8721fed: 'CN=Alice Martin,OU=Management,OU=Staff,DC=example,DC=com' and 'CN=Test One,OU=Staff,DC=example,DC=com'" \
	"$S/out"
expect_db_unchanged anchor-twice
expect_eq anchor-twice-alice-active "1" \
	"$(q "SELECT active FROM mailbox WHERE username='alice.martin@example.com'")"
ds "$S" sync --json
jq_true anchor-twice-json \
	'[.errors[].message | test("same anchor.*CN=Alice Martin.*CN=Test One")] | any'
ds "$S" explain alice.martin@example.com
expect_rc_not anchor-twice-explain 0
expect_in anchor-twice-explain-says "same anchor" "$S/err"

# entryUUID (OpenLDAP) in another letter case, and nsUniqueId (389-DS)
for kind in entryUUID nsUniqueId; do
	scenario "anchor-twice-$kind"
	cat >"$S/dir.ldif" <<EOF2
dn: uid=ann,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ann
cn: Ann
sn: Lee
mail: ann@example.com
$kind: 6f1c3a9e-1b2d-4c8e-9f00-00000000000a

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Ode
mail: bob@example.com
$kind: 6F1C3A9E-1B2D-4C8E-9F00-00000000000A

EOF2
	mkconf "$S/dir.ldif"
	ds "$S" sync
	expect_rc "anchor-twice-$kind-sync" 1
	expect_in "anchor-twice-$kind-names-both" \
		"'uid=ann,ou=people,dc=example,dc=com' and 'uid=bob,ou=people,dc=example,dc=com'" \
		"$S/out"
	expect_eq "anchor-twice-$kind-nothing-written" "" \
		"$(q "SELECT username FROM mailbox" | grep @)"
done
