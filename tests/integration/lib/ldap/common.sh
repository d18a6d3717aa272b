# common.sh - shell helpers shared by the LDAP integration harness (bash).
#
# Sourced by tests/integration/slapd/slapd.sh, samba/samba.sh and the
# test_ldap_*.sh scripts.  Nothing here starts a server by itself.

# ldap_free_port: print a TCP port on 127.0.0.1 that nothing listens on.
# Random high ports, checked with ss; a race with another process is
# caught later by the server failing to bind.  DS_TEST_PORTS=LOW-HIGH
# keeps them in that range (a shared host whose users split the ports).
ldap_free_port()
{
	local p i lo=20000 span=40000
	if [ -n "${DS_TEST_PORTS:-}" ]; then
		lo=${DS_TEST_PORTS%-*}
		span=$((${DS_TEST_PORTS#*-} - lo + 1))
	fi
	for i in $(seq 1 200); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % span))
		if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	echo "ldap_free_port: no free port found" >&2
	return 1
}

# ldap_wait_port HOST PORT SECONDS: wait until something accepts on it.
ldap_wait_port()
{
	local host=$1 port=$2 secs=$3 i
	for i in $(seq 1 $((secs * 20))); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "ldap_wait_port: nothing listens on $host:$port after ${secs}s" >&2
	return 1
}

# ldap_make_ca DIR: a throw-away CA (DIR/ca.crt, ca.key) and a server
# certificate for 127.0.0.1 / localhost signed by it (DIR/server.crt,
# server.key), plus a second, unrelated CA (DIR/other-ca.crt) for the
# "untrusted certificate" tests.  EC keys: generated in milliseconds.
ldap_make_ca()
{
	local d=$1 name=${2:-localhost}
	(
		set -e
		cd "$d"
		openssl ecparam -name prime256v1 -genkey -noout -out ca.key
		openssl req -x509 -new -key ca.key -sha256 -days 2 \
			-subj "/O=dirsync tests/CN=dirsync test CA" -out ca.crt
		openssl ecparam -name prime256v1 -genkey -noout -out server.key
		openssl req -new -key server.key \
			-subj "/O=dirsync tests/CN=$name" -out server.csr
		printf '%s\n' \
			"subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:$name" \
			"basicConstraints=CA:FALSE" \
			"keyUsage=digitalSignature,keyEncipherment" \
			"extendedKeyUsage=serverAuth" >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
			-CAcreateserial -days 2 -sha256 -extfile server.ext \
			-out server.crt
		openssl ecparam -name prime256v1 -genkey -noout -out other-ca.key
		openssl req -x509 -new -key other-ca.key -sha256 -days 2 \
			-subj "/O=somebody else/CN=unrelated CA" -out other-ca.crt
		chmod 600 ./*.key
	) >/dev/null 2>&1 || {
		echo "ldap_make_ca: openssl failed in $d" >&2
		return 1
	}
}
