# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The body of scripts/bench: measure everything in one run against one lab VM.

scripts/bench sets up the toolchain and the environment (scripts/lib.sh) and runs this
file with the venv's Python. Figures (docs/benchmarks.md says what each one means):

1. forwarding throughput through the VM's router with and without the flowtable
2. an idempotent re-run of the gateway role vs. a hand-written template + handler, and
   a changing run of the role (profile off -> auto)
3. the flowtable module's planning time beside an unrelated table of 10,000 rules
4. lab/bench's figures (image build, boot, module round trip)
5. the simulated fleet (lab/fleet, one VM): wall time and SSH round trips per host of the
   gateway role (first and idempotent run) and the audit playbook, for 10 and 50 routers
6. the controller's CPU per router on the fleet (50 routers): the idempotent gateway role
   beside the floor (one raw task reading the same files), the projection for 1,000
   routers, and on one router the two tasks' times (bench/cost.py, bench/cost_run.py)

No figure is asserted; the script prints a GOAL line per design goal (one SSH round trip
for an idempotent role run, two for a changing one, the role at least 3x faster than the
hand-written playbook, planning beside 10,000 rules within 1.2x, the controller's CPU per
router at most 1.5x the raw floor's) saying met or missed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t

# scripts/bench puts bench/ and .cache/collections on PYTHONPATH.
from cost import GOAL_RATIO as GOAL_COST_RATIO
from cost import render_cost
from cost_run import bench_cost
from figures import (
    bulk_ruleset,
    count_vvv,
    median_ratio,
    plan_timing,
    recap_changed,
    render_table,
)
from fleet import render_fleet, run_figures

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

DEVICES = ["lan0", "wan0"]
GOAL_IDEMPOTENT_ROUND_TRIPS = 1
GOAL_CHANGING_ROUND_TRIPS = 2
GOAL_CONFIRMED_ROUND_TRIPS = 3
GOAL_SPEEDUP = 3.0
GOAL_PLANNING_RATIO = 1.2
TABLE = "inet flowoffload"
# The collection's unit loads its persistence file with the devices that exist.
PERSIST_UNIT = "flowoffload-inet-flowoffload.service"


def log(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


def run(argv: t.Sequence[str], stdin: str | None = None, check: bool = True,
        env: t.Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    res = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False,
                         env=dict(os.environ, **(env or {})))
    if check and res.returncode != 0:
        sys.stderr.write(res.stdout[-4000:] + res.stderr[-4000:])
        raise SystemExit(f"bench: {' '.join(argv[:4])} ... failed (rc={res.returncode})")
    return res


class Lab:
    """One lab VM, reached through lab/ssh."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inventory = os.path.join(REPO, "lab", ".state", name, "inventory.ini")

    def ssh(self, *argv: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return run([os.path.join(REPO, "lab", "ssh"), self.name, "--", *argv], stdin=stdin, check=check)

    def traffic(self, seconds: int) -> dict[str, t.Any]:
        out = self.ssh("lab-traffic", str(seconds)).stdout.strip().splitlines()
        return json.loads(out[-1])

    def has_flowtable(self) -> bool:
        return self.ssh("nft", "list", "table", *TABLE.split(), check=False).returncode == 0

    def playbook(self, playbook: str, extra: t.Sequence[str] = (), verbose: bool = False,
                 check_mode: bool = False, record: str | None = None) -> tuple[float, str]:
        argv = ["ansible-playbook", "-i", self.inventory, playbook, *extra]
        if verbose:
            argv.append("-vvv")
        if check_mode:
            argv.append("--check")
        env = {"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
        if record:
            env.update(FLOWOFFLOAD_RECORD=record,
                       ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                       ANSIBLE_CALLBACKS_ENABLED="flowoffload_record")
        start = time.monotonic()
        res = run(argv, env=env)
        return time.monotonic() - start, res.stdout


def gateway_args(profile: str = "auto") -> list[str]:
    return ["-e", "gateway_hosts=lab", "-e", f"gateway_profile={profile}",
            "-e", json.dumps({"gateway_devices": DEVICES})]


def bench_throughput(lab: Lab, pairs: int, seconds: int) -> dict[str, t.Any]:
    """Alternate runs without / with the flowtable; toggled by deleting the collection's
    table and loading it back with its own unit (the persisted ruleset, exactly)."""
    with_bps, without_bps, with_fwd, without_fwd, offloaded = [], [], [], [], []
    for i in range(pairs):
        lab.ssh("nft", "delete", "table", *TABLE.split())
        plain = lab.traffic(seconds)
        lab.ssh("systemctl", "restart", PERSIST_UNIT)
        fast = lab.traffic(seconds)
        without_bps.append(plain["bits_per_second"])
        with_bps.append(fast["bits_per_second"])
        without_fwd.append(plain["forward_packets"])
        with_fwd.append(fast["forward_packets"])
        offloaded.append(fast["conntrack_offload"] + fast["conntrack_hw_offload"])
        log(f"throughput pair {i + 1}/{pairs}: without {plain['bits_per_second'] / 1e6:.0f} Mbit/s, "
            f"with {fast['bits_per_second'] / 1e6:.0f} Mbit/s, offloaded flows {offloaded[-1]}")
    return {
        "pairs": pairs, "seconds": seconds,
        "without_bps": without_bps, "with_bps": with_bps,
        "ratio": median_ratio(with_bps, without_bps),
        "without_forward": statistics.median(without_fwd),
        "with_forward": statistics.median(with_fwd),
        "offloaded_min": min(offloaded),
    }


def task_seconds(record: str) -> float:
    """Sum of the task times the record callback wrote (the host's share of a run)."""
    with open(record, encoding="utf-8") as handle:
        return sum(json.loads(line)["seconds"] or 0.0 for line in handle)


def bench_idempotent(lab: Lab, work: str) -> dict[str, t.Any]:
    """Both playbooks converged, then one measured re-run each: wall time of the whole
    ansible-playbook process and the sum of its task times (process start-up excluded:
    the same for both)."""
    gateway = os.path.join(REPO, "playbooks", "gateway.yml")
    hand = os.path.join(HERE, "handwritten.yml")
    out: dict[str, t.Any] = {}
    lab.playbook(hand)
    lab.playbook(gateway, gateway_args())  # warm: the role converged already
    for label, playbook, extra in (("role", gateway, gateway_args()), ("hand", hand, [])):
        record = os.path.join(work, f"{label}.jsonl")
        wall, text = lab.playbook(playbook, extra, verbose=True, record=record)
        out[label] = dict(count_vvv(text), wall=wall, changed=recap_changed(text), tasks=task_seconds(record))
    lab.ssh("nft", "delete", "table", "inet", "bench_hand")
    lab.ssh("rm", "-f", "/etc/bench-hand.nft")
    out["speedup"] = out["hand"]["tasks"] / out["role"]["tasks"] if out["role"]["tasks"] else 0.0
    out["wall_speedup"] = out["hand"]["wall"] / out["role"]["wall"] if out["role"]["wall"] else 0.0
    return out


def bench_changing(lab: Lab) -> dict[str, t.Any]:
    """The role's changing run: profile off (everything removed), then auto, measured."""
    gateway = os.path.join(REPO, "playbooks", "gateway.yml")
    lab.playbook(gateway, gateway_args("off"))
    if lab.has_flowtable():
        raise SystemExit("bench: profile off left table inet flowoffload behind")
    wall, text = lab.playbook(gateway, gateway_args("auto"), verbose=True)
    if not lab.has_flowtable():
        raise SystemExit("bench: profile auto after off left no table inet flowoffload")
    out = dict(count_vvv(text), wall=wall, changed=recap_changed(text))
    # the same change, commit-confirmed: read, apply, confirm over a new connection
    lab.playbook(gateway, gateway_args("off"))
    confirmed = ["-e", json.dumps({"gateway_rollback_timeout": 60,
                                   "gateway_health_check": "nft list table inet flowoffload >/dev/null"})]
    wall, text = lab.playbook(gateway, gateway_args("auto") + confirmed, verbose=True)
    if not lab.has_flowtable():
        raise SystemExit("bench: the confirmed run of profile auto left no table inet flowoffload")
    out["rollback"] = dict(count_vvv(text), wall=wall, changed=recap_changed(text))
    return out


def bench_planning(lab: Lab, runs: int, rules: int, work: str) -> dict[str, t.Any]:
    play = os.path.join(HERE, "flowtable_check.yml")
    listing = {}

    def module_times() -> list[float]:
        times = []
        for _ in range(runs):
            record = os.path.join(work, "plan.jsonl")
            if os.path.exists(record):
                os.unlink(record)
            lab.playbook(play, check_mode=True, record=record)
            with open(record, encoding="utf-8") as handle:
                entries = [json.loads(line) for line in handle]
            entry = next(e for e in entries if e["action"] == "flowoffload.nft.flowtable")
            if entry["status"] != "ok" or entry["changed"]:
                raise SystemExit(f"bench: the flowtable check run is not an idempotent plan: {entry}")
            times.append(entry["seconds"])
        return times

    plain = module_times()
    listing["owned_json"] = lab.ssh("nft", "-j", "list", "table", *TABLE.split()).stdout
    listing["owned_text"] = lab.ssh("nft", "list", "table", *TABLE.split()).stdout
    log(f"loading {rules} rules into the unrelated table ip bench_bulk")
    lab.ssh("nft", "-f", "-", stdin=bulk_ruleset(rules))
    try:
        count = lab.ssh("sh", "-c", "nft list chain ip bench_bulk bulk | grep -c accept").stdout.strip()
        bulk = module_times()
        listing["bulk_json"] = lab.ssh("nft", "-j", "list", "table", "ip", "bench_bulk").stdout
    finally:
        lab.ssh("nft", "delete", "table", "ip", "bench_bulk", check=False)
    result = {
        "runs": runs, "rules": rules, "rules_loaded": int(count or 0),
        "plain": statistics.median(plain), "bulk": statistics.median(bulk),
        "plain_runs": plain, "bulk_runs": bulk,
    }
    result["ratio"] = result["bulk"] / result["plain"]
    result.update(plan_timing(listing["owned_json"], listing["owned_text"], listing["bulk_json"], DEVICES))
    return result


def lab_bench() -> list[str]:
    tool = os.path.join(REPO, "lab", "bench")
    if not os.access(tool, os.X_OK):
        return ["lab/bench is missing: no build/boot/round-trip figures"]
    res = run([tool], check=False)
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    if res.returncode != 0:
        lines.append(f"lab/bench failed (rc={res.returncode}): {res.stderr.strip()[-300:]}")
    return lines


def bench_fleet(vm: str, sizes: t.Sequence[int], forks: int, work: str) -> dict[str, t.Any]:
    """Per fleet size: build the fleet (lab/fleet up), the gateway role on the configured
    routers twice (changing, then idempotent), the seeded states, the audit across all.
    Each playbook with -vvv (round trips per host) at the same forks; the fleet VM is
    booted once and stopped at the end."""
    fleet = os.path.join(REPO, "lab", "fleet")
    inventory = os.path.join(REPO, "lab", ".state", vm, "fleet.ini")
    playbook = "ansible-playbook"
    with open("/proc/loadavg", encoding="ascii") as handle:
        load = " ".join(handle.read().split()[:3])
    result: dict[str, t.Any] = {"sizes": list(sizes), "forks": forks, "runs": {}, "load": load}

    def timed(argv: t.Sequence[str]) -> tuple[float, str]:
        start = time.monotonic()
        res = run(argv, env={"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"})
        return time.monotonic() - start, res.stdout

    run([os.path.join(REPO, "lab", "down"), vm], check=False)
    try:
        for size in sizes:
            log(f"5. fleet of {size} routers in VM '{vm}' (forks {forks})")
            run([fleet, "down", vm], check=False)
            start = time.monotonic()
            run([fleet, "up", vm, "--routers", str(size), "--boot"])
            figures: dict[str, t.Any] = {"build": time.monotonic() - start}
            with open(os.path.join(REPO, "lab", ".state", vm, "fleet.json"), encoding="utf-8") as handle:
                mix = json.load(handle)
            configured = sum(1 for want in mix.values() if want["configured"])
            gateway = [playbook, "-i", inventory, os.path.join(REPO, "playbooks", "gateway.yml"),
                       "-e", "gateway_hosts=fleet_configured", "-f", str(forks), "-vvv"]
            wall, text = timed(gateway)
            figures["gateway"] = run_figures(wall, text, configured)
            wall, text = timed(gateway)
            figures["idempotent"] = run_figures(wall, text, configured)
            run([fleet, "seed", vm])
            wall, text = timed([playbook, "-i", inventory, os.path.join(REPO, "playbooks", "audit.yml"),
                                "-e", "audit_hosts=fleet", "-e", f"audit_report_dir={work}/fleet-{size}",
                                "-f", str(forks), "-vvv"])
            figures["audit"] = run_figures(wall, text, len(mix))
            result["runs"][str(size)] = figures
    finally:
        run([os.path.join(REPO, "lab", "down"), vm], check=False)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vm", default="bench")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rules", type=int, default=10000)
    parser.add_argument("--skip-lab-bench", action="store_true")
    parser.add_argument("--skip-fleet", action="store_true", help="leave out 5. the simulated fleet")
    parser.add_argument("--only-fleet", action="store_true", help="only 5. the simulated fleet")
    parser.add_argument("--fleet-vm", default="fleet-bench")
    parser.add_argument("--fleet-sizes", default="10,50", help="router counts, comma-separated (1-99)")
    parser.add_argument("--fleet-forks", type=int, default=10)
    parser.add_argument("--skip-cost", action="store_true", help="leave out 6. the controller's CPU per router")
    parser.add_argument("--only-cost", action="store_true", help="only 6. the controller's CPU per router")
    parser.add_argument("--cost-routers", type=int, default=50, help="routers of section 6 (2-99)")
    parser.add_argument("--cost-repeats", type=int, default=3, help="measured runs of each playbook (median)")
    args = parser.parse_args()
    if args.skip_fleet and args.only_fleet or args.skip_cost and args.only_cost or args.only_fleet and args.only_cost:
        parser.error("--skip-X and --only-X exclude each other, and only one --only-X")
    if not 2 <= args.cost_routers <= 99:
        parser.error("--cost-routers takes 2 to 99")
    sizes = [int(size) for size in args.fleet_sizes.split(",") if size.strip()]

    def cost() -> dict[str, t.Any]:
        log(f"6. controller CPU per router: {args.cost_routers} routers in VM '{args.fleet_vm}', "
            f"forks {args.fleet_forks}")
        return bench_cost(args.fleet_vm, args.cost_routers, args.fleet_forks, args.cost_repeats)

    if args.only_cost:
        fig = cost()
        print("\n".join(["", "flowoffload.nft benchmark: controller cost only", "", *render_cost(fig)]))
        print(cost_goal(fig))
        return 0

    if args.only_fleet:
        with tempfile.TemporaryDirectory(prefix="flowoffload-bench.") as work:
            fleet = bench_fleet(args.fleet_vm, sizes, args.fleet_forks, work)
        print("\n".join(["", "flowoffload.nft benchmark: fleet only", "", *render_fleet(fleet)]))
        return 0

    lab = Lab(args.vm)
    figures: dict[str, t.Any] = {}
    with tempfile.TemporaryDirectory(prefix="flowoffload-bench.") as work:
        log(f"booting the lab VM '{lab.name}'")
        run([os.path.join(REPO, "lab", "up"), lab.name], check=True)
        try:
            # SSH answers before boot is over; let the units finish ("degraded" is fine).
            lab.ssh("systemctl", "is-system-running", "--wait", check=False)
            lab.ssh("lab-topology", "up")
            log("converging the gateway role (profile auto on lan0, wan0)")
            lab.playbook(os.path.join(REPO, "playbooks", "gateway.yml"), gateway_args())
            if not lab.has_flowtable():
                raise SystemExit("bench: the gateway role left no table inet flowoffload")
            log("2. idempotent re-runs: gateway role vs hand-written playbook")
            figures["idempotent"] = bench_idempotent(lab, work)
            log("2b. a changing run of the role: profile off, then auto (measured)")
            figures["changing"] = bench_changing(lab)
            log(f"1. throughput: {args.pairs} alternating pairs of lab-traffic {args.seconds}")
            figures["throughput"] = bench_throughput(lab, args.pairs, args.seconds)
            log(f"3. planning time with and without {args.rules} unrelated rules")
            figures["planning"] = bench_planning(lab, args.runs, args.rules, work)
        finally:
            run([os.path.join(REPO, "lab", "down"), lab.name], check=False)
    if not args.skip_lab_bench:
        log("4. lab/bench (its own VM, after ours is down)")
        figures["lab"] = lab_bench()
    fleet = None
    if not args.skip_fleet:
        with tempfile.TemporaryDirectory(prefix="flowoffload-bench.") as work:
            fleet = bench_fleet(args.fleet_vm, sizes, args.fleet_forks, work)
    controller = None if args.skip_cost else cost()
    print(render_table(figures))
    if fleet:
        print("\n".join(render_fleet(fleet)))
    if controller:
        print("\n".join(render_cost(controller)))
    for line in goals(figures):
        print(line)
    if controller:
        print(cost_goal(controller))
    return 0


def cost_goal(fig: t.Mapping[str, t.Any]) -> str:
    ok = fig["ratio"] <= GOAL_COST_RATIO
    return (f"GOAL controller CPU per router, role / raw floor: {fig['ratio']:.2f}x (goal <= {GOAL_COST_RATIO}x): "
            f"{'met' if ok else 'MISSED'}")


def goals(fig: t.Mapping[str, t.Any]) -> list[str]:
    """One line per design goal: the figure, the goal, met or missed."""
    idem, changing, plan = fig["idempotent"], fig["changing"], fig["planning"]
    rows = [
        ("idempotent role run: SSH round trips", idem["role"]["ssh_round_trips"], GOAL_IDEMPOTENT_ROUND_TRIPS,
         idem["role"]["ssh_round_trips"] <= GOAL_IDEMPOTENT_ROUND_TRIPS),
        ("changing role run (off -> auto): SSH round trips", changing["ssh_round_trips"], GOAL_CHANGING_ROUND_TRIPS,
         changing["ssh_round_trips"] <= GOAL_CHANGING_ROUND_TRIPS),
        ("changing run with gateway_rollback_timeout: SSH round trips", changing["rollback"]["ssh_round_trips"],
         GOAL_CONFIRMED_ROUND_TRIPS, changing["rollback"]["ssh_round_trips"] <= GOAL_CONFIRMED_ROUND_TRIPS),
        ("hand-written / role task time", f"{idem['speedup']:.2f}x", f">= {GOAL_SPEEDUP:.0f}x",
         idem["speedup"] >= GOAL_SPEEDUP),
        ("planning with / without 10,000 rules", f"{plan['ratio']:.2f}x", f"< {GOAL_PLANNING_RATIO}x",
         plan["ratio"] < GOAL_PLANNING_RATIO),
    ]
    return [f"GOAL {name}: {value} (goal {goal}): {'met' if ok else 'MISSED'}" for name, value, goal, ok in rows]


if __name__ == "__main__":
    sys.exit(main())
