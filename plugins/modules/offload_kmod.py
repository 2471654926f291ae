#!/usr/bin/python
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module offload_kmod: make the flow offload kernel modules available and loaded."""
from __future__ import annotations

DOCUMENTATION = r"""
module: offload_kmod
short_description: Load the kernel modules for netfilter flow offload and keep them across reboots
version_added: 0.1.0
description:
  - Makes the kernel modules behind nftables flowtables (C(nf_flow_table), C(nf_flow_table_inet),
    C(nft_flow_offload)) available and loaded, and lists them for loading at boot.
  - On OpenWrt installs C(kmod-nft-offload) with C(opkg) or C(apk) when the modules are missing
    (running C(opkg update) first when opkg has no package lists, or C(opkg update)/C(apk update) once
    when the install fails for lack of them; when no feed is reachable the error names the package and
    the feeds).
  - Elsewhere, when the modules are neither built in nor present for the running kernel, fails and
    names the package that would provide them, or installs O(package) when it is given.
  - Modules built into the kernel need nothing and are never listed for boot.
  - With O(state=absent) removes the boot-time entries it wrote and unloads the modules that are
    loaded and not in use (dependents first). Modules in use, for example by a flowtable, stay
    loaded with a warning that names the users. Packages are never uninstalled.
  - Runs on the controller (an action plugin); the target needs only C(/bin/sh) (busybox ash is
    enough) and the tools it calls (C(modprobe), C(rmmod), and C(opkg) or C(apk) on OpenWrt, the
    package manager elsewhere), never Python. One read script gathers the module states and the
    boot-time list; only when something must change (and not in check mode) one apply script runs.
  - The apply script takes the collection's host lock (C(flock) on C(/run/flowoffload.lock), or where
    there is no C(flock), as on OpenWrt, the directory C(/run/flowoffload.lock.d); in C(/tmp) where
    C(/run) is missing), which exists only while a run holds it, re-checks that the boot-time list is
    still as read (else it fails and changes nothing), stages the list file next to its place,
    installs the package and loads the modules, moves the file into place, unloads with C(rmmod) and
    reads the modules back.
  - A failed install names the package, the feeds configured on the host and the package manager's
    own words (the start of its output, cut at a line; the whole output is in the failed result's
    C(stdout) and C(stderr)).
extends_documentation_fragment:
  - flowoffload.nft._attributes
  - flowoffload.nft._attributes.PLATFORM
  - flowoffload.nft._attributes.PLAN_APPLY
requirements:
  - On the target, C(/bin/sh) (busybox ash is enough) and C(modprobe) and C(rmmod) (kmod, busybox
    or the kmodloader of OpenWrt). No Python is needed on the target.
  - To install missing modules, the host's package manager - C(opkg) or C(apk) on OpenWrt
    (C(kmod-nft-offload)), C(apt-get), C(dnf), C(yum) or C(apk) elsewhere.
  - On the controller, ansible-core (tested with 2.19, 2.20 and 2.21); the module is an action plugin.
attributes:
  action:
    support: full
  check_mode:
    support: full
    details: Computes the same plan and reports what it would install, load, unload and write.
  diff_mode:
    support: full
    details: Shows the boot-time load list file before and after.
  platform:
    support: full
    details: Linux hosts with kmod (Debian, Ubuntu, RHEL, Alpine) and OpenWrt.
options:
  state:
    description:
      - V(present) makes the modules available and loaded; V(absent) removes the boot-time
        entries and unloads the modules that are not in use.
    type: str
    choices: [present, absent]
    default: present
  persistent:
    description:
      - Whether the modules are loaded at boot too. With V(true) the list is written to
        C(/etc/modules-load.d/flowoffload.conf) on systemd hosts, or to a marked block in
        C(/etc/modules) elsewhere (other lines of that file are kept as they are).
      - With V(false) the boot-time entries this module wrote earlier are removed.
      - On OpenWrt nothing is written; the packages autoload through C(/etc/modules.d).
    type: bool
    default: true
  modules:
    description:
      - Kernel modules to manage, by name (letters, digits, C(_) and C(-)); C(-) and C(_) are
        equivalent, as for the kernel.
      - Old OpenWrt trees name them differently (C(nf_flow_table_ipv4), C(nf_flow_table_ipv6),
        C(nf_flow_table_hw)); list those names there.
    type: list
    elements: str
    default: [nf_flow_table, nf_flow_table_inet, nft_flow_offload]
  package:
    description:
      - Package to install when the modules are missing on a host that is not OpenWrt, for
        example C(linux-image-6.1.0-56-amd64) (Debian), C(linux-modules-extra-6.8.0-45-generic)
        (Ubuntu), C(kernel-modules-core) (RHEL) or C(linux-lts) (Alpine).
      - Installed non-interactively with apt-get, dnf, yum or apk, then the modules are checked
        again; they must exist for the running kernel afterwards or the task fails.
      - Ignored on OpenWrt, which always installs C(kmod-nft-offload).
    type: str
notes:
  - Needs root. Unloading uses C(rmmod) one module at a time, so dependencies such as
    C(nf_conntrack) or C(nf_tables), which other users own, are never removed.
seealso:
  - module: flowoffload.nft.offload_facts
  - module: flowoffload.nft.flowtable
author:
  - flowoffload.nft maintainers (@flowoffload)
"""

EXAMPLES = r"""
---
- name: Load the flow offload modules now and at boot
  flowoffload.nft.offload_kmod:

# The targets have no Python, so no setup facts: the kernel release comes from offload_facts,
# which reads it with sh only.
- name: Read the platform facts (kernel release, package manager)
  flowoffload.nft.offload_facts:
    gather_subset: [platform]

- name: Install the Debian kernel package that ships the modules when they are missing
  flowoffload.nft.offload_kmod:
    package: "linux-image-{{ ansible_facts.flowoffload.platform.kernel }}"

- name: Load them for this boot only
  flowoffload.nft.offload_kmod:
    persistent: false

- name: Old OpenWrt tree with per-family modules
  flowoffload.nft.offload_kmod:
    modules: [nf_flow_table, nf_flow_table_ipv4, nf_flow_table_ipv6, nft_flow_offload]

- name: Unload the modules that are not in use and forget the boot-time list
  flowoffload.nft.offload_kmod:
    state: absent
"""

RETURN = r"""
modules:
  description:
    - State of each module after the run (predicted in check mode), keyed by module name (the
      names in O(modules)) - V(loaded), V(builtin), V(module) (available, not loaded) or
      V(missing).
  returned: always
  type: dict
  sample: {nf_flow_table: loaded, nf_flow_table_inet: loaded, nft_flow_offload: builtin}
loaded:
  description: Modules loaded by this run (would be loaded, in check mode).
  returned: always
  type: list
  elements: str
  sample: [nf_flow_table, nf_flow_table_inet, nft_flow_offload]
unloaded:
  description: Modules unloaded by this run with O(state=absent) (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [nft_flow_offload]
installed:
  description: Packages installed by this run (would be installed, in check mode).
  returned: always
  type: list
  elements: str
  sample: [kmod-nft-offload]
packages:
  description:
    - The packages this run installs (would install, in check mode), with their size where the
      package manager tells it - on opkg C(Installed-Size) and C(Size) of C(opkg info) (from the package
      lists, so before the install only when the lists are on the host), on apk the installed size
      (C(I:)) its database records after the install. V(null) where it is not known; C(note) says why
      or where it came from.
  returned: always
  type: list
  elements: dict
  sample: [{name: kmod-nft-offload, manager: opkg, installed_size: 20480, download_size: 8473,
            note: opkg info after the install}]
  contains:
    name:
      description: Package name.
      type: str
      returned: always
      sample: kmod-nft-offload
    manager:
      description: Package manager (V(opkg), V(apk), V(apt), V(dnf), V(yum)).
      type: str
      returned: always
      sample: opkg
    installed_size:
      description: Bytes on the target's filesystem, or V(null) when unknown.
      type: int
      returned: always
      sample: 20480
    download_size:
      description: Bytes of the package file (opkg's C(Size)), or V(null) when unknown.
      type: int
      returned: always
      sample: 8473
    note:
      description: Where the sizes came from, or why they are not known.
      type: str
      returned: always
      sample: opkg info after the install
persist_file:
  description:
    - The boot-time load list holding the modules after the run, or V("") when there is none
      (O(persistent=false), O(state=absent), all modules built in, or OpenWrt).
  returned: always
  type: str
  sample: /etc/modules-load.d/flowoffload.conf
diff:
  description: The boot-time load list before and after, when run with C(--diff).
  returned: when diff mode is on
  type: dict
  sample: {before: "", after: "# Written by flowoffload.nft (offload_kmod): ...\nnf_flow_table\nnf_flow_table_inet\nnft_flow_offload\n"}
  contains:
    before:
      description: File content before.
      type: str
      returned: always
      sample: ""
    after:
      description: File content after.
      type: str
      returned: always
      sample: "# Written by flowoffload.nft (offload_kmod): ...\nnf_flow_table\nnf_flow_table_inet\nnft_flow_offload\n"
"""

# The module runs as an action plugin of the same name (plugins/action/offload_kmod.py) on the
# controller; this file holds its documentation and argument spec only.

ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "persistent": {"type": "bool", "default": True},
    "modules": {"type": "list", "elements": "str", "default": ["nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"]},
    "package": {"type": "str"},
}
