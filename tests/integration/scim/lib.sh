# Shared by tests/integration/test_scim.sh and bench/scim_bench.sh (POSIX
# sh, sourced after lib/mail/common.sh and mail_init):
#
#   scim_deps                 npm ci into tests/integration/scim, once
#   scim_start [cursor]       the test server on a free 127.0.0.1 port:
#                             $SCIM_URL, $SCIM_CTL, $T/token (mode 600)
#   scim_conf LDIF [STATE]    a dirsync.conf for it: $T/dirsync.conf
#   ctl METHOD PATH [JSON]    the server's control endpoint
#   writes                    write requests since the last `ctl POST /reset`
#   dump                      every User and Group as JSON
SCIM_DIR=$REPO/tests/integration/scim

scim_deps() {
	command -v node >/dev/null 2>&1 || fail "node is missing (scripts/deps.sh)"
	# npm ci wipes and reinstalls: only when the lock file moved
	if ! cmp -s "$SCIM_DIR/package-lock.json" \
	    "$SCIM_DIR/node_modules/.dirsync-lock" 2>/dev/null; then
		(cd "$SCIM_DIR" && npm ci --no-audit --no-fund --silent) \
			>"$T/npm.log" 2>&1 || { cat "$T/npm.log" >&2;
			fail "npm ci in $SCIM_DIR"; }
		cp "$SCIM_DIR/package-lock.json" \
			"$SCIM_DIR/node_modules/.dirsync-lock"
	fi
}

# scim_start [cursor]: "cursor" also offers RFC 9865 cursor pagination
scim_start() {
	umask 077
	printf 'tok-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" \
		>"$T/token"
	umask 022
	rm -f "$T/scim.port"
	node "$SCIM_DIR/server.mjs" 0 "$T/token" "$T/scim.port" ${1:-} \
		>>"$T/scim.log" 2>&1 &
	echo $! >"$T/scim.pid"
	at_exit "kill $(cat "$T/scim.pid")"
	i=0
	while [ ! -s "$T/scim.port" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "the SCIM test server did not start"
		sleep 0.1
	done
	SCIM_PORT=$(cat "$T/scim.port")
	SCIM_URL=http://127.0.0.1:$SCIM_PORT/scim
	SCIM_CTL=http://127.0.0.1:$SCIM_PORT/control
}

scim_conf() {
	cat >"$T/dirsync.conf" <<EOF
[source]
type = ldif
path = $1

[mapping]
accepted_domains = example.com

[target]
type = scim
url = $SCIM_URL
token_file = $T/token

[safety]
max_delete_percent = 100

[state]
path = ${2:-$T/state.db}
EOF
	chmod 600 "$T/dirsync.conf"
}

ctl() {
	curl -sf -X "$1" -H 'Content-Type: application/json' \
		${3:+-d "$3"} "$SCIM_CTL$2"
}

writes() {
	ctl GET /stats | jq '.writes // 0'
}

dump() {
	ctl GET /dump
}
