#!/bin/bash
# ldap_bench.sh BINARY [N] - the live LDAP source against a big slapd.
#
# Loads N users (default 100000; bench/gen_ldif.py, turned into OpenLDAP
# entries by tests/integration/lib/ldap/adldif.py) into a private slapd
# with slapadd, then prints, over ldaps:// with a paged search of 1000:
#   floor     ldapsearch -E pr=1000/noprompt of the same entries and
#             attributes dirsync asks for, output to /dev/null
#   initial   dirsync sync into an empty SQLite mail database
#   re-sync   dirsync sync with nothing changed (a full read every time;
#             the fast path skips the mail database: docs/design.md)
#   --full    the same with sync --full (the mail database loaded and
#             compared too)
#   plan      dirsync plan (read, rules, diff; no write)
# ROUNDS (default 5) interleaved rounds; min and median of each with the
# ratio to the floor's (target: re-sync <= 1.3x) and peak RSS.  Then checks
# the mail database equals the one the LDIF source gives for the same
# directory.  A benchmark, not a test.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

[ $# -ge 1 ] || { echo "usage: $0 BINARY [N]" >&2; exit 2; }
BIN=$(realpath "$1")
N=${2:-100000}
case $N in '' | *[!0-9]*) echo "bench: N must be a number" >&2; exit 2 ;; esac
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"

T=$(mktemp -d /tmp/dirsync-ldap-bench.XXXXXX)
trap 'slapd_stop; rm -rf "$T"' EXIT

bench_users "$N" || exit 1

bench_slapd || exit 1
entries=$(grep -c '^dn:' "$ol")
printf 'slapd: %d entries loaded with slapadd in %.1f s\n' "$entries" \
	"$BENCH_LOAD_S"

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

# timed NAME CMD...: run once, append "wall rss_kib" to $T/NAME.times.
timed()
{
	local name=$1
	shift
	"$TIME" -f '%e %M' -o "$T/time" "$@" >"$T/run.out" 2>"$T/run.err" || {
		echo "bench: failed: $*" >&2
		tail -5 "$T/run.err" >&2
		exit 1
	}
	cat "$T/time" >>"$T/$name.times"
}

# stat NAME: "min median max_rss_mib" of the runs so far.
stat()
{
	sort -n "$T/$1.times" | awk '{ t[NR] = $1; if ($2 > m) m = $2 }
		END { printf "%s %s %d\n", t[1], t[int((NR + 1) / 2)], m / 1024 }'
}

export -f floor
export SLAPD_CA SLAPD_TLS_URI SLAPD_BIND_DN SLAPD_BIND_PW FILTER ATTRS
floor # warm the server's caches
timed initial "$BIN" -c "$T/live.conf" sync
# Rounds interleave the commands, so a busy machine slows all of them
# alike; min and median of each are printed.
ROUNDS=${ROUNDS:-5}
for r in $(seq 1 "$ROUNDS"); do
	timed floor bash -c floor
	timed resync "$BIN" -c "$T/live.conf" sync
	timed full "$BIN" -c "$T/live.conf" sync --full
	timed plan "$BIN" -c "$T/live.conf" plan
done
fast=$("$BIN" -c "$T/live.conf" history --json |
	jq '[.[] | select(.fast_path)] | length')
read -r f_min f_med f_m < <(stat floor)
read -r i_min i_med i_m < <(stat initial)
read -r r_min r_med r_m < <(stat resync)
read -r p_min p_med p_m < <(stat plan)
read -r u_min u_med u_m < <(stat full)

ratio() { echo "scale=2; $1 / $2" | bc; }
line()
{
	printf '%-32s %6.2f s %6.2f s   %5sx %5sx   %5d MiB\n' "$1" "$2" "$3" \
		"$(ratio "$2" "$f_min")" "$(ratio "$3" "$f_med")" "$4"
}
printf '%-32s %8s %8s   %6s %6s   %9s\n' "($ROUNDS rounds)" min median \
	"x min" "x med" "peak RSS"
line "floor: ldapsearch -E pr=1000" "$f_min" "$f_med" "$f_m"
line "dirsync sync, nothing changed" "$r_min" "$r_med" "$r_m"
line "dirsync sync --full, no change" "$u_min" "$u_med" "$u_m"
line "dirsync plan" "$p_min" "$p_med" "$p_m"
line "dirsync sync, empty target" "$i_min" "$i_med" "$i_m"
echo "no-change syncs that took the fast path: $fast of $ROUNDS"
echo "target: the no-change sync <= 1.3x the floor"

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
