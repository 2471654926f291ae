# shellcheck shell=sh disable=SC2154
# The fw4 backend's apply step (rendered by flowtable/fw4.py through target/sh.py). It runs
# inside the apply script, under its lock, with $fo_t its temporary folder: set and commit
# the UCI options, `fw4 check`, `fw4 reload`, verify from nft's listing (fw4 reload exits 0
# even when the kernel refuses the ruleset), and on a failure after the commit put the old
# values back (and reload them). It prints one block per command,
#   @fo4 begin LABEL / o|stdout line / e|stderr line / @fo4 end LABEL RC,
# then "@fo4 result ok -" or "@fo4 result failed STEP"; finish_fw4 reads them.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo4_section              the UCI section, firewall.@defaults[0]
#   fo4_sw, fo4_hw           the change of flow_offloading / flow_offloading_hw:
#                            "" (none), "set:VALUE" or "delete"
#   fo4_sw_old, fo4_hw_old   the value before: "set:VALUE" or "none"
#   fo4_want_ft              1: flowtable ft must be listed after the reload; 0: must not
#   fo4_need_hw              1: it must carry "flags offload"
# inputs: fo4_section fo4_sw fo4_hw fo4_sw_old fo4_hw_old fo4_want_ft fo4_need_hw

fo4_run() {
  fo4_l=$1
  shift
  printf '@fo4 begin %s\n' "$fo4_l"
  "$@" >"$fo_t/fo4.o" 2>"$fo_t/fo4.e"
  fo4_rc=$?
  sed 's/^/o|/' "$fo_t/fo4.o"
  sed 's/^/e|/' "$fo_t/fo4.e"
  printf '@fo4 end %s %s\n' "$fo4_l" "$fo4_rc"
  return "$fo4_rc"
}

fo4_fail() {
  printf '@fo4 result failed %s\n' "$1"
  exit 1
}

# fo4_put OPTION ACTION: ACTION is "" (nothing), "set:VALUE", "delete", or "none" (delete
# where it is set: an option that is already absent is fine)
# shellcheck disable=SC2317  # called from fo4_set and fo4_restore
fo4_put() {
  case $2 in
    '') ;;
    set:*) uci set "$fo4_section.$1=${2#set:}" ;;
    delete) uci -q delete "$fo4_section.$1" ;;
    none) uci -q delete "$fo4_section.$1" || : ;;
  esac
}

# shellcheck disable=SC2317  # called through fo4_run
fo4_set() {
  fo4_put flow_offloading "$fo4_sw" && fo4_put flow_offloading_hw "$fo4_hw"
}

# shellcheck disable=SC2317  # called through fo4_run
fo4_restore() {
  [ -z "$fo4_sw" ] || fo4_put flow_offloading "$fo4_sw_old"
  [ -z "$fo4_hw" ] || fo4_put flow_offloading_hw "$fo4_hw_old"
  uci commit firewall
}

# fo4_undo STEP: STEP failed after the commit: the old values back, reloaded, then fail
fo4_undo() {
  if [ -n "$fo4_sw$fo4_hw" ]; then
    fo4_run restore fo4_restore
    fo4_run reload-restore fw4 reload
  fi
  fo4_fail "$1"
}

if [ -n "$fo4_sw$fo4_hw" ]; then
  fo4_run uci-set fo4_set || { uci revert firewall >/dev/null 2>&1; fo4_fail uci-set; }
  fo4_run uci-commit uci commit firewall || { uci revert firewall >/dev/null 2>&1; fo4_fail uci-commit; }
fi
# a failed check changed nothing in the ruleset: only the UCI values go back
fo4_run check fw4 check || {
  [ -z "$fo4_sw$fo4_hw" ] || fo4_run restore fo4_restore
  fo4_fail check
}
fo4_run reload fw4 reload || fo4_undo reload
if [ "$fo4_want_ft" = 1 ]; then
  fo4_run verify nft list flowtable inet fw4 ft || fo4_undo verify
  if [ "$fo4_need_hw" = 1 ]; then
    grep -q 'flags offload' "$fo_t/fo4.o" || fo4_undo hardware
  fi
elif fo4_run verify nft list flowtable inet fw4 ft; then
  fo4_undo verify
fi
printf '@fo4 result ok -\n'
