#!/bin/sh
# dirsync on an existing Postfixadmin database in PostgreSQL: BOOLEAN
# active columns, foreign keys to `domain`, extra columns, tables owned by
# someone else with only row rights granted to dirsync (no CREATE on the
# schema), and the domains already there, as the Postfixadmin UI made them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
MAIL_LIB=$here/lib/mail
. "$MAIL_LIB/common.sh"
need_root
mail_init
. "$MAIL_LIB/pg.sh"
pg_start fast
DIRSYNC=${DIRSYNC:-$REPO/build/dirsync}

# the Postfixadmin install: tables owned by postgres, not by dirsync
$PG_PSQL -d mail -f "$MAIL_LIB/postfixadmin-pgsql.sql" >/dev/null
$PG_PSQL -d mail >/dev/null <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO postgres;
GRANT SELECT, INSERT, UPDATE, DELETE ON domain, mailbox, alias, alias_domain TO dirsync;
GRANT SELECT ON domain, mailbox, alias, alias_domain TO mailreader;
INSERT INTO domain (domain, description, transport) VALUES
    ('example.com', 'Example Ltd', 'virtual'), ('example.net', '', 'virtual');
SQL
[ "$(pg_sql "SELECT has_schema_privilege('dirsync', 'public', 'CREATE')")" = f ] ||
    fail "dirsync must not be able to create tables here"

cp "$REPO/examples/company.ldif" "$T/directory.ldif"
cat >"$T/dirsync.conf" <<CONF
[source]
type = ldif
path = $T/directory.ldif
[scope]
; the counts below predate the visible_only = no default (issue 9)
visible_only = yes
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = $PG_URL
[state]
path = $T/state.db
CONF
chmod 600 "$T/dirsync.conf"

sync() {
	rc=0
	"$DIRSYNC" -c "$T/dirsync.conf" sync >"$T/sync.out" 2>&1 || rc=$?
	[ $rc = 0 ] || { cat "$T/sync.out" >&2; fail "sync exited $rc"; }
}
# A Postfix example query, run as mailreader (what Postfix would do).
postfix_query() { # map key
	q=$(sed -n 's/^query = //p' "$REPO/examples/postfix/pgsql-$1.cf" |
	    sed "s/%s/$2/")
	psql -X -At "postgresql://mailreader@127.0.0.1:$PG_PORT/mail" -c "$q"
}

sync
grep -q '^summary: 68 add' "$T/sync.out" || { cat "$T/sync.out" >&2; fail "first sync: 68 adds"; }
ok "first sync into Postfixadmin's tables"
grep -q "no table dirsync_managed and this role cannot create it" "$T/sync.out" ||
	fail "no warning that dirsync_managed cannot be created"
# nor dirsync_retired_maildir: said too (a user trial: nothing said)
grep -q "no table dirsync_retired_maildir and this role cannot create it" "$T/sync.out" ||
	fail "no warning that dirsync_retired_maildir cannot be created"
ok "a role that may not create dirsync_managed: warned, ownership in the state"
[ "$(pg_sql "SELECT count(*) FROM mailbox WHERE active")" = 22 ] || fail "22 active mailboxes"
ok "22 active mailboxes (BOOLEAN true)"
[ "$(postfix_query virtual_alias_maps sales@example.com)" = \
    "ben.carter@example.com,chloe.dubois@example.com,daniel.okafor@example.com,emma.novak@example.com,felix.wagner@example.com,grace.liu@example.com" ] ||
    fail "Postfix's alias query on a BOOLEAN schema"
ok "Postfix's alias query works on the BOOLEAN schema"
[ "$(postfix_query virtual_mailbox_maps sam.owusu@example.com)" = "example.com/sam.owusu/" ] ||
    fail "Postfix's mailbox query"
ok "Postfix's mailbox query"
[ "$(pg_sql "SELECT description FROM domain WHERE domain = 'example.com'")" = "Example Ltd" ] ||
    fail "the admin's domain row was changed"
ok "the admin's domain rows are left alone"

sync
grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete' "$T/sync.out" ||
    { cat "$T/sync.out" >&2; fail "a second sync changes nothing (booleans read back as 1/0)"; }
ok "a second sync changes nothing"

sed -i '/^dn: CN=Sam Owusu,/,/^$/s/^userAccountControl: 512$/userAccountControl: 514/' "$T/directory.ldif"
sync
[ "$(pg_sql "SELECT active FROM mailbox WHERE username = 'sam.owusu@example.com'")" = f ] ||
    fail "the leaver's mailbox is active = false"
[ "$(pg_sql "SELECT string_agg(active::text, ',') FROM alias WHERE address IN ('sam.owusu@example.com', 'sam@example.com')")" = "false,false" ] ||
    fail "the leaver's aliases are active = false"
ok "the leaver is disabled (BOOLEAN false), row and mail kept"
[ -z "$(postfix_query virtual_mailbox_maps sam.owusu@example.com)" ] ||
    fail "Postfix no longer finds the leaver"
ok "Postfix no longer finds the leaver"

# A column dirsync needs is missing: nothing is changed, the error names it.
pg_sql "ALTER TABLE alias RENAME COLUMN goto TO destination" >/dev/null
rc=0
"$DIRSYNC" -c "$T/dirsync.conf" sync >"$T/sync.out" 2>&1 || rc=$?
[ $rc = 1 ] || { cat "$T/sync.out" >&2; fail "a schema error exits 1 (got $rc)"; }
grep -q 'check schema: alias: .*column "goto" does not exist' "$T/sync.out" ||
    { cat "$T/sync.out" >&2; fail "the schema error names table and column"; }
ok "a missing column stops the run, naming table and column"

echo "test_pgsql_postfixadmin: $CHECKS checks passed"
