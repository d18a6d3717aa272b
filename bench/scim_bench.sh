#!/bin/sh
# scim_bench.sh BINARY [N [SERVER]] - the SCIM target against a local
# SCIM server.
#
# Generates an AD-shaped directory of N users (default 10000;
# bench/gen_ldif.py, cached in bench/out/), starts a SCIM server on
# 127.0.0.1 and prints, for an initial provisioning into the empty server
# and a re-sync with nothing changed: wall time, changes applied, failed
# and skipped, objects/s, and the HTTP requests the server counted
# (reads, writes).  Target: >= 500 objects/s initial on loopback, no write
# request on the re-sync.  SERVER:
#   scimmy (default)  the test server of tests/integration/scim/ (scimmy +
#                     scimmy-routers + express, storage in memory): its
#                     own ~15-25 ms of CPU per write caps any client
#   fast              bench/scim_fast.mjs, a bare endpoint that answers at
#                     once: what dirsync itself sustains
# Contacts and list aliases have no SCIM resource: they are skipped (and
# counted as skipped).  A benchmark, not a test (not in make check).
set -u
[ $# -ge 1 ] || { echo "usage: $0 BINARY [N]" >&2; exit 2; }
DIRSYNC=$(realpath "$1")
N=${2:-10000}
SERVER=${3:-scimmy}
REPO=$(cd "$(dirname "$0")/.." && pwd)
MAIL_LIB=$REPO/tests/integration/lib/mail
. "$MAIL_LIB/common.sh"
. "$REPO/tests/integration/scim/lib.sh"
mail_init
mkdir -p "$REPO/bench/out"
ldif=$REPO/bench/out/users-$N.ldif
if [ ! -s "$ldif" ] || [ "$REPO/bench/gen_ldif.py" -nt "$ldif" ]; then
	python3 "$REPO/bench/gen_ldif.py" "$N" --seed 1 >"$ldif.tmp" &&
		mv "$ldif.tmp" "$ldif" || exit 1
fi
scim_deps
if [ "$SERVER" = fast ]; then
	umask 077
	printf 'tok-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" \
		>"$T/token"
	umask 022
	node "$REPO/bench/scim_fast.mjs" 0 "$T/token" "$T/scim.port" \
		>>"$T/scim.log" 2>&1 &
	echo $! >"$T/scim.pid"
	at_exit "kill $(cat "$T/scim.pid")"
	while [ ! -s "$T/scim.port" ]; do sleep 0.1; done
	SCIM_URL=http://127.0.0.1:$(cat "$T/scim.port")/scim
	SCIM_CTL=http://127.0.0.1:$(cat "$T/scim.port")/control
else
	scim_start
fi
scim_conf "$ldif"

run() {
	ctl POST /reset >/dev/null
	t0=$(date +%s.%N)
	"$DIRSYNC" -c "$T/dirsync.conf" sync --json >"$T/$1.json" 2>"$T/$1.err"
	rc=$?
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
	stats=$(ctl GET /stats)
	applied=$(jq '.summary.applied // 0' "$T/$1.json" 2>/dev/null || echo 0)
	errors=$(jq '.summary.failed // 0' "$T/$1.json" 2>/dev/null || echo 0)
	skipped=$(jq '.summary.skipped // 0' "$T/$1.json" 2>/dev/null || echo 0)
	rate=$(echo "scale=0; $applied / $secs" | bc 2>/dev/null || echo "?")
	printf '%-8s %8.2fs %7s applied %6s failed %5s skipped %7s objects/s   requests %6s (GET %s, writes %s) exit %s\n' \
		"$1" "$secs" "$applied" "$errors" "$skipped" "$rate" \
		"$(echo "$stats" | jq '.total // 0')" \
		"$(echo "$stats" | jq '.GET // 0')" \
		"$(echo "$stats" | jq '.writes // 0')" "$rc"
}
echo "scim bench: $N users ($(grep -c '^dn:' "$ldif") entries), $SERVER server $SCIM_URL"
run initial
run re-sync
dump | jq -r '"server   \(.Users | length) Users, \(.Groups | length) Groups"'
