#!/usr/bin/python
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: offload_facts
short_description: Gather netfilter flow offload facts (kernel, packages, NICs, flowtables)
version_added: 0.1.0
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
  - flowoffload.nft._attributes.READ_ONLY
requirements:
  - C(/bin/sh) on the target (busybox ash is enough); no Python.
  - C(nft) for the C(nft), C(flowtables) facts and the probes; C(ethtool) for
    C(hw_tc_offload); iproute2 C(ip) with C(-j) (else C(/sys) and C(/proc/net) routes are
    read) and C(tc) for the qdisc C(conflicts) (without it, C(shaping) says whether anything
    else could shape).
  - On the controller, ansible-core (tested with 2.19, 2.20 and 2.21); the module is an action plugin.
attributes:
  action:
    support: full
    details: One read script (one round trip); the facts are built on the controller.
  check_mode:
    support: full
  diff_mode:
    support: full
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
  sample: {flowoffload: {platform: {os_family: Debian}, candidate_devices: [lan0, wan0], flows: {total: 12, offload: 3, hw_offload: 0}}}
  contains:
    flowoffload:
      description: One key per gathered subset (plus C(sysctl) and C(candidate_devices)).
      returned: always
      type: dict
      sample: {platform: {os_family: Debian, init: systemd}, candidate_devices: [lan0, wan0]}
      contains:
        platform:
          description: What the host is and which tools manage it.
          returned: when platform is gathered
          type: dict
          sample: {os_family: Debian, distribution: debian, distribution_version: "12",
                   kernel: 6.1.0-56-amd64, package_manager: apt, firewall: none, init: systemd}
          contains:
            os_family: {description: 'V(OpenWrt), V(Debian), V(RedHat), V(Alpine) or V(other).', type: str, returned: always, sample: Debian}
            distribution:
              description: The distribution's ID from C(/etc/os-release) (C(/etc/openwrt_release) on OpenWrt).
              type: str
              returned: always
              sample: debian
            distribution_version: {description: Its version., type: str, returned: always, sample: '12'}
            kernel: {description: The running kernel's release (C(uname -r))., type: str, returned: always, sample: 6.1.0-56-amd64}
            package_manager: {description: 'V(opkg), V(apk), V(apt), V(dnf), V(yum) or V(none).', type: str, returned: always, sample: apt}
            firewall: {description: 'V(fw4), V(fw3), V(firewalld), V(nftables.service) or V(none).', type: str, returned: always, sample: none}
            init: {description: 'V(systemd), V(procd), V(openrc) or V(other).', type: str, returned: always, sample: systemd}
        kernel:
          description: The flow offload kernel modules, the kernel config, the software offload probe and the boot-time load list.
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
          contains:
            modules:
              description:
                - One entry per flow offload module (C(nf_flow_table), C(nf_flow_table_inet),
                  C(nft_flow_offload)), keyed by its name, each a dictionary of C(state)
                  (V(loaded), V(module) (available, not loaded), V(builtin), V(missing)),
                  C(path) (the C(.ko) file, V(null) when none) and C(evidence) (what the
                  state was read from).
              type: dict
              returned: always
              sample: {nft_flow_offload: {state: module, path: /lib/modules/6.1.0-56-amd64/kernel/net/netfilter/nft_flow_offload.ko,
                                          evidence: "modules.dep lists kernel/net/netfilter/nft_flow_offload.ko"}}
            config:
              description:
                - C(file), the kernel config read (V(null) when none was found), and, when
                  one was, the values of C(CONFIG_NF_FLOW_TABLE), C(CONFIG_NF_FLOW_TABLE_INET),
                  C(CONFIG_NFT_FLOW_OFFLOAD), C(CONFIG_NF_FLOW_TABLE_IPV4) and
                  C(CONFIG_NF_FLOW_TABLE_IPV6) (V(y), V(m), V(n), or V(null) when the config
                  does not mention the symbol).
              type: dict
              returned: always
              sample: {file: /boot/config-6.1.0-56-amd64, CONFIG_NF_FLOW_TABLE: m, CONFIG_NFT_FLOW_OFFLOAD: m}
            software_offload:
              description: The side-effect-free C(nft -c) probe of a flowtable without devices.
              type: dict
              returned: always
              sample:
                supported: false
                message: "the kernel rejected a flowtable with ENOENT (Error: No such file or directory; ...): it lacks flowtable support ..."
              contains:
                supported:
                  description: V(true), V(false) (the kernel answered ENOENT) or V(null) (the probe could not run).
                  type: bool
                  returned: always
                  sample: true
                message:
                  description: What the probe answered.
                  type: str
                  returned: always
                  sample: "nft -c accepted a flowtable: the kernel supports flowtables"
            persistence:
              description: The boot-time load list M(flowoffload.nft.offload_kmod) writes.
              type: dict
              returned: always
              sample: {file: /etc/modules-load.d/flowoffload.conf, present: true, modules: [nf_flow_table, nf_flow_table_inet]}
              contains:
                file:
                  description: Its path (C(/etc/modules-load.d/flowoffload.conf) with systemd, a marked block of C(/etc/modules) otherwise).
                  type: str
                  returned: always
                  sample: /etc/modules-load.d/flowoffload.conf
                present: {description: Whether the list exists., type: bool, returned: always, sample: true}
                modules:
                  description: The modules it lists.
                  type: list
                  elements: str
                  returned: always
                  sample: [nf_flow_table, nf_flow_table_inet, nft_flow_offload]
        sysctl:
          description: The flowtable timeouts and the forwarding switches; V(null) where the kernel has no such sysctl.
          returned: when kernel is gathered
          type: dict
          sample: {nf_flowtable_tcp_timeout: 30, nf_flowtable_udp_timeout: 30, ip_forward: 1, ipv6_forwarding: 1}
          contains:
            nf_flowtable_tcp_timeout: {description: 'C(net.netfilter.nf_flowtable_tcp_timeout), seconds.', type: int, returned: always, sample: 30}
            nf_flowtable_udp_timeout: {description: 'C(net.netfilter.nf_flowtable_udp_timeout), seconds.', type: int, returned: always, sample: 30}
            ip_forward: {description: C(net.ipv4.ip_forward)., type: int, returned: always, sample: 1}
            ipv6_forwarding: {description: C(net.ipv6.conf.all.forwarding)., type: int, returned: always, sample: 1}
        package:
          description: The package that ships the flow offload modules.
          returned: when package is gathered
          type: dict
          sample: {name: linux-image-6.1.0-56-amd64, installed: true, version: 6.1.192-2, manager: apt,
                   evidence: "dpkg -S /lib/modules/6.1.0-56-amd64/kernel/net/netfilter/nf_flow_table.ko: ..."}
          contains:
            name:
              description: Its name (V(kmod-nft-offload) on OpenWrt); V("") when the modules are built in or not packaged.
              type: str
              returned: always
              sample: kmod-nft-offload
            installed: {description: Whether it is installed., type: bool, returned: always, sample: true}
            version: {description: Its installed version; V("") when not installed., type: str, returned: always, sample: 6.6.73-1}
            manager: {description: The package manager asked., type: str, returned: always, sample: opkg}
            evidence: {description: What the answer was read from., type: str, returned: always, sample: /usr/lib/opkg/status}
            dependencies:
              description: The OpenWrt package it needs (V(kmod-nf-flow)), with the same C(name), C(installed) and C(version).
              type: list
              elements: dict
              returned: on OpenWrt
              sample: [{name: kmod-nf-flow, installed: true, version: 6.6.73-1}]
              contains:
                name: {description: The package., type: str, returned: always, sample: kmod-nf-flow}
                installed: {description: Whether it is installed., type: bool, returned: always, sample: true}
                version: {description: Its installed version; V("") when not installed or unknown., type: str, returned: always, sample: 6.6.73-1}
        nft:
          description: The C(nft) binary; V(null) values when nft is missing.
          returned: when nft is gathered
          type: dict
          sample: {path: /usr/sbin/nft, version: 1.0.6, json: true}
          contains:
            path: {description: Where it is., type: str, returned: always, sample: /usr/sbin/nft}
            version: {description: Its version., type: str, returned: always, sample: 1.0.6}
            json: {description: Whether C(nft -j list tables) works., type: bool, returned: always, sample: true}
        interfaces:
          description:
            - Every network device, keyed by its name. Each is a dictionary of
              C(kind) (V(physical), V(veth), V(bridge), V(vlan), V(pppoe), V(dsa),
              V(wireguard), V(tun), V(bond), V(macvlan), V(loopback), V(dummy), ...),
              C(driver) (V(null) when it has none), C(operstate), C(lower) (the devices under
              it), C(hw_tc_offload) (V(true), V(false), V(null) when unreadable),
              C(hardware_offload) (V(supported), V(unsupported), V(unknown)) and
              C(hardware_offload_reason).
            - The keys are device names, so the entries are described here rather than as
              fixed return keys.
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
          description: Every flowtable on the host, normalized.
          returned: when flowtables is gathered
          type: list
          elements: dict
          sample: [{family: inet, table: flowoffload, name: ft, hook: ingress, priority: 0, devices: [lan0, wan0],
                    offload: false, counter: true}]
          contains:
            family: {description: The table's family., type: str, returned: always, sample: inet}
            table: {description: The table holding the flowtable., type: str, returned: always, sample: flowoffload}
            name: {description: The flowtable's name., type: str, returned: always, sample: ft}
            hook: {description: Its hook (always V(ingress) for flowtables)., type: str, returned: always, sample: ingress}
            priority: {description: Its priority., type: int, returned: always, sample: 0}
            devices: {description: 'Its devices, sorted.', type: list, elements: str, returned: always, sample: [lan0, wan0]}
            offload: {description: Whether it has C(flags offload) (hardware offload)., type: bool, returned: always, sample: false}
            counter: {description: Whether it has C(counter)., type: bool, returned: always, sample: true}
        flows:
          description:
            - Conntrack entry counts; V(null) when neither C(/proc/net/nf_conntrack) nor C(conntrack) is available.
          returned: when flows is gathered
          type: dict
          sample: {total: 12, offload: 3, hw_offload: 0}
          contains:
            total: {description: All conntrack entries., type: int, returned: always, sample: 12}
            offload: {description: 'Entries marked V([OFFLOAD]) (in the flowtable).', type: int, returned: always, sample: 3}
            hw_offload: {description: 'Entries marked V([HW_OFFLOAD]) (offloaded to the hardware).', type: int, returned: always, sample: 0}
        conflicts:
          description: What offload would silently bypass.
          returned: when conflicts is gathered
          type: list
          elements: dict
          sample: [{kind: qdisc, device: wan0, trigger: htb qdisc, detail: "htb qdisc (root, handle 1:) shapes wan0: offloaded packets bypass it"}]
          contains:
            kind:
              description: V(qdisc) (shaping qdiscs or ifb redirects on candidate devices), V(ipsec) (xfrm policies) or V(nfqueue) (queue rules).
              type: str
              returned: always
              sample: qdisc
            device: {description: The device concerned; V("") when the conflict is not tied to one., type: str, returned: always, sample: wan0}
            trigger:
              description:
                - What was found, in short (V(htb qdisc), V(ingress redirected to ifb0 (cake)), V(IPsec (xfrm) policies),
                  V(NFQUEUE rule)); the profile's report names it.
                - A shaper counts once, with the qdiscs below it (fq_codel leaves of an htb) named in C(detail); an
                  fq_codel qdisc of its own (the default qdisc) does not shape.
              type: str
              returned: always
              sample: htb qdisc
            detail:
              description: What was found and what offload does to it.
              type: str
              returned: always
              sample: "htb qdisc (root, handle 1:) shapes wan0: offloaded packets bypass it"
        shaping:
          description:
            - How far shaping could be checked. Where C(tc) is missing (a stock OpenWrt image) and
              nothing else can shape - no SQM (sqm-scripts) queue or qosify interface enabled in UCI
              (C(/etc/config/sqm), C(/etc/config/qosify)), no BPF object pinned under C(/sys/fs/bpf) -
              the message is V(no qdisc tool; no shaping configured) and there is no warning. Where UCI
              enables SQM or qosify (or BPF objects are pinned) but C(tc) is missing, C(configured) names
              them and the module warns that the qdiscs could not be checked.
          returned: when conflicts is gathered
          type: dict
          sample: {tool: null, checked: false, configured: [], message: "no qdisc tool; no shaping configured"}
          contains:
            tool: {description: 'V(tc) where it is installed, else V(null).', type: str, returned: always, sample: tc}
            checked: {description: Whether the qdiscs were listed (C(tc -j qdisc show))., type: bool, returned: always, sample: true}
            configured:
              description: What could shape without C(tc) showing it (SQM, qosify, pinned BPF objects).
              type: list
              elements: str
              returned: always
              sample: ["SQM (sqm-scripts) shapes eth1 (sqm.eth1: qdisc cake, script piece_of_cake.qos)"]
            message: {description: One line saying which of the cases above applies., type: str, returned: always, sample: qdiscs checked with tc}"""

# The module runs as an action plugin of the same name (plugins/action/offload_facts.py) on the
# controller; this file holds its documentation and argument spec only.

ARGUMENT_SPEC = dict(
    gather_subset=dict(type="list", elements="str", default=["all"]),
)
