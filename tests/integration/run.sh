#!/bin/sh
# Runs every tests/integration/test_*.sh against real servers that the
# scripts start themselves on 127.0.0.1.  Usage: run.sh path/to/dirsync
set -u
DIRSYNC=$(realpath "$1")
export DIRSYNC
here=$(cd "$(dirname "$0")" && pwd)
fail=0
for t in "$here"/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	start=$(date +%s)
	if sh "$t"; then
		echo "PASS $name ($(($(date +%s) - start))s)"
	else
		echo "FAIL $name ($(($(date +%s) - start))s)"
		fail=1
	fi
done
exit $fail
