# shellcheck shell=sh disable=SC2154
# One command of the fw4 backend's apply (rendered by flowtable/fw4.py through target/sh.py,
# once per step). Each runs as a step of the apply script, under its lock, with $fo_t its
# temporary folder, so each command is one of the apply script's own sections
# (fw4:uci-set, fw4:uci-commit, fw4:check, fw4:reload, fw4:verify, fw4:restore,
# fw4:reload-restore) and the last step, fw4, ends the script with "failed-after fw4" when
# one of them failed. The steps after a failure only say so on stderr (exit 0), but for the
# restore: a failure after the commit puts the old values back (and reloads them when the
# ruleset may have changed). fw4 reload exits 0 even when the kernel refuses the ruleset,
# so the verify reads nft's listing.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo4_do                   the step: uci-set uci-commit check reload verify restore undo
#                            reload-restore, or result
#   fo4_section              the UCI section, firewall.@defaults[0]
#   fo4_sw, fo4_hw           the change of flow_offloading / flow_offloading_hw:
#                            "" (none), "set:VALUE" or "delete"
#   fo4_sw_old, fo4_hw_old   the value before: "set:VALUE" or "none"
#   fo4_want_ft              1: flowtable ft must be listed after the reload; 0: must not
#   fo4_need_hw              1: it must carry "flags offload"
# inputs: fo4_do fo4_section fo4_sw fo4_hw fo4_sw_old fo4_hw_old fo4_want_ft fo4_need_hw

# the step that failed, once one has (the steps are subshells: a file carries it)
fo4_failed=$fo_t/fw4.failed

fo4_stop() {
  printf '%s\n' "$1" >"$fo4_failed"
  exit "$2"
}

# fo4_revert STEP RC: a failed uci set or commit: the staged changes go, nothing changed
fo4_revert() {
  [ "$2" -eq 0 ] && return 0
  uci revert firewall >/dev/null 2>&1
  fo4_stop "$1" "$2"
}

# fo4_put OPTION ACTION: ACTION is "" (nothing), "set:VALUE", "delete", or "none" (delete
# where it is set: an option that is already absent is fine)
fo4_put() {
  case $2 in
    '') ;;
    set:*) uci set "$fo4_section.$1=${2#set:}" ;;
    delete) uci -q delete "$fo4_section.$1" ;;
    none) uci -q delete "$fo4_section.$1" || : ;;
  esac
}

# what failed decides which of the later steps run
fo4_was=''
[ ! -s "$fo4_failed" ] || read -r fo4_was <"$fo4_failed"
case $fo4_do:$fo4_was in
  result:) exit 0 ;;
  result:*) printf '%s\n' "$fo4_was"; exit 1 ;;
  restore:check | restore:reload | restore:verify | restore:hardware) ;;
  reload-restore:reload | reload-restore:verify | reload-restore:hardware) ;;
  restore:* | reload-restore:*) echo "skipped: nothing to put back" >&2; exit 0 ;;
  undo:*) ;;
  *:?*) echo "skipped: fw4:$fo4_was failed" >&2; exit 0 ;;
esac

case $fo4_do in
  uci-set)
    fo4_put flow_offloading "$fo4_sw" && fo4_put flow_offloading_hw "$fo4_hw"
    fo4_revert uci-set $? ;;
  uci-commit)
    uci commit firewall
    fo4_revert uci-commit $? ;;
  check) fw4 check || fo4_stop check $? ;;
  reload) fw4 reload || fo4_stop reload $? ;;
  verify)
    nft list flowtable inet fw4 ft >"$fo_t/fw4.ft"
    fo4_rc=$?
    fo_rd "$fo_t/fw4.ft"
    if [ "$fo4_want_ft" != 1 ]; then
      [ "$fo4_rc" -ne 0 ] || fo4_stop verify 1
    elif [ "$fo4_rc" -ne 0 ]; then
      fo4_stop verify "$fo4_rc"
    elif [ "$fo4_need_hw" = 1 ] && ! grep -q 'flags offload' "$fo_t/fw4.ft"; then
      fo4_stop hardware 1
    fi ;;
  restore)
    { [ -z "$fo4_sw" ] || fo4_put flow_offloading "$fo4_sw_old"; } &&
      { [ -z "$fo4_hw" ] || fo4_put flow_offloading_hw "$fo4_hw_old"; } &&
      uci commit firewall ;;
  reload-restore) fw4 reload ;;
  undo)
    # the rollback of a commit-confirmed apply: the values before it, committed, reloaded
    { [ -z "$fo4_sw" ] || fo4_put flow_offloading "$fo4_sw_old"; } &&
      { [ -z "$fo4_hw" ] || fo4_put flow_offloading_hw "$fo4_hw_old"; } &&
      uci commit firewall && fw4 reload ;;
esac
