# slapd.sh - a private OpenLDAP slapd for tests (bash; source it).
#
#   slapd_init DIR [SUFFIX]   certificates, slapd.conf, empty mdb under DIR
#   slapd_load FILE.ldif      slapadd (offline, fast); call before slapd_start
#   slapd_start               ldap:// ldaps:// ldapi:// on 127.0.0.1 high ports
#   slapd_stop                TERM and wait
#
# After slapd_init these are set: SLAPD_DIR SLAPD_SUFFIX SLAPD_PORT
# SLAPD_TLS_PORT SLAPD_URI (ldap://) SLAPD_TLS_URI (ldaps://) SLAPD_LDAPI
# SLAPD_CA (the test CA) SLAPD_OTHER_CA (an unrelated CA) SLAPD_BIND_DN
# SLAPD_BIND_PW (service account, no size limit) SLAPD_LIMITED_DN (same
# password, size limit 5) SLAPD_PID (after start).  SLAPD_NO_TLS=1 before
# slapd_init: a server without TLS (no ldaps://, StartTLS refused).
# SLAPD_SYNCPROV=1 before slapd_init: the syncprov overlay (RFC 4533
# content sync; a session log of SLAPD_SESSIONLOG changes, default 1000)
# for incremental reads.
#
# The database is mdb with the memberof overlay; schemas core, cosine,
# inetorgperson, nis and dirsync-test.schema (AD-like attributes).
# slapadd bypasses overlays, so LDIF meant for it carries memberOf itself
# (ad2openldap.py computes it).

SLAPD_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SLAPD_HERE/../lib/ldap/common.sh"

SLAPD_BIN=${SLAPD_BIN:-/usr/sbin/slapd}
SLAPADD_BIN=${SLAPADD_BIN:-/usr/sbin/slapadd}

slapd_init()
{
	SLAPD_DIR=$1
	SLAPD_SUFFIX=${2:-dc=example,dc=com}
	mkdir -p "$SLAPD_DIR/db" "$SLAPD_DIR/tls" || return 1
	ldap_make_ca "$SLAPD_DIR/tls" || return 1
	SLAPD_CA=$SLAPD_DIR/tls/ca.crt
	SLAPD_OTHER_CA=$SLAPD_DIR/tls/other-ca.crt
	SLAPD_PORT=$(ldap_free_port) || return 1
	SLAPD_TLS_PORT=$(ldap_free_port) || return 1
	while [ "$SLAPD_TLS_PORT" = "$SLAPD_PORT" ]; do
		SLAPD_TLS_PORT=$(ldap_free_port) || return 1
	done
	SLAPD_URI=ldap://127.0.0.1:$SLAPD_PORT
	SLAPD_TLS_URI=ldaps://127.0.0.1:$SLAPD_TLS_PORT
	SLAPD_SOCK=$SLAPD_DIR/ldapi
	SLAPD_LDAPI=ldapi://$(printf '%s' "$SLAPD_SOCK" | sed 's,/,%2F,g')
	SLAPD_BIND_DN=cn=dirsync,ou=services,$SLAPD_SUFFIX
	SLAPD_LIMITED_DN=cn=limited,ou=services,$SLAPD_SUFFIX
	SLAPD_BIND_PW=svc-$RANDOM$RANDOM
	local hash dc
	hash=$(slappasswd -h '{SSHA}' -s "$SLAPD_BIND_PW") || return 1
	dc=${SLAPD_SUFFIX%%,*}
	dc=${dc#*=}

	local tls_conf= sync_load= sync_conf=
	if [ "${SLAPD_SYNCPROV:-0}" = 1 ]; then
		sync_load="moduleload syncprov"
		sync_conf="overlay syncprov
syncprov-checkpoint 100 1
syncprov-sessionlog ${SLAPD_SESSIONLOG:-1000}"
	fi
	if [ "${SLAPD_NO_TLS:-0}" != 1 ]; then
		tls_conf="TLSCACertificateFile $SLAPD_DIR/tls/ca.crt
TLSCertificateFile $SLAPD_DIR/tls/server.crt
TLSCertificateKeyFile $SLAPD_DIR/tls/server.key"
	fi
	cat >"$SLAPD_DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $SLAPD_HERE/dirsync-test.schema
pidfile $SLAPD_DIR/slapd.pid
argsfile $SLAPD_DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
$sync_load
$tls_conf
sizelimit 500
timelimit 60

database mdb
suffix "$SLAPD_SUFFIX"
rootdn "cn=admin,$SLAPD_SUFFIX"
rootpw $hash
directory $SLAPD_DIR/db
maxsize 4294967296
index objectClass,entryUUID,entryCSN eq
index mail,proxyAddresses eq
limits dn.exact="$SLAPD_BIND_DN" size=unlimited time=unlimited
limits dn.exact="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth" size=unlimited time=unlimited
limits dn.exact="$SLAPD_LIMITED_DN" size=5 time=unlimited
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
$sync_conf
overlay memberof
memberof-refint true
CONF
	# The suffix and the two service accounts; the scenario LDIF may
	# bring its own suffix entry (slapd_load skips duplicates with -c).
	cat >"$SLAPD_DIR/base.ldif" <<LDIF
dn: $SLAPD_SUFFIX
objectClass: dcObject
objectClass: organization
dc: $dc
o: $dc

dn: ou=services,$SLAPD_SUFFIX
objectClass: organizationalUnit
ou: services

dn: $SLAPD_BIND_DN
objectClass: person
cn: dirsync
sn: dirsync service account
userPassword: $hash

dn: $SLAPD_LIMITED_DN
objectClass: person
cn: limited
sn: account with a small size limit
userPassword: $hash
LDIF
	"$SLAPADD_BIN" -q -f "$SLAPD_DIR/slapd.conf" -l "$SLAPD_DIR/base.ldif" \
		>"$SLAPD_DIR/slapadd.log" 2>&1 || {
		echo "slapd_init: slapadd of the base failed:" >&2
		cat "$SLAPD_DIR/slapadd.log" >&2
		return 1
	}
}

# slapd_load FILE: add entries offline.  Entries already present (the
# suffix) are skipped (-c) and reported; any other error fails.
slapd_load()
{
	local out
	out=$("$SLAPADD_BIN" -q -w -c -f "$SLAPD_DIR/slapd.conf" -l "$1" 2>&1)
	local rc=$?
	if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -v 'already exists' |
		grep -q 'could not add entry\|error\|invalid'; then
		echo "slapd_load: slapadd $1 failed:" >&2
		printf '%s\n' "$out" >&2
		return 1
	fi
	return 0
}

slapd_start()
{
	local try
	# Ports were free when picked; another test may have taken one since.
	# Then slapd cannot bind: pick new ones and try again.
	for try in 1 2 3; do
		rm -f "$SLAPD_DIR/slapd.pid"
		local listen="$SLAPD_URI/ $SLAPD_TLS_URI/ $SLAPD_LDAPI"
		[ "${SLAPD_NO_TLS:-0}" = 1 ] && listen="$SLAPD_URI/ $SLAPD_LDAPI"
		if "$SLAPD_BIN" -f "$SLAPD_DIR/slapd.conf" -h "$listen" \
			>"$SLAPD_DIR/slapd.log" 2>&1; then
			break
		fi
		# slapd logs to syslog once detached: ask ss who holds the ports
		if [ "$try" = 3 ] ||
			! ss -Hltn "( sport = :$SLAPD_PORT or sport = :$SLAPD_TLS_PORT )" |
			grep -q .; then
			echo "slapd_start: slapd failed to start:" >&2
			cat "$SLAPD_DIR/slapd.log" >&2
			return 1
		fi
		SLAPD_PORT=$(ldap_free_port) || return 1
		SLAPD_TLS_PORT=$(ldap_free_port) || return 1
		SLAPD_URI=ldap://127.0.0.1:$SLAPD_PORT
		SLAPD_TLS_URI=ldaps://127.0.0.1:$SLAPD_TLS_PORT
	done
	ldap_wait_port 127.0.0.1 "$SLAPD_PORT" 10 || return 1
	if [ "${SLAPD_NO_TLS:-0}" != 1 ]; then
		ldap_wait_port 127.0.0.1 "$SLAPD_TLS_PORT" 10 || return 1
	fi
	local i
	for i in $(seq 1 100); do
		[ -s "$SLAPD_DIR/slapd.pid" ] && break
		sleep 0.05
	done
	SLAPD_PID=$(cat "$SLAPD_DIR/slapd.pid")
}

slapd_stop()
{
	[ -n "${SLAPD_PID:-}" ] || return 0
	kill -CONT "$SLAPD_PID" 2>/dev/null
	kill -TERM "$SLAPD_PID" 2>/dev/null
	local i
	for i in $(seq 1 100); do
		kill -0 "$SLAPD_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$SLAPD_PID" 2>/dev/null
	SLAPD_PID=
}
