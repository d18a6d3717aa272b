# The lock file `<state.path>.lock` deleted, emptied or replaced under a
# running daemon (a user trial: after `rm state.db.lock` a one-shot sync
# ran beside the daemon, a second daemon started, `sync --now` ran its
# own sync, and the daemon's failure note went into the deleted file).
# The daemon takes the lock at the path again within a second, writes its
# pid back into an emptied file, and runs nothing while another process
# holds the new file.  Sourced by run.sh.

scenario lockfile
mkconf "$COMPANY"
L=$S/state.db.lock
"$DIRSYNC" -c "$S/dirsync.conf" daemon -f >"$S/daemon.log" 2>&1 &
dpid=$!
# wait_line TEXT: until the lock file's first line is TEXT (5 s at most)
wait_line() {
	i=0
	while [ "$(head -n 1 "$L" 2>/dev/null)" != "$1" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
# wait_log TEXT: until the daemon's log says TEXT (5 s at most)
wait_log() {
	i=0
	while ! grep -q "$1" "$S/daemon.log" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
wait_log "run 1 "
wait_line "$dpid daemon"
expect_eq lockfile-daemon-holds "$dpid daemon" "$(head -n 1 "$L")"

# deleted: the daemon locks a new file at once, a one-shot sync and a
# second daemon are refused, `sync --now` asks the daemon
rm -f "$L"
wait_line "$dpid daemon"
expect_eq lockfile-deleted-retaken "$dpid daemon" "$(head -n 1 "$L" 2>/dev/null)"
ds "$S" sync
expect_rc lockfile-deleted-sync-refused 1
expect_in lockfile-deleted-sync-names-daemon "daemon (pid $dpid)" "$S/err"
# (before the fix it ran: timeout keeps a failing test from hanging)
timeout 5 "$DIRSYNC" -c "$S/dirsync.conf" daemon -f >"$S/out" 2>"$S/err"
rc=$?
expect_rc lockfile-deleted-second-daemon-refused 1
ds "$S" sync --now
expect_rc lockfile-deleted-now-asks-daemon 0
expect_in lockfile-deleted-now-says "the daemon will sync now" "$S/err"
expect_in lockfile-deleted-logged "was deleted or replaced: locked again" "$S/daemon.log"

# emptied: its pid written back, so `sync --now` still finds it
: >"$L"
wait_line "$dpid daemon"
ds "$S" sync --now
expect_rc lockfile-emptied-now-asks-daemon 0
expect_in lockfile-emptied-now-says "the daemon will sync now" "$S/err"

# deleted, and another process locks the new file first: the daemon runs
# nothing and says why each time a run is due; it takes the lock back
# once that process is gone
n=0
while [ $n -lt 5 ]; do
	rm -f "$L"
	flock -n -E 75 "$L" sleep 3
	[ $? -ne 75 ] && break   # 75: the daemon was quicker; again
	n=$((n + 1))
done &
hpid=$!
wait_log "cannot be taken again"
expect_in lockfile-taken-logged "no sync runs until the daemon holds it" "$S/daemon.log"
kill -USR1 "$dpid"
wait "$hpid"
wait_line "$dpid daemon"
expect_eq lockfile-taken-back "$dpid daemon" "$(head -n 1 "$L" 2>/dev/null)"
kill "$dpid"
wait "$dpid"
expect_eq lockfile-daemon-stopped 0 "$?"
