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
    (running C(opkg update) or C(apk update) only when the install fails for lack of package lists).
  - Elsewhere, when the modules are neither built in nor present for the running kernel, fails and
    names the package that would provide them, or installs O(package) when it is given.
  - Modules built into the kernel need nothing and are never listed for boot.
  - With O(state=absent) removes the boot-time entries it wrote and unloads the modules that are
    loaded and not in use (dependents first). Modules in use, for example by a flowtable, stay
    loaded with a warning that names the users. Packages are never uninstalled.
  - Runs under the collection's host lock (C(/run/flowoffload.lock)) so two runs never interleave.
extends_documentation_fragment:
  - flowoffload.nft._attributes
  - flowoffload.nft._attributes.PLATFORM
attributes:
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

- name: Install the Debian kernel package that ships the modules when they are missing
  flowoffload.nft.offload_kmod:
    package: "linux-image-{{ ansible_facts['kernel'] }}"

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
  description: State of each module after the run (predicted in check mode).
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
  contains:
    before:
      description: File content before.
      type: str
    after:
      description: File content after.
      type: str
"""

import re
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowoffload.nft.plugins.module_utils import _kmod, _packages
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._lock import host_lock
from ansible_collections.flowoffload.nft.plugins.module_utils._runner import Runner

_PACKAGE_NAME = r"^[A-Za-z0-9][A-Za-z0-9+._:~=-]*$"


def validate_package(package: t.Optional[str]) -> t.Optional[str]:
    """The package option, or FlowOffloadError naming it."""
    if package is None:
        return None
    if not re.match(_PACKAGE_NAME, package):
        raise FlowOffloadError(
            f"package {package!r} is not a package name: use a name such as "
            "linux-image-6.1.0-56-amd64 (letters, digits and + . _ : ~ = -, not starting "
            "with '-'), or omit package"
        )
    return package


def run(module: t.Any) -> t.Dict[str, t.Any]:
    params = module.params
    names = _kmod.validate_modules(params["modules"])
    desired = {
        "state": params["state"],
        "persistent": params["persistent"],
        "modules": names,
        "package": validate_package(params["package"]),
    }
    runner = Runner(module)
    with host_lock():
        platform = _packages.platform_info(runner)
        platform["module_support"] = _kmod.module_support(runner, platform["kernel"])
        states = _kmod.inspect_modules(runner, names, platform["kernel"])
        persistence = _kmod.persistence_state(runner, platform)
        actions = _kmod.plan(states, desired, persistence, platform)
        after = _kmod.predicted_states(states, actions)
        installed = [p for a in actions if a["action"] == "install" for p in a["packages"]]
        if not module.check_mode and any(a["action"] != "keep" for a in actions):
            installed = _kmod.apply(runner, actions, names, platform["kernel"])
            after = {n: s["state"] for n, s in
                     _kmod.inspect_modules(runner, names, platform["kernel"]).items()}
    for action in actions:
        if action["action"] == "keep":
            module.warn(action["reason"])
    files = [a for a in actions if a["action"] in ("write", "remove")]
    final_content = files[-1]["after"] if files else persistence["content"]
    has_ours = (persistence["kind"] == "file" and bool(final_content)) or (
        persistence["kind"] == "block" and _kmod.split_block(final_content)[2] >= 0)
    result: t.Dict[str, t.Any] = {
        "changed": any(a["action"] != "keep" for a in actions),
        "modules": after,
        "loaded": [a["module"] for a in actions if a["action"] == "load"],
        "unloaded": [a["module"] for a in actions if a["action"] == "unload"],
        "installed": installed,
        "persist_file": persistence["file"] if has_ours else "",
    }
    if module._diff:
        result["diff"] = {
            "before": persistence["content"],
            "after": final_content,
            "before_header": persistence["file"] or "(no boot-time load list)",
            "after_header": persistence["file"] or "(no boot-time load list)",
        }
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "persistent": {"type": "bool", "default": True},
            "modules": {"type": "list", "elements": "str",
                        "default": list(_kmod.DEFAULT_MODULES)},
            "package": {"type": "str"},
        },
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except FlowOffloadError as e:
        module.fail_json(msg=e.msg, **e.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
