#!/usr/bin/python
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: offload_facts
short_description: Gather netfilter flow offload facts (kernel, packages, NICs, flowtables)
version_added: 1.0.0
description:
  - Reads everything that decides whether forwarded flows can be offloaded on a Linux or
    OpenWrt host and returns it as C(ansible_facts.flowoffload).
  - Runs on the controller (an action plugin). The target needs only C(/bin/sh) (busybox
    ash is enough), never Python; one read script, one round trip, prints what the facts
    are built from (C(/sys), C(/proc), C(nft), and C(ip), C(tc), C(ethtool), C(conntrack)
    where they are installed).
  - Read-only. The only kernel requests are reads and C(nft -c) probes, which the kernel
    validates and then aborts, so nothing is ever created.
  - Never fails because the kernel lacks flowtables, C(nft), C(ip), C(tc) or C(ethtool)
    is missing or a file is absent; the affected fact is V(null), V(missing) or carries the
    reason instead.
author:
  - flowoffload.nft maintainers (@flowoffload)
extends_documentation_fragment:
  - flowoffload.nft._attributes
  - flowoffload.nft._attributes.FACTS
  - flowoffload.nft._attributes.PLATFORM
requirements:
  - C(/bin/sh) on the target (busybox ash is enough); no Python.
  - C(nft) for the C(nft), C(flowtables) facts and the probes; C(ethtool) for
    C(hw_tc_offload); iproute2 C(ip) with C(-j) (else C(/sys) and C(/proc/net) routes are
    read) and C(tc) for C(conflicts).
attributes:
  action:
    description: Runs on the controller as an action plugin; the target only runs sh scripts.
    support: full
    details: One read script (one round trip); the facts are built on the controller.
  check_mode:
    support: full
    details: The module reads only; check mode runs exactly the same reads.
  diff_mode:
    support: full
    details: Nothing ever changes, so there is never a difference to show.
  facts:
    support: full
  platform:
    support: full
options:
  gather_subset:
    description:
      - Which groups of facts to gather.
      - V(all) gathers every group. A name prefixed with C(!) excludes that group; a list
        holding only exclusions gathers everything else.
      - V(kernel) also returns C(sysctl); V(interfaces) also returns C(candidate_devices).
      - An unknown name fails before anything is read, listing the valid names.
    type: list
    elements: str
    default: [all]
notes:
  - Hardware offload is judged from three things together, because the C(hw-tc-offload)
    feature alone proves nothing - a driver known to implement flowtable offload
    (C(TC_SETUP_FT)), that feature switched on, and a C(nft -c) probe of C(flags offload)
    on the device. On OpenWrt the kernel is patched to accept C(flags offload) everywhere,
    so the reason says the probe proves nothing there; the proof is C(flows.hw_offload).
  - Needs root (CAP_NET_ADMIN) for the C(nft -c) probes; without it the probes report
    V(null) with the reason.
  - Without C(ethtool) on the target C(hw_tc_offload) is V(null) and the hardware reason
    says so. Busybox C(ip) (no C(-j)) makes the device kinds come from C(/sys/class/net)
    and the candidate devices from C(/proc/net/route) and C(/proc/net/ipv6_route).
seealso:
  - module: flowoffload.nft.flowtable
  - module: flowoffload.nft.offload_kmod
"""

EXAMPLES = r"""
---
- name: Gather all flow offload facts
  flowoffload.nft.offload_facts:

- name: Gather only what decides the flowtable's devices
  flowoffload.nft.offload_facts:
    gather_subset:
      - interfaces
      - kernel

- name: Gather everything except the conntrack flow counts
  flowoffload.nft.offload_facts:
    gather_subset:
      - "!flows"

- name: Show the devices a gateway would offload
  ansible.builtin.debug:
    msg: "{{ ansible_facts.flowoffload.candidate_devices }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    flowoffload:
      description: One key per gathered subset (plus C(sysctl) and C(candidate_devices)).
      returned: always
      type: dict
      contains:
        platform:
          description:
            - C(os_family) (V(OpenWrt), V(Debian), V(RedHat), V(Alpine), V(other)),
              C(distribution), C(distribution_version), C(kernel) (release),
              C(package_manager) (V(opkg), V(apk), V(apt), V(dnf), V(yum), V(none)),
              C(firewall) (V(fw4), V(fw3), V(firewalld), V(nftables.service), V(none)) and
              C(init) (V(systemd), V(procd), V(openrc), V(other)).
          returned: when platform is gathered
          type: dict
          sample: {os_family: Debian, distribution: debian, distribution_version: "12",
                   kernel: 6.1.0-56-amd64, package_manager: apt, firewall: none, init: systemd}
        kernel:
          description:
            - C(modules) maps each flow offload module to C(state) (V(loaded), V(module),
              V(builtin), V(missing)), C(path) and C(evidence).
            - C(config) holds C(file) (the kernel config read, V(null) when none) and the
              C(CONFIG_NF_FLOW_TABLE*) and C(CONFIG_NFT_FLOW_OFFLOAD) values (V(y), V(m),
              V(n), V(null) when not mentioned).
            - C(software_offload) is the side-effect-free C(nft -c) probe of a flowtable
              without devices - C(supported) V(true), V(false) (the kernel answered ENOENT)
              or V(null) (could not run), and the C(message).
            - C(persistence) is the boot-time load list C(offload_kmod) writes (C(file),
              C(present), C(modules)).
          returned: when kernel is gathered
          type: dict
          sample:
            modules:
              nf_flow_table: {state: loaded, path: /lib/modules/6.1.0-56-amd64/kernel/net/netfilter/nf_flow_table.ko,
                              evidence: "/proc/modules: Live, refcount 2, used by nf_flow_table_inet, nft_flow_offload"}
            config: {file: /boot/config-6.1.0-56-amd64, CONFIG_NF_FLOW_TABLE: m, CONFIG_NF_FLOW_TABLE_INET: m,
                     CONFIG_NFT_FLOW_OFFLOAD: m, CONFIG_NF_FLOW_TABLE_IPV4: null, CONFIG_NF_FLOW_TABLE_IPV6: null}
            software_offload: {supported: true, message: "nft -c accepted a flowtable: the kernel supports flowtables"}
            persistence: {file: /etc/modules-load.d/flowoffload.conf, present: true,
                          modules: [nf_flow_table, nf_flow_table_inet, nft_flow_offload]}
        sysctl:
          description:
            - C(nf_flowtable_tcp_timeout), C(nf_flowtable_udp_timeout) (V(null) where the
              kernel has no such sysctl), C(ip_forward), C(ipv6_forwarding).
          returned: when kernel is gathered
          type: dict
          sample: {nf_flowtable_tcp_timeout: 30, nf_flowtable_udp_timeout: 30, ip_forward: 1, ipv6_forwarding: 1}
        package:
          description:
            - The package shipping the modules - C(name), C(installed), C(version),
              C(manager), C(evidence) (on OpenWrt also C(dependencies)).
          returned: when package is gathered
          type: dict
          sample: {name: linux-image-6.1.0-56-amd64, installed: true, version: 6.1.192-2, manager: apt,
                   evidence: "dpkg -S /lib/modules/6.1.0-56-amd64/kernel/net/netfilter/nf_flow_table.ko: ..."}
        nft:
          description: C(path), C(version) and C(json) (whether C(nft -j list tables) works); V(null) values when nft is missing.
          returned: when nft is gathered
          type: dict
          sample: {path: /usr/sbin/nft, version: 1.0.6, json: true}
        interfaces:
          description:
            - Every network device - C(kind) (V(physical), V(veth), V(bridge), V(vlan),
              V(pppoe), V(dsa), V(wireguard), V(tun), V(bond), V(macvlan), V(loopback),
              V(dummy), ...), C(driver), C(operstate), C(lower) devices,
              C(hw_tc_offload) (V(true), V(false), V(null) when unreadable),
              C(hardware_offload) (V(supported), V(unsupported), V(unknown)) and
              C(hardware_offload_reason).
          returned: when interfaces is gathered
          type: dict
          sample:
            veth-a: {kind: veth, driver: veth, operstate: up, lower: [], hw_tc_offload: false,
                     hardware_offload: unsupported,
                     hardware_offload_reason: "the kernel refused 'flags offload' on veth-a: Could not process rule: Operation not supported"}
            br-lan: {kind: bridge, driver: null, operstate: up, lower: [dummy0.10, veth-a], hw_tc_offload: false,
                     hardware_offload: unsupported, hardware_offload_reason: "bridge device: not offloaded itself; ..."}
        candidate_devices:
          description:
            - Forwarding devices (egress of default routes, devices with connected global
              subnets) resolved to their lower devices (bridge ports, VLAN parents, the
              device under PPPoE), without loopback, tunnels the flowtable cannot fast-path
              and devices that do not exist. Sorted, unique.
          returned: when interfaces is gathered
          type: list
          elements: str
          sample: [lan0, wan0]
        flowtables:
          description: Every flowtable on the host, normalized (family, table, name, hook, priority, devices, offload, counter).
          returned: when flowtables is gathered
          type: list
          elements: dict
          sample: [{family: inet, table: flowoffload, name: ft, hook: ingress, priority: 0, devices: [lan0, wan0],
                    offload: false, counter: true}]
        flows:
          description:
            - Conntrack entries - C(total), C(offload) (V([OFFLOAD])) and C(hw_offload) (V([HW_OFFLOAD])).
            - V(null) when neither C(/proc/net/nf_conntrack) nor C(conntrack) is available.
          returned: when flows is gathered
          type: dict
          sample: {total: 12, offload: 3, hw_offload: 0}
        conflicts:
          description:
            - What offload would silently bypass - C(kind) V(qdisc) (shaping qdiscs or ifb
              redirects on candidate devices), V(ipsec) (xfrm policies) or V(nfqueue) (queue
              rules), with C(device) (V("") when not tied to one) and C(detail).
          returned: when conflicts is gathered
          type: list
          elements: dict
          sample: [{kind: qdisc, device: wan0, detail: "htb qdisc (root, handle 1:) shapes wan0: offloaded packets bypass it"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowoffload.nft.plugins.module_utils._facts import run_facts
from ansible_collections.flowoffload.nft.plugins.module_utils._module_target import run_module

ARGUMENT_SPEC = dict(
    gather_subset=dict(type="list", elements="str", default=["all"]),
)


def main() -> None:
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), run_facts)


if __name__ == "__main__":
    main()
