# A private Postfix and an SMTP sink (POSIX sh; sourced after common.sh).
#
#   sink_start             local SMTP sink on $SINK_PORT, messages in $T/sink
#   postfix_start BACKEND  BACKEND = sqlite (reads $MAIL_DB) or pgsql (reads
#                          the server from pg.sh as user mailreader).
#                          smtpd on 127.0.0.1:$SMTP_PORT; virtual mailboxes
#                          go by LMTP to 127.0.0.1:$LMTP_PORT (Dovecot);
#                          everything else is relayed to the sink.
#   pf_query MAP ADDR      postmap -q against one of the example map files
#                          (MAP = virtual_alias_maps, virtual_mailbox_maps,
#                          virtual_domains_maps ...)
#
# The map files and the main.cf settings are the ones in examples/postfix,
# with only paths, host and password replaced.

sink_start() {
	SINK_PORT=$(free_port)
	mkdir -p "$T/sink"
	/usr/bin/python3 "$MAIL_LIB/sink.py" "$SINK_PORT" "$T/sink" \
	    >"$T/sink.log" 2>&1 &
	at_exit "kill $!"
	wait_port "$SINK_PORT" 20 || fail "the SMTP sink did not start"
}

# _pf_example FILE: an example file with this instance's paths.
_pf_example() {
	sed -e "s#/var/lib/mail/mail.db#${MAIL_DB:-/nonexistent}#" \
	    -e "s#^hosts = inet:localhost:5432#hosts = inet:127.0.0.1:${PG_PORT:-5432}#" \
	    -e "s#^password = CHANGE-ME#password = ${PG_READER_PW:-x}#" \
	    -e "s#/etc/postfix/#$PF_DIR/#g" \
	    "$REPO/examples/postfix/$1"
}

postfix_start() {
	PF_BACKEND=$1
	PF_DIR=$T/postfix
	SMTP_PORT=$(free_port)
	: "${LMTP_PORT:?dovecot_ports first}"
	id postfix >/dev/null 2>&1 || ensure_user postfix
	getent group postdrop >/dev/null || groupadd -r postdrop
	mkdir -p "$PF_DIR/queue" "$PF_DIR/data"
	chown postfix: "$PF_DIR/data"
	for f in "$REPO"/examples/postfix/"$PF_BACKEND"-*.cf; do
		_pf_example "$(basename "$f")" >"$PF_DIR/$(basename "$f")"
		chgrp postfix "$PF_DIR/$(basename "$f")"
		chmod 640 "$PF_DIR/$(basename "$f")"
	done
	{
		cat <<EOF
compatibility_level = 3.6
config_directory = $PF_DIR
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.dirsync.test
mydomain = dirsync.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = $T/postfix.log
maillog_file_prefixes = $T
smtputf8_enable = no
relayhost = [127.0.0.1]:$SINK_PORT
smtp_dns_support_level = disabled
lmtp_host_lookup = native
smtp_host_lookup = native
delay_warning_time = 0
bounce_queue_lifetime = 0
maximal_queue_lifetime = 1h
EOF
		# The example settings; for PostgreSQL, its commented lines
		# replace the SQLite ones.
		if [ "$PF_BACKEND" = pgsql ]; then
			_pf_example main.cf.dirsync | awk '
			    /^# PostgreSQL instead/ { pg = 1 }
			    !pg && /^(virtual_(mailbox_domains|mailbox_maps|alias_maps)|    proxy:sqlite)/ { next }
			    pg && /^#(virtual_|    proxy:pgsql)/ { sub(/^#/, "") }
			    { print }'
		else
			_pf_example main.cf.dirsync
		fi | sed '/^virtual_transport/d'
		echo "virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT"
	} >"$PF_DIR/main.cf"
	cat >"$PF_DIR/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
	postfix -c "$PF_DIR" check >"$PF_DIR/check.log" 2>&1 ||
	    fail "postfix check failed: $(cat "$PF_DIR/check.log")"
	postfix -c "$PF_DIR" start >"$PF_DIR/start.log" 2>&1 ||
	    fail "postfix did not start: $(cat "$PF_DIR/start.log")"
	at_exit "postfix -c '$PF_DIR' abort"
	wait_port "$SMTP_PORT" 20 || fail "postfix smtpd is not listening"
}

pf_query() {
	postmap -c "$PF_DIR" -q "$2" "$PF_BACKEND:$PF_DIR/$PF_BACKEND-$1.cf"
}
