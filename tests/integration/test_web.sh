#!/bin/sh
# test_web.sh - the daemon's status page and /metrics ([web] listen), seen
# by curl, by `promtool check metrics` (Debian's prometheus) and by a real
# headless browser (Debian's chromium): each page's DOM is checked for its
# content and a screenshot of it is taken and checked to be a real render.
#
#   /metrics      valid Prometheus text; values equal to `show --json`
#   /             the runs, the "Sync now" form
#   /run/1        the same text as `dirsync show 1`
#   /config       the same text as `dirsync check`, the secret masked
#   POST /sync    a new run with this page's Origin; refused (403, no run)
#                 without one, from another origin (a cross-site form in
#                 the browser), and for a foreign Host (DNS rebinding)
#   reload        /config follows SIGHUP; a port in use fails at start
#
# Screenshots stay in $DIRSYNC_WEB_SHOTS (default: web-shots next to the
# binary) for a person to look at.  Source: examples/company.ldif; target:
# SQLite in a mktemp directory; servers on 127.0.0.1 only.
set -u
: "${DIRSYNC:?set DIRSYNC to the dirsync binary}"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/dirsync-web-XXXXXX)
shots=${DIRSYNC_WEB_SHOTS:-$(dirname "$DIRSYNC")/web-shots}
pids=""
PY=/usr/bin/python3

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "test_web: FAIL: $*" >&2
	if [ -s "$tmp/daemon.log" ]; then
		echo "--- daemon log (last 10 lines)" >&2
		tail -n 10 "$tmp/daemon.log" >&2
	fi
	exit 1
}
say() {
	echo "test_web: $*"
}

for t in curl jq sqlite3 promtool chromium; do
	command -v $t >/dev/null 2>&1 || fail "$t missing (make deps)"
done

# a port free right now on 127.0.0.1
free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

runs() {
	n=$("$DIRSYNC" -c "$conf" history -n 1000 --json 2>/dev/null | jq length)
	echo "${n:-0}"
}

wait_runs() {
	i=0
	while [ "$(runs)" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

# browse NAME PATH: chromium renders http://$hp/PATH; its DOM goes to
# $tmp/NAME.html and a screenshot to $shots/NAME.png.
browse() {
	DBUS_SESSION_BUS_ADDRESS=disabled: chromium --headless --no-sandbox \
		--disable-gpu --no-first-run --disable-dev-shm-usage \
		--user-data-dir="$tmp/chromium" --window-size=1100,800 \
		--virtual-time-budget=3000 --screenshot="$shots/$1.png" \
		--dump-dom "$2" >"$tmp/$1.html" 2>"$tmp/chromium.err" ||
		fail "chromium on $2: $(tail -n 3 "$tmp/chromium.err")"
	[ -s "$tmp/$1.html" ] || fail "chromium gave no DOM for $2"
	# a PNG of the window's size with more than a few colours: a page
	# was drawn, not an error or a blank screen
	$PY - "$shots/$1.png" <<'EOF' || fail "screenshot $1.png is not a rendered page"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1100, 800), (w, h)
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
assert len(set(raw)) > 40, "blank: %d byte values" % len(set(raw))
EOF
}

# pre_text FILE ID: the text of <pre id="ID"> in an HTML file, unescaped.
pre_text() {
	$PY - "$1" "$2" <<'EOF'
import html, re, sys
m = re.search(r'<pre id="%s">(.*?)</pre>' % sys.argv[2],
              open(sys.argv[1]).read(), re.S)
sys.stdout.write(html.unescape(m.group(1)) if m else "")
EOF
}

mkdir -p "$shots"
port=$(free_port)
hp=127.0.0.1:$port
url=http://$hp
conf=$tmp/dirsync.conf
cp "$top/examples/company.ldif" "$tmp/dir.ldif"
cat >"$conf" <<EOF
[source]
type = ldif
path = $tmp/dir.ldif

[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com

[target]
url = sqlite://$tmp/mail.db

[schedule]
interval = 1h

[web]
listen = $hp

[state]
path = $tmp/state.db
EOF
chmod 600 "$conf"
export DIRSYNC_BIND_PASSWORD=Web-Test-Secret-4711

"$DIRSYNC" -c "$conf" daemon -f 2>"$tmp/daemon.log" &
pids="$pids $!"
wait_runs 1 || fail "the daemon made no first run"
grep -q "status page on $url/" "$tmp/daemon.log" ||
	fail "the daemon does not log where the status page is"
say "daemon with [web] listen = $hp, run 1 done"

# ---- a port in use: refused at start, on the terminal -----------------
sed "s|$tmp/state.db|$tmp/state2.db|" "$conf" >"$tmp/two.conf"
chmod 600 "$tmp/two.conf"
"$DIRSYNC" -c "$tmp/two.conf" daemon -f >"$tmp/two.out" 2>&1
rc=$?
[ $rc = 1 ] || fail "a second daemon on $hp: exit $rc, want 1"
grep -q "\[web\] listen $hp: Address already in use" "$tmp/two.out" ||
	fail "port in use not named: $(cat "$tmp/two.out")"
say "a port in use fails at start, naming it"

# ---- /metrics -----------------------------------------------------------
curl -sf "$url/metrics" >"$tmp/metrics" || fail "GET /metrics"
promtool check metrics <"$tmp/metrics" >"$tmp/promtool.out" 2>&1 ||
	fail "promtool check metrics: $(cat "$tmp/promtool.out")"
"$DIRSYNC" -c "$conf" show 1 --json >"$tmp/run1.json" || fail "show 1 --json"
metric() {
	awk -v m="$1" '$1 == m { print $2 }' "$tmp/metrics"
}
want_metric() {
	got=$(metric "$1")
	[ "$got" = "$2" ] || fail "$1 is '$got', want '$2'"
}
want_metric 'dirsync_last_run_id' 1
want_metric 'dirsync_last_run_exit_code' 0
want_metric 'dirsync_last_run_applied' 1
want_metric 'dirsync_last_run_limit_stop' 0
want_metric 'dirsync_last_run_entries_read' "$(jq .source.read "$tmp/run1.json")"
want_metric 'dirsync_last_run_entries_in_scope' \
	"$(jq .source.in_scope "$tmp/run1.json")"
for k in mailbox alias list contact; do
	want_metric "dirsync_last_run_changes{op=\"add\",kind=\"$k\"}" \
		"$(jq "[.changes[] | select(.op == \"add\" and .kind == \"$k\")] | length" "$tmp/run1.json")"
done
want_metric 'dirsync_last_run_changes{op="delete",kind="mailbox"}' 0
want_metric 'dirsync_last_run_conflicts{kind="address"}' \
	"$(jq .summary.conflict "$tmp/run1.json")"
want_metric 'dirsync_recorded_runs{result="applied"}' 1
want_metric 'dirsync_recorded_runs{result="limit_stop"}' 0
ts=$(metric dirsync_last_success_timestamp_seconds)
now=$(date +%s)
[ -n "$ts" ] && awk -v t="$ts" -v n="$now" 'BEGIN { exit !(t > n - 120 && t <= n + 1) }' ||
	fail "dirsync_last_success_timestamp_seconds '$ts' is not about now ($now)"
say "/metrics passes promtool check metrics; values match show 1 --json"

# ---- the pages, in a browser ------------------------------------------
browse index "$url/"
grep -q '<button type="submit" id="sync-now">Sync now</button>' "$tmp/index.html" ||
	fail "index: no Sync now button"
grep -q '<a href="/run/1">1</a>' "$tmp/index.html" || fail "index: no run 1"
grep -q '<td class="ok">applied</td>' "$tmp/index.html" ||
	fail "index: run 1 not shown as applied"

browse run1 "$url/run/1"
"$DIRSYNC" -c "$conf" show 1 >"$tmp/show1.txt" || fail "show 1"
pre_text "$tmp/run1.html" report >"$tmp/run1.txt"
cmp -s "$tmp/show1.txt" "$tmp/run1.txt" ||
	fail "/run/1 differs from dirsync show 1: $(diff "$tmp/show1.txt" "$tmp/run1.txt" | head -5)"
grep -q 'add     mailbox  alice.martin@example.com' "$tmp/run1.txt" ||
	fail "/run/1 lacks alice's mailbox"

browse config "$url/config"
"$DIRSYNC" -c "$conf" check >"$tmp/check.txt" 2>/dev/null || fail "check"
pre_text "$tmp/config.html" config >"$tmp/config.txt"
cmp -s "$tmp/check.txt" "$tmp/config.txt" ||
	fail "/config differs from dirsync check: $(diff "$tmp/check.txt" "$tmp/config.txt" | head -5)"
grep -q 'bind_password = \*\*\*\*\*\*\*\*' "$tmp/config.txt" ||
	fail "/config does not show the masked password"
for f in "$tmp"/index.html "$tmp"/run1.html "$tmp"/config.html "$tmp/metrics"; do
	grep -q "$DIRSYNC_BIND_PASSWORD" "$f" && fail "$f holds the secret"
done
say "/, /run/1 (= show 1), /config (= check, secret masked) in chromium; screenshots in $shots"

# ---- Sync now: same origin only ---------------------------------------
code() {
	curl -s -o /dev/null -w '%{http_code}' "$@"
}
[ "$(code -X POST "$url/sync")" = 403 ] || fail "POST /sync without Origin not refused"
[ "$(code -X POST -H "Origin: http://evil.example" "$url/sync")" = 403 ] ||
	fail "POST /sync from another origin not refused"
[ "$(code -X POST -H "Host: rebind.example:$port" \
	-H "Origin: http://rebind.example:$port" "$url/sync")" = 421 ] ||
	fail "a foreign Host (DNS rebinding) not refused"
[ "$(code -H "Host: rebind.example:$port" "$url/")" = 421 ] ||
	fail "GET / with a foreign Host not refused"

# a cross-site form, submitted by the browser itself
eport=$(free_port)
mkdir "$tmp/evil"
cat >"$tmp/evil/index.html" <<EOF
<!DOCTYPE html><html><body>
<form id="f" method="post" action="$url/sync"></form>
<script>document.getElementById("f").submit();</script>
</body></html>
EOF
(cd "$tmp/evil" && exec $PY -m http.server --bind 127.0.0.1 "$eport") \
	>"$tmp/evil.log" 2>&1 &
pids="$pids $!"
i=0
until curl -sf "http://127.0.0.1:$eport/" >/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "the cross-site page server did not start"
	sleep 0.1
done
browse cross-site "http://127.0.0.1:$eport/"
grep -q 'refused: not from this page' "$tmp/cross-site.html" ||
	fail "the browser's cross-site POST was not refused: $(head -c 300 "$tmp/cross-site.html")"
sleep 0.5
[ "$(runs)" = 1 ] || fail "a refused POST started a run"
say "POST /sync refused without Origin, cross-origin (also from chromium), foreign Host"

[ "$(code -X POST -H "Origin: $url" "$url/sync")" = 303 ] ||
	fail "POST /sync from the page's own origin not accepted"
wait_runs 2 || fail "Sync now started no run"
grep -q "sync requested from the status page (127.0.0.1)" "$tmp/daemon.log" ||
	fail "the request is not logged"
browse index-after "$url/?sync=requested"
grep -q 'id="notice">Sync requested' "$tmp/index-after.html" ||
	fail "no notice after Sync now"
grep -q '<a href="/run/2">2</a>' "$tmp/index-after.html" || fail "index: no run 2"
say "Sync now from the page's origin: run 2"

# ---- reload: /config follows -------------------------------------------
# (a new [web] listen waits for a restart: /config shows the served one)
sed -i 's/^\[state\]$/[state]\nkeep_runs = 77/' "$conf"
sed -i "s/^listen = .*/listen = 127.0.0.1:9/" "$conf"
kill -HUP "$(cut -d' ' -f1 "$tmp/state.db.lock")"
i=0
until curl -sf "$url/config" | grep -q '^keep_runs = 77$'; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "/config did not follow the reload"
	sleep 0.1
done
curl -sf "$url/config" >"$tmp/config-reloaded.txt"
grep -q "^listen = $hp\$" "$tmp/config-reloaded.txt" ||
	fail "/config does not show the listen served ($hp)"
grep -qF "# [web] listen = 127.0.0.1:9 in the file: a restart takes it" \
	"$tmp/config-reloaded.txt" || fail "/config does not say the new listen waits"
[ "$(code "$url/run/99999")" = 404 ] || fail "/run/99999 is not 404"
[ "$(code "$url/nothing")" = 404 ] || fail "/nothing is not 404"
# a NUL sent encoded does not cut the name short: not run 1
[ "$(code "$url/run/1%00")" = 404 ] || fail "/run/1%00 is not 404"
[ "$(code "$url/run/1%00x")" = 404 ] || fail "/run/1%00x is not 404"
[ "$(code "$url/run/%31")" = 200 ] || fail "/run/%31 (run 1) is not 200"
[ "$(code -X PUT "$url/")" = 405 ] || fail "PUT / is not 405"
say "reload shown on /config; 404 and 405 where due"
exit 0
