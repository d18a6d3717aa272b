#!/bin/bash
# test_held_slapd.sh - [safety] hold_removals against a real slapd with
# syncprov, where reads are incremental (found by a user trial): a run
# that held removals back is a successful run for what it applied, so
# the next run reads incrementally (its read is not taken for one whose
# mail database changes failed), is recorded as held again (not
# limit-stop), holds the same removals, and `dirsync approve` of the
# newest held run applies them.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIRSYNC=${DIRSYNC:-$ROOT/build/dirsync}
. "$HERE/slapd/slapd.sh"
. "$HERE/lib/ldap/dstest.sh"

T=$(mktemp -d /tmp/dirsync-held.XXXXXX)
cleanup()
{
	slapd_stop
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

ldapmod()
{
	ldapmodify -x -H "$SLAPD_URI" -D "cn=admin,dc=example,dc=com" \
		-w "$SLAPD_BIND_PW" >"$T/ldapmodify.out" 2>&1 ||
		{ cat "$T/ldapmodify.out" >&2; ds_fail "ldapmodify"; }
}
last_run()
{
	"$DIRSYNC" -c "$T/dirsync.conf" history -n 1 --json | jq '.[0].run_id'
}
# report JQ: the last run's stored report, filtered
report()
{
	"$DIRSYNC" -c "$T/dirsync.conf" show "$(last_run)" --json | jq -r "$1"
}

ds_step "slapd with syncprov: provision, load, start"
SLAPD_SYNCPROV=1
ds_slapd_company
slapd_start || ds_fail "slapd_start"
ds_secret "$T/bind.secret" "$SLAPD_BIND_PW"
cat >"$T/dirsync.conf" <<EOF
[source]
type = ldap
uri = $SLAPD_URI
bind_dn = $SLAPD_BIND_DN
bind_password_file = $T/bind.secret
base_dn = dc=example,dc=com
timeout = 5s
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = sqlite://$T/mail.db
[safety]
max_deletes = 0
hold_removals = yes
[state]
path = $T/state.db
EOF
chmod 600 "$T/dirsync.conf"

ds_step "two syncs: full, then incremental"
ds_run -- -c "$T/dirsync.conf" sync
ds_expect_rc 0 "first sync"
ds_run -- -c "$T/dirsync.conf" sync
ds_expect_rc 0 "second sync"
[ "$(report .read)" = incremental ] || ds_fail "setup: the second read is $(report .read)"

ds_step "a leaver and a rename: the rename applied, the disable held"
ldapmod <<'EOF'
dn: CN=Ben Carter,OU=Sales,OU=Staff,DC=example,DC=com
changetype: delete

dn: CN=Emma Novak,OU=Sales,OU=Staff,DC=example,DC=com
changetype: modify
replace: displayName
displayName: Emma Held
EOF
ds_run -- -c "$T/dirsync.conf" sync
ds_expect_rc 3 "the held run"
[ "$(sqlite3 "$T/mail.db" "SELECT name FROM mailbox WHERE username='emma.novak@example.com'")" = "Emma Held" ] ||
	ds_fail "the held run did not apply the rename"
[ "$(sqlite3 "$T/mail.db" "SELECT active FROM mailbox WHERE username='ben.carter@example.com'")" = 1 ] ||
	ds_fail "the held run disabled Ben"

ds_step "the next runs, nothing changed: incremental, held again, recorded as held"
for i in 1 2; do
	ds_run -- -c "$T/dirsync.conf" sync
	ds_expect_rc 3 "run $i after the held one"
	[ "$(report .read)" = incremental ] ||
		ds_fail "run $i after the held one read $(report .read): $(report .read_detail.fallback_reason)"
	[ "$(report '.limit_exceeded.held')" = true ] ||
		ds_fail "run $i after the held one did not hold the removal: $(report .limit_exceeded)"
	grep -q "would be applied" "$DS_OUT" && ds_fail "a real sync says 'would be applied': $(cat "$DS_OUT")"
	"$DIRSYNC" -c "$T/dirsync.conf" history -n 1 >"$T/hist.out"
	grep -q ' held ' "$T/hist.out" || ds_fail "history does not show the run as held: $(cat "$T/hist.out")"
done
[ "$(sqlite3 "$T/mail.db" "SELECT active FROM mailbox WHERE username='ben.carter@example.com'")" = 1 ] ||
	ds_fail "a later run disabled Ben without approval"

ds_step "approve the newest held run: the disable is applied"
ds_run -- -c "$T/dirsync.conf" approve "$(last_run)"
ds_expect_rc 0 "approve"
[ "$(sqlite3 "$T/mail.db" "SELECT active FROM mailbox WHERE username='ben.carter@example.com'")" = 0 ] ||
	ds_fail "approve did not disable Ben"
ds_run -- -c "$T/dirsync.conf" sync
ds_expect_rc 0 "the sync after the approval"
echo "PASS: test_held_slapd"
