# shellcheck shell=sh disable=SC2154
# The rollback record of a commit-confirmed apply (target/confirm.py renders this file into
# the apply script, the confirm script and the expire script, after the prelude and apply.sh,
# before the lock). One record per host, a folder in the first writable of $fo_arm_dirs
# (tmpfs: /run, or /tmp on OpenWrt), so a reboot never finds one:
#   nonce     the armed apply's nonce; written last, so a record without it is not armed
#   deadline  when the rollback runs by itself (seconds since the epoch, the host's clock)
#   expire    the script that rolls back: lock, undo, disarm (run by the timer)
#   timer     "systemd" (a transient timer flowoffload-rollback-NONCE.timer) or "pid N"
#
#   fo_armed            the record is armed; its nonce in $fo_v
#   fo_wait_disarmed    before the lock: an overdue record (its timer died) rolls back now;
#                       then wait, at most $fo_arm_wait s, for a pending confirmation or
#                       rollback to end (runs serialise, never interleave)
#   fo_arm_begin        under the lock: create the record folder
#   fo_arm_start T      start the timer (T seconds) and mark the record armed
#   fo_overdue          the deadline has passed
#   fo_disarm           stop the timer and remove the record
# inputs: fo_arm_dirs fo_arm_wait

fo_arm=''
for fo_x in $fo_arm_dirs; do
  if [ -d "$fo_x" ] && [ -w "$fo_x" ]; then fo_arm="$fo_x/flowoffload-rollback"; break; fi
done
[ -n "$fo_arm" ] || fo_arm=/tmp/flowoffload-rollback

fo_armed() { fo_val "$fo_arm/nonce" && [ -n "$fo_v" ]; }

fo_overdue() {
  fo_val "$fo_arm/deadline" || return 1
  [ "$(date +%s)" -ge "$fo_v" ]
}

fo_wait_disarmed() {
  # a timer that died (killed, or the host's clock jumped) leaves an overdue record: what it
  # should have done happens now, 30 s after the deadline
  if fo_armed && fo_val "$fo_arm/deadline" && [ "$(date +%s)" -gt "$((fo_v + 30))" ] && [ -r "$fo_arm/expire" ]; then
    /bin/sh "$fo_arm/expire" >/dev/null 2>&1
  fi
  fo_i=0
  while fo_armed && [ "$fo_i" -lt "$fo_arm_wait" ]; do
    sleep 1
    fo_i=$((fo_i + 1))
  done
}

fo_arm_begin() {
  rm -rf "$fo_arm"
  mkdir -p "$fo_arm" || fo_stop failed arm "cannot create the rollback record $fo_arm"
  # the folders the staging created: the rollback removes them (when empty)
  : >"$fo_arm/dirs"
  for fo_d in $fo_mkdirs; do printf '%s\n' "$fo_d" >>"$fo_arm/dirs"; done
}

fo_arm_start() {
  fo_deadline=$(($(date +%s) + $1))
  echo "$fo_deadline" >"$fo_arm/deadline"
  # systemd: a transient timer, outside the SSH session's cgroup (logind may kill that);
  # AccuracySec=1s, or systemd may fire it up to a minute late (its default accuracy)
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 &&
    systemd-run --quiet --collect --unit="flowoffload-rollback-$fo_nonce" \
      --on-active="$1" --timer-property=AccuracySec=1s /bin/sh "$fo_arm/expire" >/dev/null 2>&1; then
    echo systemd >"$fo_arm/timer"
  else
    # elsewhere (busybox, containers): a detached subshell that ignores the hangup of the
    # session ending; its stdio leaves the connection's pipes so the session can close
    (
      trap '' HUP
      sleep "$1"
      exec /bin/sh "$fo_arm/expire"
    ) </dev/null >/dev/null 2>&1 &
    echo "pid $!" >"$fo_arm/timer"
  fi
  if ! { printf '%s\n' "$fo_nonce" >"$fo_arm/nonce.new" && mv -f "$fo_arm/nonce.new" "$fo_arm/nonce"; }; then
    fo_stop failed arm "cannot write the rollback record $fo_arm"
  fi
}

fo_disarm() {
  fo_n=''
  if fo_val "$fo_arm/nonce"; then fo_n=$fo_v; fi
  if fo_val "$fo_arm/timer"; then
    case $fo_v in
      systemd) [ -z "$fo_n" ] || systemctl stop "flowoffload-rollback-$fo_n.timer" >/dev/null 2>&1 ;;
      pid\ *) [ "${fo_v#pid }" = "$$" ] || kill "${fo_v#pid }" 2>/dev/null ;;
    esac
  fi
  rm -rf "$fo_arm"
}
