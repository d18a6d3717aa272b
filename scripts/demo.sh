#!/bin/sh
# demo.sh BINARY - what `make demo` runs: sync examples/company.ldif into a
# fresh SQLite mail database and look at it the way Postfix and Dovecot do.
#
# Everything it writes is under build/demo/.  Exits non-zero when a step
# fails or when the second sync still finds something to change.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BINARY" >&2
	exit 2
fi
case $1 in
/*) BIN=$1 ;;
*) BIN=$(pwd)/$1 ;;
esac
if [ ! -x "$BIN" ]; then
	echo "demo: $BIN: not an executable (run make first)" >&2
	exit 2
fi
for t in sqlite3 jq; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "demo: $t not found (make deps installs it)" >&2
		exit 2
	fi
done

# The example config uses paths relative to the top of the tree.
cd "$(dirname "$0")/.." || exit 2
CONF=examples/dirsync.conf
DB=build/demo/mail.db

heading() {
	printf '\n=== %s\n' "$*"
}

# run CMD...: show the command, run it, stop the demo if it fails.
run() {
	printf '$ dirsync %s\n' "$*"
	"$BIN" -c "$CONF" "$@"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "demo: 'dirsync $*' failed (exit $rc)" >&2
		exit 1
	fi
}

# lookup SQL WHAT: one query as Postfix or Dovecot would send it.
lookup() {
	printf '%-44s %s\n' "$2" "$1"
	out=$(sqlite3 -readonly "$DB" "$1") || exit 1
	if [ -z "$out" ]; then
		printf '%-44s -> (no row)\n' ""
	else
		printf '%s\n' "$out" | while IFS= read -r row; do
			printf '%-44s -> %s\n' "" "$(printf '%s' "$row" |
			    sed 's/,/, /g')"
		done
	fi
}

alias_q() {
	lookup "SELECT goto FROM alias WHERE address='$1' AND active=1" "$2"
}

rm -rf build/demo
mkdir -p build/demo

heading "1. check: the configuration as dirsync reads it (first lines)"
printf '$ dirsync check\n'
out=$("$BIN" -c "$CONF" check 2>&1)
rc=$?
printf '%s\n' "$out" | head -n 14
n=$(printf '%s\n' "$out" | wc -l)
[ "$n" -gt 14 ] && echo "... ($((n - 14)) more lines)"
if [ $rc -ne 0 ]; then
	echo "demo: 'dirsync check' failed (exit $rc)" >&2
	exit 1
fi

heading "2. plan: what the first sync will do (changes nothing)"
run plan

heading "3. sync: apply it"
run sync

heading "4. what Postfix and Dovecot now see in $DB"
echo "Postfix: virtual_alias_maps query"
alias_q alice.martin@example.com "a mailbox (its self-alias):"
alias_q ceo@example.com "an alias (smtp: in proxyAddresses):"
alias_q ben.carter@example.net "an alias in example.net:"
alias_q uma@example.com "rewritten from example.local:"
alias_q felix.wagner@example.com "SMTP: primary (mail said f.wagner@):"
alias_q sales@example.com "a list, nested lists expanded:"
alias_q all-staff@example.com "two levels of nesting:"
alias_q leadership@example.com "a membership cycle:"
alias_q partner@example.com "a contact's internal address:"
alias_q info@example.com "claimed twice: a conflict:"
alias_q tom.becker@example.com "a disabled leaver:"
alias_q nora.lindqvist@example.com "hidden from address lists:"
echo
echo "Dovecot: passdb/userdb query"
lookup "SELECT maildir FROM mailbox WHERE username='alice.martin@example.com' AND active=1" \
	"a mailbox's maildir:"
lookup "SELECT maildir FROM mailbox WHERE username='tom.becker@example.com' AND active=1" \
	"the leaver has none:"
echo
echo "Rows: $(sqlite3 -readonly "$DB" "SELECT count(*) FROM mailbox") mailboxes," \
	"$(sqlite3 -readonly "$DB" "SELECT count(*) FROM alias") alias rows," \
	"$(sqlite3 -readonly "$DB" "SELECT count(*) FROM domain") domains"

heading "5. sync again: the directory has not changed, nothing to do"
run sync
summary=$("$BIN" -c "$CONF" plan --json | jq -c .summary) || {
	echo "demo: 'dirsync plan --json' failed" >&2
	exit 1
}
left=$(printf '%s' "$summary" |
    jq '.add + .update + .disable + .delete')
if [ "$left" != 0 ]; then
	echo "demo: still $left changes after two syncs: $summary" >&2
	exit 1
fi
echo "plan after the second sync: $summary"

heading "Done. Try: sqlite3 $DB .dump  |  dirsync -c $CONF history"
