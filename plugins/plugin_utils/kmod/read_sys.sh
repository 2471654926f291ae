# shellcheck shell=sh disable=SC2154
# Section kmod:sys (kmod/modules.py): for each module /sys/module knows, one line
# "NAME INITSTATE REFCNT HOLDER,HOLDER," ("-" for none), without a process (a module built
# into the kernel has a folder but no initstate).
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_kmods   the module names (words)
# inputs: fo_kmods

# shellcheck disable=SC2086
for fo_m in $fo_kmods; do
  fo_d="/sys/module/$fo_m"
  [ -e "$fo_d" ] || continue
  fo_val "$fo_d/initstate" && fo_i=$fo_v || fo_i=-
  fo_val "$fo_d/refcnt" && fo_c=$fo_v || fo_c=-
  fo_h=''
  for fo_x in "$fo_d"/holders/*; do [ -e "$fo_x" ] && fo_h="$fo_h${fo_x##*/},"; done
  printf '%s %s %s %s\n' "$fo_m" "${fo_i:--}" "${fo_c:--}" "${fo_h:--}"
done
