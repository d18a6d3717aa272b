#!/bin/sh
# Installs what building and testing dirsync needs, only when missing.
# Idempotent: a machine that has everything runs no apt-get at all.
#   deps.sh build   what `make` and `make demo` need
#   deps.sh         everything `make check` needs (real servers included)
set -eu

BUILD="build-essential pkg-config libsqlite3-dev sqlite3 libjansson-dev
libldap2-dev libsasl2-dev libpq-dev libcurl4-openssl-dev libargon2-dev
libmicrohttpd-dev libxxhash-dev"
PKGS="$BUILD libcmocka-dev jq
slapd ldap-utils openssl iproute2 python3 bc
samba samba-ad-dc samba-ad-provision winbind krb5-user
postgresql postgresql-client
postfix postfix-sqlite postfix-pgsql
dovecot-core dovecot-sqlite dovecot-pgsql dovecot-imapd dovecot-lmtpd dovecot-ldap
python3-aiosmtpd swaks man-db groff-base time curl util-linux
clang libclang-rt-14-dev faketime
debhelper dpkg-dev lintian fakeroot
prometheus chromium
libldap2-dev libsasl2-dev libpq-dev libcurl4-openssl-dev libargon2-dev
libmicrohttpd-dev libxxhash-dev"

[ "${1:-all}" = build ] && PKGS=$BUILD
# the SCIM test server (npm: scimmy, scimmy-routers, express); a node from
# elsewhere (NodeSource) that brings its own npm is fine
if [ "${1:-all}" != build ] && ! command -v npm >/dev/null 2>&1; then
	PKGS="$PKGS nodejs npm"
fi

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
# No package may build a system-wide configuration or start a daemon on the
# standard ports: the tests start private instances on 127.0.0.1.
$SUDO sh -c '
	echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	echo "krb5-config krb5-config/default_realm string EXAMPLE.TEST" | debconf-set-selections
'
printf '#!/bin/sh\nexit 101\n' > /tmp/dirsync-policy-rc.d
chmod +x /tmp/dirsync-policy-rc.d
if [ ! -e /usr/sbin/policy-rc.d ]; then
	$SUDO cp /tmp/dirsync-policy-rc.d /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || true
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
