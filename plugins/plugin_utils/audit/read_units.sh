# shellcheck shell=sh disable=SC2154
# Section audit:units (audit/config.py): per collection file /etc/flowoffload/F.nft, its unit
# flowoffload-F.service as ``UNIT=enabled|disabled|`` (enabled: every link of its [Install]
# section, as the module enables it; empty: no unit file) and, where /run/systemd/units
# exists, ``UNIT.active=active|inactive`` (systemd's invocation link): without systemctl.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_wanted_by   the targets of the units' WantedBy= (words)
# inputs: fo_wanted_by

for fo_af in /etc/flowoffload/*.nft; do
  [ -f "$fo_af" ] || continue
  fo_au="flowoffload-${fo_af##*/}"
  fo_au="${fo_au%.nft}.service"
  fo_ae=''
  if [ -e "/etc/systemd/system/$fo_au" ]; then
    fo_ae=enabled
    # shellcheck disable=SC2086
    for fo_aw in $fo_wanted_by; do
      [ -L "/etc/systemd/system/$fo_aw.wants/$fo_au" ] || fo_ae=disabled
    done
  fi
  printf '%s=%s\n' "$fo_au" "$fo_ae"
  if [ -d /run/systemd/units ]; then
    fo_aa=inactive
    if [ -L "/run/systemd/units/invocation:$fo_au" ]; then fo_aa=active; fi
    printf '%s.active=%s\n' "$fo_au" "$fo_aa"
  fi
done
fo_rc 0
