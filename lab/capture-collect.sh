# shellcheck shell=bash
# Runs INSIDE the lab VM or a lab container (piped to 'bash -s -- DISTRO'): collects
# real command outputs into a folder and writes them to stdout as a tar stream.
# File names: <nft version>-<DISTRO>-capture-<case>.<ext>. In the VM the topology
# must be up with table inet t (flowtable f on lan0/wan0 + 'flow add' rule).
set -uo pipefail
export LANG=C LC_ALL=C
DISTRO=$1
OUT="$(mktemp -d)"
VERSION="$(nft --version | sed -n 's/^nftables v\([0-9][0-9.]*\).*/\1/p')"
P="$OUT/$VERSION-$DISTRO-capture"

cap() {  # cap CASE.EXT CMD...: stdout of CMD (stderr discarded; no file if it fails silently)
    local name=$1 rc=0
    shift
    "$@" >"$P-$name" 2>/dev/null || rc=$?
    if [ "$rc" != 0 ]; then
        echo "lab capture: '$*' exited $rc" >&2
        [ -s "$P-$name" ] || rm -f "$P-$name"
    fi
}
cap_err() {  # cap_err CASE.stderr NFT-BATCH: stderr of a batch that must fail
    local name=$1
    if nft -f - <<<"$2" 2>"$P-$name"; then
        echo "lab capture: batch for $name did not fail" >&2
        rm -f "$P-$name"
    fi
}

cap nft-version.txt nft --version
cap list-ruleset.json nft -j list ruleset
cap list-ruleset.txt nft list ruleset
cap list-flowtables.json nft -j list flowtables
cap list-flowtables.txt nft list flowtables
cap proc-modules.txt cat /proc/modules
cap modinfo-nf_flow_table.txt modinfo nf_flow_table
cap ip-link.json ip -j -d link
cap ip-addr.json ip -j addr
cap ip-route.json ip -j route
cap ip-6-route.json ip -j -6 route
cap tc-qdisc.json tc -j qdisc
for path in /sys/class/net/*; do
    dev="${path##*/}"
    cap "ethtool-k-$dev.txt" ethtool -k "$dev"
    cap "ethtool-i-$dev.txt" ethtool -i "$dev"
done

if [ -e /run/netns/client ]; then
    # VM: conntrack while offloaded traffic runs.
    lab-traffic 8 --flows 2 >"$P-lab-traffic-offload.json" &
    traffic=$!
    sleep 4
    cap nf-conntrack.txt cat /proc/net/nf_conntrack
    cap conntrack-L.txt conntrack -L
    wait "$traffic"
    cap_err flowtable-offload-veth.stderr \
        $'table inet captest {\n\tflowtable f {\n\t\thook ingress priority 0\n\t\tdevices = { lan0 }\n\t\tflags offload\n\t}\n}'
    cap_err flowtable-duplicate-device.stderr \
        $'table inet captest {\n\tflowtable f1 {\n\t\thook ingress priority 0\n\t\tdevices = { lan0 }\n\t}\n\tflowtable f2 {\n\t\thook ingress priority 0\n\t\tdevices = { lan0 }\n\t}\n}'
    cap_err flowtable-missing-device.stderr \
        $'table inet captest {\n\tflowtable f {\n\t\thook ingress priority 0\n\t\tdevices = { nosuchdev0 }\n\t}\n}'
    cap_err flowtable-delete-busy.stderr 'delete flowtable inet t f'
else
    # Container on a kernel without CONFIG_NF_FLOW_TABLE.
    cap nf-conntrack.txt cat /proc/net/nf_conntrack
    cap conntrack-L.txt conntrack -L
    cap_err flowtable-enoent.stderr \
        $'table inet captest {\n\tflowtable f {\n\t\thook ingress priority 0\n\t}\n}'
fi
nft delete table inet captest 2>/dev/null || true
# Empty captures (e.g. no conntrack table in a container) are kept: they are real output.
tar -C "$OUT" -cf - .
rm -rf "$OUT"
