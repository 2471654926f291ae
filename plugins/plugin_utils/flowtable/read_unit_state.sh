# shellcheck shell=sh disable=SC2154
# Section ft:unit-enabled (flowtable/reads.py): `systemctl is-enabled` and `is-active` of the
# collection's unit without a process. Enabled: the links `enable` makes in the .wants
# folders of its [Install] section, every one of them; active: systemd's
# /run/systemd/units/invocation:UNIT link, which PID 1 keeps while the unit is active
# (removed when it stops or fails). Prints "enabled active", "disabled inactive", ...; the
# second word only where /run/systemd/units exists (systemd 233 and later). rc 1 when not
# enabled, as is-enabled.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_unit        the unit's name
#   fo_wanted_by   the targets of its WantedBy= (words)
# inputs: fo_unit fo_wanted_by

fo_ue=enabled
# shellcheck disable=SC2086
for fo_x in $fo_wanted_by; do
  [ -L "/etc/systemd/system/$fo_x.wants/$fo_unit" ] || fo_ue=disabled
done
if [ ! -d /run/systemd/units ]; then echo "$fo_ue"
elif [ -L "/run/systemd/units/invocation:$fo_unit" ]; then echo "$fo_ue active"
else echo "$fo_ue inactive"; fi
[ "$fo_ue" = enabled ] || fo_rc 1
