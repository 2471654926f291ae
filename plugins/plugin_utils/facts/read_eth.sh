# shellcheck shell=sh disable=SC2154
# offload_facts, subset interfaces: ethtool -i and ethtool -k of each device of $fo_sysnet
# (/sys/class/net), one section "$fo_eth_prefix<name>" each, rc that of ethtool -k; no
# section at all where ethtool is missing (the host's tools tell). Not for lo: loopback is
# never offloaded and has no driver or features to read. facts/ethtool.py parses them.
# inputs: fo_eth_prefix fo_sysnet

fo_facts_eth() {
  ethtool -i "$1" 2>/dev/null
  ethtool -k "$1"
}
if command -v ethtool >/dev/null 2>&1; then
  for fo_fp in "$fo_sysnet"/*; do
    case $fo_fp in */lo) continue ;; esac
    [ -e "$fo_fp" ] || continue
    fo_cap "$fo_eth_prefix${fo_fp##*/}" fo_facts_eth "${fo_fp##*/}"
  done
fi
