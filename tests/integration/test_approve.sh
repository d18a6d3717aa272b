#!/bin/sh
# test_approve.sh - `dirsync approve RUN_ID` with the daemon running: the
# approval is handed to the daemon (no stop, no restart), whose next run
# applies exactly the stopped plan; and a plan that drifted after the stop
# is refused by the daemon's run, nothing applied, the daemon still up.
#
# Source: examples/company.ldif, edited; target: SQLite in a mktemp
# directory.  No servers, no ports.  (approve without a daemon:
# tests/cli/approve.sh.)
set -u
: "${DIRSYNC:?set DIRSYNC to the dirsync binary}"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/dirsync-approve-XXXXXX)
dpid=""

cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "test_approve: FAIL: $*" >&2
	[ -s "$tmp/daemon.log" ] && tail -n 10 "$tmp/daemon.log" >&2
	exit 1
}
say() {
	echo "test_approve: $*"
}

for t in jq sqlite3; do
	command -v $t >/dev/null 2>&1 || fail "$t missing (make deps)"
done

conf=$tmp/dirsync.conf
ds() {
	"$DIRSYNC" -c "$conf" "$@"
}
runs() {
	n=$(ds history -n 1000 --json 2>/dev/null | jq length)
	echo "${n:-0}"
}
wait_runs() {
	i=0
	while [ "$(runs)" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}
# drop CN...: remove those entries from the LDIF
drop() {
	for cn in "$@"; do
		LD_CN=$cn awk '
			BEGIN { RS = ""; ORS = "\n\n"; cn = ENVIRON["LD_CN"] }
			{
				n = split($0, l, "\n")
				for (i = 1; i <= n; i++)
					if (index(l[i], "dn: CN=" cn ",") == 1)
						next
				print
			}' "$tmp/dir.ldif" >"$tmp/dir.new" && mv "$tmp/dir.new" "$tmp/dir.ldif"
	done
}
inactive() {
	sqlite3 "$tmp/mail.db" "SELECT count(*) FROM mailbox WHERE active = 0"
}

cp "$top/examples/company.ldif" "$tmp/dir.ldif"
cat >"$conf" <<EOF
[source]
type = ldif
path = $tmp/dir.ldif

[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com

[target]
url = sqlite://$tmp/mail.db

[schedule]
interval = 1h

[state]
path = $tmp/state.db
EOF
chmod 600 "$conf"

"$DIRSYNC" -c "$conf" daemon -f 2>"$tmp/daemon.log" &
dpid=$!
wait_runs 1 || fail "no first run"

# ---- a stop, approved while the daemon runs ---------------------------
drop "Alice Martin" "Oliver Grant" "Julia Rossi" "Zoe Kowalski"
kill -USR1 "$dpid"
wait_runs 2 || fail "no second run"
[ "$(ds history -n 1 --json | jq '.[0].exit_code')" = 3 ] ||
	fail "run 2 was not stopped by a limit"
[ "$(inactive)" = 0 ] || fail "the stopped run changed the mail database"
ds approve 2 >"$tmp/approve.out" 2>&1 || fail "approve 2 with the daemon: exit $?: $(cat "$tmp/approve.out")"
grep -q "the daemon applies the plan of run 2" "$tmp/approve.out" ||
	fail "approve does not say the daemon does it: $(cat "$tmp/approve.out")"
wait_runs 3 || fail "the daemon made no run for the approval"
ds show 3 --json >"$tmp/run3.json"
[ "$(jq -c '[.applied, .forced_limit.approved_run, .forced_limit.limit]' "$tmp/run3.json")" = \
	'[true,2,"max_delete_percent"]' ] ||
	fail "run 3: $(jq -c '[.applied, .forced]' "$tmp/run3.json")"
[ "$(inactive)" = 4 ] || fail "the approved plan did not disable the 4 leavers"
kill -0 "$dpid" 2>/dev/null || fail "the daemon is gone"
grep -q "applying the plan of run 2 if it is still the same" "$tmp/daemon.log" ||
	fail "the daemon does not log the approval"
say "approve 2 with the daemon running: run 3 applied run 2's plan"

# ---- a stop whose directory drifts before the approval ----------------
drop "Ben Carter" "Chloe Dubois" "Emma Novak" "Felix Wagner"
kill -USR1 "$dpid"
wait_runs 4 || fail "no fourth run"
[ "$(ds history -n 1 --json | jq '.[0].exit_code')" = 3 ] ||
	fail "run 4 was not stopped by a limit"
drop "Hannah Schmidt"
ds approve 4 >"$tmp/approve.out" 2>&1 || fail "approve 4: exit $?"
wait_runs 5 || fail "the daemon made no run for the second approval"
[ "$(ds history -n 1 --json | jq -c '[.[0].exit_code, .[0].applied]')" = '[3,false]' ] ||
	fail "the drifted plan was applied: $(ds history -n 1 --json | jq -c '.[0]')"
[ "$(inactive)" = 4 ] || fail "the drifted approval changed the mail database"
grep -q "the plan differs from the one run 4 kept" "$tmp/daemon.log" ||
	fail "the daemon does not say the plan drifted"
grep -q '  + disable mailbox  hannah.schmidt@example.com' "$tmp/daemon.log" ||
	fail "the daemon does not say what changed"
kill -0 "$dpid" 2>/dev/null || fail "the daemon is gone"
say "approve 4 after the directory changed: refused by run 5, what changed logged"
exit 0
