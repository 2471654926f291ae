#!/usr/bin/python
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: flowtable
short_description: Manage an nftables flowtable and the rule that feeds it
version_added: 0.1.0
description:
  - Manages one netfilter flowtable (software or hardware flow offload) and the offload
    rule C(meta l4proto { tcp, udp } flow add @NAME) that feeds it, as a desired state.
  - Without O(chain) the module owns the whole O(table), marked with the table comment
    C(managed by flowoffload.nft); it holds the flowtables and a forward base chain at
    priority C(filter + 10) with policy accept whose only rules are the offload rules.
    It refuses to take over an existing table without that mark.
  - With O(chain) the module adds only its flowtable and one rule tagged
    C(comment "flowoffload.nft:NAME") at the top of an existing forward base chain.
  - Reads only the objects it owns, never the whole ruleset. Every change is one
    C(nft -f) batch, validated first with C(nft -c -f); nothing else in the ruleset
    is touched. A host-wide lock keeps two runs from interleaving.
  - In the owned table, anything the module does not render (a rule added by hand above the
    offload rule, a set, another chain) is drift; the run restores the table exactly as rendered.
  - Runs on the controller (action plugin). The target only runs POSIX sh scripts, one read
    script per run and, only when something must change, one apply script (lock, re-check
    of the state planned from, files staged, C(nft -c), C(nft -f), files moved into place,
    read-back). An idempotent run costs one round trip, a change two.
requirements:
  - On the target, C(/bin/sh) (busybox ash is enough) and C(nft); C(systemctl) for the boot
    unit on systemd hosts. No Python is needed on the target.
  - With O(backend=fw4) (OpenWrt), C(uci) and C(fw4) on the target.
  - On the controller, ansible-core (tested with 2.19, 2.20 and 2.21); the module is an action plugin.
author:
  - flowoffload.nft maintainers (@flowoffload)
extends_documentation_fragment:
  - flowoffload.nft._attributes
  - flowoffload.nft._attributes.PLATFORM
  - flowoffload.nft._attributes.PLAN_APPLY
  - flowoffload.nft.rollback
attributes:
  action:
    support: full
  check_mode:
    support: full
    details:
      - Runs the same read and plan (the kernel probes use C(nft -c), which needs root);
        sends no apply script.
  diff_mode:
    support: full
    details:
      - Shows the owned objects and the persistence files before and after as text.
  platform:
    support: full
options:
  name:
    description: Name of the flowtable.
    type: str
    default: ft
  family:
    description: Family of the table holding the flowtable.
    type: str
    choices: [inet, ip, ip6]
    default: inet
  table:
    description:
      - Table holding the flowtable. Without O(chain) the module owns this table.
    type: str
    default: flowoffload
  chain:
    description:
      - An existing forward base chain (C(type filter hook forward)) of O(table) that gets
        the offload rule, inserted at its top. Leave unset to let the module own O(table).
    type: str
  devices:
    description:
      - Devices whose ingress the flowtable hooks (the forwarding devices; since kernel 5.13
        the lower devices of VLAN/PPPoE). Required with O(state=present) and O(backend=nft).
      - Must not be given with O(backend=fw4) (fw4 takes them from its zones).
    type: list
    elements: str
  priority:
    description:
      - Flowtable priority at the ingress hook, an integer or C(filter) (0), optionally
        C(filter + N) or C(filter - N).
    type: raw
    default: filter
  offload:
    description:
      - V(false) software offload; V(true) hardware offload required (fails naming the
        devices whose driver cannot); V(auto) hardware where the kernel accepts it, else
        software with a warning and RV(fallback_reason).
      - Accepts booleans and the strings yes, no, true, false and auto.
    type: raw
    default: false
  counter:
    description: Keep conntrack byte/packet counters right for offloaded flows.
    type: bool
    default: true
  protocols:
    description: Layer 4 protocols to offload (matched with C(meta l4proto), IPv4 and IPv6).
    type: list
    elements: str
    choices: [tcp, udp]
    default: [tcp, udp]
  missing_devices:
    description:
      - What to do with listed devices that do not exist when the task runs.
      - V(fail) stops with an error naming them, before anything changes.
      - V(skip) leaves them out of the flowtable now, with a warning (see RV(skipped_devices)).
        With O(persist=true), a skipped device stays in the persisted configuration and joins
        the flowtable when it appears (udev rule, OpenWrt hotplug); this is part of V(skip),
        not a third choice.
    type: str
    choices: [fail, skip]
    default: fail
  state:
    description: Whether the flowtable and its rule exist.
    type: str
    choices: [present, absent]
    default: present
  persist:
    description:
      - Keep the owned objects across reboots and firewall reloads. On systemd hosts a file
        C(/etc/flowoffload/<family>-<table>.nft) and unit C(flowoffload-<family>-<table>.service)
        (after and reloaded with C(nftables.service)); on OpenWrt
        C(/usr/share/nftables.d/ruleset-post/flowoffload-<table>.nft).
      - The files define the flowtables without devices; the loader C(/etc/flowoffload/flowoffload-load)
        adds the configured devices that exist and warns about the absent ones, so a vanished or late
        device never makes the load fail. A device that appears later joins the running flowtable
        (udev rule C(/etc/udev/rules.d/90-flowoffload.rules); on OpenWrt C(/etc/hotplug.d/net) and
        C(/etc/hotplug.d/iface) scripts). See docs/flowtable.md.
      - V(false) (or O(state=absent) of the last flowtable) removes them (the loader, udev rule and
        hotplug scripts with the last persisted table).
    type: bool
    default: true
  backend:
    description:
      - V(nft) manages the flowtable with nft. V(fw4) (OpenWrt only) sets firewall4's UCI
        C(flow_offloading)/C(flow_offloading_hw) and reloads fw4, which builds flowtable
        C(ft) in table C(inet fw4).
    type: str
    choices: [nft, fw4]
    default: nft
notes:
  - Needs root (CAP_NET_ADMIN), also in check mode, and the C(nft) binary.
  - Names that nft reads as keywords (C(fwd), C(ingress), C(flow), ...) are refused for
    O(name), O(table) and O(chain); O(priority) must fit the kernel's signed 32-bit range.
  - On OpenWrt the kernel accepts C(flags offload) even where hardware cannot offload;
    only conntrack entries marked C([HW_OFFLOAD]) prove hardware offload.
seealso:
  - module: flowoffload.nft.offload_facts
  - module: flowoffload.nft.offload_kmod
"""

EXAMPLES = r"""
---
- name: Software flow offload between lan0 and wan0 in an owned table
  flowoffload.nft.flowtable:
    devices: [lan0, wan0]

- name: Hardware offload where the NIC supports it, software elsewhere
  flowoffload.nft.flowtable:
    devices: [eth0, eth1]
    offload: auto
    missing_devices: skip

- name: Add the flowtable to the forward chain of an existing table inet filter
  flowoffload.nft.flowtable:
    table: filter
    chain: forward
    devices: [lan0, wan0]
    protocols: [tcp]

- name: Remove the flowtable (and the owned table with the last one)
  flowoffload.nft.flowtable:
    state: absent

- name: On OpenWrt let firewall4 manage offloading
  flowoffload.nft.flowtable:
    backend: fw4
    offload: true
"""

RETURN = r"""
commands:
  description: The nft batch, one statement per line (with O(backend=fw4), the uci steps).
  returned: always
  type: list
  elements: str
  sample:
    - add table inet flowoffload { comment "managed by flowoffload.nft"; }
    - add flowtable inet flowoffload ft { hook ingress priority 0; devices = { lan0, wan0 }; counter; }
flowtable:
  description: The flowtable after the run, normalized; empty when absent.
  returned: always
  type: dict
  sample: {family: inet, table: flowoffload, name: ft, hook: ingress, priority: 0,
           devices: [lan0, wan0], offload: false, counter: true}
  contains:
    family:
      description: The table's family.
      type: str
      returned: when the flowtable exists
      sample: inet
    table:
      description: The table holding the flowtable.
      type: str
      returned: when the flowtable exists
      sample: flowoffload
    name:
      description: The flowtable's name.
      type: str
      returned: when the flowtable exists
      sample: ft
    hook:
      description: Its hook (always V(ingress) for flowtables).
      type: str
      returned: when the flowtable exists
      sample: ingress
    priority:
      description: Its priority.
      type: int
      returned: when the flowtable exists
      sample: 0
    devices:
      description: Its devices, sorted.
      type: list
      elements: str
      returned: when the flowtable exists
      sample: [lan0, wan0]
    offload:
      description: Whether it has C(flags offload) (hardware offload).
      type: bool
      returned: when the flowtable exists
      sample: false
    counter:
      description: Whether it has C(counter).
      type: bool
      returned: when the flowtable exists
      sample: true
hardware_offload:
  description: Whether the flowtable has C(flags offload).
  returned: always
  type: bool
  sample: false
fallback_reason:
  description: Why O(offload=auto) used software; empty when it did not fall back.
  returned: always
  type: str
  sample: "the kernel did not accept 'flags offload' on lan0, wan0: ..."
skipped_devices:
  description: Devices left out because they do not exist (O(missing_devices=skip)).
  returned: always
  type: list
  elements: str
  sample: [wan1]
persist_files:
  description: Persistence files written or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/flowoffload/inet-flowoffload.nft, /etc/systemd/system/flowoffload-inet-flowoffload.service]
rollback:
  description:
    - The commit-confirmed apply (O(rollback_timeout) above V(0)); empty otherwise.
    - C(armed) is true when a change was applied under a rollback, C(confirmed) when the confirm
      over a new connection kept it; C(health_check) holds the check's C(rc), C(stdout) and
      C(stderr). When the check fails or the confirm comes too late the task fails, and the same
      dictionary is in the failed result.
  returned: when O(rollback_timeout) is above V(0)
  type: dict
  sample: {armed: true, timeout: 120, confirmed: true, health_check: {rc: 0, stdout: "", stderr: ""}}
"""

# The module runs as an action plugin of the same name (plugins/action/flowtable.py) on the
# controller; this file holds its documentation and argument spec only.

ARGUMENT_SPEC = dict(
    name=dict(type="str", default="ft"),
    family=dict(type="str", default="inet", choices=["inet", "ip", "ip6"]),
    table=dict(type="str", default="flowoffload"),
    chain=dict(type="str"),
    devices=dict(type="list", elements="str"),
    priority=dict(type="raw", default="filter"),
    offload=dict(type="raw", default=False),
    counter=dict(type="bool", default=True),
    protocols=dict(type="list", elements="str", choices=["tcp", "udp"], default=["tcp", "udp"]),
    missing_devices=dict(type="str", choices=["fail", "skip"], default="fail"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    persist=dict(type="bool", default=True),
    backend=dict(type="str", choices=["nft", "fw4"], default="nft"),
    rollback_timeout=dict(type="raw", default=0),
    health_check=dict(type="str", default=""),
)
