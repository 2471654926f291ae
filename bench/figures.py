# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of scripts/bench: parse ansible output, build inputs, time the planner,
render the table. No I/O here except the in-process planning timer."""
from __future__ import annotations

import re
import statistics
import time
import typing as t

# ansible-playbook -vvv prints one "Using module file" line per module it sends to a
# host, and one "SSH: EXEC" line per ssh/sftp/scp process it starts (a round trip).
_MODULE_RE = re.compile(r"Using module file (\S+)")
_SSH_RE = re.compile(r"SSH: EXEC (ssh|sftp|scp)\b")
_RECAP_RE = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)", re.MULTILINE)


def count_vvv(text: str) -> t.Dict[str, t.Any]:
    """Module executions and SSH round trips in the output of ansible-playbook -vvv."""
    modules = [path.rsplit("/", 1)[-1].rsplit(".", 1)[0] for path in _MODULE_RE.findall(text)]
    return {
        "module_executions": len(modules),
        "modules": modules,
        "ssh_round_trips": len(_SSH_RE.findall(text)),
    }


def recap_changed(text: str) -> int:
    """Sum of changed= over the PLAY RECAP lines."""
    return sum(int(m.group(3)) for m in _RECAP_RE.finditer(text))


def median_ratio(numerators: t.Sequence[float], denominators: t.Sequence[float]) -> float:
    """Median of the per-pair ratios (pairs are measured back to back)."""
    return statistics.median(n / d for n, d in zip(numerators, denominators) if d)


def bulk_ruleset(rules: int) -> str:
    """A table the collection does not own holding `rules` rules in a regular chain (no
    hook: it filters nothing), one statement per line, documentation addresses only."""
    lines = ["table ip bench_bulk {", "\tcomment \"scripts/bench: unrelated rules\"",
             "\tchain bulk {"]
    for i in range(rules):
        lines.append(f"\t\tip saddr 203.0.113.{i % 256} tcp dport {1024 + i} counter accept")
    lines += ["\t}", "}", ""]
    return "\n".join(lines)


def _per_call(func: t.Callable[[], t.Any], budget: float = 0.5, floor: int = 3) -> float:
    """Median seconds per call over repeated calls for about `budget` seconds."""
    samples = []
    deadline = time.perf_counter() + budget
    while len(samples) < floor or time.perf_counter() < deadline:
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def plan_timing(owned_json: str, owned_text: str, bulk_json: str,
                devices: t.Sequence[str]) -> t.Dict[str, t.Any]:
    """Time the flowtable action's controller side in-process: plan from a read snapshot
    holding the owned table as the VM listed it, and, for contrast, only parsing the
    unrelated 10,000-rule table (which the read script never prints)."""
    # Imported here: needs the collection on sys.path (scripts/bench sets PYTHONPATH).
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import nft as _nft
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.run import plan_flowtable
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import Snapshot
    from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import sec
    from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import owned, params

    sections = owned(None)
    sections.update({"ft:table-json": sec(owned_json), "ft:table-text": sec(owned_text),
                     "host:netdevs": sec("".join(f"{dev}\n" for dev in ["lo", *devices]))})
    snapshot = Snapshot(sections)
    wanted = params(devices=list(devices))

    def plan() -> t.Any:
        return plan_flowtable(snapshot, wanted, True)

    def bulk() -> t.Any:
        return _nft.parse_rules(bulk_json)

    return {
        "plan_seconds": _per_call(plan),
        "plan_commands": len(plan().spec.nft),
        "bulk_parse_seconds": _per_call(bulk, budget=2.0),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.2f} ms"


def render_table(fig: t.Mapping[str, t.Any]) -> str:
    """The compact table scripts/bench prints."""
    out = ["", "flowoffload.nft benchmark (lab VM: qemu TCG, Debian 6.1 kernel)", ""]
    row = "  {:<52} {:>16} {:>16}"
    thr = fig.get("throughput")
    if thr:
        out.append(f"1. forwarding through the VM router ({thr['pairs']} alternating pairs of "
                   f"lab-traffic {thr['seconds']})")
        out.append(row.format("", "without", "with flowtable"))
        out.append(row.format("median throughput",
                              f"{statistics.median(thr['without_bps']) / 1e6:.0f} Mbit/s",
                              f"{statistics.median(thr['with_bps']) / 1e6:.0f} Mbit/s"))
        out.append(row.format("median forward-chain packets per run",
                              f"{thr['without_forward']:.0f}", f"{thr['with_forward']:.0f}"))
        out.append(row.format("median ratio with/without", "", f"{thr['ratio']:.2f}x"))
        out.append(row.format("fewest offloaded flows in a 'with' run", "", str(thr["offloaded_min"])))
        out.append("")
    idem = fig.get("idempotent")
    if idem:
        role, hand = idem["role"], idem["hand"]
        out.append("2. idempotent re-run on one host")
        out.append(row.format("", "gateway role", "hand-written"))
        out.append(row.format("wall time (ansible-playbook, whole run)",
                              f"{role['wall']:.1f} s", f"{hand['wall']:.1f} s"))
        out.append(row.format("module executions", str(role["module_executions"]),
                              str(hand["module_executions"])))
        out.append(row.format("SSH round trips", str(role["ssh_round_trips"]),
                              str(hand["ssh_round_trips"])))
        out.append(row.format("tasks changed", str(role["changed"]), str(hand["changed"])))
        out.append(row.format("task time on the host (process start-up excluded)",
                              f"{role['tasks']:.2f} s", f"{hand['tasks']:.2f} s"))
        out.append(row.format("hand-written / role: task time, wall time",
                              f"{idem['speedup']:.2f}x", f"{idem['wall_speedup']:.2f}x"))
        out.append(f"  modules run: role {', '.join(role['modules']) or '-'}; "
                   f"hand-written {', '.join(hand['modules']) or '-'}")
        out.append("")
    changing = fig.get("changing")
    if changing:
        out.append("2b. changing run of the gateway role (profile off -> auto) on one host")
        out.append(row.format("wall time (ansible-playbook, whole run)", f"{changing['wall']:.1f} s", ""))
        out.append(row.format("SSH round trips", str(changing["ssh_round_trips"]), ""))
        out.append(row.format("module executions (Python on the target)", str(changing["module_executions"]), ""))
        out.append(row.format("tasks changed", str(changing["changed"]), ""))
        confirmed = changing.get("rollback")
        if confirmed:
            out.append(row.format("with gateway_rollback_timeout: SSH round trips", str(confirmed["ssh_round_trips"]), ""))
            out.append(row.format("with gateway_rollback_timeout: wall time", f"{confirmed['wall']:.1f} s", ""))
        out.append("")
    plan = fig.get("planning")
    if plan:
        out.append(f"3. flowtable module, idempotent check-mode run (median of {plan['runs']})")
        out.append(row.format("", "other rules: 0", f"{plan['rules_loaded']}"))
        out.append(row.format("module task time (controller view)", _ms(plan["plain"]), _ms(plan["bulk"])))
        out.append(row.format("ratio with/without the unrelated rules", "", f"{plan['ratio']:.2f}x"))
        if plan.get("plain_runs"):
            runs = "; ".join(f"{label} " + ", ".join(f"{x:.1f}" for x in plan[key])
                             for label, key in (("without", "plain_runs"), ("with", "bulk_runs")))
            out.append(f"  each run (s): {runs}")
        out.append(row.format(f"in-process: plan from the read snapshot ({plan['plan_commands']} commands)",
                              _ms(plan["plan_seconds"]), ""))
        out.append(row.format(f"in-process: only parsing the {plan['rules_loaded']}-rule table", "",
                              _ms(plan["bulk_parse_seconds"])))
        out.append("")
    lab = fig.get("lab")
    if lab:
        out.append("4. lab/bench")
        out.extend(f"  {line}" for line in lab)
        out.append("")
    return "\n".join(out)
