# shellcheck shell=sh disable=SC2154
# Section kmod:pkg-db (kmod/packages.py), on OpenWrt only (else nothing, rc 0): the
# stanzas of the flow offload packages in the package database, after a first line naming
# it: "@ opkg STATUS-FILE", "@ apk INSTALLED-FILE", "@ apk apk info -e" (apk without its
# database file: one "P:NAME" stanza per package installed) or "@ none" (an image built
# without a database; the module files then tell, section kmod:pkg-files).
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_kowrt   /etc/openwrt_release
#   fo_kopkg   opkg's status file
#   fo_kapk    apk's database of installed packages
#   fo_kpkgs   the package names (words)
# inputs: fo_kowrt fo_kopkg fo_kapk fo_kpkgs

[ -e "$fo_kowrt" ] || exit 0
if [ -e "$fo_kopkg" ]; then
  echo "@ opkg $fo_kopkg"
  awk -v P="$fo_kpkgs" 'BEGIN { n = split(P, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
    /^Package: / { k = ($2 in want) } k && /^(Package|Version|Status|Depends):|^$/' "$fo_kopkg"
elif [ -e "$fo_kapk" ]; then
  echo "@ apk $fo_kapk"
  awk -v P="$fo_kpkgs" 'BEGIN { n = split(P, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
    function f() { if (k) printf "%s\n", b; b = ""; k = 0 }
    /^$/ { f(); next } /^[PVD]:/ { b = b $0 "\n" } /^P:/ && (substr($0, 3) in want) { k = 1 } END { f() }' "$fo_kapk"
elif command -v apk >/dev/null 2>&1; then
  echo '@ apk apk info -e'
  # shellcheck disable=SC2086
  for fo_x in $fo_kpkgs; do
    apk info -e "$fo_x" >/dev/null 2>&1 && printf 'P:%s\n\n' "$fo_x"
  done
else
  echo '@ none'
fi
exit 0
