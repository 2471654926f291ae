#!/usr/bin/python
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: offload_audit
short_description: Audit one host's flow offload state for the fleet report (read-only)
version_added: 0.1.0
description:
  - Reads, in one round trip, everything C(flowoffload.nft.offload_facts) gathers (all
    subsets) and what the collection configured on the host - the persisted flowtable
    files with their device lines, the boot loader, the systemd units that load the
    files, and on OpenWrt the UCI firewall defaults C(flow_offloading) and
    C(flow_offloading_hw).
  - Returns one row (C(audit)) - platform, kernel support, kernel module and package
    state, the live flowtables against the configured ones (drift), each device's
    hardware offload verdict with its reason, the offloaded and hardware-offloaded share
    of the conntrack entries, conflicts, and one C(state).
  - The playbook C(flowoffload.nft.audit) runs it on every host and hands the rows to
    M(flowoffload.nft.fleet_report), which writes the fleet report.
  - Read-only, so check mode runs exactly the same. Never fails because the kernel lacks
    flowtables (C(nft) answers ENOENT) - such a host is in state V(unsupported).
author:
  - flowoffload.nft maintainers (@flowoffload)
extends_documentation_fragment:
  - flowoffload.nft._attributes
  - flowoffload.nft._attributes.PLATFORM
  - flowoffload.nft._attributes.READ_ONLY
requirements:
  - C(/bin/sh) on the target (busybox ash is enough); no Python.
  - The tools C(flowoffload.nft.offload_facts) uses where they exist (C(nft), C(ip),
    C(tc), C(ethtool), C(conntrack)); C(uci) on OpenWrt, C(systemctl) on systemd hosts.
  - Root (C(become) true) for the C(nft) listings and probes.
attributes:
  action:
    support: full
    details: One read script (one round trip); the row is built on the controller.
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
options: {}
notes:
  - States, first match wins - V(unsupported) (the kernel refuses flowtables),
    V(drifted) (the live flowtables differ from the persisted ones, or a file is not
    loaded at boot), V(offloading_hw) (entries marked V([HW_OFFLOAD])), V(offloading_sw)
    (entries marked V([OFFLOAD])), V(configured_idle) (a flowtable is live, nothing
    offloaded now), V(not_configured). The fleet report adds V(unreachable) and V(failed)
    for hosts without a result.
  - A configured device that does not exist on the host is not drift (the loader adds it
    when it appears); it is listed in C(missing_devices).
  - The facts' warnings (for example a missing C(tc)) are kept in the row's C(warnings),
    not repeated as task warnings for every host.
seealso:
  - module: flowoffload.nft.offload_facts
  - module: flowoffload.nft.fleet_report
"""

EXAMPLES = r"""
---
- name: Audit the host
  flowoffload.nft.offload_audit:
  register: flowoffload_audit

- name: Show its state
  ansible.builtin.debug:
    msg: "{{ flowoffload_audit.audit.state }}: {{ flowoffload_audit.audit.reason }}"
"""

RETURN = r"""
audit:
  description: The host's row of the fleet audit.
  returned: always
  type: dict
  contains:
    host:
      description: The inventory name of the host.
      type: str
      sample: gw-17
    state:
      description:
        - One of V(offloading_hw), V(offloading_sw), V(configured_idle),
          V(not_configured), V(drifted), V(unsupported).
      type: str
      sample: offloading_sw
    reason:
      description: Why the host is in that state, in one sentence.
      type: str
      sample: 41 of 120 conntrack entries offloaded in software
    platform:
      description: The platform facts (os_family, distribution, distribution_version, kernel, package_manager, firewall, init).
      type: dict
      sample: {os_family: OpenWrt, distribution: OpenWrt, distribution_version: "24.10.0", kernel: 6.6.73,
               package_manager: opkg, firewall: fw4, init: procd}
    kernel:
      description:
        - C(release), C(software_offload) (C(supported) true, false or null and the
          C(message)), C(modules) (name to loaded, builtin, module or missing),
          C(modules_summary) (loaded, not loaded, missing, unknown), C(modules_persisted).
      type: dict
      sample: {release: 6.1.0-28-amd64, software_offload: {supported: true, message: "the kernel accepted a flowtable"},
               modules: {nf_flow_table: loaded}, modules_summary: loaded, modules_persisted: true}
    package:
      description: The package that provides the modules (C(name), C(installed), C(version), C(manager)); kmod-nft-offload on OpenWrt.
      type: dict
      sample: {name: kmod-nft-offload, installed: true, version: 6.6.73-r1, manager: opkg}
    nft_version:
      description: The version of C(nft) on the host, null without it.
      type: str
      sample: 1.0.6
    flowtables:
      description:
        - C(live) (normalized flowtables as listed), C(configured) (the same keys plus
          C(source), the file or UCI section; C(devices) null for firewall4's, which takes
          them from its zones), C(unmanaged) (live flowtables the collection did not
          persist, outside its tables), C(files) (the persisted files), C(uci) (OpenWrt
          option values).
      type: dict
      sample: {live: [], configured: [], unmanaged: [], files: [], uci: {}}
    drift:
      description: Each difference between the configured and the live state, one sentence each.
      type: list
      elements: str
      sample: ["flowtable inet flowoffload ft: offload is False live, True configured"]
    missing_devices:
      description: Configured devices that do not exist on the host, with their flowtable.
      type: list
      elements: str
      sample: ["wan1 (inet flowoffload ft)"]
    devices:
      description:
        - Every device but loopback - C(name), C(kind), C(driver), C(operstate),
          C(candidate) (a forwarding device), C(configured) (in a persisted flowtable),
          C(hardware_offload) (supported, unsupported, unknown) and its C(reason).
      type: list
      elements: dict
      sample: [{name: wan0, kind: physical, driver: mtk_soc_eth, operstate: up, candidate: true, configured: true,
                hardware_offload: supported, reason: "mtk_soc_eth implements flowtable offload"}]
    hardware_capable:
      description: Devices whose hardware offload verdict is supported.
      type: list
      elements: str
      sample: [lan0, wan0]
    flows:
      description:
        - Conntrack entries - C(total), C(offload), C(hw_offload) and the shares
          C(offloaded_pct) (software and hardware) and C(hw_offloaded_pct), in percent.
        - Null when conntrack could not be read.
      type: dict
      sample: {total: 120, offload: 41, hw_offload: 0, offloaded_pct: 34.2, hw_offloaded_pct: 0.0}
    conflicts:
      description: What offload would bypass (C(kind), C(device), C(detail)), as in the facts.
      type: list
      elements: dict
      sample: [{kind: qdisc, device: wan0, detail: "cake qdisc shapes wan0: offloaded packets bypass it"}]
    warnings:
      description: What could not be read (the facts' warnings).
      type: list
      elements: str
      sample: ["conflicts: tc is not installed on the target; qdiscs were not checked"]
    error:
      description: Empty here; the fleet report fills it for unreachable and failed hosts.
      type: str
      sample: ""
"""

# The module runs as an action plugin of the same name (plugins/action/offload_audit.py) on the
# controller; this file holds its documentation and argument spec only.

ARGUMENT_SPEC = {}  # no options
