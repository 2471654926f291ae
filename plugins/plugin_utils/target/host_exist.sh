# shellcheck shell=sh disable=SC2154
# The paths of $fo_paths that exist, one a line, without a process (target/host.py: section
# host:paths, the init system's and firewall's marks; profile/parts.py: the lock files an
# earlier version left).
# inputs: fo_paths

# shellcheck disable=SC2086
for fo_x in $fo_paths; do
  if [ -e "$fo_x" ]; then echo "$fo_x"; fi
done
