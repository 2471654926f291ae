# shellcheck shell=sh disable=SC2154
# Section kmod:modinfo (kmod/modules.py): for each module not in /proc/modules, one line
# "NAME RC FIRST-LINE-OF-modinfo -n NAME" (where the module file is, "(builtin)", or why
# not); rc 127 and "modinfo not found" without modinfo (OpenWrt).
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_kproc   /proc/modules
#   fo_kmods   the module names (words)
# inputs: fo_kproc fo_kmods

if command -v modinfo >/dev/null 2>&1; then
  fo_pm=' '; fo_nl='
'
  while read -r fo_x _; do fo_pm="$fo_pm$fo_x "; done <"$fo_kproc"
  # shellcheck disable=SC2086
  for fo_m in $fo_kmods; do
    case $fo_pm in *" $fo_m "*) continue ;; esac
    fo_o=$(modinfo -n "$fo_m" 2>&1); fo_c=$?
    printf '%s %s %s\n' "$fo_m" "$fo_c" "${fo_o%%"$fo_nl"*}"
  done
else echo 'modinfo not found' >&2; fo_rc 127; fi
