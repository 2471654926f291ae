# shellcheck shell=sh disable=SC2154
# offload_facts, routes without iproute2's JSON (busybox ip): only when the section before
# (ip -j -4 route) failed and left "$fo_t/nojson". Default routes and routes without a
# gateway (connected subnets) of $fo_procnet/route and $fo_procnet/ipv6_route, filtered
# here so a full table stays small; facts/links.py proc_route_devices reads them.
# inputs: fo_procnet

if [ -e "$fo_t/nojson" ]; then
  echo '# route'
  awk 'NR > 1 && ($2 == "00000000" || $3 == "00000000")' "$fo_procnet/route" 2>/dev/null
  echo '# ipv6_route'
  awk '$2 == "00" || ($5 ~ /^0+$/ && $2 != "80")' "$fo_procnet/ipv6_route" 2>/dev/null
fi
true
