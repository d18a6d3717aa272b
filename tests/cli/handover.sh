# Addresses that change hands in one run (docs/design.md, "Addresses
# that change hands"): a person's mailbox follows its owner, renamed in
# place with its maildir, also when the address it takes is freed by
# another person's rename in the same run; never a new, empty mailbox for
# someone who has one, never a disable of someone who stays.  On the mail
# database itself, SQLite or PostgreSQL (tests/integration/
# test_pgsql_suites.sh).  Sourced by run.sh after field.sh (fuser) and
# partial.sh (partial_sync).

# hgroup FILE CN GUIDBYTE MAIL MEMBER-CN...: appends an AD distribution
# group whose members are users of fuser's.
hgroup() {
	_hf=$1 _hcn=$2 _hg=$3 _hm=$4
	shift 4
	for _c in "$@"; do
		set -- "$@" "CN=$_c,OU=Staff,DC=example,DC=com"
		shift
	done
	ad_group "$_hf" "$_hcn" "$_hg" 1 "$_hm" "$@"
}

# Every mailbox row: username|maildir|active.
hrows() {
	q "SELECT username, maildir, active FROM mailbox ORDER BY username"
}

# Active alias rows: address|goto.
haliases() {
	q "SELECT address, goto FROM alias WHERE active = 1 ORDER BY address"
}

# hsync NAME: plan, then sync; the sync exits 0 and does what the plan
# said, and a second sync has nothing to do.
hsync() {
	ds "$S" plan
	sed 1d "$S/out" | grep -v '^nothing changed' >"$S/plan.out"
	ds "$S" sync
	expect_rc "$1-sync" 0
	expect_eq "$1-plan-predicts" "$(cat "$S/plan.out")" \
		"$(sed 1d "$S/out" | grep -v '^applied$\|^nothing to change$')"
	cp "$S/out" "$S/sync.out"
	ds "$S" sync
	expect_in "$1-idle" "summary: 0 add, 0 update, 0 disable, 0 delete" \
		"$S/out"
}

# ---- a chain: Ann a -> c, Bob b -> a, Cy d -> b, in either order ----------

for order in forward backward; do
	scenario handover-chain-$order
	: >"$S/dir.ldif"
	fuser "$S/dir.ldif" "Ann Lee" 1 a@example.com
	fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
	fuser "$S/dir.ldif" "Cy Berg" 3 d@example.com
	mkconf "$S/dir.ldif"
	ds "$S" sync
	expect_rc handover-chain-$order-first 0
	: >"$S/dir.ldif"
	if [ $order = forward ]; then
		fuser "$S/dir.ldif" "Ann Lee" 1 c@example.com
		fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com
		fuser "$S/dir.ldif" "Cy Berg" 3 b@example.com
	else
		fuser "$S/dir.ldif" "Cy Berg" 3 b@example.com
		fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com
		fuser "$S/dir.ldif" "Ann Lee" 1 c@example.com
	fi
	hsync handover-chain-$order
	expect_in handover-chain-$order-summary \
		"summary: 0 add, 3 update, 0 disable, 0 delete, 0 conflict, 0 error" \
		"$S/sync.out"
	# each mailbox kept its maildir (its owner's mail), each renamed
	# after the one that freed its address
	expect_eq handover-chain-$order-rows "a@example.com|example.com/b/|1
b@example.com|example.com/d/|1
c@example.com|example.com/a/|1" "$(hrows)"
	expect_eq handover-chain-$order-aliases "a@example.com|a@example.com
b@example.com|b@example.com
c@example.com|c@example.com" "$(haliases)"
	expect_eq handover-chain-$order-owners "a@example.com|02
b@example.com|03
c@example.com|01" \
		"$(q "SELECT address, substr(anchor, 7, 2) FROM dirsync_managed WHERE kind = 'mailbox' ORDER BY address")"
	expect_eq handover-chain-$order-lookup "example.com/b/" \
		"$(lookup_maildir a@example.com)"
done

# ---- a swap: held, reported, nothing changed; a third address settles it --

scenario handover-swap
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 a@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
mkconf "$S/dir.ldif"
ds "$S" sync
db_mark
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 b@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com
ds "$S" sync --json
expect_rc handover-swap-sync 0
jq_true handover-swap-held '.summary.conflict == 2 and
	(.changes | length) == 0 and
	([.conflicts[].address] | sort) == ["a@example.com", "b@example.com"]'
ds "$S" sync
expect_in handover-swap-says "a swap or a cycle" "$S/out"
expect_db_unchanged handover-swap
# Ann first moves to a third address, then takes Bob's: two runs
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 t@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
ds "$S" sync
expect_rc handover-swap-step1 0
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 b@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com
hsync handover-swap-step2
expect_eq handover-swap-done "a@example.com|example.com/b/|1
b@example.com|example.com/a/|1" "$(hrows)"

# ---- alias rows: Ann's alias becomes her primary, Bob takes her old one ---

scenario handover-alias
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 a@example.com \
	"proxyAddresses: SMTP:a@example.com
proxyAddresses: smtp:x@example.com"
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
mkconf "$S/dir.ldif"
ds "$S" sync
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com \
	"proxyAddresses: SMTP:a@example.com
proxyAddresses: smtp:b@example.com"
fuser "$S/dir.ldif" "Ann Lee" 1 x@example.com
hsync handover-alias
expect_eq handover-alias-rows "a@example.com|example.com/b/|1
x@example.com|example.com/a/|1" "$(hrows)"
expect_eq handover-alias-aliases "a@example.com|a@example.com
b@example.com|a@example.com
x@example.com|x@example.com" "$(haliases)"
expect_in handover-alias-nothing-disabled "0 disable" "$S/sync.out"

# ---- a list and a mailbox trade addresses; a list takes a freed one -------

scenario handover-list
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 a@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
fuser "$S/dir.ldif" "Cy Berg" 3 c@example.com
hgroup "$S/dir.ldif" Team 10 team@example.com "Bob Ode"
mkconf "$S/dir.ldif"
ds "$S" sync
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 team@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
fuser "$S/dir.ldif" "Cy Berg" 3 a@example.com
hgroup "$S/dir.ldif" Team 10 c@example.com "Bob Ode"
hsync handover-list
expect_eq handover-list-rows "a@example.com|example.com/c/|1
b@example.com|example.com/b/|1
team@example.com|example.com/a/|1" "$(hrows)"
expect_eq handover-list-aliases "a@example.com|a@example.com
b@example.com|b@example.com
c@example.com|b@example.com
team@example.com|team@example.com" "$(haliases)"

# ---- letter case: mixed-case values, a row keyed in mixed case ------------

scenario handover-case
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 a@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
mkconf "$S/dir.ldif"
ds "$S" sync
# another tool rewrote Ann's rows with capitals
cat >"$S/case.sql" <<'EOF'
UPDATE mailbox SET username = 'A@Example.COM' WHERE username = 'a@example.com';
UPDATE alias SET address = 'A@Example.COM', goto = 'A@Example.COM' WHERE address = 'a@example.com';
EOF
target_sql "$S/case.sql" >"$S/sql.log" 2>&1 ||
	fail handover-case-sql "$(cat "$S/sql.log")"
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Bob Ode" 2 A@EXAMPLE.com
fuser "$S/dir.ldif" "Ann Lee" 1 C@Example.com
hsync handover-case
expect_eq handover-case-rows "a@example.com|example.com/b/|1
c@example.com|example.com/a/|1" "$(hrows)"
expect_eq handover-case-aliases "a@example.com|a@example.com
c@example.com|c@example.com" "$(haliases)"

# ---- a chain that waits: held whole, list places kept, then completed ------

scenario handover-wait
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 a@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
hgroup "$S/dir.ldif" Team 10 team@example.com "Ann Lee" "Bob Ode"
mkconf "$S/dir.ldif"
ds "$S" sync
# another tool holds c@, the address Ann is given
cat >"$S/c.sql" <<'EOF'
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, created, modified, active)
 VALUES ('c@example.com', '', 'Other', 'example.com/c/', 0, 'c', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('c@example.com', 'c@example.com', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
EOF
target_sql "$S/c.sql" >"$S/sql.log" 2>&1 ||
	fail handover-wait-sql "$(cat "$S/sql.log")"
db_mark
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com
fuser "$S/dir.ldif" "Ann Lee" 1 c@example.com
hgroup "$S/dir.ldif" Team 10 team@example.com "Ann Lee" "Bob Ode"
ds "$S" sync
expect_rc handover-wait-sync 0
expect_in handover-wait-ann "conflict c@example.com" "$S/out"
expect_in handover-wait-bob "this rename waits for that one" "$S/out"
# nothing changed: the list still reaches Ann and Bob where they are,
# not Ann's mailbox for Bob nor the other tool's row for Ann
expect_db_unchanged handover-wait
expect_eq handover-wait-list "a@example.com,b@example.com" \
	"$(lookup_goto team@example.com)"
# the other row goes: the chain completes, the list follows
cat >"$S/c.sql" <<'EOF'
DELETE FROM mailbox WHERE username = 'c@example.com';
DELETE FROM alias WHERE address = 'c@example.com';
EOF
target_sql "$S/c.sql" >"$S/sql.log" 2>&1 ||
	fail handover-wait-sql2 "$(cat "$S/sql.log")"
hsync handover-wait-done
expect_eq handover-wait-rows "a@example.com|example.com/b/|1
c@example.com|example.com/a/|1" "$(hrows)"
expect_eq handover-wait-list-after "a@example.com,c@example.com" \
	"$(lookup_goto team@example.com)"

# ---- a safety limit stops the chain whole; approve applies it whole -------

scenario handover-limit
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 a@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
mkconf "$S/dir.ldif" "[safety]
max_updates = 1"
ds "$S" sync
db_mark
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com
fuser "$S/dir.ldif" "Ann Lee" 1 c@example.com
ds "$S" sync
expect_rc handover-limit-stop 3
expect_db_unchanged handover-limit-stop
stop=$(last_run)
ds "$S" approve "$stop"
expect_rc handover-limit-approve 0
expect_eq handover-limit-rows "a@example.com|example.com/b/|1
c@example.com|example.com/a/|1" "$(hrows)"
ds "$S" sync
expect_in handover-limit-idle "summary: 0 add, 0 update, 0 disable, 0 delete" \
	"$S/out"

# ---- a conflict in the directory: the chain waits, nobody loses a mailbox -

scenario handover-frozen
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 a@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 b@example.com
mkconf "$S/dir.ldif"
ds "$S" sync
db_mark
# Bob and the newcomer Dee both claim Ann's old address
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 c@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com
fuser "$S/dir.ldif" "Dee Park" 4 a@example.com
ds "$S" sync
expect_rc handover-frozen-sync 0
expect_in handover-frozen-conflict "conflict a@example.com" "$S/out"
expect_in handover-frozen-ann-held "conflict c@example.com" "$S/out"
expect_in handover-frozen-why "present address is in a conflict" "$S/out"
expect_db_unchanged handover-frozen
# settled: Dee gets another address, the chain goes through
: >"$S/dir.ldif"
fuser "$S/dir.ldif" "Ann Lee" 1 c@example.com
fuser "$S/dir.ldif" "Bob Ode" 2 a@example.com
fuser "$S/dir.ldif" "Dee Park" 4 dee@example.com
hsync handover-frozen-settled
expect_eq handover-frozen-rows "a@example.com|example.com/b/|1
c@example.com|example.com/a/|1
dee@example.com|example.com/dee/|1" "$(hrows)"

# ---- DN anchors (entries without objectGUID): the same ---------------------

# hdnuser FILE CN MAIL: a user entry without a stable anchor
hdnuser() {
	printf 'dn: CN=%s,OU=Staff,DC=example,DC=com\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\ncn: %s\nmail: %s\nuserAccountControl: 512\n\n' \
		"$2" "$2" "$3" >>"$1"
}

scenario handover-dn
: >"$S/dir.ldif"
hdnuser "$S/dir.ldif" "Ann Lee" a@example.com
hdnuser "$S/dir.ldif" "Bob Ode" b@example.com
mkconf "$S/dir.ldif"
ds "$S" sync
: >"$S/dir.ldif"
hdnuser "$S/dir.ldif" "Bob Ode" a@example.com
hdnuser "$S/dir.ldif" "Ann Lee" c@example.com
hsync handover-dn
# Bob never gets Ann's mailbox (her mail), nor a new one beside his own
expect_eq handover-dn-rows "a@example.com|Bob Ode|example.com/b/|1
c@example.com|Ann Lee|example.com/a/|1" \
	"$(q "SELECT username, name, maildir, active FROM mailbox ORDER BY username")"

# ---- the partial compare plans a chain as a full compare does -------------

scenario handover-partial
: >"$S/company.ldif"
fuser "$S/company.ldif" "Ann Lee" 1 a@example.com
fuser "$S/company.ldif" "Bob Ode" 2 b@example.com
fuser "$S/company.ldif" "Cy Berg" 3 d@example.com
fuser "$S/company.ldif" "Zed Ray" 5 z@example.com
mkconf "$S/company.ldif"
ds "$S" sync
ds "$S" sync --json
jq_true handover-partial-fast '.fast_path == true'
: >"$S/company.ldif"
fuser "$S/company.ldif" "Cy Berg" 3 b@example.com
fuser "$S/company.ldif" "Ann Lee" 1 c@example.com
fuser "$S/company.ldif" "Bob Ode" 2 a@example.com
fuser "$S/company.ldif" "Zed Ray" 5 z@example.com
partial_sync handover-partial 0
expect_eq handover-partial-rows "a@example.com|example.com/b/|1
b@example.com|example.com/d/|1
c@example.com|example.com/a/|1
z@example.com|example.com/z/|1" "$(hrows)"
after_partial handover-partial

# ---- a re-created account takes its old mailbox: --handover ---------------
# (a user trial: deleted and added again in the directory, a new
# objectGUID, the person never got mail again under deprovision =
# disable, and the messages pointed in a circle).  Held, and said how to
# hand over; `plan --handover` shows it, `sync --handover` does it: the
# same row, maildir and mail, enabled, owned by the new anchor, with its
# aliases and list places back.
scenario handover-recreated
cp "$COMPANY" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc handover-recreated-first 0
maildir=$(q "SELECT maildir FROM mailbox WHERE username = 'ben.carter@example.com'")
sed -i 's#^objectGUID:: vNAOy+4H3MhlJgfC7nXPGw==$#objectGUID:: AAAAy+4H3MhlJgfC7nXPGw==#' \
	"$S/dir.ldif"
ds "$S" sync
expect_rc handover-recreated-held 0
expect_in handover-recreated-says-how "dirsync sync --handover ADDRESS" "$S/out"
expect_eq handover-recreated-disabled 0 "$(active_of ben.carter@example.com)"
ds "$S" plan --handover Ben.Carter@example.com
expect_rc handover-recreated-plan 0
expect_in handover-recreated-plan-shows "update  mailbox  ben.carter@example.com re-enabled (owner cb000000-07ee-c8dc-6526-07c2ee75cf1b" "$S/out"
expect_eq handover-recreated-plan-changes-nothing 0 "$(active_of ben.carter@example.com)"
ds "$S" sync --handover ben.carter@example.com --json
expect_rc handover-recreated-sync 0
expect_eq handover-recreated-enabled 1 "$(active_of ben.carter@example.com)"
expect_eq handover-recreated-same-maildir "$maildir" \
	"$(q "SELECT maildir FROM mailbox WHERE username = 'ben.carter@example.com'")"
expect_eq handover-recreated-owner "ben.carter@example.com|cb000000-07ee-c8dc-6526-07c2ee75cf1b|0
ben.carter@example.net|cb000000-07ee-c8dc-6526-07c2ee75cf1b|0
ben@example.com|cb000000-07ee-c8dc-6526-07c2ee75cf1b|0" \
	"$(q "SELECT address, anchor, disabled_at FROM dirsync_managed WHERE address LIKE 'ben%' ORDER BY address")"
expect_eq handover-recreated-alias "1|ben.carter@example.com" \
	"$(q "SELECT active, goto FROM alias WHERE address = 'ben@example.com'")"
case ",$(q "SELECT goto FROM alias WHERE address = 'sales@example.com'")," in
*,ben.carter@example.com,*) pass handover-recreated-lists ;;
*) fail handover-recreated-lists "not back in sales@" ;;
esac
ds "$S" sync --json
jq_true handover-recreated-then-idle '(.changes | length) == 0 and ([.conflicts[] | select(.address == "ben.carter@example.com")] | length) == 0'
# nothing to hand over: said so, nothing changed; not an address: usage
ds "$S" sync --handover nobody@example.com --json
expect_rc handover-nothing 0
expect_in handover-nothing-says "--handover nobody@example.com: nothing to hand over" "$S/err"
jq_true handover-nothing-changes-nothing '(.changes | length) == 0'
ds "$S" plan --handover nobody
expect_rc handover-not-an-address 2
expect_in handover-not-an-address-says "--handover 'nobody': not a mail address" "$S/err"
