#!/bin/bash
# test_ldap_samba.sh - the live LDAP source against a real Samba AD DC.
#
# A private domain (samba/samba.sh) in its own network namespace, loaded
# with examples/company.ldif through ldapmodify over LDAPS (users with
# passwords, a disabled one, a hidden one, contacts, nested groups), is
# synced over ldaps:// with a UPN bind; the mail database must hold exactly
# the rows the LDIF source gives.  Then: AD refusing a simple bind on plain
# 389, StartTLS, a DN bind, a wrong password, nested groups checked against
# AD's own in-chain matching rule, a user disabled with samba-tool, and a
# 1,600-member group read with range retrieval.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIRSYNC=${DIRSYNC:-$ROOT/build/dirsync}
. "$HERE/samba/samba.sh"
. "$HERE/lib/ldap/dstest.sh"

if ! samba_can_run "dirsync-probe-$$"; then
	echo "SKIP: test_ldap_samba needs network namespaces (root, ip netns)"
	exit 0
fi

T=$(mktemp -d /tmp/dirsync-ldap-samba.XXXXXX)
cleanup()
{
	samba_stop
	rm -rf "$T"
}
trap cleanup EXIT

SVC_PW="Svc-$RANDOM-Dirsync!9"
BASE="DC=example,DC=com"

ds_step "golden: the LDIF source on examples/company.ldif"
ds_ldif_golden "$T/expected.txt"

ds_step "Samba AD: provision, start, load the company over LDAPS"
ds_samba_company "$SVC_PW"
echo "   (provision + start ${DS_SAMBA_UP}s, load ${DS_SAMBA_LOAD}s)"

printf '%s\n' "$SVC_PW" >"$T/bind.secret"
printf '%s\n' "Wrong-Pass-123!" >"$T/wrong.secret"
chmod 600 "$T/bind.secret" "$T/wrong.secret"

# ad_conf NAME URI [extra [source] lines...]
ad_conf()
{
	local name=$1 uri=$2 l
	shift 2
	{
		echo "[source]"
		echo "type = ldap"
		echo "uri = $uri"
		echo "tls_ca_file = $SAMBA_CA"
		echo "bind_dn = svc-dirsync@example.com"
		echo "bind_password_file = $T/bind.secret"
		echo "base_dn = $BASE"
		echo "timeout = 10s"
		for l in "$@"; do
			echo "$l"
		done
		echo "[mapping]"
		echo "accepted_domains = example.com example.net"
		echo "domain_rewrite = example.local=example.com"
		echo "[target]"
		echo "url = sqlite://$T/live.db"
		echo "[state]"
		echo "path = $T/live-state.db"
	} >"$T/$name.conf"
	chmod 600 "$T/$name.conf"
}

ds_step "dirsync test: AD flavor, TLS, naming context"
ad_conf main "$SAMBA_URI"
ds_run samba_exec -- -c "$T/main.conf" test
ds_expect_rc 0 "dirsync test"
grep -q "flavor ad" "$DS_OUT" || ds_fail "test: flavor not ad"
grep -q "TLS ldaps" "$DS_OUT" || ds_fail "test: TLS not ldaps"
grep -q "naming context $BASE" "$DS_OUT" || ds_fail "test: naming context"
[ "$(grep -c "^sample" "$DS_OUT")" = 5 ] || ds_fail "test: not 5 samples"
# this bind account lacks the right DirSync needs: test says so
grep -q "incremental reads: no: .*refused DirSync.*Replicating Directory Changes" "$DS_OUT" ||
	ds_fail "test: incremental reads not said: $(grep incremental "$DS_OUT")"

ds_step "sync over ldaps:// (UPN bind) gives the same mail database as LDIF"
ds_run samba_exec -- -c "$T/main.conf" sync --json
ds_expect_rc 0 "first sync"
ds_same_db "$T/live.db" "$T/expected.txt" "Samba AD vs LDIF"
ds_run samba_exec -- -c "$T/main.conf" sync --json
ds_expect_rc 0 "second sync"
[ "$(jq -c '[.summary.add,.summary.update,.summary.disable,.summary.delete]' \
	"$DS_OUT")" = "[0,0,0,0]" ] || ds_fail "second sync is not a no-op"

ds_step "explain names what the [source] filter leaves out (an OU, found by distinguishedName on AD)"
ds_run samba_exec -- -c "$T/main.conf" explain "ou=domain controllers, $BASE"
ds_expect_rc 1 "explain of an OU"
grep -q 'not read by dirsync: the \[source\] filter leaves out' "$DS_OUT" ||
	ds_fail "explain of an OU: $(cat "$DS_OUT" "$DS_ERR")"
grep -qi "^  OU=Domain Controllers,$BASE (ldaps://" "$DS_OUT" ||
	ds_fail "explain of an OU does not name it: $(cat "$DS_OUT")"

ds_step "plain ldap:// simple bind refused by AD, with advice; StartTLS works"
ad_conf plain "$SAMBA_PLAIN_URI"
ds_run samba_exec -- -c "$T/plain.conf" sync
ds_expect_rc 1 "plain 389"
ds_expect_err "use an ldaps:// uri or starttls = demand" "plain 389"
ad_conf starttls "$SAMBA_PLAIN_URI" "starttls = demand" "page_size = 5"
ds_run samba_exec -- -c "$T/starttls.conf" sync --json
ds_expect_rc 0 "starttls"
[ "$(ds_summary add)$(ds_summary disable)" = 00 ] || ds_fail "starttls: changes"

ds_step "bind with a DN instead of a UPN; wrong password"
ad_conf dnbind "$SAMBA_URI"
sed -i "s|^bind_dn = .*|bind_dn = CN=svc-dirsync,CN=Users,$BASE|" "$T/dnbind.conf"
ds_run samba_exec -- -c "$T/dnbind.conf" sync --json
ds_expect_rc 0 "DN bind"
ad_conf wrongpw "$SAMBA_URI ldaps://127.0.0.2"
sed -i "s|bind.secret|wrong.secret|" "$T/wrongpw.conf"
ds_run samba_exec -- -c "$T/wrongpw.conf" sync
ds_expect_rc 1 "wrong password"
ds_expect_err "invalid credentials for bind DN svc-dirsync@example.com" \
	"wrong password"
ds_expect_err "wrong password or unknown account" "wrong password hint"
grep -q "127.0.0.2" "$DS_ERR" && ds_fail "wrong password: tried next server"

ds_step "a DC name that does not resolve: warned, the next DC used"
ad_conf failover "ldaps://dc9.example.invalid $SAMBA_URI"
ds_run samba_exec -- -c "$T/failover.conf" sync --json
ds_expect_rc 0 "failover"
ds_expect_err 'unknown host "dc9.example.invalid"' "failover warning"
[ "$(jq -r .source.server "$DS_OUT")" = "$SAMBA_URI" ] ||
	ds_fail "failover: server used is $(jq -r .source.server "$DS_OUT")"

ds_step "the DC's certificate checked against tls_ca_file"
ad_conf untrusted "$SAMBA_URI"
sed -i "s|^tls_ca_file = .*|tls_ca_file = $SAMBA_OTHER_CA|" "$T/untrusted.conf"
ds_run samba_exec -- -c "$T/untrusted.conf" sync
ds_expect_rc 1 "untrusted DC certificate"
ds_expect_err "certificate not trusted" "untrusted DC certificate"

ds_step "nested groups: the lists agree with AD's in-chain matching rule"
# Every in-scope mailbox that AD says is a transitive member of All Staff
# must be on the all-staff@ list, and nothing else (the SMTP: primary,
# after the configured domain_rewrite).
samba_exec env LDAPTLS_CACERT="$SAMBA_CA" ldapsearch -LLL -o ldif-wrap=no \
	-H "$SAMBA_URI" -D svc-dirsync@example.com -w "$SVC_PW" -b "$BASE" \
	"(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=All Staff,OU=Groups,$BASE))" \
	proxyAddresses 2>/dev/null | sed -n 's/^proxyAddresses: SMTP://p' |
	tr '[:upper:]' '[:lower:]' | sed 's/@example\.local$/@example.com/' |
	sort >"$T/inchain.all"
sqlite3 "$T/live.db" "SELECT username FROM mailbox WHERE active = 1" |
	sort >"$T/mailboxes"
comm -12 "$T/inchain.all" "$T/mailboxes" >"$T/inchain.expected"
sqlite3 "$T/live.db" \
	"SELECT goto FROM alias WHERE address = 'all-staff@example.com'" |
	tr ',' '\n' | sort >"$T/list.got"
[ "$(wc -l <"$T/inchain.expected")" -gt 15 ] ||
	ds_fail "in-chain query found too few members"
diff -u "$T/inchain.expected" "$T/list.got" ||
	ds_fail "all-staff@ differs from AD's in-chain membership"

ds_step "a 1,600-member group arrives whole (range retrieval)"
"$PY" - "$T/big.ldif" "$BASE" <<'EOF' || ds_fail "big group LDIF"
import sys
out, base = sys.argv[1], sys.argv[2]
with open(out, "w") as f:
    f.write("dn: OU=Big,%s\nchangetype: add\nobjectClass: organizationalUnit\n"
            "ou: Big\n\n" % base)
    for i in range(1600):
        f.write("dn: CN=member%05d,OU=Big,%s\nchangetype: add\n"
                "objectClass: contact\ncn: member%05d\n"
                "mail: member%05d@partner.org\n\n" % (i, base, i, i))
    f.write("dn: CN=Big List,OU=Big,%s\nchangetype: add\nobjectClass: group\n"
            "sAMAccountName: biglist\ngroupType: 8\n"
            "mail: big@example.com\n\n" % base)
    f.write("dn: CN=Big List,OU=Big,%s\nchangetype: modify\nadd: member\n"
            % base)
    for i in range(1600):
        f.write("member: CN=member%05d,OU=Big,%s\n" % (i, base))
    f.write("-\n")
EOF
samba_ldif "$T/big.ldif" || ds_fail "loading the big group"
# Samba, unlike Windows, never cuts a value list by itself: the test hook
# makes dirsync ask in ranges of 500 ("member;range=0-499" ...), which is
# what AD's MaxValRange forces.
ds_run samba_exec env DIRSYNC_TEST_RANGE_STEP=500 -- -c "$T/main.conf" \
	sync --json
ds_expect_rc 0 "sync with the big group (ranges of 500)"
n=$(sqlite3 "$T/live.db" \
	"SELECT goto FROM alias WHERE address = 'big@example.com'" |
	tr ',' '\n' | grep -c '^member[0-9]*@partner.org$')
[ "$n" = 1600 ] || ds_fail "big list has $n members, not 1600"
ds_run samba_exec -- -c "$T/main.conf" sync --json
ds_expect_rc 0 "sync with the big group (whole)"
[ "$(ds_summary update)" = 0 ] ||
	ds_fail "ranged and whole reads disagree: $(jq -c .summary "$DS_OUT")"

ds_step "a user disabled with samba-tool loses the mailbox (active = 0)"
samba_exec samba-tool user disable xmoreau -s "$SAMBA_CONF" >/dev/null 2>&1 ||
	ds_fail "samba-tool user disable"
ds_run samba_exec -- -c "$T/main.conf" sync --json
ds_expect_rc 0 "sync after disable"
[ "$(ds_summary disable)" -ge 1 ] || ds_fail "disabled user: no disable"
[ "$(sqlite3 "$T/live.db" "SELECT active FROM mailbox WHERE username = \
	'xavier.moreau@example.com'")" = 0 ] || ds_fail "xavier still active"

echo "ok: samba"
