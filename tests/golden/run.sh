#!/bin/sh
# Golden tests of the engine.  Each directory under tests/golden/cases/ is
# one case:
#   conf          config with @SOURCE@, @TARGET@ and @STATE@ placeholders
#   before.ldif   optional: synced first, so dirsync already manages things
#   middle.ldif   optional: synced second (e.g. to disable, then delete)
#   mail.sql      optional: run against the mail database after those syncs
#                 (rows dirsync does not manage, hand edits ...); needs a
#                 before.ldif so that the tables exist
#   source.ldif   the directory now
#   args          optional: extra arguments for the final command
#   expected      the exact output of `dirsync plan` on source.ldif (the
#                 case directory spelt @CASE@), then a
#                 line "exit N"
# Usage: run.sh path/to/dirsync [case ...]
#   UPDATE=1 rewrites `expected` from the actual output (review the diff!).
#   DIRSYNC_TEST_TARGET_URL / DIRSYNC_TEST_TARGET_RESET /
#   DIRSYNC_TEST_TARGET_SQL run the suite against another database (the
#   PostgreSQL suite sets them; RESET empties it, SQL runs a file on it).
set -u
DIRSYNC=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0

if [ $# -eq 0 ]; then
	set -- "$here"/cases/*/
fi
for dir in "$@"; do
	dir=${dir%/}
	case $dir in /*) ;; *) dir="$here/cases/$dir" ;; esac
	name=$(basename "$dir")
	w="$tmp/$name"
	mkdir -p "$w"
	n=$((n + 1))
	if [ -n "${DIRSYNC_TEST_TARGET_URL:-}" ]; then
		url=$DIRSYNC_TEST_TARGET_URL
		sh -c "$DIRSYNC_TEST_TARGET_RESET" >"$w/reset.log" 2>&1 || {
			echo "FAIL $name: resetting the target failed"
			cat "$w/reset.log"
			fail=1
			continue
		}
	else
		url="sqlite://$w/mail.db"
	fi
	mkconf() {
		sed -e "s|@SOURCE@|$1|" -e "s|@TARGET@|$url|" \
			-e "s|@STATE@|$w/state.db|" "$dir/conf" >"$w/dirsync.conf"
	}
	ok=1
	for step in before middle; do
		[ -f "$dir/$step.ldif" ] || continue
		mkconf "$dir/$step.ldif"
		if ! "$DIRSYNC" -q -c "$w/dirsync.conf" sync --force-limits \
			>"$w/$step.out" 2>&1; then
			echo "FAIL $name: sync of $step.ldif failed:"
			cat "$w/$step.out"
			ok=0
		fi
	done
	if [ -f "$dir/mail.sql" ]; then
		if [ -n "${DIRSYNC_TEST_TARGET_SQL:-}" ]; then
			sh -c "$DIRSYNC_TEST_TARGET_SQL \"$dir/mail.sql\"" \
				>"$w/sql.log" 2>&1 || ok=0
		else
			sqlite3 "$w/mail.db" <"$dir/mail.sql" >"$w/sql.log" 2>&1 ||
				ok=0
		fi
		[ $ok = 1 ] || { echo "FAIL $name: mail.sql failed"; cat "$w/sql.log"; }
	fi
	mkconf "$dir/source.ldif"
	args=""
	[ -f "$dir/args" ] && args=$(cat "$dir/args")
	# shellcheck disable=SC2086
	"$DIRSYNC" -c "$w/dirsync.conf" plan $args >"$w/actual" 2>"$w/stderr"
	echo "exit $?" >>"$w/actual"
	# the state path and run timing are the only run-specific text
	sed -i -e "s|$w/|@TMP@/|g" -e "s|$dir/|@CASE@/|g" "$w/actual"
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$w/actual" "$dir/expected"
	fi
	if [ $ok = 1 ] && cmp -s "$w/actual" "$dir/expected"; then
		echo "PASS golden/$name"
	else
		echo "FAIL golden/$name"
		diff -u "$dir/expected" "$w/actual" | head -40
		sed 's/^/  stderr: /' "$w/stderr" | head -10
		fail=1
	fi
done
echo "golden: $n cases, $([ $fail = 0 ] && echo all passed || echo FAILURES)"
exit $fail
