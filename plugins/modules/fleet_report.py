#!/usr/bin/python
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write the fleet's flow offload audit as one HTML, JSON and CSV report
version_added: 0.1.0
description:
  - Collects the row of every host that M(flowoffload.nft.offload_audit) registered and
    writes one fleet report into O(dest) on the controller - a self-contained HTML page
    (no external assets; sortable columns, a filter box and a state filter, one row per
    router with expandable details, an SVG chart of the fleet's offload states), the
    same data as JSON, and a flat CSV.
  - A host without a result (it left the play), with an unreachable result or a failed
    one gets a row in state V(unreachable) or V(failed) with the message.
  - Returns the C(summary) (counts per state, the fleet's offloaded share), which the
    playbook C(flowoffload.nft.audit) prints and hands to C(ansible.builtin.set_stats)
    for AWX / Automation Controller.
  - Runs on the controller only (an action plugin); run it once, for example with
    C(run_once) and C(delegate_to) V(localhost).
  - Each file is written atomically (a temporary file in O(dest), then renamed) and only
    when its content differs.
author:
  - flowoffload.nft maintainers (@flowoffload)
extends_documentation_fragment:
  - flowoffload.nft._attributes
requirements:
  - Nothing on the targets; a writable O(dest) on the controller.
attributes:
  action:
    description: Runs on the controller as an action plugin; nothing runs on the targets.
    support: full
    details: The files are written where the controller runs (the execution environment on AWX).
  check_mode:
    support: full
    details: Nothing is written; C(changed) says whether a file would change.
  diff_mode:
    support: none
  platform:
    platforms: [posix]
    support: full
options:
  dest:
    description:
      - The directory the report goes into (created when missing). A relative path is
        relative to the controller's working directory.
    type: path
    default: flowoffload-audit
  basename:
    description: The file name without extension; the files are C(BASENAME.html), C(.json) and C(.csv).
    type: str
    default: flowoffload-audit
  title:
    description: The title of the HTML page and the JSON.
    type: str
    default: flowoffload.nft fleet audit
  hosts:
    description:
      - The hosts of the report, one row each, in this order.
      - Defaults to C(ansible_play_hosts_all), every host of the play including those
        that failed or were unreachable.
    type: list
    elements: str
  result_var:
    description: The name the audit result was registered under on each host (C(register)).
    type: str
    default: flowoffload_audit
  rows:
    description:
      - Audit rows given directly (each the C(audit) value of an M(flowoffload.nft.offload_audit)
        result), instead of reading O(result_var) of O(hosts).
      - Mutually exclusive with O(hosts).
    type: list
    elements: dict
  generated:
    description: The time stamp shown in the report; defaults to the current UTC time.
    type: str
notes:
  - The HTML page keeps its filters in the URL hash (C(#state=drifted&q=openwrt&sort=offloaded&dir=desc&open=all)),
    so a filtered view can be bookmarked or shared.
  - CSV cells starting with C(=), C(+), C(-) or C(@) are prefixed with a quote, so a
    spreadsheet shows them as text.
seealso:
  - module: flowoffload.nft.offload_audit
"""

EXAMPLES = r"""
---
- name: Audit every host
  flowoffload.nft.offload_audit:
  register: flowoffload_audit

- name: Write the fleet report on the controller
  flowoffload.nft.fleet_report:
    dest: /var/tmp/flowoffload-audit
  run_once: true
  delegate_to: localhost
  become: false
  check_mode: false
  register: fleet

- name: Hand the summary to AWX
  ansible.builtin.set_stats:
    data:
      flowoffload_audit: "{{ fleet.summary }}"
    per_host: false
    aggregate: false
  run_once: true
"""

RETURN = r"""
summary:
  description: The fleet in numbers.
  returned: success
  type: dict
  contains:
    hosts:
      description: Rows in the report.
      type: int
      sample: 52
    states:
      description: Hosts per state, every state listed (V(offloading_hw), V(offloading_sw), V(configured_idle),
        V(not_configured), V(drifted), V(unsupported), V(unreachable), V(failed)).
      type: dict
      sample: {offloading_hw: 4, offloading_sw: 20, configured_idle: 6, not_configured: 8, drifted: 5,
               unsupported: 6, unreachable: 2, failed: 1}
    offloading:
      description: Hosts offloading now, in hardware or software.
      type: int
      sample: 24
    hardware_capable_hosts:
      description: Hosts with at least one device whose hardware offload verdict is supported.
      type: int
      sample: 9
    with_conflicts:
      description: Hosts with at least one conflict.
      type: int
      sample: 3
    with_drift:
      description: Hosts with at least one drift item (also counted when their state is unsupported).
      type: int
      sample: 5
    flows:
      description: Conntrack entries of the fleet - C(total), C(offload), C(hw_offload), C(offloaded_pct), C(hw_offloaded_pct).
      type: dict
      sample: {total: 12000, offload: 3400, hw_offload: 800, offloaded_pct: 35.0, hw_offloaded_pct: 6.7}
    problem_hosts:
      description: Up to 20 hosts in state drifted, unreachable or failed, sorted.
      type: list
      elements: str
      sample: [gw-03, gw-17]
files:
  description: The report's files by extension (absolute paths).
  returned: success
  type: dict
  sample: {html: /var/tmp/flowoffload-audit/flowoffload-audit.html, json: /var/tmp/flowoffload-audit/flowoffload-audit.json,
           csv: /var/tmp/flowoffload-audit/flowoffload-audit.csv}
msg:
  description: The summary in one line, with the path of the HTML page.
  returned: success
  type: str
  sample: "52 host(s): 4 offloading_hw, 20 offloading_sw, 6 configured_idle, ...; report: /var/tmp/flowoffload-audit/flowoffload-audit.html"
"""

# The module runs as an action plugin of the same name (plugins/action/fleet_report.py) on the
# controller; this file holds its documentation and argument spec only.

ARGUMENT_SPEC = dict(
    dest=dict(type="path", default="flowoffload-audit"),
    basename=dict(type="str", default="flowoffload-audit"),
    title=dict(type="str", default="flowoffload.nft fleet audit"),
    hosts=dict(type="list", elements="str"),
    result_var=dict(type="str", default="flowoffload_audit"),
    rows=dict(type="list", elements="dict"),
    generated=dict(type="str"),
)
