#!/bin/sh
# PostgreSQL gone in the middle of an apply: the sync's own backend
# killed (-9; the postmaster then restarts every backend), and the whole
# server stopped (pg_ctl stop -m fast).  The sync changes a few thousand
# rows; another session holds dirsync_managed locked, so the sync is
# caught after every mail row was written, before its commit (the
# ownership records come last in the same transaction).  Each run exits 1
# saying the connection was lost, the server rolled the transaction back
# (the mail tables are as before, nothing half-applied), and the next
# run converges.  Also a read-only database, and a 1 MB displayName
# (cut to the column, warned, not "value too long" every run).  Skips
# without PostgreSQL's server binaries.
. "$(dirname "$0")/lib.sh"
CASE=pgcrash
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
	echo "SKIP faults/pgcrash (needs root and PostgreSQL's server binaries)"
	exit 0
fi
T=$FAULTS_TMP/pgcrash-server
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
case_begin pgcrash
N=${PGCRASH_USERS:-3000}

dump() {
	pg_sql "SELECT 'mailbox', username, name, active FROM mailbox;
		SELECT 'alias', address, goto, active FROM alias;
		SELECT 'domain', domain, active FROM domain;
		SELECT 'managed', address, kind, anchor, disabled_at FROM dirsync_managed;" | sort
}
pg_up() { # waits until the server answers again (after a crash restart)
	i=0
	while ! pg_sql "SELECT 1" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.1
	done
}

ds -q sync
expect_rc first-sync 0
# the change: the example's own (a leaver, a new address, a newcomer)
# and $N more people, so the transaction holds thousands of rows
{ changed_dir; echo; } >"$S/dir.ldif"
python3 "$FAULTS_HERE/gen_groups.py" big "$N" | awk 'BEGIN { RS = ""; ORS = "\n\n" } !/CN=Everyone,/' >>"$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
max_delete_percent ="
dump >"$S/before.dump"

# crash WHAT: a sync, held at dirsync_managed after writing the mail
# rows; then WHAT (kill or stop) while it waits; checks the outcome
crash() {
	what=$1
	$PG_PSQL -d mail -c "BEGIN; LOCK TABLE dirsync_managed IN EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT;" \
		>/dev/null 2>&1 &
	locker=$!
	i=0
	while [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()")" != 1 ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && break
		sleep 0.1
	done
	t0=$(date +%s)
	"$DIRSYNC" -q -c "$S/dirsync.conf" sync >"$S/out" 2>"$S/err" &
	p=$!
	bpid= xid=
	i=0
	while [ -z "$bpid" ] && [ $i -lt 200 ] && kill -0 $p 2>/dev/null; do
		set -- $(pg_sql "SELECT pid, backend_xid FROM pg_stat_activity WHERE application_name = 'dirsync' AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL" | tr '|' ' ')
		bpid=${1:-} xid=${2:-}
		i=$((i + 1))
		sleep 0.05
	done
	if [ -z "$bpid" ]; then
		wait $p
		fail "$what-mid-transaction" "the sync was never seen waiting inside its transaction"
		pg_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
		wait "$locker" 2>/dev/null
		return 0
	fi
	pass "$what-caught-in-transaction-$xid"
	if [ "$what" = kill ]; then
		kill -9 "$bpid"
	else
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
	fi
	wait $p
	rc=$?
	t1=$(date +%s)
	wait "$locker" 2>/dev/null
	sed "s/^/    $what: /" "$S/err"
	expect_rc "$what-exit-1" 1
	if [ $((t1 - t0)) -le 30 ]; then
		pass "$what-gives-up-in-$((t1 - t0))s"
	else
		fail "$what-bounded" "took $((t1 - t0)) s"
	fi
	if grep -qi "connection\|server closed\|terminat" "$S/err"; then
		pass "$what-says-why"
	else
		fail "$what-says-why" "no word of the lost connection"
	fi
	if [ "$what" = stop ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" \
			-l "$PG_DIR/server.log" -w -t 30 start >/dev/null
	fi
	if ! pg_up; then
		fail "$what-server-back" "PostgreSQL did not come back"
		return 0
	fi
	dump >"$S/now.dump"
	if cmp -s "$S/before.dump" "$S/now.dump"; then
		pass "$what-rolled-back"
	else
		fail "$what-rolled-back" "the mail tables changed: $(diff "$S/before.dump" "$S/now.dump" | grep -c '^>') rows"
	fi
}

crash kill
crash stop

# the server whole again: the next run converges
ds -q sync
expect_rc recovery-sync 0
expect_eq recovery-all-there "$((N + 1))" \
	"$(pg_sql "SELECT count(*) FROM mailbox WHERE username ~ '^u[0-9]{7}@example[.]com$' OR username = 'nina.fault@example.com'")"
ds plan
if grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete, 1 conflict, 0 error' "$S/out"; then
	pass recovery-converges
else
	fail recovery-converges "the plan is not empty"
fi

# the database turned read-only (as a hot standby is), while a person
# with a 1 MB displayName arrives: exit 1, nothing applied; writable
# again, the name is cut to what the column holds and the run converges
{
	printf 'dn: CN=Hostile Values,OU=Office,OU=Staff,DC=example,DC=com\n'
	printf 'objectClass: top\nobjectClass: person\nobjectClass: user\n'
	printf 'cn: Hostile Values\nmail: hostile@example.com\n'
	printf 'objectGUID:: //79/Pv6+fj39vX08/Lx8A==\nuserAccountControl: 512\n'
	awk 'BEGIN { printf "displayName: "; for (i = 0; i < 100000; i++) printf "Hostile Va"; print "" }'
	echo
} >>"$S/dir.ldif"
dump >"$S/before.dump"
pg_sql "ALTER DATABASE mail SET default_transaction_read_only = on" >/dev/null
ds -q sync
expect_rc read-only-exit-1 1
expect_in read-only-says-why "read-only transaction" "$S/err"
dump >"$S/now.dump"
if cmp -s "$S/before.dump" "$S/now.dump"; then
	pass read-only-nothing-applied
else
	fail read-only-nothing-applied "the mail tables changed"
fi
$PG_PSQL -d postgres -c "ALTER DATABASE mail SET default_transaction_read_only = off" >/dev/null
ds -q sync
expect_rc long-name-sync 0
expect_eq long-name-cut "255" \
	"$(pg_sql "SELECT char_length(name) FROM mailbox WHERE username = 'hostile@example.com'")"
ds plan
if grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete, 1 conflict, 0 error' "$S/out"; then
	pass long-name-converges
else
	fail long-name-converges "the plan is not empty"
fi
