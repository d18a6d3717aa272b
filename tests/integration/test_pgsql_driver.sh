#!/bin/sh
# The PostgreSQL driver on its own, against a private server: idempotent
# DDL, parameters and boolean results as text, a reconnect after the
# backend is killed (and none inside a transaction), and the errors an
# administrator meets first: missing database, bad password, missing
# grant, a column that is not there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
MAIL_LIB=$here/lib/mail
. "$MAIL_LIB/common.sh"
need_root
mail_init
. "$MAIL_LIB/pg.sh"
pg_start fast

# Link the probe against the objects the binary under test was built from.
objdir=$(dirname "${DIRSYNC:-$REPO/build/dirsync}")/src
objs=$(find "$objdir" -name '*.o' ! -path "$objdir/main.o" | sort)
san=""
ldd "${DIRSYNC:-$REPO/build/dirsync}" | grep -q libasan &&
    san="-fsanitize=address,undefined -fno-sanitize-recover=all"
# shellcheck disable=SC2086
cc $san -std=c11 -D_GNU_SOURCE -I"$REPO/src" -I"$(pg_config --includedir)" \
    -o "$T/probe" "$MAIL_LIB/pgdrv_probe.c" $objs \
    $(pkg-config --libs sqlite3 jansson ldap libpq libcurl libmicrohttpd libxxhash) -llber -lcrypt -largon2 -lm ||
    fail "cannot build the probe"
admin="host=$PG_DIR port=$PG_PORT user=postgres dbname=mail"
probe() {
	o=$("$T/probe" "$1" "$admin" "$2" 2>&1 || true)
	case $o in
	*Sanitizer*) printf '%s\n' "$o" >&2; fail "sanitizer report in step $2" ;;
	esac
	printf '%s\n' "$o"
}
expect() { # output pattern what
	[ -n "${VERBOSE:-}" ] && printf "%s\n" "$1"
	printf '%s\n' "$1" | grep -q -- "$2" || {
		printf '%s\n' "$1" >&2
		fail "$3"
	}
	ok "$3"
}

out=$(probe "$PG_URL" ddl)
expect "$out" '^ok ddl again' "DDL runs twice"
[ "$(pg_sql "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('domain','mailbox','alias','alias_domain')")" = 4 ] ||
    fail "the four tables exist"
[ "$(pg_sql "SELECT data_type FROM information_schema.columns WHERE table_name='mailbox' AND column_name='active'")" = smallint ] ||
    fail "mailbox.active is smallint"

out=$(probe "$PG_URL" rows)
expect "$out" '^ok commit' "insert and update in a transaction"
expect "$out" '^changes 1' "changes() counts rows"
expect "$out" '^row a@example.com c@example.com,d@x.org 1 1$' \
    "text parameters in, boolean results as 1"
expect "$out" '^err target retryable: .*duplicate key.*23505' \
    "a duplicate key names the SQLSTATE"
expect "$out" "^err target retryable: .*duplicate key.*23505.*(127.0.0.1:$PG_PORT/mail)" \
    "a statement error names the server and database"
# Postfix's own query form works on what was written.
[ "$(pg_sql "SELECT goto FROM alias WHERE address='a@example.com' AND active=1")" = "c@example.com,d@x.org" ] ||
    fail "active=1 lookup"

# Inside a transaction statements are pipelined and plain INSERTs go out
# 64 rows at a time: the checks still hold, only later.
out=$(probe "$PG_URL" pipeline)
expect "$out" '^err target retryable: expected 1 row(s) changed, got 0.*\[statement for missing@example.com\]' \
    "a queued update that hits no row fails the commit, naming the row"
expect "$out" '^ok rollback 1$' "rollback after a failed queue"
[ "$(printf '%s\n' "$out" | grep '^row' | head -1)" = "row 0 NULL" ] ||
    fail "nothing of the failed transaction was committed"
ok "nothing of the failed transaction was committed"
expect "$out" '^ok commit 2' "150 queued inserts and an update commit"
expect "$out" '^row 150 changed@example.com$' \
    "every row landed; the update saw the rows held back before it"
expect "$out" 'Key (address)=(p007@example.com) already exists.*SQLSTATE 23505.*\[statement for p064@example.com and 63 more rows\]' \
    "a duplicate inside a multi-row INSERT is reported with its key"
[ "$(printf '%s\n' "$out" | grep '^row' | tail -1)" = "row 0 NULL" ] ||
    fail "the duplicate's transaction left nothing"
ok "the duplicate's transaction left nothing"
pg_sql "DELETE FROM alias" >/dev/null
# put back the row the next checks read
probe "$PG_URL" rows >/dev/null

out=$(probe "$PG_URL" reconnect)
expect "$out" '^ok select after kill' "reconnects once outside a transaction"
expect "$out" '^row a@example.com' "the retried statement returns its row"

out=$(probe "$PG_URL" reconnect-tx)
expect "$out" '^err target retryable: .*lost inside the transaction' \
    "no silent reconnect inside a transaction"
[ "$(pg_sql "SELECT goto FROM alias WHERE address='a@example.com'")" = "c@example.com,d@x.org" ] ||
    fail "the interrupted transaction left no change"

# An existing Postfixadmin-style BOOLEAN active column reads as 1/0.
pg_sql "CREATE TABLE booltest (address text, active boolean); INSERT INTO booltest VALUES ('x', true)" >/dev/null
[ "$(pg_sql "SELECT count(*) FROM booltest WHERE active='1'")" = 1 ] ||
    fail "text '1' compares to a boolean"

base="postgresql://dirsync@127.0.0.1:$PG_PORT"
out=$(probe "$base/nosuchdb?sslmode=disable" ddl)
expect "$out" "^err target .*database nosuchdb does not exist on 127.0.0.1:$PG_PORT; create it with: createdb" \
    "missing database"

: >"$T/empty"; chmod 600 "$T/empty"
out=$(PGPASSFILE=$T/empty PGPASSWORD=wrong probe "$PG_URL" ddl)
expect "$out" '^err auth final: .*password authentication failed for user "dirsync"' \
    "wrong password"
out=$(PGPASSFILE=$T/empty PGPASSWORD=$PG_DIRSYNC_PW probe "$PG_URL" ddl)
expect "$out" '^ok ddl again' "the password from the environment (PGPASSWORD)"
out=$(PGPASSFILE=$T/empty probe "$PG_URL" ddl)
expect "$out" '^err auth final: .*none was found: set PGPASSWORD' \
    "no password at all"
# it names the .pgpass line it looked for, the file, and why none matched
expect "$out" "add the line 127.0.0.1:$PG_PORT:mail:dirsync:PASSWORD to $T/empty (PGPASSFILE; mode 0600): no line matches" \
    "no password: the .pgpass entry and file"
mkdir -p "$T/home"
out=$(unset PGPASSFILE; HOME=$T/home probe "$PG_URL" ddl)
expect "$out" "to $T/home/.pgpass (PGPASSFILE is not set; mode 0600): No such file or directory" \
    "no password: ~/.pgpass missing"
printf '127.0.0.1:%s:mail:dirsync:%s\n' "$PG_PORT" "$PG_DIRSYNC_PW" >"$T/home/.pgpass"
chmod 644 "$T/home/.pgpass"
out=$(unset PGPASSFILE; HOME=$T/home probe "$PG_URL" ddl 2>/dev/null)
expect "$out" "to $T/home/.pgpass (PGPASSFILE is not set; mode 0600): ignored by libpq: group or others may read it" \
    "no password: ~/.pgpass readable by others"
chmod 600 "$T/home/.pgpass"
out=$(unset PGPASSFILE; HOME=$T/home probe "$PG_URL" ddl)
expect "$out" '^ok ddl' "the password from ~/.pgpass"

port2=$(free_port)
out=$(probe "postgresql://dirsync@127.0.0.1:$port2/mail?connect_timeout=2" ddl)
expect "$out" '^err connect retryable: connect: 127.0.0.1:.*Connection refused' \
    "server down"

out=$(probe "postgresql://mailreader@127.0.0.1:$PG_PORT/mail?sslmode=disable" rows)
expect "$out" '^err target retryable: .*permission denied on table alias for user mailreader; GRANT' \
    "missing grant"
expect "$out" "^err target retryable: .*permission denied on table alias.*(127.0.0.1:$PG_PORT/mail)" \
    "a missing grant names the server and database"

out=$(probe "postgresql://mailreader@127.0.0.1:$PG_PORT/postgres?sslmode=require" ddl)
expect "$out" '^err tls' "sslmode is passed through (require, server without TLS)"

pg_sql "ALTER TABLE mailbox DROP COLUMN local_part" >/dev/null
out=$(probe "$PG_URL" columns)
expect "$out" '^err schema final: check schema: mailbox: column "local_part" does not exist' \
    "a missing column is a schema error naming it"

echo "test_pgsql_driver: $CHECKS checks passed"
