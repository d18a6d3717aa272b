# The shapes an export really comes in, beyond the plain RFC 2849 file:
# ldapsearch's search references (a server's referrals: AD's domain root,
# a slapd referral object), its -L form, a search that ended without its
# result, a cut inside the trailer; a UTF-8 byte order mark, UTF-16 as
# ldifde -u writes it; ldifde -f's "changetype: add" in every entry, and
# change records that are not an entry.  Each is company.ldif rewritten,
# so a good read must give the rows company.ldif gives.  Sourced by run.sh.

# export_rows: the rows without their time stamps.
export_rows() {
	q "SELECT domain, active FROM domain ORDER BY domain"
	q "SELECT username, name, maildir, active FROM mailbox ORDER BY username"
	q "SELECT address, goto, active FROM alias ORDER BY address"
}

# ldapsearch_export LDIF [FORM [CUT]]: LDIF's entries as ldapsearch prints
# them from a server that also returns three search references: one to a
# subordinate naming context on another server after the 5th entry, one
# with two URLs after the 12th, one after the last entry.  FORM: ext
# (default, no -L) or L (-L: "version: 1", references as "# ref"
# comments, no "search:"/"result:" lines).  CUT: noresult (the trailer
# without the search's result, as when ldapsearch loses the server),
# trailer (cut after "# numResponses:"), refs=N (the trailer counts N
# references).
ldapsearch_export() {
	awk -v form="${2:-ext}" -v cut="${3:-}" '
		function ref(url) {
			if (form == "L")
				print "# ref" url
			else
				print "ref: " url
		}
		function refrec(k) {
			nref++
			print "# search reference"
			if (k == 1)
				ref("ldap://ldap2.example.com/OU=Branch,DC=example,DC=com??sub")
			if (k == 2) {
				ref("ldap://dc1.example.com/CN=Configuration,DC=example,DC=com")
				ref("ldap://dc2.example.com/CN=Configuration,DC=example,DC=com")
			}
			if (k == 3)
				ref("ldap://example.com/DC=DomainDnsZones,DC=example,DC=com")
			print ""
		}
		BEGIN {
			RS = ""; FS = "\n"
			if (form == "L")
				print "version: 1\n\n#"
			else
				print "# extended LDIF\n#"
			print "# LDAPv3\n# base <DC=example,DC=com> with scope subtree"
			print "# filter: (objectClass=*)\n# requesting: ALL\n#\n"
		}
		{
			out = ""
			for (i = 1; i <= NF; i++)
				if ($i !~ /^#/ && $i !~ /^version:/)
					out = out $i "\n"
			if (out !~ /^dn:/)
				next
			n++
			printf "# entry %d\n%s\n", n, out
			if (n == 5)
				refrec(1)
			if (n == 12)
				refrec(2)
		}
		END {
			refrec(3)
			if (cut != "noresult") {
				print "# search result"
				if (form != "L")
					print "search: 2\nresult: 0 Success"
				print ""
			}
			print "# numResponses: " (n + nref + 1)
			if (cut == "trailer")
				exit
			print "# numEntries: " n
			if (cut ~ /^refs=/)
				nref = substr(cut, 6)
			print "# numReferences: " nref
		}' "$1"
}

scenario exports-plain
mkconf "$COMPANY"
ds "$S" sync
expect_rc exports-plain-sync 0
rows_plain=$(export_rows)

# ldapsearch without -L from a server with referrals: the references are
# skipped (counted at -v), the trailer's count of them checked
scenario exports-references
ldapsearch_export "$COMPANY" >"$S/dir.ldif"
expect_in exports-references-setup "ref: ldap://dc2.example.com/" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" -v sync
expect_rc exports-references-read 0
expect_in exports-references-counted "dir.ldif: 3 search references skipped" \
	"$S/err"
expect_eq exports-references-same-rows "$rows_plain" "$(export_rows)"
db_mark
# the trailer counts another reference than the file holds
ldapsearch_export "$COMPANY" ext refs=4 >"$S/dir.ldif"
ds "$S" sync
expect_rc exports-references-count-refused 1
expect_in exports-references-count-says \
	"'# numReferences: 4' but the file holds 3 search references" "$S/err"
# the file cut inside its trailer, before the counts
ldapsearch_export "$COMPANY" ext trailer >"$S/dir.ldif"
ds "$S" sync
expect_rc exports-trailer-cut-refused 1
expect_in exports-trailer-cut-says "no '# numEntries:'" "$S/err"
# the trailer without the search's result: ldapsearch lost the server
ldapsearch_export "$COMPANY" ext noresult >"$S/dir.ldif"
ds "$S" sync
expect_rc exports-no-result-refused 1
expect_in exports-no-result-says "without the search's result" "$S/err"
# a reference record run into the next entry (a blank line lost)
ldapsearch_export "$COMPANY" | awk '
	/^# search reference$/ && !done { ref = 1 }
	ref && $0 == "" { ref = 0; done = 1; next }
	{ print }' >"$S/dir.ldif"
ds "$S" sync
expect_rc exports-reference-run-on-refused 1
expect_in exports-reference-run-on-says "dn: inside a search reference record" \
	"$S/err"
expect_db_unchanged exports-references-refused

# ldapsearch -L: references are comments, the trailer is there to check
scenario exports-dash-L
ldapsearch_export "$COMPANY" L >"$S/dir.ldif"
expect_in exports-dash-L-setup "# refldap://dc1.example.com/" "$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" -v sync
expect_rc exports-dash-L-read 0
expect_in exports-dash-L-counted "3 search references skipped" "$S/err"
expect_eq exports-dash-L-same-rows "$rows_plain" "$(export_rows)"
db_mark
# cut at a line end inside an entry, far from the end: no trailer
ldapsearch_export "$COMPANY" L | head -n 150 >"$S/dir.ldif"
ds "$S" sync
expect_rc exports-dash-L-cut-refused 1
expect_in exports-dash-L-cut-says "without its trailer" "$S/err"
expect_db_unchanged exports-dash-L-cut

# a UTF-8 byte order mark (Windows tools write one) is not part of line 1
scenario exports-utf8-bom
printf '\357\273\277' >"$S/dir.ldif"
cat "$COMPANY" >>"$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc exports-utf8-bom-read 0
expect_eq exports-utf8-bom-same-rows "$rows_plain" "$(export_rows)"

# UTF-16: refused at line 1 naming the encoding and a conversion that
# works
scenario exports-utf16
# ldifde -u: UTF-16LE with a byte order mark, CRLF line ends
{ printf '\377\376'; sed 's/$/\r/' "$COMPANY" | iconv -f UTF-8 -t UTF-16LE; } \
	>"$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc exports-utf16-refused 1
expect_in exports-utf16-file-line "dir.ldif:1:" "$S/err"
expect_in exports-utf16-says "UTF-16LE with a byte order mark" "$S/err"
expect_in exports-utf16-how "iconv -f UTF-16 -t UTF-8" "$S/err"
# the conversion the message names
iconv -f UTF-16 -t UTF-8 <"$S/dir.ldif" >"$S/conv.ldif"
mkconf "$S/conv.ldif"
ds "$S" sync
expect_rc exports-utf16-converted-read 0
expect_eq exports-utf16-converted-same-rows "$rows_plain" "$(export_rows)"
# big-endian without a byte order mark: known by its NUL bytes
iconv -f UTF-8 -t UTF-16BE <"$COMPANY" >"$S/be.ldif"
mkconf "$S/be.ldif"
ds "$S" sync
expect_rc exports-utf16be-refused 1
expect_in exports-utf16be-says "be.ldif:1: the file is in UTF-16BE (no byte order mark" \
	"$S/err"
expect_in exports-utf16be-how "iconv -f UTF-16BE -t UTF-8" "$S/err"

# ldifde -f: "changetype: add" after every dn (and CRLF): the entries
scenario exports-ldifde
awk '
	/^dn:/ { indn = 1; print; next }
	indn && /^ / { print; next }
	indn { print "changetype: add"; indn = 0 }
	{ print }' "$COMPANY" | sed 's/$/\r/' >"$S/dir.ldif"
expect_eq exports-ldifde-setup 36 "$(grep -c '^changetype: add' "$S/dir.ldif")"
mkconf "$S/dir.ldif"
ds "$S" sync
expect_rc exports-ldifde-read 0
expect_eq exports-ldifde-same-rows "$rows_plain" "$(export_rows)"
db_mark
# a change record is not an entry: refused naming it, nothing applied
for ct in modify delete moddn; do
	cp "$S/dir.ldif" "$S/chg.ldif"
	printf '\r\ndn: CN=Someone,OU=Staff,DC=example,DC=com\r\nchangetype: %s\r\n' \
		"$ct" >>"$S/chg.ldif"
	mkconf "$S/chg.ldif"
	ds "$S" sync
	expect_rc "exports-ldifde-$ct-refused" 1
	expect_in "exports-ldifde-$ct-says" \
		"('changetype: $ct') not supported" "$S/err"
	expect_in "exports-ldifde-$ct-hint" \
		"ldifde -f, whose 'changetype: add' records are read as entries" \
		"$S/err"
done
expect_db_unchanged exports-ldifde-changes

# ldapsearch's export cut inside a line (head -c: a full disk, a copy
# still running), wherever the cut falls: refused as a cut at the line
# where the file ends, not as the malformed line its rest looks like;
# nothing applied, though no safety limit would stop the disables
scenario exports-cut-mid-line
ldapsearch_export "$COMPANY" >"$S/whole.ldif"
cp "$S/whole.ldif" "$S/dir.ldif"
mkconf "$S/dir.ldif" "[safety]
max_delete_percent =
max_member_removal_percent =
allow_empty = yes"
ds "$S" sync
expect_rc exports-cut-whole-read 0
db_mark
# cut_at NAME PATTERN COLUMN DN: dir.ldif is whole.ldif up to the first line
# matching PATTERN and COLUMN bytes of it; refused at that line, naming
# the entry DN it is in (or "in the dn: line")
cut_at() {
	_l=$(grep -n -e "$2" "$S/whole.ldif" | head -1 | cut -d: -f1)
	{
		head -n "$((_l - 1))" "$S/whole.ldif"
		sed -n "${_l}p" "$S/whole.ldif" | head -c "$3"
	} >"$S/dir.ldif"
	ds "$S" sync
	expect_rc "exports-cut-$1-refused" 1
	expect_in "exports-cut-$1-says" \
		"dir.ldif:$_l: the file ends inside a line (no final newline)" \
		"$S/err"
	expect_in "exports-cut-$1-truncated" "the export is truncated" "$S/err"
	expect_in "exports-cut-$1-entry" "$4" "$S/err"
	expect_not_in "exports-cut-$1-no-other-error" "line without ':'" \
		"$S/err"
	expect_db_unchanged "exports-cut-$1"
	# plan says there is no plan, not "nothing changed (plan only)"
	# beside the error (a user trial)
	ds "$S" plan
	expect_rc "exports-cut-$1-plan-refused" 1
	expect_in "exports-cut-$1-plan-no-plan" \
		"no plan: the run failed (above); nothing changed" "$S/out"
}
alice=$(grep -n '^dn: CN=Alice Martin' "$S/whole.ldif" | cut -d: -f1)
cut_at attribute-name '^objectGUID:: NX8J' 5 \
	"in the entry at line $alice (CN=Alice Martin,"
cut_at value '^proxyAddresses: SIP:alice' 22 "(CN=Alice Martin,"
cut_at base64 '^objectGUID:: Rbq7' 20 "(CN=Oliver Grant,"
cut_at continuation '^ OHF23SPDLT)/cn=Recipients/cn=alice' 10 \
	"(CN=Alice Martin,"
cut_at after-dn '^dn: CN=Oliver Grant' 3 "in the dn: line of an entry"
cut_at in-dn '^dn: CN=Ben Carter' 12 "in the dn: line of an entry"
cut_at trailer '^# numEntries:' 5 "the export is truncated"
ds "$S" history --json
jq_true exports-cut-history-not-applied \
	'[.[] | select(.exit_code == 1)] | length == 7 and all(.applied == false)'

# an objectGUID that is not 16 bytes (a damaged export): a warning, and
# an anchor reports can show (a user trial: its raw bytes, control
# characters and all, were the anchor)
scenario exports-guid17
sed 's#^objectGUID:: vNAOy+4H3MhlJgfC7nXPGw==$#objectGUID:: AAECAwQFBgcICQoLDA0ODxA=#' \
	"$COMPANY" >"$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync --json
expect_rc exports-guid17-sync 0
jq_true exports-guid17-warned '[.warnings[] | select(contains("CN=Ben Carter,OU=Sales,OU=Staff,DC=example,DC=com: objectGUID is 17 bytes, not the 16 of a GUID"))] | length == 1'
expect_eq exports-guid17-anchor "guid:000102030405060708090a0b0c0d0e0f10" \
	"$(q "SELECT anchor FROM dirsync_managed WHERE address = 'ben.carter@example.com'")"
# an entryUUID that reads "guid:..." and no objectGUID: it is the
# anchor as it is, no warning about an objectGUID there is not (the
# fuzzer's: a null pointer read in the warning)
scenario exports-uuid-guidlike
printf 'dn: uid=gl,ou=p,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: gl\ncn: GL\nsn: L\nmail: gl@example.com\nentryUUID: guid:0102\n\n' >"$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" sync --json
expect_rc exports-uuid-guidlike-sync 0
jq_true exports-uuid-guidlike-no-warning '[.warnings[] | select(contains("objectGUID"))] | length == 0'
expect_eq exports-uuid-guidlike-anchor "guid:0102" \
	"$(q "SELECT anchor FROM dirsync_managed WHERE address = 'gl@example.com'")"
