#!/bin/bash
# The directory server killed (-9) and stopped (SIGSTOP) in the middle of
# a paged read: exit 1, nothing applied, and the next run converges.  Then
# the secrets test: known test secrets (the bind password, an SMTP and a
# PostgreSQL password handed over in the environment) are searched in the
# output, the reports and history, the state and mail databases,
# /proc/PID/environ and argv of a running sync, and a forced core dump:
# none may be found.  Skips without slapd.
. "$(dirname "$0")/lib.sh"
CASE=slapd
if [ ! -x /usr/sbin/slapd ] || [ ! -x /usr/sbin/slapadd ]; then
	echo "SKIP faults/slapd (slapd not installed)"
	exit 0
fi
. "$REPO/tests/integration/slapd/slapd.sh"
case_begin slapd
trap 'slapd_stop' EXIT
slapd_init "$S/slapd" "dc=example,dc=com" >"$S/init.log" 2>&1 ||
	{ fail slapd-init "$(tail -3 "$S/init.log")"; exit 1; }
# 30,000 accounts without mail first, so the read takes a while and a
# read cut short has seen none of the company's people
python3 - "$S/bulk.ldif" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("dn: ou=Bulk,dc=example,dc=com\nobjectClass: organizationalUnit\n"
            "ou: Bulk\n\n")
    for i in range(30000):
        f.write("dn: uid=bulk%05d,ou=Bulk,dc=example,dc=com\n"
                "objectClass: inetOrgPerson\nuid: bulk%05d\ncn: Bulk %05d\n"
                "sn: Bulk\n\n" % (i, i, i))
PY
python3 "$REPO/tests/integration/lib/ldap/adldif.py" openldap "$COMPANY" \
	>"$S/company.ldif"
slapd_load "$S/bulk.ldif" >"$S/load.log" 2>&1 &&
	slapd_load "$S/company.ldif" >>"$S/load.log" 2>&1 &&
	slapd_start >>"$S/load.log" 2>&1 ||
	{ fail slapd-start "$(tail -3 "$S/load.log")"; exit 1; }

BIND_PW=$SLAPD_BIND_PW
SMTP_PW=smtp-Secret-$RANDOM$RANDOM
PG_PW=pg-Secret-$RANDOM$RANDOM
cat >"$S/dirsync.conf" <<EOF
[source]
type = ldap
uri = $SLAPD_URI
bind_dn = $SLAPD_BIND_DN
base_dn = dc=example,dc=com
page_size = 100
timeout = 2s
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = sqlite://$S/mail.db
[state]
path = $S/state.db
EOF
chmod 600 "$S/dirsync.conf"
export DIRSYNC_BIND_PASSWORD=$BIND_PW DIRSYNC_SMTP_USER=relay \
	DIRSYNC_SMTP_PASSWORD=$SMTP_PW PGPASSWORD=$PG_PW

ds -q sync
expect_rc first-sync 0
ds -q sync
expect_rc second-sync-nothing-to-do 0
dump >"$S/before.dump"

# wait_reading PID: until the sync has a connection to slapd open
wait_reading() {
	local i
	for i in $(seq 1 200); do
		ss -Htnp "( dport = :$SLAPD_PORT )" 2>/dev/null | grep -q "pid=$1," && return 0
		sleep 0.02
	done
	return 1
}

# 1. slapd killed with -9 in the middle of the read
"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err" &
p=$!
wait_reading $p && sleep 0.2
kill -KILL "$SLAPD_PID"
wait $p
rc=$?
SLAPD_PID=
expect_rc killed-mid-read-exit-1 1
unchanged killed-mid-read-nothing-applied "$S/before.dump"
slapd_start >>"$S/load.log" 2>&1 || fail slapd-restart "$(tail -3 "$S/load.log")"
sed -i "s|^uri = .*|uri = $SLAPD_URI|" "$S/dirsync.conf"
converged killed-mid-read

# 2. slapd stopped (SIGSTOP) mid-read: the 2 s timeout bounds the wait
"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err" &
p=$!
wait_reading $p && sleep 0.2
t0=$(date +%s)
kill -STOP "$SLAPD_PID"

# 3. secrets, while that sync waits on the stopped server: its argv, its
# environment block, and a core dump forced out of it
if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null >"$S/environ"; then
	:
fi
tr '\0' ' ' <"/proc/$p/cmdline" >"$S/cmdline" 2>/dev/null
mkdir -p "$S/cores"
( cd "$S/cores" && ulimit -c unlimited && sleep 30 ) &
ctl=$!
sleep 0.2
kill -SEGV "$(pgrep -P $ctl sleep || echo $ctl)" 2>/dev/null
wait $ctl 2>/dev/null
ctl_cores=$(ls "$S/cores" | wc -l)
rm -f "$S/cores"/*
wait $p
rc=$?
t1=$(date +%s)
expect_rc stopped-mid-read-exit-1 1
if [ $((t1 - t0)) -le 15 ]; then
	pass "stopped-mid-read-gives-up-in-$((t1 - t0))s"
else
	fail stopped-mid-read-bounded "took $((t1 - t0)) s"
fi
unchanged stopped-mid-read-nothing-applied "$S/before.dump"

# the core of dirsync itself: same shell limits, SIGSEGV while it waits
(
	cd "$S/cores" && ulimit -c unlimited &&
	exec "$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/core.out" 2>&1
) &
p=$!
wait_reading $p || sleep 1
kill -SEGV $p
{ wait $p; } 2>/dev/null
core_rc=$?
kill -CONT "$SLAPD_PID"
if [ "$ctl_cores" -gt 0 ]; then
	expect_eq "core-dump-of-dirsync-none (sleep gave $ctl_cores, rc $core_rc)" 0 \
		"$(ls "$S/cores" | wc -l)"
else
	echo "SKIP faults/slapd/core-dump (this machine writes no core files at all)"
fi
converged stopped-mid-read

# the places a secret could have leaked to
"$DIRSYNC" -c "$S/dirsync.conf" history --json >"$S/history.json" 2>&1
id=$(sqlite3 "$S/state.db" "SELECT max(id) FROM runs")
"$DIRSYNC" -c "$S/dirsync.conf" show "$id" --json >"$S/show.json" 2>&1
"$DIRSYNC" -c "$S/dirsync.conf" check >"$S/check.out" 2>&1
"$DIRSYNC" -v -v -c "$S/dirsync.conf" sync >"$S/verbose.out" 2>&1
for pw in "$BIND_PW" "$SMTP_PW" "$PG_PW"; do
	found=$(grep -l -a -F -e "$pw" "$S/out" "$S/err" "$S/history.json" \
		"$S/show.json" "$S/check.out" "$S/verbose.out" "$S/state.db" \
		"$S/mail.db" "$S/environ" "$S/cmdline" "$S/cores"/* 2>/dev/null |
		xargs -r -n1 basename | tr '\n' ' ')
	expect_eq "secret-${pw%%-*}-found-nowhere" "" "$found"
done
if [ -s "$S/environ" ]; then
	expect_eq environ-keeps-no-secret-variable "" \
		"$(grep -E '^(DIRSYNC_BIND_PASSWORD|DIRSYNC_SMTP_PASSWORD|PGPASSWORD)=.' "$S/environ")"
else
	fail environ-read "could not read /proc/PID/environ"
fi
