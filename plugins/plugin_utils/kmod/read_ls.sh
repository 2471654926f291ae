# shellcheck shell=sh disable=SC2154
# Section kmod:ls (kmod/modules.py): the flow offload module files (compressed too) directly
# in /lib/modules/RELEASE, one name a line, without a process (OpenWrt keeps its modules
# there, flat, without modules.dep); rc 2 and "absent: FOLDER" when the folder is missing.
#
# Inputs (SC2154 above: the renderer assigns them; $fo_kr is the host read's release):
#   fo_kmdir    /lib/modules
#   fo_kextra   other module names to list, each spelt with '-' and with '_' (words)
# inputs: fo_kmdir fo_kextra

if [ -d "$fo_kmdir/$fo_kr" ]; then
  for fo_x in "$fo_kmdir/$fo_kr"/*; do
    fo_y=${fo_x##*/}
    case $fo_y in
      nf_flow_table*.ko|nf_flow_table*.ko.*|nft_flow_offload.ko|nft_flow_offload.ko.*) printf '%s\n' "$fo_y"; continue ;;
    esac
    # shellcheck disable=SC2086
    for fo_n in $fo_kextra; do
      case $fo_y in "$fo_n".ko|"$fo_n".ko.*) printf '%s\n' "$fo_y"; break ;; esac
    done
  done
else echo "absent: $fo_kmdir/$fo_kr" >&2; fo_rc 2; fi
