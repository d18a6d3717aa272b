#!/bin/bash
# test_daemon_auth.sh - the daemon stops binding after invalid credentials.
#
# A private slapd (slapd/slapd.sh) runs in the foreground with `-d stats`,
# so every BIND it receives is one line of its log: the count is what the
# directory saw, not what dirsync says it did.  A daemon with a wrong bind
# password and a 1 s interval must bind exactly once over many intervals,
# ignore SIGUSR1 and `sync --now` (saying why), mail the failure once
# ([notify] when = errors, a loopback SMTP server), say why in `dirsync
# status`; a reload with the config unchanged tries exactly once more;
# after the password is fixed, a reload syncs.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIRSYNC=${DIRSYNC:-$ROOT/build/dirsync}
. "$HERE/slapd/slapd.sh"
. "$HERE/lib/ldap/dstest.sh"

T=$(mktemp -d /tmp/dirsync-daemon-auth.XXXXXX)
DPID=
SMTPD_PID=
cleanup()
{
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	[ -n "$SMTPD_PID" ] && kill "$SMTPD_PID" 2>/dev/null
	slapd_stop
	rm -rf "$T"
}
trap cleanup EXIT

for t in jq sqlite3 slappasswd curl; do
	command -v $t >/dev/null 2>&1 || ds_fail "$t missing (make deps)"
done

ds_step "slapd with -d stats (every bind logged)"
SLAPD_NO_TLS=1 ds_slapd_company
# in the foreground (-d): the stats lines go to stderr, our log file
"$SLAPD_BIN" -f "$SLAPD_DIR/slapd.conf" -h "$SLAPD_URI/ $SLAPD_LDAPI" \
	-d stats 2>"$T/slapd.log" &
SLAPD_PID=$!
ldap_wait_port 127.0.0.1 "$SLAPD_PORT" 10 || ds_fail "slapd did not start"

# binds: BIND operations for the service account slapd has seen
binds()
{
	grep -c "BIND dn=\"$SLAPD_BIND_DN\"" "$T/slapd.log"
}
# wait_for N SECONDS CMD...: until CMD prints N
wait_for()
{
	local want=$1 secs=$2 i=0
	shift 2
	while [ "$("$@")" != "$want" ]; do
		i=$((i + 1))
		[ $i -gt $((secs * 10)) ] && return 1
		sleep 0.1
	done
}
wait_log()
{
	local i=0
	while ! grep -q -- "$1" "$T/daemon.log"; do
		i=$((i + 1))
		[ $i -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}
runs()
{
	"$DIRSYNC" -c "$T/dirsync.conf" history -n 1000 --json 2>/dev/null |
		jq length 2>/dev/null || echo 0
}
mails()
{
	ls "$T/mail"/msg-*.eml 2>/dev/null | wc -l
}

ds_step "a loopback SMTP server for [notify]"
SMTP_PORT=$(ldap_free_port)
mkdir -p "$T/mail"
"$PY" "$HERE/lib/notify/smtpd.py" "$SMTP_PORT" "$T/mail" >"$T/smtpd.log" 2>&1 &
SMTPD_PID=$!
wait_for 1 10 sh -c "ls '$T/mail/ready' 2>/dev/null | wc -l" ||
	ds_fail "smtpd did not start"

WPORT=$(ldap_free_port) || ds_fail "no free port for [web]"
printf '%s\n' "not-the-password" >"$T/bind.secret"
chmod 600 "$T/bind.secret"
cat >"$T/dirsync.conf" <<EOF
[source]
type = ldap
uri = $SLAPD_URI
bind_dn = $SLAPD_BIND_DN
bind_password_file = $T/bind.secret
base_dn = dc=example,dc=com
timeout = 5s
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = sqlite://$T/mail.db
[schedule]
interval = 1s
[notify]
smtp_url = smtp://127.0.0.1:$SMTP_PORT
from = dirsync@example.com
to = postmaster@example.com
when = errors
[state]
path = $T/state.db
[web]
listen = 127.0.0.1:$WPORT
EOF
chmod 600 "$T/dirsync.conf"

ds_step "wrong password: one bind, then none over many intervals"
[ "$(binds)" = 0 ] || ds_fail "binds before the daemon: $(binds)"
"$DIRSYNC" -c "$T/dirsync.conf" daemon -f 2>"$T/daemon.log" &
DPID=$!
wait_log "not binding again" 10 || ds_fail "no pause in the daemon log: $(cat "$T/daemon.log")"
grep -q "invalid credentials for bind DN $SLAPD_BIND_DN" "$T/daemon.log" ||
	ds_fail "the log does not name the bind DN: $(cat "$T/daemon.log")"
sleep 6 # six intervals
[ "$(binds)" = 1 ] || ds_fail "slapd saw $(binds) binds, expected exactly 1"
grep -q "RESULT tag=97 err=49" "$T/slapd.log" || ds_fail "slapd did not answer 49"
[ "$(runs)" = 1 ] || ds_fail "$(runs) runs recorded, expected 1"
# the bind failed: nothing was read, and the log and history say so
grep -q "errors; nothing read" "$T/daemon.log" ||
	ds_fail "the run line does not say nothing was read: $(cat "$T/daemon.log")"
grep -q "full read, 0 entries" "$T/daemon.log" &&
	ds_fail "a failed bind logged as a full read"
ds_run -- -c "$T/dirsync.conf" history -n 1
grep -q "  nothing read" "$DS_OUT" || ds_fail "history: $(cat "$DS_OUT")"
[ "$(grep -c "not binding again" "$T/daemon.log")" = 1 ] ||
	ds_fail "the pause is logged more than once"
wait_for 1 10 mails || ds_fail "$(mails) notification mails, expected 1"
grep -q "paused-bind" "$T/state.db.lock" ||
	ds_fail "lock file: $(cat "$T/state.db.lock")"

ds_step "SIGUSR1, sync --now, status: no bind, and they say why"
kill -USR1 "$DPID"
wait_log "sync requested (SIGUSR1) but not run" 5 || ds_fail "SIGUSR1 not refused"
ds_run -- -c "$T/dirsync.conf" sync --now
ds_expect_rc 1 "sync --now to a paused daemon"
ds_expect_err "stopped binding after invalid credentials" "sync --now"
ds_expect_err "kill -HUP $DPID" "sync --now"
ds_run -- -c "$T/dirsync.conf" sync
ds_expect_rc 1 "sync while the paused daemon holds the lock"
ds_expect_err "stopped binding after invalid credentials" "sync"
ds_run -- -c "$T/dirsync.conf" status --nagios
ds_expect_rc 2 "status"
grep -q "stopped binding after invalid credentials" "$DS_OUT" ||
	ds_fail "status does not say why: $(cat "$DS_OUT")"
# the status page's "Sync now" is refused too, saying why (it said
# "requested" and nothing ran; found by a user trial)
code=$(curl -s -o "$T/websync.out" -w '%{http_code}' -X POST \
	-H "Origin: http://127.0.0.1:$WPORT" "http://127.0.0.1:$WPORT/sync")
[ "$code" = 409 ] || ds_fail "status page Sync now to a paused daemon: HTTP $code, expected 409"
grep -q "stopped binding after invalid credentials" "$T/websync.out" ||
	ds_fail "status page Sync now does not say why: $(cat "$T/websync.out")"
sleep 2
[ "$(binds)" = 1 ] || ds_fail "after SIGUSR1 and --now: $(binds) binds"
[ "$(mails)" = 1 ] || ds_fail "$(mails) mails after the pause, expected 1"

ds_step "reload with the config unchanged: exactly one more bind"
kill -HUP "$DPID"
wait_for 2 10 binds || ds_fail "no bind after the reload"
wait_for 2 10 sh -c "grep -c 'not binding again' '$T/daemon.log'" ||
	ds_fail "not paused again after the reload"
sleep 4
[ "$(binds)" = 2 ] || ds_fail "after the reload: $(binds) binds, expected 2"

ds_step "password fixed, reload: it syncs and keeps its schedule"
printf '%s\n' "$SLAPD_BIND_PW" >"$T/bind.secret"
kill -HUP "$DPID"
wait_log "binding again after the reload" 10 || ds_fail "no re-arm logged"
wait_for 1 15 sh -c "sqlite3 '$T/mail.db' \"select count(*) from mailbox where username='alice.martin@example.com'\" 2>/dev/null" ||
	ds_fail "no mailbox after the fixed password"
sleep 3
[ "$(binds)" -ge 5 ] || ds_fail "the schedule did not resume: $(binds) binds"
ds_run -- -c "$T/dirsync.conf" status
ds_expect_rc 0 "status after the fix"
grep -q "paused-bind" "$T/state.db.lock" && ds_fail "still marked paused"
kill -TERM "$DPID"
wait "$DPID"
DPID=
echo "test_daemon_auth: OK"
