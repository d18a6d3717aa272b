# A private PostgreSQL for tests (POSIX sh; sourced after common.sh).
#
#   pg_start [fast]   initdb + pg_ctl as user postgres, data and socket under
#                     $T/pg, TCP on 127.0.0.1:$PG_PORT.  "fast" turns off
#                     fsync (tests); without it the server is durable (bench).
#                     Creates roles dirsync (owner of database `mail`) and
#                     mailreader (SELECT only, for Postfix and Dovecot),
#                     both with passwords; password auth over TCP.
#   PG_TLS=1          before pg_start: TLS on, with a certificate for
#                     127.0.0.1 from a test CA ($PG_DIR/ca.pem)
#   pg_sql SQL...     psql as the superuser on database mail
#   PG_URL            postgresql://dirsync@127.0.0.1:PORT/mail?sslmode=disable
#   PGPASSFILE        exported: holds the dirsync and mailreader passwords
#                     (dirsync reads it through libpq, as in production)

PG_DIRSYNC_PW=dirsync-pw
PG_READER_PW=reader-pw

pg_bin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	return 1
}

pg_start() {
	PG_BIN=$(pg_bin) || fail "PostgreSQL server binaries not found"
	PG_DIR=$T/pg
	PG_PORT=$(free_port)
	mkdir -p "$PG_DIR"
	chown postgres: "$PG_DIR"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres \
	    -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 \
	    --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
	    fail "initdb failed (see $PG_DIR/initdb.log)"
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $PG_PORT"
		echo "unix_socket_directories = '$PG_DIR'"
		echo "max_connections = 40"
		echo "shared_buffers = 128MB"
		if [ -n "${PG_TLS:-}" ]; then
			echo "ssl = on"
			echo "ssl_cert_file = '$PG_DIR/server.pem'"
			echo "ssl_key_file = '$PG_DIR/server.key'"
		fi
		if [ "${1:-}" = fast ]; then
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		fi
	} >>"$PG_DIR/data/postgresql.conf"
	[ -z "${PG_TLS:-}" ] || _pg_certs
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" \
	    -l "$PG_DIR/server.log" -w -t 30 start >/dev/null ||
	    fail "PostgreSQL did not start (see $PG_DIR/server.log)"
	at_exit "runuser -u postgres -- '$PG_BIN/pg_ctl' -D '$PG_DIR/data' -m immediate -w stop"
	PG_PSQL="psql -X -q -v ON_ERROR_STOP=1 -h $PG_DIR -p $PG_PORT -U postgres"
	$PG_PSQL -d postgres >/dev/null <<EOF || fail "creating roles failed"
CREATE ROLE dirsync LOGIN PASSWORD '$PG_DIRSYNC_PW';
CREATE ROLE mailreader LOGIN PASSWORD '$PG_READER_PW';
CREATE DATABASE mail OWNER dirsync;
EOF
	# Tables dirsync creates later are readable by mailreader.
	$PG_PSQL -d mail >/dev/null <<EOF || fail "grants failed"
ALTER DEFAULT PRIVILEGES FOR ROLE dirsync IN SCHEMA public
    GRANT SELECT ON TABLES TO mailreader;
EOF
	PGPASSFILE=$T/pgpass
	umask_old=$(umask)
	umask 077
	{
		echo "127.0.0.1:$PG_PORT:*:dirsync:$PG_DIRSYNC_PW"
		echo "127.0.0.1:$PG_PORT:*:mailreader:$PG_READER_PW"
	} >"$PGPASSFILE"
	umask "$umask_old"
	export PGPASSFILE
	PG_URL="postgresql://dirsync@127.0.0.1:$PG_PORT/mail?sslmode=disable"
}

# A test CA and a server certificate for 127.0.0.1, key readable by postgres.
_pg_certs() {
	(
		cd "$PG_DIR" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		    -subj "/CN=dirsync test CA" -keyout ca.key -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		    -keyout server.key -out server.csr
		printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -days 2 -extfile san.ext -out server.pem
		chown postgres: server.key server.pem
		chmod 600 server.key
	) >"$PG_DIR/certs.log" 2>&1 || fail "test certificates: see $PG_DIR/certs.log"
}

pg_sql() {
	$PG_PSQL -d mail -At -c "$*"
}
