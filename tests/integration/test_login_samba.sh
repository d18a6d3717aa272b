#!/bin/bash
# test_login_samba.sh - how users log in, against a real Samba AD DC and a
# real Dovecot (issue 12, the SQL half).
#
# 1. Pass-through: Dovecot's passdb binds to AD as the user over LDAPS
#    (examples/dovecot/10-dirsync-ldap.conf + dovecot-ldap.conf.ext), the
#    userdb is dirsync's SQLite database.  A user created in AD and synced
#    logs in over IMAP with the AD password; a wrong password and a
#    disabled user cannot.
# 2. Password hash sync: Samba's `check password script` is
#    `dirsync passwd-hook`, Dovecot reads the SQL passdb
#    (examples/dovecot/10-dirsync.conf).  A synced mailbox has no usable
#    password until the first change; `samba-tool user setpassword` and the
#    user's own change over LDAPS reach Dovecot (new password works, old
#    fails); a change AD refuses for its history leaves the mail password
#    as it was; under on_failure = reject a password the policy refuses is
#    refused by AD itself; with the target unreachable under accept the
#    change goes through and the next sync delivers the hash; an unknown
#    account is accepted.  Finally the known test passwords are searched
#    for in every log, report, the state, the queue and the databases.
#
# Everything runs in one network namespace of its own (AD's ports are
# fixed): Samba, Dovecot (its IMAP and LMTP on 127.0.0.1 there) and dirsync.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIRSYNC=${DIRSYNC:-$ROOT/build/dirsync}
DIRSYNC=$(realpath "$DIRSYNC")
MAIL_LIB=$HERE/lib/mail
. "$HERE/samba/samba.sh"
. "$MAIL_LIB/common.sh"
. "$MAIL_LIB/dovecot.sh"

if ! samba_can_run "dirsync-login-probe-$$"; then
	echo "SKIP: test_login_samba needs network namespaces (root, ip netns)"
	exit 0
fi
if [ ! -e /usr/lib/dovecot/modules/auth/libauthdb_ldap.so ]; then
	echo "SKIP: test_login_samba needs dovecot-ldap (scripts/deps.sh)"
	exit 0
fi

mail_init
BASE="DC=example,DC=com"
T_START=$(date +%s)
step() { echo "== [$(( $(date +%s) - T_START ))s] $*"; }

# Known test passwords: none of them may appear in any log or file.
PW_ALICE="Alice-Ad-7431!q"
PW_DAVE="Dave-Ad-2209!w"
PW_BOB0="Bob-Initial-5561!e"
PW_BOB1="Bob-Second-8813!r"
PW_BOB2="Bob-Third-2750!t"
PW_WEAK="Abcdefgh12"           # AD takes it; dirsync's min_length 12 not
PW_DOWN="Bob-Offline-6120!y"
PW_UNKNOWN="Carol-Nobody-4410!u"

step "provision and start Samba AD"
samba_init "$T/samba" "$BASE" || fail "samba_init"
# this test's own namespace; Dovecot, doveadm and the helpers' python
# run inside it
samba_own_ns "dirsync-login-$$-$RANDOM"
at_exit samba_stop

CONF=$T/dirsync.conf
MAIL_DB=$T/mail.db
printf '%s\n' "$SAMBA_ADMIN_PW" >"$T/bind.secret"
chmod 600 "$T/bind.secret"
# write_conf ON_FAILURE MIN_LENGTH [URL]
write_conf() {
	cat >"$CONF" <<EOF
[source]
type = ldap
uri = $SAMBA_URI
tls_ca_file = $SAMBA_CA
bind_dn = $SAMBA_ADMIN
bind_password_file = $T/bind.secret
base_dn = $BASE
timeout = 10s

[mapping]
accepted_domains = example.com

[target]
url = ${3:-sqlite://$MAIL_DB}
password_scheme = SHA512-CRYPT

[passwords]
min_length = $2
on_failure = $1

[state]
path = $T/state.db
EOF
	chmod 600 "$CONF"
}
write_conf accept 8

# The hook, as an administrator would install it on every DC.
samba_passwd_hook "$CONF"
samba_start || fail "samba_start"
st() { samba_exec samba-tool "$@" -s "$SAMBA_CONF"; }
unipwd() { printf '"%s"' "$1" | iconv -t UTF-16LE | base64 -w0; }
# ldif FILE-CONTENT: applied as Administrator over LDAPS (faster than
# samba-tool, which takes seconds per call here)
ldif() {
	printf '%s\n' "$1" >"$T/step.ldif"
	samba_ldif "$T/step.ldif"
}
# add_user NAME PASSWORD [MAIL]
add_user() {
	local mail=""
	[ -n "${3:-}" ] && mail="
mail: $3"
	ldif "dn: CN=$1,CN=Users,$BASE
changetype: add
objectClass: user
sAMAccountName: $1
userPrincipalName: $1@example.com$mail
unicodePwd:: $(unipwd "$2")
userAccountControl: 512"
}
# reset_pw NAME PASSWORD: an administrator's reset over LDAPS
reset_pw() {
	ldif "dn: CN=$1,CN=Users,$BASE
changetype: modify
replace: unicodePwd
unicodePwd:: $(unipwd "$2")
-"
}
# a user may change the password twice in a row (tests)
ldif "dn: $BASE
changetype: modify
replace: minPwdAge
minPwdAge: 0
-" || fail "minPwdAge"

sync_now() {
	samba_exec "$DIRSYNC" -q -c "$CONF" sync >>"$T/sync.log" 2>&1 ||
		fail "dirsync sync failed: $(tail -5 "$T/sync.log")"
}
# imap_login USER PASSWORD: 0 when an IMAP LOGIN + SELECT succeeds.
imap_login() {
	python3 - "$IMAP_PORT" "$1" "$2" <<'EOF'
import imaplib, sys
try:
    m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
    m.login(sys.argv[2], sys.argv[3])
    typ, _ = m.select("INBOX")
    m.logout()
    sys.exit(0 if typ == "OK" else 1)
except imaplib.IMAP4.error:
    sys.exit(1)
EOF
}
dv_stop() {
	pid=$(cat "$DV_DIR/run/master.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	rm -rf "$DV_DIR"
}
# auth_ok ADDR PASSWORD [SECONDS]: doveadm auth test succeeds (polled).
auth_ok() {
	for _ in $(seq 1 $((${3:-1} * 10))); do
		dv_auth "$1" "$2" >/dev/null && return 0
		sleep 0.1
	done
	dv_auth "$1" "$2" >/dev/null
}

# ---------------------------------------------------------------------
step "1. pass-through: Dovecot binds to AD as the user over LDAPS"
add_user alice "$PW_ALICE" alice@example.com || fail "create alice"
add_user dave "$PW_DAVE" dave@example.com || fail "create dave"
sync_now
[ "$(sqlite3 "$MAIL_DB" "SELECT count(*) FROM mailbox WHERE active = 1 AND
	username IN ('alice@example.com', 'dave@example.com')")" = 2 ] ||
	fail "alice and dave were not synced"
# no password was set through a hook yet (the accounts were new)
[ "$(sqlite3 "$MAIL_DB" "SELECT count(*) FROM mailbox WHERE password <> ''")" = 0 ] ||
	fail "a mailbox got a password at creation"

IMAP_PORT=$(free_port)
dovecot_ports
mkdir -p "$T/dovecot"
sed -e "s#^uris = .*#uris = $SAMBA_URI#" \
    -e "s#^tls_ca_cert_file = .*#tls_ca_cert_file = $SAMBA_CA#" \
    -e "s#^dn = .*#dn = $SAMBA_ADMIN#" \
    -e "s#^dnpass = .*#dnpass = $SAMBA_ADMIN_PW#" \
    -e "s#^base = .*#base = $BASE#" \
    "$ROOT/examples/dovecot/dovecot-ldap.conf.ext" >"$T/dovecot/dovecot-ldap.conf.ext"
chmod 600 "$T/dovecot/dovecot-ldap.conf.ext"
DV_AUTH=10-dirsync-ldap.conf dovecot_start sqlite
imap_login alice@example.com "$PW_ALICE" ||
	fail "alice cannot log in over IMAP with her AD password: $(tail -5 "$T/dovecot.log")"
ok "IMAP login with the AD password"
imap_login ALICE@example.com "$PW_ALICE" ||
	fail "the login name is not matched without regard to case"
imap_login alice@example.com "Wrong-Pass-1!" && fail "a wrong password logs in"
imap_login alice@example.com "" && fail "an empty password logs in"
ok "wrong password refused"
imap_login dave@example.com "$PW_DAVE" || fail "dave cannot log in"
ldif "dn: CN=dave,CN=Users,$BASE
changetype: modify
replace: userAccountControl
userAccountControl: 514
-" || fail "disable dave"
dv_auth dave@example.com "$PW_DAVE" >/dev/null &&
	fail "AD still lets a disabled user in through Dovecot"
sync_now
[ "$(sqlite3 "$MAIL_DB" "SELECT active FROM mailbox WHERE username = 'dave@example.com'")" = 0 ] ||
	fail "dave's mailbox is not disabled after the sync"
imap_login dave@example.com "$PW_DAVE" && fail "a disabled user logs in over IMAP"
ok "disabled user refused"
dv_stop

# ---------------------------------------------------------------------
step "2. password hash sync: check password script = dirsync passwd-hook"
unset IMAP_PORT
DV_AUTH=10-dirsync.conf
dovecot_ports
dovecot_start sqlite
add_user bob "$PW_BOB0" bob@example.com || fail "create bob"
sync_now
dv_auth bob@example.com "$PW_BOB0" >/dev/null &&
	fail "a mailbox synced before any password change has a usable password"
ok "no usable password before the first change"

t0=$(date +%s.%N)
st user setpassword bob --newpassword="$PW_BOB1" >"$T/setpw1.log" 2>&1 ||
	fail "setpassword: $(cat "$T/setpw1.log")"
auth_ok bob@example.com "$PW_BOB1" 20 ||
	fail "the new password does not reach Dovecot: $(grep -i dirsync "$T"/samba/dc/log.* | tail -5)"
echo "   setpassword -> login in $(echo "$(date +%s.%N) - $t0" | bc) s"
dv_auth bob@example.com "$PW_BOB0" >/dev/null && fail "the old password still works"
grep -q '^{SHA512-CRYPT}\$6\$' <<<"$(sqlite3 "$MAIL_DB" "SELECT password FROM mailbox WHERE username = 'bob@example.com'")" ||
	fail "the stored hash is not {SHA512-CRYPT}"
ok "samba-tool setpassword reaches Dovecot"

# the user's own change over LDAPS (delete the old, add the new unicodePwd)
user_change() {   # OLD NEW
	cat >"$T/change.ldif" <<EOF
dn: CN=bob,CN=Users,$BASE
changetype: modify
delete: unicodePwd
unicodePwd:: $(unipwd "$1")
-
add: unicodePwd
unicodePwd:: $(unipwd "$2")
-
EOF
	samba_exec env LDAPTLS_CACERT="$SAMBA_CA" ldapmodify -H "$SAMBA_URI" \
		-D bob@example.com -y <(printf '%s' "$1") -f "$T/change.ldif" \
		>"$T/change.log" 2>&1
}
user_change "$PW_BOB1" "$PW_BOB2" || fail "bob's own change: $(cat "$T/change.log")"
auth_ok bob@example.com "$PW_BOB2" 20 || fail "bob's own change does not reach Dovecot"
dv_auth bob@example.com "$PW_BOB1" >/dev/null && fail "the old password still works"
ok "the user's own change over LDAPS reaches Dovecot"

# back to an earlier password: AD refuses it for its history
if user_change "$PW_BOB2" "$PW_BOB1"; then
	fail "AD took a password from the history"
fi
sleep 2
auth_ok bob@example.com "$PW_BOB2" || fail "a change AD refused changed the mail password"
dv_auth bob@example.com "$PW_BOB1" >/dev/null && fail "a refused password logs in"
pending=$(sqlite3 "$T/state.db.passwords" "SELECT count(*) FROM pending WHERE confirmed = 0" 2>/dev/null || echo 0)
echo "   (history refusal: the hook had ${pending} pending hash(es) that never got confirmed)"
ok "a change refused for its history leaves the mail password"

step "on_failure = reject: AD refuses what the policy refuses"
write_conf reject 12
if st user setpassword bob --newpassword="$PW_WEAK" >"$T/weak.log" 2>&1; then
	fail "AD took a password dirsync's policy refuses under reject"
fi
auth_ok bob@example.com "$PW_BOB2" || fail "the refused change touched the mail password"
ok "a weak password under reject is refused by AD"
# ... while under accept the same change goes through, mail unchanged
write_conf accept 12
reset_pw bob "$PW_WEAK" || fail "under accept AD refused the change"
sleep 1
auth_ok bob@example.com "$PW_BOB2" || fail "a password the policy refused reached the mail system"
ok "a weak password under accept: directory changed, mail password kept"

step "target down under accept: the next sync delivers the hash"
write_conf accept 8 "postgresql://nobody@127.0.0.1:1/none"
reset_pw bob "$PW_DOWN" || fail "AD refused the change with the target down"
sleep 1
dv_auth bob@example.com "$PW_DOWN" >/dev/null && fail "delivered to a target that is down?"
[ "$(stat -c %a "$T/state.db.passwords")" = 600 ] || fail "the queue is not 0600"
grep -q "$PW_DOWN" "$T/state.db.passwords" && fail "plaintext in the queue"
# the sync uses the working target again
write_conf accept 8
for _ in $(seq 1 50); do   # the background helper confirms within seconds
	[ "$(sqlite3 "$T/state.db.passwords" "SELECT confirmed FROM pending WHERE address = 'bob@example.com'")" = 1 ] && break
	sleep 0.2
done
sync_now
auth_ok bob@example.com "$PW_DOWN" 5 || fail "the next sync did not deliver the queued hash: $(tail -5 "$T/sync.log")"
[ "$(sqlite3 "$T/state.db.passwords" "SELECT count(*) FROM pending WHERE confirmed = 1")" = 0 ] ||
	fail "the delivered hash is still queued"
ok "queued hash delivered by the next sync"

step "an account dirsync does not know is accepted and ignored"
add_user carol "$PW_UNKNOWN" || fail "create carol (no mail)"
reset_pw carol "$PW_UNKNOWN-2" ||
	fail "AD refused a change for an account dirsync does not manage"
ok "unknown account accepted"

step "a config writable by others is refused"
chmod 622 "$CONF"
out=$(printf '%s' "$PW_BOB1" | samba_exec "$DIRSYNC" -c "$CONF" passwd-hook --user bob 2>&1)
rc=$?
chmod 600 "$CONF"
[ $rc = 2 ] || fail "passwd-hook with a world-writable config: exit $rc, want 2"
grep -q "writable by group or others" <<<"$out" || fail "no reason given: $out"
ok "world-writable config refused"

step "no test password in any log, report, state, queue or database"
samba_exec "$DIRSYNC" -c "$CONF" history --json >"$T/history.json" 2>&1
for id in $(jq -r '.[].run_id // empty' "$T/history.json" 2>/dev/null); do
	samba_exec "$DIRSYNC" -c "$CONF" show "$id" --json >>"$T/reports.json" 2>&1
done
files=$(find "$T" -type f ! -name '*.ldif' ! -name 'bind.secret' \
	! -name 'dovecot-ldap.conf.ext' ! -name '*.crt' ! -name '*.key' \
	! -path '*/samba/dc/private/*')
for pw in "$PW_ALICE" "$PW_DAVE" "$PW_BOB0" "$PW_BOB1" "$PW_BOB2" \
	"$PW_WEAK" "$PW_DOWN" "$PW_UNKNOWN"; do
	# shellcheck disable=SC2086
	if hit=$(grep -l -a -F -- "$pw" $files 2>/dev/null); then
		fail "a test password appears in: $hit"
	fi
done
ok "no plaintext anywhere ($(echo "$files" | wc -l) files searched)"
echo "PASS: $CHECKS checks"
