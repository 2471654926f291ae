# shellcheck shell=sh disable=SC2154
# The read of the collection's folder (rendered by flowtable/hotplug.py through
# target/sh.py): "FOLDER/" first when it exists, then one path per entry (hidden names
# too, dangling links too), without a process; nothing when the folder does not exist.
# inputs: fo_dir
if [ -d "$fo_dir" ]; then
  echo "$fo_dir/"
  for fo_x in "$fo_dir"/* "$fo_dir"/.[!.]* "$fo_dir"/..?*; do
    if [ -e "$fo_x" ] || [ -L "$fo_x" ]; then echo "$fo_x"; fi
  done
fi
