# shellcheck shell=sh disable=SC2154
# Section probe:batch (flowtable/probe.py): the software probe and a hardware probe of every
# device but lo, written as one nft batch and checked in ONE `nft -c` run (never
# committed). Prints "LINE NAME" for the first line of each probe's block ("1 -" for the
# software probe), so split_batch can give each probe the error lines nft printed for its
# block. Each probe adds its own table, named after this shell's pid and the block's number.
# A device whose name nft could not read back is left out (as the device rule refuses it).
#
# Inputs (SC2154 above: the renderer assigns them; $fo_t is the prelude's folder):
#   fo_probe_sw      printf format of the software probe: the table twice
#   fo_probe_hw      printf format of a hardware probe: the table twice, then the device
#   fo_probe_table   the probe tables' name prefix
#   fo_probe_first   the first line of the first hardware block
#   fo_probe_lines   the lines of a hardware block
# inputs: fo_probe_sw fo_probe_hw fo_probe_table fo_probe_first fo_probe_lines

fo_pb="$fo_t/probe.nft"
# shellcheck disable=SC2059
printf "$fo_probe_sw" "$fo_probe_table$$_0" "$fo_probe_table$$_0" >"$fo_pb"
echo '1 -'
fo_pl=$fo_probe_first; fo_pi=0
for fo_pp in /sys/class/net/*; do
  [ -e "$fo_pp" ] || continue
  fo_pd=${fo_pp##*/}
  case $fo_pd in lo|*[!A-Za-z0-9_.+-]*) continue ;; esac
  fo_pi=$((fo_pi + 1))
  # shellcheck disable=SC2059
  printf "$fo_probe_hw" "$fo_probe_table$$_$fo_pi" "$fo_probe_table$$_$fo_pi" "$fo_pd" >>"$fo_pb"
  echo "$fo_pl $fo_pd"
  fo_pl=$((fo_pl + fo_probe_lines))
done
nft -c -f "$fo_pb"
