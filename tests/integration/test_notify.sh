#!/bin/sh
# test_notify.sh - run reports by mail, received by a real SMTP server
# (aiosmtpd on 127.0.0.1, tests/integration/lib/notify/smtpd.py) and parsed
# with Python's email module: the summary and the attached JSON report,
# [notify] when = changes | errors | always, a limit stop (mailed once, a
# reminder a day later, "recovered" when it ends), SMTP AUTH from
# the environment and from smtp.netrc, and failures that never fail a sync.
set -u
: "${DIRSYNC:?set DIRSYNC to the dirsync binary}"
here=$(cd "$(dirname "$0")" && pwd)
lib=$here/lib
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/dirsync-notify-XXXXXX)
pids=""

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "test_notify: FAIL: $*" >&2
	for f in "$tmp"/smtpd*.log "$tmp/sync.err"; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -n 10 "$f" >&2; }
	done
	exit 1
}
say() {
	echo "test_notify: $*"
}

$PY -c 'import aiosmtpd' 2>/dev/null ||
	fail "python3-aiosmtpd missing (make deps)"

# free_port: a port nothing listens on now.
free_port() {
	$PY -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# start_smtpd NAME [USER PASSWORD]: a server saving to $tmp/NAME/; sets PORT.
start_smtpd() {
	name=$1
	shift
	PORT=$(free_port)
	mkdir -p "$tmp/$name"
	$PY "$lib/notify/smtpd.py" "$PORT" "$tmp/$name" "$@" \
		>"$tmp/smtpd-$name.log" 2>&1 &
	pids="$pids $!"
	i=0
	while [ ! -e "$tmp/$name/ready" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "smtpd $name did not start"
		sleep 0.1
	done
}

# mkconf URL WHEN [EXTRA LINE for [safety]]
mkconf() {
	cat >"$tmp/dirsync.conf" <<EOF
[source]
type = ldif
path = $tmp/dir.ldif

[mapping]
accepted_domains = example.com

[target]
url = sqlite://$tmp/mail.db

[safety]
${3:-}

[notify]
smtp_url = $1
from = dirsync@example.com
to = admin@example.com ops@example.com
when = $2

[state]
path = $tmp/state.db
EOF
	chmod 600 "$tmp/dirsync.conf"
}

# nmail DIR: messages received there.
nmail() {
	ls "$1" | grep -c '\.eml$'
}

# wait_mail DIR N: until N messages are there.
wait_mail() {
	i=0
	while [ "$(nmail "$1")" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

# sync [ARGS]: a one-shot sync; sets RC.
sync() {
	"$DIRSYNC" -c "$tmp/dirsync.conf" -q sync "$@" 2>"$tmp/sync.err"
	RC=$?
}

# parse DIR N: parse message N of DIR into $tmp/p (headers, body.txt,
# attachment.json, attachment.name).
parse() {
	rm -rf "$tmp/p"
	$PY "$lib/notify/readmail.py" "$1/msg-$2.eml" "$tmp/p" ||
		fail "message $1/msg-$2.eml does not parse"
}

has() { # FILE TEXT
	grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks '$2'"
}

host=$(hostname)
cp "$lib/daemon/small.ldif" "$tmp/dir.ldif"
start_smtpd plain
url=smtp://127.0.0.1:$PORT

# ---- when = changes: the first sync changes things and is mailed --------
mkconf "$url" changes
sync
[ $RC = 0 ] || fail "first sync exited $RC"
wait_mail "$tmp/plain" 1 || fail "no mail after a sync with changes"
parse "$tmp/plain" 1
has "$tmp/p/headers" "Subject: dirsync run 1 on $host: 6 added"
has "$tmp/p/headers" "From: dirsync@example.com"
has "$tmp/p/headers" "To: admin@example.com, ops@example.com"
has "$tmp/p/headers" "Auto-Submitted: auto-generated"
grep -q '^to admin@example.com$' "$tmp/plain/msg-1.env" &&
	grep -q '^to ops@example.com$' "$tmp/plain/msg-1.env" &&
	grep -q '^from dirsync@example.com$' "$tmp/plain/msg-1.env" ||
	fail "envelope: $(cat "$tmp/plain/msg-1.env")"
has "$tmp/p/body.txt" "Result:    changes applied (exit code 0)"
has "$tmp/p/body.txt" "Directory: 4 entries read, 4 in scope"
has "$tmp/p/body.txt" "Changes:   6 added, 0 updated, 0 disabled, 0 deleted"
has "$tmp/p/body.txt" "add      mailbox  ann.lee@example.com name=Ann Lee"
has "$tmp/p/body.txt" "add      list     team@example.com"
has "$tmp/p/body.txt" "Conflicts (1)"
has "$tmp/p/body.txt" "sales@example.com claimed by"
has "$tmp/p/body.txt" "dirsync show 1"
# lines stay lines (quoted-printable with CRLF, not one run-on line)
[ "$(wc -l <"$tmp/p/body.txt")" -gt 10 ] || fail "the summary lost its lines"
has "$tmp/p/attachment.name" "dirsync-run-1.json attachment"
# the attachment is the run's report, as `dirsync show 1 --json` has it
"$DIRSYNC" -c "$tmp/dirsync.conf" show 1 --json >"$tmp/show1.json" ||
	fail "show 1 failed"
[ "$(jq -S . "$tmp/p/attachment.json")" = "$(jq -S . "$tmp/show1.json")" ] ||
	fail "the attached report differs from show 1 --json"
[ "$(jq -r '.summary.add, .applied, (.conflicts | length)' \
	"$tmp/p/attachment.json" | tr '\n' ' ')" = "6 true 1 " ] ||
	fail "attachment summary: $(jq -c .summary "$tmp/p/attachment.json")"
say "run 1 mailed: '$(sed -n 's/^Subject: //p' "$tmp/p/headers")', summary and attached report check out"

# a run with nothing to do sends nothing with when = changes
sync
[ $RC = 0 ] || fail "second sync exited $RC"
sleep 0.5
[ "$(nmail "$tmp/plain")" = 1 ] || fail "a no-change run was mailed (when = changes)"
say "no-change run: no mail (when = changes)"

# ---- when = always ---------------------------------------------------------
mkconf "$url" always
sync
wait_mail "$tmp/plain" 2 || fail "no mail with when = always"
parse "$tmp/plain" 2
has "$tmp/p/headers" "Subject: dirsync run 3 on $host: no changes"
has "$tmp/p/body.txt" "Result:    no changes (exit code 0)"
say "no-change run mailed with when = always"

# ---- when = errors: changes alone are not mailed, a limit stop is -------
mkconf "$url" errors "max_adds = 0"
cat "$lib/daemon/extra.ldif" >>"$tmp/dir.ldif"
sync
[ $RC = 3 ] || fail "a sync over max_adds exited $RC, not 3"
wait_mail "$tmp/plain" 3 || fail "no mail for a limit stop (when = errors)"
parse "$tmp/plain" 3
has "$tmp/p/headers" "Subject: dirsync run 4 on $host: safety limit exceeded, nothing applied"
has "$tmp/p/body.txt" "STOPPED: a safety limit was exceeded, nothing applied (exit code 3)"
has "$tmp/p/body.txt" "Safety limit exceeded: max_adds allows 0, the plan has 1"
has "$tmp/p/body.txt" "dirsync sync --force-limits"
has "$tmp/p/body.txt" "Planned changes, not applied (1):"
has "$tmp/p/body.txt" "dan.roe@example.com"
[ "$(jq -r '.limit_exceeded.limit, .applied' "$tmp/p/attachment.json" |
	tr '\n' ' ')" = "max_adds false " ] ||
	fail "attachment limit: $(jq -c .limit_exceeded "$tmp/p/attachment.json")"
say "limit stop mailed with when = errors"

# ---- the same stop again: no mail; a day later: a reminder ----------------
sync
[ $RC = 3 ] || fail "the second stopped sync exited $RC, not 3"
sleep 0.5
[ "$(nmail "$tmp/plain")" = 3 ] || fail "the same limit stop was mailed twice"
# the stop began 25 hours ago (runs 4 and 5)
sqlite3 "$tmp/state.db" "UPDATE runs SET started = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-25 hours') WHERE id IN (4, 5)" ||
	fail "cannot age runs 4 and 5"
sync
[ $RC = 3 ] || fail "the third stopped sync exited $RC, not 3"
wait_mail "$tmp/plain" 4 || fail "no reminder a day into the stop"
parse "$tmp/plain" 4
has "$tmp/p/headers" "Subject: dirsync run 6 on $host: safety limit exceeded, nothing applied (reminder: stopped since run 4)"
has "$tmp/p/body.txt" "Reminder: every run since run 4 ("
has "$tmp/p/body.txt" "Safety limit exceeded: max_adds allows 0, the plan has 1"
sync
sleep 0.5
[ "$(nmail "$tmp/plain")" = 4 ] || fail "a second reminder on the same day"
say "the same stop: not mailed again; a reminder a day later, once"

# ---- the run that gets through: "recovered", even with when = errors -----
# (before issue 15, a good run after a stop was not mailed with when = errors)
mkconf "$url" errors
sync --force-limits
[ $RC = 0 ] || fail "the forced sync exited $RC"
wait_mail "$tmp/plain" 5 || fail "no recovered mail after the stop"
parse "$tmp/plain" 5
has "$tmp/p/headers" "Subject: dirsync run 8 on $host: 1 added (recovered from the limit stop since run 4)"
has "$tmp/p/body.txt" "Recovered: runs stopped at a safety limit from run 4 ("
sync
sleep 0.5
[ "$(nmail "$tmp/plain")" = 5 ] || fail "a good run was mailed with when = errors"
say "recovered mailed once with when = errors; the good run after it was not"

# ---- a notification that cannot be sent never fails the sync -------------
mkconf "smtp://127.0.0.1:$(free_port)" always
sync
[ $RC = 0 ] || fail "an unreachable relay made the sync exit $RC"
grep -q "warning: notification not sent: notify: 127.0.0.1: cannot send the report by mail" \
	"$tmp/sync.err" || fail "unreachable relay not logged: $(cat "$tmp/sync.err")"
say "unreachable relay: sync exit 0, $(head -n 1 "$tmp/sync.err")"

# ---- SMTP AUTH: from the environment, from smtp.netrc --------------------
start_smtpd auth mailer 's3cret pw'
aurl=smtp://127.0.0.1:$PORT
mkconf "$aurl" always
sync
[ $RC = 0 ] || fail "sync exited $RC"
grep -q "warning: notification not sent:.*530" "$tmp/sync.err" ||
	fail "no auth, but no 530 warning: $(cat "$tmp/sync.err")"
DIRSYNC_SMTP_USER=mailer DIRSYNC_SMTP_PASSWORD=wrong sync
[ $RC = 0 ] || fail "sync exited $RC"
grep -q "warning: notification not sent:.*Login denied" "$tmp/sync.err" ||
	fail "wrong password not reported: $(cat "$tmp/sync.err")"
grep -q "wrong" "$tmp/sync.err" && fail "the password was logged"
[ "$(nmail "$tmp/auth")" = 0 ] || fail "mail accepted without auth"
DIRSYNC_SMTP_USER=mailer DIRSYNC_SMTP_PASSWORD='s3cret pw' sync
[ $RC = 0 ] || fail "sync exited $RC"
wait_mail "$tmp/auth" 1 || fail "no mail with DIRSYNC_SMTP_USER/PASSWORD"
grep -q '^auth True$' "$tmp/auth/msg-1.env" || fail "not authenticated"
say "AUTH from the environment: delivered; none or a wrong one: a warning"

printf 'machine 127.0.0.1 login mailer password "s3cret pw"\n' \
	>"$tmp/smtp.netrc"
chmod 644 "$tmp/smtp.netrc"
sync
grep -q "smtp.netrc: SMTP credentials file is accessible by group or others (mode 644)" \
	"$tmp/sync.err" || fail "a readable smtp.netrc was used: $(cat "$tmp/sync.err")"
chmod 600 "$tmp/smtp.netrc"
sync
[ $RC = 0 ] || fail "sync exited $RC"
wait_mail "$tmp/auth" 2 || fail "no mail with smtp.netrc: $(cat "$tmp/sync.err")"
say "AUTH from smtp.netrc (mode 600): delivered; mode 644: refused"
rm -f "$tmp/smtp.netrc"

# credentials in the URL are refused, and never echoed
mkconf "smtp://mailer:s3cret@127.0.0.1:$PORT" always
sync
[ $RC = 0 ] || [ $RC = 2 ] || fail "sync exited $RC"
grep -q "s3cret" "$tmp/sync.err" && fail "the URL's password was printed"
[ "$(nmail "$tmp/auth")" = 2 ] || fail "mail sent with credentials from the URL"
say "credentials in smtp_url: refused ($(head -n 1 "$tmp/sync.err"))"

# ---- the daemon mails its runs too -----------------------------------------
mkconf "$url" always
n=$(nmail "$tmp/plain")
"$DIRSYNC" -c "$tmp/dirsync.conf" daemon -f 2>"$tmp/daemon.log" &
dpid=$!
pids="$pids $dpid"
wait_mail "$tmp/plain" $((n + 1)) || fail "the daemon's run was not mailed"
kill -USR1 $dpid
wait_mail "$tmp/plain" $((n + 2)) || fail "the triggered run was not mailed"
kill -TERM $dpid
wait $dpid || fail "the daemon exited non-zero"
parse "$tmp/plain" $((n + 2))
has "$tmp/p/headers" "Subject: dirsync run"
has "$tmp/p/body.txt" "Result:    no changes (exit code 0)"
say "the daemon mailed its first and its triggered run"
exit 0
