# Config values that can never work, refused when the config is read
# (exit 2, file:line and the key), by `dirsync check` and by a run alike:
# a member_of group or base_dn that is not an LDAP DN, an item listed
# twice in a list (object_types, member_of by DN, accepted_domains,
# exclude, ...), domain_rewrite rewriting one domain twice (only the first
# pair applied); and the warning for a member_of group outside base_dn.
# Sourced by run.sh.

scenario confvalues
# confvalue NAME LINE KEY SECTION-TEXT [SED]: company.ldif's config with
# SECTION-TEXT appended (and the sed(1) script SED run on it) is refused
# by check and sync (exit 2), the error at dirsync.conf:LINE naming KEY;
# the mail database is not created.
confvalue() {
	rm -f "$S"/mail.db*
	mkconf "$COMPANY" "$4"
	if [ $# -ge 5 ]; then
		sed -i "$5" "$S/dirsync.conf"
	fi
	ds "$S" check
	expect_rc "confvalue-$1" 2
	expect_in "confvalue-$1-file-line-key" "$S/dirsync.conf:$2: " "$S/err"
	expect_in "confvalue-$1-key" "$3" "$S/err"
	ds "$S" sync
	expect_rc "confvalue-$1-sync" 2
	sqlite_only "confvalue-$1-sync-writes-nothing" &&
		expect_eq "confvalue-$1-sync-writes-nothing" "" \
			"$(ls "$S"/mail.db* 2>/dev/null)"
}
# mkconf writes 12 lines; SECTION-TEXT starts on line 13
confvalue member-of-not-dn 14 "bad member_of item 'notadn' in [scope]" "[scope]
member_of = notadn"
expect_in confvalue-member-of-not-dn-says "is not an LDAP DN" "$S/err"
confvalue member-of-not-dn-continued 15 "bad member_of item 'CN=Staff,Groups' in [scope]" "[scope]
member_of = CN=Sales,OU=Groups,DC=example,DC=com
	CN=Staff,Groups"
confvalue base-dn-not-dn 14 "bad base_dn 'example.com' in [source]" "[source]
base_dn = example.com"
confvalue object-types-twice 14 "object_types in [scope] lists 'users' twice (first on line 14)" "[scope]
object_types = users groups users"
confvalue object-types-twice-continued 15 "object_types in [scope] lists 'groups' twice (first on line 14)" "[scope]
object_types = users groups
	contacts groups"
confvalue member-of-twice 15 "member_of in [scope] lists 'cn=sales, ou=groups,dc=example,dc=com' twice (first on line 14)" "[scope]
member_of = CN=Sales,OU=Groups,DC=example,DC=com
	cn=sales, ou=groups,dc=example,dc=com"
confvalue rewrite-twice 14 "domain_rewrite in [mapping] rewrites example.org twice (first on line 13)" "[mapping]
domain_rewrite = example.org=example.com
	example.org = example.net" '/^domain_rewrite = example.local/d'
# (the sed drops mkconf's domain_rewrite line: the text starts on line 12)
confvalue alias-attributes-twice 14 "alias_attributes in [mapping] lists 'ProxyAddresses' twice (first on line 14)" "[mapping]
alias_attributes = proxyAddresses otherMailbox ProxyAddresses"
confvalue exclude-twice 14 "exclude in [scope] lists 'SVC-*' twice (first on line 14)" "[scope]
exclude = svc-* SVC-*"
# accepted_domains is set by mkconf: a config of its own
cat >"$S/dirsync.conf" <<EOF2
[source]
type = ldif
path = $COMPANY
[mapping]
accepted_domains = example.com example.net
	Example.COM
[target]
url = $URL
[state]
path = $S/state.db
EOF2
ds "$S" check
expect_rc confvalue-domains-twice 2
expect_in confvalue-domains-twice-line "$S/dirsync.conf:6: accepted_domains in [mapping] lists 'example.com' twice (first on line 5)" "$S/err"
# one check reports them all, each at its line
mkconf "$COMPANY" "[scope]
member_of = notadn
object_types = users users"
ds "$S" check
expect_rc confvalue-all-at-once 2
expect_in confvalue-all-at-once-1 "$S/dirsync.conf:14: bad member_of" "$S/err"
expect_in confvalue-all-at-once-2 "$S/dirsync.conf:15: object_types" "$S/err"
# what stays accepted: a DN with escapes, spaces and a multi-valued RDN;
# distinct groups and types; an empty member_of
mkconf "$COMPANY" "[source]
base_dn = DC=example,DC=com
[scope]
member_of = CN=Smith\\, John+UID=js,OU=Staff,DC=example,DC=com
	CN=All Staff,OU=Groups,DC=example,DC=com
object_types = users groups"
ds "$S" check
expect_rc confvalue-good-dns 0
expect_not_in confvalue-good-dns-no-warning "warning" "$S/err"
# a group outside base_dn can never be read: check warns, at its line
mkconf "$COMPANY" "[source]
base_dn = DC=example,DC=com
[scope]
member_of = CN=Staff,DC=other,DC=org"
ds "$S" check
expect_rc confvalue-outside-base 0
expect_in confvalue-outside-base-warns "$S/dirsync.conf:16: warning: [scope] member_of group CN=Staff,DC=other,DC=org is outside base_dn DC=example,DC=com" "$S/err"
