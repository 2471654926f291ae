# shellcheck shell=sh disable=SC2154
# Section kmod:pkg-size (kmod/packages.py): what the package manager says about the size
# of the package before it is installed, read only on OpenWrt where the modules are missing
# (else no process runs). opkg answers from the package lists of its last `opkg update`
# (none after a reboot: /var/opkg-lists is in RAM): "@ opkg" and the size fields of
# `opkg info`. apk prints its sizes in a form no capture of this collection shows, so it is
# not asked: "@ apk" only (its database tells the installed size after the install).
# No exit: the section runs in the read script's own shell, without a subshell's fork.
#
# Inputs (SC2154 above: the renderer assigns them; $fo_kr is the host read's release):
#   fo_kowrt   /etc/openwrt_release
#   fo_kpkg    the package
# inputs: fo_kowrt fo_kpkg

if [ -e "$fo_kowrt" ]; then
  fo_x=''
  for fo_y in "/lib/modules/$fo_kr"/nft_flow_offload.ko*; do [ -e "$fo_y" ] && fo_x=1; done
  if [ -z "$fo_x" ] && command -v opkg >/dev/null 2>&1; then
    echo '@ opkg'
    opkg info "$fo_kpkg" 2>/dev/null | grep -E '^(Package|Version|Size|Installed-Size):' || :
  elif [ -z "$fo_x" ] && command -v apk >/dev/null 2>&1; then
    echo '@ apk'
  fi
fi
