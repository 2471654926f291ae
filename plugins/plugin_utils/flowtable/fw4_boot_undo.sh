# shellcheck shell=sh disable=SC2154
# /etc/uci-defaults/99-flowoffload-rollback, written by a commit-confirmed apply of the fw4
# backend while its rollback is armed (flowtable/fw4_apply.py renders it; the confirm and the
# rollback remove it). OpenWrt runs the scripts of /etc/uci-defaults once, early at boot and
# before the firewall starts, and deletes those that exit 0: a reboot inside the rollback
# window so boots with the firewall's offload values as they were before the change.
# inputs: fo4_section fo4_sw fo4_hw fo4_sw_old fo4_hw_old

fo4_put() {
  case $2 in
    set:*) uci set "$fo4_section.$1=${2#set:}" ;;
    none) uci -q delete "$fo4_section.$1" || : ;;
  esac
}
[ -z "$fo4_sw" ] || fo4_put flow_offloading "$fo4_sw_old"
[ -z "$fo4_hw" ] || fo4_put flow_offloading_hw "$fo4_hw_old"
uci commit firewall
logger -t flowoffload.nft "boot: put back the firewall offload values of an unconfirmed change" 2>/dev/null
exit 0
