# shellcheck shell=sh disable=SC2154
# Section kmod:files (kmod/modules.py): modules.builtin, modules.dep and the kernel config
# searched by ONE awk process (a grep each cost three). It prints, for the two files,
# "@present PATH" or "@absent PATH", then "@config SOURCE" (/proc/config.gz, read through
# gzip as awk's standard input, or /boot/config-RELEASE) or "@noconfig /boot/config-RELEASE",
# then the matching lines tagged "b " (builtin), "d " (dep) or "c " (config). The controller
# splits it into the sections kmod:builtin, kmod:dep and kmod:config.
#
# Inputs (SC2154 above: the renderer assigns them; $fo_kr is the host read's release):
#   fo_kmdir                  /lib/modules
#   fo_kbre, fo_kdre, fo_kcre  EREs (as awk strings) of the wanted modules.builtin lines,
#                             modules.dep lines and config lines
# inputs: fo_kmdir fo_kbre fo_kdre fo_kcre

fo_b="$fo_kmdir/$fo_kr/modules.builtin" fo_d="$fo_kmdir/$fo_kr/modules.dep" fo_c="/boot/config-$fo_kr" fo_fl=''
fo_kawk() {
  awk -v B="$fo_b" -v D="$fo_d" -v RB="$fo_kbre" -v RD="$fo_kdre" -v RC="$fo_kcre" '
    FILENAME == B && $0 ~ RB { print "b " $0; next }
    FILENAME == D && $0 ~ RD { print "d " $0; next }
    FILENAME != B && FILENAME != D && $0 ~ RC { print "c " $0 }' "$@"
}
for fo_x in "$fo_b" "$fo_d"; do
  if [ -e "$fo_x" ]; then echo "@present $fo_x"; fo_fl="$fo_fl $fo_x"; else echo "@absent $fo_x"; fi
done
# shellcheck disable=SC2086
if [ -r /proc/config.gz ]; then
  echo '@config /proc/config.gz'
  gzip -dc /proc/config.gz | fo_kawk $fo_fl -
elif [ -r "$fo_c" ]; then
  echo "@config $fo_c"
  fo_kawk $fo_fl "$fo_c"
else
  echo "@noconfig $fo_c"
  if [ -n "$fo_fl" ]; then fo_kawk $fo_fl; fi
fi
