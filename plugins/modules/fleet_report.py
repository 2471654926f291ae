#!/usr/bin/python
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write the fleet's flow offload audit as one HTML, JSON and CSV report, with its history
version_added: 0.1.0
description:
  - Collects the row of every host that M(flowoffload.nft.offload_audit) registered and
    writes one fleet report into O(dest) on the controller - a self-contained HTML page
    (no external assets; sortable columns, a filter box and a state filter, one row per
    router with expandable details, an SVG chart of the fleet's offload states, the trend
    of the states and of the offloaded share across runs), the same data as JSON, and a
    flat CSV.
  - Each run appends one record per router (JSON Lines) to the history C(BASENAME-history.jsonl)
    in O(dest), which keeps the last O(history_runs) runs; the trend is drawn from it.
  - The JSON carries C(schema_version) (an integer, V(1)) and follows the JSON Schema shipped
    in the collection, C(plugins/plugin_utils/audit/report.schema.json), whose
    C($defs.history_record) describes a line of the history. Every time in both is ISO
    8601 UTC (V(2026-12-08T01:23:45Z)).
  - A host without a result (it left the play), with an unreachable result or a failed
    one gets a row in state V(unreachable) or V(failed) with the message.
  - Returns the C(summary) (counts per state, the fleet's offloaded share), which the
    playbook C(flowoffload.nft.audit) prints and hands to C(ansible.builtin.set_stats)
    for AWX / Automation Controller.
  - Runs on the controller only (an action plugin); run it once, for example with
    C(run_once) and C(delegate_to) V(localhost).
  - Each file is written atomically (a temporary file in O(dest), then renamed) and only
    when its content differs. The run's history lines are appended with one write to the
    file opened for appending; trimming the history rewrites it through a temporary file.
  - A line of the history that is not a record (corrupt, or of another C(schema_version))
    is skipped with a warning; it stays in the file until the history is next rewritten.
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
    details: Nothing is written, the history neither; C(changed) says whether a file would change.
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
    description:
      - The time of the run, shown in the report and recorded in the history; defaults to
        the current time.
      - An ISO 8601 time with a zone (V(2026-12-08T01:23:45Z) or V(2026-12-08T02:23:45+01:00));
        it is written in UTC with seconds, V(2026-12-08T01:23:45Z).
      - A run whose time is already in the history replaces that run there.
    type: str
  history_runs:
    description:
      - How many runs the history C(BASENAME-history.jsonl) in O(dest) keeps (the newest by
        time); older runs are dropped when a run is added.
      - V(0) writes no history (an existing file is left as it is) and the page shows this
        run only.
    type: int
    default: 100
notes:
  - The HTML page keeps its filters in the URL hash (C(#state=drifted&q=openwrt&sort=offloaded&dir=desc&open=all)),
    so a filtered view can be bookmarked or shared.
  - The page's trend shows per run a bar of the routers stacked by state and a line of the
    fleet's offloaded share; with one run in the history it says so.
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
    history_runs: 30
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
history:
  description: The history file and the runs it keeps with this one (in check mode, would keep).
  returned: success
  type: dict
  contains:
    path:
      description: The absolute path of the history file; V(null) when O(history_runs) is V(0).
      type: str
      sample: /var/tmp/flowoffload-audit/flowoffload-audit-history.jsonl
    runs:
      description: Runs in the history, V(0) when it is off.
      type: int
      sample: 12
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
    history_runs=dict(type="int", default=100),
)
