# shellcheck shell=sh disable=SC2154
# Section host:systemd-units (target/host.py): the units' states without a process where
# systemd keeps them in files (each systemctl costs a process and D-Bus calls: the most
# expensive read on a small router): the unit is active while PID 1 keeps
# /run/systemd/units/invocation:UNIT (removed when it stops or fails), enabled when a
# .wants/.requires folder of /etc/systemd/system links it, and installed when its unit file
# exists. Printed as `systemctl show` would, one block per unit; `systemctl show` itself
# only where systemd runs without /run/systemd/units.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_root    '' (a folder standing for / in the tests)
#   fo_units   the units (words)
# inputs: fo_root fo_units

if [ -d "$fo_root/run/systemd/system" ] && [ -d "$fo_root/run/systemd/units" ]; then
  # shellcheck disable=SC2086
  for fo_u in $fo_units; do
    fo_a=inactive fo_s=''
    if [ -L "$fo_root/run/systemd/units/invocation:$fo_u" ]; then fo_a=active; fi
    for fo_x in /etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system \
        /usr/lib/systemd/system /lib/systemd/system; do
      if [ -e "$fo_root$fo_x/$fo_u" ]; then fo_s=disabled; break; fi
    done
    for fo_x in "$fo_root"/etc/systemd/system/*.wants/"$fo_u" "$fo_root"/etc/systemd/system/*.requires/"$fo_u"; do
      if [ -n "$fo_s" ] && [ -e "$fo_x" ]; then fo_s=enabled; fi
    done
    printf 'Id=%s\nActiveState=%s\nUnitFileState=%s\n\n' "$fo_u" "$fo_a" "$fo_s"
  done
elif command -v systemctl >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  systemctl show --property=Id,ActiveState,UnitFileState $fo_units 2>/dev/null
fi
true
