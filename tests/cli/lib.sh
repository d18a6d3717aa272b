# Helpers for tests/cli/run.sh and soak.sh (sourced; POSIX sh).  Expects
# DIRSYNC and here (this folder) from the caller; sets T (a temporary
# directory, removed at exit), PG (1 with DIRSYNC_TEST_TARGET_URL: the
# PostgreSQL target) and the npass/nfail/nskip counters.

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
PG=${DIRSYNC_TEST_TARGET_URL:+1}
npass=0
nfail=0
nskip=0

pass() {
	npass=$((npass + 1))
	echo "PASS cli/$1"
}

fail() {
	nfail=$((nfail + 1))
	echo "FAIL cli/$1${2:+: $2}"
}

# sqlite_only NAME: true when the check applies (SQLite target), else
# counts and prints a SKIP.
sqlite_only() {
	if [ -n "$PG" ]; then
		nskip=$((nskip + 1))
		echo "SKIP cli/$1 (not an SQLite target)"
		return 1
	fi
	return 0
}

# scenario NAME: a fresh directory $S and an empty mail database ($URL).
scenario() {
	S=$T/$1
	mkdir -p "$S"
	if [ -n "$PG" ]; then
		URL=$DIRSYNC_TEST_TARGET_URL
		sh -c "$DIRSYNC_TEST_TARGET_RESET" >"$S/reset.log" 2>&1 ||
			fail "$1-reset" "$(head -3 "$S/reset.log")"
	else
		URL=sqlite://$S/mail.db
	fi
}

# mkconf LDIF [EXTRA]: $S/dirsync.conf reading LDIF, like
# examples/dirsync.conf (visible_only = yes, as there: Nora stays out);
# EXTRA (whole sections) is appended.
mkconf() {
	cat >"$S/dirsync.conf" <<EOF
[source]
type = ldif
path = $1
[scope]
visible_only = yes
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = $URL
[state]
path = $S/state.db
EOF
	if [ $# -ge 2 ]; then
		printf '%s\n' "$2" >>"$S/dirsync.conf"
	fi
	chmod 600 "$S/dirsync.conf"
}

# ldapconf LINE...: $S/dirsync.conf (mode 600) for an LDAP source:
# "[source]", "type = ldap", each LINE as it is (uri, base_dn, ...; an
# empty one stays an empty line), then accepted_domains = example.com,
# url = $URL and the state database in $S.  For tests that check the
# config or fail before a real server answers.
ldapconf() {
	{
		printf '%s\n' "[source]" "type = ldap"
		for _l in "$@"; do printf '%s\n' "$_l"; done
		printf '%s\n' "[mapping]" "accepted_domains = example.com" \
			"[target]" "url = $URL" "[state]" "path = $S/state.db"
	} >"$S/dirsync.conf"
	chmod 600 "$S/dirsync.conf"
}

# ds DIR ARGS...: runs dirsync with DIR's config; $rc, DIR/out, DIR/err.
ds() {
	_dir=$1
	shift
	"$DIRSYNC" -c "$_dir/dirsync.conf" "$@" >"$_dir/out" 2>"$_dir/err"
	rc=$?
}

# ds_noconf ARGS...: dirsync with exactly these arguments, in $S.
ds_noconf() {
	"$DIRSYNC" "$@" >"$S/out" 2>"$S/err"
	rc=$?
}

show_output() {
	sed 's/^/    stdout: /' "$S/out" | head -15
	sed 's/^/    stderr: /' "$S/err" | head -10
}

expect_rc() {
	if [ "$rc" = "$2" ]; then
		pass "$1"
	else
		fail "$1" "exit $rc, wanted $2"
		show_output
	fi
}

expect_rc_not() {
	if [ "$rc" != "$2" ]; then
		pass "$1"
	else
		fail "$1" "exit $rc"
		show_output
	fi
}

# expect_in NAME TEXT FILE: FILE contains TEXT (fixed string).
expect_in() {
	if grep -qF -e "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "'$2' not in $(basename "$3")"
		show_output
	fi
}

expect_not_in() {
	if grep -qF -e "$2" "$3"; then
		fail "$1" "'$2' found in $(basename "$3")"
	else
		pass "$1"
	fi
}

expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "got [$3], wanted [$2]"
	fi
}

# jq_true NAME FILTER: the filter, applied to $S/out, yields true.
jq_true() {
	if [ "$(jq -e "$2" "$S/out" 2>&1)" = true ]; then
		pass "$1"
	else
		fail "$1" "jq: $(echo "$2" | tr -s '\n\t' '  ')"
	fi
}

# q SQL: the rows, '|'-separated, from the mail database.
q() {
	if [ -n "$PG" ]; then
		printf '\\pset format unaligned\n\\pset tuples_only on\n%s;\n' \
			"$1" >"$S/q.sql"
		sh -c "$DIRSYNC_TEST_TARGET_SQL \"$S/q.sql\"" 2>&1
	else
		sqlite3 "$S/mail.db" "$1" 2>&1
	fi
}

# target_sql FILE: runs an SQL file on the mail database.
target_sql() {
	if [ -n "$PG" ]; then
		sh -c "$DIRSYNC_TEST_TARGET_SQL \"$1\""
	else
		sqlite3 "$S/mail.db" <"$1"
	fi
}

# Every row dirsync writes, in a stable order.
dbrows() {
	q "SELECT * FROM domain ORDER BY domain"
	q "SELECT * FROM mailbox ORDER BY username"
	q "SELECT * FROM alias ORDER BY address"
}

# db_mark: the mail database's rows and (SQLite) checksum now, into
# rows_before and sum_before, for expect_db_unchanged.
db_mark() {
	rows_before=$(dbrows)
	sum_before=$(fsum "$S/mail.db")
}

# expect_db_unchanged NAME: the rows (NAME-rows-unchanged) and, on
# SQLite, the file's bytes (NAME-db-byte-identical) are as db_mark saw.
expect_db_unchanged() {
	expect_eq "$1-rows-unchanged" "$rows_before" "$(dbrows)"
	sqlite_only "$1-db-byte-identical" &&
		expect_eq "$1-db-byte-identical" "$sum_before" \
			"$(fsum "$S/mail.db")"
}

# The lookups of examples/postfix and examples/dovecot.
lookup_goto() {
	q "SELECT goto FROM alias WHERE address='$1' AND active=1"
}

lookup_maildir() {
	q "SELECT maildir FROM mailbox WHERE username='$1' AND active=1"
}

# fsum FILE...: one checksum over the files ("-" for a missing or empty
# one: SQLite may leave an empty -wal behind a read-only connection).
fsum() {
	for _f in "$@"; do
		if [ -s "$_f" ]; then md5sum <"$_f"; else echo "- $_f"; fi
	done | md5sum
}

last_run() {
	"$DIRSYNC" -c "$S/dirsync.conf" history -n 1 --json | jq '.[0].run_id'
}

# ldif_edit FILE CN OLD NEW: in the entry "dn: CN=CN,...", replace the
# line OLD by NEW (which may hold several lines).  Fails if OLD is absent.
ldif_edit() {
	LE_CN=$2 LE_OLD=$3 LE_NEW=$4 awk '
		BEGIN { cn = ENVIRON["LE_CN"]; old = ENVIRON["LE_OLD"] }
		/^dn: / { inside = index($0, "dn: CN=" cn ",") == 1 }
		inside && $0 == old && !done {
			print ENVIRON["LE_NEW"]
			done = 1
			next
		}
		{ print }
		END { exit done ? 0 : 1 }' "$1" >"$1.new" &&
		mv "$1.new" "$1"
}

# ad_group FILE CN GUIDBYTE TAG MAIL DN...: appends an AD distribution
# group with these member DNs; its objectGUID is GUIDBYTE, TAG, then
# zeros (TAG keeps the GUIDs of different helpers apart).
ad_group() {
	_f=$1 _cn=$2 _g=$3 _t=$4 _m=$5
	shift 5
	printf 'dn: CN=%s,OU=Groups,DC=example,DC=com\nobjectClass: top\nobjectClass: group\ncn: %s\nmail: %s\ngroupType: 8\nobjectGUID:: %s\n' \
		"$_cn" "$_cn" "$_m" "$(printf "\\$(printf '%03o' "$_g")\\$_t\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0" | base64)" >>"$_f"
	for _d in "$@"; do
		printf 'member: %s\n' "$_d" >>"$_f"
	done
	printf '\n' >>"$_f"
}

# fuser FILE CN GUIDBYTE MAIL [EXTRA-LINES]: appends an AD user entry.
fuser() {
	printf 'dn: CN=%s,OU=Staff,DC=example,DC=com\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\ncn: %s\nmail: %s\nobjectGUID:: %s\nuserAccountControl: 512\n' \
		"$2" "$2" "$4" "$(printf "\\$(printf '%03o' "$3")\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0" | base64)" >>"$1"
	[ -z "${5:-}" ] || printf '%s\n' "$5" >>"$1"
	printf '\n' >>"$1"
}

# company_synced NAME: scenario NAME with the example directory synced.
company_synced() {
	scenario "$1"
	cp "$COMPANY" "$S/dir.ldif"
	mkconf "$S/dir.ldif"
	ds "$S" sync
	expect_rc "$1-setup" 0
}

# leaves CN: the account of CN is disabled in $S/dir.ldif (an AD leaver).
leaves() {
	ldif_edit "$S/dir.ldif" "$1" "userAccountControl: 512" \
		"userAccountControl: 514"
}

# active_of ADDRESS: the mailbox's active column.
active_of() {
	q "SELECT active FROM mailbox WHERE username = '$1'"
}

# ldif_drop FILE CN: remove the entry "dn: CN=CN,..." (and the comment
# lines right above it).  Fails if there is no such entry.
ldif_drop() {
	LD_CN=$2 awk '
		BEGIN { RS = ""; ORS = "\n\n"; cn = ENVIRON["LD_CN"] }
		{
			n = split($0, l, "\n")
			for (i = 1; i <= n; i++)
				if (index(l[i], "dn: CN=" cn ",") == 1) {
					done = 1
					next
				}
			print
		}
		END { exit done ? 0 : 1 }' "$1" >"$1.new" &&
		mv "$1.new" "$1"
}

# converge "SEED ...": the seeds' steps (gen_steps.py) synced one after the
# other into $S; after each step the database must hold what a sync of that
# step from scratch (into a fresh SQLite database) holds - active mailboxes
# with names, active alias rows, conflicts aside - every anchor at most one
# mailbox, and a second sync must have nothing to do.  CONVERGE_SAFETY:
# more [safety] lines (e.g. deprovision = delete).
converge() {
	for seed in $1; do
		python3 "$here/gen_steps.py" "$seed" 15 "$S/seed$seed" ||
			fail "convergence-$seed-generate"
		step=0
		for ldif in "$S/seed$seed"/step-*.ldif; do
			step=$((step + 1))
			mkconf "$ldif" "[safety]
max_delete_percent =
${CONVERGE_SAFETY:-}"
			ds "$S" sync --force-limits --json
			if [ "$rc" != 0 ]; then
				fail "convergence-$seed-$step-sync" "exit $rc"
				show_output
				continue
			fi
			jq -r '.conflicts[].address' "$S/out" | sed 's/$/|/' \
				>"$S/conflicts"
			echo "no-such-address|" >>"$S/conflicts"
			# one person, one mailbox: a changed primary is a rename
			expect_eq "convergence-$seed-$step-one-mailbox-per-anchor" "" \
				"$(q "SELECT anchor FROM dirsync_managed WHERE kind = 'mailbox' GROUP BY anchor HAVING count(*) > 1")"
			# the record of what dirsync manages is in the mail
			# database, in the transaction of the change
			expect_eq "convergence-$seed-$step-managed-recorded" "0" \
				"$(q "SELECT count(*) FROM mailbox m WHERE m.active = '1' AND NOT EXISTS (SELECT 1 FROM dirsync_managed d WHERE d.address = m.username)")"
			# (with deprovision = delete, delete_after = 0s, this
			# run deletes what the last one disabled)
			[ -z "${CONVERGE_SAFETY:-}" ] ||
				ds "$S" sync --force-limits
			# a full compare (--full: not the fast path) finds
			# nothing to do, and neither does the fast path
			ds "$S" sync --full --force-limits
			expect_in "convergence-$seed-$step-idempotent" \
				"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
			ds "$S" sync --force-limits
			expect_in "convergence-$seed-$step-idle" \
				"summary: 0 add, 0 update, 0 disable, 0 delete" "$S/out"
			# the reference: the same step from scratch
			rm -rf "$S/ref"
			mkdir "$S/ref"
			sed -e "s|^url = .*|url = sqlite://$S/ref/mail.db|" \
				-e "s|^path = $S/state.db|path = $S/ref/state.db|" \
				"$S/dirsync.conf" >"$S/ref/dirsync.conf"
			chmod 600 "$S/ref/dirsync.conf"
			ds "$S/ref" sync --force-limits
			[ "$rc" = 0 ] || fail "convergence-$seed-$step-ref-sync" "exit $rc"
			got=$(q "SELECT username, name FROM mailbox WHERE active=1 ORDER BY username")
			want=$(sqlite3 "$S/ref/mail.db" "SELECT username, name FROM mailbox WHERE active=1 ORDER BY username")
			expect_eq "convergence-$seed-$step-mailboxes" "$want" "$got"
			got=$(q "SELECT address, goto FROM alias WHERE active=1 ORDER BY address" |
				grep -vF -f "$S/conflicts")
			want=$(sqlite3 "$S/ref/mail.db" "SELECT address, goto FROM alias WHERE active=1 ORDER BY address" |
				grep -vF -f "$S/conflicts")
			if [ "$got" = "$want" ]; then
				pass "convergence-$seed-$step-aliases"
			else
				fail "convergence-$seed-$step-aliases"
				printf '%s\n' "$want" >"$S/want"
				printf '%s\n' "$got" >"$S/got"
				diff "$S/want" "$S/got" | head -10 | sed 's/^/    /'
			fi
		done
	done
}

# leaver_contact FILE: appends an AD contact (leaver.c@example.net) that
# forwards to ben.carter@example.com, who leaves in some scenarios.
leaver_contact() {
	cat >>"$1" <<'LDIF'

dn: CN=Leaver Contact,OU=Contacts,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: contact
cn: Leaver Contact
mail: leaver.c@example.net
targetAddress: SMTP:ben.carter@example.com
objectGUID:: Q29udGFjdExlYXZlcjAwMQ==

LDIF
}
