# shellcheck shell=sh disable=SC2154
# offload_facts, subset conflicts, only where tc is missing (a stock OpenWrt image): what
# else could shape. sqm-scripts and qosify keep their config in UCI files under
# $fo_uci_dir (/etc/config), read without uci (builtins only): "@file PATH" then the file;
# a tc-bpf loader pins its objects under $fo_bpf_dir (/sys/fs/bpf): "@bpf NAME" each (a
# glob: no process). facts/conflicts.py shaping_without_tc reads them.
# inputs: fo_uci_dir fo_bpf_dir

if ! command -v tc >/dev/null 2>&1; then
  for fo_x in "$fo_uci_dir/sqm" "$fo_uci_dir/qosify"; do
    if [ -r "$fo_x" ]; then echo "@file $fo_x"; fo_rd "$fo_x"; echo; fi
  done
  for fo_x in "$fo_bpf_dir"/*; do
    if [ -e "$fo_x" ]; then echo "@bpf ${fo_x##*/}"; fi
  done
fi
