#!/bin/sh
# one.sh DIRSYNC FILE...: the scenarios of some of tests/cli's files
# alone (run.sh sources them all), e.g. with a sanitizer build:
#   tests/cli/one.sh build-asan/dirsync partial.sh
# Files that use another file's helpers need it first, in run.sh's order.
set -u
if [ $# -lt 2 ]; then
	echo "usage: $0 path/to/dirsync FILE..." >&2
	exit 2
fi
DIRSYNC=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$here/../.." && pwd)
COMPANY=$REPO/examples/company.ldif
. "$here/lib.sh"
for f in "$@"; do
	. "$here/${f##*/}"
done
echo "cli: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
