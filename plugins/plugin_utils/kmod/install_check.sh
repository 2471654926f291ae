# shellcheck shell=sh disable=SC2154
# Step kmod:install-check (kmod/plan.py), after the package install: fails (rc 1, "still
# missing: NAME..." on stdout) when a module is still not there for the running kernel: no
# modinfo answer, no file in the module folder, no line in modules.dep or modules.builtin.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_kmdir   /lib/modules
#   fo_kr      the running kernel's release, as the plan read it
#   fo_kmods   the module names that were missing (words)
# inputs: fo_kmdir fo_kr fo_kmods

fo_s=''
# shellcheck disable=SC2086
for fo_m in $fo_kmods; do
  fo_ok=''
  modinfo -n "$fo_m" >/dev/null 2>&1 && fo_ok=1
  for fo_x in "$fo_kmdir/$fo_kr/$fo_m".ko*; do [ -e "$fo_x" ] && fo_ok=1; done
  grep -qE "(^|/)$fo_m\.ko" "$fo_kmdir/$fo_kr/modules.dep" "$fo_kmdir/$fo_kr/modules.builtin" 2>/dev/null && fo_ok=1
  [ -n "$fo_ok" ] || fo_s="$fo_s $fo_m"
done
[ -z "$fo_s" ] || { echo "still missing:$fo_s"; exit 1; }
