#!/bin/sh
# The scope suddenly matches nothing (a filter or base_dn gone wrong, an
# export of the wrong OU), or only a part of the company; and values the
# target cannot hold (5,000 smtp: addresses on one person, a 1 MB
# displayName).  Each refused read applies nothing (exit 3, the limit on
# stderr); each value is handled with a warning naming the DN, the run
# succeeds and the next one has nothing left to do.
. "$(dirname "$0")/lib.sh"

case_begin scope
ds -q sync
expect_rc first-sync 0
dump >"$S/before.dump"

# refused DESC CONF-EXTRA [LDIF]: exit 3 naming the limit, nothing applied
refused() {
	mkconf "${3:-$S/dir.ldif}" "$2"
	ds -q sync
	expect_rc "$1-exit-3" 3
	if grep -q "no object in scope\|safety limit" "$S/err"; then
		pass "$1-says-why"
	else
		fail "$1-says-why" "no limit message on stderr"
	fi
	unchanged "$1-nothing-applied" "$S/before.dump"
}

refused filter-matches-nothing "[source]
filter = (department=No Such Department)"
refused base-dn-matches-nothing "[source]
base_dn = OU=Gone,DC=example,DC=com"
printf 'version: 1\n\n' >"$S/empty.ldif"
refused export-of-nothing "" "$S/empty.ldif"
refused scope-shrinks-to-one-ou "[source]
base_dn = OU=Sales,OU=Staff,DC=example,DC=com"
mkconf "$S/dir.ldif"
converged scope-back

# one person with 5,000 smtp: addresses and a 1 MB displayName
{
	cat "$COMPANY"
	printf '\ndn: CN=Hostile Values,OU=Office,OU=Staff,DC=example,DC=com\n'
	printf 'objectClass: top\nobjectClass: person\nobjectClass: user\n'
	printf 'cn: Hostile Values\nmail: hostile@example.com\n'
	printf 'objectGUID:: //79/Pv6+fj39vX08/Lx8A==\nuserAccountControl: 512\n'
	printf 'proxyAddresses: SMTP:hostile@example.com\n'
	awk 'BEGIN { for (i = 0; i < 5000; i++) printf "proxyAddresses: smtp:h%d@example.com\n", i }'
	awk 'BEGIN { printf "displayName: "; for (i = 0; i < 100000; i++) printf "Hostile Va"; print "" }'
} >"$S/hostile.ldif"
mkconf "$S/hostile.ldif"
ds sync
expect_rc hostile-sync 0
expect_in hostile-address-cap-warned \
	"CN=Hostile Values,OU=Office,OU=Staff,DC=example,DC=com: more than 4096 addresses" "$S/out"
expect_in hostile-name-cut-warned "bytes long; cut to" "$S/out"
expect_eq hostile-mailbox "1|255" \
	"$(sqlite3 "$S/mail.db" "SELECT active, length(name) FROM mailbox WHERE username = 'hostile@example.com'")"
# 4096 addresses in all: the primary and 4095 aliases (dirsync.conf(5))
expect_eq hostile-aliases-kept "4095" \
	"$(sqlite3 "$S/mail.db" "SELECT count(*) FROM alias WHERE address GLOB 'h[0-9]*@example.com' AND goto = 'hostile@example.com'")"
converged hostile
