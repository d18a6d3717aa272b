#!/bin/sh
# scim_bench.sh BINARY [N] - the SCIM target against the npm test server.
#
# Generates an AD-shaped directory of N users (default 10000;
# bench/gen_ldif.py, cached in bench/out/), starts the SCIM test server of
# tests/integration/scim/ (scimmy + scimmy-routers + express, storage in
# memory) on 127.0.0.1 and prints, for an initial provisioning into the
# empty server and a re-sync with nothing changed: wall time, changes
# applied, objects/s, and the HTTP requests the server counted (reads,
# writes).  Target: >= 500 objects/s initial on loopback, no write request
# on the re-sync.  Contacts and list aliases have no SCIM resource: they
# are reported as per-object errors, which this bench counts and shows.
# A benchmark, not a test (not in make check).
set -u
[ $# -ge 1 ] || { echo "usage: $0 BINARY [N]" >&2; exit 2; }
DIRSYNC=$(realpath "$1")
N=${2:-10000}
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
scim_start
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
	rate=$(echo "scale=0; $applied / $secs" | bc 2>/dev/null || echo "?")
	printf '%-8s %8.2fs %7s applied %6s failed %7s objects/s   requests %6s (GET %s, writes %s) exit %s\n' \
		"$1" "$secs" "$applied" "$errors" "$rate" \
		"$(echo "$stats" | jq '.total // 0')" \
		"$(echo "$stats" | jq '.GET // 0')" \
		"$(echo "$stats" | jq '.writes // 0')" "$rc"
}
echo "scim bench: $N users ($(grep -c '^dn:' "$ldif") entries), server $SCIM_URL"
run initial
run re-sync
dump | jq -r '"server   \(.Users | length) Users, \(.Groups | length) Groups"'
