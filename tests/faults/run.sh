#!/bin/sh
# run.sh path/to/dirsync [CASE ...] - the fault suite (issue 13): each case
# breaks a run on purpose (a cut export, a clock going back, a kill -9 in
# the middle of an apply, a locked or read-only target, a directory server
# gone mid-read, ...) and then checks that nothing was lost and that the
# next run converges.  Cases are case_*.sh next to this file (CASE: the
# part after "case_"); they print SKIP, not FAIL, for what this machine
# cannot run (no PostgreSQL, no slapd).
# docs/security.md lists every fault and the case proving it.
set -u
DIRSYNC=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
FAULTS_TMP=$(mktemp -d /tmp/dirsync-faults.XXXXXX)
chmod 755 "$FAULTS_TMP"
trap '[ -n "${KEEP:-}" ] || rm -rf "$FAULTS_TMP"' EXIT
SHIM=$FAULTS_TMP/shim.so
cc -shared -fPIC -O1 -Wall -o "$SHIM" "$here/shim.c" -ldl || {
	echo "faults: cannot build the injector shim" >&2
	exit 1
}
export DIRSYNC SHIM FAULTS_TMP

[ $# -eq 0 ] && set -- "$here"/case_*.sh
bad=0
for c in "$@"; do
	case $c in */*) ;; *) c=$here/case_$c.sh ;; esac
	echo "== $(basename "$c")"
	interp=sh
	head -n 1 "$c" | grep -q bash && interp=bash
	out=$($interp "$c" 2>&1)
	st=$?
	printf '%s\n' "$out"
	if [ $st != 0 ] || printf '%s\n' "$out" | grep -q '^FAIL'; then
		bad=$((bad + 1))
	fi
done
if [ $bad != 0 ]; then
	echo "faults: $bad case file(s) FAILED"
	exit 1
fi
echo "faults: all passed"
