#!/bin/sh
# Addresses that change hands in one run, on a SCIM server (scimmy behind
# tests/integration/scim/server.mjs, which keeps userName unique: 409),
# a target without a transaction (docs/design.md, "Addresses that change
# hands"): a chain of renames lands in the order that frees each
# userName first, every User stays the same resource (its id, so its
# data), nobody is disabled and no User is created; a rename the server
# refuses makes the renames waiting for it fail too, never a second
# User, and the next run completes the chain; a swap is held.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
MAIL_LIB=$here/lib/mail
. "$MAIL_LIB/common.sh"
. "$here/scim/lib.sh"
DIRSYNC=${DIRSYNC:-$REPO/build/dirsync}
mail_init
scim_deps
scim_start

sync() {
	rc=0
	"$DIRSYNC" -c "$T/dirsync.conf" sync "$@" >"$T/out" 2>&1 || rc=$?
	cat "$T/out" >>"$T/all.out"
}
expect() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; ok "$3"; }

# person CN GUIDBYTE MAIL: an AD user entry on stdout
person() {
	printf 'dn: CN=%s,OU=Staff,DC=example,DC=com\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\ncn: %s\nmail: %s\nobjectGUID:: %s\nuserAccountControl: 512\n\n' \
		"$1" "$1" "$3" "$(printf "\\$(printf '%03o' "$2")\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0" | base64)"
}
# userName -> "id active" of every User, sorted by userName
users() {
	dump | jq -r '.Users[] | "\(.userName) \(.id) \(.active)"' | sort
}
# the id of the User whose externalId begins with 0000000N
id_of() {
	dump | jq -r --arg a "0000000$1" \
		'.Users[] | select(.externalId | startswith($a)) | .id'
}

{ person "Ann Lee" 1 a@example.com; person "Bob Ode" 2 b@example.com
  person "Cy Berg" 3 d@example.com; } >"$T/dir.ldif"
scim_conf "$T/dir.ldif"
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "first sync exit $rc"; }
ann=$(id_of 1) bob=$(id_of 2) cy=$(id_of 3)

# ---- a chain, listed last to first: Ann a -> c, Bob b -> a, Cy d -> b ----
{ person "Cy Berg" 3 b@example.com; person "Bob Ode" 2 a@example.com
  person "Ann Lee" 1 c@example.com; } >"$T/dir.ldif"
# the server refuses Ann's new address: Bob's and Cy's renames wait on
# hers and fail too (409, the userName is still taken), nothing else
ctl POST /faults '{"reject":"c@example.com"}' >/dev/null
sync
[ $rc -ne 0 ] || { cat "$T/out"; fail "a refused rename did not fail the run"; }
grep -q "c@example.com.*HTTP 400" "$T/out" ||
	{ cat "$T/out"; fail "the refused rename is not reported"; }
expect "$(users)" "a@example.com $ann true
b@example.com $bob true
d@example.com $cy true" "a refused rename: no User created, renamed or disabled"
ctl POST /faults '{}' >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "chain sync exit $rc"; }
grep -q "summary: 0 add, 3 update, 0 disable, 0 delete" "$T/out" ||
	{ cat "$T/out"; fail "the chain is not three renames"; }
expect "$(users)" "a@example.com $bob true
b@example.com $cy true
c@example.com $ann true" "each User renamed in place, after the one freeing its userName"
ctl POST /reset >/dev/null
sync
expect "$(ctl GET /stats | jq '.writes // 0')" 0 "no write request after the chain"

# ---- a swap: held, reported, nothing sent --------------------------------
{ person "Ann Lee" 1 a@example.com; person "Bob Ode" 2 c@example.com
  person "Cy Berg" 3 b@example.com; } >"$T/dir.ldif"
ctl POST /reset >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "swap sync exit $rc"; }
grep -q "conflict a@example.com.*a swap or a cycle" "$T/out" &&
	grep -q "conflict c@example.com.*a swap or a cycle" "$T/out" ||
	{ cat "$T/out"; fail "the swap is not reported"; }
expect "$(ctl GET /stats | jq '.writes // 0')" 0 "a swap sends nothing"
echo "test_scim_handover: all passed"
