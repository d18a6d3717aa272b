#!/bin/sh
# A longer run of the convergence check of tests/cli/run.sh, for hunting
# planner bugs by hand after a change to src/plan or src/rules (not part
# of `make check`; a few minutes).  Each chain is a list of seeds of
# tests/cli/gen_steps.py synced one after the other into one database.
#
# Usage: soak.sh path/to/dirsync [CHAIN ...]   (a chain: seeds joined by _)
#   default: 40 two-seed chains (1_2 3_4 ... 79_80) and 5 four-seed ones.
set -u
if [ $# -lt 1 ]; then
	echo "usage: $0 path/to/dirsync [CHAIN ...]" >&2
	exit 2
fi
DIRSYNC=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

if [ $# -eq 0 ]; then
	i=1
	while [ $i -lt 80 ]; do
		set -- "$@" "${i}_$((i + 1))"
		i=$((i + 2))
	done
	set -- "$@" 100_101_102_103 104_105_106_107 108_109_110_111 \
		112_113_114_115 116_117_118_119
fi
for chain in "$@"; do
	scenario "soak-$chain"
	converge "$(echo "$chain" | tr _ ' ')" >"$T/$chain.log"
	grep -v '^PASS' "$T/$chain.log"
done
echo "soak: $# chains, $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
