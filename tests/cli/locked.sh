# passwd-hook while another process holds the mail database locked longer
# than dirsync waits (SQLite's busy timeout, PostgreSQL's lock_timeout:
# 10 s): the ownership record could not be read, which is "the mail
# system is unreachable" (queued under accept, refused under reject),
# never "no mailbox managed" nor a schema problem.  Sourced by run.sh;
# with PostgreSQL (tests/integration/test_pgsql_suites.sh) the lock is
# LOCK TABLE dirsync_managed, and then LOCK TABLE mailbox.

# hold_lock TABLE SECONDS: holds the mail database (SQLite: the whole
# file, BEGIN EXCLUSIVE) or TABLE (PostgreSQL: ACCESS EXCLUSIVE) for at
# most SECONDS in the background, and returns once it is held;
# release_lock ends it.  SECONDS is the 25 s of the user trial: before
# the fix, the hook waited out 10 s on a first table, took the second
# one's timeout for "no table dirsync_managed" and read the lock's end
# as "no mailbox managed"; now it answers at the first timeout.
hold_lock() {
	rm -f "$S/locked"
	if [ -n "$PG" ]; then
		# the server notices a client gone (release_lock) mid-sleep
		printf 'SET client_connection_check_interval = 100;\nBEGIN;\nLOCK TABLE %s IN ACCESS EXCLUSIVE MODE;\n\\! touch %s\nSELECT pg_sleep(%s);\nROLLBACK;\n' \
			"$1" "$S/locked" "$2" >"$S/lock.sql"
		sh -c "exec $DIRSYNC_TEST_TARGET_SQL \"$S/lock.sql\"" >/dev/null 2>&1 &
	else
		python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("begin exclusive")
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
c.execute("rollback")' "$S/mail.db" "$S/locked" "$2" &
	fi
	locker=$!
	_i=0
	while [ ! -e "$S/locked" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

release_lock() {
	kill "$locker" 2>/dev/null
	wait "$locker" 2>/dev/null
	if [ -n "$PG" ]; then   # until the server has let the lock go
		_i=0
		while [ $_i -lt 50 ] && [ "$(q "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'dirsync_managed'::regclass OR mode = 'AccessExclusiveLock' AND relation = 'mailbox'::regclass")" != 0 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
	fi
}

scenario locked
{
	PW="N3w-Passw0rd!x"
	mkconf "$COMPANY"
	ds "$S" sync
	expect_rc locked-sync 0
	cp "$S/dirsync.conf" "$S/accept.conf"
	# the same mail database; another state (and queue) for the reject
	# run, so that its "a newer change supersedes" cannot race the
	# accept run's queued row
	mkconf "$COMPANY" "[passwords]
on_failure = reject"
	sed -i "s|^path = $S/state.db|path = $S/reject-state.db|" "$S/dirsync.conf"
	mv "$S/dirsync.conf" "$S/reject.conf"
	cp "$S/accept.conf" "$S/dirsync.conf"
	printf '%s\n' "$PW" >"$T/pw"
	hold_lock dirsync_managed 25
	"$DIRSYNC" -v -c "$S/accept.conf" passwd-hook \
		--user ben.carter@example.com --no-confirm \
		<"$T/pw" >"$S/accept.out" 2>"$S/accept.err" &
	acc=$!
	"$DIRSYNC" -v -c "$S/reject.conf" passwd-hook \
		--user ben.carter@example.com --no-confirm \
		<"$T/pw" >"$S/reject.out" 2>"$S/reject.err"
	rc_reject=$?
	wait $acc
	rc_accept=$?
	release_lock
	cp "$S/accept.err" "$S/err"
	: >"$S/out"
	rc=$rc_accept
	expect_rc locked-accept-exit 0
	expect_not_in locked-accept-not-unmanaged "no mailbox managed" "$S/accept.err"
	expect_not_in locked-accept-not-schema "Postfixadmin columns" "$S/accept.err"
	expect_not_in locked-accept-no-anchor-as-address "anchor:" "$S/accept.err"
	if [ -n "$PG" ]; then
		expect_in locked-accept-says-lock "another session holds a lock" "$S/accept.err"
	else
		expect_in locked-accept-says-lock "database is locked" "$S/accept.err"
	fi
	expect_in locked-accept-queued "password queued for the next sync" "$S/accept.err"
	expect_eq locked-accept-queue-row 1 \
		"$(sqlite3 "$S/state.db.passwords" "SELECT count(*) FROM pending WHERE confirmed = 1 AND address LIKE 'anchor:%'" 2>&1)"
	rc=$rc_reject
	cp "$S/reject.err" "$S/err"
	expect_rc locked-reject-exit 1
	expect_in locked-reject-says "the mail system is unreachable; refusing the change" "$S/reject.err"
	expect_not_in locked-reject-not-unmanaged "no mailbox managed" "$S/reject.err"
	# the lock gone, the next sync finds the mailbox and writes the hash,
	# and its report says so: a password change (no hash), applied, in
	# the history, though the run takes the fast path (a user trial: a
	# no-change run with no trace of the password it wrote)
	ds "$S" -v sync --json
	expect_rc locked-next-sync 0
	expect_eq locked-next-sync-change '[{"op":"update","kind":"password","address":"ben.carter@example.com","account":"ben.carter@example.com"}]' \
		"$(jq -c '[.changes[] | select(.kind == "password") | {op, kind, address, account}]' "$S/out")"
	expect_eq locked-next-sync-applied 'true 1' "$(jq -r '"\(.applied) \(.summary.update)"' "$S/out")"
	if [ -z "$PG" ]; then   # SQLite's change counter: the fast path
		expect_eq locked-next-sync-fast-path true "$(jq -r .fast_path "$S/out")"
		expect_in locked-next-sync-logged "1 queued password written ahead of the run" "$S/err"
	fi
	expect_not_in locked-next-sync-no-hash '$6$' "$S/out"
	expect_not_in locked-next-sync-no-hash-log '$6$' "$S/err"
	expect_not_in locked-next-sync-no-password "$PW" "$S/out"
	_run=$(jq -r .run_id "$S/out")
	ds "$S" history --json
	expect_eq locked-next-sync-history 'true 1' \
		"$(jq -r --argjson id "$_run" '.[] | select(.run_id == $id) | "\(.applied) \(.summary.update)"' "$S/out")"
	ds "$S" show "$_run"
	expect_in locked-next-sync-show "update  password ben.carter@example.com" "$S/out"
	# written once: the run after it has nothing to report
	ds "$S" sync --json
	expect_eq locked-after-sync 'false 0 0' \
		"$(jq -r '"\(.applied) \(.summary.update) \(.changes | length)"' "$S/out")"
	case $(q "SELECT password FROM mailbox WHERE username = 'ben.carter@example.com'") in
	'{SHA512-CRYPT}$6$'*) pass locked-next-sync-delivers ;;
	*) fail locked-next-sync-delivers "$(q "SELECT password FROM mailbox WHERE username = 'ben.carter@example.com'")" ;;
	esac
	expect_eq locked-queue-empty 0 \
		"$(sqlite3 "$S/state.db.passwords" "SELECT count(*) FROM pending")"
	# PostgreSQL: only the mailbox table locked, the ownership record
	# readable: the schema check that waits for it says "lock", not
	# "the table does not have the Postfixadmin columns"
	if [ -n "$PG" ]; then
		hold_lock mailbox 25
		ds "$S" passwd-hook --user ben.carter@example.com --no-confirm <"$T/pw"
		release_lock
		expect_rc locked-mailbox-accept 0
		expect_in locked-mailbox-says-lock "another session holds a lock" "$S/err"
		expect_not_in locked-mailbox-not-schema "Postfixadmin columns" "$S/err"
		expect_not_in locked-mailbox-no-anchor-as-address "set password: anchor:" "$S/err"
	fi
}
