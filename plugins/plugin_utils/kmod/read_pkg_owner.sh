# shellcheck shell=sh disable=SC2154
# Section kmod:pkg-owner (kmod/packages.py), off OpenWrt only (there nothing, rc 0): the
# package owning the anchor module's file, as "KEY=VALUE" lines and the owner query's
# output as "> LINE" lines:
#   modinfo=FIRST LINE OF modinfo -n ANCHOR   path=THE FILE (modules.dep when modinfo fails)
#   tool=dpkg|rpm|apk   rc=ITS STATUS   > ITS OUTPUT   version=THE PACKAGE'S (dpkg)
#
# Inputs (SC2154 above: the renderer assigns them; $fo_kr is the host read's release):
#   fo_kowrt     /etc/openwrt_release
#   fo_kanchor   the module whose file's owner is "the" package (nf_flow_table)
# inputs: fo_kowrt fo_kanchor

[ -e "$fo_kowrt" ] && exit 0
fo_p=''
if command -v modinfo >/dev/null 2>&1; then
  fo_p=$(modinfo -n "$fo_kanchor" 2>&1 | head -n 1)
  printf 'modinfo=%s\n' "$fo_p"
else
  echo 'modinfo=modinfo not found'
fi
case $fo_p in
  /*) ;;
  *) fo_d=$(grep -E "^([^:]*/)?${fo_kanchor}[.]ko([.](xz|gz|zst))?:" "/lib/modules/$fo_kr/modules.dep" 2>/dev/null | head -n 1 | cut -d: -f1)
     fo_p=''; [ -n "$fo_d" ] && fo_p="/lib/modules/$fo_kr/$fo_d" ;;
esac
printf 'path=%s\n' "$fo_p"
[ -n "$fo_p" ] || exit 0
if command -v dpkg >/dev/null 2>&1; then
  echo 'tool=dpkg'
  fo_o=$(dpkg -S "$fo_p" 2>&1); fo_c=$?
  # merged /usr (Debian 13): /lib is a link to usr/lib and dpkg knows only the path it
  # installed, /usr/lib/modules/...
  case $fo_p in /lib/*) fo_u="/usr$fo_p" ;; *) fo_u='' ;; esac
  if [ "$fo_c" -ne 0 ] && [ -n "$fo_u" ] && fo_ou=$(dpkg -S "$fo_u" 2>&1); then
    fo_o=$fo_ou; fo_c=0; printf 'path=%s\n' "$fo_u"
  fi
  echo "rc=$fo_c"
  printf '%s\n' "$fo_o" | sed 's/^/> /'
  fo_pn=$(printf '%s\n' "$fo_o" | grep -v '^diversion by' | grep ': ' | head -n 1 | cut -d: -f1 | cut -d, -f1)
  # shellcheck disable=SC2016
  [ -z "$fo_pn" ] || printf 'version=%s\n' "$(dpkg-query -W -f='${Version}' "$fo_pn" 2>/dev/null)"
elif command -v rpm >/dev/null 2>&1; then
  echo 'tool=rpm'
  fo_o=$(rpm -qf --qf '%{NAME} %{VERSION}-%{RELEASE}\n' "$fo_p" 2>&1); echo "rc=$?"
  printf '%s\n' "$fo_o" | sed 's/^/> /'
elif command -v apk >/dev/null 2>&1; then
  echo 'tool=apk'
  fo_o=$(apk info --who-owns "$fo_p" 2>&1); echo "rc=$?"
  printf '%s\n' "$fo_o" | sed 's/^/> /'
fi
exit 0
