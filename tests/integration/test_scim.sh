#!/bin/sh
# dirsync against a third-party SCIM 2.0 server: scimmy + scimmy-routers
# from the npm registry behind a small Express app (tests/integration/scim/
# server.mjs), started here on a free 127.0.0.1 port.  Checks provisioning,
# updates, aliases as further emails, nested lists, leavers, a rename, a
# second run without a write request, the SQL target's summary for the
# same LDIF, `dirsync test`, and the faults: 429 with Retry-After, 503 for a
# while, dropped connections, a user refused with 400, a server that keeps
# failing, a run killed halfway; SPEC's attribute table; passwd-hook's
# `password` (https only, a test override for loopback http; confirmed
# by the directory first; never logged).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
MAIL_LIB=$here/lib/mail
. "$MAIL_LIB/common.sh"
. "$here/scim/lib.sh"
DIRSYNC=${DIRSYNC:-$REPO/build/dirsync}
mail_init
scim_deps
scim_start
GEN="python3 $SCIM_DIR/gen_ldif.py"

# sync [ARGS]: one run; its exit code in $rc, output in $T/out
sync() {
	rc=0
	"$DIRSYNC" -c "$T/dirsync.conf" sync "$@" >"$T/out" 2>&1 || rc=$?
	cat "$T/out" >>"$T/all.out"
}
users() { dump | jq -r '.Users[].userName' | sort; }
user() { dump | jq -c --arg u "$1" '.Users[] | select(.userName == $u)'; }
members() {
	dump | jq -r --arg g "$1" '. as $d | .Groups[] | select(.displayName == $g)
		| .members[].value as $id | $d.Users[] | select(.id == $id)
		| .userName' | sort | tr '\n' ' '
}
expect() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; ok "$3"; }

# ---- the token file is checked like the bind password ------------------
$GEN 1 >"$T/s1.ldif"
scim_conf "$T/s1.ldif"
chmod 644 "$T/token"
sync
[ $rc -ne 0 ] && grep -q "chmod 600" "$T/out" || fail "token_file mode 644 accepted"
chmod 600 "$T/token"
ok "token_file readable by others refused"

# ---- dirsync test: reachable, authorised, what it supports, counts ------
"$DIRSYNC" -c "$T/dirsync.conf" test >"$T/test.out" 2>&1 ||
	{ cat "$T/test.out"; fail "dirsync test"; }
grep -q "supports PATCH yes, ETags yes" "$T/test.out" || fail "test: no server capabilities"
grep -q "authorised; 0 Users, 0 Groups" "$T/test.out" || fail "test: no counts"
ok "dirsync test"

# ---- 1. initial provisioning -------------------------------------------
ctl POST /reset >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "first sync exit $rc"; }
expect "$(users | tr '\n' ' ')" "alice.martin@example.com bob.stone@example.com carol.diaz@example.com dave.kim@example.com erin.moss@example.com " "five Users"
expect "$(user alice.martin@example.com | jq -r '[.emails[].value] | join(" ")')" \
	"alice.martin@example.com alice@example.com ceo@example.com" "aliases as further emails"
expect "$(user alice.martin@example.com | jq -r '.emails[0].primary')" true "primary email"
expect "$(user bob.stone@example.com | jq -r '.externalId | length > 10')" true "externalId = anchor"
# SPEC's attribute table, the enterprise extension for its attributes
ENT=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
expect "$(user alice.martin@example.com | jq -r '[.name.givenName, .name.familyName,
	.name.middleName, .name.honorificSuffix, .name.formatted, .title, .userType] | join("|")')" \
	"Alice|Martin|J|Jr.|Alice Martin|CEO|Employee" "name parts, title, userType"
expect "$(user alice.martin@example.com | jq -r '[.phoneNumbers[] | .type + "=" + .value] | sort | join(",")')" \
	"fax=+49 30 1234-9,home=+49 30 555,mobile=+49 170 1234567,pager=+49 30 1234-99,work=+49 30 1234-0" \
	"phoneNumbers work/mobile/pager/home/fax"
expect "$(user alice.martin@example.com | jq -r '.addresses[] | select(.type == "work") |
	[.streetAddress, .locality, .region, .postalCode, .country, .formatted] | join("|")')" \
	"Hauptstr. 1|Berlin|BE|10115|Germany|Berlin HQ" "addresses[work]"
expect "$(user alice.martin@example.com | jq -r --arg e "$ENT" '.[$e] |
	[.employeeNumber, .department, .organization] | join("|")')" \
	"E-0001|Board|Example AG" "enterprise employeeNumber, department, organization"
expect "$(user alice.martin@example.com | jq -r --arg e "$ENT" '.schemas | index($e) != null')" \
	true "enterprise schema declared"
expect "$(user bob.stone@example.com | jq -r '.displayName + "|" + (.active|tostring)')" "Bob Stone|true" "displayName, active"
expect "$(members eng@example.com)" "carol.diaz@example.com dave.kim@example.com " "list members"
expect "$(members staff@example.com)" "alice.martin@example.com bob.stone@example.com carol.diaz@example.com dave.kim@example.com " "nested list members"
changes() { grep -E '^  (add|update|disable|delete) ' "$1" | grep -v ' domain ' || true; }
changes "$T/out" >"$T/changes.scim"

# ---- the same changes as the SQL target for the same LDIF ---------------
sed -e "s#^type = scim#type = sql#" -e "s#^url = .*#url = sqlite://$T/mail.db#" \
	-e "/^token_file/d" -e "s#^path = $T/state.db#path = $T/sql-state.db#" \
	"$T/dirsync.conf" >"$T/sql.conf"
chmod 600 "$T/sql.conf"
"$DIRSYNC" -c "$T/sql.conf" sync >"$T/sql.out" 2>&1 || { cat "$T/sql.out"; fail "sql sync"; }
# SCIM has no domain object: the SQL target's domain row is the only
# difference, and its summary counts one add more per accepted domain
changes "$T/sql.out" >"$T/changes.sql"
[ -s "$T/changes.sql" ] && diff "$T/changes.sql" "$T/changes.scim" >&2 ||
	fail "the SCIM run planned other changes than the SQL run"
expect "$(grep '^summary:' "$T/out")" \
	"$(grep '^summary:' "$T/sql.out" | sed 's/^summary: 13 add/summary: 12 add/')" \
	"same summary as the SQL target (less its domain row)"

# ---- 2. a second run sends no write request ------------------------------
ctl POST /reset >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "second sync exit $rc"; }
expect "$(writes)" 0 "no write request on a second run"
grep -q "^summary: 0 add, 0 update, 0 disable, 0 delete" "$T/out" || fail "second run planned changes"

# ---- passwd-hook: the `password` attribute, https only, never logged -----
PW='Scim-Pa55word!x'
hook() {   # hook ACCOUNT [ARGS]: the password on stdin; output in $T/hook.out
	a=$1; shift
	rc=0
	printf '%s\n' "$PW" | "$DIRSYNC" -c "$T/dirsync.conf" passwd-hook \
		--user "$a" "$@" >"$T/hook.out" 2>&1 || rc=$?
	cat "$T/hook.out" >>"$T/all.out"
}
pw_of() { dump | jq -r --arg u "$1" '.Users[] | select(.userName == $u) | .password // empty'; }
hook alice.martin@example.com --no-confirm
grep -q "https:// only" "$T/hook.out" || { cat "$T/hook.out"; fail "a password went over http:// without the test override"; }
[ -z "$(pw_of alice.martin@example.com)" ] || fail "password sent over http://"
ok "passwords refused over http:// (on_failure = accept: exit $rc)"
ctl POST /reset >/dev/null
DIRSYNC_TEST_HTTP_PASSWORDS=1 hook alice.martin@example.com --no-confirm
[ $rc -eq 0 ] || { cat "$T/hook.out"; fail "passwd-hook exit $rc"; }
expect "$(pw_of alice.martin@example.com)" "$PW" "password attribute stored by the server"
expect "$(ctl GET /stats | jq '.PATCH // 0')" 1 "one PATCH for the password"
expect "$(pw_of bob.stone@example.com)" "" "nobody else's password"
# confirmed by the directory first (the Samba path): pwdLastSet must move
sed '/^cn: Bob Stone/a pwdLastSet: 100' "$T/s1.ldif" >"$T/pw.ldif"
sed -i "s#^path = .*s1.ldif#path = $T/pw.ldif#" "$T/dirsync.conf"
DIRSYNC_TEST_HTTP_PASSWORDS=1 hook bob.stone@example.com
[ $rc -eq 0 ] || { cat "$T/hook.out"; fail "passwd-hook (confirm) exit $rc"; }
sleep 1
expect "$(pw_of bob.stone@example.com)" "" "not sent before the directory confirms"
sed -i 's/^pwdLastSet: 100/pwdLastSet: 200/' "$T/pw.ldif"
i=0
while [ -z "$(pw_of bob.stone@example.com)" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
expect "$(pw_of bob.stone@example.com)" "$PW" "sent once pwdLastSet moved"
sed -i "s#^path = .*pw.ldif#path = $T/s1.ldif#" "$T/dirsync.conf"
for f in "$T/all.out" "$T/scim.log" "$T"/state.db*; do
	! grep -q "$PW" "$f" || fail "the password appears in $f"
done
ok "the password is in no output, log or state"

# ---- 3. updates, an alias, a rename, a leaver, a new member -------------
$GEN 2 >"$T/s2.ldif"
scim_conf "$T/s2.ldif"
ctl POST /reset >/dev/null
ctl POST /touch '{"userName":"bob.stone@example.com"}' >/dev/null
sync
[ "$(ctl GET /stats | jq '.ifMatch // 0')" -gt 0 ] || fail "no If-Match sent to a server offering ETags"
ok "If-Match sent"
# bob changed behind dirsync's back: 412, read again, sent once more
expect "$(ctl GET /stats | jq '.preconditionFailed // 0')" 1 "a stale If-Match answered 412"

[ $rc -eq 0 ] || { cat "$T/out"; fail "update sync exit $rc"; }
expect "$(user bob.stone@example.com | jq -r .displayName)" "Robert Stone" "displayName updated"
expect "$(user alice.smith@example.com | jq -r '.title + "|" + ([.phoneNumbers[].type] | sort | join(","))')" \
	"Chief Executive|fax,home,mobile,work" "attributes updated, a removed one removed"
expect "$(user carol.diaz@example.com | jq -r '[.emails[].value] | join(" ")')" \
	"carol.diaz@example.com carol@example.com carol.d@example.com" "alias added"
a=$(user alice.smith@example.com)
[ -n "$a" ] || fail "rename: no alice.smith@"
expect "$(echo "$a" | jq -r '[.emails[].value] | sort | join(" ")')" \
	"alice.martin@example.com alice.smith@example.com alice@example.com ceo@example.com" "rename keeps the User, old address an alias"
expect "$(users | grep -c alice)" 1 "rename: one User, not two"
expect "$(user dave.kim@example.com | jq -r .active)" false "leaver disabled (active = false), not deleted"
expect "$(members eng@example.com)" "carol.diaz@example.com erin.moss@example.com " "members follow the directory"
ctl POST /reset >/dev/null
sync
expect "$(writes)" 0 "no write request after the updates"

# ---- 4. faults: 429 + Retry-After, 503 for a while, dropped connections --
$GEN 2 3 >"$T/s3.ldif"
scim_conf "$T/s3.ldif"
ctl POST /faults '{"status":429,"retryAfter":1,"count":2}' >/dev/null
t0=$(date +%s)
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "429 run exit $rc"; }
[ $(($(date +%s) - t0)) -ge 2 ] || fail "Retry-After: 1 not honoured"
expect "$(users | grep -c '^u0000[0-2]@')" 3 "429 with Retry-After: retried, all there"

$GEN 2 6 >"$T/s3.ldif"
ctl POST /faults '{"status":503,"count":3}' >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "503 run exit $rc"; }
expect "$(users | grep -c '^u0000[0-5]@')" 6 "503 for a while: retried"

$GEN 2 9 >"$T/s3.ldif"
ctl POST /faults '{"drop":true,"count":3}' >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "dropped-connection run exit $rc"; }
expect "$(users | grep -c '^u0000[0-8]@')" 9 "dropped connections: retried"
expect "$(users | uniq -d | wc -l)" 0 "no duplicate after dropped connections"

# ---- 5. one user refused with 400: the others land, the next run heals --
$GEN 2 12 >"$T/s3.ldif"
ctl POST /faults '{"reject":"u00010@example.com"}' >/dev/null
sync
[ $rc -ne 0 ] || fail "a refused user did not fail the run"
grep -q "u00010@example.com.*HTTP 400.*rejected by the test server" "$T/out" ||
	{ cat "$T/out"; fail "the refused user is not reported with the server's detail"; }
expect "$(users | grep -c '^u0000[9]@\|^u0001[01]@')" 2 "the others landed"
ctl POST /faults '{}' >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "healing run exit $rc"; }
expect "$(users | grep -c '^u0001[0]@')" 1 "the next run heals"

# ---- 6. a server that keeps failing stops the run -----------------------
# (config, two pages and one write go through, then 503 for good)
$GEN 2 14 >"$T/s3.ldif"
ctl POST /faults '{"status":503,"count":1000,"after":4}' >/dev/null
sync
[ $rc -ne 0 ] && grep -q "keeps failing" "$T/out" || { cat "$T/out"; fail "a failing server did not stop the run"; }
expect "$(users | grep -c '^u0001[23]@')" 1 "the run stopped after what landed"
ctl POST /faults '{}' >/dev/null
ok "a server that keeps failing stops the run"
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "run after the outage exit $rc"; }
expect "$(users | grep -c '^u0001[23]@')" 2 "the next run completes it"

# ---- 7. a run killed halfway, completed by the next ----------------------
$GEN 2 40 >"$T/s3.ldif"
# (4 writes in flight: 250 ms each keeps the run going past the kill)
ctl POST /faults '{"delayMs":250}' >/dev/null
"$DIRSYNC" -c "$T/dirsync.conf" sync >"$T/killed.out" 2>&1 &
pid=$!
sleep 1
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
# u00014 .. u00039 are new
n=$(( $(users | grep -c '^u000[1-3][0-9]@' || true) - 4 ))
[ "$n" -gt 0 ] && [ "$n" -lt 26 ] || fail "kill halfway: $n of 26 new users before the kill"
echo "test_scim: killed with $n of 26 new users on the server"
ctl POST /faults '{}' >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "run after the kill exit $rc"; }
expect "$(users | grep -c '^u000[0-3][0-9]@')" 40 "a killed run completed by the next"
expect "$(users | uniq -d | wc -l)" 0 "no duplicate after the kill"
ctl POST /reset >/dev/null
sync
expect "$(writes)" 0 "no write request after the recovery"

# ---- the token never leaves token_file ------------------------------------
tok=$(cat "$T/token")
for f in "$T/all.out" "$T/test.out" "$T/state.db"; do
	! grep -q "$tok" "$f" || fail "the token appears in $f"
done
ok "the token is in no output, report or state"
"$DIRSYNC" -c "$T/dirsync.conf" test >"$T/test.out" 2>&1 || fail "dirsync test after"
grep -q "authorised; 45 Users, 2 Groups" "$T/test.out" || { cat "$T/test.out"; fail "test counts"; }
ok "dirsync test counts"

# ---- 8. removals held back (hold_removals) while a user fails -----------
# exit 3 says the hold; the failure beside it is said too, not hidden
# behind it, and the approval applies the held disable
$GEN 2 42 | awk -v RS= -v ORS='\n\n' '!/u00000@example.com/' >"$T/s8.ldif"
scim_conf "$T/s8.ldif"
ctl POST /faults '{"reject":"u00041@example.com"}' >/dev/null
sed -i 's/^\[safety\]$/&\nmax_deletes = 0\nhold_removals = yes/' "$T/dirsync.conf"
sync
[ $rc -eq 3 ] || { cat "$T/out"; fail "held run with a failure: exit $rc, not 3"; }
grep -q "HELD BACK: .*applied, but for those that failed" "$T/out" &&
	grep -q "u00041@example.com.*HTTP 400" "$T/out" ||
	{ cat "$T/out"; fail "held run: the failure is not said beside the hold"; }
expect "$(users | grep -c '^u0004[01]@')" 1 "held run: the other add landed"
expect "$(user u00000@example.com | jq -r .active)" true "held run: the disable waits"
held=$("$DIRSYNC" -c "$T/dirsync.conf" history --json | jq '.[0].run_id')
ctl POST /faults '{}' >/dev/null
rc=0
"$DIRSYNC" -c "$T/dirsync.conf" approve "$held" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat "$T/out"; fail "approve of the held run: exit $rc"; }
expect "$(user u00000@example.com | jq -r .active)" false "approved: the held disable applied"

# ---- membership PATCHes are bounded: 100 removes per request ------------
$GEN 2 110 110 >"$T/s4.ldif"
scim_conf "$T/s4.ldif"
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "big list sync exit $rc"; }
expect "$(members big@example.com | wc -w)" 110 "a list of 110 members"
$GEN 2 110 3 >"$T/s4.ldif"
ctl POST /reset >/dev/null
sync --force-limits   # over max_member_removal_percent, on purpose
[ $rc -eq 0 ] || { cat "$T/out" >&2; fail "big list shrink exit $rc"; }
expect "$(members big@example.com)" "u00000@example.com u00001@example.com u00002@example.com " "107 members removed"
expect "$(ctl GET /stats | jq '.PATCH // 0')" 2 "in 2 PATCH requests (100 removes each at most)"
# ---- contacts and list aliases: skipped, counted, named, exit 0 ---------
cat >"$T/s5.ldif" <<'EOF'
version: 1

dn: CN=Ann Lee,OU=Staff,DC=example,DC=com
objectClass: user
cn: Ann Lee
mail: ann@example.com
objectGUID:: AQAAAAAAAAAAAAAAAAAAAg==
userAccountControl: 512

dn: CN=Mo Vend,OU=Contacts,DC=example,DC=com
objectClass: contact
cn: Mo Vend
mail: mo@vendor.com
proxyAddresses: SMTP:mo@vendor.com
proxyAddresses: smtp:mo@example.com
objectGUID:: AQAAAAAAAAAAAAAAAAAAAw==

dn: CN=Crew,OU=Groups,DC=example,DC=com
objectClass: group
cn: Crew
mail: team@example.com
proxyAddresses: SMTP:team@example.com
proxyAddresses: smtp:crew@example.com
member: CN=Ann Lee,OU=Staff,DC=example,DC=com
member: CN=Mo Vend,OU=Contacts,DC=example,DC=com
objectGUID:: AQAAAAAAAAAAAAAAAAAABA==

dn: CN=Vendors,OU=Groups,DC=example,DC=com
objectClass: group
cn: Vendors
mail: vendors@example.com
member: CN=Mo Vend,OU=Contacts,DC=example,DC=com
objectGUID:: AQAAAAAAAAAAAAAAAAAABQ==
EOF
scim_conf "$T/s5.ldif" "$T/skip-state.db"
rc=0
"$DIRSYNC" -c "$T/dirsync.conf" sync --json >"$T/skip.json" 2>>"$T/all.out" || rc=$?
[ $rc -eq 0 ] || { cat "$T/skip.json"; fail "skips: exit $rc"; }
# what SCIM cannot hold is left out of the plan (never planned, never
# counted as applied), each named with the reason: a contact, an alias of
# a list, a list member that is not a User, a list with no other member
expect "$(jq -c '.summary | [.add, .update, .applied, .failed, .skipped]' "$T/skip.json")" \
	"[2,0,2,0,5]" "contact, list alias, contact member skipped, counted"
expect "$(jq -c '[.changes[] | .op + " " + .kind + " " + .address] | sort' "$T/skip.json")" \
	'["add list team@example.com","add mailbox ann@example.com"]' "only what SCIM holds planned"
jq -r '.warnings[]' "$T/skip.json" >"$T/skip.warn"
grep -q '^mo@example.com: skipped: a contact: SCIM has no resource' "$T/skip.warn" &&
	grep -q '^crew@example.com: skipped: an address of a list: a SCIM Group' "$T/skip.warn" &&
	grep -q '^team@example.com: skipped: member mo@vendor.com: not a User' "$T/skip.warn" &&
	grep -q '^vendors@example.com: skipped: member mo@vendor.com: not a User' "$T/skip.warn" &&
	grep -q '^vendors@example.com: skipped: no member it can hold' "$T/skip.warn" ||
	{ cat "$T/skip.warn"; fail "skipped objects not named with the reason"; }
ok "each named with the reason"
expect "$(members team@example.com)" "ann@example.com " "the list's Group has its User members"
expect "$(dump | jq '[.Groups[] | select(.displayName == "vendors@example.com")] | length')" 0 \
	"no empty Group for a list of contacts only"
# the next runs: nothing to do, not a run with changes (a contact member
# planned "+mo@vendor.com" on every run and counted it applied)
for n in 2 3; do
	ctl POST /reset >/dev/null
	rc=0
	"$DIRSYNC" -c "$T/dirsync.conf" sync --json >"$T/skip$n.json" 2>>"$T/all.out" || rc=$?
	[ $rc -eq 0 ] || { cat "$T/skip$n.json"; fail "skips, run $n: exit $rc"; }
	expect "$(writes)" 0 "skipped objects send nothing on run $n"
	expect "$(jq -c '[.summary.add, .summary.update, .summary.disable, .summary.delete, .summary.applied, .summary.skipped, .applied, (.changes | length)]' "$T/skip$n.json")" \
		"[0,0,0,0,0,5,false,0]" "run $n: no change, the skips still named"
done
"$DIRSYNC" -c "$T/dirsync.conf" history >"$T/skip.hist" 2>&1
[ "$(grep -c 'no-change   +0 ~0 !0 -0' "$T/skip.hist")" = 2 ] ||
	{ cat "$T/skip.hist"; fail "history: the later runs are not no-change"; }
ok "history: the later runs are no-change"
# ---- a server offering RFC 9865 cursors is read with them ---------------
kill "$(cat "$T/scim.pid")"
scim_start cursor
scim_conf "$T/s3.ldif" "$T/cursor-state.db"
"$DIRSYNC" -c "$T/dirsync.conf" test >"$T/test.out" 2>&1 || fail "dirsync test (cursors)"
grep -q "cursors yes" "$T/test.out" || fail "test: cursors not shown"
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "sync (cursors) exit $rc"; }
ctl POST /reset >/dev/null
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "re-sync (cursors) exit $rc"; }
expect "$(writes)" 0 "no write request on a re-sync read with cursors"
# 44 Users and 2 Groups in pages of 10 (the server's maxResults)
expect "$(ctl GET /stats | jq '.cursor // 0')" 6 "cursor requests: 5 User pages, 1 Group page"
expect "$(users | wc -l)" 44 "every User read through cursor pages (the leaver never created here)"
ok "cursor pagination"
# ---- https: verified against ca_file, refused without it ------------------
kill "$(cat "$T/scim.pid")"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA" \
	-keyout "$T/ca.key" -out "$T/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$T/srv.key" -out "$T/srv.csr" >/dev/null 2>&1
printf 'subjectAltName = IP:127.0.0.1\n' >"$T/san.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	-CAcreateserial -days 2 -extfile "$T/san.ext" -out "$T/srv.pem" >/dev/null 2>&1
SCIM_TLS_CERT=$T/srv.pem SCIM_TLS_KEY=$T/srv.key scim_start
SCIM_URL=https://127.0.0.1:$SCIM_PORT/scim
SCIM_CTL=https://127.0.0.1:$SCIM_PORT/control
ctl() {
	curl -sf --cacert "$T/ca.pem" -X "$1" -H 'Content-Type: application/json' \
		${3:+-d "$3"} "$SCIM_CTL$2"
}
scim_conf "$T/s1.ldif" "$T/tls-state.db"
"$DIRSYNC" -c "$T/dirsync.conf" test >"$T/test.out" 2>&1 &&
	fail "a certificate from an unknown CA was accepted"
grep -q "FAILED.*certificate" "$T/test.out" || { cat "$T/test.out"; fail "no certificate error"; }
ok "https: a server certificate from an unknown CA refused"
sed -i "s#^token_file = .*#&\nca_file = $T/ca.pem#" "$T/dirsync.conf"
sync
[ $rc -eq 0 ] || { cat "$T/out"; fail "https sync with ca_file exit $rc"; }
! grep -q "plain http" "$T/out" || fail "https warned as plain http"
expect "$(users | wc -l)" 5 "https with ca_file: provisioned"
echo "test_scim: $CHECKS checks passed"
