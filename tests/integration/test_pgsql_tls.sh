#!/bin/sh
# sslmode and friends in the target URL reach libpq unchanged: a verified
# TLS session to a server with a test CA, and clear refusals when the
# certificate cannot be trusted or the name does not match.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
MAIL_LIB=$here/lib/mail
. "$MAIL_LIB/common.sh"
need_root
mail_init
. "$MAIL_LIB/pg.sh"
PG_TLS=1 pg_start fast
DIRSYNC=${DIRSYNC:-$REPO/build/dirsync}
# password auth only over TLS, as a remote mail database would be set up
sed -i 's/^host /hostssl /' "$PG_DIR/data/pg_hba.conf"
$PG_PSQL -d mail -c 'SELECT pg_reload_conf()' >/dev/null
# Another CA, which did not sign the server's certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
    -keyout "$T/other.key" -out "$T/other.pem" >/dev/null 2>&1

base="postgresql://dirsync@127.0.0.1:$PG_PORT/mail"
cp "$REPO/examples/company.ldif" "$T/directory.ldif"
run() { # URL -> exit code; output in $T/out
	cat >"$T/dirsync.conf" <<CONF
[source]
type = ldif
path = $T/directory.ldif
[scope]
visible_only = yes
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = $1
[state]
path = $T/state.db
CONF
	chmod 600 "$T/dirsync.conf"
	rc=0
	"$DIRSYNC" -c "$T/dirsync.conf" sync >"$T/out" 2>&1 || rc=$?
	[ -z "${VERBOSE:-}" ] || grep error "$T/out"
	return $rc
}

run "$base?sslmode=disable" && fail "plain TCP must be refused (hostssl only)"
grep -q 'accepts user dirsync only over TLS: add sslmode=verify-full' "$T/out" ||
    { cat "$T/out" >&2; fail "plain TCP refused by pg_hba"; }
ok "without TLS the server refuses (pg_hba hostssl)"

run "$base?sslmode=verify-full&sslrootcert=$T/other.pem" && fail "an untrusted certificate must fail"
grep -q 'TLS: .*certificate verify failed' "$T/out" ||
    { cat "$T/out" >&2; fail "untrusted certificate: a TLS error"; }
ok "an untrusted server certificate is a TLS error"

run "postgresql://dirsync@localhost:$PG_PORT/mail?sslmode=verify-full&sslrootcert=$PG_DIR/ca.pem&hostaddr=127.0.0.1" &&
    fail "a name the certificate does not carry must fail"
grep -q 'TLS: .*does not match host name "localhost"' "$T/out" ||
    { cat "$T/out" >&2; fail "wrong name: a TLS error"; }
ok "a host name the certificate does not carry is a TLS error"

run "$base?sslmode=verify-full&sslrootcert=$PG_DIR/ca.pem" ||
    { cat "$T/out" >&2; fail "sync over verified TLS"; }
grep -q '^summary: 70 add' "$T/out" || { cat "$T/out" >&2; fail "70 adds"; }
ok "sync over verified TLS (sslmode=verify-full, sslrootcert)"
[ "$(pg_sql "SELECT count(*) FROM mailbox")" = 22 ] || fail "22 mailboxes"
ok "22 mailboxes written over TLS"

echo "test_pgsql_tls: $CHECKS checks passed"
