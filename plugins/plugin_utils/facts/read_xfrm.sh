# shellcheck shell=sh disable=SC2154
# offload_facts, subset conflicts: the IPsec (xfrm) policies, only their src, dir and
# socket lines (facts/conflicts.py xfrm_conflicts reads them); a failed listing keeps ip's rc.

if ip xfrm policy show >"$fo_t/facts-xfrm"; then
  if [ -s "$fo_t/facts-xfrm" ]; then grep -E '^src |^[[:space:]]+(dir|socket) ' "$fo_t/facts-xfrm" || :; fi
else fo_rc $?; fi
