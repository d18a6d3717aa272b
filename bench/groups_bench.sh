#!/bin/sh
# groups_bench.sh BINARY [BIG DEEP] - huge groups, larger than the fault
# suite's (tests/faults/case_groups.sh: 300,000 and 20,000): one list of
# BIG members (default 1,000,000) and a DEEP-long chain of nested lists
# (default 100,000), also closed into one cycle.  Runs the fault case
# with those sizes, so the same checks hold (all members, the leaf's
# members at the top, bounded time and RSS with a 512 KiB stack, the next
# plan empty); its PASS lines carry the wall time and peak RSS of each
# sync.  A benchmark, not a test: `make check` never runs it.
set -u
[ $# -ge 1 ] || { echo "usage: $0 BINARY [BIG DEEP]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
GROUPS_BIG=${2:-1000000} GROUPS_DEEP=${3:-100000} \
	exec "$here/../tests/faults/run.sh" "$1" groups
