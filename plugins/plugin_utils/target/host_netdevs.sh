# shellcheck shell=sh
# Section host:netdevs (target/host.py): the name of every network device
# (/sys/class/net), one a line, without a process. No inputs.

for fo_x in /sys/class/net/*; do
  if [ -e "$fo_x" ]; then echo "${fo_x##*/}"; fi
done
