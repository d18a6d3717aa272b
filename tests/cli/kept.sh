# Objects a run kept waiting (a person held back from a leaver's mailbox,
# a chain of people waiting on each other, a list without members), then
# changes next to them:
# each step synced as usual (fast path, partial compare) and, in a copy,
# with --full every time; the mail databases must be the same after
# every step, and `plan` must find nothing at the end.  The steps are
# the minimal sequences a user trial's randomized tester found
# (tests/cli/kept/<case>/N.ldif, applied in order):
#   held-mailbox   only a list's DN changes, the list naming a person
#                  held back: the partial compare disabled the mailbox
#                  of another person held back, in a second conflict
#   chain-alias    a chain of people waiting resolves: the alias of the
#                  one at its end was never added, the next runs fast
#   waiting-alias  a person expires next to a conflict: an alias that
#                  waits was moved to the held person's address
#   list-back      a list without members (disabled) is given an alias,
#                  then gets a member again: the alias, with no row yet,
#                  stayed outside the part and never came (no conflict
#                  here: the same kind of wait)
#   cycle-list     three people in a cycle of addresses, one of them on
#                  a list (its place held at the old address); the cycle
#                  resolves: the list, unchanged in the directory, kept
#                  the old address
#   handback-list  the same with an address handed back: a list naming
#                  a conflict's address stayed out of the part
#   orphan-list    a list whose only member is a contact targeting its
#                  own address (nothing has it: no list is made) joins
#                  the part through a kept conflict: its members did not
#   orphan-list-b  the same list made after the person on it is held by
#                  a cycle of addresses (seed 76)
# SQLite only (dbcore).  Sourced by run.sh after partial.sh (dbcore).

if [ -z "$PG" ]; then
	for kc in "$here"/kept/*/; do
		kc=${kc%/}
		name=${kc##*/}
		scenario "kept-$name"
		mkdir "$S/full"
		for conf in "$S" "$S/full"; do
			S_SAVE=$S
			S=$conf
			mkconf "$S_SAVE/cur.ldif" "[safety]
max_delete_percent =
max_member_removal_percent ="
			S=$S_SAVE
		done
		sed -i "s#^url = .*#url = sqlite://$S/full/mail.db#" \
			"$S/full/dirsync.conf"
		for step in "$kc"/[0-9].ldif; do
			n=${step##*/}
			n=${n%.ldif}
			cp "$step" "$S/cur.ldif"
			ds "$S" sync
			expect_rc "kept-$name-$n-sync" 0
			ds "$S/full" sync --full
			expect_rc "kept-$name-$n-full" 0
			expect_eq "kept-$name-$n-same-db" \
				"$(dbcore "$S/full/mail.db")" \
				"$(dbcore "$S/mail.db")"
		done
		ds "$S" plan --json
		jq_true "kept-$name-plan-nothing" '(.changes | length) == 0'
	done
fi
