#!/bin/bash
# test_watch_slapd.sh - `dirsync daemon` with [schedule] watch = yes
# against a real slapd with the syncprov overlay (RFC 4533
# refreshAndPersist).  The interval is an hour, so only the watch can
# explain a change reaching the mail database within seconds: an added
# user, a group membership (the list follows), a deleted user (disabled).
# Then slapd stops (the daemon logs the loss once and keeps running),
# starts again (the daemon watches again) and a later change arrives.
# A reload watches with the new configuration; invalid credentials on the
# watch connection are logged once and never retried until a reload.
# Also: `check` accepts and shows the key; an LDIF source says once that
# it cannot watch and keeps its interval.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIRSYNC=${DIRSYNC:-$ROOT/build/dirsync}
. "$HERE/slapd/slapd.sh"
. "$HERE/lib/ldap/dstest.sh"

T=$(mktemp -d /tmp/dirsync-watch.XXXXXX)
DPID=
cleanup()
{
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	slapd_stop
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# the daemon's log on failure
w_fail()
{
	if [ -s "$T/daemon.log" ]; then
		echo "--- daemon log (last 25 lines):" >&2
		tail -n 25 "$T/daemon.log" >&2
	fi
	ds_fail "$@"
}

# wait_sql SQL EXPECTED SECONDS: until sqlite3 prints EXPECTED; prints
# how long it took.  Fails after SECONDS.
wait_sql()
{
	local t0 now v
	t0=$(date +%s.%N)
	while :; do
		v=$(sqlite3 "$T/mail.db" "$1" 2>/dev/null)
		[ "$v" = "$2" ] && break
		now=$(date +%s.%N)
		if [ "$(echo "$now - $t0 > $3" | bc)" = 1 ]; then
			w_fail "after ${3}s: '$1' gives '$v', expected '$2'"
		fi
		sleep 0.05
	done
	now=$(date +%s.%N)
	printf '%.2f' "$(echo "$now - $t0" | bc)"
}

# wait_log ERE SECONDS: until the daemon's log matches.
wait_log()
{
	local i
	for i in $(seq 1 $(($2 * 10))); do
		grep -Eq -- "$1" "$T/daemon.log" && return 0
		sleep 0.1
	done
	return 1
}

ldapmod()
{
	ldapmodify -x -H "$SLAPD_URI" -D "cn=admin,dc=example,dc=com" \
		-w "$SLAPD_BIND_PW" >"$T/ldapmodify.out" 2>&1 ||
		{ cat "$T/ldapmodify.out" >&2; w_fail "ldapmodify"; }
}

ds_step "slapd with syncprov: provision, load, start"
SLAPD_SYNCPROV=1
ds_slapd_company
slapd_start || ds_fail "slapd_start"
ds_secret "$T/bind.secret" "$SLAPD_BIND_PW"

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
[safety]
max_delete_percent = 100
[schedule]
interval = 1h
watch = yes
[state]
path = $T/state.db
EOF
chmod 600 "$T/dirsync.conf"

ds_step "check accepts [schedule] watch and shows it"
ds_run -- -c "$T/dirsync.conf" check
ds_expect_rc 0 "check"
grep -q '^watch = yes$' "$DS_OUT" || ds_fail "check's dump lacks 'watch = yes'"

ds_step "the daemon: a first (full) run, then it follows changes"
# -vv: the watcher's retries are logged at debug
"$DIRSYNC" -c "$T/dirsync.conf" -vv daemon -f >"$T/daemon.log" 2>&1 &
DPID=$!
wait_log 'run [0-9]+: done' 30 || w_fail "no first run"
wait_log 'watch: following changes on ldap://127.0.0.1:[0-9]+ \(RFC 4533 refreshAndPersist\)' 10 ||
	w_fail "the daemon does not say it follows changes"
[ "$(sqlite3 "$T/mail.db" 'SELECT count(*) FROM mailbox')" -gt 10 ] ||
	w_fail "the first run made too few mailboxes"
runs0=$(grep -Ec 'run [0-9]+: done' "$T/daemon.log")
# nobody passed --full: the first run after a start is full by design
grep -q "full read: the daemon's first run after its start" "$T/daemon.log" ||
	w_fail "the first run's full read is not explained as the daemon's first run"
grep -q -- "(--full)" "$T/daemon.log" && w_fail "the daemon's log blames --full"

ds_step "add a user: the mailbox appears within seconds"
ldapmod <<'EOF'
dn: CN=Nina New,OU=Sales,OU=Staff,DC=example,DC=com
changetype: add
objectClass: inetOrgPerson
objectClass: dirsyncAD
cn: Nina New
sn: New
givenName: Nina
displayName: Nina New
mail: nina.new@example.com
proxyAddresses: SMTP:nina.new@example.com
userAccountControl: 512
EOF
s=$(wait_sql "SELECT active FROM mailbox WHERE username='nina.new@example.com'" 1 10) || exit 1
echo "   the mailbox after ${s}s"
wait_log 'read, 1 entries from the server; triggered by a directory change \(watch\)' 5 ||
	w_fail "the run line does not say the watch triggered it"
id=$(grep -Eo 'run [0-9]+: done.*triggered by a directory change' "$T/daemon.log" |
	tail -n 1 | grep -Eo '^run [0-9]+' | cut -d' ' -f2)
ds_run -- -c "$T/dirsync.conf" show "$id" --json
ds_expect_rc 0 "show $id"
[ "$(jq -r .trigger "$DS_OUT")" = watch ] ||
	ds_fail "run $id: trigger is $(jq -r .trigger "$DS_OUT"), expected watch"
[ "$(jq -r .read "$DS_OUT")" = incremental ] ||
	ds_fail "run $id: read $(jq -r .read "$DS_OUT"), expected incremental"
ds_run -- -c "$T/dirsync.conf" history --json
[ "$(jq -r ".[] | select(.run_id == $id) | .trigger" "$DS_OUT")" = watch ] ||
	ds_fail "history --json: run $id's trigger is not watch"
[ "$(jq -r '.[-1].trigger' "$DS_OUT")" = interval ] ||
	ds_fail "history --json: the first run's trigger is $(jq -r '.[-1].trigger' "$DS_OUT"), expected interval"
ds_run -- -c "$T/dirsync.conf" history
grep -Eq "^ +$id .*read incremental 1 +watch\$" "$DS_OUT" ||
	ds_fail "history: run $id is not marked watch"

ds_step "a group membership: the list follows"
ldapmod <<'EOF'
dn: CN=Sales,OU=Groups,DC=example,DC=com
changetype: modify
add: member
member: CN=Nina New,OU=Sales,OU=Staff,DC=example,DC=com
EOF
s=$(wait_sql "SELECT instr(goto, 'nina.new@example.com') > 0 FROM alias WHERE address='sales@example.com'" 1 10) || exit 1
echo "   the list after ${s}s"

ds_step "a burst of changes: few runs, all applied"
before=$(grep -Ec 'run [0-9]+: done' "$T/daemon.log")
for u in Ben.Carter:Benjamin Grace.Liu:Gracie Felix.Wagner:Fex; do
	cn=${u%%:*}
	cn=${cn/./ }
	ldapmod <<EOF
dn: CN=$cn,OU=Sales,OU=Staff,DC=example,DC=com
changetype: modify
replace: displayName
displayName: ${u##*:} Burst
EOF
done
wait_sql "SELECT count(*) FROM mailbox WHERE name LIKE '% Burst'" 3 10 >/dev/null || exit 1
sleep 1
after=$(grep -Ec 'run [0-9]+: done' "$T/daemon.log")
[ $((after - before)) -le 2 ] ||
	w_fail "three quick changes took $((after - before)) runs, expected 1 or 2"

ds_step "an OU renamed (no user entry changes): the watch wakes a run"
before=$(grep -Ec 'run [0-9]+: done.*triggered by a directory change' "$T/daemon.log")
ldapmod <<'EOF'
dn: OU=Marketing,OU=Staff,DC=example,DC=com
changetype: modrdn
newrdn: OU=Brand
deleteoldrdn: 1
EOF
for i in $(seq 1 100); do
	[ "$(grep -Ec 'run [0-9]+: done.*triggered by a directory change' "$T/daemon.log")" -gt "$before" ] && break
	sleep 0.1
done
[ "$(grep -Ec 'run [0-9]+: done.*triggered by a directory change' "$T/daemon.log")" -gt "$before" ] ||
	w_fail "no run after the OU was renamed"

ds_step "delete the user: the mailbox is disabled"
ldapmod <<'EOF'
dn: CN=Nina New,OU=Sales,OU=Staff,DC=example,DC=com
changetype: delete
EOF
s=$(wait_sql "SELECT active FROM mailbox WHERE username='nina.new@example.com'" 0 10) || exit 1
echo "   disabled after ${s}s"

ds_step "slapd stops: the daemon logs the loss once and keeps running"
slapd_stop
wait_log 'warning: watch: .*reconnecting' 10 || w_fail "no warning about the lost watch"
sleep 4
kill -0 "$DPID" 2>/dev/null || w_fail "the daemon died with slapd"
[ "$(grep -c 'warning: watch:' "$T/daemon.log")" = 1 ] ||
	w_fail "the loss was logged $(grep -c 'warning: watch:' "$T/daemon.log") times, expected once"

ds_step "slapd starts again: the daemon watches again; a later change arrives"
port=$SLAPD_PORT
slapd_start || ds_fail "slapd_start again"
[ "$SLAPD_PORT" = "$port" ] || ds_fail "slapd came back on another port (taken meanwhile)"
wait_log 'watch: watching ldap://127.0.0.1:[0-9]+ again' 30 ||
	w_fail "the daemon does not watch again"
ldapmod <<'EOF'
dn: CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com
changetype: modify
replace: displayName
displayName: Emma After Restart
EOF
s=$(wait_sql "SELECT name FROM mailbox WHERE username='emma.novak@example.com'" "Emma After Restart" 10) || exit 1
echo "   the change after the restart in ${s}s"

ds_step "slapd restored from a backup: the cookie is refused, not the watch (found by a user trial)"
# the restored server's state is older than the daemon's cookie: slapd
# refuses the search with it ("consumer state is newer than provider!");
# watching stopped for good until a reload
/usr/sbin/slapcat -f "$T/slapd/slapd.conf" -l "$T/backup.ldif" 2>/dev/null ||
	w_fail "slapcat"
ldapmod <<'EOF'
dn: CN=Rita Restore,OU=Sales,OU=Staff,DC=example,DC=com
changetype: add
objectClass: inetOrgPerson
objectClass: dirsyncAD
cn: Rita Restore
sn: Restore
mail: rita.restore@example.com
userAccountControl: 512
EOF
wait_sql "SELECT active FROM mailbox WHERE username='rita.restore@example.com'" 1 10 >/dev/null || exit 1
slapd_stop
rm -rf "$T/slapd/db" && mkdir "$T/slapd/db" || w_fail "db wipe"
slapd_load "$T/backup.ldif" || w_fail "restore"
slapd_start || w_fail "slapd start (restored)"
[ "$SLAPD_PORT" = "$port" ] || w_fail "slapd came back on another port (taken meanwhile)"
wait_log "the refreshAndPersist search with the last run's cookie was refused" 30 ||
	w_fail "the refused cookie is not said"
grep -q "cannot be watched" "$T/daemon.log" &&
	w_fail "a refused cookie was taken for a server that cannot be watched"
ldapmod <<'EOF'
dn: CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com
changetype: modify
replace: displayName
displayName: Emma After Restore
EOF
s=$(wait_sql "SELECT name FROM mailbox WHERE username='emma.novak@example.com'" "Emma After Restore" 10) || exit 1
echo "   the change after the restore in ${s}s"

ds_step "a reload (SIGHUP): the daemon watches with the new configuration"
kill -HUP "$DPID"
wait_log 'configuration reloaded' 10 || w_fail "no reload"
for i in $(seq 1 100); do
	[ "$(grep -c 'watch: following changes' "$T/daemon.log")" = 2 ] && break
	sleep 0.1
done
[ "$(grep -c 'watch: following changes' "$T/daemon.log")" = 2 ] ||
	w_fail "the daemon does not watch again after the reload"
ldapmod <<'EOF'
dn: CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com
changetype: modify
replace: displayName
displayName: Emma After Reload
EOF
s=$(wait_sql "SELECT name FROM mailbox WHERE username='emma.novak@example.com'" "Emma After Reload" 10) || exit 1
echo "   the change after the reload in ${s}s"
grep -q 'dirsync: error:' "$T/daemon.log" && w_fail "the daemon logged an error"

ds_step "a run stopped at a safety limit: the changes announced meanwhile make no run (trial)"
# limit_reload SED N: the config edited, a reload, until the Nth
limit_reload()
{
	sed -i "$1" "$T/dirsync.conf"
	kill -HUP "$DPID"
	for i in $(seq 1 100); do
		[ "$(grep -c 'configuration reloaded' "$T/daemon.log")" -ge "$2" ] &&
			break
		sleep 0.1
	done
}
limit_reload 's/^max_delete_percent = 100$/max_delete_percent = 1/' 2
ldapmod <<'EOF'
dn: CN=Zoe Kowalski,OU=Office,OU=Staff,DC=example,DC=com
changetype: delete

dn: CN=Yara Haddad,OU=Office,OU=Staff,DC=example,DC=com
changetype: delete
EOF
wait_log 'stopped by safety limit max_delete_percent' 15 ||
	w_fail "the deletes did not stop at max_delete_percent"
stops=$(sqlite3 "$T/state.db" 'SELECT count(*) FROM runs')
for n in 1 2 3; do
	printf 'dn: CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com\nchangetype: modify\nreplace: displayName\ndisplayName: Emma While Stopped %s\n' "$n" |
		ldapmod
	sleep 1.5
done
wait_log 'waits at a safety limit make no run' 5 ||
	w_fail "the daemon does not say why the changes make no run"
[ "$(sqlite3 "$T/state.db" 'SELECT count(*) FROM runs')" = "$stops" ] ||
	w_fail "runs made while the stop waits: $stops -> $(sqlite3 "$T/state.db" 'SELECT count(*) FROM runs')"
[ "$(sqlite3 "$T/mail.db" "SELECT active FROM mailbox WHERE username='zoe.kowalski@example.com'")" = 1 ] ||
	w_fail "the stopped run applied the disable"
# the limit raised again (a reload): the next change runs, and takes all
limit_reload 's/^max_delete_percent = 1$/max_delete_percent = 100/' 3
printf 'dn: CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com\nchangetype: modify\nreplace: displayName\ndisplayName: Emma After Stop\n' |
	ldapmod
s=$(wait_sql "SELECT name FROM mailbox WHERE username='emma.novak@example.com'" "Emma After Stop" 15) || exit 1
[ "$(sqlite3 "$T/mail.db" "SELECT active FROM mailbox WHERE username='zoe.kowalski@example.com'")" = 0 ] ||
	w_fail "the leaver's mailbox not disabled once the limit was raised"

ds_step "the account's password changes: the watch gives up once, no retries"
ldapmod <<EOF
dn: $SLAPD_BIND_DN
changetype: modify
replace: userPassword
userPassword: changed-$RANDOM
EOF
slapd_stop
slapd_start || ds_fail "slapd_start (password changed)"
[ "$SLAPD_PORT" = "$port" ] || ds_fail "slapd came back on another port (taken meanwhile)"
wait_log 'error: watch: .*invalid credentials.*not watching' 30 ||
	w_fail "the watch does not stop after invalid credentials"
n=$(grep -c 'watch: still lost' "$T/daemon.log")
sleep 5
[ "$(grep -c 'error: watch: .*invalid credentials' "$T/daemon.log")" = 1 ] ||
	w_fail "invalid credentials logged $(grep -c 'error: watch: .*invalid credentials' "$T/daemon.log") times"
[ "$(grep -c 'watch: still lost' "$T/daemon.log")" = "$n" ] ||
	w_fail "the watch retried after invalid credentials"
kill -0 "$DPID" 2>/dev/null || w_fail "the daemon died"
# status says so at once, not an hour later when a run fails (found by
# a user trial: it said OK until then)
# (the daemon writes the watch's state within a second or so)
for i in $(seq 1 30); do
	ds_run -- -c "$T/dirsync.conf" status --nagios
	[ "$DS_RC" = 2 ] && break
	sleep 0.1
done
ds_expect_rc 2 "status --nagios with the watch stopped"
grep -q '^DIRSYNC CRITICAL: .*watch stopped .* ago: .*invalid credentials.*until its configuration is reloaded' "$DS_OUT" ||
	ds_fail "status does not name the stopped watch: $(cat "$DS_OUT")"
ds_run -- -c "$T/dirsync.conf" status
ds_expect_rc 1 "status with the watch stopped"
# no run binds either (a user trial: `sync --now` and the schedule still
# ran, each bind counting toward the account's lockout)
ds_run -- -c "$T/dirsync.conf" sync --now
ds_expect_rc 1 "sync --now while the watch's bind met invalid credentials"
grep -q "stopped binding after invalid credentials and does not sync on request" "$DS_ERR" ||
	ds_fail "sync --now does not say why it is refused: $(cat "$DS_ERR")"
sleep 1
grep -q "run [0-9]*: the directory refused the bind" "$T/daemon.log" &&
	w_fail "a run bound with the refused password"

ds_step "password fixed in the directory, reload: watching again"
ldapmod <<EOF
dn: $SLAPD_BIND_DN
changetype: modify
replace: userPassword
userPassword: $SLAPD_BIND_PW
EOF
kill -HUP "$DPID"
# 5: the start, and the reloads of the steps above (two at the limit stop)
for i in $(seq 1 100); do
	[ "$(grep -c 'watch: following changes' "$T/daemon.log")" = 5 ] && break
	sleep 0.1
done
[ "$(grep -c 'watch: following changes' "$T/daemon.log")" = 5 ] ||
	w_fail "the daemon does not watch after the password was fixed"
# the daemon writes the watch's state within a second or so
for i in $(seq 1 50); do
	"$DIRSYNC" -c "$T/dirsync.conf" status --nagios >"$T/status.out" 2>&1 && break
	sleep 0.1
done
grep -q '^DIRSYNC OK: ' "$T/status.out" ||
	ds_fail "status after the watch came back: $(cat "$T/status.out")"
# every run after the first was the watch's (the interval is an hour),
# but for the one after the reload that ended the pause (what changed
# while nothing ran)
others=$(grep -E 'run [0-9]+: done' "$T/daemon.log" | tail -n +$((runs0 + 1)) |
	grep -vc 'triggered by a directory change')
[ "$others" = 1 ] || w_fail "$others runs after the first were not the watch's (1 expected: after the reload)"
grep -q "binding again after the reload (the watch's bind had invalid credentials): one run now" "$T/daemon.log" ||
	w_fail "the reload does not say it ends the pause"

ds_step "SIGTERM between runs, right after the watch began: the daemon exits at once"
# dirsync(8): "between runs the daemon exits at once"; the watcher, which
# the daemon joins, looks at its stop flag every 0.1 s (it waited a whole
# second per ldap_result(): the trial measured 1.5-2.5 s)
t0=$(date +%s%N)
kill -TERM "$DPID"
for i in $(seq 1 250); do
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.02
done
ms=$((($(date +%s%N) - t0) / 1000000))
kill -0 "$DPID" 2>/dev/null && w_fail "the daemon still runs 5s after SIGTERM"
[ "$ms" -lt 600 ] || w_fail "the daemon took $ms ms to exit after SIGTERM"
echo "  exited $ms ms after SIGTERM"
wait "$DPID"
rc=$?
DPID=
[ "$rc" = 0 ] || w_fail "the daemon exited $rc"

mv "$T/daemon.log" "$T/daemon-slapd.log"
ds_step "an LDIF source cannot watch: said once, runs on its interval"
cat >"$T/ldif.conf" <<EOF
[source]
type = ldif
path = $ROOT/examples/company.ldif
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = sqlite://$T/ldif.db
[schedule]
interval = 1h
watch = yes
[state]
path = $T/ldif-state.db
EOF
chmod 600 "$T/ldif.conf"
"$DIRSYNC" -c "$T/ldif.conf" -v daemon -f >"$T/daemon.log" 2>&1 &
DPID=$!
wait_log 'run [0-9]+: done' 30 || w_fail "LDIF: no first run"
wait_log 'watch: the ldif source cannot follow changes; runs every 3600s' 5 ||
	w_fail "LDIF: the daemon does not say it cannot watch"
kill -TERM "$DPID"
wait "$DPID"
DPID=

echo "PASS: test_watch_slapd"
