#!/bin/sh
# The operator's documents: both man pages render without a single warning,
# document every command, exit code and config key, and the systemd units
# pass systemd-analyze verify.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() {
	echo "test_daemon_docs: $*" >&2
	fail=1
}

for page in man/dirsync.8 man/dirsync.conf.5; do
	if ! LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 \
		-l "$top/$page" >"$tmp/out" 2>"$tmp/err"; then
		bad "$page: man failed"
	fi
	if [ -s "$tmp/err" ]; then
		bad "$page: warnings:"
		cat "$tmp/err" >&2
	fi
	[ "$(wc -l <"$tmp/out")" -gt 100 ] || bad "$page: rendered almost nothing"
	cp "$tmp/out" "$tmp/$(basename "$page").txt"
done

# every command, and every exit code, in dirsync(8)
for cmd in check test plan sync daemon history show status --max-age approve passwd-hook \
	rebuild-state --json --all --dry-run --force-limits --full --now SIGUSR1 \
	SIGHUP SIGTERM DIRSYNC_SMTP_PASSWORD; do
	grep -q -- "$cmd" "$tmp/dirsync.8.txt" || bad "dirsync(8) lacks $cmd"
done
for code in 0 1 2 3; do
	grep -Eq "^       $code  " "$tmp/dirsync.8.txt" ||
		bad "dirsync(8) lacks exit status $code"
done

# every key of the option table in dirsync.conf(5), under its section
keys=$(sed -n 's/^[[:space:]]*O_[A-Z]*(\([a-z]*\), \([a-z_]*\).*/\1 \2/p;
	s/^[[:space:]]*{"\([a-z]*\)", "\([a-z_]*\)".*/\1 \2/p' \
	"$top/src/conf/conf.c")
[ -n "$keys" ] || bad "found no keys in src/conf/conf.c"
echo "$keys" | while read -r sec key; do
	[ "$key" = bind_password ] && continue # the loaded secret, not a key
	awk -v s="[$sec]" -v k="$key" '
		/^\[/ { insec = ($1 == s) }
		/^[A-Z]/ && !/^\[/ { insec = 0 }
		insec && $1 == k { found = 1 }
		END { exit !found }' "$tmp/dirsync.conf.5.txt" ||
		{ echo "dirsync.conf(5) lacks [$sec] $key" >&2; exit 1; }
done || fail=1

# the units are valid (ExecStart pointed at a binary that exists here)
if command -v systemd-analyze >/dev/null 2>&1; then
	for u in dirsync.service dirsync-sync.service dirsync.timer; do
		sed 's|/usr/local/bin/dirsync|/bin/true|' \
			"$top/contrib/systemd/$u" >"$tmp/$u"
	done
	(cd "$tmp" && systemd-analyze verify --man=no ./dirsync.service \
		./dirsync-sync.service ./dirsync.timer) >"$tmp/verify" 2>&1 ||
		{ bad "systemd-analyze verify failed:"; cat "$tmp/verify" >&2; }
	grep -q '^Type=notify' "$top/contrib/systemd/dirsync.service" ||
		bad "dirsync.service is not Type=notify"
fi
exit $fail
