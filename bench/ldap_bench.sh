#!/bin/bash
# ldap_bench.sh BINARY [N] - the live LDAP source against a big slapd.
#
# Loads N users (default 100000; bench/gen_ldif.py, turned into OpenLDAP
# entries by tests/integration/lib/ldap/adldif.py) into a private slapd
# with slapadd, then prints, over ldaps:// with a paged search of 1000:
#   floor     ldapsearch -E pr=1000/noprompt of the same entries and
#             attributes dirsync asks for, output to /dev/null (best of 3)
#   initial   dirsync sync into an empty SQLite mail database
#   re-sync   dirsync sync with nothing changed (a full read every time)
#   plan      dirsync plan (read, rules, diff; no write)
# with each one's ratio to the floor (target: re-sync <= 1.3x) and peak
# RSS, and checks the mail database equals the one the LDIF source gives
# for the same directory.  A benchmark, not a test.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

[ $# -ge 1 ] || { echo "usage: $0 BINARY [N]" >&2; exit 2; }
BIN=$(realpath "$1")
N=${2:-100000}
case $N in '' | *[!0-9]*) echo "bench: N must be a number" >&2; exit 2 ;; esac
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/bench/out
PY=/usr/bin/python3
TIME=/usr/bin/time
. "$TOP/tests/integration/slapd/slapd.sh"
mkdir -p "$OUT" || exit 1

T=$(mktemp -d /tmp/dirsync-ldap-bench.XXXXXX)
trap 'slapd_stop; rm -rf "$T"' EXIT

ldif=$OUT/users-$N.ldif
if [ ! -s "$ldif" ] || [ "$TOP/bench/gen_ldif.py" -nt "$ldif" ]; then
	echo "bench: generating $ldif" >&2
	"$PY" "$TOP/bench/gen_ldif.py" "$N" --seed 1 >"$ldif.tmp" &&
		mv "$ldif.tmp" "$ldif" || exit 1
fi
ol=$OUT/users-$N-openldap.ldif
if [ ! -s "$ol" ] || [ "$ldif" -nt "$ol" ]; then
	echo "bench: converting to OpenLDAP entries" >&2
	"$PY" "$TOP/tests/integration/lib/ldap/adldif.py" openldap "$ldif" \
		>"$ol.tmp" && mv "$ol.tmp" "$ol" || exit 1
fi

slapd_init "$T/slapd" "dc=example,dc=com" || exit 1
t0=$(date +%s.%N)
slapd_load "$ol" || exit 1
t1=$(date +%s.%N)
slapd_start || exit 1
entries=$(grep -c '^dn:' "$ol")
printf 'slapd: %d entries loaded with slapadd in %.1f s\n' "$entries" \
	"$(echo "$t1 - $t0" | bc)"

printf '%s\n' "$SLAPD_BIND_PW" >"$T/bind.secret"
chmod 600 "$T/bind.secret"
conf()
{
	cat >"$T/$1.conf" <<EOF
[source]
type = ldap
uri = $SLAPD_TLS_URI
tls_ca_file = $SLAPD_CA
bind_dn = $SLAPD_BIND_DN
bind_password_file = $T/bind.secret
base_dn = dc=example,dc=com
page_size = 1000
[mapping]
accepted_domains = example.com example.net
[target]
url = sqlite://$T/$1.db
[safety]
max_delete_percent = 100
[state]
path = $T/$1-state.db
EOF
	chmod 600 "$T/$1.conf"
}
conf live

# The attributes and filter dirsync sends (rules_attrs() plus the anchor
# the LDAP source adds; source_default_filter("openldap")).
ATTRS="objectClass objectGUID entryUUID nsUniqueId cn displayName givenName
sn sAMAccountName uid userPrincipalName userAccountControl
pwdAccountLockedTime nsAccountLock msExchHideFromAddressLists member
uniqueMember targetAddress mail proxyAddresses"
FILTER="(|(objectClass=inetOrgPerson)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"

floor()
{
	# shellcheck disable=SC2086
	LDAPTLS_CACERT=$SLAPD_CA ldapsearch -LLL -o ldif-wrap=no \
		-H "$SLAPD_TLS_URI" -x -D "$SLAPD_BIND_DN" -w "$SLAPD_BIND_PW" \
		-b dc=example,dc=com -E pr=1000/noprompt "$FILTER" $ATTRS \
		>/dev/null
}

# best N CMD...: the best wall time (s) and its peak RSS (KiB) of N runs.
best()
{
	local n=$1 i t m bt= bm=
	shift
	for i in $(seq 1 "$n"); do
		"$TIME" -f '%e %M' -o "$T/time" "$@" >"$T/run.out" 2>"$T/run.err" || {
			echo "bench: failed: $*" >&2
			tail -5 "$T/run.err" >&2
			exit 1
		}
		read -r t m <"$T/time"
		if [ -z "$bt" ] || [ "$(echo "$t < $bt" | bc)" = 1 ]; then
			bt=$t
			bm=$m
		fi
	done
	echo "$bt $bm"
}

export -f floor
export SLAPD_CA SLAPD_TLS_URI SLAPD_BIND_DN SLAPD_BIND_PW FILTER ATTRS
floor # warm the server's caches
read -r f_t f_m < <(best 3 bash -c floor)
read -r i_t i_m < <(best 1 "$BIN" -c "$T/live.conf" sync)
read -r r_t r_m < <(best 3 "$BIN" -c "$T/live.conf" sync)
read -r p_t p_m < <(best 3 "$BIN" -c "$T/live.conf" plan)

ratio() { echo "scale=2; $1 / $f_t" | bc; }
printf '%-34s %7s s            peak RSS\n' "" "wall"
printf '%-34s %7.2f s            %6d MiB\n' \
	"floor: ldapsearch -E pr=1000" "$f_t" $((f_m / 1024))
printf '%-34s %7.2f s  %5sx     %6d MiB\n' \
	"dirsync sync, empty target" "$i_t" "$(ratio "$i_t")" $((i_m / 1024))
printf '%-34s %7.2f s  %5sx     %6d MiB\n' \
	"dirsync sync, nothing changed" "$r_t" "$(ratio "$r_t")" $((r_m / 1024))
printf '%-34s %7.2f s  %5sx     %6d MiB\n' \
	"dirsync plan" "$p_t" "$(ratio "$p_t")" $((p_m / 1024))
echo "target: the no-change full sync <= 1.3x the floor"

# The same directory through the LDIF source: the same rows.
cat >"$T/ldif.conf" <<EOF
[source]
type = ldif
path = $ldif
[mapping]
accepted_domains = example.com example.net
[target]
url = sqlite://$T/ldif.db
[safety]
max_delete_percent = 100
[state]
path = $T/ldif-state.db
EOF
"$BIN" -c "$T/ldif.conf" sync >/dev/null 2>&1 || { echo "bench: LDIF sync failed" >&2; exit 1; }
"$PY" "$TOP/tests/integration/lib/ldap/maildump.py" "$T/ldif.db" >"$T/ldif.dump"
"$PY" "$TOP/tests/integration/lib/ldap/maildump.py" "$T/live.db" >"$T/live.dump"
if cmp -s "$T/ldif.dump" "$T/live.dump"; then
	echo "mail database: identical to the LDIF source's ($(grep -c '^mailbox:' "$T/live.dump") mailboxes)"
else
	echo "mail database: DIFFERS from the LDIF source's:"
	diff "$T/ldif.dump" "$T/live.dump" | head -10
	exit 1
fi
