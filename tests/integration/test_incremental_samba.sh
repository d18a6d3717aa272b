#!/bin/bash
# test_incremental_samba.sh - incremental reads from a real Samba AD DC
# with the DirSync control and its cookie.
#
# As test_incremental_slapd.sh: "inc" (mail database A) runs plain
# `sync`, "full" (B) `sync --full`; after each change in the directory -
# add, modify, rename/move, disable, delete, a membership change, a
# member added to a nested group, an OU moved out of, into and within the
# base and renamed - A must be exactly B.  First a new domain with
# nothing deleted (full reads, saying so; incremental after the first
# delete).  Then a memberOf filter, the daemon in watch mode following a
# change and a delete (change notifications with Show Deleted), the
# snapshot lost and another DC answering (failover).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIRSYNC=${DIRSYNC:-$ROOT/build/dirsync}
. "$HERE/samba/samba.sh"
. "$HERE/lib/ldap/dstest.sh"

if ! samba_can_run "dirsync-probe-$$"; then
	echo "SKIP: test_incremental_samba needs network namespaces (root, ip netns)"
	exit 0
fi

T=$(mktemp -d /tmp/dirsync-incremental-samba.XXXXXX)
WPID=
cleanup()
{
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	samba_stop
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

SVC_PW="Svc-$RANDOM-Dirsync!9"
BASE="DC=example,DC=com"

ds_step "Samba AD: provision, start, load the company over LDAPS"
ds_samba_company "$SVC_PW"
# the account gets "Replicating Directory Changes" (what DirSync asks
# for); nothing is deleted yet (the first step below deletes one object
# so that CN=Deleted Objects holds a tombstone: dirsync reads in full
# until it can see one)
samba_exec samba-tool dsacl set -s "$SAMBA_CONF" --car=get-changes \
	--action=allow --objectdn="$BASE" \
	--trusteedn="CN=svc-dirsync,CN=Users,$BASE" >"$T/dsacl.out" 2>&1 ||
	{ cat "$T/dsacl.out" >&2; ds_fail "samba-tool dsacl set"; }
printf '%s\n' "$SVC_PW" >"$T/bind.secret"
printf '%s\n' "$SAMBA_ADMIN_PW" >"$T/admin.secret"
chmod 600 "$T/bind.secret" "$T/admin.secret"
PWB64=$("$PY" -c 'import base64,sys; print(base64.b64encode(("\"%s\"" % sys.argv[1]).encode("utf-16-le")).decode())' "$SVC_PW")

# conf NAME [URI [BIND_DN SECRET]]
conf()
{
	local name=$1 uri=${2:-$SAMBA_URI} who=${3:-$SAMBA_ADMIN}
	local secret=${4:-$T/admin.secret}
	{
		echo "[source]"
		echo "type = ldap"
		echo "uri = $uri"
		echo "tls_ca_file = $SAMBA_CA"
		echo "bind_dn = $who"
		echo "bind_password_file = $secret"
		echo "base_dn = ${SUBBASE:-$BASE}"
		echo "timeout = 10s"
		echo "[mapping]"
		echo "accepted_domains = example.com example.net"
		echo "domain_rewrite = example.local=example.com"
		echo "[target]"
		echo "url = sqlite://$T/$name.db"
		echo "[safety]"
		echo "max_delete_percent = 100"
		echo "[state]"
		echo "path = $T/$name-state.db"
		[ -z "${EXTRA:-}" ] || printf '%s\n' "$EXTRA"
	} >"$T/$name.conf"
	chmod 600 "$T/$name.conf"
}
conf inc
conf full
# deletes reach DirSync as tombstones, which Samba shows to
# administrators only (even with "Replicating Directory Changes"): a
# plain account gets full reads, and is told why
conf svc "$SAMBA_URI" svc-dirsync@example.com "$T/bind.secret"

admod()
{
	cat >"$T/change.ldif"
	samba_ldif "$T/change.ldif" || ds_fail "ldapmodify on Samba"
}

# both WHAT [MAX_ENTRIES [REASON]]: as in test_incremental_slapd.sh; with
# REASON the run into A must be a full read whose fallback_reason matches
# it.  P=2 (3): the pair inc2.conf/full2.conf instead.
both()
{
	local what=$1 max=${2:-} why=${3:-} P=${P:-}
	ds_run samba_exec -- ${DSV:-} -c "$T/inc$P.conf" sync --json
	ds_expect_rc 0 "$what: incremental sync"
	ds_expect_read "$what" "$max" "$why"
	cp "$DS_OUT" "$T/inc$P.json"; cp "$DS_ERR" "$T/inc$P.err"
	ds_run samba_exec -- -c "$T/full$P.conf" sync --json --full
	ds_expect_rc 0 "$what: full sync"
	ds_read_is full "$what (--full)"
	ds_dump "$T/full$P.db" >"$T/full$P.dump" || ds_fail "dump B"
	ds_same_db "$T/inc$P.db" "$T/full$P.dump" "$what: incremental vs full"
	[ "$(jq -c .summary "$T/inc$P.json")" = "$(jq -c .summary "$DS_OUT")" ] ||
		ds_fail "$what: summaries differ: $(jq -c .summary "$T/inc$P.json") vs $(jq -c .summary "$DS_OUT")"
}

# full_twice NAME WHAT REASON: two runs of NAME.conf; the second still
# reads whole, and its fallback_reason matches REASON (printed)
full_twice()
{
	ds_run samba_exec -- -c "$T/$1.conf" sync --json
	ds_expect_rc 0 "$2: first sync"
	ds_run samba_exec -- -c "$T/$1.conf" sync --json
	ds_expect_rc 0 "$2: second sync"
	echo "   $(jq -r .read_detail.fallback_reason "$DS_OUT")"
	ds_expect_read "$2" "" "$3"
}

ds_step "a new domain, nothing deleted yet: full reads, and the reason says so"
conf fresh
full_twice fresh "nothing deleted yet" \
	"nothing was deleted yet.*or the bind account may not list it"
cat >"$T/tomb.ldif" <<EOF
dn: CN=Tombstone Maker,CN=Users,$BASE
changetype: add
objectClass: contact
cn: Tombstone Maker

dn: CN=Tombstone Maker,CN=Users,$BASE
changetype: delete
EOF
samba_ldif "$T/tomb.ldif" || ds_fail "tombstone"
# the full reads before left a cookie: the first delete makes the next
# run incremental (it said "no snapshot of an earlier read" before)
ds_run samba_exec -- -c "$T/fresh.conf" sync --json
ds_expect_rc 0 "fresh sync after the first delete"
ds_read_is incremental "after the first delete"

ds_step "an account that sees no tombstone: full reads, with the reason"
full_twice svc "svc account" "Deleted Objects"

ds_step "dirsync test says runs can read what changed (DirSync answers with a cookie)"
ds_run samba_exec -- -c "$T/inc.conf" test
grep -q "incremental reads: yes (DirSync control" "$DS_OUT" ||
	ds_fail "test: incremental reads not said: $(grep incremental "$DS_OUT")"

ds_step "first run: full (DirSync cookie, then the paged read)"
ds_run samba_exec -- -c "$T/inc.conf" sync --json
ds_expect_rc 0 "first sync"
ds_read_is full "first sync"
[ -s "$T/inc-state.db.snapshot" ] || ds_fail "no snapshot file"
ds_run samba_exec -- -c "$T/full.conf" sync --json --full
ds_expect_rc 0 "first full sync"
ds_dump "$T/full.db" >"$T/full.dump"
ds_same_db "$T/inc.db" "$T/full.dump" "first runs"

ds_step "no change"
both "no change" 0

ds_step "add a user"
admod <<EOF
dn: CN=Nina New,OU=Sales,OU=Staff,$BASE
changetype: add
objectClass: user
sAMAccountName: nnew
givenName: Nina
sn: New
displayName: Nina New
mail: nina.new@example.com
proxyAddresses: SMTP:nina.new@example.com
unicodePwd:: $PWB64
userAccountControl: 512
EOF
both "add" 3
grep -q '^mailbox: nina.new@example.com|Nina New|' "$T/full.dump" ||
	ds_fail "add: no mailbox for Nina"

ds_step "modify a user: name and an alias"
admod <<EOF
dn: CN=Ben Carter,OU=Sales,OU=Staff,$BASE
changetype: modify
replace: displayName
displayName: Benjamin Carter
-
add: proxyAddresses
proxyAddresses: smtp:bc@example.com
EOF
both "modify" 3
grep -q '^alias: bc@example.com|ben.carter@example.com|' "$T/full.dump" ||
	ds_fail "modify: alias not added"

ds_step "rename and move a user (AD rewrites the groups' member values)"
admod <<EOF
dn: CN=Ivan Petrov,OU=Engineering,OU=Staff,$BASE
changetype: modrdn
newrdn: CN=Ivan Petrov-Smith
deleteoldrdn: 1
newsuperior: OU=Sales,OU=Staff,$BASE
EOF
both "rename/move" 10

ds_step "disable a user"
admod <<EOF
dn: CN=Chloe Dubois,OU=Sales,OU=Staff,$BASE
changetype: modify
replace: userAccountControl
userAccountControl: 514
EOF
both "disable" 3

ds_step "delete a user (a tombstone in Deleted Objects)"
admod <<EOF
dn: CN=Uma Patel,OU=Support,OU=Staff,$BASE
changetype: delete
EOF
both "delete" 10
[ "$(jq -r .read_detail.deleted "$T/inc.json")" -ge 1 ] ||
	ds_fail "delete: read.deleted is $(jq -r .read_detail.deleted "$T/inc.json")"

ds_step "a new user under the deleted one's DN does not inherit her groups"
# AD dropped Uma from Support Team; DirSync does not name the group: the
# snapshot's copy must not make the newcomer a member
admod <<EOF
dn: CN=Uma Patel,OU=Support,OU=Staff,$BASE
changetype: add
objectClass: user
sAMAccountName: upatel2
displayName: Uma Patel
mail: uma.rehired@example.com
unicodePwd:: $PWB64
userAccountControl: 512
EOF
both "same DN again" 10
grep -q '^mailbox: uma.rehired@example.com|' "$T/full.dump" ||
	ds_fail "same DN again: no mailbox for the newcomer"
! grep '^alias: support@example.com|' "$T/full.dump" | grep -q uma.rehired ||
	ds_fail "same DN again: the newcomer is on Support Team's list"

ds_step "group membership change; a member added to a nested group"
admod <<EOF
dn: CN=Sales,OU=Groups,$BASE
changetype: modify
delete: member
member: CN=Felix Wagner,OU=Sales,OU=Staff,$BASE
EOF
both "membership" 3
admod <<EOF
dn: CN=Sales EMEA,OU=Groups,$BASE
changetype: modify
add: member
member: CN=Hannah Schmidt,OU=Engineering,OU=Staff,$BASE
EOF
both "nested member" 3
grep '^alias: sales@example.com|' "$T/full.dump" | grep -q hannah ||
	ds_fail "nested: Hannah not in the Sales list"

ds_step "a second pair reading only OU=Staff, with an exclude on a DN"
SUBBASE="OU=Staff,$BASE" EXTRA="[scope]
exclude = *OU=Brand,*" conf inc2
SUBBASE="OU=Staff,$BASE" EXTRA="[scope]
exclude = *OU=Brand,*" conf full2
P=2 both "OU=Staff: first run" "" "no snapshot"
P=2 both "OU=Staff: no change" 0

ds_step "an OU with its users moved out of the base: a full read"
admod <<EOF
dn: OU=Support,OU=Staff,$BASE
changetype: modrdn
newrdn: OU=Support
deleteoldrdn: 1
newsuperior: $BASE
EOF
P=2 both "OU moved out of the base" "" "an OU was renamed or moved: .*left the base"
[ "$(jq -r .summary.disable "$T/inc2.json")" -ge 1 ] ||
	ds_fail "OU moved out: nothing disabled"
both "OU moved within the base" "" "an OU was renamed or moved: .*is now"
P=2 both "OU=Staff: after the move" 3

ds_step "the OU moved back into the base: a full read"
admod <<EOF
dn: OU=Support,$BASE
changetype: modrdn
newrdn: OU=Support
deleteoldrdn: 1
newsuperior: OU=Staff,$BASE
EOF
P=2 both "OU moved into the base" "" "an OU was created or moved in: .*is new"
both "OU moved back within the base" "" "an OU was renamed or moved"

ds_step "an OU renamed: a full read; [scope] exclude judges the new DNs"
admod <<EOF
dn: OU=Marketing,OU=Staff,$BASE
changetype: modrdn
newrdn: OU=Brand
deleteoldrdn: 1
EOF
P=2 both "OU renamed" "" "an OU was renamed or moved: .*is now"
[ "$(jq -r .summary.disable "$T/inc2.json")" -ge 1 ] ||
	ds_fail "OU renamed: the excluded OU's users were not disabled"
both "OU renamed (base $BASE)" "" "an OU was renamed or moved"
both "after the OU changes" 3

ds_step "a filter on memberOf: incremental reads are off"
conf inc3
conf full3
for c in inc3 full3; do
	sed -i "s/^\[source\]\$/&\nfilter = (|(memberOf=CN=Sales,OU=Groups,$BASE)(objectClass=group))/" "$T/$c.conf"
done
P=3 both "memberOf filter: first run" "" "incremental reads are off: .*memberOf"
admod <<EOF
dn: CN=Sales,OU=Groups,$BASE
changetype: modify
add: member
member: CN=Zoe Kowalski,OU=Office,OU=Staff,$BASE
EOF
P=3 both "memberOf filter: a user joins" "" "incremental reads are off: .*memberOf"
grep -q '^mailbox: zoe.kowalski@example.com|' "$T/full3.dump" ||
	ds_fail "memberOf filter: Zoe has no mailbox"
both "a user joins Sales" 3

ds_step "watch mode: the daemon follows a change (change notifications)"
# its own mail and state database; an hour's interval: only the watch
# can explain the change arriving (SAMBA_WATCH_SECS: how long it may take)
conf watch
printf '[schedule]\ninterval = 1h\nwatch = yes\n' >>"$T/watch.conf"
samba_exec "$DIRSYNC" -c "$T/watch.conf" -v daemon -f >"$T/watch.log" 2>&1 &
WPID=$!
watch_fail()
{
	kill "$WPID" 2>/dev/null
	tail -n 20 "$T/watch.log" >&2
	ds_fail "$@"
}
for i in $(seq 1 300); do
	grep -q 'watch: following changes\|watch: .*cannot be watched' \
		"$T/watch.log" && break
	sleep 0.1
done
grep -q 'watch: following changes on .* (change notifications)' "$T/watch.log" ||
	watch_fail "watch: the daemon does not follow changes on Samba"
t0=$(date +%s.%N)
admod <<EOF
dn: CN=Emma Novak,OU=Sales,OU=Staff,$BASE
changetype: modify
replace: displayName
displayName: Emma Watched
EOF
got=
for i in $(seq 1 $((${SAMBA_WATCH_SECS:-15} * 10))); do
	got=$(sqlite3 "$T/watch.db" \
		"SELECT name FROM mailbox WHERE username='emma.novak@example.com'")
	[ "$got" = "Emma Watched" ] && break
	sleep 0.1
done
[ "$got" = "Emma Watched" ] ||
	watch_fail "watch: the change did not arrive within ${SAMBA_WATCH_SECS:-15}s"
echo "   the change arrived after $(echo "$(date +%s.%N) - $t0" | bc)s"
grep -q 'triggered by a directory change (watch)' "$T/watch.log" ||
	watch_fail "watch: no run triggered by the watch"
# a delete: the object becomes a tombstone in CN=Deleted Objects, which
# the notification search reports only with the Show Deleted control
t0=$(date +%s.%N)
admod <<EOF
dn: CN=Yara Haddad,OU=Office,OU=Staff,$BASE
changetype: delete
EOF
got=
for i in $(seq 1 $((${SAMBA_WATCH_SECS:-15} * 10))); do
	got=$(sqlite3 "$T/watch.db" \
		"SELECT active FROM mailbox WHERE username='yara.haddad@example.com'")
	[ "$got" = 0 ] && break
	sleep 0.1
done
[ "$got" = 0 ] ||
	watch_fail "watch: the delete did not arrive within ${SAMBA_WATCH_SECS:-15}s (active=$got)"
echo "   the delete arrived after $(echo "$(date +%s.%N) - $t0" | bc)s"
kill -TERM "$WPID"
wait "$WPID"
WPID=
# the other two databases follow the same changes
both "after the watch" 10

ds_step "snapshot lost: a full read"
rm -f "$T/inc-state.db.snapshot"
ds_run samba_exec -- -c "$T/inc.conf" sync --json
ds_expect_rc 0 "sync without snapshot"
ds_read_is full "snapshot lost"
both "after the snapshot was lost" 0

ds_step "another DC answers (failover): a full read, with the reason"
conf inc "$SAMBA_PLAIN_URI"
sed -i 's/^timeout = 10s$/&\nstarttls = demand/' "$T/inc.conf"
ds_run samba_exec -- -c "$T/inc.conf" sync --json
ds_expect_rc 0 "sync via another uri"
ds_expect_read "failover" "" "the cookie came from"

echo "ok: DirSync incremental reads give the mail database of a full read"
