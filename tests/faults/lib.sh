# Helpers for the fault suite (sourced; POSIX sh).  Each case ends the same
# way: "nothing lost, the next run converges".  Expects DIRSYNC, SHIM (the
# LD_PRELOAD injector, shim.c) and FAULTS_TMP from run.sh.
#
#   case_begin NAME          a fresh directory $S with a copy of the example
#                            directory ($S/dir.ldif) and a config for it
#   mkconf LDIF [EXTRA]      $S/dirsync.conf (SQLite target in $S)
#   ds ARGS...               dirsync with $S's config: $rc, $S/out, $S/err
#   MAILDB, STATEDB          where mkconf puts the databases (default $S)
#   snap NAME                copies mail.db and state.db aside as NAME
#   restore NAME             puts them back
#   dump                     the mail tables as sorted text, timestamps
#                            left out (what Postfix and Dovecot see)
#   converged STEP           a sync exits 0, then a plan changes nothing
#                            and reports no conflict beyond the example's
#                            own (Felix's contested address)
#   pass / fail / expect_*   as in tests/cli/lib.sh

FAULTS_HERE=$(cd "$(dirname "$0")" && pwd)
REPO=${REPO:-$(cd "$FAULTS_HERE/../.." && pwd)}
COMPANY=$REPO/examples/company.ldif
npass=${npass:-0}
nfail=${nfail:-0}

pass() {
	npass=$((npass + 1))
	echo "PASS faults/$CASE/$1"
}

fail() {
	nfail=$((nfail + 1))
	echo "FAIL faults/$CASE/$1${2:+: $2}"
	[ -f "$S/out" ] && sed 's/^/    stdout: /' "$S/out" | head -8
	[ -f "$S/err" ] && sed 's/^/    stderr: /' "$S/err" | head -8
	return 0
}

case_begin() {
	CASE=$1
	S=$FAULTS_TMP/$1
	rm -rf "$S"
	mkdir -p "$S"
	cp "$COMPANY" "$S/dir.ldif"
	mkconf "$S/dir.ldif"
}

mkconf() {
	cat >"$S/dirsync.conf" <<EOF
[source]
type = ldif
path = $1
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = ${URL:-sqlite://${MAILDB:-$S/mail.db}}
[state]
path = ${STATEDB:-$S/state.db}
EOF
	[ $# -ge 2 ] && printf '%s\n' "$2" >>"$S/dirsync.conf"
	chmod 600 "$S/dirsync.conf"
}

ds() {
	"$DIRSYNC" -c "$S/dirsync.conf" "$@" >"$S/out" 2>"$S/err"
	rc=$?
}

_dbpath() {
	case $1 in
	mail.db) echo "${MAILDB:-$S/mail.db}" ;;
	*) echo "${STATEDB:-$S/state.db}" ;;
	esac
}

snap() {
	for f in mail.db state.db; do
		rm -f "$S/$1.$f"
		p=$(_dbpath $f)
		[ -f "$p" ] && sqlite3 "$p" ".backup '$S/$1.$f'"
	done
	return 0
}

restore() {
	for f in mail.db state.db; do
		p=$(_dbpath $f)
		rm -f "$p" "$p-wal" "$p-shm" "$p-journal"
		[ -f "$S/$1.$f" ] && cp "$S/$1.$f" "$p"
	done
	return 0
}

dump() {
	sqlite3 "${MAILDB:-$S/mail.db}" \
		"SELECT 'mailbox', username, name, active FROM mailbox;
		 SELECT 'alias', address, goto, active FROM alias;
		 SELECT 'domain', domain, active FROM domain;" | sort
}

expect_rc() {
	if [ "$rc" = "$2" ]; then pass "$1"; else fail "$1" "exit $rc, wanted $2"; fi
}

expect_in() { # NAME TEXT FILE
	if grep -qF -e "$2" "$3"; then pass "$1"; else fail "$1" "'$2' not in $(basename "$3")"; fi
}

expect_eq() { # NAME WANT GOT
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got [$3], wanted [$2]"; fi
}

# unchanged NAME BEFORE-DUMP-FILE: the mail tables are as they were.
unchanged() {
	dump >"$S/now.dump"
	if cmp -s "$2" "$S/now.dump"; then
		pass "$1"
	else
		fail "$1" "the mail database changed"
		diff "$2" "$S/now.dump" | head -10 | sed 's/^/    /'
	fi
}

# converged NAME: a sync exits 0, then a plan changes nothing and reports
# only the example's own conflict (Felix's contested address).
converged() {
	ds -q sync
	if [ "$rc" != 0 ]; then
		fail "$1-converges" "next sync exit $rc"
		return 0
	fi
	ds plan
	if [ "$rc" = 0 ] && grep -q '^summary: 0 add, 0 update, 0 disable, 0 delete, 1 conflict, 0 error' "$S/out"; then
		pass "$1-converges"
	else
		fail "$1-converges" "a plan after the recovery run still changes something"
	fi
}

# The example directory changed: Sam Owusu left, Zoe's primary address
# changed, a new person arrived.  Prints the new file on stdout.
changed_dir() {
	awk '
		BEGIN { RS = ""; ORS = "\n\n" }
		/dn: CN=Sam Owusu,/ { next }
		{ print }' "$COMPANY" |
		sed 's/^mail: zoe.kowalski@example.com$/mail: zoe.k@example.com/;
		     s/^proxyAddresses: SMTP:zoe.kowalski@example.com$/proxyAddresses: SMTP:zoe.k@example.com/'
	cat <<'NEW'
dn: CN=Nina Fault,OU=Office,OU=Staff,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
cn: Nina Fault
displayName: Nina Fault
sAMAccountName: nfault
userPrincipalName: nfault@example.com
mail: nina.fault@example.com
proxyAddresses: SMTP:nina.fault@example.com
objectGUID:: AQIDBAUGBwgJCgsMDQ4PEA==
userAccountControl: 512
NEW
}
