#!/bin/sh
# A cut, duplicated or changing LDIF export is refused (exit 1, nothing
# applied); once the export is whole again the next run converges.
. "$(dirname "$0")/lib.sh"

case_begin ldif
ds -q sync
expect_rc first-sync 0
changed_dir >"$S/whole.ldif"
mkconf "$S/dir.ldif" "[safety]
max_delete_percent ="
dump >"$S/before.dump"
size=$(wc -c <"$S/whole.ldif")

# refused NAME PATTERN: the current dir.ldif is refused, nothing applied
refused() {
	ds -q sync
	expect_rc "$1-exit-1" 1
	expect_in "$1-says-why" "$2" "$S/err"
	unchanged "$1-nothing-applied" "$S/before.dump"
}

# 1. cut inside a line (a full disk, a copy still running), at 98%
head -c $((size * 98 / 100)) "$S/whole.ldif" >"$S/dir.ldif"
if [ "$(tail -c 1 "$S/dir.ldif" | od -An -c | tr -d ' ')" = '\n' ]; then
	head -c $((size * 98 / 100 - 1)) "$S/whole.ldif" >"$S/dir.ldif"
fi
refused cut-98-percent "ends inside a line"

# 2. cut inside a list's entry, at a line end, ldapsearch-style export
{
	printf '# extended LDIF\n#\n# LDAPv3\n#\n\n'
	cat "$S/whole.ldif"
	printf '\n# search result\nsearch: 2\nresult: 0 Success\n\n'
	printf '# numResponses: 40\n# numEntries: %s\n' \
		"$(grep -c '^dn:' "$S/whole.ldif")"
} >"$S/export.ldif"
cp "$S/export.ldif" "$S/dir.ldif"
ds -q plan
expect_rc ldapsearch-export-whole-is-read 0
line=$(grep -n '^member: CN=Ivan Petrov' "$S/export.ldif" | head -1 | cut -d: -f1)
head -n "$line" "$S/export.ldif" >"$S/dir.ldif"
refused cut-in-list-at-line-end "without its trailer"

# 3. the trailer's count does not match (entries lost in a copy)
grep -v '^member: CN=Ivan Petrov' "$S/export.ldif" |
	awk 'BEGIN { RS = ""; ORS = "\n\n" } /dn: CN=Nina Fault,/ { next } { print }' \
	>"$S/dir.ldif"
refused numentries-mismatch "numEntries"

# 4. a size limit hit by the export's search
sed 's/^result: 0 Success$/result: 4 Size limit exceeded/' "$S/export.ldif" >"$S/dir.ldif"
refused size-limit-in-export "Size limit exceeded"

# 5. one entry twice (two exports concatenated, a bad merge)
{ cat "$S/whole.ldif"; printf '\n'; awk 'BEGIN { RS = ""; ORS = "\n\n" } /dn: CN=Ivan Petrov,/ { print }' "$S/whole.ldif"; } >"$S/dir.ldif"
refused duplicate-dn "duplicate entry"

# 6. an empty file (a truncating copy that had not started)
: >"$S/dir.ldif"
refused empty-file "empty"

# 7. an export still being written while dirsync reads it (30 MB of
# comments at its end keep the read busy while the writer appends)
cp "$S/whole.ldif" "$S/dir.ldif"
python3 -c 'import sys; sys.stdout.write("# padding padding padding padding padding padding padding\n" * 500000)' >>"$S/dir.ldif"
python3 - "$S/dir.ldif" "$S/writing" <<'PY' &
import os, sys, time
with open(sys.argv[1], 'ab') as f:
    open(sys.argv[2], 'w').close()
    end = time.time() + 3
    while time.time() < end:
        f.write(b'# still writing\n')
        f.flush()
PY
writer=$!
while [ ! -f "$S/writing" ]; do sleep 0.05; done
ds -q sync
wait $writer
if [ "$rc" = 1 ] && grep -q "changed while it was read" "$S/err"; then
	pass growing-file-refused
	unchanged growing-file-nothing-applied "$S/before.dump"
else
	fail growing-file "exit $rc"
fi

# 8. a NUL inside a base64 value: that value is dropped, with a warning
# in the run's report (a fresh tester's finding: it reached stderr only,
# not the report, `show` or the daemon's mail), whatever the attribute:
# an address, the account, a flag, a member value (each would be read
# cut at the NUL: another address, account, flag or member)
cp "$S/whole.ldif" "$S/dir.ldif"
printf '\ndn: CN=Nul Value,OU=Office,OU=Staff,DC=example,DC=com\nobjectClass: user\ncn: Nul Value\nmail:: %s\nobjectGUID:: AQIDBAUGBwgJCgsMDQ4PEQ==\nuserAccountControl: 512\n' \
	"$(printf 'nul.value@example.com\000@other.org' | base64)" >>"$S/dir.ldif"
printf '\ndn: CN=Nul Account,OU=Office,OU=Staff,DC=example,DC=com\nobjectClass: user\ncn: Nul Account\nmail: nul.account@example.com\nsAMAccountName:: %s\nobjectGUID:: EREREREREREREREREREREQ==\nuserAccountControl:: %s\n' \
	"$(printf 'alice\000x' | base64)" "$(printf '514\000' | base64)" \
	>>"$S/dir.ldif"
printf '\ndn: CN=Nul List,OU=Office,OU=Staff,DC=example,DC=com\nobjectClass: group\ncn: Nul List\nmail: nul.list@example.com\nobjectGUID:: IiIiIiIiIiIiIiIiIiIiIg==\nmember:: %s\nmember: CN=Nul Account,OU=Office,OU=Staff,DC=example,DC=com\n' \
	"$(printf 'CN=Nul Value,OU=Office,OU=Staff,DC=example,DC=com\000x' | base64)" \
	>>"$S/dir.ldif"
ds sync --json
expect_rc nul-value-run 0
for w in "Nul Value,OU=Office,OU=Staff,DC=example,DC=com: ignoring mail value 'nul.value@example.com...': it holds a NUL byte" \
	"Nul Account,OU=Office,OU=Staff,DC=example,DC=com: ignoring a value of sAMAccountName: it holds a NUL byte" \
	"Nul Account,OU=Office,OU=Staff,DC=example,DC=com: ignoring a value of userAccountControl: it holds a NUL byte" \
	"Nul List,OU=Office,OU=Staff,DC=example,DC=com: ignoring a value of member: it holds a NUL byte"; do
	if jq -e --arg w "$w" '[.warnings[] | select(endswith($w))] | length == 1' \
		"$S/out" >/dev/null; then
		pass "nul-value-reported"
	else
		fail nul-value-reported "not in the report's warnings: $w"
	fi
done
expect_eq nul-value-no-mailbox "" \
	"$(sqlite3 "$S/mail.db" "SELECT username FROM mailbox WHERE username LIKE 'nul.value%'")"
# the account is not Alice's (cut at the NUL it would be), the flag not
# "disabled": a mailbox of its own; the list holds only the named member
expect_eq nul-account-own-mailbox "nul.account@example.com|1" \
	"$(sqlite3 "$S/mail.db" "SELECT username, active FROM mailbox WHERE username LIKE 'nul.account%'")"
expect_eq nul-list-member "nul.account@example.com" \
	"$(sqlite3 "$S/mail.db" "SELECT goto FROM alias WHERE address = 'nul.list@example.com'")"

# 9. a plain export (no trailer) cut at a line end inside its last entry,
# a big list: the read looks whole.  Cut before the list's objectGUID
# (the example's order), the list comes without its anchor: refused.
awk 'BEGIN { RS = ""; ORS = "\n\n" } /dn: CN=All Staff,/ { next } { print }' \
	"$S/whole.ldif" >"$S/rest.ldif"
dump >"$S/before.dump"
cp "$S/rest.ldif" "$S/dir.ldif"
awk 'BEGIN { RS = ""; ORS = "\n\n" } /dn: CN=All Staff,/ { print }' "$S/whole.ldif" |
	sed '/^member: CN=Sales,/q' >>"$S/dir.ldif"
ds -q sync
expect_rc list-cut-before-anchor-exit-1 1
expect_in list-cut-before-anchor-says-why "without the anchor attribute" "$S/err"
unchanged list-cut-before-anchor-nothing-applied "$S/before.dump"
# With objectGUID first (as other exports write it), the cut list would
# lose most of its members without anyone leaving:
# max_member_removal_percent stops it
cp "$S/rest.ldif" "$S/dir.ldif"
awk 'BEGIN { RS = ""; FS = "\n" }
	/dn: CN=All Staff,/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^objectGUID::/) g = $i
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^objectGUID::/) continue
			print $i
			if ($i ~ /^dn: /) print g
			if ($i ~ /^member: CN=Sales,/) exit
		}
	}' "$S/whole.ldif" >>"$S/dir.ldif"
ds -q sync
expect_rc list-shrinks-exit-3 3
expect_in list-shrinks-says-why "max_member_removal_percent" "$S/err"
unchanged list-shrinks-nothing-applied "$S/before.dump"

# whole again: the next run converges
cp "$S/whole.ldif" "$S/dir.ldif"
converged whole-again
