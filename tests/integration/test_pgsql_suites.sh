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
DIRSYNC_TEST_TARGET_RESET="$PG_PSQL -d mail -c 'DROP TABLE IF EXISTS domain, mailbox, alias, alias_domain, dirsync_managed, dirsync_retired_maildir, dirsync_change_counter CASCADE'"
# a case's own SQL, run as dirsync (the owner of the tables)
DIRSYNC_TEST_TARGET_SQL="psql -X -q -v ON_ERROR_STOP=1 '$PG_URL' -f"
export DIRSYNC_TEST_TARGET_URL DIRSYNC_TEST_TARGET_RESET DIRSYNC_TEST_TARGET_SQL

# A case failing on PostgreSQL fails this test unless it fails the same
# way on SQLite too (then it is the engine's, and reported as such).
rc=0
ran=0
for suite in golden cli; do
	runner=$REPO/tests/$suite/run.sh
	[ -f "$runner" ] || continue
	ran=$((ran + 1))
	sh "$runner" "$DIRSYNC" >"$T/$suite.pg" 2>&1 || true
	(
		unset DIRSYNC_TEST_TARGET_URL DIRSYNC_TEST_TARGET_RESET \
		    DIRSYNC_TEST_TARGET_SQL
		sh "$runner" "$DIRSYNC" >"$T/$suite.sqlite" 2>&1 || true
	)
	grep '^FAIL' "$T/$suite.pg" | awk '{print $2}' | sort >"$T/$suite.pgfail"
	grep '^FAIL' "$T/$suite.sqlite" | awk '{print $2}' | sort >"$T/$suite.sqfail"
	npass=$(grep -c '^PASS' "$T/$suite.pg" || true)
	only_pg=$(comm -23 "$T/$suite.pgfail" "$T/$suite.sqfail")
	both=$(comm -12 "$T/$suite.pgfail" "$T/$suite.sqfail")
	if [ -n "$both" ]; then
		echo "pgsql: $suite: failing on SQLite as well (engine):" $both
	fi
	if [ -n "$only_pg" ]; then
		for c in $only_pg; do
			sed -n "/^FAIL $(echo "$c" | sed 's#/#\\/#g')\$/,/^\(PASS\|FAIL\) /p" \
			    "$T/$suite.pg" | head -40 >&2
		done
		echo "FAIL: $suite cases failing only on PostgreSQL:" $only_pg >&2
		rc=1
	else
		echo "pgsql: $suite suite: $npass passed on PostgreSQL, no case fails only there"
	fi
done
[ "$ran" -gt 0 ] || fail "no suite found under $REPO/tests"
exit $rc
