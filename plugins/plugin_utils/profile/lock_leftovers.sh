# shellcheck shell=sh disable=SC2154
# Step profile:lock-leftovers of the off profile (profile/parts.py): remove the lock files
# (flock) and lock directories (mkdir) an earlier version of the collection left. The lock
# this apply holds ($fo_lock, set by the apply script's lock) stays, and so does a lock
# directory whose holder (the pid in it) still runs.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_leftovers   the lock paths the read found (words)
# inputs: fo_leftovers

# shellcheck disable=SC2086
for fo_x in $fo_leftovers; do
  [ "$fo_x" != "$fo_lock" ] || continue
  if [ -d "$fo_x" ]; then
    fo_p=''
    [ ! -r "$fo_x/pid" ] || read -r fo_p <"$fo_x/pid" || :
    if [ -n "$fo_p" ] && [ -d "/proc/$fo_p" ]; then continue; fi
    rm -rf "$fo_x"
  else rm -f "$fo_x"; fi
done
