# samba.sh - a private Samba AD domain controller for tests (bash; source).
#
#   samba_can_run NAME       can this shell make network namespaces?
#   samba_init DIR [SUFFIX]  provision a domain (mdb, no DNS) under DIR
#   samba_start              start it in its own network namespace
#   samba_exec CMD...        run CMD inside that namespace
#   samba_own_ns NAME        (after samba_init) that namespace is NAME, and
#                            dovecot, doveadm, python3 run inside it
#   samba_passwd_hook CONF   (before samba_start) dirsync's passwd-hook
#                            with CONF as the check password script
#   samba_ldif FILE          ldapmodify -c FILE as Administrator over LDAPS
#   samba_stop               stop it and delete the namespace
#
# AD's ports are fixed (389/636), so each DC gets a network namespace with
# only a loopback interface: it binds 127.0.0.1 inside it and nothing
# outside can reach it.  The tests run dirsync there with samba_exec.
#
# Set after samba_init: SAMBA_DIR SAMBA_NS SAMBA_SUFFIX SAMBA_REALM
# SAMBA_DOMAIN SAMBA_ADMIN (a UPN) SAMBA_ADMIN_PW SAMBA_CA SAMBA_OTHER_CA
# SAMBA_URI (ldaps://127.0.0.1) SAMBA_PLAIN_URI (ldap://127.0.0.1).
# After samba_start: SAMBA_PID.
#
# The TLS certificate is ours (a test CA, SAN 127.0.0.1), not the
# self-signed one Samba would make, so tests can verify it.  The schema is
# extended with msExchHideFromAddressLists and targetAddress (Samba's AD
# schema has no Exchange attributes): attributeSchema objects added to the
# mailRecipient auxiliary class (which user, contact and group carry), as
# Exchange's schema preparation does.  The OIDs are test-only.

SAMBA_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SAMBA_HERE/../lib/ldap/common.sh"

# samba_can_run NAME: true when this shell can make a network namespace
# (root, ip netns), as samba_start must; NAME is the namespace tried, and
# deleted at once.
samba_can_run()
{
	[ "$(id -u)" = 0 ] && ip netns add "$1" 2>/dev/null || return 1
	ip netns del "$1"
	return 0
}

samba_init()
{
	SAMBA_DIR=$1
	SAMBA_SUFFIX=${2:-DC=example,DC=com}
	SAMBA_REALM=$(printf '%s' "$SAMBA_SUFFIX" |
		sed 's/[dD][cC]=//g; s/,/./g' | tr '[:lower:]' '[:upper:]')
	SAMBA_DOMAIN=${SAMBA_REALM%%.*}
	SAMBA_NS=dirsync-dc-$$-$RANDOM
	SAMBA_ADMIN=Administrator@$(printf '%s' "$SAMBA_REALM" |
		tr '[:upper:]' '[:lower:]')
	SAMBA_ADMIN_PW="Adm-$RANDOM-Pass!x"
	SAMBA_URI=ldaps://127.0.0.1
	SAMBA_PLAIN_URI=ldap://127.0.0.1
	local d=$SAMBA_DIR/dc host
	host=dc1.$(printf '%s' "$SAMBA_REALM" | tr '[:upper:]' '[:lower:]')
	mkdir -p "$SAMBA_DIR/tls" "$d" || return 1
	ldap_make_ca "$SAMBA_DIR/tls" "$host" || return 1
	SAMBA_CA=$SAMBA_DIR/tls/ca.crt
	SAMBA_OTHER_CA=$SAMBA_DIR/tls/other-ca.crt

	samba-tool domain provision --realm="$SAMBA_REALM" \
		--domain="$SAMBA_DOMAIN" --server-role=dc --dns-backend=NONE \
		--use-rfc2307 --backend-store=mdb --targetdir="$d" \
		--host-name=dc1 --host-ip=127.0.0.1 --adminpass="$SAMBA_ADMIN_PW" \
		--option="netbios name = DC1" \
		--option="pid directory = $d/run" \
		--option="ncalrpc dir = $d/ncalrpc" \
		--option="winbindd socket directory = $d/winbindd" \
		--option="binddns dir = $d/bind-dns" \
		--option="interfaces = 127.0.0.1" \
		--option="bind interfaces only = yes" \
		>"$SAMBA_DIR/provision.log" 2>&1 || {
		echo "samba_init: provision failed (see below)" >&2
		tail -20 "$SAMBA_DIR/provision.log" >&2
		return 1
	}
	cat >"$d/etc/smb.conf" <<CONF
[global]
	netbios name = DC1
	workgroup = $SAMBA_DOMAIN
	realm = $SAMBA_REALM
	server role = active directory domain controller
	server services = ldap, kdc, rpc
	interfaces = 127.0.0.1
	bind interfaces only = yes
	private dir = $d/private
	lock directory = $d
	state directory = $d/state
	cache directory = $d/cache
	pid directory = $d/run
	ncalrpc dir = $d/ncalrpc
	winbindd socket directory = $d/winbindd
	binddns dir = $d/bind-dns
	log file = $d/log.%m
	logging = file
	log level = 1
	idmap_ldb:use rfc2307 = yes
	# tests only: no fsync, schema changes allowed
	ldb:nosync = true
	dsdb:schema update allowed = true
	tls enabled = yes
	tls certfile = $SAMBA_DIR/tls/server.crt
	tls keyfile = $SAMBA_DIR/tls/server.key
	tls cafile = $SAMBA_DIR/tls/ca.crt
CONF
	SAMBA_CONF=$d/etc/smb.conf
}

# samba_own_ns NAME: after samba_init, the namespace samba_start makes is
# NAME; from here on dovecot, doveadm and python3 (shell functions) run
# inside it, for a Dovecot that reaches the DC on 127.0.0.1.
samba_own_ns()
{
	SAMBA_NS=$1
	dovecot() { ip netns exec "$SAMBA_NS" /usr/sbin/dovecot "$@"; }
	doveadm() { ip netns exec "$SAMBA_NS" /usr/bin/doveadm "$@"; }
	python3() { ip netns exec "$SAMBA_NS" /usr/bin/python3 "$@"; }
}

# samba_passwd_hook CONF: before samba_start, `$DIRSYNC -c CONF
# passwd-hook` becomes the DC's check password script, as an
# administrator installs it on every DC.
samba_passwd_hook()
{
	sed -i "/^\[global\]/a\\
	check password script = $DIRSYNC -c $1 passwd-hook" "$SAMBA_CONF"
}

samba_exec()
{
	ip netns exec "$SAMBA_NS" "$@"
}

# samba_ldif FILE: ldapmodify -c as Administrator over LDAPS; the output
# goes to $SAMBA_DIR/ldif.log.  Fails if any entry failed for a reason
# other than "already exists".
samba_ldif()
{
	samba_exec env LDAPTLS_CACERT="$SAMBA_CA" ldapmodify -c -H "$SAMBA_URI" \
		-D "$SAMBA_ADMIN" -w "$SAMBA_ADMIN_PW" -f "$1" \
		>>"$SAMBA_DIR/ldif.log" 2>"$SAMBA_DIR/ldif.err"
	local rc=$?
	if [ $rc -ne 0 ] && grep -v 'Already exists\|matched DN\|^$' \
		"$SAMBA_DIR/ldif.err" | grep -q .; then
		echo "samba_ldif: $1 failed:" >&2
		cat "$SAMBA_DIR/ldif.err" >&2
		return 1
	fi
	return 0
}

samba_start()
{
	ip netns add "$SAMBA_NS" || return 1
	ip netns exec "$SAMBA_NS" ip link set lo up || return 1
	ip netns exec "$SAMBA_NS" samba -s "$SAMBA_CONF" -F \
		>"$SAMBA_DIR/samba.out" 2>&1 </dev/null &
	SAMBA_PID=$!
	local i
	for i in $(seq 1 300); do
		if samba_exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/636' \
			2>/dev/null; then
			break
		fi
		if ! kill -0 "$SAMBA_PID" 2>/dev/null; then
			echo "samba_start: samba exited:" >&2
			cat "$SAMBA_DIR/samba.out" >&2
			return 1
		fi
		sleep 0.1
	done
	cat >"$SAMBA_DIR/schema.ldif" <<LDIF
dn: CN=ms-Exch-Hide-From-Address-Lists,CN=Schema,CN=Configuration,$SAMBA_SUFFIX
changetype: add
objectClass: top
objectClass: attributeSchema
cn: ms-Exch-Hide-From-Address-Lists
attributeID: 1.2.840.113556.1.8000.2554.26266.7092.1
lDAPDisplayName: msExchHideFromAddressLists
attributeSyntax: 2.5.5.8
oMSyntax: 1
isSingleValued: TRUE
searchFlags: 0

dn: CN=ms-Exch-Target-Address,CN=Schema,CN=Configuration,$SAMBA_SUFFIX
changetype: add
objectClass: top
objectClass: attributeSchema
cn: ms-Exch-Target-Address
attributeID: 1.2.840.113556.1.8000.2554.26266.7092.2
lDAPDisplayName: targetAddress
attributeSyntax: 2.5.5.12
oMSyntax: 64
isSingleValued: TRUE
searchFlags: 0

dn:
changetype: modify
add: schemaUpdateNow
schemaUpdateNow: 1
-

dn: CN=Mail-Recipient,CN=Schema,CN=Configuration,$SAMBA_SUFFIX
changetype: modify
add: mayContain
mayContain: msExchHideFromAddressLists
mayContain: targetAddress
-

dn:
changetype: modify
add: schemaUpdateNow
schemaUpdateNow: 1
-
LDIF
	samba_ldif "$SAMBA_DIR/schema.ldif"
}

samba_stop()
{
	if [ -n "${SAMBA_PID:-}" ]; then
		kill -TERM "$SAMBA_PID" 2>/dev/null
		local i
		for i in $(seq 1 100); do
			kill -0 "$SAMBA_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$SAMBA_PID" 2>/dev/null
		SAMBA_PID=
	fi
	if [ -n "${SAMBA_NS:-}" ]; then
		# children samba forked may outlive the root pid for a moment
		local p
		for p in $(ip netns pids "$SAMBA_NS" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$SAMBA_NS" 2>/dev/null
	fi
}
