# shellcheck shell=sh disable=SC2154
# Step kmod:install (kmod/packages.py install_code) where the package manager needs package
# lists (opkg, apk): refresh them first when there are none (opkg's lists_dir empty), or when
# the install fails for lack of them, once. After a successful install the sizes the package
# manager records ("fo: size PACKAGE FIELD VALUE": opkg info's Installed-Size and Size, the
# I: line of apk's database), exit 0. A failure prints "fo: update-failed RC" or
# "fo: install-failed RC", then "fo: feed LINE" for each configured feed (what
# install_failure_message explains), and exits with the failing command's status.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_kmgr       opkg or apk
#   fo_kinstall   the install command, fo_kupdate the list refresh (words)
#   fo_kpkgs      the packages (words)
#   fo_kfeeds     the files that list the feeds (words)
#   fo_kopkgconf  opkg's configuration (its lists_dir)
#   fo_kapkdb     apk's database of installed packages
#   fo_kmissing   ERE of the package manager's words for "no list offers it"
# inputs: fo_kmgr fo_kinstall fo_kupdate fo_kpkgs fo_kfeeds fo_kopkgconf fo_kapkdb fo_kmissing

fo_feeds() {
  # shellcheck disable=SC2086
  for fo_x in $fo_kfeeds; do
    [ -r "$fo_x" ] && grep -v '^[[:space:]]*#' "$fo_x" | grep . | sed 's/^/fo: feed /'
  done
  return 0
}
fo_update() {
  echo "fo: $fo_kupdate"
  $fo_kupdate || { fo_c=$?; echo "fo: update-failed $fo_c"; fo_feeds; exit "$fo_c"; }
}
fo_sizes() {
  # shellcheck disable=SC2086
  for fo_p in $fo_kpkgs; do
    if [ "$fo_kmgr" = opkg ]; then
      opkg info "$fo_p" 2>/dev/null | awk -v p="$fo_p" '$1 == "Package:" { k = ($2 == p) }
        k && ($1 == "Size:" || $1 == "Installed-Size:") { sub(/:$/, "", $1); print "fo: size " p " " $1 " " $2 }'
    else
      awk -v p="$fo_p" '$0 == "P:" p { k = 1; next } /^P:/ { k = 0 }
        k && /^I:/ { print "fo: size " p " I " substr($0, 3) }' "$fo_kapkdb" 2>/dev/null
    fi
  done
  exit 0
}
fo_u=0
if [ "$fo_kmgr" = opkg ]; then
  fo_ld=$(sed -n 's/^lists_dir [^ ]* //p' "$fo_kopkgconf" 2>/dev/null | head -n 1)
  [ -n "$fo_ld" ] || fo_ld=/var/opkg-lists
  fo_have=''
  for fo_x in "$fo_ld"/*; do [ -e "$fo_x" ] && fo_have=1; done
  if [ -z "$fo_have" ]; then fo_update; fo_u=1; fi
fi
# shellcheck disable=SC2086
fo_o=$($fo_kinstall 2>&1); fo_c=$?
printf '%s\n' "$fo_o"
[ "$fo_c" -eq 0 ] && fo_sizes
if [ "$fo_u" -eq 0 ] && printf '%s\n' "$fo_o" | grep -qiE "$fo_kmissing"; then
  fo_update
  # shellcheck disable=SC2086
  fo_o=$($fo_kinstall 2>&1); fo_c=$?
  printf '%s\n' "$fo_o"
  [ "$fo_c" -eq 0 ] && fo_sizes
fi
echo "fo: install-failed $fo_c"
fo_feeds
exit "$fo_c"
