#!/bin/sh
# The SQLite target locked by another writer, and read-only: each run
# fails with exit 1 within the bound and applies nothing; the next run,
# with the target free again, converges.
. "$(dirname "$0")/lib.sh"

case_begin target
umask 022
ds -q sync
expect_rc first-sync 0
expect_eq modes "640 600" \
	"$(stat -c %a "$S/mail.db") $(stat -c %a "$S/state.db")"
changed_dir >"$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
max_delete_percent ="
dump >"$S/before.dump"

# 0. a limit stop under -q still reaches stderr (cron mails it)
mkconf "$S/dir.ldif" "[safety]
max_total = 1"
ds -q sync
expect_rc limit-stop-quiet-exit-3 3
expect_in limit-stop-quiet-on-stderr "safety limit max_total exceeded" "$S/err"
expect_eq limit-stop-quiet-stdout-empty "" "$(cat "$S/out")"
unchanged limit-stop-nothing-applied "$S/before.dump"
mkconf "$S/dir.ldif" "[safety]
max_delete_percent ="

# 1. another process holds the write lock for 30 s
python3 - "$S/mail.db" "$S/locked" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(30)
PY
locker=$!
while [ ! -f "$S/locked" ]; do sleep 0.05; done
t0=$(date +%s)
ds -q sync
t1=$(date +%s)
expect_rc locked-exit-1 1
if [ $((t1 - t0)) -le 20 ]; then
	pass "locked-gives-up-in-$((t1 - t0))s"
else
	fail locked-bounded "took $((t1 - t0)) s"
fi
expect_in locked-says-why "locked" "$S/err"
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
unchanged locked-nothing-applied "$S/before.dump"
snap before

# 2. read-only: the mail database belongs to root, dirsync runs as nobody
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chown -R nobody "$S"
	chown root "$S/mail.db"
	chmod 644 "$S/mail.db"
	runuser -u nobody -- "$DIRSYNC" -q -c "$S/dirsync.conf" sync \
		>"$S/out" 2>"$S/err"
	rc=$?
	expect_rc read-only-exit-1 1
	expect_in read-only-says-why "readonly" "$S/err"
	expect_in read-only-names-the-file "$S/mail.db: attempt to write" "$S/err"
	unchanged read-only-nothing-applied "$S/before.dump"
	# the file writable, its directory not (no journal can be made)
	mkdir "$S/ro"
	mv "$S/mail.db" "$S/ro/mail.db"
	chown nobody "$S/ro/mail.db"
	sed "s|^url = .*|url = sqlite://$S/ro/mail.db|" "$S/dirsync.conf" \
		>"$S/ro.conf"
	chown nobody "$S/ro.conf"
	chmod 600 "$S/ro.conf"
	runuser -u nobody -- "$DIRSYNC" -q -c "$S/ro.conf" sync \
		>"$S/out" 2>"$S/err"
	rc=$?
	expect_rc read-only-dir-exit-1 1
	expect_in read-only-dir-names-the-file "$S/ro/mail.db: " "$S/err"
	mv "$S/ro/mail.db" "$S/mail.db"
	rm -rf "$S/ro" "$S/ro.conf"
	chown -R root "$S"
else
	echo "SKIP faults/target/read-only (needs root and a nobody user)"
fi
converged free-again
