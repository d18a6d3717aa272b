#!/bin/sh
# The golden and CLI suites once more, with PostgreSQL as the mail
# database instead of SQLite: both back ends must plan and sync alike.
# Each case gets an empty database (the tables are dropped between cases).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
MAIL_LIB=$here/lib/mail
. "$MAIL_LIB/common.sh"
need_root
mail_init
. "$MAIL_LIB/pg.sh"
pg_start fast

DIRSYNC_TEST_TARGET_URL=$PG_URL
# as the superuser: also removes what a case's mail.sql added
DIRSYNC_TEST_TARGET_RESET="$PG_PSQL -d mail -c 'DROP TABLE IF EXISTS domain, mailbox, alias, alias_domain CASCADE'"
# a case's own SQL, run as dirsync (the owner of the tables)
DIRSYNC_TEST_TARGET_SQL="psql -X -q -v ON_ERROR_STOP=1 '$PG_URL' -f"
export DIRSYNC_TEST_TARGET_URL DIRSYNC_TEST_TARGET_RESET DIRSYNC_TEST_TARGET_SQL

rc=0
ran=0
for suite in golden cli; do
	runner=$REPO/tests/$suite/run.sh
	[ -x "$runner" ] || [ -f "$runner" ] || continue
	ran=$((ran + 1))
	if sh "$runner" "$DIRSYNC" >"$T/$suite.out" 2>&1; then
		echo "pgsql: $suite suite: $(tail -n 1 "$T/$suite.out")"
	else
		grep -v '^PASS' "$T/$suite.out" | head -60 >&2
		echo "FAIL: $suite suite against PostgreSQL" >&2
		rc=1
	fi
done
[ "$ran" -gt 0 ] || fail "no suite found under $REPO/tests"
exit $rc
