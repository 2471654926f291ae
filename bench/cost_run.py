# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/bench section 6: the controller's CPU per host on the simulated fleet (I/O;
the arithmetic is in bench/cost.py, docs/benchmarks.md says what each figure means).

CPU of a run: ansible-playbook is started as our child and reaped with os.wait4, whose
rusage holds its user + sys time and that of every process it reaped (the forks, the ssh
clients). The SSH masters (ControlPersist) leave the tree when they fork to the
background: they are closed before each run and their user + sys (/proc/PID/stat) is
added after it, while they still run.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
import typing as t

from cost import floor_command, marginal, proc_cpu, project, read_paths
from fleet import recap

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ENV = {"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}


def capture_read_script() -> str:
    """The read script of an idempotent gateway run with the role's defaults, rendered by
    the collection in-process (a target that keeps the script and stops the run)."""
    from ansible_collections.flowoffload.nft.plugins.modules.offload_profile import (
        ARGUMENT_SPEC,
    )
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.run import (
        run_profile,
    )

    class Captured(Exception):
        pass

    class Keep:
        script = ""

        def run_script(self, script: str) -> tuple[int, str, str]:
            self.script = script
            raise Captured()

    keep = Keep()
    try:
        run_profile(keep, {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}, True)
    except Captured:
        pass
    if not keep.script:
        raise SystemExit("bench: could not capture the gateway role's read script")
    return keep.script


def masters_cpu(control_dir: str) -> float:
    """user + sys seconds of the SSH masters whose control socket is in control_dir."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmd = handle.read().decode(errors="replace")
            if not cmd.startswith(f"ssh: {control_dir}/"):
                continue
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                total += proc_cpu(handle.read(), hz)
        except OSError:
            continue
    return total


def close_masters(control_dir: str) -> None:
    for name in sorted(os.listdir(control_dir)) if os.path.isdir(control_dir) else []:
        subprocess.run(["ssh", "-o", f"ControlPath={control_dir}/{name}", "-O", "exit", "x"],
                       capture_output=True, check=False)


def cpu_run(argv: t.Sequence[str], control_dir: str, record: str | None = None) -> dict[str, t.Any]:
    """Run argv with fresh SSH masters: wall, CPU of the tree + masters, rc, output."""
    close_masters(control_dir)
    env = dict(os.environ, **ENV)
    if record:
        env.update(FLOWOFFLOAD_RECORD=record, ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="flowoffload_record")
    with tempfile.TemporaryFile("w+") as out:
        start = time.monotonic()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        masters = masters_cpu(control_dir)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:6])} ... failed (rc={proc.returncode}):\n{text[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime + masters, "masters": masters, "text": text}


def task_seconds(record: str, action: str) -> float:
    with open(record, encoding="utf-8") as handle:
        return sum(e["seconds"] or 0.0 for e in map(json.loads, handle) if e["action"] == action)


def bench_cost(vm: str, routers: int, forks: int, repeats: int, one_repeats: int = 5) -> dict[str, t.Any]:
    """Build the fleet, converge the gateway role on every router, then measure (median of
    `repeats`, role and floor alternating) the idempotent role and the raw floor over all
    routers and over a fifth of them, and on one router the two tasks' times."""
    fleet = os.path.join(REPO, "lab", "fleet")
    state = os.path.join(REPO, "lab", ".state", vm)
    inventory, control = os.path.join(state, "fleet.ini"), os.path.join(state, "f")
    small = max(1, routers // 5)
    names = [f"r{i:02d}" for i in range(1, routers + 1)]
    paths = read_paths(capture_read_script())
    gateway = ["ansible-playbook", "-i", inventory, os.path.join(REPO, "playbooks", "gateway.yml"),
               "-e", "gateway_hosts=fleet", "-f", str(forks)]
    floor = ["ansible-playbook", "-i", inventory, os.path.join(HERE, "floor.yml"), "-f", str(forks),
             "-e", json.dumps({"floor_command": floor_command(paths)})]
    subprocess.run([os.path.join(REPO, "lab", "down"), vm], capture_output=True, check=False)
    try:
        subprocess.run([fleet, "up", vm, "--routers", str(routers), "--boot"], capture_output=True, check=True)
        cpu_run(gateway, control)  # converge: the measured runs are idempotent
        runs: dict[str, list[dict[str, t.Any]]] = {k: [] for k in ("role_big", "floor_big", "role_small", "floor_small")}
        limit = ["-l", ",".join(names[:small])]
        for _ in range(repeats):
            runs["role_big"].append(cpu_run(gateway, control))
            runs["floor_big"].append(cpu_run(floor, control))
            runs["role_small"].append(cpu_run(gateway + limit, control))
            runs["floor_small"].append(cpu_run(floor + limit, control))
        if any(row["changed"] for r in runs["role_big"] for row in recap(r["text"]).values()):
            raise SystemExit("bench: a measured gateway run changed a router (not idempotent)")
        one = {"host": names[1 % routers], "repeats": one_repeats, "role_runs": [], "raw_runs": []}
        with tempfile.TemporaryDirectory(prefix="flowoffload-cost.") as work:
            for i in range(one_repeats):
                for key, argv, action in (("role_runs", gateway, "flowoffload.nft.offload_profile"),
                                          ("raw_runs", floor, "ansible.builtin.raw")):
                    record = os.path.join(work, f"{key}-{i}.jsonl")
                    cpu_run(argv + ["-l", one["host"]], control, record=record)
                    one[key].append(task_seconds(record, action))
    finally:
        subprocess.run([os.path.join(REPO, "lab", "down"), vm], capture_output=True, check=False)
    med = {key: {"cpu": statistics.median(r["cpu"] for r in val), "wall": statistics.median(r["wall"] for r in val)}
           for key, val in runs.items()}
    fig: dict[str, t.Any] = {"hosts": routers, "hosts_small": small, "forks": forks, "repeats": repeats,
                             "floor_files": len(paths)}
    for label in ("role", "floor"):
        per_host, fixed = marginal(med[f"{label}_small"]["cpu"], small, med[f"{label}_big"]["cpu"], routers)
        fig[label] = {"cpu_big": med[f"{label}_big"]["cpu"], "cpu_small": med[f"{label}_small"]["cpu"],
                      "wall_big": med[f"{label}_big"]["wall"], "per_host": per_host, "fixed": fixed}
    fig["ratio"] = fig["role"]["per_host"] / fig["floor"]["per_host"] if fig["floor"]["per_host"] > 0 else float("inf")
    fig["ratio_whole"] = fig["role"]["cpu_big"] / fig["floor"]["cpu_big"]
    one["role"], one["raw"] = statistics.median(one["role_runs"]), statistics.median(one["raw_runs"])
    one["ratio"] = one["role"] / one["raw"] if one["raw"] else float("inf")
    fig["one"] = one
    fig["projection"] = project(fig["role"]["per_host"], fig["role"]["fixed"], one["role"])
    return fig
