# shellcheck shell=sh disable=SC2154
# The read of the collection's persisted files (rendered by flowtable/hotplug.py through
# target/sh.py): each path that the globs in fo_globs match, one a line.
# inputs: fo_globs
# shellcheck disable=SC2086 # the globs expand here
for fo_f in $fo_globs; do
  if [ -f "$fo_f" ]; then echo "$fo_f"; fi
done
