# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attribute descriptions shared by the collection's modules (private to the collection).

Every module extends ``flowoffload.nft._attributes`` (what each attribute means, and that
the module is an action plugin) and the sections that apply to it; the module itself says
only ``support:`` and the ``details:`` of its own (a module's keys win over a fragment's).

- ``PLATFORM``: Linux and OpenWrt targets;
- ``FACTS``: the module returns ``ansible_facts``;
- ``READ_ONLY``: the module never changes the host (check mode is the same read);
- ``PLAN_APPLY``: the module reads, plans on the controller, then applies (not in check mode).
"""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  action:
    description: Runs on the controller as an action plugin; the target runs only POSIX sh scripts, never Python.
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""

    FACTS = r"""
options: {}
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
"""

    PLATFORM = r"""
options: {}
attributes:
  platform:
    platforms: [linux, openwrt]
"""

    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    details: The module reads only; check mode runs exactly the same read.
  diff_mode:
    details: Nothing ever changes, so there is never a difference to show.
"""

    PLAN_APPLY = r"""
options: {}
attributes:
  action:
    details:
      - All planning runs on the controller; the target runs sh scripts only (one read script,
        and one apply script when something changes).
  check_mode:
    details:
      - Runs the same read and plan; sends no apply script.
"""
