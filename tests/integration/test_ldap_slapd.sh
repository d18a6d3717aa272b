#!/bin/bash
# test_ldap_slapd.sh - the live LDAP source against a real OpenLDAP slapd.
#
# examples/company.ldif (an AD export) is loaded into a private slapd (see
# slapd/slapd.sh and lib/ldap/adldif.py) and synced over ldaps://; the
# mail database must hold exactly the rows the LDIF source gives.  Then the
# first-day mistakes and the failures: dead first server, StartTLS, SASL
# EXTERNAL over ldapi://, wrong password (no failover), untrusted
# certificate, unknown host, missing base DN, size limit, and the server
# dying or hanging between pages - where nothing may be disabled.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIRSYNC=${DIRSYNC:-$ROOT/build/dirsync}
. "$HERE/slapd/slapd.sh"
. "$HERE/lib/ldap/dstest.sh"

T=$(mktemp -d /tmp/dirsync-ldap-slapd.XXXXXX)
PROXY_PID=
cleanup()
{
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	slapd_stop
	rm -rf "$T"
}
trap cleanup EXIT

ds_step "golden: the LDIF source on examples/company.ldif"
ds_ldif_golden "$T/expected.txt"

ds_step "slapd: provision, load, start"
slapd_init "$T/slapd" "dc=example,dc=com" || ds_fail "slapd_init"
# 3000 accounts without mail, loaded first so they come first in a
# search: a read cut short sees none of the company's people.
"$PY" - "$T/bulk.ldif" <<'EOF' || ds_fail "bulk LDIF"
import sys
with open(sys.argv[1], "w") as f:
    f.write("dn: ou=Bulk,dc=example,dc=com\nobjectClass: organizationalUnit\n"
            "ou: Bulk\n\n")
    for i in range(3000):
        f.write("dn: uid=bulk%05d,ou=Bulk,dc=example,dc=com\n"
                "objectClass: inetOrgPerson\nuid: bulk%05d\ncn: Bulk %05d\n"
                "sn: Bulk\ndisplayName: Bulk user number %05d\n\n"
                % (i, i, i, i))
EOF
"$PY" "$HERE/lib/ldap/adldif.py" openldap "$ROOT/examples/company.ldif" \
	>"$T/company-openldap.ldif" || ds_fail "adldif openldap"
slapd_load "$T/bulk.ldif" || ds_fail "slapadd bulk"
slapd_load "$T/company-openldap.ldif" || ds_fail "slapadd company"
slapd_start || ds_fail "slapd_start"

printf '%s\n' "$SLAPD_BIND_PW" >"$T/bind.secret"
printf '%s\n' "not-the-password" >"$T/wrong.secret"
chmod 600 "$T/bind.secret" "$T/wrong.secret"
DEAD_PORT=$(ldap_free_port)

# ldap_conf NAME URI [extra [source] lines...]: $T/NAME.conf writing to
# $T/live.db (shared: the runs below build on each other).
ldap_conf()
{
	local name=$1 uri=$2
	shift 2
	{
		echo "[source]"
		echo "type = ldap"
		echo "uri = $uri"
		echo "tls_ca_file = $SLAPD_CA"
		echo "bind_dn = $SLAPD_BIND_DN"
		echo "bind_password_file = $T/bind.secret"
		echo "base_dn = dc=example,dc=com"
		echo "timeout = 5s"
		local l
		for l in "$@"; do
			echo "$l"
		done
		echo "[mapping]"
		echo "accepted_domains = example.com example.net"
		echo "domain_rewrite = example.local=example.com"
		echo "[target]"
		echo "url = sqlite://$T/live.db"
		echo "[safety]"
		# only the partial-read rule may stop a mass disable here
		echo "max_delete_percent = 100"
		echo "[state]"
		echo "path = $T/live-state.db"
	} >"$T/$name.conf"
	chmod 600 "$T/$name.conf"
}

ds_step "dirsync test: connection, flavor, TLS"
ldap_conf main "$SLAPD_TLS_URI"
ds_run -- -c "$T/main.conf" test
ds_expect_rc 0 "dirsync test"
grep -q "flavor openldap" "$DS_OUT" || ds_fail "test: flavor not openldap"
grep -q "TLS ldaps" "$DS_OUT" || ds_fail "test: TLS state not ldaps"
grep -q "naming context dc=example,dc=com" "$DS_OUT" ||
	ds_fail "test: naming context missing"
grep -q "read *3035 entries" "$DS_OUT" || ds_fail "test: entries read"
# this slapd has no syncprov: test says runs read whole, and why (a user
# trial: nothing told before the first runs)
grep -q "incremental reads: no: .*offers no content synchronization.*load syncprov" "$DS_OUT" ||
	ds_fail "test: no word on incremental reads: $(grep incremental "$DS_OUT")"
[ "$(grep -c '^sample' "$DS_OUT")" = 5 ] || ds_fail "test: not 5 samples"

ds_step "sync over ldaps:// gives the same mail database as the LDIF source"
ds_run -- -c "$T/main.conf" sync --json
ds_expect_rc 0 "first sync"
[ "$(jq -r .source.read "$DS_OUT")" = 3035 ] ||
	ds_fail "first sync read $(jq -r .source.read "$DS_OUT") entries, not 3035"
ds_same_db "$T/live.db" "$T/expected.txt" "slapd vs LDIF"
ds_run -- -c "$T/main.conf" sync --json
ds_expect_rc 0 "second sync"
[ "$(jq -c '[.summary.add,.summary.update,.summary.disable,.summary.delete]' \
	"$DS_OUT")" = "[0,0,0,0]" ] || ds_fail "second sync is not a no-op"

ds_step "explain names what the [source] filter leaves out (an OU, found by entryDN on the server)"
ds_run -- -c "$T/main.conf" explain "OU=Bulk, DC=example,DC=com"
ds_expect_rc 1 "explain of an OU"
grep -q 'not read by dirsync: the \[source\] filter leaves out' "$DS_OUT" ||
	ds_fail "explain of an OU: $(cat "$DS_OUT" "$DS_ERR")"
grep -q "^  ou=Bulk,dc=example,dc=com ($SLAPD_TLS_URI" "$DS_OUT" ||
	ds_fail "explain of an OU does not name it: $(cat "$DS_OUT")"

ds_step "failover: first uri dead, second used"
ldap_conf failover "ldaps://127.0.0.1:$DEAD_PORT $SLAPD_TLS_URI"
ds_run -- -c "$T/failover.conf" sync --json
ds_expect_rc 0 "failover sync"
[ "$(jq -r .source.server "$DS_OUT")" = "$SLAPD_TLS_URI" ] ||
	ds_fail "failover: server used is $(jq -r .source.server "$DS_OUT")"
[ "$(ds_summary disable)" = 0 ] || ds_fail "failover: disables"

ds_step "StartTLS (demand) on ldap://, and SASL EXTERNAL over ldapi://"
ldap_conf starttls "$SLAPD_URI" "starttls = demand" "page_size = 7"
ds_run -- -c "$T/starttls.conf" test
ds_expect_rc 0 "starttls test"
grep -q "TLS starttls" "$DS_OUT" || ds_fail "starttls: TLS state"
ds_run -- -c "$T/starttls.conf" sync --json
ds_expect_rc 0 "starttls sync"
[ "$(ds_summary add)$(ds_summary disable)" = 00 ] || ds_fail "starttls: changes"
{
	echo "[source]"
	echo "type = ldap"
	echo "uri = $SLAPD_LDAPI"
	echo "base_dn = dc=example,dc=com"
	echo "[mapping]"
	echo "accepted_domains = example.com example.net"
	echo "domain_rewrite = example.local=example.com"
	echo "[target]"
	echo "url = sqlite://$T/live.db"
	echo "[state]"
	echo "path = $T/live-state.db"
} >"$T/ldapi.conf"
ds_run -- -c "$T/ldapi.conf" sync --json
ds_expect_rc 0 "ldapi sync"
[ "$(ds_summary add)$(ds_summary disable)" = 00 ] || ds_fail "ldapi: changes"
ds_same_db "$T/live.db" "$T/expected.txt" "after ldapi"

ds_step "wrong password: exit 1, clear message, no failover"
ldap_conf wrongpw "$SLAPD_TLS_URI ldaps://127.0.0.1:$DEAD_PORT"
sed -i "s|bind.secret|wrong.secret|" "$T/wrongpw.conf"
ds_run -- -c "$T/wrongpw.conf" sync
ds_expect_rc 1 "wrong password"
ds_expect_err "invalid credentials for bind DN $SLAPD_BIND_DN" "wrong password"
ds_expect_err "$SLAPD_TLS_URI" "wrong password"
grep -q "servers failed\|127.0.0.1:$DEAD_PORT" "$DS_ERR" &&
	ds_fail "wrong password: tried the next server"

ds_step "untrusted certificate refused; tls_verify = no accepts it, warned"
ldap_conf untrusted "$SLAPD_TLS_URI"
sed -i "s|^tls_ca_file = .*|tls_ca_file = $SLAPD_OTHER_CA|" "$T/untrusted.conf"
ds_run -- -c "$T/untrusted.conf" sync
ds_expect_rc 1 "untrusted certificate"
ds_expect_err "certificate not trusted" "untrusted certificate"
echo "tls_verify = no" >"$T/noverify.line"
sed -i "/^tls_ca_file/r $T/noverify.line" "$T/untrusted.conf"
ds_run -- -c "$T/untrusted.conf" sync --json
ds_expect_rc 0 "tls_verify = no"
ds_expect_err "tls_verify = no" "tls_verify = no warning"

ds_step "unknown host, missing base DN, bad filter"
ldap_conf unknown "ldaps://no-such-host.invalid"
ds_run -- -c "$T/unknown.conf" sync
ds_expect_rc 1 "unknown host"
ds_expect_err 'unknown host "no-such-host.invalid"' "unknown host"
ldap_conf nobase "$SLAPD_TLS_URI"
sed -i "s|^base_dn = .*|base_dn = ou=Nowhere,dc=example,dc=com|" "$T/nobase.conf"
ds_run -- -c "$T/nobase.conf" sync
ds_expect_rc 2 "missing base DN"
ds_expect_err "base_dn ou=Nowhere,dc=example,dc=com does not exist" "missing base"
ldap_conf badfilter "$SLAPD_TLS_URI" "filter = (&(objectClass=inetOrgPerson)"
ds_run -- -c "$T/badfilter.conf" sync
ds_expect_rc 2 "bad filter"
ds_expect_err "filter" "bad filter"

ds_dump "$T/live.db" >"$T/before.txt"
ds_step "size limit hit: exit 1, nothing disabled"
ldap_conf limited "$SLAPD_TLS_URI" "page_size = 2"
sed -i "s|^bind_dn = .*|bind_dn = $SLAPD_LIMITED_DN|" "$T/limited.conf"
ds_run -- -c "$T/limited.conf" sync --json
ds_expect_rc 1 "size limit"
jq -r '.errors[]' "$DS_OUT" | grep -q "size limit" ||
	ds_fail "size limit: report does not say so"
[ "$(jq -r .applied "$DS_OUT")" = false ] || ds_fail "size limit: applied"
ds_same_db "$T/live.db" "$T/before.txt" "after size limit"

# The server dies (connection cut) or hangs (nothing more arrives) in the
# middle of the paged read: by then only bulk accounts have arrived, so a
# sync that trusted the partial read would disable every mailbox.
PROXY_PORT=$(ldap_free_port)
start_proxy()
{
	"$PY" "$HERE/lib/ldap/cutproxy.py" "$PROXY_PORT" 127.0.0.1 \
		"$SLAPD_TLS_PORT" "$1" "$2" &
	PROXY_PID=$!
	ldap_wait_port 127.0.0.1 "$PROXY_PORT" 5 || ds_fail "proxy start"
}
stop_proxy()
{
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}

ds_step "server dies between pages: exit 1, report names page, nothing disabled"
start_proxy cut 60000
ldap_conf cut "ldaps://127.0.0.1:$PROXY_PORT" "page_size = 100"
ds_run -- -c "$T/cut.conf" sync --json
stop_proxy
ds_expect_rc 1 "server killed mid-read"
jq -r '.errors[]' "$DS_OUT" | grep -q "search page [2-9]" ||
	ds_fail "cut: report does not name the page: $(jq -c .errors "$DS_OUT")"
jq -r '.errors[]' "$DS_OUT" | grep -q "127.0.0.1:$PROXY_PORT" ||
	ds_fail "cut: report does not name the server"
[ "$(jq -r .applied "$DS_OUT")" = false ] || ds_fail "cut: applied"
[ "$(ds_summary disable)" = 0 ] || ds_fail "cut: disables planned"
ds_same_db "$T/live.db" "$T/before.txt" "after the cut"

ds_step "cut at 6 more points, from the TLS handshake to the last pages"
for limit in 300 2500 9000 33000 150000 420000; do
	start_proxy cut "$limit"
	ds_run -- -c "$T/cut.conf" sync --json
	stop_proxy
	ds_expect_rc 1 "connection cut after $limit bytes"
	[ "$(jq -r .applied "$DS_OUT")" = false ] ||
		ds_fail "cut at $limit: applied"
	ds_same_db "$T/live.db" "$T/before.txt" "after a cut at $limit bytes"
done

ds_step "server hangs between pages (timeout 2s): exit 1, nothing disabled"
start_proxy stall 60000
ldap_conf stall "ldaps://127.0.0.1:$PROXY_PORT" "page_size = 100"
sed -i "s|^timeout = .*|timeout = 2s|" "$T/stall.conf"
ds_run -- -c "$T/stall.conf" sync --json
stop_proxy
ds_expect_rc 1 "server hangs mid-read"
jq -r '.errors[]' "$DS_OUT" | grep -q "no answer within timeout" ||
	ds_fail "stall: report does not say timeout: $(jq -c .errors "$DS_OUT")"
ds_same_db "$T/live.db" "$T/before.txt" "after the hang"

ds_step "first server accepts TCP but never answers TLS: bounded, next one used"
start_proxy stall 0
ldap_conf tlshang "ldaps://127.0.0.1:$PROXY_PORT $SLAPD_TLS_URI"
sed -i "s|^timeout = .*|timeout = 1s|" "$T/tlshang.conf"
t0=$(date +%s)
ds_run timeout 30 -- -c "$T/tlshang.conf" sync --json
stop_proxy
ds_expect_rc 0 "TLS hang then failover"
[ $(($(date +%s) - t0)) -le 10 ] || ds_fail "TLS hang: took over 10 s"
[ "$(jq -r .source.server "$DS_OUT")" = "$SLAPD_TLS_URI" ] ||
	ds_fail "TLS hang: server used is $(jq -r .source.server "$DS_OUT")"

ds_step "server back: the next run converges with no change"
ds_run -- -c "$T/main.conf" sync --json
ds_expect_rc 0 "sync after the failures"
[ "$(jq -c '[.summary.add,.summary.update,.summary.disable,.summary.delete]' \
	"$DS_OUT")" = "[0,0,0,0]" ] || ds_fail "sync after failures: changes"
ds_same_db "$T/live.db" "$T/expected.txt" "final"

ds_step "daemon with [schedule] watch = yes, slapd without syncprov: says why once"
ldap_conf nowatch "$SLAPD_TLS_URI" "[schedule]" "interval = 1h" "watch = yes"
"$DIRSYNC" -c "$T/nowatch.conf" -v daemon -f >"$T/nowatch.log" 2>&1 &
wpid=$!
for i in $(seq 1 150); do
	grep -q 'watch: ' "$T/nowatch.log" && break
	sleep 0.1
done
sleep 1
kill -TERM "$wpid"
wait "$wpid"
wrc=$?
grep -q "warning: watch: $SLAPD_TLS_URI cannot be watched: it refused an RFC 4533 refreshAndPersist search (slapd: the syncprov overlay) (Critical extension is unavailable.*); the daemon runs every 3600s instead" \
	"$T/nowatch.log" || { cat "$T/nowatch.log" >&2; ds_fail "watch without syncprov: no clear warning"; }
[ "$(grep -c 'watch: ' "$T/nowatch.log")" = 1 ] ||
	{ cat "$T/nowatch.log" >&2; ds_fail "watch without syncprov: said more than once"; }
grep -Eq 'run [0-9]+: done' "$T/nowatch.log" || ds_fail "watch without syncprov: no run"
[ "$wrc" = 0 ] || ds_fail "watch without syncprov: the daemon exited $wrc"

ds_step "server without TLS: starttls = yes warns and goes on, demand refuses"
(
	trap 'slapd_stop' EXIT
	SLAPD_NO_TLS=1
	slapd_init "$T/plain" "dc=example,dc=com" || ds_fail "plain slapd_init"
	slapd_load "$T/company-openldap.ldif" || ds_fail "plain slapadd"
	slapd_start || ds_fail "plain slapd_start"
	printf '%s\n' "$SLAPD_BIND_PW" >"$T/plain.secret"
	chmod 600 "$T/plain.secret"
	for mode in yes demand; do
		cat >"$T/plain-$mode.conf" <<EOF
[source]
type = ldap
uri = $SLAPD_URI
starttls = $mode
bind_dn = $SLAPD_BIND_DN
bind_password_file = $T/plain.secret
base_dn = dc=example,dc=com
timeout = 5s
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = sqlite://$T/plain.db
[state]
path = $T/plain-state.db
EOF
		chmod 600 "$T/plain-$mode.conf"
	done
	ds_run -- -c "$T/plain-demand.conf" sync
	ds_expect_rc 1 "starttls = demand, no TLS on the server"
	ds_expect_err "StartTLS refused by server" "starttls = demand"
	ds_run -- -c "$T/plain-yes.conf" sync
	ds_expect_rc 0 "starttls = yes, no TLS on the server"
	ds_expect_err "WITHOUT encryption" "starttls = yes warning"
	ds_same_db "$T/plain.db" "$T/expected.txt" "plain slapd vs LDIF"
) || exit 1

echo "ok: slapd"
