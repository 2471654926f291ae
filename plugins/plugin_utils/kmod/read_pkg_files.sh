# shellcheck shell=sh disable=SC2154
# Section kmod:pkg-files (kmod/packages.py), on OpenWrt only (else nothing, rc 0): the
# flow offload module files in /lib/modules/RELEASE, one name a line (where the image has
# no package database they show what is installed).
#
# Inputs (SC2154 above: the renderer assigns them; $fo_kr is the host read's release):
#   fo_kowrt   /etc/openwrt_release
# inputs: fo_kowrt

[ -e "$fo_kowrt" ] || exit 0
for fo_x in "/lib/modules/$fo_kr"/*; do printf '%s\n' "${fo_x##*/}"; done |
  grep -E '^(nf_flow_table[a-z0-9_]*|nft_flow_offload)\.ko(\.(xz|gz|zst))?$'
exit 0
