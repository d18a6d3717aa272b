#!/bin/sh
# test_deb.sh - the Debian package: `make deb` (dpkg-buildpackage, then
# lintian with errors and warnings fatal), `dpkg -i` on this machine, the
# installed files and their owners and modes, `dirsync check` on the
# shipped conffile as the dirsync user, a sync of examples/company.ldif
# into SQLite as that user, then `dpkg -r` (conffile kept) and purge.
#
# Needs root (dpkg).  Refuses to run where a dirsync package or
# /usr/bin/dirsync is already installed, so a real installation is never
# replaced; removes the "dirsync" user afterwards if it created it.
# The binary under test is the package's own build, not $DIRSYNC.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/dirsync-deb-XXXXXX)
installed=0
made_user=0
made_vardir=0
state=/var/lib/dirsync/test-deb-$$.db

say() {
	echo "test_deb: $*"
}
fail() {
	echo "test_deb: FAIL: $*" >&2
	[ -s "$tmp/out" ] && tail -n 20 "$tmp/out" >&2
	exit 1
}

# dpkg refuses at once while another apt/dpkg holds its lock (other jobs
# on this machine install packages too): wait for it, up to 5 minutes.
dpkg_locked() {
	i=0
	while :; do
		dpkg "$@" >"$tmp/dpkg.out" 2>&1 && return 0
		if ! grep -q "lock" "$tmp/dpkg.out" || [ $i -ge 150 ]; then
			cat "$tmp/dpkg.out" >&2
			return 1
		fi
		i=$((i + 1))
		sleep 2
	done
}

cleanup() {
	rm -f "$state" "$state"-wal "$state"-shm "$state".lock
	if [ $installed = 1 ]; then
		dpkg_locked --purge dirsync >/dev/null 2>&1
	fi
	[ $made_vardir = 1 ] && rmdir /var/lib/dirsync 2>/dev/null
	[ $made_user = 1 ] && userdel dirsync 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: test_deb needs root (dpkg -i)"
	exit 0
fi
for t in dpkg-buildpackage dh lintian; do
	command -v $t >/dev/null || fail "$t missing: run scripts/deps.sh"
done
st=$(dpkg-query -W -f='${Status}' dirsync 2>/dev/null)
case "$st" in
*installed* | *config-files*)
	fail "a dirsync package is installed here ($st); not replacing it" ;;
esac
[ -e /usr/bin/dirsync ] && fail "/usr/bin/dirsync exists; not replacing it"
getent passwd dirsync >/dev/null || made_user=1
[ -d /var/lib/dirsync ] || made_vardir=1

# -- build ------------------------------------------------------------
say "make deb"
make -s -C "$top" deb B="$tmp/b" >"$tmp/out" 2>&1 ||
	fail "make deb failed (dpkg-buildpackage or lintian)"
deb=$(ls "$tmp"/b/deb/dirsync_*_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "no .deb in $tmp/b/deb"
grep -q "^[EW]: " "$tmp/out" && fail "lintian reported errors or warnings"

# -- install ----------------------------------------------------------
say "dpkg -i $(basename "$deb")"
installed=1
dpkg_locked -i "$deb" || fail "dpkg -i failed"
[ "$(dpkg-query -W -f='${Status}' dirsync)" = "install ok installed" ] ||
	fail "dpkg does not list dirsync as installed"
/usr/bin/dirsync --version | grep -q '^dirsync ' ||
	fail "/usr/bin/dirsync --version"
for f in /usr/share/man/man8/dirsync.8.gz \
	/usr/share/man/man5/dirsync.conf.5.gz \
	/lib/systemd/system/dirsync.service \
	/lib/systemd/system/dirsync-sync.service \
	/lib/systemd/system/dirsync.timer \
	/usr/lib/sysusers.d/dirsync.conf; do
	[ -f "$f" ] || fail "$f not installed"
done
for u in dirsync.service dirsync-sync.service; do
	grep -q '^ExecStart=/usr/bin/dirsync ' /lib/systemd/system/$u ||
		fail "$u does not start /usr/bin/dirsync"
done
getent passwd dirsync >/dev/null || fail "user dirsync not created"
dpkg-query -W -f='${Conffiles}\n' dirsync |
	grep -q '^ /etc/dirsync/dirsync.conf ' ||
	fail "/etc/dirsync/dirsync.conf is not a conffile"
perm() {
	got=$(stat -c '%U:%G %a' "$1")
	[ "$got" = "$2" ] || fail "$1 is $got, want $2"
}
perm /etc/dirsync/dirsync.conf "dirsync:dirsync 600"
perm /etc/dirsync "root:dirsync 750"
perm /var/lib/dirsync "dirsync:dirsync 750"
zcat /usr/share/man/man8/dirsync.8.gz | grep -q '^\.TH DIRSYNC 8' ||
	fail "dirsync.8 is not the man page"

# -- check: the shipped template, as the user the units run as --------
say "dirsync check (the shipped /etc/dirsync/dirsync.conf)"
runuser -u dirsync -- dirsync check >"$tmp/out" 2>&1
rc=$?
# the template names a bind password file and a CA file the admin has
# yet to write: check names both at once (issue 14)
[ $rc = 2 ] || fail "check on the bare template: exit $rc, want 2"
grep -q '/etc/dirsync/bind.secret' "$tmp/out" ||
	fail "check does not name the missing /etc/dirsync/bind.secret"
grep -q 'tls_ca_file /etc/dirsync/example-ca.pem cannot be read by user dirsync' "$tmp/out" ||
	fail "check does not name the missing CA file: $(cat "$tmp/out")"
grep -q '2 errors' "$tmp/out" || fail "check did not count 2 errors"
printf 'not-a-real-password\n' >/etc/dirsync/bind.secret
chown dirsync:dirsync /etc/dirsync/bind.secret
chmod 600 /etc/dirsync/bind.secret
# check opens the CA file, it does not parse it
printf 'the enterprise CA would be here\n' >/etc/dirsync/example-ca.pem
chmod 644 /etc/dirsync/example-ca.pem
runuser -u dirsync -- dirsync check >"$tmp/out" 2>&1 ||
	fail "check with the secret and the CA file written: exit $? $(cat "$tmp/out")"
rm -f /etc/dirsync/bind.secret /etc/dirsync/example-ca.pem
grep -q 'configuration OK' "$tmp/out" || fail "check did not say OK"
grep -q 'not-a-real-password' "$tmp/out" && fail "check printed the secret"

# -- a sync as user dirsync: state in /var/lib/dirsync -----------------
say "dirsync sync (company.ldif into SQLite, as user dirsync)"
mkdir "$tmp/run"
cp "$top/examples/company.ldif" "$tmp/run/"
cat >"$tmp/run/dirsync.conf" <<EOF
[source]
type = ldif
path = $tmp/run/company.ldif

[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com

[target]
url = sqlite://$tmp/run/mail.db

[state]
path = $state
EOF
chmod 711 "$tmp"
chown -R dirsync:dirsync "$tmp/run"
chmod 600 "$tmp/run/dirsync.conf"
runuser -u dirsync -- dirsync -c "$tmp/run/dirsync.conf" --quiet sync \
	>"$tmp/out" 2>&1 || fail "sync as dirsync: exit $?"
n=$(sqlite3 "$tmp/run/mail.db" "SELECT count(*) FROM mailbox WHERE active = 1")
[ "${n:-0}" -gt 0 ] || fail "no active mailbox in the mail database"
runuser -u dirsync -- dirsync -c "$tmp/run/dirsync.conf" history \
	>"$tmp/out" 2>&1 || fail "history: exit $?"
grep -q ' applied ' "$tmp/out" || fail "history shows no applied run"
rm -f "$state" "$state"-wal "$state"-shm "$state".lock

# -- remove, then purge -----------------------------------------------
say "dpkg -r dirsync"
dpkg_locked -r dirsync || fail "dpkg -r failed"
[ -e /usr/bin/dirsync ] && fail "/usr/bin/dirsync left after dpkg -r"
[ -f /etc/dirsync/dirsync.conf ] || fail "dpkg -r removed the conffile"
dpkg_locked --purge dirsync || fail "dpkg --purge failed"
installed=0
[ -e /etc/dirsync/dirsync.conf ] && fail "purge left the conffile"
dpkg-statoverride --list /etc/dirsync/dirsync.conf >/dev/null &&
	fail "purge left the statoverride"
say "ok ($n active mailboxes synced by the packaged binary)"
exit 0
