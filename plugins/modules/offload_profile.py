#!/usr/bin/python
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: offload_profile
short_description: Apply a whole flow offload profile in one step (the engine of the gateway role)
version_added: 0.1.0
description:
  - Does what the role P(flowoffload.nft.gateway#role) does, as one task. It reads the facts the
    profile needs, loads the kernel modules and keeps their boot-time list, manages the
    flowtable and its rule (or fw4's flow offloading options) and the sysctl file
    C(/etc/sysctl.d/90-flowoffload.conf).
  - Each option is one role variable without its C(gateway_) prefix (O(profile) is
    C(gateway_profile)); error messages name the role variable. The role passes all of them;
    see C(ansible-doc -t role flowoffload.nft.gateway) for what each one means.
  - Every input is checked before anything runs on the host (device names, the priority,
    the timeouts (1 to 2147483 seconds, the largest value the kernel takes at any HZ),
    names of table, flowtable and chain). After the one read, the checks that need the facts
    (devices that do not exist, kernel support, conflicts, hardware capability) also run
    before any change.
  - Runs on the controller (action plugin). The target runs one read script per run and,
    only when something must change, one apply script that takes the host lock, re-checks
    the state planned from, stages the files, loads modules, validates and applies one
    C(nft -f) batch, moves the files into place, applies the sysctl file and reads back the
    result. An idempotent run costs one round trip, a changing run two.
  - Where the kernel refuses flowtables because the modules are missing and a package provides them
    (C(kmod-nft-offload) on OpenWrt), the package is installed as the apply's first step
    (O(install_packages)), then the modules are loaded and the software probe runs again before the
    flowtable is configured. Check mode reports what it would install. The host lock exists only while
    an apply holds it; O(profile=off) also removes lock files an earlier version left.
  - The modules P(flowoffload.nft.offload_facts#module), P(flowoffload.nft.offload_kmod#module)
    and P(flowoffload.nft.flowtable#module) stay for playbooks that compose their own tasks.
requirements:
  - On the target, C(/bin/sh) (busybox ash is enough) and C(nft); on OpenWrt C(uci), C(fw4) and
    C(opkg) or C(apk). No Python is needed on the target.
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
  diff_mode:
    support: full
    details:
      - One diff per part that changes (module boot-time list, flowtable or fw4 options, sysctl file).
  platform:
    support: full
options:
  profile:
    description: C(gateway_profile).
    type: str
    choices: [auto, software, hardware, "off"]
    default: auto
  devices:
    description: C(gateway_devices) (V(auto), a list, or one comma-separated string).
    type: raw
    default: auto
  protocols:
    description: C(gateway_protocols).
    type: list
    elements: str
    choices: [tcp, udp]
    default: [tcp, udp]
  counter:
    description: C(gateway_counter).
    type: bool
    default: true
  tcp_timeout:
    description: C(gateway_tcp_timeout) (seconds, 1 to 2147483; V(null) leaves the kernel's value).
    type: raw
  udp_timeout:
    description: C(gateway_udp_timeout) (seconds, 1 to 2147483; V(null) leaves the kernel's value).
    type: raw
  forwarding:
    description: C(gateway_forwarding).
    type: bool
    default: false
  conflicts:
    description:
      - C(gateway_conflicts). What to do about features that offloaded packets bypass (the facts'
        C(conflicts)).
      - V(warn) reports each one as a warning and goes on; V(fail) stops before any change.
      - V(software) makes the flowtable software only (no C(flags offload); fw4 C(flow_offloading_hw) 0)
        where a device of the flowtable is shaped (cake, htb, hfsc or tbf, fq_codel below one of them, or
        an ingress redirect to an ifb); with O(profile=hardware) too, which is then downgraded with a warning.
      - V(exclude) leaves shaped devices out of the flowtable and offloads the rest; with no device left
        there is no flowtable (the role's own is removed). Refused with the fw4 backend, whose flowtable
        takes every device of its zones.
      - With V(software) and V(exclude), the report names each device, its trigger and the decision;
        IPsec policies and NFQUEUE rules stay warnings, as with V(warn).
    type: str
    choices: [warn, fail, software, exclude]
    default: warn
  backend:
    description: C(gateway_backend).
    type: str
    choices: [auto, nft, fw4]
    default: auto
  bootstrap_python:
    description:
      - C(gateway_bootstrap_python). Deprecated, does nothing (nothing needs Python on the target);
        V(true) gives a deprecation warning.
    type: bool
    default: false
  fail_unsupported:
    description: C(gateway_fail_unsupported).
    type: bool
    default: false
  verify:
    description: C(gateway_verify). The conntrack counts come from the same read (or read-back).
    type: bool
    default: false
  table:
    description: C(gateway_table).
    type: str
    default: flowoffload
  flowtable:
    description: C(gateway_flowtable).
    type: str
    default: ft
  chain:
    description: C(gateway_chain).
    type: str
  priority:
    description: C(gateway_priority) (an integer within the kernel's signed 32-bit range, or V(filter) [+/- N]).
    type: raw
    default: filter
  allowed_extra_vars:
    description: C(gateway_allowed_extra_vars) (names that O(check_role_vars) accepts).
    type: list
    elements: str
    default: []
  install_packages:
    description:
      - C(gateway_install_packages). Where the kernel lacks the flow offload modules and a package
        provides them (C(kmod-nft-offload) on OpenWrt, the running kernel's package elsewhere), the
        apply installs it first, loads the modules and runs the software probe again before it
        configures the flowtable; it stops there, with the kernel's answer, if the kernel still
        refuses flowtables.
      - V(false) never installs; such a kernel is then treated as one without flowtables and the
        message names the package.
    type: bool
    default: true
  check_role_vars:
    description:
      - Refuse every C(gateway_*) variable of the play that is not a variable of the role
        (a misspelled C(gateway_profle) would otherwise leave the default profile to run), nor
        C(gateway_result), C(gateway_hosts), C(gateway_batch), C(gateway_max_fail_percentage) or a name of
        O(allowed_extra_vars).
      - It also validates the role's variables against the role's C(meta/argument_specs.yml)
        (the messages name them), and each option that the task does not set comes from its
        C(gateway_*) variable (C(devices) from C(gateway_devices)); an option set in the task
        wins.
      - The role sets it and nothing else; it needs the action plugin (it reads the play's
        variables).
    type: bool
    default: false
"""

EXAMPLES = r"""
---
- name: Apply the auto profile on the routers' LAN and WAN devices
  flowoffload.nft.offload_profile:
    profile: auto
    devices: [eth0, eth1]
  register: profile

- name: Remove everything the collection put on the host
  flowoffload.nft.offload_profile:
    profile: "off"
"""

RETURN = r"""
ansible_facts:
  description:
    - The flow offload facts this run read, under C(flowoffload), as
      M(flowoffload.nft.offload_facts) returns them, for the subsets the profile needs
      (V(platform), V(kernel), V(interfaces), V(conflicts); V(platform) and V(kernel) with
      V(off)).
  returned: always
  type: dict
  sample: {"flowoffload": {"platform": {"distribution": "debian"}, "candidate_devices": ["lan0", "wan0"]}}
profile:
  description: The profile applied.
  returned: always
  type: str
  sample: auto
backend:
  description: The backend used (V(nft) or V(fw4)).
  returned: always
  type: str
  sample: nft
devices:
  description: The devices in the flowtable (empty with V(off) and where the kernel has no flowtables).
  returned: always
  type: list
  elements: str
  sample: [eth0, eth1]
hardware_offload:
  description: Whether the flowtable has C(flags offload).
  returned: always
  type: bool
  sample: false
fallback_reason:
  description: Why hardware offload (or any offload, where the kernel has no flowtables) is not used; C("") if none.
  returned: always
  type: str
  sample: "the kernel did not accept 'flags offload' on lan0, wan0: ..."
flows:
  description: Conntrack counts C({total, offload, hw_offload}) with O(verify); C({}) otherwise.
  returned: always
  type: dict
  sample: {total: 12, offload: 3, hw_offload: 0}
  contains:
    total:
      description: All conntrack entries.
      type: int
      returned: with O(verify)
      sample: 12
    offload:
      description: Entries marked V([OFFLOAD]) (in the flowtable).
      type: int
      returned: with O(verify)
      sample: 3
    hw_offload:
      description: Entries marked V([HW_OFFLOAD]) (offloaded to the hardware).
      type: int
      returned: with O(verify)
      sample: 0
installed:
  description:
    - Packages this run installed (would install, in check mode) because the kernel lacked the flow
      offload modules (C(kmod-nft-offload) on OpenWrt); C([]) when nothing is installed.
  returned: always
  type: list
  elements: str
  sample: [kmod-nft-offload]
packages:
  description:
    - The packages this run installs or would install (check mode), with their size where the package
      manager tells it, as M(flowoffload.nft.offload_kmod) returns them (C(name), C(manager),
      C(installed_size) and C(download_size) in bytes or V(null), C(note)). C([]) when nothing is
      installed.
  returned: always
  type: list
  elements: dict
  sample: [{name: kmod-nft-offload, manager: opkg, installed_size: 20480, download_size: 8473,
            note: opkg info after the install}]
report:
  description:
    - Lines the role prints (the unsupported-kernel report, what is or would be installed, the
      verified flow counts).
  returned: always
  type: list
  elements: str
  sample: ["3 software-offloaded and 0 hardware-offloaded of 12 conntrack entries."]
parts:
  description: The result of each part that ran (C(kmod), C(flowtable), C(sysctl)), as the module of that part returns it.
  returned: always
  type: dict
  sample:
    kmod: {changed: false, modules: {nf_flow_table: loaded, nf_flow_table_inet: loaded, nft_flow_offload: loaded},
           loaded: [], unloaded: [], installed: [], persist_file: /etc/modules-load.d/flowoffload.conf}
    flowtable: {changed: false, commands: [], hardware_offload: false, fallback_reason: "", skipped_devices: [],
                persist_files: [], flowtable: {family: inet, table: flowoffload, name: ft, devices: [lan0, wan0]}}
    sysctl: {changed: false, file: /etc/sysctl.d/90-flowoffload.conf, settings: {}, applied: []}
  contains:
    kmod:
      description: What M(flowoffload.nft.offload_kmod) returns (C(modules), C(loaded), C(unloaded), C(installed), C(persist_file)).
      type: dict
      returned: when the profile loads or unloads modules
      sample: {changed: false, modules: {nf_flow_table: loaded}, loaded: [], unloaded: [], installed: [], persist_file: ""}
    flowtable:
      description:
        - What M(flowoffload.nft.flowtable) returns (C(commands), C(flowtable), C(hardware_offload),
          C(fallback_reason), C(skipped_devices), C(persist_files)).
      type: dict
      returned: when the kernel has flowtables
      sample: {changed: true, commands: ["add table inet flowoffload { ... }"], hardware_offload: false}
    recheck:
      description:
        - After an install, the software probe that ran again inside the apply (before the flowtable
          was configured) - C({changed, supported}).
      type: dict
      returned: when the profile installs the modules' package
      sample: {changed: true, supported: true}
    lock:
      description:
        - With V(off), the lock files an earlier version of the collection left behind - C(removed)
          (paths). The apply's own lock exists only while it runs.
      type: dict
      returned: with O(profile=off)
      sample: {changed: true, removed: [/tmp/flowoffload.lock]}
    sysctl:
      description:
        - The flowtable timeouts and forwarding sysctls - C(file) (the sysctl file the profile
          owns), C(settings) (name to value, as written), C(applied) (the settings that were not
          running yet and were applied).
      type: dict
      returned: when the profile sets sysctls or removes its file
      sample: {changed: true, file: /etc/sysctl.d/90-flowoffload.conf,
               settings: {net.netfilter.nf_flowtable_tcp_timeout: 30}, applied: [net.netfilter.nf_flowtable_tcp_timeout]}
round_trips:
  description: Scripts run on the target (1 when nothing changes, 2 when something does).
  returned: always
  type: int
  sample: 1
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

# The module runs as an action plugin of the same name (plugins/action/offload_profile.py) on the
# controller; this file holds its documentation and argument spec only.

ARGUMENT_SPEC = {
    "profile": {"type": "str", "choices": ["auto", "software", "hardware", "off"], "default": "auto"},
    "devices": {"type": "raw", "default": "auto"},
    "protocols": {"type": "list", "elements": "str", "choices": ["tcp", "udp"], "default": ["tcp", "udp"]},
    "counter": {"type": "bool", "default": True},
    "tcp_timeout": {"type": "raw"},
    "udp_timeout": {"type": "raw"},
    "forwarding": {"type": "bool", "default": False},
    "conflicts": {"type": "str", "choices": ["warn", "fail", "software", "exclude"], "default": "warn"},
    "backend": {"type": "str", "choices": ["auto", "nft", "fw4"], "default": "auto"},
    "bootstrap_python": {"type": "bool", "default": False},
    "fail_unsupported": {"type": "bool", "default": False},
    "verify": {"type": "bool", "default": False},
    "table": {"type": "str", "default": "flowoffload"},
    "flowtable": {"type": "str", "default": "ft"},
    "chain": {"type": "str"},
    "priority": {"type": "raw", "default": "filter"},
    "allowed_extra_vars": {"type": "list", "elements": "str", "default": []},
    "install_packages": {"type": "bool", "default": True},
    "check_role_vars": {"type": "bool", "default": False},
    "rollback_timeout": {"type": "raw", "default": 0},
    "health_check": {"type": "str", "default": ""},
}
