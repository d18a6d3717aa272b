# Shared helpers for the mail-server integration tests (POSIX sh; sourced).
#
#   . "$LIB/common.sh"; mail_init     T = a fresh temp dir; cleanup on EXIT
#   port=$(free_port)                 a free 127.0.0.1 TCP port
#   at_exit "command"                 run at exit, last registered first
#   fail "message"                    print and exit 1
#   ok "message"                      count a passed check
#
# Servers started by pg.sh, postfix.sh and dovecot.sh register their own
# stop commands with at_exit, so a failing test leaves nothing running.

MAIL_LIB=${MAIL_LIB:-$(cd "$(dirname "$0")" && pwd)/lib/mail}
REPO=${REPO:-$(cd "$MAIL_LIB/../../../.." && pwd)}
_exit_cmds=""
CHECKS=0

at_exit() {
	_exit_cmds="$1
$_exit_cmds"
}

_run_exit() {
	rc=$?
	set +e
	printf '%s\n' "$_exit_cmds" | while IFS= read -r c; do
		[ -n "$c" ] && eval "$c" >/dev/null 2>&1
	done
	if [ "$rc" != 0 ] && [ -n "${T:-}" ] && [ -z "${KEEP:-}" ]; then
		# keep the logs readable in the failure output
		for f in "$T"/*.log "$T"/pg/*.log; do
			[ -s "$f" ] || continue
			echo "---- tail $f" >&2
			tail -n 15 "$f" >&2
		done
	fi
	if [ -n "${T:-}" ]; then
		if [ -n "${KEEP:-}" ]; then
			echo "kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

mail_init() {
	T=$(mktemp -d /tmp/dirsync-mail.XXXXXX)
	# the servers' own users (postgres, postfix, dovecot, vmail) must
	# reach their directories below it
	chmod 755 "$T"
	trap _run_exit EXIT
	trap 'exit 130' INT TERM
}

free_port() {
	python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
	python3 - "$1" "${2:-20}" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	CHECKS=$((CHECKS + 1))
	[ -n "${VERBOSE:-}" ] && echo "ok: $*"
	return 0
}

# need_root: the servers drop privileges to their own users.
need_root() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 0; }
}

# ensure_user NAME [UID]: a system user with no login, created if missing.
ensure_user() {
	id "$1" >/dev/null 2>&1 && return 0
	if [ -n "${2:-}" ] && ! getent passwd "$2" >/dev/null &&
	    ! getent group "$2" >/dev/null; then
		groupadd -r -g "$2" "$1" && useradd -r -u "$2" -g "$1" \
		    -d /nonexistent -s /usr/sbin/nologin "$1"
	else
		useradd -r -U -d /nonexistent -s /usr/sbin/nologin "$1"
	fi
}
