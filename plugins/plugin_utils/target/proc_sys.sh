# shellcheck shell=sh disable=SC2154
# A read of /proc/sys values (proc_sys_code in target/script.py): "NAME=VALUE" for each
# readable one, in ONE process. The kernel answers an integer sysctl only to a read at
# offset 0, so the shell's byte-by-byte `read` would see its first digit only: awk reads
# them whole. NAME is the path below /proc/sys, with dots for the slashes when fo_sys_dotted
# is 1 (net.ipv4.ip_forward).
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_sys_paths    the /proc/sys files (words)
#   fo_sys_dotted   1: names with dots, 0: as paths
# inputs: fo_sys_paths fo_sys_dotted

fo_gl=''
# shellcheck disable=SC2086
for fo_x in $fo_sys_paths; do
  if [ -r "$fo_x" ]; then fo_gl="$fo_gl $fo_x"; fi
done
# shellcheck disable=SC2086
if [ -n "$fo_gl" ]; then
  awk -v D="$fo_sys_dotted" 'FNR == 1 { f = FILENAME; sub(/^\/proc\/sys\//, "", f); if (D == 1) gsub(/\//, ".", f); print f "=" $0 }' $fo_gl
fi
