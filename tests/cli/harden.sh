# Fewer ways to hurt oneself (issue 14): `check` reports every error at
# once with file:line and reads the files the config names as this user;
# type values not in this version; the clear-text bind warning; global
# options after the command; the warning for root writing another user's
# files.  Sourced by run.sh.

# ---- check: every error in the file at once -------------------------------

scenario check-all-errors
cat >"$S/dirsync.conf" <<EOF
[source]
type = ldif
path = $COMPANY
page_size = lots
[scope]
enabled_only = maybe
[sauce]
foo = bar
	continued
[mapping]
accepted_domains = example.com
group_filter = (objectClass=group
[target]
url = $URL
[safety]
deprovision = shred
[state]
path = $S/state.db
EOF
chmod 600 "$S/dirsync.conf"
ds "$S" check
expect_rc check-all-errors-rc 2
for l in 4 6 7 12 16; do
	expect_in "check-all-errors-line-$l" "$S/dirsync.conf:$l:" "$S/err"
done
expect_in check-all-errors-count "5 errors" "$S/err"
# the bad section's keys and continuation lines are not reported again
expect_not_in check-all-errors-no-echo ":8:" "$S/err"
expect_not_in check-all-errors-no-echo-cont ":9:" "$S/err"
expect_eq check-all-errors-no-dump "" "$(cat "$S/out")"
# sync stops at the same file, with the first error
ds "$S" sync
expect_rc check-all-errors-sync 2
expect_in check-all-errors-sync-first "$S/dirsync.conf:4:" "$S/err"
# an SQLite URL without a file is caught by check, not by the first sync
sed -i "s|^url = .*|url = sqlite://|" "$S/dirsync.conf"
ds "$S" check
expect_in check-sqlite-no-file "$S/dirsync.conf:14: [target] url 'sqlite://' names no file" "$S/err"

# ---- check: the files the config names -------------------------------------

scenario check-files
printf 'not a real CA\n' >"$S/ca.pem"
chmod 600 "$S/ca.pem"
# ldap_tls_conf EXTRA...: an ldaps:// source with the CA file above
ldap_tls_conf() {
	ldapconf "uri = ldaps://dc1.example.com" "tls_ca_file = $S/ca.pem" \
		"base_dn = dc=example,dc=com" "$@"
}
ldap_tls_conf
ds "$S" check
expect_rc check-ca-readable 0
ldap_tls_conf
sed -i "s|^tls_ca_file = .*|tls_ca_file = $S/no-such-ca.pem|" "$S/dirsync.conf"
ds "$S" check
expect_rc check-ca-missing 2
expect_in check-ca-missing-line "$S/dirsync.conf:4: [source] tls_ca_file $S/no-such-ca.pem cannot be read" "$S/err"
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1 &&
	id nobody >/dev/null 2>&1; then
	# the CA file is root's, mode 600: nobody cannot read it
	ldap_tls_conf
	chmod 755 "$T" "$S"
	chown nobody "$S/dirsync.conf"
	runuser -u nobody -- "$DIRSYNC" -c "$S/dirsync.conf" check \
		>"$S/out" 2>"$S/err"
	rc=$?
	expect_rc check-ca-unreadable 2
	expect_in check-ca-unreadable-says \
		"$S/dirsync.conf:4: [source] tls_ca_file $S/ca.pem cannot be read by user nobody" \
		"$S/err"
	expect_in check-ca-unreadable-errno "Permission denied" "$S/err"
	chown root "$S/dirsync.conf"
	chmod 700 "$T"
else
	nskip=$((nskip + 1))
	echo "SKIP cli/check-ca-unreadable (needs root, runuser and nobody)"
fi
# a CA file that is not used (plain ldap://, no StartTLS) is not read
ldap_tls_conf "starttls = no"
sed -i -e "s|^tls_ca_file = .*|tls_ca_file = $S/no-such-ca.pem|" \
	-e "s|^uri = .*|uri = ldap://127.0.0.1:1|" "$S/dirsync.conf"
ds "$S" check
expect_rc check-ca-unused 0
# a secret file that is missing, or a directory
cat >"$S/dirsync.conf" <<EOF
[source]
type = ldif
path = $COMPANY
[mapping]
accepted_domains = example.com
[target]
type = scim
url = https://scim.example.com/v2
token_file = $S/no-such-token
[state]
path = $S/state.db
EOF
chmod 600 "$S/dirsync.conf"
ds "$S" check
expect_rc check-token-missing 2
expect_in check-token-missing-line "$S/dirsync.conf:9: [target] token_file $S/no-such-token cannot be read" "$S/err"
mkdir -p "$S/tokendir"
chmod 700 "$S/tokendir"
sed -i "s|^token_file = .*|token_file = $S/tokendir|" "$S/dirsync.conf"
ds "$S" check
expect_rc check-token-directory 2
expect_in check-token-directory-says "regular file" "$S/err"
# the LDIF export
mkconf "$S/no-such.ldif"
ds "$S" check
expect_rc check-ldif-missing 2
expect_in check-ldif-missing-line "$S/dirsync.conf:3: [source] path $S/no-such.ldif cannot be read" "$S/err"

# ---- type values not in this version ---------------------------------------

scenario check-types
# type_case NAME LINE SECTION VALUE EXPECTED-LIST (config on stdin)
type_case() {
	cat >"$S/dirsync.conf"
	chmod 600 "$S/dirsync.conf"
	ds "$S" check
	expect_rc "check-type-$1" 2
	expect_in "check-type-$1-line" "$S/dirsync.conf:$2: bad value '$4' for type in [$3]" "$S/err"
	expect_in "check-type-$1-lists" "expected $5, the only types in this version" "$S/err"
	# nothing about what the default type would need
	expect_in "check-type-$1-one-error" "1 error;" "$S/err"
}
type_case source 2 source ad "ldap or ldif" <<EOF
[source]
type = ad
[mapping]
accepted_domains = example.com
EOF
type_case target 5 target mysql "sql or scim" <<EOF
[source]
type = ldif
path = $COMPANY
[target]
type = mysql
[mapping]
accepted_domains = example.com
EOF
mkconf "$COMPANY"
sed -i "s|^url = .*|&\nschema = vimbadmin|" "$S/dirsync.conf"
ds "$S" check
expect_rc check-schema-unknown 2
expect_in check-schema-unknown-says "schema 'vimbadmin' is not in this version of dirsync; the only schema is postfixadmin" "$S/err"

# ---- the password in clear text over ldap:// -------------------------------

scenario check-plain-bind
printf 'S3cret-4711\n' >"$S/bind.secret"
chmod 600 "$S/bind.secret"
# plain_conf URI STARTTLS
plain_conf() {
	ldapconf "uri = $1" "starttls = $2" "tls_ca_file = $S/bind.secret" \
		"bind_dn = cn=svc,dc=example,dc=com" \
		"bind_password_file = $S/bind.secret" \
		"base_dn = dc=example,dc=com"
}
plain_conf ldap://dc1.example.com no
ds "$S" check
expect_rc check-plain-bind-ok 0
expect_in check-plain-bind-warns "$S/dirsync.conf:3: warning: ldap://dc1.example.com without StartTLS" "$S/err"
expect_in check-plain-bind-says "clear text" "$S/err"
expect_in check-plain-bind-with-warnings "with the warnings above" "$S/err"
plain_conf ldap://dc1.example.com yes
ds "$S" check
expect_in check-starttls-yes-warns "$S/dirsync.conf:4: warning: starttls = yes" "$S/err"
plain_conf ldaps://dc1.example.com no
sed -i "s|^starttls = no|starttls = no\ntls_verify = no|" "$S/dirsync.conf"
ds "$S" check
expect_rc check-tls-verify-off 0
expect_in check-tls-verify-off-warns "$S/dirsync.conf:5: warning: tls_verify = no" "$S/err"
for ok in "ldap://dc1.example.com demand" "ldaps://dc1.example.com no" \
	"ldap://127.0.0.1:389 no"; do
	set -- $ok
	plain_conf "$1" "$2"
	ds "$S" check
	expect_rc "check-no-warning-$1-$2" 0
	expect_not_in "check-no-warning-$1-$2-quiet" "warning" "$S/err"
done

# ---- global options after the command --------------------------------------

scenario options-after
mkconf "$COMPANY"
"$DIRSYNC" check -c "$S/dirsync.conf" >"$S/out" 2>"$S/err"
rc=$?
expect_rc options-after-check 0
expect_in options-after-check-read "accepted_domains = example.com example.net" "$S/out"
"$DIRSYNC" sync --config "$S/dirsync.conf" -q >"$S/out" 2>"$S/err"
rc=$?
expect_rc options-after-sync 0
expect_eq options-after-sync-quiet "" "$(cat "$S/out")"
"$DIRSYNC" history -n 1 --config="$S/dirsync.conf" --json >"$S/out" 2>"$S/err"
rc=$?
expect_rc options-after-history 0
jq_true options-after-history-one 'length == 1'
"$DIRSYNC" plan -c"$S/dirsync.conf" -vv >"$S/out" 2>"$S/err"
rc=$?
expect_rc options-after-plan-verbose 0
expect_in options-after-plan-debug "debug:" "$S/err"
"$DIRSYNC" -c "$S/none.conf" status -c "$S/dirsync.conf" >"$S/out" 2>"$S/err"
rc=$?
expect_rc options-after-last-wins 0
"$DIRSYNC" sync -c >"$S/out" 2>"$S/err"
rc=$?
expect_rc options-after-c-without-file 2
"$DIRSYNC" sync --bogus -c "$S/dirsync.conf" >"$S/out" 2>"$S/err"
rc=$?
expect_rc options-after-unknown-still-refused 2
expect_in options-after-unknown-named "--bogus" "$S/err"

# ---- root writing another user's files -------------------------------------

scenario root-owner
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkconf "$COMPANY"
	chown nobody "$S/dirsync.conf"
	ds "$S" sync
	expect_rc root-owner-sync 0
	expect_in root-owner-warns "running as root, but $S/dirsync.conf belongs to nobody" "$S/err"
	expect_in root-owner-names-files "$S/state.db and its .lock" "$S/err"
	expect_in root-owner-runuser "runuser -u nobody -- dirsync" "$S/err"
	expect_in root-owner-sudo "sudo -u nobody dirsync" "$S/err"
	ds "$S" check
	expect_in root-owner-check-warns "belongs to nobody" "$S/err"
	ds "$S" sync --dry-run
	expect_not_in root-owner-dry-run-quiet "belongs to nobody" "$S/err"
	chown root "$S/dirsync.conf"
	ds "$S" sync
	expect_not_in root-owner-own-config-quiet "running as root" "$S/err"
else
	nskip=$((nskip + 1))
	echo "SKIP cli/root-owner (not root)"
fi
