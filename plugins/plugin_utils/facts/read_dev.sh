# shellcheck shell=sh disable=SC2154
# offload_facts, subsets interfaces and conflicts (rendered by facts/reads.py through
# target/sh.py): one section "$fo_dev_prefix<name>" per device of $fo_sysnet
# (/sys/class/net) with key=value lines: type, operstate, devtype (uevent DEVTYPE), device=1
# when a bus device sits behind it, driver (absent for virtual devices), master, and one
# lower= line per lower device or bridge port. facts/parse.py parse_dev_section reads them.
# Builtins only (read, cd -P, globs): no process per device. fo_cap, fo_val come from the
# read script's prelude.
# inputs: fo_dev_prefix fo_sysnet

fo_facts_dev() {
  fo_fd=$fo_sysnet/$1
  fo_val "$fo_fd/type"; echo "type=$fo_v"
  fo_val "$fo_fd/operstate"; echo "operstate=$fo_v"
  if [ -r "$fo_fd/uevent" ]; then
    while IFS= read -r fo_fv; do
      case $fo_fv in DEVTYPE=*) echo "devtype=${fo_fv#DEVTYPE=}" ;; esac
    done <"$fo_fd/uevent"
  fi
  if [ -e "$fo_fd/device" ]; then echo device=1; fi
  if [ -e "$fo_fd/device/driver" ] && cd -P "$fo_fd/device/driver" 2>/dev/null; then echo "driver=${PWD##*/}"; cd /; fi
  if [ -e "$fo_fd/master" ] && cd -P "$fo_fd/master" 2>/dev/null; then echo "master=${PWD##*/}"; cd /; fi
  for fo_fx in "$fo_fd"/lower_* "$fo_fd"/brif/*; do
    [ -e "$fo_fx" ] || [ -L "$fo_fx" ] || continue
    case $fo_fx in
      */brif/*) echo "lower=${fo_fx##*/}" ;;
      *) echo "lower=${fo_fx##*/lower_}" ;;
    esac
  done
  return 0
}
for fo_fp in "$fo_sysnet"/*; do
  [ -e "$fo_fp" ] || continue
  fo_cap "$fo_dev_prefix${fo_fp##*/}" fo_facts_dev "${fo_fp##*/}"
done
