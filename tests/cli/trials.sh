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

# ---- values read fail-open: each said, none enables an account ---------

scenario fail-open
{ cat "$COMPANY"; echo; } >"$S/dir.ldif"
# fuser FILE CN GUIDBYTE MAIL [EXTRA-LINES] (field.sh)
fuser "$S/dir.ldif" "Uac Abc" 101 uac.abc@example.com
sed -i '$d' "$S/dir.ldif"
sed -i '$d' "$S/dir.ldif"
printf 'userAccountControl: abc\n\n' >>"$S/dir.ldif"
fuser "$S/dir.ldif" "Uac Hex" 102 uac.hex@example.com
sed -i '$d' "$S/dir.ldif"
sed -i '$d' "$S/dir.ldif"
printf 'userAccountControl: 0x202\n\n' >>"$S/dir.ldif"
fuser "$S/dir.ldif" "Exp Never" 103 exp.never@example.com \
	"accountExpires: never"
fuser "$S/dir.ldif" "Exp Big" 104 exp.big@example.com \
	"accountExpires: 99999999999999999999999"
fuser "$S/dir.ldif" "Uac Two" 105 uac.two@example.com \
	"userAccountControl: 514"
fuser "$S/dir.ldif" "Mixed Case" 106 mixed@example.com \
	"proxyAddresses: Smtp:mixed.one@example.com
proxyAddresses: sMTP:mixed.two@example.com"
cat >>"$S/dir.ldif" <<'EOF2'
dn: CN=Bad Target,OU=Contacts,DC=example,DC=com
objectClass: top
objectClass: contact
cn: Bad Target
targetAddress: SMTP:a@partner.org,b@evil.org
proxyAddresses: smtp:bad.target@example.com
objectGUID:: AAAAAAAAAAAAAAAAAAAAbw==

EOF2
mkconf "$S/dir.ldif"
ds "$S" plan --json
for w in "CN=Uac Abc,OU=Staff,DC=example,DC=com: userAccountControl value 'abc'" \
	"CN=Uac Hex,OU=Staff,DC=example,DC=com: userAccountControl value '0x202'" \
	"CN=Exp Never,OU=Staff,DC=example,DC=com: accountExpires value 'never'" \
	"CN=Exp Big,OU=Staff,DC=example,DC=com: accountExpires value '99999999999999999999999'" \
	"CN=Uac Two,OU=Staff,DC=example,DC=com: userAccountControl has 2 values" \
	"CN=Mixed Case,OU=Staff,DC=example,DC=com: proxyAddresses value 'Smtp:mixed.one@example.com'" \
	"CN=Mixed Case,OU=Staff,DC=example,DC=com: proxyAddresses value 'sMTP:mixed.two@example.com'" \
	"CN=Bad Target,OU=Contacts,DC=example,DC=com: ignoring targetAddress value 'SMTP:a@partner.org,b@evil.org'"; do
	jq_true "fail-open-warns-$(echo "$w" | cut -d, -f1 | tr ' =' '--')-$(echo "$w" | cut -c40-60 | tr -cd 'a-zA-Z')" \
		"[.warnings[] | startswith(\"$w\")] | any"
done
jq_true fail-open-none-enabled \
	'[.changes[] | select(.op == "add") | .address] | map(select(test("^(uac|exp)"))) == []'
jq_true fail-open-mixed-aliases \
	'[.changes[] | select(.op == "add" and .kind == "alias") | .address] | (index("mixed.one@example.com") != null and index("mixed.two@example.com") != null)'
# an account enabled in the last run, its value broken now: disabled, kept
ds "$S" sync
expect_rc fail-open-first-sync 0
awk '/^dn: CN=Mixed Case,/ {m=1} m && /^userAccountControl: 512$/ {print "userAccountControl: 0x200"; m=0; next} {print}' \
	"$S/dir.ldif" >"$S/dir2.ldif"
mkconf "$S/dir2.ldif"
ds "$S" sync
expect_rc fail-open-broken-sync 0
expect_in fail-open-broken-disabled "disable mailbox  mixed@example.com" "$S/out"
expect_eq fail-open-broken-mail-kept "0" \
	"$(q "SELECT active FROM mailbox WHERE username='mixed@example.com'")"

# ---- config: one error per bad item, globs checked at load -------------

scenario conf-items
conf_error domain-item 6 "[source]
type = ldif
path = $COMPANY
[mapping]
domain_rewrite = example.local=example.com
accepted_domains = example.com bad..domain"
expect_not_in conf-domain-item-no-follow-on "is required" "$S/err"
expect_in conf-domain-item-one "1 error" "$S/err"
conf_error exclude-bracket 5 "[source]
type = ldif
path = $COMPANY
[scope]
exclude = svc-* [abc
[mapping]
accepted_domains = example.com"
expect_in conf-exclude-bracket-says "bad exclude item '[abc' in [scope]" "$S/err"
conf_error exclude-class 6 "[source]
type = ldif
path = $COMPANY
[scope]
exclude = svc-*
	*[[:word:]]*
[mapping]
accepted_domains = example.com"
printf '%s\n' "[source]" "type = ldif" "path = $COMPANY" "[scope]" \
	'exclude = [aA]lice.* \[x *[[:digit:]]' "[mapping]" \
	"accepted_domains = example.com" "[target]" "url = $URL" "[state]" \
	"path = $S/state.db" >"$S/dirsync.conf"
chmod 600 "$S/dirsync.conf"
ds "$S" plan
expect_rc conf-exclude-good 0
expect_not_in conf-exclude-good-alice "alice.martin@" "$S/out"

# ---- max_member_removal_percent names every list over it ---------------

scenario member-limit
# mlists FILE N: users m1..m24, list alpha@ of m1..m12 and beta@ of
# m13..m24, each keeping its first N members; gamma@ keeps them all
mlists() {
	: >"$1"
	_i=1
	while [ $_i -le 24 ]; do
		fuser "$1" "M$_i" $_i "m$_i@example.com"
		_i=$((_i + 1))
	done
	for _g in alpha:0:200 beta:12:201 gamma:0:202; do
		_n=${_g%%:*}
		_off=$(echo "$_g" | cut -d: -f2)
		_gb=${_g##*:}
		printf 'dn: CN=%s,OU=Groups,DC=example,DC=com\nobjectClass: top\nobjectClass: group\ncn: %s\nmail: %s@example.com\nobjectGUID:: %s\n' \
			"$_n" "$_n" "$_n" \
			"$(printf "\\$(printf '%03o' "$_gb")\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\1" | base64)" >>"$1"
		_i=1
		_keep=$2
		[ "$_n" = gamma ] && _keep=12
		while [ $_i -le "$_keep" ]; do
			printf 'member: CN=M%s,OU=Staff,DC=example,DC=com\n' \
				$((_i + _off)) >>"$1"
			_i=$((_i + 1))
		done
		printf '\n' >>"$1"
	done
}
mlists "$S/dir.ldif" 12
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc member-limit-first 0
mlists "$S/dir.ldif" 1
ds "$S" sync
expect_rc member-limit-stop 3
expect_in member-limit-text-alpha "list alpha@example.com (CN=alpha,OU=Groups,DC=example,DC=com) would lose 11 of its 12 members (allowed 9)" "$S/out"
expect_in member-limit-text-beta "list beta@example.com (CN=beta,OU=Groups,DC=example,DC=com) would lose 11 of its 12 members (allowed 9)" "$S/out"
expect_not_in member-limit-text-gamma "list gamma@" "$S/out"
expect_in member-limit-log "safety limit max_member_removal_percent exceeded: allowed 9, planned 11; list alpha@example.com (CN=alpha,OU=Groups,DC=example,DC=com) would lose 11 of 12 members; and 1 more list" "$S/err"
ds "$S" sync --json
expect_rc member-limit-json-stop 3
jq_true member-limit-json \
	'.limit_exceeded.lists == [{"address": "alpha@example.com", "dn": "CN=alpha,OU=Groups,DC=example,DC=com", "members": 12, "removed": 11, "allowed": 9}, {"address": "beta@example.com", "dn": "CN=beta,OU=Groups,DC=example,DC=com", "members": 12, "removed": 11, "allowed": 9}]'
