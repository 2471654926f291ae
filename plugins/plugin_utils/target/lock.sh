# shellcheck shell=sh disable=SC2154
# The host lock of the apply script (rendered by lock_code in target/script.py): after it the
# run holds $fo_lock, or it stopped with `fo_stop failed lock MESSAGE`.
#
# The lock exists only while a run holds it: no run leaves a file behind (where /run is
# missing it lives in /tmp, where a lock file left by every run would pile up in the
# operator's view). Two schemes, both safe to remove while others wait:
#
# - flock (util-linux): open LOCK, `flock -w` it, then check that LOCK still names the file
#   this run locked ([ LOCK -ef /proc/$$/fd/9 ]). A holder removes LOCK *before* it releases
#   the lock (the EXIT trap runs rm; the descriptor closes when the shell exits). A run that
#   opened the file before that rm and gets the lock after it holds a file no path names any
#   more: it sees the mismatch, closes it and opens LOCK again (a new file). So at any time at
#   most one run holds the lock on the file LOCK names, only that run removes it, and a
#   waiter never proceeds on a removed file.
# - without flock (OpenWrt's busybox): `mkdir LOCK.d`, atomic on every filesystem. The
#   directory exists only while held (the EXIT trap removes it) and holds the holder's pid. A
#   holder that was killed (kill -9) leaves it behind: a waiter that finds a dead pid takes
#   the lock over only under a second mkdir (LOCK.t), re-reading the pid there, so two
#   waiters that both saw the dead pid never remove each other's fresh lock; a directory
#   without a pid yet is being created, not stale. (OpenWrt's `lock` applet is not used: its
#   file stays, holding the pid of a helper process that keeps the lock.)
#
# HUP, INT and TERM end the script through exit, so the EXIT trap releases the lock when the
# connection drops too.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_lock_dirs   where the lock may live, the first writable directory wins (words)
#   fo_lock_name   the lock file's name in it
#   fo_lock_wait   seconds to wait for another run before giving up
# inputs: fo_lock_dirs fo_lock_name fo_lock_wait

fo_lockdir=''
# shellcheck disable=SC2086
for fo_x in $fo_lock_dirs; do
  if [ -d "$fo_x" ] && [ -w "$fo_x" ]; then fo_lockdir=$fo_x; break; fi
done
[ -n "$fo_lockdir" ] || fo_stop failed lock "no writable directory for the lock ($fo_lock_dirs; run with become: true)"
fo_lock="$fo_lockdir/$fo_lock_name"
fo_held=''
fo_i=0
if command -v flock >/dev/null 2>&1; then
  fo_busy="another flowoffload.nft run holds $fo_lock for more than ${fo_lock_wait}s"
  while :; do
    exec 9>>"$fo_lock" || fo_stop failed lock "cannot open $fo_lock (run with become: true)"
    flock -w "$fo_lock_wait" 9 || fo_stop failed lock "$fo_busy"
    # without /proc no run can check, so none removes the file (it is kept, as before)
    if [ ! -e "/proc/$$/fd/9" ]; then break; fi
    # the run before us removed the file it held (and we then locked): open the new one;
    # -ef is not POSIX, but busybox ash's and dash's test have it
    # shellcheck disable=SC3013
    if [ "$fo_lock" -ef "/proc/$$/fd/9" ]; then fo_held=flock; break; fi
    exec 9>&-
    fo_i=$((fo_i + 1)); [ "$fo_i" -lt "$fo_lock_wait" ] || fo_stop failed lock "$fo_busy"
  done
else
  # a pid is alive while /proc/PID exists (kill -0 alone would call another user's run dead)
  fo_alive() { [ -d "/proc/$1" ] || kill -0 "$1" 2>/dev/null; }
  fo_lock="$fo_lock.d"
  fo_busy="another flowoffload.nft run holds $fo_lock for more than ${fo_lock_wait}s"
  while ! mkdir "$fo_lock" 2>/dev/null; do
    [ -w "$fo_lockdir" ] || fo_stop failed lock "cannot create $fo_lock (run with become: true)"
    fo_p=''
    [ ! -r "$fo_lock/pid" ] || read -r fo_p <"$fo_lock/pid" || :
    if [ -n "$fo_p" ] && ! fo_alive "$fo_p" && mkdir "$fo_lockdir/$fo_lock_name.t" 2>/dev/null; then
      fo_q=''
      [ ! -r "$fo_lock/pid" ] || read -r fo_q <"$fo_lock/pid" || :
      if [ "$fo_q" = "$fo_p" ]; then rm -rf "$fo_lock"; fi
      rmdir "$fo_lockdir/$fo_lock_name.t"
      continue
    fi
    fo_i=$((fo_i + 1))
    [ "$fo_i" -lt "$fo_lock_wait" ] || fo_stop failed lock "$fo_busy (if no run is active, a killed one left it: remove it)"
    sleep 1
  done
  echo $$ >"$fo_lock/pid"
  fo_held=dir
fi
fo_release() {
  case $fo_held in
    flock) rm -f "$fo_lock" ;;
    dir) rm -rf "$fo_lock" ;;
  esac
}
trap 'rm -rf "$fo_t"; fo_release' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
