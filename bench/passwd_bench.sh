#!/bin/bash
# passwd_bench.sh BINARY [N] - latency from `samba-tool user setpassword`
# returning to the first successful Dovecot login with the new password,
# through `dirsync passwd-hook` (Samba's check password script) and the
# SQL passdb.  N changes (default 50); prints the median, min and max.
#
# A private Samba AD DC in a network namespace of its own and a private
# Dovecot reading dirsync's SQLite database, as tests/integration/
# test_login_samba.sh starts them.  Needs root.  Not part of `make check`.
# BENCH_SCHEME=BLF-CRYPT or ARGON2ID to measure another password_scheme.
set -u
[ $# -ge 1 ] || { echo "usage: $0 BINARY [N]" >&2; exit 2; }
DIRSYNC=$(realpath "$1")
N=${2:-50}
HERE=$(cd "$(dirname "$0")/../tests/integration" && pwd)
MAIL_LIB=$HERE/lib/mail
. "$HERE/samba/samba.sh"
. "$MAIL_LIB/common.sh"
. "$MAIL_LIB/dovecot.sh"
[ "$(id -u)" = 0 ] || { echo "passwd_bench: needs root" >&2; exit 2; }

mail_init
BASE="DC=example,DC=com"
samba_init "$T/samba" "$BASE" >/dev/null || fail "samba_init"
samba_own_ns "dirsync-pwbench-$$"
at_exit samba_stop

CONF=$T/dirsync.conf
MAIL_DB=$T/mail.db
printf '%s\n' "$SAMBA_ADMIN_PW" >"$T/bind.secret"
chmod 600 "$T/bind.secret"
cat >"$CONF" <<EOF
[source]
type = ldap
uri = $SAMBA_URI
tls_ca_file = $SAMBA_CA
bind_dn = $SAMBA_ADMIN
bind_password_file = $T/bind.secret
base_dn = $BASE
[mapping]
accepted_domains = example.com
[target]
url = sqlite://$MAIL_DB
password_scheme = ${BENCH_SCHEME:-SHA512-CRYPT}
[state]
path = $T/state.db
EOF
chmod 600 "$CONF"
samba_passwd_hook "$CONF"
samba_start || fail "samba_start"
st() { samba_exec samba-tool "$@" -s "$SAMBA_CONF"; }
st domain passwordsettings set --min-pwd-age=0 --history-length=0 \
	>/dev/null || fail "passwordsettings"
st user create bench "Bench-Start-1!a" --mail-address=bench@example.com \
	>/dev/null || fail "create user"
samba_exec "$DIRSYNC" -q -c "$CONF" sync || fail "sync"
dovecot_ports
dovecot_start sqlite

now() { date +%s.%N; }
lat=()
for i in $(seq 1 "$N"); do
	pw="Bench-$i-$RANDOM!Zx"
	st user setpassword bench --newpassword="$pw" >/dev/null 2>&1 ||
		fail "setpassword $i"
	t0=$(now)
	ok=""
	for _ in $(seq 1 3000); do
		if doveadm -c "$DV_DIR/dovecot.conf" auth test bench@example.com \
			"$pw" >/dev/null 2>&1; then
			ok=1
			break
		fi
		sleep 0.01
	done
	[ -n "$ok" ] || fail "change $i never reached Dovecot"
	lat+=("$(echo "$(now) - $t0" | bc)")
	printf '.' >&2
done
echo >&2
printf '%s\n' "${lat[@]}" | sort -n | awk -v scheme="${BENCH_SCHEME:-SHA512-CRYPT}" '
	{ v[NR] = $1 }
	END {
		med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "setpassword -> login (%s), %d changes: median %.3f s, min %.3f s, max %.3f s\n",
			scheme, NR, med, v[1], v[NR]
	}'
