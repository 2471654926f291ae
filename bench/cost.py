# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's cost per host (issue 17 item 6): pure helpers of bench/run.py's
section 6 (bench/cost_run.py measures; docs/benchmarks.md says what each figure means).

- ``read_paths(script)``: the files the collection's read script reads itself (``fo_rd``,
  ``fo_file``, ``fo_val`` and the ``/proc/sys`` lists), the floor's ``cat`` list;
- ``floor_command(paths)``: one ``cat`` of them, the body of the floor's ``raw`` task;
- ``proc_cpu(stat, hz)``: user + sys seconds of a process from ``/proc/PID/stat``;
- ``marginal(...)``: CPU seconds per added host from runs over two host counts;
- ``project(...)``: the projection for a big fleet on a small controller;
- ``render_cost(fig)``: the section's lines.
"""
from __future__ import annotations

import re
import shlex
import typing as t

_READ_RE = re.compile(r"\bfo_(?:rd|file|val) (?:'(/[^']+)'|(/[^'\s;|&)<>]+))")
_SYS_LIST_RE = re.compile(r"\bfor fo_x in ((?:/proc/sys/\S+\s*)+);")
GOAL_RATIO = 1.5


def read_paths(script: str) -> list[str]:
    """Absolute paths the read script reads with its own builtins, sorted, each once."""
    paths = {quoted or plain for quoted, plain in _READ_RE.findall(script)}
    for group in _SYS_LIST_RE.findall(script):
        paths.update(group.split())
    return sorted(p for p in paths if "$" not in p and "*" not in p)


def floor_command(paths: t.Sequence[str]) -> str:
    """One cat of every path (a missing one is no error): the floor's raw task."""
    return "cat -- " + " ".join(shlex.quote(p) for p in paths) + " 2>/dev/null; true"


def proc_cpu(stat: str, hz: int) -> float:
    """utime + stime of /proc/PID/stat, in seconds (the name may hold spaces and ')')."""
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is the state (field 3 of proc(5)): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / hz


def marginal(cpu_small: float, hosts_small: int, cpu_big: float, hosts_big: int) -> tuple[float, float]:
    """(CPU seconds per added host, the fixed part) from two runs of one playbook over
    hosts_small and hosts_big hosts: the start-up (Python, plugins, inventory) cancels out."""
    if hosts_big <= hosts_small:
        raise ValueError(f"need more hosts in the big run ({hosts_big}) than in the small one ({hosts_small})")
    per_host = (cpu_big - cpu_small) / (hosts_big - hosts_small)
    return per_host, cpu_big - per_host * hosts_big


def project(cpu_per_host: float, fixed: float, task_seconds: float, hosts: int = 1000, forks: int = 50,
            cores: int = 2) -> dict[str, t.Any]:
    """A fleet of `hosts` at `forks` on a controller of `cores` cores.

    Forks alone would finish in hosts / forks * task_seconds (each fork waits one host's
    task time); the cores alone in (fixed + hosts * cpu_per_host) / cores (every core busy
    the whole time). The run takes the longer of the two: wall = max(both). The cores the
    forks could keep busy: forks * cpu_per_host / task_seconds (above `cores`: CPU-bound).
    """
    cpu_total = fixed + hosts * cpu_per_host
    latency_bound = hosts / forks * task_seconds
    cpu_bound = cpu_total / cores
    busy = forks * cpu_per_host / task_seconds if task_seconds > 0 else float("inf")
    return {"hosts": hosts, "forks": forks, "cores": cores, "cpu_total": cpu_total,
            "latency_bound": latency_bound, "cpu_bound": cpu_bound, "wall": max(latency_bound, cpu_bound),
            "bound": "CPU" if cpu_bound >= latency_bound else "forks (router and network time)",
            "cores_busy": busy}


def render_cost(fig: t.Mapping[str, t.Any]) -> list[str]:
    """Section 6 of scripts/bench's table."""
    role, floor = fig["role"], fig["floor"]
    row = "  {:<58} {:>14} {:>14}"
    out = [(f"6. controller CPU per host (user + sys of ansible-playbook's tree and its SSH masters), "
            f"{fig['hosts']} routers, forks {fig['forks']}, median of {fig['repeats']}"),
           row.format("", "gateway role", "raw floor"),
           row.format(f"CPU, whole run over {fig['hosts']} routers", f"{role['cpu_big']:.2f} s", f"{floor['cpu_big']:.2f} s"),
           row.format(f"CPU, whole run over {fig['hosts_small']} routers", f"{role['cpu_small']:.2f} s",
                      f"{floor['cpu_small']:.2f} s"),
           row.format("CPU per added router (start-up excluded)", f"{role['per_host'] * 1000:.1f} ms",
                      f"{floor['per_host'] * 1000:.1f} ms"),
           row.format("fixed part (start-up: Python, plugins, inventory)", f"{role['fixed']:.2f} s", f"{floor['fixed']:.2f} s"),
           row.format(f"CPU per router, whole run / {fig['hosts']}", f"{role['cpu_big'] / fig['hosts'] * 1000:.1f} ms",
                      f"{floor['cpu_big'] / fig['hosts'] * 1000:.1f} ms"),
           row.format("wall time, whole run", f"{role['wall_big']:.1f} s", f"{floor['wall_big']:.1f} s"),
           row.format("role / floor: CPU per added router", f"{fig['ratio']:.2f}x", f"(goal <= {GOAL_RATIO}x)"),
           row.format("role / floor: CPU per router, whole run", f"{fig['ratio_whole']:.2f}x", ""),
           f"  the floor: one ansible.builtin.raw task, cat of the {fig['floor_files']} files the read script reads",
           "",
           f"  one router ({fig['one']['host']}), task time, median of {fig['one']['repeats']}:",
           row.format("idempotent role task (offload_profile) / raw cat task", f"{fig['one']['role'] * 1000:.0f} ms",
                      f"{fig['one']['raw'] * 1000:.0f} ms"),
           row.format("ratio (role / one round trip's floor)", f"{fig['one']['ratio']:.2f}x", ""),
           ""]
    proj = fig["projection"]
    out += [(f"  projection: {proj['hosts']} routers, forks {proj['forks']}, one {proj['cores']}-core controller "
             "(gateway role, idempotent)"),
            row.format("CPU in all: fixed + routers x CPU per added router", f"{proj['cpu_total']:.0f} s", ""),
            row.format("bound by the forks: routers / forks x task time", f"{proj['latency_bound']:.0f} s", ""),
            row.format("bound by the cores: CPU in all / cores", f"{proj['cpu_bound']:.0f} s", ""),
            row.format(f"wall time (the longer; bound by {proj['bound']})", f"{proj['wall'] / 60:.1f} min", ""),
            row.format("cores the forks keep busy (forks x CPU / task time)", f"{proj['cores_busy']:.1f}", ""),
            ""]
    return out
