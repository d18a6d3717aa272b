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
if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "demo: sqlite3 not found (scripts/deps.sh build installs it)" >&2
	exit 2
fi

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

# lookup SQL WHAT: one query as Postfix or Dovecot would send it, and
# what it returns (a list's goto wrapped, one row per line).
lookup() {
	printf '%s\n  %s\n' "$2" "$1"
	out=$(sqlite3 -readonly "$DB" "$1") || exit 1
	if [ -z "$out" ]; then
		echo "  -> (no row)"
		return
	fi
	printf '%s\n' "$out" | while IFS= read -r row; do
		printf '%s\n' "$row" | sed 's/,/, /g' | fold -s -w 70 |
		    sed 's/ $//; 1s/^/  -> /; 2,$s/^/     /'
	done
}

alias_q() {
	lookup "SELECT goto FROM alias WHERE address='$1' AND active=1" "$2"
}

rm -rf build/demo
mkdir -p build/demo

heading "1. check: the configuration as dirsync reads it"
printf '$ dirsync check\n'
out=$("$BIN" -c "$CONF" check 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
	printf '%s\n' "$out"
	echo "demo: 'dirsync check' failed (exit $rc)" >&2
	exit 1
fi
# The first line, then only the settings this config sets (the rest of
# the dump is SPEC's defaults).
printf '%s\n' "$out" | sed -n '1p'
printf '%s\n' "$out" |
    grep -E '^(type|path|accepted_domains|domain_rewrite|url) = .' |
    sed 's/^/  /'
echo "  ... and $(printf '%s\n' "$out" | grep -cE '^[a-z_]+ =') settings in all"

heading "2. plan: what the first sync will do (changes nothing)"
run plan

heading "3. sync: apply it"
printf '$ dirsync sync\n'
out=$("$BIN" -c "$CONF" sync 2>&1)
rc=$?
# The changes are the plan's, listed above; show the rest.
nchg=$(printf '%s\n' "$out" | grep -c '^  ')
printf '%s\n' "$out" | grep -v '^  ' |
    sed "1a\\  ... the $nchg changes of the plan above ..."
if [ $rc -ne 0 ]; then
	echo "demo: 'dirsync sync' failed (exit $rc)" >&2
	exit 1
fi

heading "4. what Postfix and Dovecot now see in $DB"
echo "--- Postfix virtual_alias_maps: one query per recipient address"
alias_q alice.martin@example.com "Alice Martin's mailbox (its self-alias):"
alias_q ceo@example.com "ceo@, an smtp: alias of Alice:"
alias_q ben.carter@example.net "an alias in example.net:"
alias_q uma@example.com "uma@example.local, rewritten to example.com:"
alias_q felix.wagner@example.com "Felix: the SMTP: primary wins over mail (f.wagner@):"
alias_q sales@example.com "sales@, with Sales EMEA nested in it:"
alias_q all-staff@example.com "all-staff@, two levels of nesting:"
alias_q leadership@example.com "leadership@ <-> managers@, a membership cycle:"
alias_q partner@example.com "the contact's internal address:"
alias_q partners@example.com "a list with the contact as a member:"
alias_q info@example.com "info@, claimed by Daniel and Emma (a conflict):"
alias_q tom.becker@example.com "Tom Becker, a disabled leaver:"
alias_q nora.lindqvist@example.com "Nora Lindqvist, hidden from address lists:"
echo
echo "--- Dovecot passdb/userdb: the mailbox row"
lookup "SELECT maildir FROM mailbox WHERE username='alice.martin@example.com' AND active=1" \
	"Alice Martin's maildir:"
lookup "SELECT maildir FROM mailbox WHERE username='tom.becker@example.com' AND active=1" \
	"the leaver has none:"
echo
echo "Rows: $(sqlite3 -readonly "$DB" "SELECT count(*) FROM mailbox") mailboxes," \
	"$(sqlite3 -readonly "$DB" "SELECT count(*) FROM alias") alias rows," \
	"$(sqlite3 -readonly "$DB" "SELECT count(*) FROM domain") domains"

heading "5. sync again: the directory has not changed, nothing to do"
printf '$ dirsync sync\n'
out=$("$BIN" -c "$CONF" sync 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -ne 0 ]; then
	echo "demo: 'dirsync sync' failed (exit $rc)" >&2
	exit 1
fi
if ! printf '%s\n' "$out" |
    grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete,'; then
	echo "demo: the second sync still changed something" >&2
	exit 1
fi

heading "Done. Try: sqlite3 $DB .dump  |  dirsync -c $CONF history"
