# Field cases (issue 9), as an administrator sees them over several runs,
# on the mail database itself (SQLite, or PostgreSQL under the PostgreSQL
# suite).  Sourced by run.sh; the golden cases field_* hold the plans.

# ---- 09: a maildir is never handed to a second mailbox --------------------

scenario field-maildir
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 ann@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 bob@example.com
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc field-maildir-first 0
# Ann is renamed; in the next run a newcomer gets ann@: a fresh maildir
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 ann.smith@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 bob@example.com
ds "$S" sync
expect_in field-maildir-renamed \
	"update  mailbox  ann.smith@example.com (was ann@example.com)" "$S/out"
fuser "$S/dir.ldif" "Ann Berg" 3 ann@example.com
# and in the same run Bob is renamed while Cy gets bob@
: >"$S/dir2.ldif"
fuser "$S/dir2.ldif" "Ann Lee" 1 ann.smith@example.com
fuser "$S/dir2.ldif" "Bob Ode" 2 bob.ode@example.com
fuser "$S/dir2.ldif" "Ann Berg" 3 ann@example.com
fuser "$S/dir2.ldif" "Cy Bob" 4 bob@example.com
mkconf "$S/dir2.ldif"
ds "$S" sync
expect_rc field-maildir-reuse 0
expect_eq field-maildir-rows "ann.smith@example.com|example.com/ann/|1
ann@example.com|example.com/ann.2/|1
bob.ode@example.com|example.com/bob/|1
bob@example.com|example.com/bob.2/|1" \
	"$(q "SELECT username, maildir, active FROM mailbox ORDER BY username")"
expect_eq field-maildir-unique "" \
	"$(q "SELECT maildir FROM mailbox GROUP BY maildir HAVING count(*) > 1")"
ds "$S" sync
expect_in field-maildir-idle "summary: 0 add, 0 update, 0 disable, 0 delete" \
	"$S/out"
# a row another tool wrote holds example.com/dee/ for another address
cat >"$S/dee.sql" <<'EOF'
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, created, modified, active)
 VALUES ('d.old@example.com', '', 'Dee Old', 'example.com/dee/', 0, 'd.old', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
EOF
target_sql "$S/dee.sql" >"$S/sql.log" 2>&1 || fail field-maildir-sql "$(cat "$S/sql.log")"
fuser "$S/dir2.ldif" "Dee New" 5 dee@example.com
ds "$S" sync
expect_eq field-maildir-foreign-row "example.com/dee.2/" \
	"$(lookup_maildir dee@example.com)"

# ---- 06: rows that differ only in letter case ------------------------------

for adopt in yes no; do
	scenario field-case-$adopt
	: >"$S/dir.ldif"
	fuser "$S/dir.ldif" "Old Hand" 9 old@example.com
	mkconf "$S/dir.ldif" "[target]
adopt = $adopt"
	ds "$S" sync
	cat >"$S/rows.sql" <<'EOF'
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, created, modified, active)
 VALUES ('Pia.Kern@example.com', '{SHA512-CRYPT}$6$x', 'Pia Kern', 'example.com/Pia.Kern/', 0, 'Pia.Kern', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('Pia.Kern@example.com', 'Pia.Kern@example.com', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('Sales@Example.com', 'Pia.Kern@example.com', 'Example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
EOF
	target_sql "$S/rows.sql" >"$S/sql.log" 2>&1 ||
		fail field-case-$adopt-sql "$(cat "$S/sql.log")"
	fuser "$S/dir.ldif" "Pia Kern" 1 pia.kern@example.com \
		"proxyAddresses: SMTP:pia.kern@example.com
proxyAddresses: smtp:sales@example.com"
	ds "$S" plan
	cp "$S/out" "$S/plan.out"
	ds "$S" sync
	expect_rc field-case-$adopt-sync 0
	expect_eq field-case-$adopt-plan-predicts "$(sed 1d "$S/plan.out" | grep -v '^nothing changed')" \
		"$(sed 1d "$S/out" | grep -v '^applied$\|^nothing to change$')"
	expect_eq field-case-$adopt-one-mailbox 1 \
		"$(q "SELECT count(*) FROM mailbox WHERE lower(username) = 'pia.kern@example.com'")"
	expect_eq field-case-$adopt-one-alias 1 \
		"$(q "SELECT count(*) FROM alias WHERE lower(address) = 'sales@example.com'")"
	if [ $adopt = yes ]; then
		expect_eq field-case-yes-adopted \
			'pia.kern@example.com|example.com/Pia.Kern/|{SHA512-CRYPT}$6$x|1' \
			"$(q "SELECT username, maildir, password, active FROM mailbox WHERE username LIKE 'pia%' OR username LIKE 'Pia%'")"
		expect_eq field-case-yes-alias "pia.kern@example.com" \
			"$(lookup_goto sales@example.com)"
	else
		expect_in field-case-no-conflict "conflict sales@example.com" "$S/out"
		expect_eq field-case-no-untouched "Pia.Kern@example.com|example.com/Pia.Kern/" \
			"$(q "SELECT username, maildir FROM mailbox WHERE username LIKE 'Pia%' OR username LIKE 'pia%'")"
	fi
	ds "$S" sync
	expect_in field-case-$adopt-idle \
		"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
done

# ---- 10: bad bytes in a value affect only that value -----------------------

scenario field-bytes
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Juergen Weiss" 1 juergen.weiss@example.com \
	"displayName:: $(printf 'J\374rgen Wei\337' | base64)"
fuser "$S/dir.ldif" "Ola Nord" 2 ola.nord@example.com \
	"displayName:: $(printf 'Ola\000Nord' | base64)"
fuser "$S/dir.ldif" "Pat Kim" 3 pat.kim@example.com
mkconf "$S/dir.ldif"
ds "$S" plan
cp "$S/out" "$S/plan.out"
ds "$S" sync
expect_rc field-bytes-sync 0
expect_eq field-bytes-plan-predicts "$(sed 1d "$S/plan.out" | grep -v '^nothing changed')" \
	"$(sed 1d "$S/out" | grep -v '^applied$')"
expect_in field-bytes-warned "displayName is not UTF-8; read as Latin-1" "$S/out"
expect_eq field-bytes-names "juergen.weiss@example.com|Jürgen Weiß
ola.nord@example.com|Ola Nord
pat.kim@example.com|Pat Kim" \
	"$(q "SELECT username, name FROM mailbox ORDER BY username")"
ds "$S" sync
expect_in field-bytes-idle "summary: 0 add, 0 update, 0 disable, 0 delete" \
	"$S/out"

# ---- 05: an incomplete ranged attribute applies nothing --------------------

scenario field-range
: >"$S/dir.ldif"
for i in 1 2 3 4; do
	fuser "$S/dir.ldif" "U$i" "$i" "u$i@example.com"
done
cp "$S/dir.ldif" "$S/part.ldif"
printf 'dn: CN=All,OU=Groups,DC=example,DC=com\nobjectClass: group\ncn: All\nmail: all@example.com\nobjectGUID:: EAAAAAAAAAAAAAAAAAAAAA==\n' >>"$S/dir.ldif"
cp "$S/dir.ldif" "$S/tail"
for i in 1 2 3 4; do
	echo "member: CN=U$i,OU=Staff,DC=example,DC=com" >>"$S/dir.ldif"
done
printf 'dn: CN=All,OU=Groups,DC=example,DC=com\nobjectClass: group\ncn: All\nmail: all@example.com\nobjectGUID:: EAAAAAAAAAAAAAAAAAAAAA==\nmember;range=0-1: CN=U1,OU=Staff,DC=example,DC=com\nmember;range=0-1: CN=U2,OU=Staff,DC=example,DC=com\n' >>"$S/part.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc field-range-first 0
mkconf "$S/part.ldif"
ds "$S" sync
expect_rc field-range-partial 1
expect_in field-range-named "incomplete range for member of CN=All,OU=Groups" \
	"$S/err"
expect_eq field-range-list-kept \
	"u1@example.com,u2@example.com,u3@example.com,u4@example.com" \
	"$(lookup_goto all@example.com)"

# ---- 11: expiry is noticed with no change in the directory -----------------

scenario field-expiry
if command -v faketime >/dev/null 2>&1; then
	: >"$S/dir.ldif"
	# 2026-06-30 00:00 UTC as a FILETIME
	fuser "$S/dir.ldif" "Vic Ross" 1 vic.ross@example.com \
		"accountExpires: 134272512000000000"
	fuser "$S/dir.ldif" "Wen Li" 2 wen.li@example.com "accountExpires: 0"
	printf 'dn: uid=sam,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: shadowAccount\nuid: sam\ncn: Sam\nmail: sam@example.com\nentryUUID: 11111111-0000-4000-8000-000000000009\nshadowExpire: 20619\n\n' >>"$S/dir.ldif"
	mkconf "$S/dir.ldif"
	export FAKETIME_DONT_FAKE_MONOTONIC=1
	faketime '2026-06-01 12:00:00' "$DIRSYNC" -c "$S/dirsync.conf" sync \
		>"$S/out" 2>"$S/err"
	rc=$?
	expect_rc field-expiry-before 0
	expect_eq field-expiry-all-active "sam@example.com|1
vic.ross@example.com|1
wen.li@example.com|1" "$(q "SELECT username, active FROM mailbox ORDER BY 1")"
	# the same directory a month later: Vic's accountExpires
	# (2026-06-30) and Sam's shadowExpire (day 20619, 2026-06-15) passed
	faketime '2026-07-01 12:00:00' "$DIRSYNC" -c "$S/dirsync.conf" sync \
		--force-limits \
		>"$S/out" 2>"$S/err"
	rc=$?
	expect_rc field-expiry-after 0
	expect_in field-expiry-vic-disabled "disable mailbox  vic.ross@example.com" \
		"$S/out"
	expect_in field-expiry-sam-disabled "disable mailbox  sam@example.com" \
		"$S/out"
	expect_eq field-expiry-rows "sam@example.com|0
vic.ross@example.com|0
wen.li@example.com|1" "$(q "SELECT username, active FROM mailbox ORDER BY 1")"
	unset FAKETIME_DONT_FAKE_MONOTONIC
else
	nskip=$((nskip + 1))
	echo "SKIP cli/field-expiry (faketime not installed)"
fi

# The address cap (dirsync.conf(5): more than 4096 addresses keeps the
# first 4096): the primary is one of them, whether it is the SMTP: value
# or mail; exactly 4096 is no cap at all
scenario field-address-cap
# big N PRIMARY: one user with PRIMARY (SMTP:, or mail without SMTP:) and
# the aliases m0 .. m(N-1)
big() {
	python3 - "$1" "$2" >"$S/big.ldif" <<'PY'
import sys
n, how = int(sys.argv[1]), sys.argv[2]
print("dn: CN=Big,OU=Staff,DC=example,DC=com\nobjectClass: user\ncn: Big\n"
      "sAMAccountName: big\nobjectGUID:: AAAAAAAAAAAAAAAAAAAAAQ==\n"
      "userAccountControl: 512\nmail: big@example.com")
if how == "smtp":
    print("proxyAddresses: SMTP:big@example.com")
for i in range(n):
    print("proxyAddresses: smtp:m%d@example.com" % i)
PY
}
mkconf "$S/big.ldif"
sqlite_only field-address-cap &&
for c in "4200 smtp 4096 1" "4200 mail 4096 1" "4095 smtp 4096 0" \
	"4096 smtp 4096 1"; do
	set -- $c
	rm -f "$S/mail.db" "$S/state.db"*
	big "$1" "$2"
	ds "$S" sync
	expect_rc "field-address-cap-$1-$2" 0
	expect_eq "field-address-cap-$1-$2-rows" "$3" \
		"$(q "SELECT count(*) FROM alias WHERE goto = 'big@example.com'")"
	expect_eq "field-address-cap-$1-$2-warned" "$4" \
		"$(grep -c 'more than 4096 addresses' "$S/out" "$S/err" | awk -F: '{ n += $2 } END { print n }')"
done
[ -n "$PG" ] ||
expect_eq field-address-cap-last-kept "m4094@example.com" \
	"$(q "SELECT address FROM alias WHERE address LIKE 'm409%' ORDER BY length(address) DESC, address DESC LIMIT 1")"
