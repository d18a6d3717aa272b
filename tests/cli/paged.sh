# A paged ldapsearch export (`ldapsearch -E pr=N/noprompt`, needed beyond
# AD's 1,000-object MaxPageSize): one search result record per page, the
# last with an empty cookie.  The file is company.ldif in the format
# ldapsearch 2.5.13 writes (copied from a real export against slapd;
# tests/unit/test_ldif.c test_paged has the same format line by line).
# Sourced by run.sh.

# The rows without their time stamps.
paged_rows() {
	q "SELECT domain, active FROM domain ORDER BY domain"
	q "SELECT username, name, maildir, active FROM mailbox ORDER BY username"
	q "SELECT address, goto, active FROM alias ORDER BY address"
}

# paged_export LDIF PAGE [LAST]: LDIF's entries as a paged export of PAGE
# entries per page; LAST=cut stops after the first page's record (a
# cookie for more, then the trailer), LAST=fail makes the last page's
# result a size limit.
paged_export() {
	awk -v page="$2" -v last="${3:-}" '
		function head() {
			print "# extended LDIF\n#\n# LDAPv3"
			print "# base <DC=example,DC=com> with scope subtree"
			print "# filter: (objectClass=*)\n# requesting: ALL"
			print "# with pagedResults control: size=" page "\n#\n"
		}
		function record(more) {
			print "# search result\nsearch: " (++nsearch + 1)
			if (!more && last == "fail") {
				print "result: 4 Size limit exceeded\n"
				return
			}
			print "result: 0 Success"
			if (more) {
				print "control: 1.2.840.113556.1.4.319 false MA0CAQAECAoAAAAAAAAA"
				print "pagedresults: cookie=CgAAAAAAAAA="
			} else {
				print "control: 1.2.840.113556.1.4.319 false MAUCAQAEAA=="
				print "pagedresults: cookie=\n"
			}
		}
		BEGIN { RS = ""; FS = "\n"; head() }
		{
			out = ""
			for (i = 1; i <= NF; i++)
				if ($i !~ /^#/ && $i !~ /^version:/)
					out = out $i "\n"
			if (out !~ /^dn:/)
				next
			if (n > 0 && n % page == 0) {
				record(1)
				if (last == "cut") {
					done = 1
					exit
				}
				head()
			}
			n++
			printf "# entry %d\n%s\n", n, out
		}
		END {
			if (!done)
				record(0)
			else
				print ""
			print "# numResponses: " (n + nsearch)
			print "# numEntries: " n
		}' "$1"
}

scenario paged-export
paged_export "$COMPANY" 10 >"$S/paged.ldif"
expect_in paged-export-has-pages "pagedresults: cookie=CgAAAAAAAAA=" "$S/paged.ldif"
mkconf "$S/paged.ldif"
ds "$S" plan --json
expect_rc paged-export-read 0
jq_true paged-export-all-entries '.source.read == 35 and .summary.add == 70'
ds "$S" sync
expect_rc paged-export-sync 0
# the same rows as the plain export gives
rows_paged=$(paged_rows)
scenario paged-export-plain
mkconf "$COMPANY"
ds "$S" sync
expect_eq paged-export-same-rows "$rows_paged" "$(paged_rows)"
rows_before=$(dbrows)
# ldapsearch stopped after the first page: refused, nothing applied
paged_export "$COMPANY" 10 cut >"$S/cut.ldif"
mkconf "$S/cut.ldif"
ds "$S" sync
expect_rc paged-export-cut-refused 1
expect_in paged-export-cut-says "stopped before its last page" "$S/err"
expect_eq paged-export-cut-rows-unchanged "$rows_before" "$(dbrows)"
# the last page failed
paged_export "$COMPANY" 10 fail >"$S/fail.ldif"
mkconf "$S/fail.ldif"
ds "$S" sync
expect_rc paged-export-failed-page-refused 1
expect_in paged-export-failed-page-says "'result: 4 Size limit exceeded'" "$S/err"
expect_eq paged-export-failed-page-rows-unchanged "$rows_before" "$(dbrows)"
