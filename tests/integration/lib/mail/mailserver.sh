# The end-to-end mail-server test, for one back end (POSIX sh; sourced by
# test_mailserver_sqlite.sh and test_mailserver_pgsql.sh with BACKEND set).
#
# dirsync syncs examples/company.ldif into the database; a private Postfix
# and Dovecot, configured from examples/postfix and examples/dovecot, then
# accept, route and deliver real SMTP mail by what was synced.  The
# directory then changes (a leaver, a joiner, list membership), dirsync
# syncs again, and the mail server follows.

: "${BACKEND:?}"
need_root
mail_init
. "$MAIL_LIB/pg.sh"
. "$MAIL_LIB/postfix.sh"
. "$MAIL_LIB/dovecot.sh"

DIRSYNC=${DIRSYNC:-$REPO/build/dirsync}
[ -x "$DIRSYNC" ] || fail "no dirsync binary at $DIRSYNC"
mkdir -p "$T/db"
if [ "$BACKEND" = pgsql ]; then
	pg_start fast
	URL=$PG_URL
	db_sql() { pg_sql "$1"; }
else
	MAIL_DB=$T/db/mail.db
	URL=sqlite://$MAIL_DB
	db_sql() { sqlite3 "$MAIL_DB" "$1"; }
fi

cp "$REPO/examples/company.ldif" "$T/directory.ldif"
cat >"$T/dirsync.conf" <<EOF
[source]
type = ldif
path = $T/directory.ldif
[scope]
; the counts below predate the visible_only = no default (issue 9)
visible_only = yes
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = $URL
[state]
path = $T/state.db
EOF
chmod 600 "$T/dirsync.conf"

sync_dir() {
	rc=0
	"$DIRSYNC" -c "$T/dirsync.conf" sync >"$T/sync.out" 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		cat "$T/sync.out" >&2
		fail "dirsync sync exited $rc"
	fi
	# Postfix and Dovecot read the SQLite file as their own users
	[ -z "${MAIL_DB:-}" ] || chmod 644 "$MAIL_DB"
	ok "sync: $(grep '^summary' "$T/sync.out")"
}

sync_dir
# An alias domain kept by hand next to what dirsync manages, as an admin
# (or Postfixadmin) would: example.org is example.com under another name.
db_sql "INSERT INTO domain (domain, description, aliases, mailboxes, maxquota, quota, transport, backupmx, created, modified, active) VALUES ('example.org', 'by hand', 0, 0, 0, 0, 'virtual', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)" >/dev/null
db_sql "INSERT INTO alias_domain (alias_domain, target_domain, created, modified, active) VALUES ('example.org', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)" >/dev/null
sink_start
dovecot_ports
dovecot_start "$BACKEND"
postfix_start "$BACKEND"

# ---- checks ---------------------------------------------------------------

N=0
# send ADDR: one message to ADDR, accepted; sets SUBJ to its subject.
send() {
	N=$((N + 1))
	SUBJ="dirsync-e2e-$N-$1"
	r=$(/usr/bin/python3 "$MAIL_LIB/smtp.py" "$SMTP_PORT" send "$1" "$SUBJ")
	case $r in
	250*) ok "SMTP accepts mail for $1" ;;
	*) fail "SMTP refused mail for $1: $r" ;;
	esac
}

# has_msg DIR SUBJ: a message with that subject is in the maildir DIR.
has_msg() {
	[ -d "$1/new" ] && grep -rlqs -- "^Subject: $2\$" "$1/new" "$1/cur"
}

# delivered MAILBOX...: each got $SUBJ in its maildir (as Dovecot sees it).
delivered() {
	for a in "$@"; do
		d=$(maildir_of "$a")
		[ -n "$d" ] || fail "doveadm does not know $a"
		i=0
		until has_msg "$d" "$SUBJ"; do
			i=$((i + 1))
			[ $i -lt 150 ] || fail "$SUBJ did not reach $a ($d)"
			sleep 0.1
		done
		ok "$SUBJ delivered to $a"
	done
}

# not_delivered MAILDIR...: after the positive checks, $SUBJ is not there.
not_delivered() {
	sleep 1
	for d in "$@"; do
		! has_msg "$d" "$SUBJ" || fail "$SUBJ reached $d"
		ok "$SUBJ not in $d"
	done
}

# relayed ADDR: the sink got $SUBJ for envelope recipient ADDR.
relayed() {
	i=0
	until grep -l -- "^X-Sink-Rcpt: $1\$" "$T"/sink/msg-* 2>/dev/null |
	    xargs -r grep -lq -- "^Subject: $SUBJ\$"; do
		i=$((i + 1))
		[ $i -lt 150 ] || fail "$SUBJ was not relayed to $1"
		sleep 0.1
	done
	ok "$SUBJ relayed to $1"
}

# rejected ADDR: refused at RCPT with 550 5.1.1.
rejected() {
	r=$(/usr/bin/python3 "$MAIL_LIB/smtp.py" "$SMTP_PORT" rcpt "$1")
	case $r in
	"550 5.1.1"*) ok "RCPT $1 rejected" ;;
	*) fail "RCPT $1: expected 550 5.1.1, got: $r" ;;
	esac
}

# agree ADDR: Postfix's mailbox map and Dovecot's userdb give the same
# maildir, or both know nothing of ADDR.
agree() {
	pf=$(pf_query virtual_mailbox_maps "$1" 2>/dev/null || true)
	dv=$(maildir_of "$1")
	if [ -z "$pf" ] && [ -z "$dv" ]; then
		ok "postmap and doveadm agree: no $1"
		return
	fi
	[ -n "$pf" ] && [ "$dv" = "$T/vmail/$pf" ] ||
	    fail "postmap says '$pf', doveadm says '$dv' for $1"
	ok "postmap and doveadm agree on $1"
}

# goto_is ADDR EXPECTED: what Postfix's alias map resolves ADDR to.
goto_is() {
	g=$(pf_query virtual_alias_maps "$1" 2>/dev/null || true)
	[ "$g" = "$2" ] || fail "alias $1 -> '$g', expected '$2'"
	ok "alias $1 -> $2"
}

all_agree() {
	for a in $(db_sql "SELECT username FROM mailbox ORDER BY username"); do
		agree "$a"
	done
}

e=example.com
[ "$(db_sql "SELECT count(*) FROM mailbox WHERE active = 1")" = 22 ] ||
    fail "22 active mailboxes after the first sync"
all_agree
agree "tom.becker@$e"
agree "nobody@$e"

send "alice.martin@$e"
delivered "alice.martin@$e"
send "ceo@$e"                        # an alias
delivered "alice.martin@$e"
send "ben.carter@example.net"        # an alias in the second domain
delivered "ben.carter@$e"
send "sales@$e"                      # a list with a nested list
delivered "ben.carter@$e" "chloe.dubois@$e" "daniel.okafor@$e" \
    "emma.novak@$e" "felix.wagner@$e" "grace.liu@$e"
send "alice.martin@example.org"      # through the alias domain
delivered "alice.martin@$e"
send "partner@$e"                    # a contact's internal alias
relayed "partner@partner.org"
send "partners@$e"                   # a list with a contact in it
delivered "ben.carter@$e" "grace.liu@$e"
relayed "partner@partner.org"
send "support@$e"
delivered "rachel.adams@$e" "sam.owusu@$e" "uma.patel@$e"
rejected "tom.becker@$e"             # disabled in the directory
rejected "nobody@$e"                 # unknown
rejected "info@$e"                   # claimed twice: a conflict, not synced
r=$(doveadm -c "$DV_DIR/dovecot.conf" auth test "alice.martin@$e" guess 2>&1 || true)
case $r in *"auth succeeded"*) fail "login without a password set" ;; esac
ok "no login before a password is set"
# Passwords set outside dirsync (Postfixadmin, doveadm pw): the hash with
# its scheme prefix.  A sync must leave them alone.
hash=$(doveadm -c "$DV_DIR/dovecot.conf" pw -s SHA512-CRYPT -p 'Winter-2026!')
db_sql "UPDATE mailbox SET password = '$hash' WHERE username IN ('sam.owusu@$e', 'alice.martin@$e')" >/dev/null
case $(dv_auth "sam.owusu@$e" 'Winter-2026!') in
*"auth succeeded"*) ok "Dovecot checks a {SHA512-CRYPT} password" ;;
*) fail "login with the stored {SHA512-CRYPT} password" ;;
esac
case $(dv_auth "sam.owusu@$e" 'wrong') in
*"auth succeeded"*) fail "a wrong password logs in" ;;
*) ok "a wrong password is refused" ;;
esac
sam_dir=$(maildir_of "sam.owusu@$e")
felix_dir=$(maildir_of "felix.wagner@$e")

# ---- the directory changes ------------------------------------------------
# Sam Owusu leaves (account disabled); Nina Berg joins Sales EMEA; Felix
# Wagner leaves the Sales list (but stays employed).
/usr/bin/python3 - "$T/directory.ldif" <<'EOF'
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
entries = text.split("\n\n")
out = []
for e in entries:
    if e.lstrip().startswith("dn: CN=Sam Owusu,") or "\ndn: CN=Sam Owusu," in e:
        assert "userAccountControl: 512" in e
        e = e.replace("userAccountControl: 512", "userAccountControl: 514")
    if "\ndn: CN=Sales EMEA," in "\n" + e:
        e = e.replace("member: CN=Emma Novak,",
                      "member: CN=Nina Berg,OU=Sales,OU=Staff,DC=example,DC=com\n"
                      "member: CN=Emma Novak,")
    if "\ndn: CN=Sales,OU=Groups," in "\n" + e:
        lines = [l for l in e.split("\n")
                 if not l.startswith("member: CN=Felix Wagner,")]
        assert len(lines) < len(e.split("\n"))
        e = "\n".join(lines)
    out.append(e)
out.append("""dn: CN=Nina Berg,OU=Sales,OU=Staff,DC=example,DC=com
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
cn: Nina Berg
sn: Berg
givenName: Nina
displayName: Nina Berg
sAMAccountName: nberg
userPrincipalName: nberg@example.com
mail: nina.berg@example.com
proxyAddresses: SMTP:nina.berg@example.com
proxyAddresses: smtp:nina@example.com
objectGUID:: 3q2+78r+ur4BI0VniavN7w==
objectCategory: CN=Person,CN=Schema,CN=Configuration,DC=example,DC=com
userAccountControl: 512
""")
open(path, "w", encoding="utf-8").write("\n\n".join(out))
EOF
sync_dir
grep -q "disable mailbox  *sam.owusu@$e" "$T/sync.out" || fail "the leaver was not disabled"
[ "$(db_sql "SELECT active FROM mailbox WHERE username = 'sam.owusu@$e'")" = 0 ] ||
    fail "the leaver's mailbox row is kept, with active = 0"
ok "the leaver's mailbox is disabled, not dropped"
all_agree
agree "sam.owusu@$e"
rejected "sam.owusu@$e"
rejected "sam@$e"
case $(dv_auth "sam.owusu@$e" 'Winter-2026!') in
*"auth succeeded"*) fail "the leaver can still log in" ;;
*) ok "the leaver cannot log in any more" ;;
esac
case $(dv_auth "alice.martin@$e" 'Winter-2026!') in
*"auth succeeded"*) ok "a sync keeps the passwords of active mailboxes" ;;
*) fail "alice's password did not survive the sync" ;;
esac

send "nina@$e"
delivered "nina.berg@$e"
send "sales@$e"
delivered "ben.carter@$e" "chloe.dubois@$e" "daniel.okafor@$e" \
    "emma.novak@$e" "grace.liu@$e" "nina.berg@$e"
not_delivered "$felix_dir"
send "support@$e"
delivered "rachel.adams@$e" "uma.patel@$e"
not_delivered "$sam_dir"
goto_is "support@$e" "rachel.adams@$e,uma.patel@$e"
send "nina@example.org"              # the joiner, through the alias domain
delivered "nina.berg@$e"
rejected "sam@example.org"           # the leaver, through it too
[ "$(db_sql "SELECT description FROM domain WHERE domain = 'example.org'")" = "by hand" ] ||
    fail "a sync touched the hand-made domain row"
ok "rows dirsync does not manage are left alone"
goto_is "sales-emea@$e" "chloe.dubois@$e,daniel.okafor@$e,emma.novak@$e,nina.berg@$e"

echo "test_mailserver_$BACKEND: $CHECKS checks passed"
