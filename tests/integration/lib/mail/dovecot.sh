# A private Dovecot: LMTP + SQL auth (POSIX sh; sourced after common.sh).
#
#   dovecot_ports          picks $LMTP_PORT (Postfix's config needs it first)
#   dovecot_start BACKEND  sqlite ($MAIL_DB) or pgsql (pg.sh's server, as
#                          mailreader).  Mail for user vmail under $T/vmail.
#   dv_user ADDR           `doveadm user` field lines (home=..., mail=...)
#   dv_auth ADDR PASSWORD  `doveadm auth test`
#   maildir_count ADDR     messages in ADDR's maildir (new + cur)
#
# Optional: DV_AUTH names the auth example (default 10-dirsync.conf;
# 10-dirsync-ldap.conf for the pass-through to the directory, whose
# dovecot-ldap.conf.ext the test writes into $T/dovecot first); IMAP_PORT
# adds an IMAP listener on 127.0.0.1.
#
# 10-dirsync.conf and dovecot-sql-*.conf.ext come from examples/dovecot,
# with only paths, host, password and the LMTP listener replaced.

VMAIL_UID=5000

dovecot_ports() {
	LMTP_PORT=$(free_port)
}

_dv_example() {
	sed -e "s#/var/lib/mail/mail.db#${MAIL_DB:-/nonexistent}#" \
	    -e "s#host=localhost port=5432#host=127.0.0.1 port=${PG_PORT:-5432}#" \
	    -e "s#password=CHANGE-ME#password=${PG_READER_PW:-x}#" \
	    -e "s#/var/vmail/#$T/vmail/#g" \
	    -e "s#/etc/dovecot/#$DV_DIR/#g" \
	    "$REPO/examples/dovecot/$1"
}

dovecot_start() {
	DV_BACKEND=$1
	DV_DIR=$T/dovecot
	: "${LMTP_PORT:?dovecot_ports first}"
	ensure_user vmail "$VMAIL_UID"
	uid=$(id -u vmail)
	mkdir -p "$DV_DIR" "$T/vmail"
	chown vmail:vmail "$T/vmail"
	_dv_example "dovecot-sql-$DV_BACKEND.conf.ext" \
	    >"$DV_DIR/dovecot-sql-$DV_BACKEND.conf.ext"
	# the example names the SQLite file; the LMTP socket becomes TCP
	_dv_example "${DV_AUTH:-10-dirsync.conf}" |
	    sed -e "s#dovecot-sql-sqlite.conf.ext#dovecot-sql-$DV_BACKEND.conf.ext#" \
		-e "s/^first_valid_uid = .*/first_valid_uid = $uid/" \
		-e "s/^last_valid_uid = .*/last_valid_uid = $uid/" \
		-e '/^service lmtp {/,/^}/d' \
		-e '/^service auth {/,/^}/d' >"$DV_DIR/10-dirsync.conf"
	dv_imap=""
	[ -n "${IMAP_PORT:-}" ] && dv_imap="service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
}"
	cat >"$DV_DIR/dovecot.conf" <<EOF
instance_name = dirsync-test-$(basename "$T")
base_dir = $DV_DIR/run
state_dir = $DV_DIR/state
log_path = $T/dovecot.log
listen = 127.0.0.1
protocols = lmtp${IMAP_PORT:+ imap}
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
disable_plaintext_auth = no
auth_mechanisms = plain
# tests poll for a login that is about to work: no 2 s penalty per miss
auth_failure_delay = 0
!include $DV_DIR/10-dirsync.conf
$dv_imap
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
EOF
	dovecot -c "$DV_DIR/dovecot.conf" </dev/null >"$DV_DIR/start.log" 2>&1 ||
	    fail "dovecot did not start: $(cat "$DV_DIR/start.log")"
	at_exit "kill \$(cat '$DV_DIR/run/master.pid')"
	wait_port "$LMTP_PORT" 20 || fail "dovecot lmtp is not listening"
}

dv_user() {
	doveadm -c "$DV_DIR/dovecot.conf" user -f home "$1" 2>&1
}

dv_auth() {
	doveadm -c "$DV_DIR/dovecot.conf" auth test "$1" "$2" 2>&1
}

# maildir_of ADDR: the maildir Dovecot resolves for ADDR (from doveadm).
maildir_of() {
	doveadm -c "$DV_DIR/dovecot.conf" user -f mail "$1" 2>/dev/null |
	    sed -e 's/^maildir://' -e 's/:.*//'
}

maildir_count() {
	d=$(maildir_of "$1")
	[ -n "$d" ] && [ -d "$d" ] || { echo 0; return 0; }
	find "$d/new" "$d/cur" -type f 2>/dev/null | wc -l
}
