#!/bin/sh
# PostgreSQL: a row lock held by another session (the sync waits at most
# lock_timeout, 10 s), and the sync's own backend stopped (SIGSTOP) while
# it waits (dirsync's watchdog cuts it off statement_timeout + 10 s after
# the call).  Each exits 1 saying so and applies nothing; the next run
# converges.  Skips without PostgreSQL's server binaries.
. "$(dirname "$0")/lib.sh"
CASE=pgsql
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
	echo "SKIP faults/pgsql (needs root and PostgreSQL's server binaries)"
	exit 0
fi
T=$FAULTS_TMP/pgsql-server
mkdir -p "$T"
chmod 755 "$T"
_exit_cmds=""
at_exit() { _exit_cmds="$1
$_exit_cmds"; }
trap 'printf "%s\n" "$_exit_cmds" | while IFS= read -r c; do [ -n "$c" ] && eval "$c" >/dev/null 2>&1; done' EXIT
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
. "$REPO/tests/integration/lib/mail/pg.sh"
pg_start fast
URL=$PG_URL
case_begin pgsql

dump() {
	pg_sql "SELECT 'mailbox', username, name, active FROM mailbox;"
	pg_sql "SELECT 'alias', address, goto, active FROM alias;"
	pg_sql "SELECT 'domain', domain, active FROM domain;"
}
_dump_sorted() { dump | sort; }

ds -q sync
expect_rc first-sync 0
changed_dir >"$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
max_delete_percent ="
_dump_sorted >"$S/before.dump"

# another session locks Zoe's row, whose address this sync changes
$PG_PSQL -d mail -c "BEGIN; SELECT 1 FROM mailbox WHERE username = 'zoe.kowalski@example.com' FOR UPDATE; SELECT pg_sleep(60); COMMIT;" \
	>/dev/null 2>&1 &
locker=$!
i=0
while [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND state = 'active' AND pid <> pg_backend_pid()")" != 1 ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done
t0=$(date +%s)
ds -q sync
t1=$(date +%s)
expect_rc locked-row-exit-1 1
if [ $((t1 - t0)) -le 25 ]; then
	pass "locked-row-gives-up-in-$((t1 - t0))s"
else
	fail locked-row-bounded "took $((t1 - t0)) s"
fi
expect_in locked-row-says-why "lock_timeout" "$S/err"
_dump_sorted >"$S/now.dump"
if cmp -s "$S/before.dump" "$S/now.dump"; then
	pass locked-row-nothing-applied
else
	fail locked-row-nothing-applied "the mail database changed"
fi
pg_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$locker" 2>/dev/null

# the sync's own backend stops while it waits for the lock: neither
# lock_timeout nor statement_timeout can fire in a stopped process
mkconf "$S/dir.ldif" "[safety]
max_delete_percent =
[target]
statement_timeout = 3s"
$PG_PSQL -d mail -c "BEGIN; SELECT 1 FROM mailbox WHERE username = 'zoe.kowalski@example.com' FOR UPDATE; SELECT pg_sleep(60); COMMIT;" \
	>/dev/null 2>&1 &
locker=$!
sleep 1
t0=$(date +%s)
"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err" &
p=$!
bpid=
i=0
while [ -z "$bpid" ] && [ $i -lt 100 ]; do
	bpid=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'dirsync' AND wait_event_type = 'Lock'")
	i=$((i + 1))
	sleep 0.1
done
if [ -n "$bpid" ]; then
	kill -STOP "$bpid"
	wait $p
	rc=$?
	t1=$(date +%s)
	kill -CONT "$bpid"
	expect_rc stopped-backend-exit-1 1
	if [ $((t1 - t0)) -le 25 ]; then
		pass "stopped-backend-gives-up-in-$((t1 - t0))s"
	else
		fail stopped-backend-bounded "took $((t1 - t0)) s"
	fi
	expect_in stopped-backend-says-why "no answer from the server" "$S/err"
	_dump_sorted >"$S/now.dump"
	if cmp -s "$S/before.dump" "$S/now.dump"; then
		pass stopped-backend-nothing-applied
	else
		fail stopped-backend-nothing-applied "the mail database changed"
	fi
else
	wait $p
	fail stopped-backend "the sync's backend was never seen waiting"
fi
pg_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$locker" 2>/dev/null

# the lock gone: the next run converges (mail tables checked by plan)
ds -q sync
expect_rc lock-gone-sync 0
ds plan
if grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete, 1 conflict, 0 error' "$S/out"; then
	pass lock-gone-converges
else
	fail lock-gone-converges "the plan is not empty"
fi
